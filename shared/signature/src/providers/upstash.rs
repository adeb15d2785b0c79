//! Upstash QStash: each delivery carries `Upstash-Signature`, a JWT signed with HS256 and the
//! account's current signing key (or its next one, while keys roll: configure both).
//!
//! The claims say what was sent and when: `iss` is always `Upstash`, `sub` the destination URL,
//! `body` the base64url SHA-256 of the raw body (padded or not: compared without the padding),
//! `iat`/`nbf` when it was signed and `exp` when it lapses (five minutes later). Every endpoint of
//! an account shares its signing keys, so `sub` must be this source's public URL exactly, or a
//! message meant for another endpoint would pass here. The signing time must be inside the replay
//! window and `exp` not past; retries are signed anew, so that refuses no genuine delivery.
//! `Upstash-Message-Id` stays the same across retries and names the delivery.

use crate::crypto::Encoding;
use crate::delivery::{
    Delivery, SignedHeader, Verified, Window, derived_id, header, optional_header, value,
};
use crate::error::{SignError, SignatureError};
use crate::jwt_hs256;
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::sha256;
use crate::stamp::check_window;
use http::HeaderName;
use serde::{Deserialize, Serialize};

const SIGNATURE: &str = "upstash-signature";
const MESSAGE_ID: &str = "upstash-message-id";
const ISSUER: &str = "Upstash";
/// How long QStash's tokens live, which `sign` follows.
const LIFETIME_SECS: i64 = 300;

/// The claims QStash signs, in the order its documentation shows them.
#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    exp: i64,
    nbf: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    body: String,
}

/// The signing time inside the window (with the window's tolerance for a clock that is behind),
/// and `exp` not past: QStash says a token is not to be accepted after it.
fn check_lifetime(claims: &Claims, window: Window) -> Result<(), SignatureError> {
    check_window(claims.nbf, window)?;
    if let Some(issued) = claims.iat {
        check_window(issued, window)?;
    }
    if window.now > claims.exp {
        return Err(SignatureError::Stale {
            age_secs: window.now.saturating_sub(claims.exp),
            tolerance_secs: 0,
        });
    }
    Ok(())
}

fn body_hash(body: &[u8]) -> String {
    Encoding::Base64Url.encode(&sha256(body))
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let token = jwt_hs256::parse::<Claims>(SIGNATURE, text)?;
    check_lifetime(&token.claims, window)?;
    let url = delivery.url.ok_or(SignatureError::UrlRequired)?;
    token.check_mac(keys)?;
    // Authentic from here: what remains is whether the token is this delivery's.
    let claims = &token.claims;
    if claims.iss != ISSUER
        || claims.sub != url
        || claims.body.trim_end_matches('=') != body_hash(delivery.body)
    {
        return Err(SignatureError::Mismatch);
    }
    Ok(Verified {
        event_id: optional_header(delivery.headers, MESSAGE_ID)?.map(str::to_owned),
        event_type: None,
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let url = delivery.url.ok_or(SignError::UrlRequired)?;
    // QStash writes the body hash padded, as its documentation's example shows.
    let padded = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE,
        sha256(delivery.body),
    );
    let claims = Claims {
        iss: ISSUER.to_owned(),
        sub: url.to_owned(),
        exp: now.saturating_add(LIFETIME_SECS),
        nbf: now,
        iat: Some(now),
        jti: Some(derived_id("jwt_", delivery.body, now)),
        body: padded,
    };
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(jwt_hs256::sign(key.as_bytes(), &claims)),
    )])
}

