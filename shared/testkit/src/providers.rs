//! Helpers shared by the signature suites: the schemes under test, keys and bodies that suit each,
//! signing a delivery into a header map, and knowing where each scheme keeps its signature and
//! timestamp so that tests can damage exactly one of them. Header names and encodings come from
//! `Scheme` itself (`signature_header`, `timestamp_header`, `signature_encoding`), never from a
//! table here.

use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_signature::clock;
use inlet_signature::{
    Algorithm, CustomScheme, Delivery, Encoding, Key, Scheme, SignError, SignatureError,
    TokenScheme, Verified, Window, registry,
};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Mutex, OnceLock};

/// 2025-11-22T13:00:00Z: a fixed clock, so failures reproduce.
pub const NOW: i64 = 1_763_816_400;
pub const TOLERANCE: u64 = 300;
/// Query included, so the URL-signing schemes prove they sign more than the path.
pub const URL: &str = "https://hooks.example.com/webhooks/src?team=7";
pub const FORM: &str = "application/x-www-form-urlencoded";

pub const HEX_ALPHABET: &[u8] = b"0123456789abcdef";
pub const HEX_UPPER_ALPHABET: &[u8] = b"0123456789ABCDEF";
pub const BASE64URL_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const BASE64_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn window(now: i64) -> Window {
    Window {
        now,
        tolerance_secs: TOLERANCE,
    }
}

/// A provider of the registry by name; panics for one that is not there.
pub fn named(name: &str) -> Scheme {
    Scheme::named(name).unwrap_or_else(|| panic!("{name} is not a provider"))
}

/// The configurable scheme as architecture.md § Configuration shows it.
pub fn custom_hex() -> Scheme {
    let mut custom = CustomScheme::new("x-signature", Algorithm::Sha256, Encoding::Hex);
    custom.prefix = "sha256=";
    Scheme::Hmac(Box::new(custom))
}

/// A timestamped variant with the longest hash and no prefix.
pub fn custom_sha512() -> Scheme {
    let mut custom = CustomScheme::new("x-signature", Algorithm::Sha512, Encoding::Base64);
    custom.timestamp_header = Some("x-timestamp");
    custom.signed = "{timestamp}.{body}";
    Scheme::Hmac(Box::new(custom))
}

/// A timestamped variant with the shortest hash, a prefix and a non-default separator.
pub fn custom_sha1() -> Scheme {
    let mut custom = CustomScheme::new("x-hook-signature", Algorithm::Sha1, Encoding::Base64);
    custom.prefix = "v1=";
    custom.timestamp_header = Some("x-hook-timestamp");
    custom.signed = "{timestamp}:{body}";
    Scheme::Hmac(Box::new(custom))
}

/// A configured `token` source: a bearer token in `Authorization`.
pub fn custom_token() -> Scheme {
    Scheme::Token(Box::new(TokenScheme {
        prefix: "Bearer ",
        ..TokenScheme::new("authorization")
    }))
}

/// Every provider of the registry, so a new one is under test as soon as its file exists.
pub fn registry_schemes() -> Vec<Scheme> {
    registry::all()
        .iter()
        .map(|p| Scheme::Provider(p))
        .collect()
}

/// Every signing scheme: each provider, three shapes of `hmac` and a `token`.
pub fn all_schemes() -> Vec<Scheme> {
    let mut all = registry_schemes();
    all.extend([custom_hex(), custom_sha512(), custom_sha1(), custom_token()]);
    all
}

/// The providers whose every header and framing the hand-written suites (adversarial, facts,
/// header fuzzing) spell out, and the three `hmac` shapes. What holds for every provider is
/// checked over [`all_schemes`] by the registry suite.
pub const DESCRIBED: &[&str] = &[
    "github",
    "stripe",
    "standard-webhooks",
    "shopify",
    "slack",
    "twilio",
    "paddle",
    "zendesk",
    "square",
    "linear",
    "twitch",
];

pub fn schemes() -> Vec<Scheme> {
    let mut all: Vec<Scheme> = DESCRIBED.iter().map(|name| named(name)).collect();
    all.extend([custom_hex(), custom_sha512(), custom_sha1()]);
    all
}

