//! Standard Webhooks (and Svix, under `svix-*` header names). The content signed is
//! `id.timestamp.body`, and `webhook-signature` carries a space-separated list of
//! `version,<base64>` items so that a sender can sign with several keys while rotating:
//!
//! * `v1`: HMAC-SHA256, keyed by the bytes of the base64 secret after `whsec_`;
//! * `v1a`: ed25519, checked against the endpoint's public key, written `whpk_` + base64 of its
//!   32 bytes. The sender signs with `whsk_` + base64 of the secret key, which Svix writes as the
//!   64 bytes of seed and public key (a bare 32-byte seed is accepted too).
//!
//! A source may hold keys of both kinds: `v1` items are checked against its HMAC secrets and `v1a`
//! items against its public keys, and one match is enough.

use crate::asymmetric::{any_verifies, ed25519_private, ed25519_public, sign as asymmetric_sign};
use crate::body::BodyFields;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{
    Delivery, SignedHeader, Verified, Window, derived_id, optional_header, value,
};
use crate::entries::Entries;
use crate::error::{KeyError, SignError, SignatureError};
use crate::key::Key;
use crate::key::Material;
use crate::provider::{Code, Facts, How, Provider, Secrets};
use crate::stamp::{check_window, epoch_secs};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderName;

/// An ed25519 signature is always this long: a `v1a` item of another length cannot be one.
const ED25519_SIGNATURE_LEN: usize = 64;

const PUBLIC_KEY_FORMAT: &str = "a `whpk_` public key: base64 of the 32-byte ed25519 public key";
const SECRET_KEY_FORMAT: &str = "a `whsk_` secret key: base64 of the ed25519 secret key (64 bytes of seed and public key, or the 32-byte seed)";
const SECRET_KEY_TO_VERIFY: &str =
    "the endpoint's `whpk_` public key to verify with: a `whsk_` secret key only signs";

/// The three headers under one naming.
struct Names {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const STANDARD_NAMES: Names = Names {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};
const SVIX_NAMES: Names = Names {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

fn decode_key(encoded: &str, expected: &'static str) -> Result<Vec<u8>, KeyError> {
    STANDARD
        .decode(encoded)
        .map_err(|_| KeyError::Format(expected))
}

/// The verification key: an HMAC secret (`whsec_`, or its bare base64) or an ed25519 public key
/// (`whpk_`).
pub(crate) fn key(secret: &str) -> Result<Key, KeyError> {
    if let Some(encoded) = secret.strip_prefix("whpk_") {
        return ed25519_public(&decode_key(encoded, PUBLIC_KEY_FORMAT)?, PUBLIC_KEY_FORMAT);
    }
    if secret.starts_with("whsk_") {
        // Configuring the private half on the receiving side would work, but it is the one key
        // that must stay with the sender: point at the public one instead.
        return Err(KeyError::Format(SECRET_KEY_TO_VERIFY));
    }
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let bytes = STANDARD.decode(encoded).map_err(|_| KeyError::NotBase64)?;
    if bytes.is_empty() {
        return Err(KeyError::Empty);
    }
    Ok(Key::secret(bytes))
}

/// The signing key: a `whsk_` ed25519 secret key signs `v1a`, anything else is read as by [`key`]
/// (an HMAC secret signs `v1`; a public key is refused when signing).
fn signing_key(secret: &str) -> Result<Key, KeyError> {
    match secret.strip_prefix("whsk_") {
        Some(encoded) => {
            ed25519_private(&decode_key(encoded, SECRET_KEY_FORMAT)?, SECRET_KEY_FORMAT)
        }
        None => key(secret),
    }
}

/// The signatures of a header, by kind.
#[derive(Default)]
struct Signatures {
    hmac: Vec<Vec<u8>>,
    ed25519: Vec<Vec<u8>>,
}

fn parse_signatures(field: &'static str, text: &str) -> Result<Signatures, SignatureError> {
    let mut entries = Entries::new(field);
    let mut found = Signatures::default();
    for item in text.split_ascii_whitespace() {
        // An item that is not `version,<base64>`, or not well formed, is set aside like an
        // unknown version, so that one odd item does not fail a rotation header whose other items
        // may match; alone, it leaves nothing to check and the header is malformed.
        let Some((version, encoded)) = item.split_once(',') else {
            entries.set_aside("expected `v1,<base64>` or `v1a,<base64>` items");
            continue;
        };
        let (list, length) = match version {
            "v1" => (&mut found.hmac, (32, "wrong length for an HMAC-SHA256")),
            "v1a" => (
                &mut found.ed25519,
                (
                    ED25519_SIGNATURE_LEN,
                    "wrong length for an ed25519 signature",
                ),
            ),
            // Later versions belong to schemes this one does not know: another item may still
            // be ours.
            _ => continue,
        };
        if let Some(signature) = entries.accept(Encoding::Base64, encoded, Some(length))? {
            list.push(signature);
        }
    }
    if found.hmac.is_empty() && found.ed25519.is_empty() {
        return Err(entries.problem("no `v1` or `v1a` signature"));
    }
    Ok(found)
}

pub(crate) fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let headers = delivery.headers;
    let names = if headers.contains_key(STANDARD_NAMES.signature) {
        &STANDARD_NAMES
    } else if headers.contains_key(SVIX_NAMES.signature) {
        &SVIX_NAMES
    } else {
        return Err(SignatureError::Missing(STANDARD_NAMES.signature));
    };
    let signature_text = optional_header(headers, names.signature)?
        .ok_or(SignatureError::Missing(names.signature))?;
    let id = optional_header(headers, names.id)?.ok_or(SignatureError::Missing(names.id))?;
    let timestamp = optional_header(headers, names.timestamp)?
        .ok_or(SignatureError::Missing(names.timestamp))?;
    let seconds = epoch_secs(names.timestamp, timestamp)?;
    let signatures = parse_signatures(names.signature, signature_text)?;
    check_window(seconds, window)?;

    let content: [&[u8]; 5] = [
        id.as_bytes(),
        b".",
        timestamp.as_bytes(),
        b".",
        delivery.body,
    ];
    // Both kinds are always checked, so the time taken says nothing about which one matched.
    let hmac = crypto::any_match(Algorithm::Sha256, keys, &content, &signatures.hmac);
    let ed25519 = any_verifies(keys, &content, &signatures.ed25519);
    if hmac.is_err() && ed25519.is_err() {
        return Err(SignatureError::Mismatch);
    }
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: Some(id.to_owned()),
        event_type: fields.kind.take(),
        handshake: None,
    })
}

