//! Paddle Billing: `Paddle-Signature: ts=<ts>;h1=<hex>[;h1=<hex>…]` over `ts + ":" + body`.

use super::{
    BodyFields, Delivery, Key, SignatureError, SignedHeader, StampedHeader, Verified, Window,
};

const SIGNATURE: &str = "paddle-signature";

const LAYOUT: StampedHeader = StampedHeader {
    header: SIGNATURE,
    joiner: b":",
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
    LAYOUT.check(delivery, keys, window)?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.event_id.take(),
        event_type: fields.event_type.take(),
        handshake: None,
    })
}

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Vec<SignedHeader> {
    vec![LAYOUT.sign(delivery, key, now)]
}