/// A name that tells the `hmac` variants apart in failure messages.
pub fn label(scheme: &Scheme) -> String {
    match scheme {
        Scheme::Hmac(custom) => format!(
            "hmac({}, {:?}, {:?}, timestamp: {})",
            custom.header,
            custom.algorithm,
            custom.encoding,
            custom.timestamp_header.is_some()
        ),
        other => other.name().to_owned(),
    }
}

/// The secrets a seed stands for, in the provider's own formats. ECDSA key pairs cannot be
/// derived from a seed, so each (provider, seed) keeps the first pair it was given.
pub fn secrets_from(scheme: &Scheme, seed: &[u8]) -> registry::Secrets {
    type Pairs = HashMap<(String, Vec<u8>), registry::Secrets>;
    static PAIRS: OnceLock<Mutex<Pairs>> = OnceLock::new();
    let Some(provider) = scheme.provider() else {
        return registry::Secrets::shared(String::from_utf8_lossy(seed).into_owned());
    };
    let mut pairs = PAIRS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pairs
        .entry((provider.name.to_owned(), seed.to_vec()))
        .or_insert_with(|| provider.secrets_for_seed(seed))
        .clone()
}

/// The verification key for a secret seed.
pub fn key_from(scheme: &Scheme, seed: &[u8]) -> Key {
    let secret = secrets_from(scheme, seed).verify;
    scheme
        .key(&secret)
        .unwrap_or_else(|e| panic!("{}: secret {secret:?} refused: {e}", label(scheme)))
}

/// The signing key for a secret seed: the private key where the provider signs with one.
pub fn signing_key_from(scheme: &Scheme, seed: &[u8]) -> Key {
    let secret = secrets_from(scheme, seed).sign;
    scheme
        .signing_key(&secret)
        .unwrap_or_else(|e| panic!("{}: signing secret refused: {e}", label(scheme)))
}

pub fn key(scheme: &Scheme) -> Key {
    key_from(scheme, b"correct horse battery staple")
}

pub fn other_key(scheme: &Scheme) -> Key {
    key_from(scheme, b"not the configured secret")
}

/// What signs for [`key`].
pub fn signing_key(scheme: &Scheme) -> Key {
    signing_key_from(scheme, b"correct horse battery staple")
}

pub fn url_for(scheme: &Scheme) -> Option<String> {
    scheme.signs_url().then(|| URL.to_owned())
}

/// What a provider would send, JSON for all but Twilio (whose default is a form). It carries every
/// body field any scheme reads, and Linear's timestamp, so one body suits them all.
pub fn body_at(scheme: &Scheme, at: i64) -> Vec<u8> {
    match scheme.name() {
        "twilio" => b"CallSid=CA123&From=%2B15551230000&Body=hello+world".to_vec(),
        _ => linear_body(at * 1000, "{\"n\":1}").into_bytes(),
    }
}

/// A JSON body with Linear's millisecond timestamp first, so tests can rewrite it in place.
pub fn linear_body(millis: i64, data_json: &str) -> String {
    format!(
        "{{\"webhookTimestamp\":{millis},\"id\":\"evt_1\",\"type\":\"thing.done\",\"event_id\":\"ev_2\",\"event_type\":\"thing.done\",\"data\":{data_json}}}"
    )
}

/// Twilio's JSON delivery: the body's hex SHA-256 rides in the signed URL's `bodySHA256`.
pub fn twilio_json(body: &[u8], key: &Key, at: i64) -> Signed {
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body));
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let url = format!("{URL}&bodySHA256={hash}");
    sign(&named("twilio"), headers, body.to_vec(), Some(url), key, at)
}

/// Headers a delivery carries before it is signed.
pub fn base_headers(scheme: &Scheme) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if matches!(scheme.name(), "twilio") {
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(FORM));
    }
    headers
}

/// A delivery with its headers, ready to verify or to damage.
#[derive(Debug, Clone)]
pub struct Signed {
    pub scheme: Scheme,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Option<String>,
}

