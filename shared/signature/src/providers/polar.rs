//! Polar (polar.sh) webhooks: Standard Webhooks, but keyed by the secret's text.
//!
//! Polar sends `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64>` items),
//! the HMAC-SHA256 of `id.timestamp.body`, exactly as Standard Webhooks does; the timestamp is
//! signed, so the replay window applies. What differs is the key: Standard Webhooks base64-decodes
//! the secret after `whsec_`, while Polar signs with the secret's own UTF-8 bytes, `whsec_`
//! included (its server base64-encodes the secret before handing it to the Standard Webhooks
//! library, which decodes it straight back; its SDKs do the same, and its docs tell those who use
//! the library directly to encode the secret first). The body's `type` names the event and
//! `webhook-id` identifies it.

use crate::crypto::Encoding;
use crate::provider::{Code, Facts, How, Provider, Secrets, text_key};
use crate::providers::standard_webhooks::{sign, verify};

const ID: &str = "webhook-id";
const TIMESTAMP: &str = "webhook-timestamp";
const SIGNATURE: &str = "webhook-signature";

/// A secret as Polar issues them, `whsec_` and random text, made from the seed.
fn secrets_for_seed(seed: &[u8]) -> Secrets {
    Secrets::shared(format!("whsec_{}", hex::encode(seed)))
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        id_header: Some(ID),
        signed_id: true,
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of `id.timestamp.body`, base64, as `v1,…` items (Standard Webhooks)",
    key_format: "the endpoint's webhook secret, `whsec_` included and not decoded, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed,
};

pub static PROVIDER: Provider = Provider {
    name: "polar",
    aliases: &[],
    title: "Polar (polar.sh)",
    docs: "https://polar.sh/docs/integrate/webhooks/delivery",
    handshake: None,
    json_body: true,
    informative_headers: &[ID],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::delivery::{Delivery, Window};
    use crate::error::SignatureError;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use http::HeaderMap;

    // Its tail is valid base64, so that Standard Webhooks' reading of it is a real key too.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const NOW: i64 = 1_763_816_400;
    const BODY: &[u8] =
        br#"{"type":"order.paid","data":{"id":"b4bb2dc4-2f2e-4b7a-9f0e-7f3c3d8a1c55"}}"#;

    fn signed_with(key: &crate::Key) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ID, "3f2c8a52-7b55-4c1e-9d0a-5e6f7a8b9c0d".parse().unwrap());
        for (name, value) in sign(&Delivery::post(&headers, BODY), key, NOW).unwrap() {
            headers.insert(name, value);
        }
        headers
    }

    fn window() -> Window {
        Window {
            now: NOW,
            tolerance_secs: 300,
        }
    }

    #[test]
    fn the_key_is_the_secrets_text_not_its_base64_decoding() {
        let polar = text_key(SECRET).unwrap();
        let headers = signed_with(&polar);
        let verified = verify(&Delivery::post(&headers, BODY), &[polar], window()).unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("order.paid"));
        assert_eq!(
            verified.event_id.as_deref(),
            Some("3f2c8a52-7b55-4c1e-9d0a-5e6f7a8b9c0d")
        );
        // What Polar's SDK does: base64-encode the text, which the library decodes straight back.
        let encoded = STANDARD.encode(SECRET);
        let library = crate::providers::standard_webhooks::key(&encoded).unwrap();
        assert_eq!(library, text_key(SECRET).unwrap());
        // Standard Webhooks' own reading of the same secret is another key.
        let standard = crate::Key::secret(STANDARD.decode(&SECRET[6..]).unwrap());
        let result = verify(&Delivery::post(&headers, BODY), &[standard], window());
        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn seeded_secrets_look_like_polars() {
        let secrets = secrets_for_seed(b"seed");
        assert!(secrets.verify.starts_with("whsec_"));
        assert_eq!(
            PROVIDER.key(&secrets.verify).unwrap(),
            text_key(&secrets.verify).unwrap()
        );
    }
}
