//! Zendesk: `X-Zendesk-Webhook-Signature: <base64 HMAC-SHA256(secret, timestamp + body)>`, the
//! timestamp being ISO 8601 in `X-Zendesk-Webhook-Signature-Timestamp`.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    BodyFields, Delivery, Key, SignatureError, SignedHeader, Verified, Window, check_window,
    header, optional_header, value,
};
use crate::clock;
use http::HeaderName;

const SIGNATURE: &str = "x-zendesk-webhook-signature";
const TIMESTAMP: &str = "x-zendesk-webhook-signature-timestamp";

pub(super) fn verify(
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

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Vec<SignedHeader> {
    let timestamp = clock::format_rfc3339_secs(now);
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[timestamp.as_bytes(), delivery.body],
    );
    vec![
        (HeaderName::from_static(TIMESTAMP), value(timestamp)),
        (
            HeaderName::from_static(SIGNATURE),
            value(Encoding::Base64.encode(tag.as_slice())),
        ),
    ]
}