/// One `version,<base64>` item over `content`: `v1` for an HMAC secret, `v1a` for an ed25519
/// secret key.
fn signature_item(key: &Key, content: &[&[u8]]) -> Result<String, SignError> {
    match &key.0 {
        Material::Secret(secret) => {
            let tag = crypto::hmac(Algorithm::Sha256, secret, content);
            Ok(format!("v1,{}", Encoding::Base64.encode(tag.as_slice())))
        }
        Material::Ed25519Private(_) => {
            let signature = asymmetric_sign(key, content)?;
            Ok(format!("v1a,{}", Encoding::Base64.encode(&signature)))
        }
        _ => Err(SignError::PublicKey),
    }
}

pub(crate) fn sign(
    delivery: &Delivery<'_>,
    key: &Key,
    now: i64,
) -> Result<Vec<SignedHeader>, SignError> {
    sign_as(&STANDARD_NAMES, delivery, key, now)
}

/// The three headers under `names`: the id only when the delivery does not carry one yet.
fn sign_as(
    names: &Names,
    delivery: &Delivery<'_>,
    key: &Key,
    now: i64,
) -> Result<Vec<SignedHeader>, SignError> {
    let given = optional_header(delivery.headers, names.id).ok().flatten();
    let id = given.map_or_else(|| derived_id("msg_", delivery.body, now), str::to_owned);
    let timestamp = now.to_string();
    let item = signature_item(
        key,
        &[
            id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            delivery.body,
        ],
    )?;
    let mut added = Vec::with_capacity(3);
    if given.is_none() {
        added.push((HeaderName::from_static(names.id), value(id)));
    }
    added.push((HeaderName::from_static(names.timestamp), value(timestamp)));
    added.push((HeaderName::from_static(names.signature), value(item)));
    Ok(added)
}

/// The secret of a provider that sends Standard Webhooks through Svix (Clerk, Resend): an HMAC
/// secret only, since they sign no `v1a` (ed25519) items.
const SVIX_KEY_FORMAT: &str = "the endpoint's signing secret, `whsec_` + base64";

fn svix_key(secret: &str) -> Result<Key, KeyError> {
    if secret.starts_with("whpk_") || secret.starts_with("whsk_") {
        return Err(KeyError::Format(SVIX_KEY_FORMAT));
    }
    key(secret)
}

fn svix_sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    sign_as(&SVIX_NAMES, delivery, key, now)
}

