//! Resend webhooks, delivered through Svix: Standard Webhooks under `svix-*` header names.
//!
//! `svix-signature` lists `v1,<base64>` items (several while the secret rolls), each the
//! HMAC-SHA256 of `svix-id` + `.` + `svix-timestamp` + `.` + the raw body, keyed by the bytes of
//! the base64 secret after `whsec_`. The timestamp is signed and the replay window applies;
//! `svix-id` names the delivery and the body's `type` the event. Verification is Standard
//! Webhooks' own; only the header names `sign` writes, and the secrets accepted, are Resend's.

use crate::providers::standard_webhooks;
use crate::registry::{Code, Facts, How, Provider};
use crate::{
    Delivery, Encoding, Key, KeyError, SignError, SignedHeader, derived_id, optional_header,
};
use http::HeaderName;

const ID: &str = "svix-id";
const TIMESTAMP: &str = "svix-timestamp";
const SIGNATURE: &str = "svix-signature";
const KEY_FORMAT: &str = "the endpoint's signing secret, `whsec_` + base64";

/// An HMAC secret only: Resend signs no `v1a` (ed25519) items.
fn key(secret: &str) -> Result<Key, KeyError> {
    if secret.starts_with("whpk_") || secret.starts_with("whsk_") {
        return Err(KeyError::Format(KEY_FORMAT));
    }
    standard_webhooks::key(secret)
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let given = optional_header(delivery.headers, ID).ok().flatten();
    let id = given.map_or_else(|| derived_id("msg_", delivery.body, now), str::to_owned);
    // Standard Webhooks' headers, under the names Resend sends.
    let [(_, id_value), (_, timestamp), (_, signature)] =
        standard_webhooks::sign_outbound(key, &id, now, delivery.body);
    let mut added = Vec::with_capacity(3);
    if given.is_none() {
        added.push((HeaderName::from_static(ID), id_value));
    }
    added.push((HeaderName::from_static(TIMESTAMP), timestamp));
    added.push((HeaderName::from_static(SIGNATURE), signature));
    Ok(added)
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        id_header: Some(ID),
        signed_id: true,
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of `svix-id.svix-timestamp.body`, base64, as `v1,…` (several while rolling)",
    key_format: KEY_FORMAT,
    key,
    signing_key: key,
    verify: standard_webhooks::verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: standard_webhooks::secrets_for_seed,
};

pub static PROVIDER: Provider = Provider {
    name: "resend",
    aliases: &[],
    title: "Resend",
    docs: "https://resend.com/docs/webhooks/verify-webhooks-requests",
    handshake: None,
    json_body: true,
    informative_headers: &["svix-id", "svix-timestamp"],
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::{SignatureError, Window};
    use http::HeaderMap;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const NOW: i64 = 1_614_265_330;

    #[test]
    fn sign_writes_svix_headers_that_verify() {
        let body = br#"{"type":"some.event","data":{}}"#;
        let key = key(SECRET).unwrap();
        let mut headers = HeaderMap::new();
        let added = sign(&Delivery::post(&headers, body), &key, NOW).unwrap();
        let names: Vec<_> = added.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, [ID, TIMESTAMP, SIGNATURE]);
        for (name, value) in added {
            headers.insert(name, value);
        }
        let window = Window {
            now: NOW,
            tolerance_secs: 300,
        };
        let verified = (CODE.verify)(&Delivery::post(&headers, body), &[key], window).unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("some.event"));
        let other = (CODE.verify)(
            &Delivery::post(&headers, body),
            &[super::key("whsec_c29tZW9uZSBlbHNl").unwrap()],
            window,
        );
        assert_eq!(other, Err(SignatureError::Mismatch));
    }

    #[test]
    fn ed25519_keys_are_not_this_providers() {
        for secret in [
            "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=",
            "whsk_AAAA",
        ] {
            assert_eq!(key(secret), Err(KeyError::Format(KEY_FORMAT)));
        }
    }
}
