//! X (formerly Twitter): the Account Activity API's webhooks, and the X API webhooks that share
//! their security.
//!
//! Each delivery is a POST whose `x-twitter-webhooks-signature` header is `sha256=` followed by
//! the base64 HMAC-SHA256, keyed by the app's consumer secret (API secret key), of the raw body.
//! Nothing else is signed and there is no timestamp, so no replay window applies. An Account
//! Activity delivery names its events by its one top-level `…_events` member
//! (`tweet_create_events`, `follow_events`…); X gives no event id.
//!
//! X checks the endpoint (at registration, then periodically) with a GET carrying `crc_token`,
//! answered with `{"response_token": "sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>"}`.
//! That GET is not authenticated and its answer is made exactly as a delivery's signature is:
//! answered for any token, it would sign whatever body a caller sent as the token. So only tokens
//! shaped as X's are (short, of the base64 and base64url alphabets, never a JSON object) are
//! answered, and a delivery whose body is not a JSON object is refused, whatever its signature:
//! no answer to a check can pass for a delivery's signature.

use crate::body::is_json_object;
use crate::challenge::{self, Carrier, Challenge, answering_key};
use crate::crypto::{self, Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, Handshake, SignedHeader, Verified, Window};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

const SIGNATURE: &str = "x-twitter-webhooks-signature";
const PREFIX: &str = "sha256=";

/// X's tokens are a few dozen characters; the bound keeps anything else unanswered.
const MAX_CRC_TOKEN: usize = 128;

const SCHEME: CustomScheme = CustomScheme {
    prefix: PREFIX,
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Base64)
};

const CRC_CHECK: Challenge = Challenge {
    carrier: Carrier::Query("crc_token"),
    shaped: is_crc_token,
    missing: "a GET to an X source must carry crc_token",
    misshapen: "crc_token is not shaped as X's are (at most 128 base64 or base64url characters)",
};

/// Whether `token` could be one X sent: nothing but the base64 and base64url alphabets, so that
/// no JSON body (nor anything else a delivery could carry) is ever signed in answer.
fn is_crc_token(token: &str) -> bool {
    challenge::is_plain_token(token, MAX_CRC_TOKEN, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=')
    })
}

/// The names of a JSON object's members, read without building its values.
struct MemberNames(Vec<String>);

impl<'de> Deserialize<'de> for MemberNames {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = MemberNames;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MemberNames, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = map.next_key::<Cow<'de, str>>()? {
                    map.next_value::<IgnoredAny>()?;
                    names.push(name.into_owned());
                }
                Ok(MemberNames(names))
            }
        }
        d.deserialize_map(Names)
    }
}

/// The Account Activity event a delivery carries: its one `…_events` member.
fn activity(body: &[u8]) -> Option<String> {
    let MemberNames(names) = serde_json::from_slice(body).ok()?;
    let mut events = names.into_iter().filter(|name| name.ends_with("_events"));
    let event = events.next()?;
    events.next().is_none().then_some(event)
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let compared = SCHEME.check_signature(delivery, keys, window);
    // A header that cannot be read is answered as such, as for every provider. Past that, a body
    // that is not an object is refused whatever the comparison gave, so that no answer to a check
    // passes for a delivery.
    if let Err(unreadable @ (SignatureError::Missing(_) | SignatureError::Malformed { .. })) =
        compared
    {
        return Err(unreadable);
    }
    if !is_json_object(delivery.body) {
        return Err(SignatureError::Body("an X delivery is a JSON object"));
    }
    compared?;
    Ok(Verified {
        event_id: None,
        event_type: activity(delivery.body),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    SCHEME.sign(delivery, key, now)
}

/// The check's answer: the token signed as a delivery's body would be.
fn signature_of(key: &[u8], content: &[u8]) -> String {
    let tag = crypto::hmac(Algorithm::Sha256, key, &[content]);
    format!("{PREFIX}{}", Encoding::Base64.encode(tag.as_slice()))
}

/// Every GET is X's challenge-response check: deliveries are POSTs.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    keys: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    CRC_CHECK.on_get(delivery, |token| {
        let key = answering_key(keys)?;
        Ok(Handshake::json(serde_json::json!({
            "response_token": signature_of(key, token.as_bytes()),
        })))
    })
}