/// Providers that deliver through Svix: Standard Webhooks verification, under the `svix-*`
/// header names `sign` writes, with HMAC secrets only.
pub(crate) static SVIX_HOSTED: Code = Code {
    facts: Facts {
        timestamp_header: Some(SVIX_NAMES.timestamp),
        id_header: Some(SVIX_NAMES.id),
        signed_id: true,
        timestamp: true,
        ..Facts::signature(SVIX_NAMES.signature, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of `svix-id.svix-timestamp.body`, base64, as `v1,…` (several while rolling)",
    key_format: SVIX_KEY_FORMAT,
    key: svix_key,
    signing_key: svix_key,
    verify,
    sign: svix_sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed,
};

/// Signs an outbound delivery (the forward action): the headers for `id` at `now`. An HMAC secret
/// signs `v1`, a `whsk_` secret key `v1a`.
pub fn sign_outbound(key: &Key, id: &str, now: i64, body: &[u8]) -> [SignedHeader; 3] {
    let timestamp = now.to_string();
    let content: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
    // A public key cannot sign; there is no error to return here, so it is used as an HMAC key,
    // as every key was before `v1a`: the receiver will refuse the delivery.
    let item = signature_item(key, &content).unwrap_or_else(|_| {
        let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &content);
        format!("v1,{}", Encoding::Base64.encode(tag.as_slice()))
    });
    [
        (
            HeaderName::from_static(STANDARD_NAMES.id),
            value(id.to_owned()),
        ),
        (
            HeaderName::from_static(STANDARD_NAMES.timestamp),
            value(timestamp),
        ),
        (
            HeaderName::from_static(STANDARD_NAMES.signature),
            value(item),
        ),
    ]
}

pub(crate) static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(STANDARD_NAMES.timestamp),
        id_header: Some(STANDARD_NAMES.id),
        signed_id: true,
        timestamp: true,
        ..Facts::signature(STANDARD_NAMES.signature, Encoding::Base64)
    },
    signed: "`id.timestamp.body`, base64: HMAC-SHA256 as `v1,…` or ed25519 as `v1a,…` (several while rolling)",
    key_format: "the endpoint secret, `whsec_` + base64; or, for `v1a`, the public key, `whpk_` + base64 (signing: `whsk_` + base64)",
    key,
    signing_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed,
};

pub(crate) fn secrets_for_seed(seed: &[u8]) -> Secrets {
    Secrets::shared(format!("whsec_{}", STANDARD.encode(seed)))
}

