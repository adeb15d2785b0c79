//! The configurable `hmac` scheme, for providers that sign with a plain HMAC: which header, which
//! hash, which encoding, an optional prefix and an optional timestamp header. The presets of the
//! registry are values of it too, so the names are `'static`: configured ones are leaked once at
//! start-up, which is how long a configuration lives.

use super::crypto::{self, Algorithm, Encoding};
use super::provider::Facts;
use super::{
    Delivery, Key, KeyError, SignatureError, SignedHeader, Verified, Window, check_window,
    epoch_secs, value,
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
    /// Text before the encoded signature, such as `sha256=`.
    pub prefix: &'static str,
    /// When set, the signed bytes are `timestamp + separator + body` and the window applies.
    pub timestamp_header: Option<&'static str>,
    pub timestamp_separator: &'static str,
    /// Whether the timestamp counts milliseconds rather than seconds (Webflow).
    pub timestamp_millis: bool,
    /// How the configured secret is decoded into the HMAC key; `None` uses its text as is.
    pub key_encoding: Option<Encoding>,
    pub id_header: Option<&'static str>,
    /// JSON pointer (RFC 6901) to the event id in the body, tried after `id_header`.
    pub id_pointer: Option<&'static str>,
    pub type_header: Option<&'static str>,
    pub type_pointer: Option<&'static str>,
}

impl CustomScheme {
    /// A scheme over `header` with everything else at its simplest.
    pub const fn new(header: &'static str, algorithm: Algorithm, encoding: Encoding) -> Self {
        Self {
            header,
            algorithm,
            encoding,
            prefix: "",
            timestamp_header: None,
            timestamp_separator: ".",
            timestamp_millis: false,
            key_encoding: None,
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

    pub(crate) fn facts(&self) -> Facts {
        Facts {
            timestamp_header: self.timestamp_header,
            id_header: self.id_header,
            type_header: self.type_header,
            timestamp: self.timestamp_header.is_some(),
            ..Facts::signature(self.header, self.encoding)
        }
    }

    /// What is signed, for `inlet providers`.
    pub(crate) fn describe(&self) -> String {
        let hash = match self.algorithm {
            Algorithm::Sha1 => "HMAC-SHA1",
            Algorithm::Sha256 => "HMAC-SHA256",
            Algorithm::Sha512 => "HMAC-SHA512",
        };
        let encoding = match self.encoding {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
        };
        let over = match self.timestamp_header {
            Some(_) => format!(
                "timestamp{}{}body",
                if self.timestamp_millis { " (ms)" } else { "" },
                self.timestamp_separator
            ),
            None => "body".to_owned(),
        };
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!(" after `{}`", self.prefix)
        };
        format!("{hash} of {over}, {encoding}{prefix}")
    }

    pub(crate) fn key(&self, secret: &str) -> Result<Key, KeyError> {
        let bytes = match self.key_encoding {
            None => secret.as_bytes().to_vec(),
            Some(Encoding::Base64) => base64::engine::general_purpose::STANDARD
                .decode(secret)
                .map_err(|_| KeyError::Format("the secret as base64"))?,
            Some(Encoding::Hex) => {
                hex::decode(secret).map_err(|_| KeyError::Format("the secret as hex"))?
            }
        };
        if bytes.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Key::secret(bytes))
    }

    /// A secret made from any seed bytes, in the form `key` expects.
    pub(crate) fn secret_for_seed(&self, seed: &[u8]) -> String {
        match self.key_encoding {
            None => String::from_utf8_lossy(seed).into_owned(),
            Some(encoding) => encoding.encode(seed),
        }
    }

    fn read<'a>(
        delivery: &Delivery<'a>,
        name: &'static str,
    ) -> Result<Option<&'a str>, SignatureError> {
        let mut values = delivery.headers.get_all(name).iter();
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
        Ok(Some(text.trim()).filter(|t| !t.is_empty()))
    }

    pub(crate) fn verify(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
        window: Window,
    ) -> Result<Verified, SignatureError> {
        let text =
            Self::read(delivery, self.header)?.ok_or(SignatureError::Missing(self.header))?;
        let encoded = text
            .strip_prefix(self.prefix)
            .ok_or(SignatureError::Malformed {
                field: self.header,
                why: "the expected prefix is missing",
            })?;
        let signature = self.encoding.decode(self.header, encoded)?;
        if signature.len() != self.algorithm.output_len() {
            return Err(SignatureError::Malformed {
                field: self.header,
                why: "wrong length for the algorithm",
            });
        }
        let timestamp = match self.timestamp_header {
            Some(name) => {
                let text = Self::read(delivery, name)?.ok_or(SignatureError::Missing(name))?;
                let seconds = if self.timestamp_millis {
                    crate::epoch_millis(name, text)?.div_euclid(1000)
                } else {
                    epoch_secs(name, text)?
                };
                check_window(seconds, window)?;
                Some(text)
            }
            None => None,
        };
        match timestamp {
            Some(ts) => crypto::any_match(
                self.algorithm,
                keys,
                &[
                    ts.as_bytes(),
                    self.timestamp_separator.as_bytes(),
                    delivery.body,
                ],
                &[signature],
            )?,
            None => crypto::any_match(self.algorithm, keys, &[delivery.body], &[signature])?,
        }
        let needs_body = (self.id_pointer.is_some() || self.type_pointer.is_some())
            .then(|| serde_json::from_slice::<serde_json::Value>(delivery.body).ok())
            .flatten();
        let pick = |header: Option<&'static str>,
                    pointer: Option<&'static str>|
         -> Result<Option<String>, SignatureError> {
            if let Some(name) = header
                && let Some(text) = Self::read(delivery, name)?
            {
                return Ok(Some(text.to_owned()));
            }
            Ok(match (pointer, &needs_body) {
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

    pub(crate) fn sign(&self, delivery: &Delivery<'_>, key: &Key, now: i64) -> Vec<SignedHeader> {
        let mut added = Vec::with_capacity(2);
        let secret = key.as_bytes();
        let tag = match self.timestamp_header {
            Some(name) => {
                let timestamp = if self.timestamp_millis {
                    now.saturating_mul(1000).to_string()
                } else {
                    now.to_string()
                };
                let tag = crypto::hmac(
                    self.algorithm,
                    secret,
                    &[
                        timestamp.as_bytes(),
                        self.timestamp_separator.as_bytes(),
                        delivery.body,
                    ],
                );
                added.push((HeaderName::from_static(name), value(timestamp)));
                tag
            }
            None => crypto::hmac(self.algorithm, secret, &[delivery.body]),
        };
        added.push((
            HeaderName::from_static(self.header),
            value(format!(
                "{}{}",
                self.prefix,
                self.encoding.encode(tag.as_slice())
            )),
        ));
        added
    }
}
