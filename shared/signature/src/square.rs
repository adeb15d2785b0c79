//! Square: `x-square-hmacsha256-signature: <base64 HMAC-SHA256(key, notification_url + body)>`.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    BodyFields, Delivery, Key, SignError, SignatureError, SignedHeader, Verified, header, value,
};
use http::HeaderName;

const SIGNATURE: &str = "x-square-hmacsha256-signature";

pub(super) fn verify(delivery: &Delivery<'_>, keys: &[Key]) -> Result<Verified, SignatureError> {
    let url = delivery.url.ok_or(SignatureError::UrlRequired)?;
    let signature = Encoding::Base64.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[url.as_bytes(), delivery.body],
        &[signature],
    )?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.event_id.take(),
        event_type: fields.kind.take(),
        handshake: None,
    })
}

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key) -> Result<Vec<SignedHeader>, SignError> {
    let url = delivery.url.ok_or(SignError::UrlRequired)?;
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[url.as_bytes(), delivery.body],
    );
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(Encoding::Base64.encode(tag.as_slice())),
    )])
}