impl Signed {
    pub fn delivery(&self) -> Delivery<'_> {
        Delivery {
            headers: &self.headers,
            body: &self.body,
            url: self.url.as_deref(),
            method: "POST",
            query: None,
        }
    }

    pub fn verify_keys(&self, keys: &[Key], now: i64) -> Result<Verified, SignatureError> {
        self.scheme.verify(&self.delivery(), keys, window(now))
    }

    pub fn verify(&self, key: &Key) -> Result<Verified, SignatureError> {
        self.verify_keys(std::slice::from_ref(key), NOW)
    }

    /// The signature header's text as signed.
    pub fn signature(&self) -> String {
        let name = signature_header(&self.scheme);
        let value = self
            .headers
            .get(&name)
            .unwrap_or_else(|| panic!("{}: no {name} header", label(&self.scheme)));
        value.to_str().unwrap_or_default().to_owned()
    }

    pub fn set(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    pub fn set_signature(&mut self, text: &str) {
        let value = HeaderValue::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        self.set(signature_header(&self.scheme), value);
    }
}

/// Signs `body` at `at` on top of `headers`, adding exactly what `sign` returns; a provider that
/// carries its signature in the body has it written there first.
pub fn sign(
    scheme: &Scheme,
    headers: HeaderMap,
    body: Vec<u8>,
    url: Option<String>,
    key: &Key,
    at: i64,
) -> Signed {
    try_sign(scheme, headers, body, url, key, at)
        .unwrap_or_else(|e| panic!("{}: cannot sign: {e}", label(scheme)))
}

/// [`sign`], or why the scheme cannot sign this body (Linear's without its timestamp, Figma's or
/// Mailgun's that is not a JSON object): for tests that send bodies no provider would.
pub fn try_sign(
    scheme: &Scheme,
    mut headers: HeaderMap,
    body: Vec<u8>,
    url: Option<String>,
    key: &Key,
    at: i64,
) -> Result<Signed, SignError> {
    let body = match scheme.sign_body(&body, key, at) {
        Some(signed) => signed?,
        None => body,
    };
    let delivery = Delivery {
        url: url.as_deref(),
        ..Delivery::post(&headers, &body)
    };
    let added = scheme.sign(&delivery, key, at)?;
    // Appending rather than inserting: were `sign` to return a header the delivery already has,
    // the duplicate would make verification fail instead of being silently papered over.
    for (name, value) in added {
        headers.append(name, value);
    }
    Ok(Signed {
        scheme: scheme.clone(),
        headers,
        body,
        url,
    })
}

/// The default delivery for `scheme`, signed at `at` with [`key`].
pub fn signed_at(scheme: &Scheme, at: i64) -> Signed {
    sign(
        scheme,
        base_headers(scheme),
        body_at(scheme, at),
        url_for(scheme),
        &signing_key(scheme),
        at,
    )
}

pub fn signed(scheme: &Scheme) -> Signed {
    signed_at(scheme, NOW)
}

/// The header the scheme reads its signature from; panics for the unsigned scheme.
pub fn signature_header(scheme: &Scheme) -> HeaderName {
    scheme.signature_header().unwrap_or_else(|| {
        panic!(
            "{}: an unsigned scheme has no signature header",
            label(scheme)
        )
    })
}

/// How the scheme writes its signature; panics for the unsigned scheme.
pub fn encoding(scheme: &Scheme) -> Encoding {
    scheme
        .signature_encoding()
        .unwrap_or_else(|| panic!("{}: an unsigned scheme has no signature", label(scheme)))
}

pub fn alphabet(scheme: &Scheme) -> &'static [u8] {
    match encoding(scheme) {
        Encoding::Hex => HEX_ALPHABET,
        Encoding::HexUpper => HEX_UPPER_ALPHABET,
        Encoding::Base64 => BASE64_ALPHABET,
        Encoding::Base64Url => BASE64URL_ALPHABET,
    }
}

