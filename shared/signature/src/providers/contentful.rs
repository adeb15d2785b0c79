//! Contentful request verification. `X-Contentful-Signature` carries a hex HMAC-SHA256, keyed by
//! the space's 64-character signing secret, over a canonical request: the method, the request
//! path, the signed headers as `name:value` pairs joined by `;`, and the raw body, one per line.
//! `X-Contentful-Signed-Headers` lists the signed headers; `X-Contentful-Timestamp` (epoch
//! milliseconds) is always among them, so the replay window applies to it.
//!
//! Contentful's docs give no algorithm beyond pointing at `verifyRequest` in its
//! `@contentful/node-apps-toolkit`, so that toolkit is the reference, quirks and all. The path is
//! the source's public URL without scheme and host, run through `encodeURI`, its query through
//! `querystring.escape` first (so a `%` in either ends up as `%25`, and a query's `&` and `=` as
//! `%2526` and `%253D`). Only what lies between the first `?` and a second one is the query. The
//! signed headers are those the list names that the request carries, plus the list itself and the
//! timestamp, sorted; the list's own value is signed as rebuilt from them, and the timestamp as the
//! number it reads as.

use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, optional_header, value};
use crate::error::{KeyError, SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, Secrets};
use crate::stamp::{check_window, epoch_millis};
use http::{HeaderMap, HeaderName};
use std::collections::BTreeSet;

const SIGNATURE: &str = "x-contentful-signature";
const TIMESTAMP: &str = "x-contentful-timestamp";
const SIGNED_HEADERS: &str = "x-contentful-signed-headers";
const TOPIC: &str = "x-contentful-topic";
const IDEMPOTENCY_KEY: &str = "x-contentful-idempotency-key";
/// What a source signs with when the delivery names nothing more: the two headers every signed
/// request carries.
const LEAST_SIGNED: &str = "x-contentful-signed-headers,x-contentful-timestamp";
const SECRET_LEN: usize = 64;
const SECRET_FORMAT: &str =
    "the webhook signing secret: 64 characters of A-Z, a-z, 0-9, +, /, =, _ or -";

/// What `encodeURI` leaves as it is, besides ASCII letters and digits.
const URI_KEPT: &[u8] = b"!#$&'()*+,-./:;=?@_~";
/// What `querystring.escape` leaves as it is, besides ASCII letters and digits.
const COMPONENT_KEPT: &[u8] = b"!'()*-._~";
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes every byte of `text` but ASCII letters, digits and `kept`, as JavaScript does:
/// UTF-8 bytes, upper-case hex.
fn percent_encode(out: &mut String, text: &str, kept: &[u8]) {
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || kept.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(UPPER_HEX[usize::from(byte >> 4)]));
            out.push(char::from(UPPER_HEX[usize::from(byte & 0x0f)]));
        }
    }
}

/// The path as the toolkit signs it, from the source's public URL.
fn canonical_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let target = after_scheme
        .find(['/', '?', '#'])
        .map_or("", |at| &after_scheme[at..]);
    let target = target.split('#').next().unwrap_or_default();
    // `uri.split('?')` in the toolkit: a third part, after a second `?`, is dropped.
    let mut parts = target.split('?');
    let pathname = parts.next().unwrap_or_default();
    let search = parts.next().unwrap_or_default();
    let mut path = String::with_capacity(target.len() * 2 + 1);
    // A URL without a path is requested as `/`.
    if !pathname.starts_with('/') {
        path.push('/');
    }
    percent_encode(&mut path, pathname, URI_KEPT);
    if !search.is_empty() {
        let mut escaped = String::with_capacity(search.len() * 3);
        percent_encode(&mut escaped, search, COMPONENT_KEPT);
        path.push('?');
        percent_encode(&mut path, &escaped, URI_KEPT);
    }
    path
}

/// The names `listed` gives that `headers` carries, with the list and the timestamp, sorted. An
/// entry that is not a lower-case name never matches: the toolkit compares entries as written with
/// lower-cased names.
fn signed_names<'a>(headers: &HeaderMap, listed: &'a str) -> BTreeSet<&'a str> {
    listed
        .split(',')
        .filter(|name| !name.bytes().any(|b| b.is_ascii_uppercase()) && headers.contains_key(*name))
        .chain([SIGNED_HEADERS, TIMESTAMP])
        .collect()
}

