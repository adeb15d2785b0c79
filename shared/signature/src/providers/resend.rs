//! Resend webhooks, delivered through Svix: Standard Webhooks under `svix-*` header names.
//!
//! `svix-signature` lists `v1,<base64>` items (several while the secret rolls), each the
//! HMAC-SHA256 of `svix-id` + `.` + `svix-timestamp` + `.` + the raw body, keyed by the bytes of
//! the base64 secret after `whsec_`. The timestamp is signed and the replay window applies;
//! `svix-id` names the delivery and the body's `type` the event. Verification, signing and
//! keys are `standard_webhooks::SVIX_HOSTED`, shared with every provider that delivers through Svix.

use crate::provider::{How, Provider};
use crate::providers::standard_webhooks;

pub static PROVIDER: Provider = Provider {
    name: "resend",
    aliases: &[],
    title: "Resend",
    docs: "https://resend.com/docs/webhooks/verify-webhooks-requests",
    handshake: None,
    json_body: true,
    informative_headers: &["svix-id", "svix-timestamp"],
    official_vectors: true,
    how: How::Code(&standard_webhooks::SVIX_HOSTED),
};
