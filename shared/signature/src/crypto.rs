//! HMAC over several byte slices without concatenating them, and constant-time matching.

use super::{Key, SignatureError};
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
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

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "HMAC-SHA1",
            Self::Sha256 => "HMAC-SHA256",
            Self::Sha512 => "HMAC-SHA512",
        }
    }

    /// Why a signature of another length cannot be this digest.
    pub fn wrong_length(self) -> &'static str {
        match self {
            Self::Sha1 => "wrong length for an HMAC-SHA1",
            Self::Sha256 => "wrong length for an HMAC-SHA256",
            Self::Sha512 => "wrong length for an HMAC-SHA512",
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

/// How a signature (or a key) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    /// Hex in capitals, as some providers write it; either case decodes, as for `Hex`.
    HexUpper,
    Base64,
    /// The URL-safe alphabet (`-`, `_`), written without padding; read with or without it.
    Base64Url,
}

/// base64url that reads a value with or without its `=` padding: providers differ, and the
/// padding carries no bits.
const BASE64URL_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Encoding {
    /// The config names: `hex`, `hex-upper`, `base64`, `base64url`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "hex" => Some(Self::Hex),
            "hex-upper" => Some(Self::HexUpper),
            "base64" => Some(Self::Base64),
            "base64url" => Some(Self::Base64Url),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Hex => "hex",
            Self::HexUpper => "upper-case hex",
            Self::Base64 => "base64",
            Self::Base64Url => "base64url",
        }
    }

    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::HexUpper => hex::encode_upper(bytes),
            Self::Base64 => STANDARD.encode(bytes),
            Self::Base64Url => general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    /// Decodes a received signature; `field` names it in the error.
    pub fn decode(self, field: &'static str, text: &str) -> Result<Vec<u8>, SignatureError> {
        let decoded = match self {
            Self::Hex | Self::HexUpper => hex::decode(text).map_err(|_| "not hexadecimal"),
            Self::Base64 => STANDARD.decode(text).map_err(|_| "not base64"),
            Self::Base64Url => BASE64URL_ANY_PADDING
                .decode(text)
                .map_err(|_| "not base64url"),
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
/// nothing about which key or signature was close. When no signature even has the digest's
/// length, none could match and the header is malformed: every provider answers that the same
/// way, whichever comparison it makes.
pub fn any_match(
    algorithm: Algorithm,
    keys: &[Key],
    parts: &[&[u8]],
    signatures: &[Vec<u8>],
) -> Result<(), SignatureError> {
    if !signatures.iter().any(|s| s.len() == algorithm.output_len()) {
        return Err(SignatureError::Malformed {
            field: "signature",
            why: algorithm.wrong_length(),
        });
    }
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
