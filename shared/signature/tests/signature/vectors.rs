//! The published vectors in `shared/vectors/signatures.json`, and known answers computed here with
//! the `hmac` crate directly, so that `sign` is checked against something other than `verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_signature::clock;
use inlet_signature::{Delivery, Key, Scheme, SignatureError, Verified};
use inlet_testkit::providers;
use inlet_testkit::providers::{NOW, URL, code, key, label, sign, window};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
struct Vector {
    name: String,
    scheme: String,
    secret: String,
    body: String,
    headers: BTreeMap<String, String>,
    valid: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    now: Option<i64>,
    #[serde(default)]
    url: Option<String>,
}

impl Vector {
    fn scheme(&self) -> Scheme {
        Scheme::named(&self.scheme)
            .unwrap_or_else(|| panic!("{}: unknown scheme {:?}", self.name, self.scheme))
    }

    fn key(&self) -> Key {
        self.scheme()
            .key(&self.secret)
            .unwrap_or_else(|e| panic!("{}: secret refused: {e}", self.name))
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| panic!("{}: header name {name:?}: {e}", self.name));
            let value = HeaderValue::from_str(value)
                .unwrap_or_else(|e| panic!("{}: header value {value:?}: {e}", self.name));
            headers.append(name, value);
        }
        headers
    }

    /// The clock to verify at: the vector's, else the delivery's own timestamp (so a vector that
    /// omits `now` is judged at the moment it was signed), else a fixed instant for schemes that
    /// have no timestamp and ignore the clock.
    fn now(&self) -> i64 {
        self.now.unwrap_or_else(|| {
            self.headers
                .iter()
                .filter(|(name, _)| name.to_ascii_lowercase().ends_with("timestamp"))
                .find_map(|(_, value)| {
                    value
                        .parse::<i64>()
                        .ok()
                        .or_else(|| clock::parse_rfc3339(value))
                })
                .unwrap_or(NOW)
        })
    }

    fn verify_with(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        keys: &[Key],
    ) -> Result<Verified, SignatureError> {
        let delivery = Delivery {
            headers,
            body,
            url: self.url.as_deref(),
        };
        self.scheme().verify(&delivery, keys, window(self.now()))
    }

    fn verify(&self) -> Result<Verified, SignatureError> {
        self.verify_with(&self.headers(), self.body.as_bytes(), &[self.key()])
    }
}

fn vectors() -> Vec<Vector> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/signatures.json");
    // A missing file must fail the suite: skipping would pass it with nothing checked.
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the published signature vectors are missing at {}: {e}. They are part of the \
             repository, and these tests cannot run without them.",
            path.display()
        )
    });
    let file: VectorFile = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not the expected JSON: {e}", path.display()));
    assert!(
        !file.vectors.is_empty(),
        "{} holds no vectors",
        path.display()
    );
    file.vectors
}

#[test]
fn every_published_vector_gets_its_published_verdict() {
    let mut failures = Vec::new();
    for vector in vectors() {
        let result = vector.verify();
        let verdict = match (&result, vector.valid, &vector.reason) {
            (Ok(_), true, _) => None,
            (Err(e), false, Some(reason)) if e.code() == reason => None,
            (Err(_), false, None) => None,
            _ => Some(format!(
                "{} ({}): expected {}, got {} ({result:?})",
                vector.name,
                vector.scheme,
                if vector.valid {
                    "valid".to_owned()
                } else {
                    format!(
                        "rejected ({})",
                        vector.reason.as_deref().unwrap_or("any reason")
                    )
                },
                code(&result),
            )),
        };
        failures.extend(verdict);
    }
    assert!(
        failures.is_empty(),
        "vectors failed:\n{}",
        failures.join("\n")
    );
}

