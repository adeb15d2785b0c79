//! Keys as the schemes use them: a shared secret's bytes, or one half of an asymmetric key pair.

use std::fmt;

/// A key ready to verify or sign with. Its bytes never appear in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(pub(crate) Material);

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Material {
    /// An HMAC or token secret, as the scheme uses it (for Standard Webhooks, decoded).
    Secret(Vec<u8>),
    /// An ed25519 public key: 32 raw bytes.
    Ed25519Public([u8; 32]),
    /// An ed25519 private key: the 32-byte seed.
    Ed25519Private([u8; 32]),
    /// An ECDSA P-256 public key: the uncompressed point (65 bytes, `04 ‖ x ‖ y`).
    P256Public(Vec<u8>),
    /// An ECDSA P-256 private key: PKCS#8 DER.
    P256Private(Vec<u8>),
}

impl Key {
    /// A shared secret used as given.
    pub fn secret(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Material::Secret(bytes.into()))
    }

    /// The key's bytes, whatever its kind: for deriving identifiers from it, never for display.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Material::Secret(bytes)
            | Material::P256Public(bytes)
            | Material::P256Private(bytes) => bytes,
            Material::Ed25519Public(bytes) | Material::Ed25519Private(bytes) => bytes,
        }
    }

    /// The shared secret, if this key is one: HMAC and token schemes use nothing else.
    pub(crate) fn shared(&self) -> Option<&[u8]> {
        match &self.0 {
            Material::Secret(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Whether this key can only verify.
    pub fn is_public(&self) -> bool {
        matches!(self.0, Material::Ed25519Public(_) | Material::P256Public(_))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            Material::Secret(_) => "secret",
            Material::Ed25519Public(_) => "ed25519 public",
            Material::Ed25519Private(_) => "ed25519 private",
            Material::P256Public(_) => "P-256 public",
            Material::P256Private(_) => "P-256 private",
        };
        write!(f, "Key({kind}, <redacted>)")
    }
}
