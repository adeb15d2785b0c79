//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]` over `t + "." + body`; the key is the
//! `whsec_…` string itself.

use super::{
    BodyFields, Delivery, Key, SignatureError, SignedHeader, StampedHeader, Verified, Window,
};

const SIGNATURE: &str = "stripe-signature";

const LAYOUT: StampedHeader = StampedHeader {
    header: SIGNATURE,
    joiner: b".",
    separator: ',',
    timestamp: "t",
    // v0 (test mode, a different scheme) and future versions are not ours to check.
    signature: "v1",
    malformed_item: "expected comma-separated `name=value` items",
    repeated_timestamp: "more than one `t`",
    no_timestamp: "no `t` timestamp",
    no_signature: "no `v1` signature",
};

pub(super) fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    LAYOUT.check(delivery, keys, window)?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.id.take(),
        event_type: fields.kind.take(),
        handshake: None,
    })
}

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Vec<SignedHeader> {
    vec![LAYOUT.sign(delivery, key, now)]
}
