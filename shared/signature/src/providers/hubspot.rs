//! HubSpot, signature version 3 only. `X-HubSpot-Signature-v3` carries a base64 HMAC-SHA256,
//! keyed by the app's client secret, over four strings run together: the HTTP method, the URI
//! HubSpot called, the raw body and `X-HubSpot-Request-Timestamp` (epoch milliseconds, so the
//! replay window applies to it).
//!
//! The URI is the source's public URL, query included, after HubSpot's one normalisation: a
//! fixed set of percent-escapes (`: / ? @ ! $ ' ( ) * , ;`) is read as the character it stands
//! for, while every other escape stays as sent. The older v1 and v2 signatures (a bare SHA-256
//! with the secret inside, no timestamp) are not accepted: nothing stops their replay.

use crate::body::Scalar;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::{check_window, epoch_millis};
use http::HeaderName;
use serde::Deserialize;
use std::borrow::Cow;

const SIGNATURE: &str = "x-hubspot-signature-v3";
const TIMESTAMP: &str = "x-hubspot-request-timestamp";

/// The characters whose escapes HubSpot decodes before it signs the URI.
const DECODED: &[u8] = b":/?@!$'()*,;";

/// The URI as HubSpot signs it: `url` with the escapes of [`DECODED`] characters decoded (hex
/// digits in either case, as RFC 3986 makes them equivalent) and everything else untouched.
fn signed_uri(url: &str) -> Cow<'_, [u8]> {
    let bytes = url.as_bytes();
    if !bytes.contains(&b'%') {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let [first, tail @ ..] = rest {
        if *first == b'%'
            && let [high, low, after @ ..] = tail
            && let Some(byte) = listed_escape(*high, *low)
        {
            out.push(byte);
            rest = after;
        } else {
            out.push(*first);
            rest = tail;
        }
    }
    Cow::Owned(out)
}

/// The character `%HL` stands for, when it is one HubSpot decodes.
fn listed_escape(high: u8, low: u8) -> Option<u8> {
    let digit = |d: u8| {
        char::from(d)
            .to_digit(16)
            .and_then(|v| u8::try_from(v).ok())
    };
    let byte = (digit(high)? << 4) | digit(low)?;
    DECODED.contains(&byte).then_some(byte)
}

/// One event of a webhook batch: HubSpot posts a JSON array of them.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Event {
    event_id: Scalar,
    subscription_type: Scalar,
}

