//! Mailgun: the signature travels in the body, not in a header. A webhook is a JSON object,
//! `{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}`, where `signature` is
//! the hex HMAC-SHA256, keyed by the HTTP webhook signing key, of the timestamp (epoch seconds)
//! followed by the token. For a subaccount's domain a `parent-signature` made with the primary
//! account's key may come along; a match with either is enough. The event is named by
//! `event-data.id` and `event-data.event`.
//!
//! Routes that forward inbound mail to a URL post the same three fields as a url-encoded form,
//! which is verified the same way; such posts name no event. Routes post `multipart/form-data`
//! when the message has attachments, which is not parsed here and is refused as malformed.
//!
//! What is signed is the timestamp and token only, never the event: within the replay window, a
//! captured signature authenticates any body. That is Mailgun's design; the window bounds it.

use crate::body::{Scalar, is_json_object};
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::{check_window, epoch_secs};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// The body member, or form field, that carries the signature.
const SIGNATURE: &str = "signature";
const FORM: &str = "application/x-www-form-urlencoded";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Webhook {
    signature: Option<Stamp>,
    #[serde(rename = "event-data")]
    event_data: Option<EventData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Stamp {
    timestamp: Scalar,
    token: Scalar,
    signature: Scalar,
    #[serde(rename = "parent-signature")]
    parent_signature: Scalar,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EventData {
    id: Scalar,
    event: Scalar,
}

/// What a delivery carries: the signed fields, the signatures, and the event's names.
#[derive(Debug, Default)]
struct Signed {
    timestamp: String,
    token: String,
    signatures: Vec<String>,
    event_id: Option<String>,
    event_type: Option<String>,
}

fn content_type(delivery: &Delivery<'_>) -> Option<String> {
    delivery
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start().to_ascii_lowercase())
}

/// The signed fields of a JSON webhook. A `signature` that is absent or null leaves them empty,
/// so that the caller reports the delivery as unsigned.
fn from_json(body: &[u8]) -> Result<Signed, SignatureError> {
    const NOT_A_WEBHOOK: SignatureError = SignatureError::Body("not a Mailgun webhook object");
    // JSON is UTF-8: checked first, since skipping a member over bytes would not notice
    // invalid UTF-8 in it, and a webhook with some would be read (and verified) as one.
    let text = std::str::from_utf8(body).map_err(|_| NOT_A_WEBHOOK)?;
    // Duplicate members fail here too: two `signature` objects leave it unclear which one counts.
    let webhook: Webhook = serde_json::from_str(text).map_err(|_| NOT_A_WEBHOOK)?;
    let mut signed = Signed::default();
    if let Some(mut stamp) = webhook.signature {
        signed.timestamp = stamp.timestamp.take().unwrap_or_default();
        signed.token = stamp.token.take().unwrap_or_default();
        signed.signatures = [stamp.signature.take(), stamp.parent_signature.take()]
            .into_iter()
            .flatten()
            .collect();
    }
    if let Some(mut event) = webhook.event_data {
        signed.event_id = event.id.take();
        signed.event_type = event.event.take();
    }
    Ok(signed)
}

/// The signed fields of a route's url-encoded post.
fn from_form(body: &[u8]) -> Result<Signed, SignatureError> {
    let mut signed = Signed::default();
    for (name, field) in url::form_urlencoded::parse(body) {
        let slot = match &*name {
            "timestamp" => &mut signed.timestamp,
            "token" => &mut signed.token,
            "signature" => {
                if !signed.signatures.is_empty() {
                    return Err(SignatureError::Body("the signature field appears twice"));
                }
                signed.signatures.push(field.into_owned());
                continue;
            }
            _ => continue,
        };
        if !slot.is_empty() {
            return Err(SignatureError::Body("a signed field appears twice"));
        }
        *slot = field.into_owned();
    }
    Ok(signed)
}

fn read(delivery: &Delivery<'_>) -> Result<Signed, SignatureError> {
    if is_json_object(delivery.body) {
        return from_json(delivery.body);
    }
    match content_type(delivery) {
        Some(kind) if kind.starts_with(FORM) => from_form(delivery.body),
        Some(kind) if kind.starts_with("multipart/") => Err(SignatureError::Body(
            "a multipart route post, which is not parsed: only JSON webhooks and url-encoded posts",
        )),
        _ => Err(SignatureError::Body(
            "neither a JSON webhook nor a url-encoded route post",
        )),
    }
}

/// The timestamp, its value and the decoded signatures, or why they cannot be used.
fn stamp(signed: &Signed) -> Result<(i64, Vec<Vec<u8>>), SignatureError> {
    if signed.timestamp.is_empty() && signed.token.is_empty() && signed.signatures.is_empty() {
        return Err(SignatureError::Missing(SIGNATURE));
    }
    let malformed = |why| SignatureError::Malformed {
        field: SIGNATURE,
        why,
    };
    if signed.timestamp.is_empty() {
        return Err(malformed("no `timestamp`"));
    }
    if signed.token.is_empty() {
        return Err(malformed("no `token`"));
    }
    if signed.signatures.is_empty() {
        return Err(malformed("no `signature`"));
    }
    let seconds = epoch_secs(SIGNATURE, &signed.timestamp)?;
    let mut signatures = Vec::with_capacity(signed.signatures.len());
    for text in &signed.signatures {
        let signature = Encoding::Hex.decode(SIGNATURE, text)?;
        if signature.len() != Algorithm::Sha256.output_len() {
            return Err(malformed("wrong length for an HMAC-SHA256"));
        }
        signatures.push(signature);
    }
    Ok((seconds, signatures))
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let signed = read(delivery)?;
    let (seconds, signatures) = stamp(&signed)?;
    check_window(seconds, window)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[signed.timestamp.as_bytes(), signed.token.as_bytes()],
        &signatures,
    )?;
    Ok(Verified {
        event_id: signed.event_id,
        event_type: signed.event_type,
        handshake: None,
    })
}

