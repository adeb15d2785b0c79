//! Meta's Webhooks (WhatsApp Business, Instagram, Messenger and the other Graph API products).
//!
//! Each notification is a POST whose `X-Hub-Signature-256` header is `sha256=` followed by the
//! hex HMAC-SHA256 of the raw body, keyed by the app secret. Nothing else is signed and there is
//! no timestamp, so no replay window applies. The body's `object` (`page`, `instagram`,
//! `whatsapp_business_account`…) names what the notification is about; Meta gives no event id.
//!
//! Before it sends anything, Meta checks the endpoint with a GET whose query carries
//! `hub.mode=subscribe`, the verify token typed into the App Dashboard and a `hub.challenge` to
//! echo. That GET is not signed: it proves itself only by the verify token, which is the source's
//! handshake secret, compared in constant time before the challenge is echoed.

use crate::body::Scalar;
use crate::challenge::query_value;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, Handshake, SignedHeader, Verified, Window, header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::token::matches_any;
use http::HeaderName;
use serde::Deserialize;

const SIGNATURE: &str = "x-hub-signature-256";
const MODE: &str = "hub.mode";
const VERIFY_TOKEN: &str = "hub.verify_token";
const CHALLENGE: &str = "hub.challenge";

/// Meta's challenges are short numbers; anything far longer, or not plain text, is not one and
/// is not echoed.
const MAX_CHALLENGE: usize = 256;

/// The one field of a notification that names it.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Notification {
    object: Scalar,
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let hex = text
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed {
            field: SIGNATURE,
            why: "expected `sha256=<hex>`",
        })?;
    let signature = Encoding::Hex.decode(SIGNATURE, hex)?;
    if signature.len() != Algorithm::Sha256.output_len() {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "wrong length for HMAC-SHA256",
        });
    }
    crypto::any_match(Algorithm::Sha256, keys, &[delivery.body], &[signature])?;
    Ok(Verified {
        event_id: None,
        event_type: object(delivery.body),
        handshake: None,
    })
}

/// The notification's `object`, when the body is a JSON object that has one.
fn object(body: &[u8]) -> Option<String> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    serde_json::from_slice::<Notification>(body)
        .ok()?
        .object
        .take()
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(format!("sha256={}", Encoding::Hex.encode(tag.as_slice()))),
    )])
}

/// Every GET is Meta's subscription check or nothing: only POSTs carry notifications.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    keys: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    delivery
        .method
        .eq_ignore_ascii_case("GET")
        .then(|| answer_subscription(delivery.query.unwrap_or(""), keys))
}

fn answer_subscription(query: &str, keys: &[Key]) -> Result<Handshake, SignatureError> {
    let mode = query_value(query, MODE)?;
    let verify_token = query_value(query, VERIFY_TOKEN)?;
    let challenge = query_value(query, CHALLENGE)?;
    let (Some(mode), Some(verify_token), Some(challenge)) = (mode, verify_token, challenge) else {
        return Err(SignatureError::NotAHandshake(
            "a GET to a Meta source must carry hub.mode, hub.verify_token and hub.challenge",
        ));
    };
    if mode != "subscribe" {
        return Err(SignatureError::NotAHandshake(
            "hub.mode must be `subscribe`",
        ));
    }
    matches_any(keys, verify_token.as_bytes())?;
    // Echoed as the response body: keep it to what a challenge can be.
    if challenge.is_empty()
        || challenge.len() > MAX_CHALLENGE
        || !challenge.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(SignatureError::Malformed {
            field: CHALLENGE,
            why: "expected at most 256 visible ASCII characters",
        });
    }
    Ok(Handshake::text(challenge))
}