/// The signed headers' part of the canonical request, and the list as signed.
fn header_block(headers: &HeaderMap, listed: &str, millis: i64) -> (Vec<u8>, String) {
    let names = signed_names(headers, listed);
    let list = names.iter().copied().collect::<Vec<_>>().join(",");
    let stamp = millis.to_string();
    let mut block = Vec::with_capacity(list.len() * 2 + 64);
    for (at, name) in names.iter().enumerate() {
        if at > 0 {
            block.push(b';');
        }
        block.extend_from_slice(name.as_bytes());
        block.push(b':');
        let text: &[u8] = match *name {
            TIMESTAMP => stamp.as_bytes(),
            SIGNED_HEADERS => list.as_bytes(),
            other => headers
                .get(other)
                .map_or(&[][..], |v| v.as_bytes().trim_ascii()),
        };
        block.extend_from_slice(text);
    }
    (block, list)
}

/// The canonical request, piece by piece: method, path, signed headers and body, one per line.
fn canonical_request<'a>(delivery: &Delivery<'a>, path: &'a str, block: &'a [u8]) -> [&'a [u8]; 7] {
    [
        delivery.method.as_bytes(),
        b"\n",
        path.as_bytes(),
        b"\n",
        block,
        b"\n",
        delivery.body,
    ]
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let signature = Encoding::Hex.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    if signature.len() != Algorithm::Sha256.output_len() {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: Algorithm::Sha256.wrong_length(),
        });
    }
    let millis = epoch_millis(TIMESTAMP, header(delivery.headers, TIMESTAMP)?)?;
    let listed = header(delivery.headers, SIGNED_HEADERS)?;
    if listed.split(',').count() < 2 {
        return Err(SignatureError::Malformed {
            field: SIGNED_HEADERS,
            why: "expected at least the timestamp and the list itself",
        });
    }
    // A signed header sent twice leaves it open which value was signed.
    if listed
        .split(',')
        .any(|name| delivery.headers.get_all(name).iter().nth(1).is_some())
    {
        return Err(SignatureError::Malformed {
            field: SIGNED_HEADERS,
            why: "a signed header appears more than once",
        });
    }
    let url = delivery.url.ok_or(SignatureError::UrlRequired)?;
    check_window(millis.div_euclid(1000), window)?;
    let (block, _) = header_block(delivery.headers, listed, millis);
    let path = canonical_path(url);
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &canonical_request(delivery, &path, &block),
        &[signature],
    )?;
    Ok(Verified {
        event_id: optional_header(delivery.headers, IDEMPOTENCY_KEY)?.map(str::to_owned),
        event_type: optional_header(delivery.headers, TOPIC)?.map(str::to_owned),
        handshake: None,
    })
}

/// Signs at `now`, keeping a timestamp and a list of signed headers the delivery already carries
/// (signing a captured delivery again gives back its headers).
fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let url = delivery.url.ok_or(SignError::UrlRequired)?;
    let millis = optional_header(delivery.headers, TIMESTAMP)
        .ok()
        .flatten()
        .and_then(|text| epoch_millis(TIMESTAMP, text).ok())
        .filter(|millis| millis.div_euclid(1000) == now)
        .unwrap_or_else(|| now.saturating_mul(1000));
    let listed = optional_header(delivery.headers, SIGNED_HEADERS)
        .ok()
        .flatten()
        .unwrap_or(LEAST_SIGNED);
    let (block, list) = header_block(delivery.headers, listed, millis);
    let path = canonical_path(url);
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &canonical_request(delivery, &path, &block),
    );
    Ok(vec![
        (
            HeaderName::from_static(TIMESTAMP),
            value(millis.to_string()),
        ),
        (HeaderName::from_static(SIGNED_HEADERS), value(list)),
        (
            HeaderName::from_static(SIGNATURE),
            value(Encoding::Hex.encode(tag.as_slice())),
        ),
    ])
}

/// The secret as Contentful constrains it, used as text.
fn signing_secret(secret: &str) -> Result<Key, KeyError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b);
    if secret.is_empty() {
        return Err(KeyError::Empty);
    }
    if secret.len() != SECRET_LEN || !secret.bytes().all(allowed) {
        return Err(KeyError::Format(SECRET_FORMAT));
    }
    Ok(Key::secret(secret.as_bytes()))
}

/// A secret in Contentful's format: 64 hex characters.
fn secrets_for_seed(seed: &[u8]) -> Secrets {
    Secrets::shared(hex::encode(crate::sha256(seed)))
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        id_header: Some(IDEMPOTENCY_KEY),
        type_header: Some(TOPIC),
        signs_url: true,
        signs_method: true,
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of method, path, the headers in x-contentful-signed-headers and body, \
             one per line (timestamp in ms), hex",
    key_format: SECRET_FORMAT,
    key: signing_secret,
    signing_key: signing_secret,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed,
};