/// The event id when the batch holds exactly one event, and the subscription type its events
/// share. Workflow actions and CRM cards send other bodies, which name nothing here.
fn name_events(body: &[u8]) -> (Option<String>, Option<String>) {
    if body.trim_ascii_start().first() != Some(&b'[') {
        return (None, None);
    }
    let Ok(mut events) = serde_json::from_slice::<Vec<Event>>(body) else {
        return (None, None);
    };
    let kind = match events.split_first() {
        Some((first, others))
            if others
                .iter()
                .all(|e| e.subscription_type == first.subscription_type) =>
        {
            first.subscription_type.0.clone()
        }
        _ => None,
    };
    // A batch of several events has no single id; naming it by its first one would make two
    // different batches look like duplicates.
    let id = match events.as_mut_slice() {
        [only] => only.event_id.take(),
        _ => None,
    };
    (id, kind)
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let timestamp = header(delivery.headers, TIMESTAMP)?;
    let millis = epoch_millis(TIMESTAMP, timestamp)?;
    let signature = Encoding::Base64.decode(SIGNATURE, text)?;
    if signature.len() != Algorithm::Sha256.output_len() {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "wrong length for an HMAC-SHA256",
        });
    }
    let url = delivery.url.ok_or(SignatureError::UrlRequired)?;
    check_window(millis.div_euclid(1000), window)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[
            delivery.method.as_bytes(),
            &signed_uri(url),
            delivery.body,
            timestamp.as_bytes(),
        ],
        &[signature],
    )?;
    let (event_id, event_type) = name_events(delivery.body);
    Ok(Verified {
        event_id,
        event_type,
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let url = delivery.url.ok_or(SignError::UrlRequired)?;
    let timestamp = now.saturating_mul(1000).to_string();
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[
            delivery.method.as_bytes(),
            &signed_uri(url),
            delivery.body,
            timestamp.as_bytes(),
        ],
    );
    Ok(vec![
        (HeaderName::from_static(TIMESTAMP), value(timestamp)),
        (
            HeaderName::from_static(SIGNATURE),
            value(Encoding::Base64.encode(tag.as_slice())),
        ),
    ])
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        signs_url: true,
        signs_method: true,
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of method + URI + body + timestamp (ms), base64 (signature v3)",
    key_format: "the app's client secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "hubspot",
    aliases: &[],
    title: "HubSpot (webhooks, workflow actions, CRM cards)",
    docs: "https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation",
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

    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const BODY: &[u8] = br#"[{"eventId":1,"subscriptionType":"contact.creation"}]"#;
    /// A URL with escapes HubSpot decodes (upper and lower case) and escapes it keeps.
    const URL: &str =
        "https://example.com/hubspot%2Fhook?next=a%3Ab%2Fc%40d%21&space=%20&pct=%25&lower=%3a";
    const DECODED_URL: &str =
        "https://example.com/hubspot/hook?next=a:b/c@d!&space=%20&pct=%25&lower=:";
    /// Computed with Python's `hmac` over `POST` + DECODED_URL + BODY + the timestamp below.
    const SIGNED: &str = "bdPxCS/PhOhlto5e2JvKy1SESINa8F73xt6QxTCDsIA=";
    const MILLIS: &str = "1763816400000";
    const WINDOW: Window = Window {
        now: 1_763_816_400,
        tolerance_secs: 300,
    };

    fn headers(signature: &str, timestamp: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, signature.parse().unwrap());
        headers.insert(TIMESTAMP, timestamp.parse().unwrap());
        headers
    }

    fn delivery<'a>(headers: &'a HeaderMap, url: &'a str) -> Delivery<'a> {
        Delivery {
            url: Some(url),
            ..Delivery::post(headers, BODY)
        }
    }

    #[test]
    fn decodes_exactly_the_listed_escapes() {
        assert_eq!(&*signed_uri(URL), DECODED_URL.as_bytes());
        assert_eq!(
            &*signed_uri("https://h/%28%29%2A%2C%3B%24%27%3F"),
            b"https://h/()*,;$'?"
        );
        // Not a listed character, a short or broken escape, a trailing `%`: all kept as sent.
        for kept in [
            "https://h/%41%2",
            "https://h/%zz%3",
            "https://h/a%",
            "https://h/%E2%9C%93",
        ] {
            assert_eq!(&*signed_uri(kept), kept.as_bytes());
        }
        assert!(matches!(signed_uri("https://h/plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn verifies_over_the_decoded_uri_and_names_a_single_event() {
        let headers = headers(SIGNED, MILLIS);
        let keys = [text_key(SECRET).unwrap()];
        let verified = verify(&delivery(&headers, URL), &keys, WINDOW).unwrap();
        assert_eq!(verified.event_id.as_deref(), Some("1"));
        assert_eq!(verified.event_type.as_deref(), Some("contact.creation"));
        // The decoded form is the same URI to HubSpot, so it verifies too.
        verify(&delivery(&headers, DECODED_URL), &keys, WINDOW).unwrap();
        // Another escape is another URI.
        let other = URL.replace("%20", "%2B");
        assert_eq!(
            verify(&delivery(&headers, &other), &keys, WINDOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_method_is_signed() {
        let headers = headers(SIGNED, MILLIS);
        let keys = [text_key(SECRET).unwrap()];
        let get = Delivery {
            method: "GET",
            ..delivery(&headers, URL)
        };
        assert_eq!(verify(&get, &keys, WINDOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn needs_the_url_and_a_fresh_millisecond_timestamp() {
        let keys = [text_key(SECRET).unwrap()];
        let fresh = headers(SIGNED, MILLIS);
        let no_url = Delivery::post(&fresh, BODY);
        assert_eq!(
            verify(&no_url, &keys, WINDOW),
            Err(SignatureError::UrlRequired)
        );
        assert_eq!(sign(&no_url, &keys[0], 0), Err(SignError::UrlRequired));
        // Six minutes old: refused before any HMAC, whatever the signature.
        let stale = headers(SIGNED, "1763816040000");
        assert!(matches!(
            verify(&delivery(&stale, URL), &keys, WINDOW),
            Err(SignatureError::Stale { .. })
        ));
        // Seconds where milliseconds belong read as 1970.
        let seconds = headers(SIGNED, "1763816400");
        assert!(matches!(
            verify(&delivery(&seconds, URL), &keys, WINDOW),
            Err(SignatureError::Stale { .. })
        ));
        let short = headers("AAAA", MILLIS);
        assert!(matches!(
            verify(&delivery(&short, URL), &keys, WINDOW),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn sign_reproduces_the_computed_signature() {
        let empty = HeaderMap::new();
        let key = text_key(SECRET).unwrap();
        let added = sign(&delivery(&empty, URL), &key, WINDOW.now).unwrap();
        let mut signed = HeaderMap::new();
        for (name, value) in added {
            signed.insert(name, value);
        }
        assert_eq!(signed[SIGNATURE], SIGNED);
        assert_eq!(signed[TIMESTAMP], MILLIS);
    }

    #[test]
    fn a_batch_names_no_single_event() {
        let batch = br#"[{"eventId":1,"subscriptionType":"contact.creation"},{"eventId":2,"subscriptionType":"contact.creation"}]"#;
        assert_eq!(
            name_events(batch),
            (None, Some("contact.creation".to_owned()))
        );
        let mixed =
            br#"[{"eventId":1,"subscriptionType":"a"},{"eventId":2,"subscriptionType":"b"}]"#;
        assert_eq!(name_events(mixed), (None, None));
        assert_eq!(name_events(br#"{"callbackId":"x"}"#), (None, None));
    }
}
