//! Netlify outgoing webhooks (deploy and form notifications) with a "JWS secret token" set.
//!
//! `X-Webhook-Signature` is a JWS signed with HS256 and the secret token, whose claims are
//! `iss: "netlify"` and `sha256`, the hex SHA-256 of the raw body: the MAC vouches for the claims,
//! the claims for the body. The token carries no time, so no replay window applies. Nothing names
//! a delivery either: a deploy's id is the same in its "started" and "succeeded" notifications, so
//! taking it for the event's would drop the second one as a duplicate.

use crate::crypto::Encoding;
use crate::delivery::value;
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header};
use crate::error::{SignError, SignatureError};
use crate::jwt_hs256;
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::sha256;
use http::HeaderName;
use serde::{Deserialize, Serialize};

const SIGNATURE: &str = "x-webhook-signature";
const ISSUER: &str = "netlify";

/// The claims Netlify signs, in the order it writes them.
#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// Hex SHA-256 of the body.
    sha256: String,
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let token = jwt_hs256::parse::<Claims>(SIGNATURE, text)?;
    token.check_mac(keys)?;
    // Authentic from here: a token for another issuer, or for another body, is not this delivery's.
    let body_hash = Encoding::Hex.encode(&sha256(delivery.body));
    if token.claims.iss != ISSUER || !token.claims.sha256.eq_ignore_ascii_case(&body_hash) {
        return Err(SignatureError::Mismatch);
    }
    Ok(Verified::default())
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let claims = Claims {
        iss: ISSUER.to_owned(),
        sha256: Encoding::Hex.encode(&sha256(delivery.body)),
    };
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(jwt_hs256::sign(key.as_bytes(), &claims)),
    )])
}

static CODE: Code = Code {
    facts: Facts::signature(SIGNATURE, Encoding::Base64Url),
    signed: "HS256 JWS over claims `iss: netlify` and `sha256`, the body's hex SHA-256",
    key_format: "the JWS secret token, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "netlify",
    aliases: &[],
    title: "Netlify (outgoing webhooks)",
    docs: "https://docs.netlify.com/site-deploys/deploy-notifications/#payload-signature",
    handshake: None,
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use http::{HeaderMap, HeaderValue};

    const BODY: &[u8] = br#"{"id":"5ebc34bf4fea0b01f02efa3a","state":"ready"}"#;

    fn window() -> Window {
        Window {
            now: 1_763_816_400,
            tolerance_secs: 300,
        }
    }

    fn key() -> Key {
        text_key("jws secret token").unwrap()
    }

    fn with_token(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, HeaderValue::from_str(token).unwrap());
        headers
    }

    fn code(headers: &HeaderMap, body: &[u8]) -> &'static str {
        verify(&Delivery::post(headers, body), &[key()], window())
            .map_or_else(|e| e.code(), |_| "ok")
    }

    fn token(claims: &serde_json::Value) -> String {
        jwt_hs256::sign(key().as_bytes(), claims)
    }

    #[test]
    fn a_token_for_this_body_from_netlify_verifies() {
        let hash = hex::encode(sha256(BODY));
        let headers = with_token(&token(
            &serde_json::json!({"iss": "netlify", "sha256": hash}),
        ));
        assert_eq!(code(&headers, BODY), "ok");
        // Claims Netlify may add are no reason to refuse it.
        let headers = with_token(&token(
            &serde_json::json!({"iss": "netlify", "sha256": hash.to_uppercase(), "iat": 1}),
        ));
        assert_eq!(code(&headers, BODY), "ok");
    }

    #[test]
    fn an_authentic_token_for_another_body_or_issuer_is_a_mismatch() {
        let hash = hex::encode(sha256(BODY));
        let other_body = with_token(&token(
            &serde_json::json!({"iss": "netlify", "sha256": hex::encode(sha256(b"{}"))}),
        ));
        assert_eq!(code(&other_body, BODY), "signature_mismatch");
        let other_issuer = with_token(&token(
            &serde_json::json!({"iss": "Upstash", "sha256": hash}),
        ));
        assert_eq!(code(&other_issuer, BODY), "signature_mismatch");
    }

    #[test]
    fn a_token_without_the_claims_is_malformed() {
        let headers = with_token(&token(&serde_json::json!({"iss": "netlify"})));
        assert_eq!(code(&headers, BODY), "signature_malformed");
        let headers = with_token(&token(&serde_json::json!({"iss": "netlify", "sha256": 5})));
        assert_eq!(code(&headers, BODY), "signature_malformed");
    }
}
