//! A delivery as a scheme sees it, what verifying one gives back, and the header readers every
//! scheme shares.

use super::crypto;
use super::error::SignatureError;
use http::{HeaderMap, HeaderName, HeaderValue};

/// What a scheme sees of a delivery.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub headers: &'a HeaderMap,
    /// The raw body bytes, exactly as the provider sent them.
    pub body: &'a [u8],
    /// The public URL the provider posted to, query included, for schemes that sign it.
    pub url: Option<&'a str>,
    /// The HTTP method, for schemes that sign it (HubSpot) or answer a GET handshake (Meta).
    pub method: &'a str,
    /// The request's query string as received, for handshakes that read it.
    pub query: Option<&'a str>,
}

impl<'a> Delivery<'a> {
    /// A POST of `body` with `headers`, no URL and no query.
    pub fn post(headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Self {
            headers,
            body,
            url: None,
            method: "POST",
            query: None,
        }
    }
}

/// The clock and the replay window to verify against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Seconds since the Unix epoch.
    pub now: i64,
    pub tolerance_secs: u64,
}

/// A delivery whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    /// The provider's id for this event, where it gives one.
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    /// A handshake the provider expects answered instead of an event being queued.
    pub handshake: Option<Handshake>,
}

/// The answer to an endpoint-ownership challenge, computed only once the request is authentic.
/// It is always a 200; what differs between providers is the body and, for some, a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub body: HandshakeBody,
    /// A header to echo back, such as Asana's `X-Hook-Secret`.
    pub header: Option<(&'static str, String)>,
    /// A signing secret the handshake hands over (Asana's), to be kept as the source's secret.
    /// Set only once the handshake proved itself with the source's enrolment token.
    pub install_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeBody {
    Json(serde_json::Value),
    Text(String),
    Empty,
}

impl Handshake {
    pub fn json(value: serde_json::Value) -> Self {
        Self {
            body: HandshakeBody::Json(value),
            header: None,
            install_secret: None,
        }
    }

    pub fn text(text: String) -> Self {
        Self {
            body: HandshakeBody::Text(text),
            header: None,
            install_secret: None,
        }
    }

    pub fn empty() -> Self {
        Self {
            body: HandshakeBody::Empty,
            header: None,
            install_secret: None,
        }
    }

    /// What a client sees of the answer, for `inlet verify` and logs: the body as sent.
    pub fn body_text(&self) -> String {
        match &self.body {
            HandshakeBody::Json(value) => value.to_string(),
            HandshakeBody::Text(text) => text.clone(),
            HandshakeBody::Empty => String::new(),
        }
    }
}

/// A header to add to a delivery so that it verifies.
pub type SignedHeader = (HeaderName, HeaderValue);

/// Reads a header that must appear once, as visible ASCII.
pub(crate) fn header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<&'a str, SignatureError> {
    optional_header(headers, name)?.ok_or(SignatureError::Missing(name))
}

/// Reads a header that may be absent; present, it must appear once, as visible ASCII.
pub(crate) fn optional_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, SignatureError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(SignatureError::Malformed {
            field: name,
            why: "the header appears more than once",
        });
    }
    let text = first.to_str().map_err(|_| SignatureError::Malformed {
        field: name,
        why: "not visible ASCII",
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(SignatureError::Missing(name));
    }
    Ok(Some(text))
}

/// A header value from text this crate produced (digits, hex, base64 and the like).
pub(crate) fn value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// An id for a delivery that needs one in a signed header, derived from what is signed so that
/// signing the same delivery twice gives the same id.
pub(crate) fn derived_id(prefix: &str, body: &[u8], now: i64) -> String {
    let digest = crypto::sha256(&[&now.to_be_bytes(), body]);
    format!("{prefix}{}", hex::encode(&digest[..12]))
}
