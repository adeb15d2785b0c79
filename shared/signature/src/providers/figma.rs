//! Figma webhooks (v2).
//!
//! Figma signs nothing and sends no authentication header. Whoever creates a webhook gives it a
//! passcode, and Figma writes that passcode into the JSON body of every event it sends; the
//! passcode is compared in constant time with the configured one. Like a shared token, it is not
//! bound to the rest of the body nor to a time, so it proves only who sent the request over HTTPS,
//! and no replay window applies (Figma's retries keep the event's original `timestamp`).
//!
//! `event_type` names the kind of event. Figma gives no event id: `webhook_id` and `timestamp`
//! together can be shared by two events of a team-wide webhook, so none is reported and a retry
//! is recognised by its identical body. The `PING` that Figma sends when a webhook is created
//! needs no particular answer: it verifies like any event.

use crate::body::Scalar;
use crate::delivery::{Delivery, SignedHeader, Verified, Window};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::token::matches_any;
use http::{HeaderName, HeaderValue};
use serde::Deserialize;

const PASSCODE: &str = "passcode";

#[derive(Default, Deserialize)]
#[serde(default)]
struct Event {
    passcode: Scalar,
    event_type: Scalar,
}

impl Event {
    fn parse(body: &[u8]) -> Option<Self> {
        // Checked first: skipping a member over bytes would not notice invalid UTF-8 in it.
        let text = std::str::from_utf8(body).ok()?;
        if !text.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(text).ok()
    }
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let mut event = Event::parse(delivery.body).ok_or(SignatureError::Body(
        "not a JSON object, so it carries no passcode",
    ))?;
    let passcode = event
        .passcode
        .take()
        .ok_or(SignatureError::Missing(PASSCODE))?;
    matches_any(keys, passcode.as_bytes())?;
    Ok(Verified {
        event_id: None,
        event_type: event.event_type.take(),
        handshake: None,
    })
}

/// The body with the passcode written in: unchanged when it already carries this passcode, so
/// that the bytes Figma sent stay as they were.
fn sign_body(body: &[u8], key: &Key, _: i64) -> Result<Vec<u8>, SignError> {
    let passcode = String::from_utf8_lossy(key.as_bytes());
    if Event::parse(body).is_some_and(|event| event.passcode.as_str() == Some(&*passcode)) {
        return Ok(body.to_vec());
    }
    const OBJECT: SignError = SignError::Body("a JSON object");
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(OBJECT);
    }
    let mut event: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|_| OBJECT)?;
    event.insert(
        PASSCODE.to_owned(),
        serde_json::Value::String(passcode.into_owned()),
    );
    serde_json::to_vec(&event).map_err(|_| OBJECT)
}

/// Nothing to sign in the headers once the body carries the passcode: Figma's own content type
/// is all it adds.
fn sign(_: &Delivery<'_>, _: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    Ok(vec![(
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("application/json"),
    )])
}

static CODE: Code = Code {
    facts: Facts {
        unsigned_body: true,
        ..Facts::UNSIGNED
    },
    signed: "nothing: the body's `passcode`, compared in constant time",
    key_format: "the webhook's passcode, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: Some(sign_body),
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "figma",
    aliases: &[],
    title: "Figma",
    docs: "https://developers.figma.com/docs/rest-api/webhooks-security/",
    handshake: None,
    json_body: true,
    informative_headers: &[],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use http::HeaderMap;

    const WINDOW: Window = Window {
        now: 0,
        tolerance_secs: 300,
    };

    fn verified(body: &[u8], passcode: &str) -> Result<Verified, SignatureError> {
        let headers = HeaderMap::new();
        verify(
            &Delivery::post(&headers, body),
            &[text_key(passcode).unwrap()],
            WINDOW,
        )
    }

    #[test]
    fn the_passcode_verifies_and_the_type_names_the_event() {
        let body = br#"{"event_type":"FILE_UPDATE","file_key":"k","passcode":"secretpasscode","timestamp":"2020-02-23T20:27:16Z","webhook_id":"22"}"#;
        let event = verified(body, "secretpasscode").unwrap();
        assert_eq!(event.event_type.as_deref(), Some("FILE_UPDATE"));
        assert_eq!(event.event_id, None);
        assert_eq!(event.handshake, None);
        assert_eq!(verified(body, "another"), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_body_without_a_passcode_or_not_json_is_refused() {
        assert_eq!(
            verified(br#"{"event_type":"PING"}"#, "p"),
            Err(SignatureError::Missing(PASSCODE))
        );
        assert!(matches!(
            verified(b"passcode=p", "p"),
            Err(SignatureError::Body(_))
        ));
        // Invalid UTF-8 is not JSON, wherever it is: the body is malformed, not unsigned.
        for body in [
            &b"{\"event_type\":\"PING\",\"note\":\"caf\xe9\"}"[..],
            b"{\"event_type\":\"PING\",\"note\":\"caf\xe9\",\"passcode\":\"p\"}",
        ] {
            assert!(
                matches!(verified(body, "p"), Err(SignatureError::Body(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn sign_body_writes_the_passcode_in_and_keeps_a_body_that_has_it() {
        let key = text_key("secretpasscode").unwrap();
        let written = sign_body(br#"{"event_type":"PING","webhook_id":"22"}"#, &key, 0).unwrap();
        assert!(verified(&written, "secretpasscode").is_ok());
        let as_sent = br#"{"event_type":"PING","passcode":"secretpasscode"}"#;
        assert_eq!(sign_body(as_sent, &key, 0).unwrap(), as_sent.to_vec());
        assert!(sign_body(b"[1]", &key, 0).is_err());
    }
}
