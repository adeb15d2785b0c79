//! Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1(auth token, url + sorted form params)>`. JSON
//! bodies are signed through the URL instead: its `bodySHA256` query parameter holds the body's
//! hex SHA-256, and the signature covers the URL alone.

use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, optional_header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use http::HeaderName;
use std::borrow::Cow;
use subtle::ConstantTimeEq;

const SIGNATURE: &str = "x-twilio-signature";
const BODY_HASH_PARAM: &str = "bodySHA256";

fn is_form(delivery: &Delivery<'_>) -> bool {
    delivery
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// What Twilio signs after the URL: every form parameter as `name + value`, sorted. A URL with
/// `bodySHA256` signs none: the body is covered by that hash instead.
fn signed_params(delivery: &Delivery<'_>, url: &str) -> Vec<u8> {
    if !is_form(delivery) || query_param(url, BODY_HASH_PARAM).is_some() {
        return Vec::new();
    }
    let mut params: Vec<(Cow<'_, str>, Cow<'_, str>)> =
        url::form_urlencoded::parse(delivery.body).collect();
    params.sort();
    let mut joined = Vec::with_capacity(delivery.body.len());
    for (name, value) in params {
        joined.extend_from_slice(name.as_bytes());
        joined.extend_from_slice(value.as_bytes());
    }
    joined
}

/// The URL with the scheme's default port (`:443` for https, `:80` for http) removed when it is
/// written, or added when no port is; `None` for another scheme or another port.
fn with_default_port_toggled(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let port = match scheme.to_ascii_lowercase().as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // The port follows the host, after any userinfo and outside an IPv6 literal's brackets.
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let after_brackets = host.rfind(']').map_or(host, |at| &host[at..]);
    if let Some(bare) = authority.strip_suffix(port) {
        return Some(format!("{scheme}://{bare}{tail}"));
    }
    if after_brackets.contains(':') {
        return None;
    }
    Some(format!("{scheme}://{authority}{port}{tail}"))
}

fn query_param<'a>(url: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let url = delivery.url.ok_or(SignatureError::UrlRequired)?;
    let signature = Encoding::Base64.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    let body_hash = query_param(url, BODY_HASH_PARAM);
    // Content-Type is not signed, so it must not decide whether the hash is checked: otherwise a
    // JSON delivery's signature, replayed as a form with no parameters, would verify any such body.
    if body_hash.is_some() || !is_form(delivery) {
        // The URL's signature covers the body only through this hash, so it must be there and match.
        let expected = body_hash.ok_or(SignatureError::Malformed {
            field: "url",
            why: "a non-form body needs the bodySHA256 query parameter",
        })?;
        let expected = Encoding::Hex.decode("bodySHA256", &expected)?;
        let actual = crypto::sha256(&[delivery.body]);
        if !bool::from(actual.as_slice().ct_eq(&expected)) {
            return Err(SignatureError::Mismatch);
        }
    }
    let params = signed_params(delivery, url);
    // Twilio's own validators accept the URL with or without the scheme's default port: the
    // configured URL may say `:443` where Twilio signed without it, or the other way round.
    let other = with_default_port_toggled(url);
    let signed_as = std::iter::once(url).chain(other.as_deref());
    let mut matched = Err(SignatureError::Mismatch);
    for candidate in signed_as {
        let result = crypto::any_match(
            Algorithm::Sha1,
            keys,
            &[candidate.as_bytes(), &params],
            std::slice::from_ref(&signature),
        );
        matched = matched.or(result);
    }
    matched?;
    Ok(Verified {
        event_id: optional_header(delivery.headers, "i-twilio-idempotency-token")?
            .map(str::to_owned),
        event_type: None,
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let url = delivery.url.ok_or(SignError::UrlRequired)?;
    // Such a signature would never verify: only the hash in the URL can cover a non-form body.
    if !is_form(delivery) && query_param(url, BODY_HASH_PARAM).is_none() {
        return Err(SignError::BodyHashRequired);
    }
    let params = signed_params(delivery, url);
    let tag = crypto::hmac(Algorithm::Sha1, key.as_bytes(), &[url.as_bytes(), &params]);
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(Encoding::Base64.encode(tag.as_slice())),
    )])
}

static CODE: Code = Code {
    facts: Facts {
        id_header: Some("i-twilio-idempotency-token"),
        signs_url: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "HMAC-SHA1 of URL + sorted form parameters (JSON: URL with `bodySHA256`), base64",
    key_format: "the account's auth token, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "twilio",
    aliases: &[],
    title: "Twilio",
    docs: "https://www.twilio.com/docs/usage/webhooks/webhooks-security",
    handshake: None,
    json_body: false,
    informative_headers: &["i-twilio-idempotency-token"],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use http::{HeaderMap, HeaderValue};

    #[test]
    fn the_default_port_is_toggled_and_nothing_else() {
        let cases = [
            (
                "https://a.example/x?y=1",
                Some("https://a.example:443/x?y=1"),
            ),
            ("https://a.example:443/x", Some("https://a.example/x")),
            ("http://a.example", Some("http://a.example:80")),
            ("http://a.example:80?q", Some("http://a.example?q")),
            ("https://a.example:8443/x", None),
            (
                "https://[2001:db8::1]/x",
                Some("https://[2001:db8::1]:443/x"),
            ),
            (
                "https://user:pw@a.example/x",
                Some("https://user:pw@a.example:443/x"),
            ),
            ("ftp://a.example/x", None),
        ];
        for (url, toggled) in cases {
            assert_eq!(with_default_port_toggled(url).as_deref(), toggled, "{url}");
        }
    }

    #[test]
    fn a_signature_over_the_url_with_or_without_the_default_port_verifies() {
        let key = Key::secret(b"12345".to_vec());
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let body = b"CallSid=CA1&From=%2B15551230000";
        let window = Window {
            now: 0,
            tolerance_secs: 300,
        };
        for (signed_with, configured) in [
            (
                "https://hooks.example.com/t?x=1",
                "https://hooks.example.com:443/t?x=1",
            ),
            (
                "https://hooks.example.com:443/t?x=1",
                "https://hooks.example.com/t?x=1",
            ),
        ] {
            let delivery = Delivery {
                url: Some(signed_with),
                ..Delivery::post(&headers, body)
            };
            let mut signed = headers.clone();
            for (name, value) in sign(&delivery, &key, 0).unwrap() {
                signed.insert(name, value);
            }
            let received = Delivery {
                url: Some(configured),
                ..Delivery::post(&signed, body)
            };
            assert!(verify(&received, std::slice::from_ref(&key), window).is_ok());
            // Another port is another URL.
            let elsewhere = Delivery {
                url: Some("https://hooks.example.com:8443/t?x=1"),
                ..Delivery::post(&signed, body)
            };
            assert_eq!(
                verify(&elsewhere, std::slice::from_ref(&key), window),
                Err(SignatureError::Mismatch)
            );
        }
    }
}