fn signature_of(key: &Key, timestamp: &str, token: &str) -> String {
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[timestamp.as_bytes(), token.as_bytes()],
    );
    Encoding::Hex.encode(tag.as_slice())
}

/// Whether the first signature `signed` carries is one `key` made (its timestamp is not judged
/// here: `sign` cannot change it).
fn made_with(signed: &Signed, key: &Key) -> bool {
    let expected = signature_of(key, &signed.timestamp, &signed.token);
    !signed.token.is_empty()
        && signed
            .signatures
            .first()
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())))
}

/// Whether `body` already carries a signature `key` made at `now`.
fn signed_at(body: &[u8], key: &Key, now: i64) -> bool {
    from_json(body)
        .is_ok_and(|signed| signed.timestamp == now.to_string() && made_with(&signed, key))
}

/// Writes a `signature` object made at `now` into a JSON webhook (replacing any other), keeping a
/// body that `key` signed at `now` already as it is. Members come out in sorted order, which
/// changes nothing Mailgun signs.
fn sign_body(body: &[u8], key: &Key, now: i64) -> Result<Vec<u8>, SignError> {
    const OBJECT: SignError = SignError::Body("a JSON object (a Mailgun webhook)");
    if !is_json_object(body) {
        return Err(OBJECT);
    }
    if signed_at(body, key, now) {
        return Ok(body.to_vec());
    }
    let mut webhook: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|_| OBJECT)?;
    let timestamp = now.to_string();
    // A token as long as Mailgun's (50 characters), derived from what is signed so that signing
    // the same body at the same instant gives the same token.
    let token: String = hex::encode(crypto::sha256(&[&now.to_be_bytes(), body]))
        .chars()
        .take(50)
        .collect();
    let signature = signature_of(key, &timestamp, &token);
    webhook.insert(
        SIGNATURE.to_owned(),
        serde_json::json!({ "timestamp": timestamp, "token": token, "signature": signature }),
    );
    serde_json::to_vec(&webhook).map_err(|_| OBJECT)
}

/// The body carries the signature, so no header adds one: what `sign` gives is the content type
/// Mailgun sends, which a route's form post needs to be read as one.
fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let (signed, kind) = if is_json_object(delivery.body) {
        (from_json(delivery.body), "application/json")
    } else {
        (from_form(delivery.body), FORM)
    };
    if !signed.is_ok_and(|signed| made_with(&signed, key)) {
        return Err(SignError::Body(
            "a Mailgun webhook or route post whose signature this key made (sign_body writes one in)",
        ));
    }
    Ok(vec![(http::header::CONTENT_TYPE, value(kind.to_owned()))])
}