/// Guards the test above: were verification to accept anything, the valid vectors alone would
/// still pass. A changed body or a different secret must turn each of them into a rejection.
#[test]
fn published_valid_vectors_fail_once_body_or_secret_changes() {
    for vector in vectors().into_iter().filter(|v| v.valid) {
        let headers = vector.headers();
        let mut body = vector.body.clone().into_bytes();
        match body.last_mut() {
            Some(last) => *last ^= 0x01,
            None => body.push(b'x'),
        }
        let tampered = vector.verify_with(&headers, &body, &[vector.key()]);
        assert!(tampered.is_err(), "{}: tampered body accepted", vector.name);

        let stranger = vector.scheme().key("whsec_c29tZW9uZSBlbHNl").unwrap();
        let result = vector.verify_with(&headers, vector.body.as_bytes(), &[stranger]);
        assert_eq!(code(&result), "signature_mismatch", "{}", vector.name);
    }
}

/// `sign` must reproduce what the providers published: the same headers for the same inputs.
#[test]
fn sign_reproduces_every_published_valid_vector() {
    for vector in vectors().into_iter().filter(|v| v.valid) {
        let headers = vector.headers();
        let delivery = Delivery {
            headers: &headers,
            body: vector.body.as_bytes(),
            url: vector.url.as_deref(),
        };
        let added = vector
            .scheme()
            .sign(&delivery, &vector.key(), vector.now())
            .unwrap_or_else(|e| panic!("{}: {e}", vector.name));
        assert!(!added.is_empty(), "{}: sign added nothing", vector.name);
        for (name, value) in added {
            assert_eq!(
                headers.get(&name),
                Some(&value),
                "{}: sign's {name} differs from the published one",
                vector.name
            );
        }
    }
}

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
    let headers = signed_headers(&Scheme::Github, HeaderMap::new(), None);
    assert_eq!(headers["x-hub-signature-256"], format!("sha256={expected}"));
}

#[test]
fn stripe_signs_timestamp_dot_body_with_the_secret_text() {
    let message = format!("{NOW}.{}", body_text());
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let headers = signed_headers(&Scheme::Stripe, HeaderMap::new(), None);
    assert_eq!(
        headers["stripe-signature"],
        format!("t={NOW},v1={expected}")
    );
}

#[test]
fn slack_signs_v0_timestamp_body() {
    let message = format!("v0:{NOW}:{}", body_text());
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let headers = signed_headers(&Scheme::Slack, HeaderMap::new(), None);
    assert_eq!(headers["x-slack-signature"], format!("v0={expected}"));
    assert_eq!(headers["x-slack-request-timestamp"], NOW.to_string());
}

#[test]
fn standard_webhooks_signs_id_timestamp_body_with_the_decoded_secret() {
    let raw = b"a raw 24-byte secret key";
    let secret = format!("whsec_{}", STANDARD.encode(raw));
    let scheme = Scheme::StandardWebhooks;
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
    let headers = signed_headers(&Scheme::Shopify, HeaderMap::new(), None);
    assert_eq!(headers["x-shopify-hmac-sha256"], expected);
}

#[test]
fn paddle_signs_timestamp_colon_body() {
    let message = format!("{NOW}:{}", body_text());
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let headers = signed_headers(&Scheme::Paddle, HeaderMap::new(), None);
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
    let headers = signed_headers(&Scheme::Zendesk, HeaderMap::new(), None);
    assert_eq!(headers["x-zendesk-webhook-signature"], expected);
    assert_eq!(headers["x-zendesk-webhook-signature-timestamp"], timestamp);
}

#[test]
fn square_signs_the_notification_url_then_the_body() {
    let message = format!("{URL}{}", body_text());
    let expected = STANDARD.encode(hmac_sha256(SECRET.as_bytes(), message.as_bytes()));
    let headers = signed_headers(&Scheme::Square, HeaderMap::new(), Some(URL));
    assert_eq!(headers["x-square-hmacsha256-signature"], expected);
}

#[test]
fn linear_signs_the_body_as_sha256_hex() {
    let expected = hex::encode(hmac_sha256(SECRET.as_bytes(), BODY));
    let headers = signed_headers(&Scheme::Linear, HeaderMap::new(), None);
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
    let signed = signed_headers(&Scheme::Twitch, headers, None);
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
    let scheme = Scheme::Twilio;
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
    let scheme = Scheme::Twilio;
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
