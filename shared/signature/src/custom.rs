//! Schemes as data: the configurable `hmac` scheme, and every preset provider that is one. A
//! scheme says which header, how its signatures are laid out (one, a list, `t=…,v1=…` items, or
//! the timestamp first), the digest and its encoding, where the timestamp is and how it is
//! written, the signing string as a template, and how the secret is encoded. The names are
//! `'static`: configured ones are leaked once at start-up, which is how long a configuration
//! lives.

use super::crypto::{self, Algorithm, Encoding};
use super::layout::{Layout, Reading};
use super::provider::Facts;
use super::stamp::TimeFormat;
use super::template::{self, Piece, TemplateError};
use super::{
    Delivery, Key, KeyError, SignError, SignatureError, SignedHeader, Verified, Window,
    check_window, derived_id, optional_header, value,
};
use base64::Engine as _;
use http::HeaderName;

/// Settings of an `hmac` source, or of a preset provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomScheme {
    /// Lower-case header names throughout, as HTTP/2 and `http` use them.
    pub header: &'static str,
    pub algorithm: Algorithm,
    pub encoding: Encoding,
    /// Text before each encoded signature, such as `sha256=` (plain and list layouts).
    pub prefix: &'static str,
    pub layout: Layout,
    /// A header of its own for the timestamp; stamped and leading layouts carry it in `header`.
    pub timestamp_header: Option<&'static str>,
    pub timestamp_format: TimeFormat,
    /// The signing string: a template over `{body}`, `{timestamp}`, `{id}` and `{url}`.
    pub signed: &'static str,
    /// How the configured secret is decoded into the HMAC key; `None` uses its text as is.
    pub key_encoding: Option<Encoding>,
    /// Text the provider writes before the secret (`whsec_`), dropped before decoding it.
    pub key_prefix: &'static str,
    pub id_header: Option<&'static str>,
    /// JSON pointer (RFC 6901) to the event id in the body, tried after `id_header`.
    pub id_pointer: Option<&'static str>,
    pub type_header: Option<&'static str>,
    pub type_pointer: Option<&'static str>,
}

impl CustomScheme {
    /// A scheme over `header` with everything else at its simplest: one signature over the body.
    pub const fn new(header: &'static str, algorithm: Algorithm, encoding: Encoding) -> Self {
        Self {
            header,
            algorithm,
            encoding,
            prefix: "",
            layout: Layout::Plain,
            timestamp_header: None,
            timestamp_format: TimeFormat::Seconds,
            signed: "{body}",
            key_encoding: None,
            key_prefix: "",
            id_header: None,
            id_pointer: None,
            type_header: None,
            type_pointer: None,
        }
    }

