//! Standard Webhooks (and Svix, under `svix-*` header names): `webhook-signature: v1,<b64>
//! [v1,<b64>…]` over `id.timestamp.body`, keyed by the base64 secret after `whsec_`.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    BodyFields, Delivery, Key, KeyError, SignatureError, SignedHeader, Verified, Window,
    check_window, derived_id, epoch_secs, optional_header, value,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderName;

const MAX_SIGNATURES: usize = 16;

/// The three headers under one naming.
struct Names {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const STANDARD_NAMES: Names = Names {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};
const SVIX_NAMES: Names = Names {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

pub(super) fn key(secret: &str) -> Result<Key, KeyError> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let bytes = STANDARD.decode(encoded).map_err(|_| KeyError::NotBase64)?;
    if bytes.is_empty() {
        return Err(KeyError::Empty);
    }
    Ok(Key(bytes))
}

pub(super) fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let headers = delivery.headers;
    let names = if headers.contains_key(STANDARD_NAMES.signature) {
        &STANDARD_NAMES
    } else if headers.contains_key(SVIX_NAMES.signature) {
        &SVIX_NAMES
    } else {
        return Err(SignatureError::Missing(STANDARD_NAMES.signature));
    };
    let signature_text = optional_header(headers, names.signature)?
        .ok_or(SignatureError::Missing(names.signature))?;
    let id = optional_header(headers, names.id)?.ok_or(SignatureError::Missing(names.id))?;
    let timestamp = optional_header(headers, names.timestamp)?
        .ok_or(SignatureError::Missing(names.timestamp))?;
    let seconds = epoch_secs(names.timestamp, timestamp)?;

    let mut signatures = Vec::new();
    for item in signature_text.split_ascii_whitespace() {
        let (version, encoded) = item.split_once(',').ok_or(SignatureError::Malformed {
            field: names.signature,
            why: "expected `v1,<base64>` items",
        })?;
        // v1a (asymmetric) and future versions are skipped: only HMAC v1 is ours to check.
        if version == "v1" {
            if signatures.len() == MAX_SIGNATURES {
                return Err(SignatureError::Malformed {
                    field: names.signature,
                    why: "too many signatures",
                });
            }
            signatures.push(Encoding::Base64.decode(names.signature, encoded)?);
        }
    }
    if signatures.is_empty() {
        return Err(SignatureError::Malformed {
            field: names.signature,
            why: "no `v1` signature",
        });
    }
    check_window(seconds, window)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[
            id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            delivery.body,
        ],
        &signatures,
    )?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: Some(id.to_owned()),
        event_type: fields.kind.take(),
        handshake: None,
    })
}

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Vec<SignedHeader> {
    let given = optional_header(delivery.headers, STANDARD_NAMES.id)
        .ok()
        .flatten();
    let id = given.map_or_else(|| derived_id("msg_", delivery.body, now), str::to_owned);
    let [id_header, timestamp_header, signature_header] =
        sign_outbound(key, &id, now, delivery.body);
    let mut added = Vec::with_capacity(3);
    if given.is_none() {
        added.push(id_header);
    }
    added.push(timestamp_header);
    added.push(signature_header);
    added
}

/// Signs an outbound delivery (the forward action): the headers for `id` at `now`.
pub fn sign_outbound(key: &Key, id: &str, now: i64, body: &[u8]) -> [SignedHeader; 3] {
    let timestamp = now.to_string();
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    [
        (
            HeaderName::from_static(STANDARD_NAMES.id),
            value(id.to_owned()),
        ),
        (
            HeaderName::from_static(STANDARD_NAMES.timestamp),
            value(timestamp),
        ),
        (
            HeaderName::from_static(STANDARD_NAMES.signature),
            value(format!("v1,{}", Encoding::Base64.encode(tag.as_slice()))),
        ),
    ]
}
