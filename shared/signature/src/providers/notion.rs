//! Notion integration webhooks.
//!
//! Each event carries `X-Notion-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed
//! by the subscription's verification token. That token is the one secret, and Notion hands it
//! over once: when a subscription is created it POSTs `{"verification_token": "secret_…"}`,
//! unsigned, and the token must then be entered in Notion's integration settings. Nothing
//! authenticates that request, so it is taken only with the source's enrolment token in the URL
//! (see `crate::enrol`); the token then becomes the source's secret.

use crate::body::BodyFields;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{
    Delivery, Handshake, HandshakeBody, SignedHeader, Verified, Window, header, value,
};
use crate::enrol;
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use http::HeaderName;
use serde::Deserialize;

const SIGNATURE: &str = "x-notion-signature";

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
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.id.take(),
        event_type: fields.kind.take(),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(format!("sha256={}", Encoding::Hex.encode(tag.as_slice()))),
    )])
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verification {
    verification_token: String,
}

/// An unsigned POST whose body is exactly `{"verification_token": …}` is the handshake.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    keys: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    // Notion POSTs it; any other method is no handshake, and ingest refuses it as such.
    if !delivery.method.eq_ignore_ascii_case("POST") || delivery.headers.contains_key(SIGNATURE) {
        return None;
    }
    let verification: Verification = serde_json::from_slice(delivery.body).ok()?;
    Some(enrol::check(delivery, keys).map(|()| Handshake {
        body: HandshakeBody::Empty,
        header: None,
        install_secret: Some(verification.verification_token),
    }))
}

static CODE: Code = Code {
    facts: Facts {
        handshake_secret: true,
        enrols_secret: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of the body, hex, after `sha256=`",
    key_format: "the subscription's verification token (`secret_…`), as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: Some(unsigned_handshake),
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "notion",
    aliases: &[],
    title: "Notion",
    docs: "https://developers.notion.com/reference/webhooks#step-3-validating-event-payloads-recommended",
    handshake: Some(
        "unsigned POST of `verification_token`: kept as the secret, only when the target URL carries the source's `?inlet_enrol=` token",
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
    use http::HeaderMap;

    #[test]
    fn the_verification_request_is_taken_only_with_the_enrolment_token() {
        let headers = HeaderMap::new();
        let body = br#"{"verification_token":"secret_abc"}"#;
        let keys = [text_key("enrol-1").unwrap()];
        let with = |query| Delivery {
            query,
            ..Delivery::post(&headers, body)
        };
        let answered = unsigned_handshake(&with(Some("inlet_enrol=enrol-1")), &keys)
            .unwrap()
            .unwrap();
        assert_eq!(answered.install_secret.as_deref(), Some("secret_abc"));
        assert_eq!(
            unsigned_handshake(&with(Some("inlet_enrol=guess")), &keys),
            Some(Err(SignatureError::Mismatch))
        );
        assert_eq!(
            unsigned_handshake(&with(None), &keys),
            Some(Err(SignatureError::Missing("inlet_enrol")))
        );
        // An event without a signature is not a handshake: verified, it is refused.
        let event = Delivery::post(&headers, br#"{"id":"e1","type":"page.created"}"#);
        assert_eq!(unsigned_handshake(&event, &keys), None);
        // Nor is the verification request under another method, token or not.
        let get = Delivery {
            method: "GET",
            ..with(Some("inlet_enrol=enrol-1"))
        };
        assert_eq!(unsigned_handshake(&get, &keys), None);
    }
}