    /// Keeps a configured name for the life of the process, as every name here is `'static`.
    pub fn leak(text: &str) -> &'static str {
        Box::leak(text.to_owned().into_boxed_str())
    }

    /// Whether a replay window applies.
    pub fn has_timestamp(&self) -> bool {
        self.timestamp_header.is_some() || self.layout.carries_timestamp()
    }

    /// Whether the settings hang together: a configured scheme is refused with this at start-up,
    /// and every preset is held to it by a test.
    pub fn check(&self) -> Result<(), TemplateError> {
        if self.timestamp_header.is_some() && self.layout.carries_timestamp() {
            return Err(TemplateError::Timestamp);
        }
        template::check(self.signed, self.has_timestamp(), self.id_header.is_some())
    }

    fn signs(&self, piece: Piece<'_>) -> bool {
        template::names(self.signed, piece)
    }

    pub(crate) fn facts(&self) -> Facts {
        Facts {
            timestamp_header: self.timestamp_header,
            id_header: self.id_header,
            type_header: self.type_header,
            timestamp: self.has_timestamp(),
            signed_id: self.signs(Piece::Id),
            signs_url: self.signs(Piece::Url),
            ..Facts::signature(self.header, self.encoding)
        }
    }

    /// What is signed, for `inlet providers`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} of {}{}, {}{}",
            self.algorithm.name(),
            template::describe(self.signed),
            if self.has_timestamp() {
                self.timestamp_format.note()
            } else {
                ""
            },
            self.encoding.name(),
            self.layout.describe(self.prefix),
        )
    }

    /// The configured secret's format, for `inlet providers`.
    pub(crate) fn key_format(&self) -> &'static str {
        match (self.key_encoding, self.key_prefix.is_empty()) {
            (None, true) => "the signing secret, as text",
            (None, false) => "the signing secret, as text after its prefix",
            (Some(Encoding::Base64 | Encoding::Base64Url), true) => {
                "the signing secret, base64 (decoded before use)"
            }
            (Some(Encoding::Base64 | Encoding::Base64Url), false) => {
                "the signing secret, base64 after its prefix (decoded before use)"
            }
            (Some(Encoding::Hex | Encoding::HexUpper), _) => {
                "the signing secret, hex (decoded before use)"
            }
        }
    }

    pub(crate) fn key(&self, secret: &str) -> Result<Key, KeyError> {
        let encoded = secret.strip_prefix(self.key_prefix).unwrap_or(secret);
        let bytes = match self.key_encoding {
            None => encoded.as_bytes().to_vec(),
            Some(Encoding::Base64) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| KeyError::Format("the secret as base64"))?,
            Some(Encoding::Base64Url) => base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded.trim_end_matches('='))
                .map_err(|_| KeyError::Format("the secret as base64url"))?,
            Some(Encoding::Hex | Encoding::HexUpper) => {
                hex::decode(encoded).map_err(|_| KeyError::Format("the secret as hex"))?
            }
        };
        if bytes.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Key::secret(bytes))
    }

    /// A secret made from any seed bytes, in the form `key` expects.
    pub(crate) fn secret_for_seed(&self, seed: &[u8]) -> String {
        let encoded = match self.key_encoding {
            None => String::from_utf8_lossy(seed).into_owned(),
            Some(encoding) => encoding.encode(seed),
        };
        format!("{}{encoded}", self.key_prefix)
    }

    fn reading(&self) -> Reading {
        Reading {
            field: self.header,
            prefix: self.prefix,
            encoding: self.encoding,
            algorithm: self.algorithm,
        }
    }

    /// The signed bytes, piece by piece.
    fn parts<'a>(
        &'a self,
        delivery: &Delivery<'a>,
        timestamp: &'a str,
        id: Option<&'a str>,
    ) -> Result<Vec<&'a [u8]>, SignatureError> {
        let mut parts = Vec::with_capacity(5);
        for piece in template::pieces(self.signed) {
            // Presets are held to `check` by a test and configured schemes at start-up, so an
            // unknown piece cannot arrive here; were it to, nothing would verify.
            let piece = piece.map_err(|_| SignatureError::Mismatch)?;
            parts.push(match piece {
                Piece::Text(text) => text.as_bytes(),
                Piece::Body => delivery.body,
                Piece::Timestamp => timestamp.as_bytes(),
                Piece::Id => id.unwrap_or_default().as_bytes(),
                Piece::Url => delivery.url.ok_or(SignatureError::UrlRequired)?.as_bytes(),
            });
        }
        Ok(parts)
    }

    pub(crate) fn verify(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
        window: Window,
    ) -> Result<Verified, SignatureError> {
        self.check_signature(delivery, keys, window)?;
        self.name_event(delivery)
    }

    /// The signature check alone, for provider files that name the event their own way.
    pub(crate) fn check_signature(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
        window: Window,
    ) -> Result<(), SignatureError> {
        let text = optional_header(delivery.headers, self.header)?
            .ok_or(SignatureError::Missing(self.header))?;
        let parsed = self.layout.parse(&self.reading(), text)?;
        let timestamp = match (self.timestamp_header, parsed.timestamp) {
            (Some(name), _) => Some((
                name,
                optional_header(delivery.headers, name)?.ok_or(SignatureError::Missing(name))?,
            )),
            (None, Some(text)) => Some((self.header, text)),
            (None, None) => None,
        };
        if let Some((field, text)) = timestamp {
            check_window(self.timestamp_format.read(field, text)?, window)?;
        }
        let id = match self.id_header {
            Some(name) if self.signs(Piece::Id) => Some(
                optional_header(delivery.headers, name)?.ok_or(SignatureError::Missing(name))?,
            ),
            _ => None,
        };
        let parts = self.parts(delivery, timestamp.map_or("", |(_, text)| text), id)?;
        crypto::any_match(self.algorithm, keys, &parts, &parsed.signatures)
    }

    /// The event's id and type, from headers where the provider sends them, else the body.
    fn name_event(&self, delivery: &Delivery<'_>) -> Result<Verified, SignatureError> {
        let json = (self.id_pointer.is_some() || self.type_pointer.is_some())
            .then(|| serde_json::from_slice::<serde_json::Value>(delivery.body).ok())
            .flatten();
        let pick = |header: Option<&'static str>,
                    pointer: Option<&'static str>|
         -> Result<Option<String>, SignatureError> {
            if let Some(name) = header
                && let Some(text) = optional_header(delivery.headers, name)?
            {
                return Ok(Some(text.to_owned()));
            }
            Ok(match (pointer, &json) {
                (Some(pointer), Some(json)) => json.pointer(pointer).and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }),
                _ => None,
            })
        };
        Ok(Verified {
            event_id: pick(self.id_header, self.id_pointer)?,
            event_type: pick(self.type_header, self.type_pointer)?,
            handshake: None,
        })
    }

    /// The timestamp to sign with at `now`. `now` counts whole seconds, so a stamp the delivery
    /// already carries that names that second (milliseconds and all, or an ISO 8601 spelling of
    /// it) is kept as written: signing a delivery again gives back the header it came with.
    fn stamp(&self, delivery: &Delivery<'_>, now: i64) -> String {
        let carried = match self.timestamp_header {
            Some(name) => optional_header(delivery.headers, name).ok().flatten(),
            None => optional_header(delivery.headers, self.header)
                .ok()
                .flatten()
                .and_then(|text| self.layout.parse(&self.reading(), text).ok())
                .and_then(|parsed| parsed.timestamp),
        };
        carried
            .filter(|text| self.timestamp_format.read(self.header, text) == Ok(now))
            .map_or_else(|| self.timestamp_format.write(now), str::to_owned)
    }

    pub(crate) fn sign(
        &self,
        delivery: &Delivery<'_>,
        key: &Key,
        now: i64,
    ) -> Result<Vec<SignedHeader>, SignError> {
        let mut added = Vec::with_capacity(3);
        let timestamp = self.stamp(delivery, now);
        let id = match self.id_header {
            Some(name) if self.signs(Piece::Id) => {
                match optional_header(delivery.headers, name).ok().flatten() {
                    Some(given) => given.to_owned(),
                    None => {
                        let id = derived_id("evt_", delivery.body, now);
                        added.push((HeaderName::from_static(name), value(id.clone())));
                        id
                    }
                }
            }
            _ => String::new(),
        };
        if self.signs(Piece::Url) && delivery.url.is_none() {
            return Err(SignError::UrlRequired);
        }
        let parts = self
            .parts(delivery, &timestamp, Some(&id))
            .map_err(|_| SignError::UrlRequired)?;
        let tag = crypto::hmac(self.algorithm, key.as_bytes(), &parts);
        if let Some(name) = self.timestamp_header {
            added.push((HeaderName::from_static(name), value(timestamp.clone())));
        }
        let signature = format!("{}{}", self.prefix, self.encoding.encode(tag.as_slice()));
        added.push((
            HeaderName::from_static(self.header),
            value(self.layout.render(&timestamp, &signature)),
        ));
        Ok(added)
    }
}
