//! SendGrid Event Webhook, signed: SendGrid signs `timestamp + body` with ECDSA over P-256 and
//! SHA-256. The signature, DER-encoded then base64, is in `X-Twilio-Email-Event-Webhook-Signature`,
//! the timestamp (epoch seconds) in `X-Twilio-Email-Event-Webhook-Timestamp`. The verification key
//! the SendGrid settings show is base64 of the public key's DER SubjectPublicKeyInfo.
//!
//! The body is a JSON array of events, batched: a delivery is named only when it holds one.

use crate::asymmetric::{
    any_verifies, p256_generate, p256_private_pkcs8, p256_public_der, p256_spki, public_bytes,
    sign as asymmetric_sign,
};
use crate::body::Scalar;
use crate::crypto::Encoding;
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, value};
use crate::error::{KeyError, SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, Secrets};
use crate::stamp::{check_window, epoch_secs};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderName;
use serde::Deserialize;

const SIGNATURE: &str = "x-twilio-email-event-webhook-signature";
const TIMESTAMP: &str = "x-twilio-email-event-webhook-timestamp";

const PUBLIC_KEY_FORMAT: &str =
    "the verification key: base64 of a P-256 public key's DER SubjectPublicKeyInfo";
const SIGNING_KEY_FORMAT: &str = "the private key: base64 of a P-256 key's PKCS#8 DER";

/// A DER ECDSA P-256 signature is a SEQUENCE of two INTEGERs of at most 33 bytes each: between 8
/// and 72 bytes in all.
const SIGNATURE_LEN: std::ops::RangeInclusive<usize> = 8..=72;

fn key(secret: &str) -> Result<Key, KeyError> {
    let der = STANDARD
        .decode(secret)
        .map_err(|_| KeyError::Format(PUBLIC_KEY_FORMAT))?;
    p256_public_der(&der, PUBLIC_KEY_FORMAT)
}

/// SendGrid keeps the private key, so this is only for `inlet sign` and tests.
fn signing_key(secret: &str) -> Result<Key, KeyError> {
    let der = STANDARD
        .decode(secret)
        .map_err(|_| KeyError::Format(SIGNING_KEY_FORMAT))?;
    p256_private_pkcs8(&der, SIGNING_KEY_FORMAT)
}

