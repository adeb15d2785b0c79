//! Helpers shared by the signature suites: the schemes under test, keys and bodies that suit each,
//! signing a delivery into a header map, and knowing where each scheme keeps its signature and
//! timestamp so that tests can damage exactly one of them. Header names and encodings come from
//! `Scheme` itself (`signature_header`, `timestamp_header`, `signature_encoding`), never from a
//! table here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_signature::clock;
use inlet_signature::{
    Algorithm, CustomScheme, Delivery, Encoding, Key, NAMED_SCHEMES, Scheme, SignatureError,
    Verified, Window,
};
use std::ops::Range;

/// 2025-11-22T13:00:00Z: a fixed clock, so failures reproduce.
pub const NOW: i64 = 1_763_816_400;
pub const TOLERANCE: u64 = 300;
/// Query included, so the URL-signing schemes prove they sign more than the path.
pub const URL: &str = "https://hooks.example.com/webhooks/src?team=7";
pub const FORM: &str = "application/x-www-form-urlencoded";

pub const HEX_ALPHABET: &[u8] = b"0123456789abcdef";
pub const BASE64_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn window(now: i64) -> Window {
    Window {
        now,
        tolerance_secs: TOLERANCE,
    }
}

/// The configurable scheme as architecture.md § Configuration shows it.
pub fn custom_hex() -> Scheme {
    let mut custom = CustomScheme::new(
        HeaderName::from_static("x-signature"),
        Algorithm::Sha256,
        Encoding::Hex,
    );
    custom.prefix = "sha256=".to_owned();
    Scheme::Hmac(Box::new(custom))
}

/// A timestamped variant with the longest hash and no prefix.
pub fn custom_sha512() -> Scheme {
    let mut custom = CustomScheme::new(
        HeaderName::from_static("x-signature"),
        Algorithm::Sha512,
        Encoding::Base64,
    );
    custom.timestamp_header = Some(HeaderName::from_static("x-timestamp"));
    Scheme::Hmac(Box::new(custom))
}

/// A timestamped variant with the shortest hash, a prefix and a non-default separator.
pub fn custom_sha1() -> Scheme {
    let mut custom = CustomScheme::new(
        HeaderName::from_static("x-hook-signature"),
        Algorithm::Sha1,
        Encoding::Base64,
    );
    custom.prefix = "v1=".to_owned();
    custom.timestamp_header = Some(HeaderName::from_static("x-hook-timestamp"));
    custom.timestamp_separator = ":".to_owned();
    Scheme::Hmac(Box::new(custom))
}

/// Every signing scheme: each named one and three shapes of `hmac`.
pub fn schemes() -> Vec<Scheme> {
    // Every named scheme once (an alias such as `svix` names one already listed), from the
    // signature crate's own list, so a new scheme is under test as soon as it is named.
    let mut all: Vec<Scheme> = Vec::new();
    for name in NAMED_SCHEMES {
        let scheme = Scheme::named(name).unwrap_or_else(|| panic!("{name} is not a scheme"));
        if !all.contains(&scheme) {
            all.push(scheme);
        }
    }
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

/// The key for a secret seed. Standard Webhooks secrets are base64, so the seed is encoded the way
/// a provider would hand it out; every other scheme uses the secret text as is.
pub fn key_from(scheme: &Scheme, seed: &[u8]) -> Key {
    let secret = match scheme {
        Scheme::StandardWebhooks => format!("whsec_{}", STANDARD.encode(seed)),
        _ => String::from_utf8_lossy(seed).into_owned(),
    };
    scheme
        .key(&secret)
        .unwrap_or_else(|e| panic!("{}: secret {secret:?} refused: {e}", label(scheme)))
}

pub fn key(scheme: &Scheme) -> Key {
    key_from(scheme, b"correct horse battery staple")
}

pub fn other_key(scheme: &Scheme) -> Key {
    key_from(scheme, b"not the configured secret")
}

pub fn url_for(scheme: &Scheme) -> Option<String> {
    scheme.signs_url().then(|| URL.to_owned())
}

/// What a provider would send, JSON for all but Twilio (whose default is a form). It carries every
/// body field any scheme reads, and Linear's timestamp, so one body suits them all.
pub fn body_at(scheme: &Scheme, at: i64) -> Vec<u8> {
    match scheme {
        Scheme::Twilio => b"CallSid=CA123&From=%2B15551230000&Body=hello+world".to_vec(),
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
    sign(&Scheme::Twilio, headers, body.to_vec(), Some(url), key, at)
}

/// Headers a delivery carries before it is signed.
pub fn base_headers(scheme: &Scheme) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if matches!(scheme, Scheme::Twilio) {
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

/// Signs `body` at `at` on top of `headers`, adding exactly what `sign` returns.
pub fn sign(
    scheme: &Scheme,
    mut headers: HeaderMap,
    body: Vec<u8>,
    url: Option<String>,
    key: &Key,
    at: i64,
) -> Signed {
    let delivery = Delivery {
        headers: &headers,
        body: &body,
        url: url.as_deref(),
    };
    let added = scheme
        .sign(&delivery, key, at)
        .unwrap_or_else(|e| panic!("{}: sign failed: {e}", label(scheme)));
    // Appending rather than inserting: were `sign` to return a header the delivery already has,
    // the duplicate would make verification fail instead of being silently papered over.
    for (name, value) in added {
        headers.append(name, value);
    }
    Signed {
        scheme: scheme.clone(),
        headers,
        body,
        url,
    }
}

/// The default delivery for `scheme`, signed at `at` with [`key`].
pub fn signed_at(scheme: &Scheme, at: i64) -> Signed {
    sign(
        scheme,
        base_headers(scheme),
        body_at(scheme, at),
        url_for(scheme),
        &key(scheme),
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
        Encoding::Base64 => BASE64_ALPHABET,
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
    match scheme {
        Scheme::Github | Scheme::Twitch => "sha256=".len()..text.len(),
        Scheme::Slack => "v0=".len()..text.len(),
        Scheme::Stripe => after("v1=", ','),
        Scheme::Paddle => after("h1=", ';'),
        Scheme::StandardWebhooks => after("v1,", ' '),
        Scheme::Hmac(custom) => custom.prefix.len()..text.len(),
        _ => 0..text.len(),
    }
}

pub fn replace_range(text: &str, range: Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &text[..range.start], &text[range.end..])
}

/// How a scheme writes its timestamp for the instant `at` (seconds).
pub fn timestamp_text(scheme: &Scheme, at: i64) -> String {
    match scheme {
        Scheme::Linear => (at * 1000).to_string(),
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
    match &scheme {
        Scheme::Stripe | Scheme::Paddle => {
            let (marker, end) = if matches!(scheme, Scheme::Stripe) {
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
        Scheme::Linear => {
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
