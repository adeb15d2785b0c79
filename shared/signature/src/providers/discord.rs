//! Discord interactions: Discord signs `timestamp + body` with ed25519 and sends the signature in
//! hex in `X-Signature-Ed25519`, the timestamp (epoch seconds) in `X-Signature-Timestamp`. The
//! application's public key, 64 hex characters in the Developer Portal, verifies it.
//!
//! Before it accepts an Interactions Endpoint URL, Discord posts a signed PING (`"type": 1`) and
//! expects `{"type": 1}` back; it also sends deliberately bad signatures, which must be refused.

use crate::asymmetric::{
    any_verifies, ed25519_from_seed, ed25519_private, ed25519_public, sign as asymmetric_sign,
};
use crate::body::BodyFields;
use crate::crypto::Encoding;
use crate::delivery::{Delivery, Handshake, SignedHeader, Verified, Window, header, value};
use crate::error::{KeyError, SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, Secrets};
use crate::stamp::{check_window, epoch_secs};
use http::HeaderName;

const SIGNATURE: &str = "x-signature-ed25519";
const TIMESTAMP: &str = "x-signature-timestamp";

const PUBLIC_KEY_FORMAT: &str = "the application public key as 64 hex characters";
const SIGNING_KEY_FORMAT: &str = "the ed25519 private key seed as 64 hex characters";

/// Interaction type 1: Discord checking the endpoint.
const PING: &str = "1";

/// 32 bytes written as 64 hex characters, the form Discord shows keys in.
fn hex32(text: &str, expected: &'static str) -> Result<Vec<u8>, KeyError> {
    hex::decode(text)
        .ok()
        .filter(|bytes| bytes.len() == 32)
        .ok_or(KeyError::Format(expected))
}

fn key(secret: &str) -> Result<Key, KeyError> {
    ed25519_public(&hex32(secret, PUBLIC_KEY_FORMAT)?, PUBLIC_KEY_FORMAT)
}

/// Discord keeps the private key, so this is only for `inlet sign` and tests: the 32-byte seed,
/// in hex like the public key.
fn signing_key(secret: &str) -> Result<Key, KeyError> {
    ed25519_private(&hex32(secret, SIGNING_KEY_FORMAT)?, SIGNING_KEY_FORMAT)
}

