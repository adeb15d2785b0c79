//! OpenAI webhooks (background responses, batches, fine-tuning, evals, Realtime calls).
//!
//! OpenAI follows Standard Webhooks: `webhook-signature` lists `v1,<base64>` items, each the
//! HMAC-SHA256 of `webhook-id` + `.` + `webhook-timestamp` + `.` + the raw body, keyed by the bytes
//! of the base64 secret after `whsec_`. The timestamp is signed and the replay window applies;
//! `webhook-id` names the delivery and the body's `type` the event. Verification and signing are
//! Standard Webhooks' own; only the secrets accepted are OpenAI's.

use crate::crypto::Encoding;
use crate::error::KeyError;
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider};
use crate::providers::standard_webhooks;

const ID: &str = "webhook-id";
const TIMESTAMP: &str = "webhook-timestamp";
const SIGNATURE: &str = "webhook-signature";
const KEY_FORMAT: &str = "the webhook's signing secret, `whsec_` + base64";

/// OpenAI's secrets always start with `whsec_`. Its SDKs use any other text as the key's raw
/// bytes, where Standard Webhooks would decode it as base64: rather than guess, only the prefixed
/// form is accepted.
fn key(secret: &str) -> Result<Key, KeyError> {
    if !secret.starts_with("whsec_") {
        return Err(KeyError::Format(KEY_FORMAT));
    }
    standard_webhooks::key(secret)
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        id_header: Some(ID),
        signed_id: true,
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of `webhook-id.webhook-timestamp.body`, base64, as `v1,…` (several while rolling)",
    key_format: KEY_FORMAT,
    key,
    signing_key: key,
    verify: standard_webhooks::verify,
    sign: standard_webhooks::sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: standard_webhooks::secrets_for_seed,
};

pub static PROVIDER: Provider = Provider {
    name: "openai",
    aliases: &[],
    title: "OpenAI",
    docs: "https://platform.openai.com/docs/guides/webhooks",
    handshake: None,
    json_body: true,
    informative_headers: &["webhook-id", "webhook-timestamp"],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn only_whsec_secrets_are_accepted() {
        assert!(key("whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=").is_ok());
        for secret in [
            "RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=",
            "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=",
        ] {
            assert_eq!(key(secret), Err(KeyError::Format(KEY_FORMAT)));
        }
        assert_eq!(key("whsec_not base64!"), Err(KeyError::NotBase64));
    }
}
