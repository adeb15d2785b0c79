//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]` over `t + "." + body`; the key is the
//! `whsec_…` string itself.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    BodyFields, Delivery, Key, SignatureError, SignedHeader, Verified, Window, check_window,
    epoch_secs, header, value,
};
use http::HeaderName;

const SIGNATURE: &str = "stripe-signature";
/// A header of a hundred signatures is already far beyond any rotation Stripe does.
const MAX_SIGNATURES: usize = 16;

pub(super) fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in text.split(',') {
        let (name, field) = item
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed {
                field: SIGNATURE,
                why: "expected comma-separated `name=value` items",
            })?;
        match name {
            "t" if timestamp.is_some() => {
                return Err(SignatureError::Malformed {
                    field: SIGNATURE,
                    why: "more than one `t`",
                });
            }
            "t" => timestamp = Some(field),
            "v1" => {
                if signatures.len() == MAX_SIGNATURES {
                    return Err(SignatureError::Malformed {
                        field: SIGNATURE,
                        why: "too many signatures",
                    });
                }
                signatures.push(Encoding::Hex.decode(SIGNATURE, field)?);
            }
            // v0 (test mode, a different scheme) and future versions are not ours to check.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed {
        field: SIGNATURE,
        why: "no `t` timestamp",
    })?;
    let seconds = epoch_secs(SIGNATURE, timestamp)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "no `v1` signature",
        });
    }
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
