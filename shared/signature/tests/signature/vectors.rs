//! Known answers computed here with the `hmac` crate directly, so that `sign` is checked against
//! something other than `verify`. The published vectors, one file per provider under
//! `tests/data/vectors/`, run as the crate's unit tests (`src/vector_check.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue};
use inlet_signature::Scheme;
use inlet_testkit::providers;
use inlet_testkit::providers::named;
use inlet_testkit::providers::{NOW, URL, code, key, label, sign};
use std::collections::BTreeMap;

// Known answers: the signed bytes spelled out per architecture.md § Signature schemes and
// MAC'd here.

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha512(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

const SECRET: &str = "It's a Secret to Everybody";
const BODY: &[u8] = b"{\"id\":\"evt_1\",\"type\":\"ping\",\"webhookTimestamp\":1763816400000}";

/// Signs `BODY` with `SECRET` and returns the added headers as text, keyed by lowercase name.
fn signed_headers(
    scheme: &Scheme,
    headers: HeaderMap,
    url: Option<&str>,
) -> BTreeMap<String, String> {
    let key = scheme.key(SECRET).unwrap();
    let signed = sign(
        scheme,
        headers,
        BODY.to_vec(),
        url.map(str::to_owned),
        &key,
        NOW,
    );
    // The known answer only counts if the delivery also verifies.
    assert!(signed.verify(&key).is_ok(), "{}", label(scheme));
    signed
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect()
}

fn body_text() -> &'static str {
    std::str::from_utf8(BODY).unwrap()
}

#[test]
fn github_signs_the_body_alone_as_sha256_hex() {
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), BODY));
    let headers = signed_headers(&named("github"), HeaderMap::new(), None);
    assert_eq!(headers["x-hub-signature-256"], format!("sha256={expected}"));
}

#[test]
fn stripe_signs_timestamp_dot_body_with_the_secret_text() {
    let message = format!("{NOW}.{}", body_text());
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let headers = signed_headers(&named("stripe"), HeaderMap::new(), None);
    assert_eq!(
        headers["stripe-signature"],
        format!("t={NOW},v1={expected}")
    );
}

#[test]
fn slack_signs_v0_timestamp_body() {
    let message = format!("v0:{NOW}:{}", body_text());
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let headers = signed_headers(&named("slack"), HeaderMap::new(), None);
    assert_eq!(headers["x-slack-signature"], format!("v0={expected}"));
    assert_eq!(headers["x-slack-request-timestamp"], NOW.to_string());
}

#[test]
fn standard_webhooks_signs_id_timestamp_body_with_the_decoded_secret() {
    let raw = b"a raw 24-byte secret key";
    let secret = format!("whsec_{}", STANDARD.encode(raw));
    let scheme = named("standard-webhooks");
    let key = scheme.key(&secret).unwrap();
    assert_eq!(key.as_bytes(), raw, "the key is the base64-decoded secret");

    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", HeaderValue::from_static("msg_42"));
    let signed = sign(&scheme, headers, BODY.to_vec(), None, &key, NOW);
    let message = format!("msg_42.{NOW}.{}", body_text());
    let expected = STANDARD.encode(hmac_sha256(raw, message.as_bytes()));
    assert_eq!(
        signed.headers["webhook-signature"],
        format!("v1,{expected}")
    );
    assert_eq!(
        signed.headers["webhook-timestamp"],
        NOW.to_string().as_str()
    );
    assert!(signed.verify(&key).is_ok());
}

#[test]
fn shopify_signs_the_body_as_sha256_base64() {
    let expected = STANDARD.encode(hmac_sha256(SECRET.as_bytes(), BODY));
    let headers = signed_headers(&named("shopify"), HeaderMap::new(), None);
    assert_eq!(headers["x-shopify-hmac-sha256"], expected);
}

#[test]
fn paddle_signs_timestamp_colon_body() {
    let message = format!("{NOW}:{}", body_text());
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let headers = signed_headers(&named("paddle"), HeaderMap::new(), None);
    assert_eq!(
        headers["paddle-signature"],
        format!("ts={NOW};h1={expected}")
    );
}

#[test]
fn zendesk_signs_the_iso_timestamp_then_the_body() {
    let timestamp = "2025-11-22T13:00:00Z";
    let message = format!("{timestamp}{}", body_text());
    let expected = STANDARD.encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let headers = signed_headers(&named("zendesk"), HeaderMap::new(), None);
    assert_eq!(headers["x-zendesk-webhook-signature"], expected);
    assert_eq!(headers["x-zendesk-webhook-signature-timestamp"], timestamp);
}