/// Where the (first) encoded signature sits inside the signature header's text, so tests damage
/// the signature itself rather than the framing around it.
pub fn encoded_range(scheme: &Scheme, text: &str) -> Range<usize> {
    let after = |marker: &str, end: char| -> Range<usize> {
        let start = text
            .find(marker)
            .map(|at| at + marker.len())
            .unwrap_or_else(|| panic!("{}: no {marker:?} in {text:?}", label(scheme)));
        let stop = text[start..].find(end).map_or(text.len(), |at| start + at);
        start..stop
    };
    match scheme.name() {
        "github" | "twitch" => "sha256=".len()..text.len(),
        "slack" => "v0=".len()..text.len(),
        "stripe" => after("v1=", ','),
        "paddle" => after("h1=", ';'),
        "standard-webhooks" => after("v1,", ' '),
        "hmac" => match scheme {
            Scheme::Hmac(custom) => custom.prefix.len()..text.len(),
            _ => 0..text.len(),
        },
        _ => longest_run(scheme, text),
    }
}

/// The longest run of the signature's alphabet in the header's text, with any padding after it:
/// the encoded signature, whatever framing (`sha256=`, `v1,`, `t=…,v1=`) surrounds it. A token
/// has no alphabet: all of it.
pub fn longest_run(scheme: &Scheme, text: &str) -> Range<usize> {
    if scheme.signature_encoding().is_none() {
        return 0..text.len();
    }
    let alphabet = alphabet(scheme);
    let bytes = text.as_bytes();
    let (mut best, mut start) = (0..0, None);
    for (at, byte) in bytes.iter().enumerate().chain([(bytes.len(), &b' ')]) {
        match (alphabet.contains(byte), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                if at - from > best.len() {
                    best = from..at;
                }
                start = None;
            }
            _ => {}
        }
    }
    let mut end = best.end;
    while bytes.get(end) == Some(&b'=') {
        end += 1;
    }
    best.start..end
}

pub fn replace_range(text: &str, range: Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &text[..range.start], &text[range.end..])
}

/// How a scheme writes its timestamp for the instant `at` (seconds).
pub fn timestamp_text(scheme: &Scheme, at: i64) -> String {
    match scheme.name() {
        "linear" => (at * 1000).to_string(),
        _ if writes_rfc3339(scheme) => clock::format_rfc3339_secs(at),
        _ => at.to_string(),
    }
}

/// Whether the scheme's timestamp header holds an RFC 3339 date-time rather than epoch seconds:
/// read from what `sign` writes there, not listed.
pub fn writes_rfc3339(scheme: &Scheme) -> bool {
    let Some(name) = scheme.timestamp_header() else {
        return false;
    };
    let fresh = signed(scheme);
    let text = fresh.headers.get(&name).and_then(|v| v.to_str().ok());
    text.is_some_and(|text| !text.bytes().all(|b| b.is_ascii_digit()))
}

/// Writes `text` where the scheme keeps its timestamp, leaving the signature as it was. Returns
/// false for schemes without a timestamp.
pub fn set_timestamp(signed: &mut Signed, text: &str) -> bool {
    let scheme = signed.scheme.clone();
    match scheme.name() {
        "stripe" | "paddle" => {
            let (marker, end) = if matches!(scheme.name(), "stripe") {
                ("t=", ',')
            } else {
                ("ts=", ';')
            };
            let current = signed.signature();
            let range = {
                let start = current.find(marker).map(|at| at + marker.len());
                let start = start.unwrap_or_else(|| panic!("no {marker:?} in {current:?}"));
                let stop = current[start..]
                    .find(end)
                    .map_or(current.len(), |at| start + at);
                start..stop
            };
            signed.set_signature(&replace_range(&current, range, text));
        }
        "linear" => {
            let mut json: serde_json::Value =
                serde_json::from_slice(&signed.body).unwrap_or_else(|e| panic!("body: {e}"));
            let stamp = text
                .parse::<i64>()
                .map_or_else(|_| serde_json::Value::from(text), serde_json::Value::from);
            json["webhookTimestamp"] = stamp;
            signed.body = serde_json::to_vec(&json).unwrap_or_default();
        }
        _ => {
            let Some(name) = timestamp_header(&scheme) else {
                return false;
            };
            let value = HeaderValue::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            signed.set(name, value);
        }
    }
    true
}

/// The header carrying the timestamp, for schemes that give it a header of its own.
pub fn timestamp_header(scheme: &Scheme) -> Option<HeaderName> {
    scheme.timestamp_header()
}

/// "ok" or the reason code, so assertions print one comparable word.
pub fn code(result: &Result<Verified, SignatureError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}
