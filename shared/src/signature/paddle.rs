//! Paddle Billing: `Paddle-Signature: ts=<ts>;h1=<hex>[;h1=<hex>…]` over `ts + ":" + body`.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    BodyFields, Delivery, Key, SignatureError, SignedHeader, StampedHeader, Verified, Window,
    check_window, header, value,
};
use http::HeaderName;

const SIGNATURE: &str = "paddle-signature";

const LAYOUT: StampedHeader = StampedHeader {
    header: SIGNATURE,
    separator: ';',
    timestamp: "ts",
    signature: "h1",
    malformed_item: "expected semicolon-separated `name=value` items",
    repeated_timestamp: "more than one `ts`",
    no_timestamp: "no `ts` timestamp",
    no_signature: "no `h1` signature",
};

pub(super) fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let (timestamp, seconds, signatures) = LAYOUT.parse(header(delivery.headers, SIGNATURE)?)?;
    check_window(seconds, window)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[timestamp.as_bytes(), b":", delivery.body],
        &signatures,
    )?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.event_id.take(),
        event_type: fields.event_type.take(),
        handshake: None,
    })
}

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Vec<SignedHeader> {
    let timestamp = now.to_string();
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[timestamp.as_bytes(), b":", delivery.body],
    );
    vec![(
        HeaderName::from_static(SIGNATURE),
        value(format!(
            "ts={timestamp};h1={}",
            Encoding::Hex.encode(tag.as_slice())
        )),
    )]
}