#[test]
fn square_signs_the_notification_url_then_the_body() {
    let message = format!("{URL}{}", body_text());
    let expected = STANDARD.encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let headers = signed_headers(&named("square"), HeaderMap::new(), Some(URL));
    assert_eq!(headers["x-square-hmacsha256-signature"], expected);
}

#[test]
fn linear_signs_the_body_as_sha256_hex() {
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), BODY));
    let headers = signed_headers(&named("linear"), HeaderMap::new(), None);
    assert_eq!(headers["linear-signature"], expected);
}

#[test]
fn twitch_signs_id_timestamp_body() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "twitch-eventsub-message-id",
        HeaderValue::from_static("e76c6bd4-55c9-4987-8304-da1588d8988b"),
    );
    let message = format!(
        "e76c6bd4-55c9-4987-8304-da1588d8988b2025-11-22T13:00:00Z{}",
        body_text()
    );
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let signed = signed_headers(&named("twitch"), headers, None);
    assert_eq!(
        signed["twitch-eventsub-message-signature"],
        format!("sha256={expected}")
    );
}

#[test]
fn twilio_signs_url_and_sorted_form_parameters_with_sha1() {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(providers::FORM),
    );
    let scheme = named("twilio");
    let key = scheme.key(SECRET).unwrap();
    // Out of order, repeated and percent-encoded, so sorting and decoding both matter.
    let body = b"To=%2B1555&Body=hi+there&From=x&Body=again".to_vec();
    let signed = sign(&scheme, headers, body, Some(URL.to_owned()), &key, NOW);
    let message = format!("{URL}BodyagainBodyhi thereFromxTo+1555");
    let expected = STANDARD.encode(hmac_sha1(SECRET.as_bytes(), message.as_bytes()));
    assert_eq!(signed.headers["x-twilio-signature"], expected.as_str());
    assert!(signed.verify(&key).is_ok());
}

#[test]
fn twilio_json_bodies_sign_the_url_that_carries_the_body_hash() {
    let scheme = named("twilio");
    let key = scheme.key(SECRET).unwrap();
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(BODY));
    let url = format!("{URL}&bodySHA256={hash}");
    let signed = sign(
        &scheme,
        HeaderMap::new(),
        BODY.to_vec(),
        Some(url.clone()),
        &key,
        NOW,
    );
    let expected = STANDARD.encode(hmac_sha1(SECRET.as_bytes(), url.as_bytes()));
    assert_eq!(signed.headers["x-twilio-signature"], expected.as_str());
    assert!(signed.verify(&key).is_ok());
}

#[test]
fn custom_hmac_signs_per_its_settings() {
    let cases: [(Scheme, &str, Vec<u8>); 3] = [
        (
            providers::custom_hex(),
            "x-signature",
            format!(
                "sha256={}",
                hex::encode(hmac_sha256(SECRET.as_bytes(), BODY))
            )
            .into_bytes(),
        ),
        (
            providers::custom_sha512(),
            "x-signature",
            STANDARD
                .encode(hmac_sha512(
                    SECRET.as_bytes(),
                    format!("{NOW}.{}", body_text()).as_bytes(),
                ))
                .into_bytes(),
        ),
        (
            providers::custom_sha1(),
            "x-hook-signature",
            format!(
                "v1={}",
                STANDARD.encode(hmac_sha1(
                    SECRET.as_bytes(),
                    format!("{NOW}:{}", body_text()).as_bytes()
                ))
            )
            .into_bytes(),
        ),
    ];
    for (scheme, header, expected) in cases {
        let headers = signed_headers(&scheme, HeaderMap::new(), None);
        assert_eq!(
            headers[header].as_bytes(),
            expected.as_slice(),
            "{}",
            label(&scheme)
        );
        if scheme.has_timestamp() {
            let timestamp_header = providers::timestamp_header(&scheme).unwrap();
            assert_eq!(headers[timestamp_header.as_str()], NOW.to_string());
        }
    }
}

/// Every scheme's own `sign` output verifies with the key it used, and only with that key.
#[test]
fn a_key_other_than_the_signing_one_is_a_mismatch() {
    for scheme in providers::schemes() {
        let signed = providers::signed(&scheme);
        assert_eq!(
            code(&signed.verify(&key(&scheme))),
            "ok",
            "{}",
            label(&scheme)
        );
        let result = signed.verify(&providers::other_key(&scheme));
        assert_eq!(code(&result), "signature_mismatch", "{}", label(&scheme));
    }
}
