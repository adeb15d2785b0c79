//! Front application webhooks (the ones an app's webhook feature sends; rule webhooks, signed
//! otherwise, are `front-rules`).
//!
//! `X-Front-Signature` is the base64 HMAC-SHA256, keyed by the app's secret as text, of
//! `X-Front-Request-Timestamp` (epoch milliseconds), a colon, and the raw body. The timestamp is
//! signed and the replay window applies to it. The body's `type` (`inbound_received`) names the
//! event and the event inside it, `payload.id`, the delivery.
//!
//! Saving the webhook in Front sends a signed `sync` event that also carries `X-Front-Challenge`,
//! which must come back in the answer. It is answered only once the request has verified, as
//! `{"challenge": …}` JSON, so the value is never reflected as markup. The challenge header itself
//! is not signed: replaying a captured delivery with one added only gets that value echoed back.

use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, Handshake, SignedHeader, Verified, Window, optional_header};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::TimeFormat;

const SIGNATURE: &str = "x-front-signature";
const TIMESTAMP: &str = "x-front-request-timestamp";
const CHALLENGE: &str = "x-front-challenge";

/// Front's challenges are short random strings; anything far longer is not one.
const MAX_CHALLENGE: usize = 256;

const SCHEME: CustomScheme = CustomScheme {
    timestamp_header: Some(TIMESTAMP),
    timestamp_format: TimeFormat::Millis,
    signed: "{timestamp}:{body}",
    id_pointer: Some("/payload/id"),
    type_pointer: Some("/type"),
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Base64)
};

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let mut verified = SCHEME.verify(delivery, keys, window)?;
    if let Some(challenge) = optional_header(delivery.headers, CHALLENGE)? {
        if challenge.len() > MAX_CHALLENGE {
            return Err(SignatureError::Malformed {
                field: CHALLENGE,
                why: "longer than 256 characters",
            });
        }
        verified.handshake = Some(Handshake::json(
            serde_json::json!({ "challenge": challenge }),
        ));
    }
    Ok(verified)
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    SCHEME.sign(delivery, key, now)
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of `timestamp:body` (timestamp in ms), base64",
    key_format: "the app secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "front",
    aliases: &[],
    title: "Front (application webhooks)",
    docs: "https://dev.frontapp.com/docs/application-webhooks",
    handshake: Some(
        "signed `sync` POST with `X-Front-Challenge` (on saving): answered with `{\"challenge\": …}`",
    ),
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::delivery::HandshakeBody;
    use http::{HeaderMap, HeaderValue};

    const NOW: i64 = 1_763_816_400;
    const SYNC: &[u8] = br#"{"type":"sync","authorization":{"id":"cmp_abc"}}"#;

    fn key() -> Key {
        text_key("front app secret").unwrap()
    }

    fn window() -> Window {
        Window {
            now: NOW,
            tolerance_secs: 300,
        }
    }

    fn signed(mut headers: HeaderMap, body: &[u8], key: &Key) -> HeaderMap {
        for (name, value) in sign(&Delivery::post(&headers, body), key, NOW).unwrap() {
            headers.insert(name, value);
        }
        headers
    }

    fn with_challenge(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CHALLENGE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_timestamp_is_written_in_milliseconds_and_signed() {
        let headers = signed(HeaderMap::new(), SYNC, &key());
        assert_eq!(headers[TIMESTAMP], "1763816400000");
        let mut moved = headers.clone();
        moved.insert(TIMESTAMP, HeaderValue::from_static("1763816400001"));
        let result = verify(&Delivery::post(&moved, SYNC), &[key()], window());
        assert_eq!(result.map_err(|e| e.code()), Err("signature_mismatch"));
    }

    #[test]
    fn a_signed_challenge_is_answered_with_it_as_json() {
        let headers = signed(with_challenge("a1b2c3d4e5"), SYNC, &key());
        let verified = verify(&Delivery::post(&headers, SYNC), &[key()], window()).unwrap();
        let answer = verified.handshake.unwrap();
        assert_eq!(
            answer.body,
            HandshakeBody::Json(serde_json::json!({"challenge": "a1b2c3d4e5"}))
        );
        assert_eq!(verified.event_type.as_deref(), Some("sync"));
    }

    #[test]
    fn a_challenge_is_not_answered_unless_the_request_is_authentic() {
        let forged = signed(
            with_challenge("a1b2c3d4e5"),
            SYNC,
            &text_key("someone else").unwrap(),
        );
        let result = verify(&Delivery::post(&forged, SYNC), &[key()], window());
        assert_eq!(result.map_err(|e| e.code()), Err("signature_mismatch"));
        let unsigned = with_challenge("a1b2c3d4e5");
        let result = verify(&Delivery::post(&unsigned, SYNC), &[key()], window());
        assert_eq!(result.map_err(|e| e.code()), Err("signature_missing"));
    }

    #[test]
    fn an_overlong_or_repeated_challenge_is_malformed() {
        let long = signed(with_challenge(&"c".repeat(MAX_CHALLENGE + 1)), SYNC, &key());
        let result = verify(&Delivery::post(&long, SYNC), &[key()], window());
        assert_eq!(result.map_err(|e| e.code()), Err("signature_malformed"));
        let mut twice = signed(with_challenge("one"), SYNC, &key());
        twice.append(CHALLENGE, HeaderValue::from_static("two"));
        let result = verify(&Delivery::post(&twice, SYNC), &[key()], window());
        assert_eq!(result.map_err(|e| e.code()), Err("signature_malformed"));
    }

    #[test]
    fn an_event_is_named_by_its_type_and_payload_id() {
        let body = br#"{"type":"inbound_received","authorization":{"id":"cmp_abc"},"payload":{"id":"evt_55c8c149","type":"inbound"}}"#;
        let headers = signed(HeaderMap::new(), body, &key());
        let verified = verify(&Delivery::post(&headers, body), &[key()], window()).unwrap();
        assert_eq!(verified.event_id.as_deref(), Some("evt_55c8c149"));
        assert_eq!(verified.event_type.as_deref(), Some("inbound_received"));
        assert_eq!(verified.handshake, None);
    }
}
