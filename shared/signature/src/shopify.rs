//! Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    Delivery, Key, SignatureError, SignedHeader, Verified, header, optional_header, value,
};
use http::HeaderName;

const SIGNATURE: &str = "x-shopify-hmac-sha256";

pub(super) fn verify(delivery: &Delivery<'_>, keys: &[Key]) -> Result<Verified, SignatureError> {
    let signature = Encoding::Base64.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    crypto::any_match(Algorithm::Sha256, keys, &[delivery.body], &[signature])?;
    let event_id = match optional_header(delivery.headers, "x-shopify-webhook-id")? {
        Some(id) => Some(id),
        None => optional_header(delivery.headers, "x-shopify-event-id")?,
    };
    Ok(Verified {
        event_id: event_id.map(str::to_owned),
        event_type: optional_header(delivery.headers, "x-shopify-topic")?.map(str::to_owned),
        handshake: None,
    })
}

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key) -> Vec<SignedHeader> {
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    vec![(
        HeaderName::from_static(SIGNATURE),
        value(Encoding::Base64.encode(tag.as_slice())),
    )]
}
