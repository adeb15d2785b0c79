//! The configurable `hmac` scheme, for providers that sign with a plain HMAC: which header, which
//! hash, which encoding, an optional prefix and an optional timestamp header.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    Delivery, Key, SignatureError, SignedHeader, Verified, Window, check_window, epoch_secs, value,
};
use http::HeaderName;

/// Settings of an `hmac` source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomScheme {
    pub header: HeaderName,
    pub algorithm: Algorithm,
    pub encoding: Encoding,
    /// Text before the encoded signature, such as `sha256=`.
    pub prefix: String,
    /// When set, the signed bytes are `timestamp + separator + body` and the window applies.
    pub timestamp_header: Option<HeaderName>,
    pub timestamp_separator: String,
    pub id_header: Option<HeaderName>,
    /// JSON pointer (RFC 6901) to the event id in the body, tried after `id_header`.
    pub id_pointer: Option<String>,
    pub type_header: Option<HeaderName>,
    pub type_pointer: Option<String>,
}

impl CustomScheme {
    /// A scheme over `header` with everything else at its simplest.
    pub fn new(header: HeaderName, algorithm: Algorithm, encoding: Encoding) -> Self {
        Self {
            header,
            algorithm,
            encoding,
            prefix: String::new(),
            timestamp_header: None,
            timestamp_separator: ".".to_owned(),
            id_header: None,
            id_pointer: None,
            type_header: None,
            type_pointer: None,
        }
    }

    fn read<'a>(
        delivery: &Delivery<'a>,
        name: &HeaderName,
    ) -> Result<Option<&'a str>, SignatureError> {
        // Header names are configured, so they are not 'static: name them generically in errors.
        let mut values = delivery.headers.get_all(name).iter();
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(SignatureError::Malformed {
                field: "configured header",
                why: "the header appears more than once",
            });
        }
        let text = first.to_str().map_err(|_| SignatureError::Malformed {
            field: "configured header",
            why: "not visible ASCII",
        })?;
        Ok(Some(text.trim()).filter(|t| !t.is_empty()))
    }

    pub(super) fn verify(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
        window: Window,
    ) -> Result<Verified, SignatureError> {
        let text =
            Self::read(delivery, &self.header)?.ok_or(SignatureError::Missing("signature"))?;
        let encoded = text
            .strip_prefix(self.prefix.as_str())
            .ok_or(SignatureError::Malformed {
                field: "signature",
                why: "the configured prefix is missing",
            })?;
        let signature = self.encoding.decode("signature", encoded)?;
        if signature.len() != self.algorithm.output_len() {
            return Err(SignatureError::Malformed {
                field: "signature",
                why: "wrong length for the configured algorithm",
            });
        }
        let timestamp = match &self.timestamp_header {
            Some(name) => {
                let text =
                    Self::read(delivery, name)?.ok_or(SignatureError::Missing("timestamp"))?;
                check_window(epoch_secs("timestamp", text)?, window)?;
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
        let pick = |header: &Option<HeaderName>,
                    pointer: &Option<String>|
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
            event_id: pick(&self.id_header, &self.id_pointer)?,
            event_type: pick(&self.type_header, &self.type_pointer)?,
            handshake: None,
        })
    }

    pub(super) fn sign(&self, delivery: &Delivery<'_>, key: &Key, now: i64) -> Vec<SignedHeader> {
        let mut added = Vec::with_capacity(2);
        let tag = match &self.timestamp_header {
            Some(name) => {
                let timestamp = now.to_string();
                let tag = crypto::hmac(
                    self.algorithm,
                    key.as_bytes(),
                    &[
                        timestamp.as_bytes(),
                        self.timestamp_separator.as_bytes(),
                        delivery.body,
                    ],
                );
                added.push((name.clone(), value(timestamp)));
                tag
            }
            None => crypto::hmac(self.algorithm, key.as_bytes(), &[delivery.body]),
        };
        added.push((
            self.header.clone(),
            value(format!(
                "{}{}",
                self.prefix,
                self.encoding.encode(tag.as_slice())
            )),
        ));
        added
    }
}
