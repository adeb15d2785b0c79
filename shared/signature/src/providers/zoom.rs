//! Zoom webhooks (Meetings, Webinars, Phone and the other Marketplace apps' event subscriptions).
//!
//! Zoom sends the epoch seconds of the request in `x-zm-request-timestamp`, and in
//! `x-zm-signature` the text `v0=` followed by the hex HMAC-SHA256, keyed by the app's secret
//! token, of `v0:` + timestamp + `:` + the raw body. The timestamp is signed, so the replay window
//! applies to it. The body's `event` names the delivery; Zoom gives no event id.
//!
//! Zoom checks the endpoint (when it is saved, then every few days) with an
//! `endpoint.url_validation` event, signed like any other. Once it verifies, the answer is the
//! event's `plainToken` together with its hex HMAC-SHA256 under the same secret token: the one that
//! verified the request, so a source rolling its secret answers with the key Zoom holds.

use crate::body::Scalar;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, Handshake, SignedHeader, Verified, Window, header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::{check_window, epoch_secs};
use http::HeaderName;
use serde::Deserialize;

const SIGNATURE: &str = "x-zm-signature";
const TIMESTAMP: &str = "x-zm-request-timestamp";
const URL_VALIDATION: &str = "endpoint.url_validation";

#[derive(Default, Deserialize)]
#[serde(default)]
struct Event {
    event: Scalar,
    payload: Payload,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Payload {
    #[serde(rename = "plainToken")]
    plain_token: Scalar,
}

impl Event {
    fn parse(body: &[u8]) -> Option<Self> {
        if body.trim_ascii_start().first() != Some(&b'{') {
            return None;
        }
        serde_json::from_slice(body).ok()
    }
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let timestamp = header(delivery.headers, TIMESTAMP)?;
    let seconds = epoch_secs(TIMESTAMP, timestamp)?;
    let hex = text.strip_prefix("v0=").ok_or(SignatureError::Malformed {
        field: SIGNATURE,
        why: "expected `v0=<hex>`",
    })?;
    let signature = Encoding::Hex.decode(SIGNATURE, hex)?;
    if signature.len() != Algorithm::Sha256.output_len() {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "wrong length for HMAC-SHA256",
        });
    }
    check_window(seconds, window)?;
    let signed: [&[u8]; 4] = [b"v0:", timestamp.as_bytes(), b":", delivery.body];
    // The validation answer needs the key that verified, so each key is tried on its own; every
    // one of them, whichever matched, so the time taken does not depend on the match.
    let mut verified_by = None;
    for key in keys {
        let matched = crypto::any_match(
            Algorithm::Sha256,
            std::slice::from_ref(key),
            &signed,
            std::slice::from_ref(&signature),
        );
        if matched.is_ok() && verified_by.is_none() {
            verified_by = Some(key);
        }
    }
    let key = verified_by.ok_or(SignatureError::Mismatch)?;

    let Some(mut event) = Event::parse(delivery.body) else {
        return Ok(Verified::default());
    };
    let handshake = if event.event.as_str() == Some(URL_VALIDATION) {
        let plain_token = event
            .payload
            .plain_token
            .take()
            .ok_or(SignatureError::Body(
                "an endpoint.url_validation event without payload.plainToken",
            ))?;
        let encrypted = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[plain_token.as_bytes()]);
        Some(Handshake::json(serde_json::json!({
            "plainToken": plain_token,
            "encryptedToken": Encoding::Hex.encode(encrypted.as_slice()),
        })))
    } else {
        None
    };
    Ok(Verified {
        event_id: None,
        event_type: event.event.take(),
        handshake,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let timestamp = now.to_string();
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[b"v0:", timestamp.as_bytes(), b":", delivery.body],
    );
    Ok(vec![
        (HeaderName::from_static(TIMESTAMP), value(timestamp)),
        (
            HeaderName::from_static(SIGNATURE),
            value(format!("v0={}", Encoding::Hex.encode(tag.as_slice()))),
        ),
    ])
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of `v0:timestamp:body`, hex, after `v0=`",
    key_format: "the app's secret token, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "zoom",
    aliases: &[],
    title: "Zoom",
    docs: "https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events",
    handshake: Some(
        "`endpoint.url_validation`: answers `plainToken` and its HMAC under the secret token, once signed",
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

    const NOW: i64 = 1_654_503_849;
    const VALIDATION: &[u8] = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;

    fn window() -> Window {
        Window {
            now: NOW,
            tolerance_secs: 300,
        }
    }

    fn signed(body: &[u8], secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let key = text_key(secret).unwrap();
        for (name, value) in sign(&Delivery::post(&headers, body), &key, NOW).unwrap() {
            headers.insert(name, value);
        }
        headers
    }

    #[test]
    fn url_validation_is_answered_with_the_key_that_verified() {
        let headers = signed(VALIDATION, "new secret");
        let keys = [
            text_key("old secret").unwrap(),
            text_key("new secret").unwrap(),
        ];
        let verified = verify(&Delivery::post(&headers, VALIDATION), &keys, window()).unwrap();
        let expected = crypto::hmac(
            Algorithm::Sha256,
            b"new secret",
            &[b"qgg8vlvZRS6UYooatFL8Aw"],
        );
        let answer = verified.handshake.unwrap();
        assert_eq!(
            answer.body,
            HandshakeBody::Json(serde_json::json!({
                "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
                "encryptedToken": hex::encode(expected.as_slice()),
            }))
        );
        assert_eq!(verified.event_type.as_deref(), Some(URL_VALIDATION));
    }

    #[test]
    fn url_validation_under_another_secret_is_refused() {
        let headers = signed(VALIDATION, "attacker's secret");
        let keys = [text_key("our secret").unwrap()];
        let result = verify(&Delivery::post(&headers, VALIDATION), &keys, window());
        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn an_ordinary_event_is_not_a_handshake() {
        let body = br#"{"event":"meeting.started","payload":{"account_id":"x"},"event_ts":1}"#;
        let headers = signed(body, "secret");
        let keys = [text_key("secret").unwrap()];
        let verified = verify(&Delivery::post(&headers, body), &keys, window()).unwrap();
        assert_eq!(verified.handshake, None);
        assert_eq!(verified.event_type.as_deref(), Some("meeting.started"));
    }

    #[test]
    fn url_validation_without_a_plain_token_is_a_malformed_body() {
        let body = br#"{"event":"endpoint.url_validation","payload":{}}"#;
        let headers = signed(body, "secret");
        let keys = [text_key("secret").unwrap()];
        let result = verify(&Delivery::post(&headers, body), &keys, window());
        assert!(matches!(result, Err(SignatureError::Body(_))));
    }

    #[test]
    fn a_stale_timestamp_is_refused_before_the_signature() {
        let headers = signed(VALIDATION, "secret");
        let keys = [text_key("another").unwrap()];
        let late = Window {
            now: NOW + 301,
            tolerance_secs: 300,
        };
        let result = verify(&Delivery::post(&headers, VALIDATION), &keys, late);
        assert!(matches!(result, Err(SignatureError::Stale { .. })));
    }
}
