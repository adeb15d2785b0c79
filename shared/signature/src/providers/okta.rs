//! Okta event hooks.
//!
//! Okta signs nothing: with each event hook it sends an authentication header whose whole value
//! the administrator chose (the "Authentication secret"), here read from `Authorization` and
//! compared in constant time with the configured secret. Nothing binds it to the body or to a
//! time, so it only proves who sent the request over HTTPS. The body's `eventId` names the
//! delivery and `eventType` its kind.
//!
//! When the hook is verified, Okta sends a one-time GET carrying
//! `X-Okta-Verification-Challenge`, with the same authentication header; the answer is the
//! challenge back as `{"verification": …}`.

use crate::body::{Scalar, is_json_object};
use crate::delivery::{
    Delivery, Handshake, SignedHeader, Verified, Window, header, optional_header, value,
};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::token::matches_any;
use http::HeaderName;
use serde::Deserialize;

const AUTHORIZATION: &str = "authorization";
const CHALLENGE: &str = "x-okta-verification-challenge";

/// Okta's challenges are a few dozen characters: anything much longer is not echoed.
const MAX_CHALLENGE: usize = 512;

#[derive(Default, Deserialize)]
#[serde(default)]
struct Event {
    #[serde(rename = "eventId")]
    event_id: Scalar,
    #[serde(rename = "eventType")]
    event_type: Scalar,
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let secret = header(delivery.headers, AUTHORIZATION)?;
    matches_any(keys, secret.as_bytes())?;
    let mut event = if is_json_object(delivery.body) {
        serde_json::from_slice::<Event>(delivery.body).unwrap_or_default()
    } else {
        Event::default()
    };
    Ok(Verified {
        event_id: event.event_id.take(),
        event_type: event.event_type.take(),
        handshake: None,
    })
}

fn sign(_: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    Ok(vec![(
        HeaderName::from_static(AUTHORIZATION),
        value(String::from_utf8_lossy(key.as_bytes()).into_owned()),
    )])
}

/// Okta's verification is a GET; events are POSTs, verified as deliveries.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    keys: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    delivery
        .method
        .eq_ignore_ascii_case("GET")
        .then(|| answer_verification(delivery, keys))
}

fn answer_verification(delivery: &Delivery<'_>, keys: &[Key]) -> Result<Handshake, SignatureError> {
    let Some(challenge) = optional_header(delivery.headers, CHALLENGE)? else {
        return Err(SignatureError::NotAHandshake(
            "a GET to an Okta source must carry X-Okta-Verification-Challenge",
        ));
    };
    let secret = header(delivery.headers, AUTHORIZATION)?;
    matches_any(keys, secret.as_bytes())?;
    if challenge.len() > MAX_CHALLENGE {
        return Err(SignatureError::Malformed {
            field: CHALLENGE,
            why: "longer than any challenge Okta sends",
        });
    }
    Ok(Handshake::json(
        serde_json::json!({ "verification": challenge }),
    ))
}

static CODE: Code = Code {
    facts: Facts {
        encoding: None,
        unsigned_body: true,
        ..Facts::signature(AUTHORIZATION, crate::crypto::Encoding::Hex)
    },
    signed: "nothing: the event hook's authentication secret in `Authorization`, compared in constant time",
    key_format: "the event hook's authentication secret (the whole `Authorization` value), as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: Some(unsigned_handshake),
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "okta",
    aliases: &[],
    title: "Okta event hooks",
    docs: "https://developer.okta.com/docs/concepts/event-hooks/",
    handshake: Some(
        "GET with `X-Okta-Verification-Challenge`: answers `{\"verification\": …}` once `Authorization` matches",
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
    use http::HeaderMap;

    const SECRET: &str = "Basic c2VjcmV0LXRva2Vu";

    fn keys() -> Vec<Key> {
        vec![text_key(SECRET).unwrap()]
    }

    fn get(headers: &HeaderMap) -> Delivery<'_> {
        Delivery {
            headers,
            body: b"",
            url: None,
            method: "GET",
            query: None,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_verification_challenge_is_answered_once_authenticated() {
        let headers = headers(&[
            (CHALLENGE, "E_sA0m8m4TPsk-ieUlwKQrasSzDNTNJX"),
            (AUTHORIZATION, SECRET),
        ]);
        let answer = PROVIDER
            .unsigned_handshake(&get(&headers), &keys())
            .unwrap()
            .unwrap();
        assert_eq!(
            answer.body,
            HandshakeBody::Json(
                serde_json::json!({ "verification": "E_sA0m8m4TPsk-ieUlwKQrasSzDNTNJX" })
            )
        );
    }

    #[test]
    fn a_challenge_with_the_wrong_secret_or_none_is_refused() {
        let wrong = headers(&[(CHALLENGE, "abc"), (AUTHORIZATION, "Basic nope")]);
        assert_eq!(
            PROVIDER.unsigned_handshake(&get(&wrong), &keys()),
            Some(Err(SignatureError::Mismatch))
        );
        let missing = headers(&[(CHALLENGE, "abc")]);
        assert_eq!(
            PROVIDER.unsigned_handshake(&get(&missing), &keys()),
            Some(Err(SignatureError::Missing(AUTHORIZATION)))
        );
    }

    #[test]
    fn a_get_without_a_challenge_is_not_a_handshake_and_a_post_is_a_delivery() {
        let plain = headers(&[(AUTHORIZATION, SECRET)]);
        assert!(matches!(
            PROVIDER.unsigned_handshake(&get(&plain), &keys()),
            Some(Err(SignatureError::NotAHandshake(_)))
        ));
        let challenged = headers(&[(CHALLENGE, "abc"), (AUTHORIZATION, SECRET)]);
        let post = Delivery::post(&challenged, b"{}");
        assert_eq!(PROVIDER.unsigned_handshake(&post, &keys()), None);
    }

    #[test]
    fn an_event_is_named_by_its_id_and_type() {
        let body = br#"{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","eventId":"b5a188b9-5ece-4636-b041-482ffda96311","data":{"events":[]}}"#;
        let headers = headers(&[(AUTHORIZATION, SECRET)]);
        let window = Window {
            now: 0,
            tolerance_secs: 300,
        };
        let verified = verify(&Delivery::post(&headers, body), &keys(), window).unwrap();
        assert_eq!(
            verified.event_id.as_deref(),
            Some("b5a188b9-5ece-4636-b041-482ffda96311")
        );
        assert_eq!(verified.event_type.as_deref(), Some("com.okta.event_hook"));
        let other = verify(
            &Delivery::post(&headers, body),
            &[text_key("x").unwrap()],
            window,
        );
        assert_eq!(other, Err(SignatureError::Mismatch));
    }
}
