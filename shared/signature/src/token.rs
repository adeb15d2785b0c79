//! Shared-token schemes: the provider sends a secret it shares with you in a header (GitLab's
//! `X-Gitlab-Token`, Okta's `Authorization`) rather than signing the body. The token is compared
//! in constant time; nothing binds it to the body, so such sources should also be reached over
//! HTTPS only, which API Gateway enforces.

use super::provider::Facts;
use super::{Delivery, header, optional_header};
use super::{Key, SignatureError, SignedHeader, Verified, value};
use http::HeaderName;
use subtle::{Choice, ConstantTimeEq};

/// A token in a header, perhaps after a fixed prefix such as `Bearer `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScheme {
    /// Lower case.
    pub header: &'static str,
    pub prefix: &'static str,
    pub id_header: Option<&'static str>,
    pub type_header: Option<&'static str>,
}

impl TokenScheme {
    pub const fn new(header: &'static str) -> Self {
        Self {
            header,
            prefix: "",
            id_header: None,
            type_header: None,
        }
    }

    pub(crate) fn facts(&self) -> Facts {
        Facts {
            encoding: None,
            unsigned_body: true,
            id_header: self.id_header,
            type_header: self.type_header,
            ..Facts::signature(self.header, crate::Encoding::Hex)
        }
    }

    pub(crate) fn describe(&self) -> String {
        if self.prefix.is_empty() {
            "nothing: a shared token in the header, compared in constant time".to_owned()
        } else {
            format!(
                "nothing: a shared token after `{}` in the header, compared in constant time",
                self.prefix
            )
        }
    }

    pub(crate) fn verify(
        &self,
        delivery: &Delivery<'_>,
        keys: &[Key],
    ) -> Result<Verified, SignatureError> {
        let text = header(delivery.headers, self.header)?;
        let token = text
            .strip_prefix(self.prefix)
            .ok_or(SignatureError::Malformed {
                field: self.header,
                why: "the expected prefix is missing",
            })?;
        matches_any(keys, token.as_bytes())?;
        let named = |name: Option<&'static str>| -> Result<Option<String>, SignatureError> {
            Ok(match name {
                Some(name) => optional_header(delivery.headers, name)?.map(str::to_owned),
                None => None,
            })
        };
        Ok(Verified {
            event_id: named(self.id_header)?,
            event_type: named(self.type_header)?,
            handshake: None,
        })
    }

    pub(crate) fn sign(&self, key: &Key) -> Vec<SignedHeader> {
        let token = String::from_utf8_lossy(key.as_bytes());
        vec![(
            HeaderName::from_static(self.header),
            value(format!("{}{token}", self.prefix)),
        )]
    }
}

/// Whether `token` equals any shared secret, comparing every one in constant time.
pub(crate) fn matches_any(keys: &[Key], token: &[u8]) -> Result<(), SignatureError> {
    let mut matched = Choice::from(0);
    for secret in keys.iter().filter_map(Key::shared) {
        // `ct_eq` on slices of different lengths is false at once; the length of a token is
        // not the secret.
        matched |= secret.ct_eq(token);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}
