//! The event type of a sample delivery, read by its source's scheme as ingest reads it.
//!
//! The signature crate names the type only once a delivery verifies, so the sample is signed
//! with a throwaway key and verified with it: the type is exactly the one ingest would queue,
//! from whichever header or body field the scheme reads it (GitHub's `X-GitHub-Event`, Stripe's
//! body `type`, a custom scheme's pointer). `inlet routes test` and `inlet schema infer` read it
//! here.

use http::HeaderMap;
use inlet_signature::{Delivery, Scheme, Window};

/// Throwaway key material: only to get the delivery through the scheme's own code.
const SEED: &[u8] = b"inlet: a throwaway key to read a delivery's type";
/// Ingest drops an event type longer than this (it would not be a valid message attribute).
const MAX_EVENT_TYPE_LEN: usize = 256;
/// Where a scheme that signs the URL is told the sample was posted when its source names none:
/// signing and verifying use the same one, so any URL will do.
const PLACEHOLDER_URL: &str = "https://inlet.invalid/webhooks/sample";

/// What the scheme reads from a sample.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Read {
    pub(crate) event_type: Option<String>,
    /// A handshake (Slack's `url_verification`, Twitch's challenge): ingest answers it and queues
    /// no event, so it is no sample of one.
    pub(crate) handshake: bool,
}

/// The event type `scheme` reads from a delivery of `body` with `headers`, posted to `url`.
/// The sample's own signature headers, if any, are replaced; no replay window applies (a saved
/// sample's timestamp is old).
pub(crate) fn read(
    scheme: &Scheme,
    url: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Read, String> {
    let (sign_secret, verify_secret) = match scheme {
        Scheme::None => return Ok(Read::default()),
        Scheme::Provider(provider) => {
            let secrets = provider.secrets_for_seed(SEED);
            (secrets.sign, secrets.verify)
        }
        Scheme::Hmac(custom) => {
            let text = match custom.key_encoding {
                Some(encoding) => encoding.encode(SEED),
                None => String::from_utf8_lossy(SEED).into_owned(),
            };
            (text.clone(), text)
        }
        Scheme::Token(_) => {
            let text = String::from_utf8_lossy(SEED).into_owned();
            (text.clone(), text)
        }
    };
    let signing = scheme
        .signing_key(&sign_secret)
        .map_err(|e| e.to_string())?;
    let key = scheme.key(&verify_secret).map_err(|e| e.to_string())?;
    let now = crate::sending::now_secs();
    let url = Some(url.unwrap_or(PLACEHOLDER_URL));
    let mut map = headers.clone();
    for header in scheme.authenticating_headers() {
        map.remove(header);
    }
    let body = match scheme.sign_body(body, &signing, now) {
        Some(signed) => signed.map_err(|e| e.to_string())?,
        None => body.to_vec(),
    };
    let added = scheme
        .sign(&post(&map, &body, url), &signing, now)
        .map_err(|e| e.to_string())?;
    for (name, value) in added {
        map.insert(name, value);
    }
    let window = Window {
        now,
        tolerance_secs: u64::MAX,
    };
    let verified = scheme
        .verify(&post(&map, &body, url), &[key], window)
        .map_err(|e| e.to_string())?;
    Ok(Read {
        // A type ingest would drop is no type.
        event_type: verified.event_type.filter(|t| {
            t.len() <= MAX_EVENT_TYPE_LEN
                && !t.chars().any(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        }),
        handshake: verified.handshake.is_some(),
    })
}

fn post<'a>(headers: &'a HeaderMap, body: &'a [u8], url: Option<&'a str>) -> Delivery<'a> {
    Delivery {
        headers,
        body,
        url,
        method: "POST",
        query: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn types_come_from_where_each_scheme_keeps_them() {
        let github = Scheme::named("github").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-github-event", "push".parse().unwrap());
        let read = read(&github, None, &headers, b"{\"ref\":\"x\"}").unwrap();
        assert_eq!(read.event_type.as_deref(), Some("push"));
        assert!(!read.handshake);

        let stripe = Scheme::named("stripe").unwrap();
        let body = br#"{"id":"evt_1","type":"invoice.paid","data":{}}"#;
        let read = super::read(&stripe, None, &HeaderMap::new(), body).unwrap();
        assert_eq!(read.event_type.as_deref(), Some("invoice.paid"));

        assert_eq!(
            super::read(&Scheme::None, None, &headers, b"{}").unwrap(),
            Read::default()
        );
    }

    #[test]
    fn a_handshake_is_no_event() {
        let slack = Scheme::named("slack").unwrap();
        let body = br#"{"token":"x","challenge":"abc","type":"url_verification"}"#;
        let read = read(&slack, None, &HeaderMap::new(), body).unwrap();
        assert!(read.handshake, "{read:?}");
    }
}
