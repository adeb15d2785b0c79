//! ed25519 and ECDSA P-256 through `ring`: parsing the formats providers publish their keys in,
//! verifying, and signing for tests and local sends. No primitive is written here.

use super::key::{Key, Material};
use super::{KeyError, SignError, SignatureError};
use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair as _};

/// The DER prefix of a P-256 SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { id-ecPublicKey,
/// prime256v1 }, BIT STRING (65 bytes) }. Everything after it is the uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// An ed25519 public key from its 32 raw bytes.
pub(crate) fn ed25519_public(bytes: &[u8], expected: &'static str) -> Result<Key, KeyError> {
    let raw: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Format(expected))?;
    Ok(Key(Material::Ed25519Public(raw)))
}

/// An ed25519 private key from its 32-byte seed, or from the 64 bytes of seed and public key
/// that libsodium and Standard Webhooks write (the public half must then match the seed).
pub(crate) fn ed25519_private(bytes: &[u8], expected: &'static str) -> Result<Key, KeyError> {
    let seed: [u8; 32] = bytes
        .get(..32)
        .and_then(|s| s.try_into().ok())
        .ok_or(KeyError::Format(expected))?;
    let pair =
        sig::Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| KeyError::Format(expected))?;
    match bytes.len() {
        32 => {}
        64 if bytes[32..] == *pair.public_key().as_ref() => {}
        _ => return Err(KeyError::Format(expected)),
    }
    Ok(Key(Material::Ed25519Private(seed)))
}

/// A P-256 public key from base64-decoded SubjectPublicKeyInfo DER.
pub(crate) fn p256_public_der(der: &[u8], expected: &'static str) -> Result<Key, KeyError> {
    let point = der
        .strip_prefix(&P256_SPKI_PREFIX[..])
        .filter(|point| point.len() == 65 && point[0] == 0x04)
        .ok_or(KeyError::Format(expected))?;
    Ok(Key(Material::P256Public(point.to_vec())))
}

/// A P-256 private key from PKCS#8 DER.
pub(crate) fn p256_private_pkcs8(der: &[u8], expected: &'static str) -> Result<Key, KeyError> {
    sig::EcdsaKeyPair::from_pkcs8(
        &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        der,
        &SystemRandom::new(),
    )
    .map_err(|_| KeyError::Format(expected))?;
    Ok(Key(Material::P256Private(der.to_vec())))
}

/// The public half of a private key, in the same raw form the parsers above produce.
pub(crate) fn public_bytes(key: &Key) -> Option<Vec<u8>> {
    match &key.0 {
        Material::Ed25519Private(seed) => sig::Ed25519KeyPair::from_seed_unchecked(seed)
            .ok()
            .map(|pair| pair.public_key().as_ref().to_vec()),
        Material::P256Private(der) => sig::EcdsaKeyPair::from_pkcs8(
            &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            der,
            &SystemRandom::new(),
        )
        .ok()
        .map(|pair| pair.public_key().as_ref().to_vec()),
        _ => None,
    }
}

/// SubjectPublicKeyInfo DER for an uncompressed P-256 point, as SendGrid publishes its key.
pub(crate) fn p256_spki(point: &[u8]) -> Vec<u8> {
    [&P256_SPKI_PREFIX[..], point].concat()
}

/// Whether any public key verifies any of `signatures` over the concatenated `parts`. Keys of
/// other kinds (a Standard Webhooks source may hold HMAC secrets too) are skipped.
pub(crate) fn any_verifies(
    keys: &[Key],
    parts: &[&[u8]],
    signatures: &[Vec<u8>],
) -> Result<(), SignatureError> {
    let message = parts.concat();
    let mut matched = false;
    for key in keys {
        let (algorithm, public): (&dyn sig::VerificationAlgorithm, &[u8]) = match &key.0 {
            Material::Ed25519Public(raw) => (&sig::ED25519, raw),
            Material::P256Public(point) => (&sig::ECDSA_P256_SHA256_ASN1, point),
            _ => continue,
        };
        let public = sig::UnparsedPublicKey::new(algorithm, public);
        for signature in signatures {
            // Public-key verification needs no constant time: nothing secret is compared.
            matched |= public.verify(&message, signature).is_ok();
        }
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Signs the concatenated `parts` with a private key.
pub(crate) fn sign(key: &Key, parts: &[&[u8]]) -> Result<Vec<u8>, SignError> {
    let message = parts.concat();
    match &key.0 {
        Material::Ed25519Private(seed) => {
            let pair =
                sig::Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| SignError::PublicKey)?;
            Ok(pair.sign(&message).as_ref().to_vec())
        }
        Material::P256Private(der) => {
            let rng = SystemRandom::new();
            let pair =
                sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
                    .map_err(|_| SignError::PublicKey)?;
            pair.sign(&rng, &message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError::PublicKey)
        }
        _ => Err(SignError::PublicKey),
    }
}

/// A deterministic test key pair from any seed bytes: the ed25519 seed is their SHA-256.
pub(crate) fn ed25519_from_seed(seed: &[u8]) -> ([u8; 32], Vec<u8>) {
    let secret = super::crypto::sha256(&[seed]);
    let public = sig::Ed25519KeyPair::from_seed_unchecked(&secret)
        .map(|pair| pair.public_key().as_ref().to_vec())
        .unwrap_or_default();
    (secret, public)
}

/// A P-256 PKCS#8 private key for tests and local sends. ECDSA keys cannot be derived from a
/// seed through `ring`, so this one is random: tests keep the pair they are given.
pub(crate) fn p256_generate() -> Option<Vec<u8>> {
    sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .ok()
        .map(|doc| doc.as_ref().to_vec())
}
