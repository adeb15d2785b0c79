//! HMAC over several byte slices without concatenating them, and constant-time matching.

use super::{Key, SignatureError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Digest as _;
use subtle::{Choice, ConstantTimeEq};

/// The hash inside an HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// How a signature is written in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

impl Encoding {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "hex" => Some(Self::Hex),
            "base64" => Some(Self::Base64),
            _ => None,
        }
    }

    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => STANDARD.encode(bytes),
        }
    }

    /// Decodes a received signature; `field` names it in the error.
    pub fn decode(self, field: &'static str, text: &str) -> Result<Vec<u8>, SignatureError> {
        let decoded = match self {
            Self::Hex => hex::decode(text).map_err(|_| "not hexadecimal"),
            Self::Base64 => STANDARD.decode(text).map_err(|_| "not base64"),
        };
        decoded.map_err(|why| SignatureError::Malformed { field, why })
    }
}

/// An HMAC result: at most 64 bytes, kept on the stack.
#[derive(Clone, Copy)]
pub struct Tag {
    bytes: [u8; 64],
    len: usize,
}

impl Tag {
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn from_slice(slice: &[u8]) -> Self {
        let mut bytes = [0; 64];
        let len = slice.len().min(64);
        bytes[..len].copy_from_slice(&slice[..len]);
        Self { bytes, len }
    }
}

fn mac_parts<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Tag {
    // HMAC accepts keys of any length, so this cannot fail; an empty tag would only ever mismatch.
    match <M as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            for part in parts {
                mac.update(part);
            }
            Tag::from_slice(&mac.finalize().into_bytes())
        }
        Err(_) => Tag::from_slice(&[]),
    }
}

/// HMAC of the concatenation of `parts`.
pub fn hmac(algorithm: Algorithm, key: &[u8], parts: &[&[u8]]) -> Tag {
    match algorithm {
        Algorithm::Sha1 => mac_parts::<Hmac<sha1::Sha1>>(key, parts),
        Algorithm::Sha256 => mac_parts::<Hmac<sha2::Sha256>>(key, parts),
        Algorithm::Sha512 => mac_parts::<Hmac<sha2::Sha512>>(key, parts),
    }
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Whether any key's HMAC over `parts` equals any of `signatures`.
///
/// Every pair is compared, in constant time, whatever matched first: how long this takes says
/// nothing about which key or signature was close.
pub fn any_match(
    algorithm: Algorithm,
    keys: &[Key],
    parts: &[&[u8]],
    signatures: &[Vec<u8>],
) -> Result<(), SignatureError> {
    let mut matched = Choice::from(0);
    // Public keys (a Standard Webhooks source may hold ed25519 keys too) take no part here.
    for key in keys.iter().filter_map(Key::shared) {
        let tag = hmac(algorithm, key, parts);
        for signature in signatures {
            matched |= tag.as_slice().ct_eq(signature);
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}
