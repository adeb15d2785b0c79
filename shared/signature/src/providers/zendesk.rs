//! Zendesk: `X-Zendesk-Webhook-Signature: <base64 HMAC-SHA256(secret, timestamp + body)>`, the
//! timestamp being ISO 8601 in `X-Zendesk-Webhook-Signature-Timestamp`.

use crate::body::BodyFields;
use crate::clock;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, optional_header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::check_window;
use http::HeaderName;

const SIGNATURE: &str = "x-zendesk-webhook-signature";
const TIMESTAMP: &str = "x-zendesk-webhook-signature-timestamp";

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let signature = Encoding::Base64.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    let timestamp = header(delivery.headers, TIMESTAMP)?;
    let seconds = clock::parse_rfc3339(timestamp).ok_or(SignatureError::Malformed {
        field: TIMESTAMP,
        why: "not an ISO 8601 date-time",
    })?;
    check_window(seconds, window)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[timestamp.as_bytes(), delivery.body],
        &[signature],
    )?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    let event_id = match fields.id.take() {
        Some(id) => Some(id),
        None => {
            optional_header(delivery.headers, "x-zendesk-webhook-invocation-id")?.map(str::to_owned)
        }
    };
    Ok(Verified {
        event_id,
        event_type: fields.kind.take(),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let timestamp = clock::format_rfc3339_secs(now);
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[timestamp.as_bytes(), delivery.body],
    );
    Ok(vec![
        (HeaderName::from_static(TIMESTAMP), value(timestamp)),
        (
            HeaderName::from_static(SIGNATURE),
            value(Encoding::Base64.encode(tag.as_slice())),
        ),
    ])
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        id_header: Some("x-zendesk-webhook-invocation-id"),
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of timestamp + body, base64",
    key_format: "the webhook's signing secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "zendesk",
    aliases: &[],
    title: "Zendesk",
    docs: "https://developer.zendesk.com/documentation/webhooks/verifying/",
    handshake: None,
    json_body: false,
    informative_headers: &["x-zendesk-webhook-id", "x-zendesk-webhook-invocation-id"],
    official_vectors: false,
    how: How::Code(&CODE),
};