pub(crate) static CODE: Code = Code {
    facts: Facts {
        handshake_secret: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of the body, hex, after `sha256=`",
    key_format: "the app secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: Some(unsigned_handshake),
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "meta",
    aliases: &[],
    title: "Meta (WhatsApp, Instagram, Messenger)",
    docs: "https://developers.facebook.com/docs/graph-api/webhooks/getting-started",
    handshake: Some(
        "GET `hub.mode=subscribe`: echoes `hub.challenge` once `hub.verify_token` matches the source's verify token",
    ),
    json_body: true,
    informative_headers: &[],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::delivery::HandshakeBody;
    use http::HeaderMap;

    fn get<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Delivery<'a> {
        Delivery {
            headers,
            body: b"",
            url: None,
            method: "GET",
            query,
        }
    }

    fn verify_token() -> Vec<Key> {
        vec![Key::secret(b"meatyhamhock".to_vec())]
    }

    #[test]
    fn the_subscription_check_is_answered_with_the_challenge() {
        let headers = HeaderMap::new();
        let query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
        let answer = PROVIDER
            .unsigned_handshake(&get(&headers, Some(query)), &verify_token())
            .unwrap()
            .unwrap();
        assert_eq!(answer.body, HandshakeBody::Text("1158201444".to_owned()));
        assert_eq!(answer.header, None);
        assert_eq!(answer.install_secret, None);
    }

    #[test]
    fn the_verify_token_is_read_url_decoded_and_any_configured_one_matches() {
        let headers = HeaderMap::new();
        let keys = vec![Key::secret(b"old".to_vec()), Key::secret(b"a b&c".to_vec())];
        let query = "hub.mode=subscribe&hub.verify_token=a+b%26c&hub.challenge=42";
        let answer = PROVIDER.unsigned_handshake(&get(&headers, Some(query)), &keys);
        assert_eq!(answer, Some(Ok(Handshake::text("42".to_owned()))));
    }

    #[test]
    fn a_wrong_verify_token_is_refused() {
        let headers = HeaderMap::new();
        let query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhocks";
        let answer = PROVIDER.unsigned_handshake(&get(&headers, Some(query)), &verify_token());
        assert_eq!(answer, Some(Err(SignatureError::Mismatch)));
        // No handshake secret configured: nothing matches.
        let answer = PROVIDER.unsigned_handshake(&get(&headers, Some(query)), &[]);
        assert_eq!(answer, Some(Err(SignatureError::Mismatch)));
    }

    #[test]
    fn a_get_without_the_parameters_is_not_a_handshake() {
        let headers = HeaderMap::new();
        for query in [
            None,
            Some(""),
            Some("hub.mode=subscribe&hub.challenge=1"),
            Some("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock"),
        ] {
            let answer = PROVIDER.unsigned_handshake(&get(&headers, query), &verify_token());
            assert!(
                matches!(answer, Some(Err(SignatureError::NotAHandshake(_)))),
                "{query:?}: {answer:?}"
            );
        }
    }

    #[test]
    fn a_repeated_parameter_or_an_odd_challenge_is_malformed() {
        let headers = HeaderMap::new();
        for query in [
            "hub.mode=subscribe&hub.verify_token=meatyhamhock&hub.verify_token=x&hub.challenge=1",
            "hub.mode=subscribe&hub.verify_token=meatyhamhock&hub.challenge=%3Cscript%3E%20x",
        ] {
            let answer = PROVIDER.unsigned_handshake(&get(&headers, Some(query)), &verify_token());
            assert!(
                matches!(answer, Some(Err(SignatureError::Malformed { .. }))),
                "{query}: {answer:?}"
            );
        }
    }

    #[test]
    fn a_post_is_not_a_handshake() {
        let headers = HeaderMap::new();
        let query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
        let delivery = Delivery {
            method: "POST",
            ..get(&headers, Some(query))
        };
        assert_eq!(
            PROVIDER.unsigned_handshake(&delivery, &verify_token()),
            None
        );
    }

    #[test]
    fn a_notification_is_named_by_its_object() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let key = Key::secret(b"app secret".to_vec());
        let mut headers = HeaderMap::new();
        for (name, value) in sign(&Delivery::post(&headers, body), &key, 0).unwrap() {
            headers.insert(name, value);
        }
        let window = Window {
            now: 0,
            tolerance_secs: 300,
        };
        let verified = verify(&Delivery::post(&headers, body), &[key], window).unwrap();
        assert_eq!(
            verified.event_type.as_deref(),
            Some("whatsapp_business_account")
        );
        assert_eq!(verified.handshake, None);
    }

    #[test]
    fn a_signature_of_the_wrong_length_is_malformed() {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, "sha256=abcd".parse().unwrap());
        let window = Window {
            now: 0,
            tolerance_secs: 300,
        };
        let result = verify(&Delivery::post(&headers, b"{}"), &verify_token(), window);
        assert!(matches!(result, Err(SignatureError::Malformed { .. })));
    }
}