static CODE: Code = Code {
    facts: Facts {
        signature: None,
        encoding: Some(Encoding::Hex),
        timestamp: true,
        unsigned_body: true,
        ..Facts::UNSIGNED
    },
    signed: "HMAC-SHA256 of timestamp + token, hex, in the body's `signature` object (not the event)",
    key_format: "the HTTP webhook signing key, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: Some(sign_body),
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "mailgun",
    aliases: &[],
    title: "Mailgun (webhooks, route forwards)",
    docs: "https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks",
    handshake: None,
    json_body: false,
    informative_headers: &[],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use http::HeaderMap;

    /// mailgun/mailgun-php, tests/Api/WebhookTest.php (testVerifyWebhookGood).
    const KEY: &str = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    const TIMESTAMP: &str = "1403645220";
    const TOKEN: &str = "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6";
    const SIGNED: &str = "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33";
    const WINDOW: Window = Window {
        now: 1_403_645_220,
        tolerance_secs: 300,
    };

    fn webhook(signature: &str) -> String {
        format!(
            r#"{{"signature":{{"timestamp":"{TIMESTAMP}","token":"{TOKEN}",{signature}}},"event-data":{{"id":"evt-1","event":"delivered"}}}}"#
        )
    }

    fn check(body: &[u8], headers: &HeaderMap, key: &str) -> Result<Verified, SignatureError> {
        verify(
            &Delivery::post(headers, body),
            &[text_key(key).unwrap()],
            WINDOW,
        )
    }

    #[test]
    fn the_signature_or_the_parent_signature_may_match() {
        let none = HeaderMap::new();
        let body = webhook(&format!(r#""signature":"{SIGNED}""#));
        let verified = check(body.as_bytes(), &none, KEY).unwrap();
        assert_eq!(verified.event_id.as_deref(), Some("evt-1"));
        assert_eq!(verified.event_type.as_deref(), Some("delivered"));
        // A subaccount's delivery: its own signature by another key, the parent's by ours.
        let other = signature_of(&text_key("subaccount key").unwrap(), TIMESTAMP, TOKEN);
        let both = webhook(&format!(
            r#""signature":"{other}","parent-signature":"{SIGNED}""#
        ));
        check(both.as_bytes(), &none, KEY).unwrap();
        check(both.as_bytes(), &none, "subaccount key").unwrap();
        assert_eq!(
            check(both.as_bytes(), &none, "a third key"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_route_form_post_verifies_with_its_content_type() {
        let body =
            format!("recipient=a%40b&timestamp={TIMESTAMP}&token={TOKEN}&signature={SIGNED}");
        let mut form = HeaderMap::new();
        form.insert("content-type", FORM.parse().unwrap());
        let verified = check(body.as_bytes(), &form, KEY).unwrap();
        assert_eq!(verified.event_id, None);
        assert!(matches!(
            check(body.as_bytes(), &HeaderMap::new(), KEY),
            Err(SignatureError::Body(_))
        ));
        let twice = format!("{body}&token=x");
        assert!(matches!(
            check(twice.as_bytes(), &form, KEY),
            Err(SignatureError::Body(_))
        ));
        let mut multipart = HeaderMap::new();
        multipart.insert(
            "content-type",
            "multipart/form-data; boundary=x".parse().unwrap(),
        );
        assert!(matches!(
            check(b"--x--", &multipart, KEY),
            Err(SignatureError::Body(_))
        ));
    }

    #[test]
    fn unsigned_malformed_and_stale_are_refused() {
        let none = HeaderMap::new();
        assert_eq!(
            check(br#"{"event-data":{"id":"e"}}"#, &none, KEY),
            Err(SignatureError::Missing(SIGNATURE))
        );
        for bad in [
            webhook(r#""signature":"9cfc""#),
            webhook(r#""signature":"zz""#),
            webhook(r#""other":1"#),
            format!(r#"{{"signature":{{"token":"{TOKEN}","signature":"{SIGNED}"}}}}"#),
        ] {
            assert!(
                matches!(
                    check(bad.as_bytes(), &none, KEY),
                    Err(SignatureError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        let twice = format!(
            r#"{{"signature":{{"timestamp":"1","token":"t","signature":"s"}},{}"#,
            &webhook(&format!(r#""signature":"{SIGNED}""#))[1..]
        );
        assert!(matches!(
            check(twice.as_bytes(), &none, KEY),
            Err(SignatureError::Body(_))
        ));
        // Invalid UTF-8 is not JSON, even in a member nothing reads: however it is signed, the
        // body is malformed.
        let signed = webhook(&format!(r#""signature":"{SIGNED}""#));
        for body in [
            b"{\"note\":\"caf\xe9\"}".to_vec(),
            [b"{\"note\":\"caf\xe9\",", &signed.as_bytes()[1..]].concat(),
        ] {
            assert!(matches!(
                check(&body, &none, KEY),
                Err(SignatureError::Body(_))
            ));
        }
        let body = webhook(&format!(r#""signature":"{SIGNED}""#));
        let later = Window {
            now: WINDOW.now + 301,
            ..WINDOW
        };
        assert!(matches!(
            verify(
                &Delivery::post(&none, body.as_bytes()),
                &[text_key(KEY).unwrap()],
                later
            ),
            Err(SignatureError::Stale { .. })
        ));
    }

    #[test]
    fn sign_body_writes_a_signature_that_verifies_and_keeps_one_that_does() {
        let key = text_key("a signing key").unwrap();
        let plain = br#"{"event-data":{"id":"evt-2","event":"opened"}}"#;
        let written = sign_body(plain, &key, WINDOW.now).unwrap();
        let none = HeaderMap::new();
        let verified = check(&written, &none, "a signing key").unwrap();
        assert_eq!(verified.event_id.as_deref(), Some("evt-2"));
        assert_eq!(sign_body(&written, &key, WINDOW.now).unwrap(), written);
        // Made earlier, it is made again at the new instant.
        let later = sign_body(&written, &key, WINDOW.now + 600).unwrap();
        assert_ne!(later, written);
        let window = Window {
            now: WINDOW.now + 600,
            ..WINDOW
        };
        verify(
            &Delivery::post(&none, &later),
            std::slice::from_ref(&key),
            window,
        )
        .unwrap();
        let added = sign(&Delivery::post(&none, &written), &key, WINDOW.now).unwrap();
        assert_eq!(added.len(), 1);
        // Another key's signature is replaced, and a body that is not an object refused.
        let resigned = sign_body(&written, &text_key("k2").unwrap(), WINDOW.now).unwrap();
        check(&resigned, &none, "k2").unwrap();
        assert!(sign(&Delivery::post(&none, &resigned), &key, 0).is_err());
        assert!(sign_body(b"[1]", &key, 0).is_err());
    }
}