/// Discord's name for an interaction type, or the number where it is one Discord added later.
fn interaction_name(kind: String) -> String {
    let name = match kind.as_str() {
        "1" => "PING",
        "2" => "APPLICATION_COMMAND",
        "3" => "MESSAGE_COMPONENT",
        "4" => "APPLICATION_COMMAND_AUTOCOMPLETE",
        "5" => "MODAL_SUBMIT",
        _ => return kind,
    };
    name.to_owned()
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let signature = header(delivery.headers, SIGNATURE)?;
    let timestamp = header(delivery.headers, TIMESTAMP)?;
    let seconds = epoch_secs(TIMESTAMP, timestamp)?;
    let signature = Encoding::Hex.decode(SIGNATURE, signature)?;
    if signature.len() != 64 {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "not the 64 bytes of an ed25519 signature",
        });
    }
    check_window(seconds, window)?;
    any_verifies(keys, &[timestamp.as_bytes(), delivery.body], &[signature])?;

    let Some(mut fields) = BodyFields::parse(delivery.body) else {
        return Ok(Verified::default());
    };
    // Discord's webhook events use the same signature with another body: `type` 1 there is an
    // event, named by `event.type`, not a PING.
    if let Some(event) = fields.event.kind.take() {
        return Ok(Verified {
            event_id: None,
            event_type: Some(event),
            handshake: None,
        });
    }
    let handshake = (fields.kind.as_str() == Some(PING))
        .then(|| Handshake::json(serde_json::json!({ "type": 1 })));
    Ok(Verified {
        event_id: fields.id.take(),
        event_type: fields.kind.take().map(interaction_name),
        handshake,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let timestamp = now.to_string();
    let signature = asymmetric_sign(key, &[timestamp.as_bytes(), delivery.body])?;
    Ok(vec![
        (HeaderName::from_static(TIMESTAMP), value(timestamp)),
        (
            HeaderName::from_static(SIGNATURE),
            value(Encoding::Hex.encode(&signature)),
        ),
    ])
}

fn secrets_for_seed(seed: &[u8]) -> Secrets {
    let (secret, public) = ed25519_from_seed(seed);
    Secrets {
        verify: hex::encode(public),
        sign: hex::encode(secret),
    }
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        timestamp: true,
        asymmetric: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "ed25519 of timestamp + body, hex",
    key_format: "the application's public key, 64 hex characters as the Developer Portal shows it (signing, for tests only: the 32-byte ed25519 seed, 64 hex characters)",
    key,
    signing_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed,
};

pub static PROVIDER: Provider = Provider {
    name: "discord",
    aliases: &[],
    title: "Discord (interactions)",
    docs: "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers",
    handshake: Some("PING (`type` 1): answers `{\"type\": 1}`"),
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::HandshakeBody;
    use http::HeaderMap;

    const NOW: i64 = 1_763_816_400;

    fn window() -> Window {
        Window {
            now: NOW,
            tolerance_secs: 300,
        }
    }

    fn signed(body: &[u8]) -> (HeaderMap, Key) {
        let secrets = secrets_for_seed(b"discord unit tests");
        let mut headers = HeaderMap::new();
        for (name, value) in sign(
            &Delivery::post(&headers, body),
            &signing_key(&secrets.sign).unwrap(),
            NOW,
        )
        .unwrap()
        {
            headers.insert(name, value);
        }
        (headers, key(&secrets.verify).unwrap())
    }

    #[test]
    fn a_signed_ping_is_answered_with_type_1() {
        let body = br#"{"id":"787053080478613555","token":"abc","type":1,"version":1}"#;
        let (headers, key) = signed(body);
        let verified = verify(&Delivery::post(&headers, body), &[key], window()).unwrap();
        let handshake = verified.handshake.unwrap();
        assert_eq!(
            handshake.body,
            HandshakeBody::Json(serde_json::json!({ "type": 1 }))
        );
        assert_eq!(handshake.body_text(), r#"{"type":1}"#);
        assert_eq!(verified.event_id.as_deref(), Some("787053080478613555"));
        assert_eq!(verified.event_type.as_deref(), Some("PING"));
    }

    #[test]
    fn an_unsigned_or_badly_signed_ping_is_refused() {
        let body = br#"{"type":1}"#;
        let (mut headers, key) = signed(body);
        let mut text = headers[SIGNATURE].to_str().unwrap().to_owned();
        let last = if text.ends_with('0') { "1" } else { "0" };
        text.replace_range(text.len() - 1.., last);
        headers.insert(SIGNATURE, text.parse().unwrap());
        assert_eq!(
            verify(
                &Delivery::post(&headers, body),
                std::slice::from_ref(&key),
                window()
            ),
            Err(SignatureError::Mismatch)
        );
        headers.remove(SIGNATURE);
        assert_eq!(
            verify(&Delivery::post(&headers, body), &[key], window()),
            Err(SignatureError::Missing(SIGNATURE))
        );
    }

    #[test]
    fn other_interactions_are_events_without_a_handshake() {
        let body = br#"{"id":"787053080478613556","type":2,"data":{"name":"test"}}"#;
        let (headers, key) = signed(body);
        let verified = verify(&Delivery::post(&headers, body), &[key], window()).unwrap();
        assert_eq!(verified.handshake, None);
        assert_eq!(verified.event_type.as_deref(), Some("APPLICATION_COMMAND"));
        // A webhook event of `type` 1 is an event, not a PING.
        let body = br#"{"version":1,"application_id":"1","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834"}}"#;
        let (headers, key) = signed(body);
        let verified = verify(&Delivery::post(&headers, body), &[key], window()).unwrap();
        assert_eq!(verified.handshake, None);
        assert_eq!(
            verified.event_type.as_deref(),
            Some("APPLICATION_AUTHORIZED")
        );
    }

    #[test]
    fn the_window_applies_to_the_timestamp() {
        let body = br#"{"type":2}"#;
        let (headers, key) = signed(body);
        let late = Window {
            now: NOW + 301,
            tolerance_secs: 300,
        };
        assert_eq!(
            verify(&Delivery::post(&headers, body), &[key], late)
                .unwrap_err()
                .code(),
            "timestamp_out_of_tolerance"
        );
    }

    #[test]
    fn keys_of_the_wrong_length_or_format_are_refused() {
        let public = secrets_for_seed(b"x").verify;
        assert!(key(&public).unwrap().is_public());
        assert!(key(&public.to_uppercase()).is_ok());
        for bad in [
            &public[..62],
            &format!("{public}00"),
            &format!("{}zz", &public[..62]),
            "b64/notHex+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ] {
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
        let body = br#"{"type":2}"#;
        let (mut headers, key) = signed(body);
        let text = headers[SIGNATURE].to_str().unwrap().to_owned();
        headers.insert(SIGNATURE, text[..64].parse().unwrap());
        assert_eq!(
            verify(&Delivery::post(&headers, body), &[key], window())
                .unwrap_err()
                .code(),
            "signature_malformed"
        );
    }
}