static CODE: Code = Code {
    facts: Facts {
        id_header: Some(MESSAGE_ID),
        timestamp: true,
        signs_url: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64Url)
    },
    signed: "HS256 JWT with claims `iss: Upstash`, `sub` (the URL), `body` (base64url SHA-256 \
             of the body), `nbf`/`iat`/`exp`",
    key_format: "each signing key (current and next), as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "upstash",
    aliases: &["qstash"],
    title: "Upstash QStash",
    docs: "https://upstash.com/docs/qstash/howto/signature",
    handshake: None,
    json_body: false,
    informative_headers: &["upstash-topic-name", "upstash-schedule-id"],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use http::{HeaderMap, HeaderValue};

    const NOW: i64 = 1_763_816_400;
    const URL: &str = "https://hooks.example.com/qstash";
    const BODY: &[u8] = br#"{"hello":"world"}"#;

    fn key() -> Key {
        text_key("sig_7kYjw48mfEMkBHHh3oaRavkFuGyf").unwrap()
    }

    fn claims(at: i64) -> Claims {
        Claims {
            iss: ISSUER.to_owned(),
            sub: URL.to_owned(),
            exp: at + LIFETIME_SECS,
            nbf: at,
            iat: Some(at),
            jti: Some("jwt_1".to_owned()),
            body: body_hash(BODY),
        }
    }

    fn code(claims: &Claims, url: Option<&str>, now: i64) -> &'static str {
        let mut headers = HeaderMap::new();
        let token = jwt_hs256::sign(key().as_bytes(), claims);
        headers.insert(SIGNATURE, HeaderValue::from_str(&token).unwrap());
        let delivery = Delivery {
            url,
            ..Delivery::post(&headers, BODY)
        };
        let window = Window {
            now,
            tolerance_secs: 300,
        };
        verify(&delivery, &[key()], window).map_or_else(|e| e.code(), |_| "ok")
    }

    #[test]
    fn a_token_for_this_url_and_body_verifies_padded_or_not() {
        assert_eq!(code(&claims(NOW), Some(URL), NOW), "ok");
        let padded = Claims {
            body: format!("{}=", body_hash(BODY)),
            iat: None,
            jti: None,
            ..claims(NOW)
        };
        assert_eq!(code(&padded, Some(URL), NOW), "ok");
    }

    #[test]
    fn an_authentic_token_for_another_endpoint_body_or_issuer_is_a_mismatch() {
        let other_url = Claims {
            sub: "https://hooks.example.com/other".to_owned(),
            ..claims(NOW)
        };
        assert_eq!(code(&other_url, Some(URL), NOW), "signature_mismatch");
        let other_body = Claims {
            body: body_hash(b"{}"),
            ..claims(NOW)
        };
        assert_eq!(code(&other_body, Some(URL), NOW), "signature_mismatch");
        let other_issuer = Claims {
            iss: "netlify".to_owned(),
            ..claims(NOW)
        };
        assert_eq!(code(&other_issuer, Some(URL), NOW), "signature_mismatch");
    }

    #[test]
    fn the_url_must_be_configured() {
        assert_eq!(code(&claims(NOW), None, NOW), "url_not_configured");
        let headers = HeaderMap::new();
        let delivery = Delivery::post(&headers, BODY);
        assert_eq!(sign(&delivery, &key(), NOW), Err(SignError::UrlRequired));
    }

    #[test]
    fn an_expired_or_not_yet_valid_token_is_out_of_tolerance() {
        // Signed a minute ago but already past its own `exp`.
        let lapsed = Claims {
            exp: NOW - 1,
            ..claims(NOW - 60)
        };
        assert_eq!(code(&lapsed, Some(URL), NOW), "timestamp_out_of_tolerance");
        assert_eq!(
            code(&claims(NOW + 301), Some(URL), NOW),
            "timestamp_out_of_tolerance"
        );
        assert_eq!(
            code(&claims(NOW - 301), Some(URL), NOW),
            "timestamp_out_of_tolerance"
        );
        // A clock a little behind QStash's is within the tolerance.
        assert_eq!(code(&claims(NOW + 5), Some(URL), NOW), "ok");
    }

    #[test]
    fn a_token_missing_a_required_claim_is_malformed() {
        let mut headers = HeaderMap::new();
        let token = jwt_hs256::sign(
            key().as_bytes(),
            &serde_json::json!({"iss": "Upstash", "sub": URL, "exp": NOW + 300, "nbf": NOW}),
        );
        headers.insert(SIGNATURE, HeaderValue::from_str(&token).unwrap());
        let delivery = Delivery {
            url: Some(URL),
            ..Delivery::post(&headers, BODY)
        };
        let window = Window {
            now: NOW,
            tolerance_secs: 300,
        };
        let result = verify(&delivery, &[key()], window);
        assert_eq!(result.map_err(|e| e.code()), Err("signature_malformed"));
    }

    #[test]
    fn the_message_id_names_the_delivery() {
        let key = key();
        let mut headers = HeaderMap::new();
        headers.insert(
            MESSAGE_ID,
            HeaderValue::from_static("msg_26hZCxZCuWyyTWPmSVBrNB882AM"),
        );
        let unsigned = Delivery {
            url: Some(URL),
            ..Delivery::post(&headers, BODY)
        };
        for (name, value) in sign(&unsigned, &key, NOW).unwrap() {
            headers.insert(name, value);
        }
        let delivery = Delivery {
            url: Some(URL),
            ..Delivery::post(&headers, BODY)
        };
        let window = Window {
            now: NOW,
            tolerance_secs: 300,
        };
        let verified = verify(&delivery, &[key], window).unwrap();
        assert_eq!(
            verified.event_id.as_deref(),
            Some("msg_26hZCxZCuWyyTWPmSVBrNB882AM")
        );
    }
}
