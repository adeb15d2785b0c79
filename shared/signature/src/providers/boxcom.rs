//! Box V2 webhooks. (The file is not `box.rs`: `box` is a Rust keyword.)
//!
//! Box signs each payload twice, once with each of the app's two signature keys, so that a key can
//! be replaced while the other still verifies: `BOX-SIGNATURE-PRIMARY` and
//! `BOX-SIGNATURE-SECONDARY` are each the base64 HMAC-SHA256 of the raw body followed by the
//! `BOX-DELIVERY-TIMESTAMP` header's text (RFC 3339, often with an offset), keyed by the key as
//! text. A delivery passes when either header matches any configured key, so a source holds the
//! primary key, the secondary, or both. The timestamp is signed, so the replay window applies.
//! Box also sends `BOX-SIGNATURE-VERSION: 1` and `BOX-SIGNATURE-ALGORITHM: HmacSHA256`; another
//! value of either names a scheme this is not, and is refused as Box's SDKs refuse it.
//!
//! The body's `id` names the event and stays the same when Box retries (`BOX-DELIVERY-ID` does
//! not); its `trigger` (`FILE.UPLOADED`…) is the event's type.

use crate::body::{Scalar, is_json_object};
use crate::clock;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, optional_header, value};
use crate::entries::Entries;
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::check_window;
use http::HeaderName;
use serde::Deserialize;

const PRIMARY: &str = "box-signature-primary";
const SECONDARY: &str = "box-signature-secondary";
const TIMESTAMP: &str = "box-delivery-timestamp";
const VERSION: &str = "box-signature-version";
const ALGORITHM: &str = "box-signature-algorithm";

#[derive(Default, Deserialize)]
#[serde(default)]
struct Event {
    id: Scalar,
    trigger: Scalar,
}

/// A header that, when present, must have the one value Box documents.
fn expect_if_present(
    delivery: &Delivery<'_>,
    name: &'static str,
    expected: &str,
    why: &'static str,
) -> Result<(), SignatureError> {
    match optional_header(delivery.headers, name)? {
        Some(text) if text != expected => Err(SignatureError::Malformed { field: name, why }),
        _ => Ok(()),
    }
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let given: Vec<&str> = [
        optional_header(delivery.headers, PRIMARY)?,
        optional_header(delivery.headers, SECONDARY)?,
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.is_empty() {
        return Err(SignatureError::Missing(PRIMARY));
    }
    expect_if_present(delivery, VERSION, "1", "expected version `1`")?;
    expect_if_present(delivery, ALGORITHM, "HmacSHA256", "expected `HmacSHA256`")?;
    let timestamp = header(delivery.headers, TIMESTAMP)?;
    let seconds = clock::parse_rfc3339(timestamp).ok_or(SignatureError::Malformed {
        field: TIMESTAMP,
        why: "not an RFC 3339 date-time",
    })?;
    // One header may be damaged, or signed by a key being replaced, while the other is good: a
    // signature that cannot be one is set aside, and only none at all is malformed.
    let mut entries = Entries::new(PRIMARY);
    for text in given {
        let length = (
            Algorithm::Sha256.output_len(),
            Algorithm::Sha256.wrong_length(),
        );
        entries.offer(Encoding::Base64, text, Some(length))?;
    }
    let signatures = entries.finish("").map_err(|_| SignatureError::Malformed {
        field: PRIMARY,
        why: "no base64 HMAC-SHA256 in BOX-SIGNATURE-PRIMARY or -SECONDARY",
    })?;
    check_window(seconds, window)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[delivery.body, timestamp.as_bytes()],
        &signatures,
    )?;
    let mut event = if is_json_object(delivery.body) {
        serde_json::from_slice::<Event>(delivery.body).unwrap_or_default()
    } else {
        Event::default()
    };
    Ok(Verified {
        event_id: event.id.take(),
        event_type: event.trigger.take(),
        handshake: None,
    })
}