static CODE: Code = Code {
    facts: Facts::signature(SIGNATURE, Encoding::Base64),
    signed: "HMAC-SHA256 of the body, base64, after `sha256=`",
    key_format: "the app's consumer secret (API secret key), as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: Some(unsigned_handshake),
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "x",
    aliases: &["twitter"],
    title: "X (Twitter) Account Activity API",
    docs: "https://docs.x.com/x-api/webhooks/quickstart",
    handshake: Some(
        "GET `crc_token` (challenge-response check): answers `response_token`, its HMAC under the consumer secret, for X-shaped tokens only",
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
    use crate::challenge::get;
    use crate::delivery::HandshakeBody;
    use http::HeaderMap;

    const SECRET: &str = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu";
    const WINDOW: Window = Window {
        now: 0,
        tolerance_secs: 300,
    };

    fn keys() -> Vec<Key> {
        vec![text_key(SECRET).unwrap()]
    }

    fn response_token(answer: &Handshake) -> String {
        let HandshakeBody::Json(json) = &answer.body else {
            panic!("not JSON: {answer:?}");
        };
        json["response_token"].as_str().unwrap().to_owned()
    }

    fn with_signature(text: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, text.parse().unwrap());
        headers
    }

    #[test]
    fn the_check_is_answered_with_the_token_signed_by_the_consumer_secret() {
        let headers = HeaderMap::new();
        // The token of X's developer relations' published example, a UUID.
        let token = "9b4507b3-9040-4669-9ca3-6b94edb50553";
        let answer = PROVIDER
            .unsigned_handshake(
                &get(&headers, Some(&format!("crc_token={token}&nonce=abc"))),
                &keys(),
            )
            .unwrap()
            .unwrap();
        // Computed with Python's hmac: base64(HMAC-SHA256(secret, token)).
        assert_eq!(
            response_token(&answer),
            "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="
        );
        assert_eq!(answer.header, None);
        assert_eq!(answer.install_secret, None);
    }

    #[test]
    fn the_check_is_answered_with_the_first_secret() {
        let headers = HeaderMap::new();
        let keys = [text_key("new").unwrap(), text_key("old").unwrap()];
        let answer = PROVIDER
            .unsigned_handshake(&get(&headers, Some("crc_token=abc")), &keys)
            .unwrap()
            .unwrap();
        assert_eq!(response_token(&answer), signature_of(b"new", b"abc"));
        assert_eq!(
            PROVIDER.unsigned_handshake(&get(&headers, Some("crc_token=abc")), &[]),
            Some(Err(SignatureError::Mismatch))
        );
    }

    #[test]
    fn the_check_cannot_sign_a_delivery() {
        // The oracle the check would be: a JSON body sent as the token, its answer then replayed
        // as that body's signature. The token is refused, whatever its encoding in the query.
        let headers = HeaderMap::new();
        let body = r#"{"for_user_id":"1","tweet_create_events":[]}"#;
        let encoded: String = url::form_urlencoded::byte_serialize(body.as_bytes()).collect();
        for query in [
            format!("crc_token={encoded}"),
            "crc_token=%7B%7D".to_owned(),
            "crc_token=a%20b".to_owned(),
            format!("crc_token={}", "a".repeat(MAX_CRC_TOKEN + 1)),
            "crc_token=".to_owned(),
        ] {
            let answer = PROVIDER.unsigned_handshake(&get(&headers, Some(&query)), &keys());
            assert_eq!(
                answer.map(|a| a.map_err(|e| e.code())),
                Some(Err("handshake_invalid")),
                "{query}"
            );
        }
        // Even signed as such an answer would be, a body that is not an object is refused before
        // its signature is compared, so no token X-shaped enough to be answered is a delivery.
        let token = "abcDEF123-_+/=";
        let headers = with_signature(&signature_of(SECRET.as_bytes(), token.as_bytes()));
        let result = verify(&Delivery::post(&headers, token.as_bytes()), &keys(), WINDOW);
        assert_eq!(result.map_err(|e| e.code()), Err("malformed_body"));
    }

    #[test]
    fn a_get_without_one_crc_token_is_not_a_handshake() {
        let headers = HeaderMap::new();
        for query in ["", "nonce=1", "crc_token=a&crc_token=b"] {
            let answer = PROVIDER.unsigned_handshake(&get(&headers, Some(query)), &keys());
            assert!(
                matches!(answer, Some(Err(SignatureError::NotAHandshake(_)))),
                "{query}: {answer:?}"
            );
        }
        let post = Delivery::post(&headers, b"{}");
        assert_eq!(PROVIDER.unsigned_handshake(&post, &keys()), None);
    }

    #[test]
    fn a_delivery_is_named_by_its_events_member() {
        let body = br#"{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"1"}]}"#;
        let headers = with_signature(&signature_of(SECRET.as_bytes(), body));
        let verified = verify(&Delivery::post(&headers, body), &keys(), WINDOW).unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("tweet_create_events"));
        assert_eq!(verified.event_id, None);
        // Two kinds at once, or none: unnamed.
        assert_eq!(activity(br#"{"a_events":[],"b_events":[]}"#), None);
        assert_eq!(activity(br#"{"for_user_id":"1"}"#), None);
    }

    #[test]
    fn a_signature_without_its_prefix_or_of_the_wrong_length_is_malformed() {
        let body = b"{}";
        let good = signature_of(SECRET.as_bytes(), body);
        for text in [
            good[PREFIX.len()..].to_owned(),
            format!("sha1={}", &good[PREFIX.len()..]),
            format!("{PREFIX}{}", Encoding::Base64.encode(&[7; 20])),
        ] {
            let headers = with_signature(&text);
            let result = verify(&Delivery::post(&headers, body), &keys(), WINDOW);
            assert_eq!(
                result.map_err(|e| e.code()),
                Err("signature_malformed"),
                "{text}"
            );
        }
    }
}
