//! Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1(auth token, url + sorted form params)>`. JSON
//! bodies are signed through the URL instead: its `bodySHA256` query parameter holds the body's
//! hex SHA-256, and the signature covers the URL alone.

use crate::crypto::{self, Algorithm, Encoding};
use crate::registry::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::{
    Delivery, Key, SignError, SignatureError, SignedHeader, Verified, Window, header,
    optional_header, value,
};
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
    crypto::any_match(
        Algorithm::Sha1,
        keys,
        &[url.as_bytes(), &params],
        &[signature],
    )?;
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
    how: How::Code(&CODE),
};