/// The fields that name one event of the batch.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Event {
    sg_event_id: Scalar,
    event: Scalar,
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let signature = header(delivery.headers, SIGNATURE)?;
    let timestamp = header(delivery.headers, TIMESTAMP)?;
    let seconds = epoch_secs(TIMESTAMP, timestamp)?;
    let signature = Encoding::Base64.decode(SIGNATURE, signature)?;
    // A DER SEQUENCE whose (short-form) length is the rest of it: a signature cut or extended
    // is malformed, as a wrong-length HMAC is for every other provider.
    let framed = signature.first() == Some(&0x30)
        && signature.get(1).map(|&len| usize::from(len) + 2) == Some(signature.len());
    if !framed || !SIGNATURE_LEN.contains(&signature.len()) {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "not a DER-encoded ECDSA signature",
        });
    }
    check_window(seconds, window)?;
    any_verifies(keys, &[timestamp.as_bytes(), delivery.body], &[signature])?;
    let events: Vec<Event> = serde_json::from_slice(delivery.body).unwrap_or_default();
    let (event_id, event_type) = match <[Event; 1]>::try_from(events) {
        Ok([mut only]) => (only.sg_event_id.take(), only.event.take()),
        Err(_) => (None, None),
    };
    Ok(Verified {
        event_id,
        event_type,
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let timestamp = now.to_string();
    let signature = asymmetric_sign(key, &[timestamp.as_bytes(), delivery.body])?;
    Ok(vec![
        (HeaderName::from_static(TIMESTAMP), value(timestamp)),
        (
            HeaderName::from_static(SIGNATURE),
            value(Encoding::Base64.encode(&signature)),
        ),
    ])
}

/// A fresh key pair: `ring` derives no ECDSA key from a seed, so `seed` is not used, and each
/// call gives another pair (tests keep the pair they were given).
fn secrets_for_seed(_seed: &[u8]) -> Secrets {
    let pair = p256_generate().and_then(|der| {
        let key = p256_private_pkcs8(&der, SIGNING_KEY_FORMAT).ok()?;
        let point = public_bytes(&key)?;
        Some((p256_spki(&point), der))
    });
    match pair {
        Some((public, private)) => Secrets {
            verify: STANDARD.encode(public),
            sign: STANDARD.encode(private),
        },
        // The system's random source failed: empty secrets, which every key parser refuses.
        None => Secrets::shared(String::new()),
    }
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        timestamp: true,
        asymmetric: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "ECDSA P-256 SHA-256 of timestamp + body, DER then base64",
    key_format: "the verification key, base64 of its DER SubjectPublicKeyInfo as the SendGrid settings show it (signing, for tests only: base64 of a PKCS#8 DER private key)",
    key,
    signing_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed,
};

pub static PROVIDER: Provider = Provider {
    name: "sendgrid",
    aliases: &[],
    title: "Twilio SendGrid (Event Webhook)",
    docs: "https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features",
    handshake: None,
    // A batch of events is a JSON array, not an object.
    json_body: false,
    informative_headers: &[],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use http::HeaderMap;

    const NOW: i64 = 1_763_816_400;

    fn window() -> Window {
        Window {
            now: NOW,
            tolerance_secs: 300,
        }
    }

    fn signed(body: &[u8]) -> (HeaderMap, Key) {
        let secrets = secrets_for_seed(b"");
        let mut headers = HeaderMap::new();
        let signing = signing_key(&secrets.sign).unwrap();
        for (name, value) in sign(&Delivery::post(&headers, body), &signing, NOW).unwrap() {
            headers.insert(name, value);
        }
        (headers, key(&secrets.verify).unwrap())
    }

    #[test]
    fn generated_secrets_match_and_a_batch_of_one_is_named() {
        let body = br#"[{"email":"a@example.com","event":"delivered","sg_event_id":"ZGVsaXZlcmVk","timestamp":1763816390}]"#;
        let (headers, key) = signed(body);
        let verified = verify(
            &Delivery::post(&headers, body),
            std::slice::from_ref(&key),
            window(),
        )
        .unwrap();
        assert_eq!(verified.event_id.as_deref(), Some("ZGVsaXZlcmVk"));
        assert_eq!(verified.event_type.as_deref(), Some("delivered"));
        let tampered = Delivery::post(&headers, &body[..body.len() - 1]);
        assert_eq!(
            verify(&tampered, &[key], window()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_batch_of_several_is_not_named() {
        let body = br#"[{"event":"open","sg_event_id":"a"},{"event":"click","sg_event_id":"b"}]"#;
        let (headers, key) = signed(body);
        let verified = verify(&Delivery::post(&headers, body), &[key], window()).unwrap();
        assert_eq!(verified, Verified::default());
    }

    #[test]
    fn keys_of_the_wrong_length_or_format_are_refused() {
        let secrets = secrets_for_seed(b"");
        assert!(key(&secrets.verify).unwrap().is_public());
        // The private key is not a verification key, nor the public key a signing key.
        assert_eq!(key(&secrets.sign), Err(KeyError::Format(PUBLIC_KEY_FORMAT)));
        assert_eq!(
            signing_key(&secrets.verify),
            Err(KeyError::Format(SIGNING_KEY_FORMAT))
        );
        let spki = STANDARD.decode(&secrets.verify).unwrap();
        let truncated = STANDARD.encode(&spki[..spki.len() - 1]);
        let raw_point = STANDARD.encode(&spki[26..]);
        for bad in [truncated.as_str(), raw_point.as_str(), "not base64!"] {
            assert_eq!(key(bad), Err(KeyError::Format(PUBLIC_KEY_FORMAT)), "{bad}");
        }
        assert_eq!(
            signing_key("not base64!"),
            Err(KeyError::Format(SIGNING_KEY_FORMAT))
        );
    }

    #[test]
    fn a_signature_that_is_not_der_is_malformed() {
        let body = b"[]";
        let (mut headers, key) = signed(body);
        // The raw 64-byte r || s form some libraries produce is not what SendGrid sends.
        headers.insert(SIGNATURE, STANDARD.encode([1u8; 64]).parse().unwrap());
        assert_eq!(
            verify(&Delivery::post(&headers, body), &[key], window())
                .unwrap_err()
                .code(),
            "signature_malformed"
        );
    }
}
