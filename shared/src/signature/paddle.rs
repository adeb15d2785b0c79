//! Paddle Billing: `Paddle-Signature: ts=<ts>;h1=<hex>[;h1=<hex>…]` over `ts + ":" + body`.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    BodyFields, Delivery, Key, SignatureError, SignedHeader, Verified, Window, check_window,
    epoch_secs, header, value,
};
use http::HeaderName;

const SIGNATURE: &str = "paddle-signature";
const MAX_SIGNATURES: usize = 16;

pub(super) fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in text.split(';') {
        let (name, field) = item
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed {
                field: SIGNATURE,
                why: "expected semicolon-separated `name=value` items",
            })?;
        match name {
            "ts" if timestamp.is_some() => {
                return Err(SignatureError::Malformed {
                    field: SIGNATURE,
                    why: "more than one `ts`",
                });
            }
            "ts" => timestamp = Some(field),
            "h1" => {
                if signatures.len() == MAX_SIGNATURES {
                    return Err(SignatureError::Malformed {
                        field: SIGNATURE,
                        why: "too many signatures",
                    });
                }
                signatures.push(Encoding::Hex.decode(SIGNATURE, field)?);
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed {
        field: SIGNATURE,
        why: "no `ts` timestamp",
    })?;
    let seconds = epoch_secs(SIGNATURE, timestamp)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "no `h1` signature",
        });
    }
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
