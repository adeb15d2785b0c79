//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]` over `t + "." + body`; the key is the
//! `whsec_…` string itself.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    BodyFields, Delivery, Key, SignatureError, SignedHeader, StampedHeader, Verified, Window,
    check_window, header, value,
};
use http::HeaderName;

const SIGNATURE: &str = "stripe-signature";

const LAYOUT: StampedHeader = StampedHeader {
    header: SIGNATURE,
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
    let (timestamp, seconds, signatures) = LAYOUT.parse(header(delivery.headers, SIGNATURE)?)?;
    check_window(seconds, window)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[timestamp.as_bytes(), b".", delivery.body],
        &signatures,
    )?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.id.take(),
        event_type: fields.kind.take(),
        handshake: None,
    })
}

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Vec<SignedHeader> {
    let timestamp = now.to_string();
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[timestamp.as_bytes(), b".", delivery.body],
    );
    vec![(
        HeaderName::from_static(SIGNATURE),
        value(format!(
            "t={timestamp},v1={}",
            Encoding::Hex.encode(tag.as_slice())
        )),
    )]
}
