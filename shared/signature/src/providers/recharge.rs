//! Recharge: `X-Recharge-Hmac-Sha256: <hex SHA-256(client secret ‖ body)>`. Despite the header's
//! name this is no HMAC: the API client secret is written before the raw body and the whole is
//! hashed once, which is why data (an HMAC scheme) cannot say it. A hash of `secret ‖ body` can
//! be extended without the secret (SHA-256's length extension), but only by appending its padding
//! (`0x80`, zero bytes, a length) to the body, which then is no JSON object: with `json_body`,
//! ingest refuses it as `malformed_body` and never queues it.

use crate::crypto::{self, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, optional_header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use http::HeaderName;
use subtle::{Choice, ConstantTimeEq};

const SIGNATURE: &str = "x-recharge-hmac-sha256";
const TOPIC: &str = "x-recharge-topic";
const DIGEST_LEN: usize = 32;

/// The digest Recharge sends for `body` under `secret`.
fn digest(secret: &[u8], body: &[u8]) -> [u8; DIGEST_LEN] {
    crypto::sha256(&[secret, body])
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let signature = Encoding::Hex.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    if signature.len() != DIGEST_LEN {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "wrong length for a SHA-256",
        });
    }
    // Every key is tried whatever matched first, so the time taken says nothing about which key
    // came close: the same rule `crypto::any_match` keeps for HMACs.
    let mut matched = Choice::from(0);
    for key in keys.iter().filter_map(Key::shared) {
        matched |= digest(key, delivery.body).ct_eq(signature.as_slice());
    }
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    Ok(Verified {
        event_id: None,
        event_type: optional_header(delivery.headers, TOPIC)?.map(str::to_owned),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(Encoding::Hex.encode(&digest(key.as_bytes(), delivery.body))),
    )])
}

static CODE: Code = Code {
    facts: Facts {
        type_header: Some(TOPIC),
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "SHA-256 (not an HMAC) of the client secret followed by the body, hex",
    key_format: "the API token's client secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "recharge",
    aliases: &[],
    title: "Recharge (subscriptions)",
    docs: "https://docs.getrecharge.com/docs/webhooks-overview#validating-webhooks",
    handshake: None,
    json_body: true,
    informative_headers: &[TOPIC],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::HeaderMap;

    const WINDOW: Window = Window {
        now: 1_763_816_400,
        tolerance_secs: 300,
    };

    fn verify_with(signature: &str) -> Result<Verified, SignatureError> {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, signature.parse().unwrap());
        let keys = [text_key("s3cret").unwrap()];
        verify(&Delivery::post(&headers, b"{}"), &keys, WINDOW)
    }

    #[test]
    fn the_secret_is_hashed_before_the_body_and_never_used_as_an_hmac_key() {
        assert!(verify_with(&hex::encode(digest(b"s3cret", b"{}"))).is_ok());
        // The body first, or an HMAC under the same secret: what a wrong reading would send.
        let reversed = hex::encode(crypto::sha256(&[b"{}".as_slice(), b"s3cret".as_slice()]));
        assert_eq!(verify_with(&reversed), Err(SignatureError::Mismatch));
        let hmac = crypto::hmac(crypto::Algorithm::Sha256, b"s3cret", &[b"{}".as_slice()]);
        assert_eq!(
            verify_with(&hex::encode(hmac.as_slice())),
            Err(SignatureError::Mismatch)
        );
    }
}
