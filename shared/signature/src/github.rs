//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    Delivery, Key, SignatureError, SignedHeader, Verified, header, optional_header, value,
};
use http::HeaderName;

const SIGNATURE: &str = "x-hub-signature-256";

pub(super) fn verify(delivery: &Delivery<'_>, keys: &[Key]) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let hex = text
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed {
            field: SIGNATURE,
            why: "expected `sha256=<hex>`",
        })?;
    let signature = Encoding::Hex.decode(SIGNATURE, hex)?;
    crypto::any_match(Algorithm::Sha256, keys, &[delivery.body], &[signature])?;
    Ok(Verified {
        event_id: optional_header(delivery.headers, "x-github-delivery")?.map(str::to_owned),
        event_type: optional_header(delivery.headers, "x-github-event")?.map(str::to_owned),
        handshake: None,
    })
}

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key) -> Vec<SignedHeader> {
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    vec![(
        HeaderName::from_static(SIGNATURE),
        value(format!("sha256={}", Encoding::Hex.encode(tag.as_slice()))),
    )]
}