pub static PROVIDER: Provider = Provider {
    name: "contentful",
    aliases: &[],
    title: "Contentful (webhooks with request verification)",
    docs: "https://www.contentful.com/developers/docs/webhooks/request-verification/",
    handshake: None,
    json_body: false,
    informative_headers: &[
        TOPIC,
        IDEMPOTENCY_KEY,
        "x-contentful-webhook-name",
        "x-contentful-crn",
    ],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const SECRET: &str = "gBq8X2MqsdWUKfJ3cIcGen5qofcpp0dulAziuK864Hxt6rAKz9pIycEOUdX0G3xB";
    const URL: &str = "https://hooks.example.com/inlet/contentful";
    const NOW: i64 = 1_763_816_412;
    const WINDOW: Window = Window {
        now: NOW,
        tolerance_secs: 300,
    };

    #[test]
    fn the_path_is_encoded_as_the_toolkit_encodes_it() {
        // Expected values are Node's own `encodeURI`/`querystring.escape` over the same paths.
        assert_eq!(
            canonical_path("https://h.example/a b/é%2F?x=1&y=a b?z#part"),
            "/a%20b/%C3%A9%252F?x%253D1%2526y%253Da%2520b"
        );
        assert_eq!(
            canonical_path("https://h.example/hook?a=%20"),
            "/hook?a%253D%252520"
        );
        for bare in [
            "https://h.example",
            "https://h.example/",
            "https://h.example?",
        ] {
            assert_eq!(canonical_path(bare), "/", "{bare}");
        }
    }

    /// A delivery signed with `extra` headers, listing `listed` (or the least) as signed.
    fn signed(extra: &[(&'static str, &str)], listed: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, text) in extra {
            headers.append(*name, HeaderValue::from_str(text).unwrap());
        }
        if let Some(listed) = listed {
            headers.insert(SIGNED_HEADERS, HeaderValue::from_str(listed).unwrap());
        }
        let key = signing_secret(SECRET).unwrap();
        let delivery = Delivery {
            url: Some(URL),
            ..Delivery::post(&headers, b"{}")
        };
        let added = sign(&delivery, &key, NOW).unwrap();
        for (name, text) in added {
            headers.insert(name, text);
        }
        headers
    }

    fn check(headers: &HeaderMap, method: &'static str) -> Result<Verified, SignatureError> {
        let delivery = Delivery {
            url: Some(URL),
            method,
            ..Delivery::post(headers, b"{}")
        };
        verify(&delivery, &[signing_secret(SECRET).unwrap()], WINDOW)
    }

    #[test]
    fn listed_headers_are_signed_and_others_are_not() {
        let listed = "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic";
        let mut headers = signed(
            &[
                (TOPIC, "ContentManagement.Entry.publish"),
                ("x-contentful-webhook-name", "Inlet"),
            ],
            Some(listed),
        );
        assert_eq!(headers[SIGNED_HEADERS], listed);
        let verified = check(&headers, "POST").unwrap();
        assert_eq!(
            verified.event_type.as_deref(),
            Some("ContentManagement.Entry.publish")
        );
        assert_eq!(check(&headers, "PUT"), Err(SignatureError::Mismatch));
        headers.insert(
            "x-contentful-webhook-name",
            HeaderValue::from_static("Other"),
        );
        assert!(
            check(&headers, "POST").is_ok(),
            "an unlisted header is not signed"
        );
        headers.insert(
            TOPIC,
            HeaderValue::from_static("ContentManagement.Entry.delete"),
        );
        assert_eq!(check(&headers, "POST"), Err(SignatureError::Mismatch));
        headers.append(
            TOPIC,
            HeaderValue::from_static("ContentManagement.Entry.publish"),
        );
        assert!(matches!(
            check(&headers, "POST"),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn a_list_entry_not_in_lower_case_signs_nothing() {
        // The toolkit compares entries as written with lower-cased header names.
        let headers = signed(
            &[(TOPIC, "ContentManagement.Entry.publish")],
            Some("x-contentful-signed-headers,x-contentful-timestamp,X-Contentful-Topic"),
        );
        assert_eq!(headers[SIGNED_HEADERS], LEAST_SIGNED);
    }

    #[test]
    fn needs_the_url_a_list_and_a_secret_in_contentfuls_format() {
        let headers = signed(&[], None);
        let no_url = Delivery::post(&headers, b"{}");
        let keys = [signing_secret(SECRET).unwrap()];
        assert_eq!(
            verify(&no_url, &keys, WINDOW),
            Err(SignatureError::UrlRequired)
        );
        let mut short = headers.clone();
        short.insert(SIGNED_HEADERS, HeaderValue::from_static(TIMESTAMP));
        assert!(matches!(
            check(&short, "POST"),
            Err(SignatureError::Malformed { .. })
        ));
        assert!(signing_secret(&SECRET[1..]).is_err());
        assert!(signing_secret(&SECRET.replace('g', "!")).is_err());
    }
}