/// The primary signature under `key`, over the delivery's own timestamp where it carries one
/// (Box's examples carry offsets, which a timestamp written here would not reproduce), else one
/// for `now`, added with it.
fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let given = optional_header(delivery.headers, TIMESTAMP).ok().flatten();
    let timestamp = given.map_or_else(|| clock::format_rfc3339_secs(now), str::to_owned);
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[delivery.body, timestamp.as_bytes()],
    );
    let mut added = Vec::with_capacity(2);
    if given.is_none() {
        added.push((HeaderName::from_static(TIMESTAMP), value(timestamp)));
    }
    added.push((
        HeaderName::from_static(PRIMARY),
        value(Encoding::Base64.encode(tag.as_slice())),
    ));
    Ok(added)
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        timestamp: true,
        ..Facts::signature(PRIMARY, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of the body + BOX-DELIVERY-TIMESTAMP, base64, in BOX-SIGNATURE-PRIMARY or -SECONDARY",
    key_format: "the primary or secondary signature key (both while rolling one), as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "box",
    aliases: &[],
    title: "Box",
    docs: "https://developer.box.com/guides/webhooks/v2/signatures-v2/",
    handshake: None,
    json_body: true,
    informative_headers: &["box-delivery-id"],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use http::HeaderMap;

    // box/box-java-sdk, src/test/java/com/box/sdk/BoxWebHookSignatureVerifierTest.java.
    const PRIMARY_KEY: &str = "faqZQdZ2dbNVaFdPWRsVMjZOC4nVwgp0";
    const SECONDARY_KEY: &str = "4SidLLVJLIx3L3RAvMhybvvpmJHUd4iD";
    const DELIVERED_AT: &str = "2016-07-08T01:20:32-07:00";
    const BODY: &[u8] = br#"{ "payload" : "test" }"#;
    const PRIMARY_SIGNATURE: &str = "R54s9jpedqP/Og92+77Ip8hVtfWjR4pnaJXcvRGafCQ=";
    const SECONDARY_SIGNATURE: &str = "V4b6jfPoCaTpcPvUDaaYLfVC4+DUZ3/B6F0pz44shEE=";
    /// 2016-07-08T08:20:32Z.
    const WINDOW: Window = Window {
        now: 1_467_966_032,
        tolerance_secs: 300,
    };

    fn headers(primary: Option<&str>, secondary: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP, DELIVERED_AT.parse().unwrap());
        headers.insert(VERSION, "1".parse().unwrap());
        headers.insert(ALGORITHM, "HmacSHA256".parse().unwrap());
        for (name, text) in [(PRIMARY, primary), (SECONDARY, secondary)] {
            if let Some(text) = text {
                headers.insert(name, text.parse().unwrap());
            }
        }
        headers
    }

    fn check(headers: &HeaderMap, keys: &[&str]) -> Result<Verified, SignatureError> {
        let keys: Vec<Key> = keys.iter().map(|k| text_key(k).unwrap()).collect();
        verify(&Delivery::post(headers, BODY), &keys, WINDOW)
    }

    #[test]
    fn either_signature_verifies_with_either_key() {
        let both = headers(Some(PRIMARY_SIGNATURE), Some(SECONDARY_SIGNATURE));
        for keys in [
            &[PRIMARY_KEY][..],
            &[SECONDARY_KEY],
            &[PRIMARY_KEY, SECONDARY_KEY],
        ] {
            check(&both, keys).unwrap();
        }
        check(&headers(Some(PRIMARY_SIGNATURE), None), &[PRIMARY_KEY]).unwrap();
        check(&headers(None, Some(SECONDARY_SIGNATURE)), &[SECONDARY_KEY]).unwrap();
        // The primary key does not make the secondary signature, nor the reverse.
        assert_eq!(
            check(&headers(None, Some(SECONDARY_SIGNATURE)), &[PRIMARY_KEY]),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&both, &["a key Box never had"]),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn one_damaged_signature_is_set_aside_and_two_are_malformed() {
        let damaged = headers(Some("not base64!"), Some(SECONDARY_SIGNATURE));
        check(&damaged, &[SECONDARY_KEY]).unwrap();
        let short = Encoding::Base64.encode(&[1; 20]);
        let both_bad = headers(Some("not base64!"), Some(&short));
        assert_eq!(
            check(&both_bad, &[SECONDARY_KEY]).map_err(|e| e.code()),
            Err("signature_malformed")
        );
        assert_eq!(
            check(&headers(None, None), &[PRIMARY_KEY]),
            Err(SignatureError::Missing(PRIMARY))
        );
    }

    #[test]
    fn another_version_or_algorithm_is_malformed() {
        for (name, text) in [(VERSION, "2"), (ALGORITHM, "HmacSHA1")] {
            let mut other = headers(Some(PRIMARY_SIGNATURE), None);
            other.insert(name, text.parse().unwrap());
            assert_eq!(
                check(&other, &[PRIMARY_KEY]).map_err(|e| e.code()),
                Err("signature_malformed"),
                "{name}"
            );
        }
    }

    #[test]
    fn the_offset_timestamp_is_read_for_the_window_and_signed_as_written() {
        let fresh = headers(Some(PRIMARY_SIGNATURE), None);
        let late = Window {
            now: WINDOW.now + 301,
            ..WINDOW
        };
        let keys = [text_key(PRIMARY_KEY).unwrap()];
        assert!(matches!(
            verify(&Delivery::post(&fresh, BODY), &keys, late),
            Err(SignatureError::Stale { age_secs: 301, .. })
        ));
        // The same instant written in UTC is other bytes: not what was signed.
        let mut utc = fresh.clone();
        utc.insert(TIMESTAMP, "2016-07-08T08:20:32Z".parse().unwrap());
        assert_eq!(
            verify(&Delivery::post(&utc, BODY), &keys, WINDOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn sign_keeps_a_given_timestamp_and_the_event_is_named_by_the_body() {
        let given = headers(None, None);
        let key = text_key(PRIMARY_KEY).unwrap();
        let added = sign(&Delivery::post(&given, BODY), &key, 0).unwrap();
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].1, PRIMARY_SIGNATURE);

        let body = br#"{"type":"webhook_event","id":"eb0c4e06-751f-442c-86f8-fd5bb404dbec","trigger":"FILE.UPLOADED"}"#;
        let mut fresh = HeaderMap::new();
        for (name, value) in sign(&Delivery::post(&fresh, body), &key, WINDOW.now).unwrap() {
            fresh.insert(name, value);
        }
        let verified = verify(&Delivery::post(&fresh, body), &[key], WINDOW).unwrap();
        assert_eq!(
            verified.event_id.as_deref(),
            Some("eb0c4e06-751f-442c-86f8-fd5bb404dbec")
        );
        assert_eq!(verified.event_type.as_deref(), Some("FILE.UPLOADED"));
    }
}
