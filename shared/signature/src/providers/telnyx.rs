//! Telnyx (API v2 webhooks): Telnyx signs `timestamp|body` with ed25519 and sends the signature
//! in base64 in `telnyx-signature-ed25519`, the timestamp (epoch seconds) in `telnyx-timestamp`.
//! The account's public key, base64 of its 32 bytes in the Mission Control portal, verifies it.

use crate::asymmetric::{
    any_verifies, ed25519_from_seed, ed25519_private, ed25519_public, sign as asymmetric_sign,
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

const SIGNATURE: &str = "telnyx-signature-ed25519";
const TIMESTAMP: &str = "telnyx-timestamp";

const PUBLIC_KEY_FORMAT: &str = "the public key as base64 of its 32 bytes";
const SIGNING_KEY_FORMAT: &str = "the ed25519 private key as base64 of its 32-byte seed";

fn key(secret: &str) -> Result<Key, KeyError> {
    let bytes = STANDARD
        .decode(secret)
        .map_err(|_| KeyError::Format(PUBLIC_KEY_FORMAT))?;
    ed25519_public(&bytes, PUBLIC_KEY_FORMAT)
}

/// Telnyx keeps the private key, so this is only for `inlet sign` and tests. The 64 bytes of seed
/// and public key that NaCl libraries hold are read too.
fn signing_key(secret: &str) -> Result<Key, KeyError> {
    let bytes = STANDARD
        .decode(secret)
        .map_err(|_| KeyError::Format(SIGNING_KEY_FORMAT))?;
    ed25519_private(&bytes, SIGNING_KEY_FORMAT)
}

/// The envelope of an API v2 webhook: the event's id and type are under `data`.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Envelope {
    data: Data,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Data {
    id: Scalar,
    event_type: Scalar,
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
    if signature.len() != 64 {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "not the 64 bytes of an ed25519 signature",
        });
    }
    check_window(seconds, window)?;
    any_verifies(
        keys,
        &[timestamp.as_bytes(), b"|", delivery.body],
        &[signature],
    )?;
    // Naming the event is a courtesy: a body of another shape still verified.
    let Envelope { mut data } = serde_json::from_slice(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: data.id.take(),
        event_type: data.event_type.take(),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let timestamp = now.to_string();
    let signature = asymmetric_sign(key, &[timestamp.as_bytes(), b"|", delivery.body])?;
    Ok(vec![
        (HeaderName::from_static(TIMESTAMP), value(timestamp)),
        (
            HeaderName::from_static(SIGNATURE),
            value(Encoding::Base64.encode(&signature)),
        ),
    ])
}

fn secrets_for_seed(seed: &[u8]) -> Secrets {
    let (secret, public) = ed25519_from_seed(seed);
    Secrets {
        verify: STANDARD.encode(public),
        sign: STANDARD.encode(secret),
    }
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        timestamp: true,
        asymmetric: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "ed25519 of `timestamp|body`, base64",
    key_format: "the account's public key, base64 of its 32 bytes as the Mission Control portal shows it (signing, for tests only: base64 of the 32-byte ed25519 seed)",
    key,
    signing_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed,
};

pub static PROVIDER: Provider = Provider {
    name: "telnyx",
    aliases: &[],
    title: "Telnyx",
    docs: "https://developers.telnyx.com/docs/development/api-fundamentals/webhooks",
    handshake: None,
    // TeXML callbacks are forms: not every delivery is a JSON object.
    json_body: false,
    informative_headers: &[],
    official_vectors: false,
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

    #[test]
    fn a_signed_event_verifies_and_is_named_by_its_data() {
        let secrets = secrets_for_seed(b"telnyx unit tests");
        let body = br#"{"data":{"event_type":"message.received","id":"b301ed3f-1490-491f-995f-6e64e69674d4","record_type":"event"},"meta":{"attempt":1}}"#;
        let mut headers = HeaderMap::new();
        let signing = signing_key(&secrets.sign).unwrap();
        for (name, value) in sign(&Delivery::post(&headers, body), &signing, NOW).unwrap() {
            headers.insert(name, value);
        }
        let keys = [key(&secrets.verify).unwrap()];
        let verified = verify(&Delivery::post(&headers, body), &keys, window()).unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("message.received"));
        assert_eq!(
            verified.event_id.as_deref(),
            Some("b301ed3f-1490-491f-995f-6e64e69674d4")
        );
        // The `|` is signed: a signature over timestamp + body alone fails.
        let timestamp = NOW.to_string();
        let without = asymmetric_sign(&signing, &[timestamp.as_bytes(), body]).unwrap();
        headers.insert(SIGNATURE, STANDARD.encode(without).parse().unwrap());
        assert_eq!(
            verify(&Delivery::post(&headers, body), &keys, window()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn keys_of_the_wrong_length_or_format_are_refused() {
        let secrets = secrets_for_seed(b"x");
        assert!(key(&secrets.verify).unwrap().is_public());
        let short = STANDARD.encode([7u8; 31]);
        let long = STANDARD.encode([7u8; 33]);
        let hex = hex::encode([7u8; 32]);
        for bad in [short.as_str(), long.as_str(), hex.as_str(), "not base64!"] {
            assert_eq!(key(bad), Err(KeyError::Format(PUBLIC_KEY_FORMAT)), "{bad}");
            assert_eq!(
                signing_key(bad),
                Err(KeyError::Format(SIGNING_KEY_FORMAT)),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_signature_of_the_wrong_length_is_malformed() {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, STANDARD.encode([1u8; 32]).parse().unwrap());
        headers.insert(TIMESTAMP, NOW.to_string().parse().unwrap());
        let keys = [key(&secrets_for_seed(b"x").verify).unwrap()];
        assert_eq!(
            verify(&Delivery::post(&headers, b"{}"), &keys, window())
                .unwrap_err()
                .code(),
            "signature_malformed"
        );
    }
}