pub static PROVIDER: Provider = Provider {
    name: "standard-webhooks",
    aliases: &["svix"],
    title: "Standard Webhooks (Svix)",
    docs: "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#verifying-webhook-authenticity",
    handshake: None,
    json_body: false,
    informative_headers: &["webhook-id", "webhook-timestamp", "svix-id"],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use http::HeaderMap;

    // Svix's published asymmetric key pair (svix-webhooks README and server tests).
    const WHSK: &str = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
    const WHPK: &str = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";
    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const NOW: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    fn window() -> Window {
        Window {
            now: NOW,
            tolerance_secs: 300,
        }
    }

    fn signed_with(secret: &str) -> HeaderMap {
        let key = signing_key(secret).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "webhook-id",
            "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap(),
        );
        let added = sign(&Delivery::post(&headers, BODY), &key, NOW).unwrap();
        let mut out = headers.clone();
        for (name, value) in added {
            out.insert(name, value);
        }
        out
    }

    fn item(headers: &HeaderMap) -> String {
        headers["webhook-signature"].to_str().unwrap().to_owned()
    }

    #[test]
    fn a_whsk_key_signs_v1a_and_reproduces_svix() {
        let headers = signed_with(WHSK);
        assert_eq!(
            item(&headers),
            "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
        );
        let keys = [key(WHPK).unwrap()];
        verify(&Delivery::post(&headers, BODY), &keys, window()).unwrap();
    }

    #[test]
    fn a_header_with_v1_and_v1a_items_verifies_with_either_kind_of_key() {
        let hmac = signed_with(WHSEC);
        let ed25519 = signed_with(WHSK);
        let both = format!("{} {}", item(&hmac), item(&ed25519));
        let mut headers = hmac.clone();
        headers.insert("webhook-signature", both.parse().unwrap());
        let delivery = Delivery::post(&headers, BODY);
        for keys in [
            vec![key(WHSEC).unwrap()],
            vec![key(WHPK).unwrap()],
            vec![key(WHSEC).unwrap(), key(WHPK).unwrap()],
        ] {
            verify(&delivery, &keys, window()).unwrap();
        }
        // Keys of neither pair: refused, whatever the mix.
        let strangers = [
            key("whsec_c29tZW9uZSBlbHNlIGVudGlyZWx5").unwrap(),
            key("whpk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap(),
        ];
        assert_eq!(
            verify(&delivery, &strangers, window()),
            Err(SignatureError::Mismatch)
        );
        // A tampered body fails both.
        let tampered = Delivery::post(&headers, b"{\"test\": 2432232315}");
        assert_eq!(
            verify(
                &tampered,
                &[key(WHSEC).unwrap(), key(WHPK).unwrap()],
                window()
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn v1_items_are_never_checked_against_public_keys_nor_v1a_against_secrets() {
        // The HMAC tag under `v1a` and the ed25519 signature under `v1`: each the wrong length
        // for its version, so both are set aside and nothing is left to check.
        let hmac = signed_with(WHSEC);
        let ed25519 = signed_with(WHSK);
        let swapped = format!("v1a,{} v1,{}", &item(&hmac)[3..], &item(&ed25519)[4..]);
        let mut headers = hmac.clone();
        headers.insert("webhook-signature", swapped.parse().unwrap());
        let keys = [key(WHSEC).unwrap(), key(WHPK).unwrap()];
        assert_eq!(
            verify(&Delivery::post(&headers, BODY), &keys, window()),
            Err(SignatureError::Malformed {
                field: "webhook-signature",
                why: "wrong length for an ed25519 signature",
            })
        );
    }

    #[test]
    fn a_lone_v1a_item_of_the_wrong_length_is_malformed() {
        let mut headers = signed_with(WHSEC);
        let tag = item(&headers)[3..].to_owned();
        headers.insert("webhook-signature", format!("v1a,{tag}").parse().unwrap());
        let result = verify(
            &Delivery::post(&headers, BODY),
            &[key(WHPK).unwrap()],
            window(),
        );
        assert_eq!(result.unwrap_err().code(), "signature_malformed");
    }

    #[test]
    fn keys_are_read_by_their_prefix() {
        assert!(!key(WHSEC).unwrap().is_public());
        assert!(key(WHPK).unwrap().is_public());
        assert!(matches!(
            signing_key(WHSK).unwrap().0,
            Material::Ed25519Private(_)
        ));
        // The 32-byte seed alone is the same key.
        let seed = STANDARD.encode(&STANDARD.decode(&WHSK[5..]).unwrap()[..32]);
        assert_eq!(signing_key(&format!("whsk_{seed}")), signing_key(WHSK));
        // A public key reads as one when signing, and then cannot sign.
        let public = signing_key(WHPK).unwrap();
        let headers = HeaderMap::new();
        assert_eq!(
            sign(&Delivery::post(&headers, BODY), &public, NOW),
            Err(SignError::PublicKey)
        );
    }

    #[test]
    fn keys_of_the_wrong_length_or_format_are_refused() {
        assert_eq!(key("whpk_AAAA"), Err(KeyError::Format(PUBLIC_KEY_FORMAT)));
        assert_eq!(
            key("whpk_not base64!"),
            Err(KeyError::Format(PUBLIC_KEY_FORMAT))
        );
        assert_eq!(key(WHSK), Err(KeyError::Format(SECRET_KEY_TO_VERIFY)));
        assert_eq!(
            signing_key("whsk_AAAA"),
            Err(KeyError::Format(SECRET_KEY_FORMAT))
        );
        // 64 bytes whose second half is not the seed's public key.
        let mut pair = STANDARD.decode(&WHSK[5..]).unwrap();
        pair[40] ^= 1;
        assert_eq!(
            signing_key(&format!("whsk_{}", STANDARD.encode(&pair))),
            Err(KeyError::Format(SECRET_KEY_FORMAT))
        );
        // The HMAC secret is read as before.
        assert_eq!(key("whsec_not base64!"), Err(KeyError::NotBase64));
        assert_eq!(key("whsec_"), Err(KeyError::Empty));
    }

    #[test]
    fn sign_outbound_signs_v1_with_a_secret_and_v1a_with_a_secret_key() {
        let [_, _, (_, hmac)] = sign_outbound(
            &key(WHSEC).unwrap(),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            NOW,
            BODY,
        );
        assert_eq!(hmac, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let [_, _, (_, ed25519)] = sign_outbound(
            &signing_key(WHSK).unwrap(),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            NOW,
            BODY,
        );
        assert!(ed25519.to_str().unwrap().starts_with("v1a,hnO3f9T8"));
    }

    #[test]
    fn svix_hosted_sign_writes_svix_headers_that_verify() {
        const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"type":"some.event","data":{}}"#;
        let key = svix_key(SECRET).unwrap();
        let mut headers = HeaderMap::new();
        let added = svix_sign(&Delivery::post(&headers, body), &key, NOW).unwrap();
        let names: Vec<_> = added.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["svix-id", "svix-timestamp", "svix-signature"]);
        for (name, value) in added {
            headers.insert(name, value);
        }
        let verified = verify(&Delivery::post(&headers, body), &[key], window()).unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("some.event"));
        let other = verify(
            &Delivery::post(&headers, body),
            &[svix_key("whsec_c29tZW9uZSBlbHNl").unwrap()],
            window(),
        );
        assert_eq!(other, Err(SignatureError::Mismatch));
    }

    #[test]
    fn svix_hosted_providers_take_no_ed25519_keys() {
        for secret in [
            "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=",
            "whsk_AAAA",
        ] {
            assert_eq!(svix_key(secret), Err(KeyError::Format(SVIX_KEY_FORMAT)));
        }
    }
}
