//! Providers that are data: a plain or timestamped HMAC (`How::Hmac`), a shared token
//! (`How::Token`), or another provider's code under the provider's own name (`How::Code`, as the
//! senders that deliver through Svix do). One row each, grouped by kind in the files below; a
//! provider that needs more (a handshake, a signature over body fields, a public key) has a file
//! of its own under `src/providers/`.

use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::layout::Layout;
use crate::provider::Provider;

mod developer;
mod established;
mod hosted;
mod messaging;
mod payments;
mod platforms;

/// A scheme over `header` with everything else at its simplest, for rows to start from.
pub(crate) const fn hmac(
    header: &'static str,
    algorithm: Algorithm,
    encoding: Encoding,
) -> CustomScheme {
    CustomScheme::new(header, algorithm, encoding)
}

/// Standard Webhooks under its own `webhook-*` names, as the senders that use it send them (Svix's
/// white-labelled headers, or the spec's libraries). `standard_webhooks::SVIX_HOSTED` would
/// verify them too, but it writes and documents `svix-*` headers; none of these senders signs
/// `v1a` (ed25519) items, so HMAC data says all of it. Some hand the secret out without `whsec_`.
pub(super) const STANDARD_WEBHOOKS: CustomScheme = CustomScheme {
    prefix: "v1,",
    layout: Layout::List { separator: ' ' },
    timestamp_header: Some("webhook-timestamp"),
    signed: "{id}.{timestamp}.{body}",
    key_encoding: Some(Encoding::Base64),
    key_prefix: "whsec_",
    id_header: Some("webhook-id"),
    ..hmac("webhook-signature", Algorithm::Sha256, Encoding::Base64)
};

pub(super) const STANDARD_WEBHOOKS_HEADERS: &[&str] = &["webhook-id", "webhook-timestamp"];

/// Every row, group by group.
pub(crate) fn rows() -> impl Iterator<Item = &'static Provider> {
    [
        established::ROWS,
        hosted::ROWS,
        payments::ROWS,
        developer::ROWS,
        messaging::ROWS,
        platforms::ROWS,
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use crate::delivery::{Delivery, Verified, Window};
    use crate::error::{KeyError, SignatureError};
    use crate::key::Key;
    use crate::registry::{Provider, find};
    use http::{HeaderMap, HeaderName, HeaderValue};

    const NOW: i64 = 1_763_816_400;

    fn provider(name: &str) -> &'static Provider {
        find(name).unwrap_or_else(|| panic!("{name} is not in the catalogue"))
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn window(now: i64) -> Window {
        Window {
            now,
            tolerance_secs: 300,
        }
    }

    /// Signs `body` for `name` at `now`, adds `extra`, and verifies at `at`.
    fn round_trip(
        name: &str,
        secret: &str,
        body: &[u8],
        extra: &[(&str, &str)],
        now: i64,
        at: i64,
    ) -> Result<Verified, SignatureError> {
        let provider = provider(name);
        let key: Key = provider.key(secret).unwrap();
        let mut map = headers(extra);
        let signed = provider
            .sign(&Delivery::post(&map, body), &key, now)
            .unwrap();
        for (header, value) in signed {
            map.insert(header, value);
        }
        provider.verify(&Delivery::post(&map, body), &[key], window(at))
    }

    #[test]
    fn airtable_refuses_a_secret_that_is_not_base64() {
        assert_eq!(
            provider("airtable").key("not base64!").err(),
            Some(KeyError::Format("the secret as base64"))
        );
    }

    #[test]
    fn event_id_and_type_come_from_headers_where_the_provider_sends_them() {
        let verified = round_trip(
            "bitbucket",
            "s3cret",
            b"{}",
            &[
                ("x-request-uuid", "4c7d9e2a-1b3f-4a5c-8d6e-9f0a1b2c3d4e"),
                ("x-event-key", "repo:push"),
            ],
            NOW,
            NOW,
        )
        .unwrap();
        assert_eq!(
            verified.event_id.as_deref(),
            Some("4c7d9e2a-1b3f-4a5c-8d6e-9f0a1b2c3d4e")
        );
        assert_eq!(verified.event_type.as_deref(), Some("repo:push"));
    }

    #[test]
    fn event_id_and_type_come_from_the_body_where_the_provider_puts_them_there() {
        let body = br#"{"type":"notification_event","id":"notif_1","topic":"ping"}"#;
        let verified = round_trip("intercom", "s3cret", body, &[], NOW, NOW).unwrap();
        assert_eq!(verified.event_id.as_deref(), Some("notif_1"));
        assert_eq!(verified.event_type.as_deref(), Some("ping"));
    }

    #[test]
    fn sentry_hook_timestamp_is_not_trusted_for_a_window() {
        // Sentry does not sign its timestamp header, so an old value must neither help nor hurt.
        let verified = round_trip(
            "sentry",
            "s3cret",
            b"{}",
            &[
                ("sentry-hook-timestamp", "1"),
                ("sentry-hook-resource", "issue"),
            ],
            NOW,
            NOW + 86_400,
        )
        .unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("issue"));
        assert!(!provider("sentry").facts().timestamp);
    }

    #[test]
    fn webflow_counts_milliseconds_and_rejects_a_stale_delivery_before_any_hmac() {
        let body = br#"{"triggerType":"form_submission"}"#;
        round_trip("webflow", "s3cret", body, &[], NOW, NOW).unwrap();

        let provider = provider("webflow");
        let stale = headers(&[
            ("x-webflow-timestamp", "1763816400000"),
            ("x-webflow-signature", &"0".repeat(64)),
        ]);
        let result = provider.verify(
            &Delivery::post(&stale, body),
            &[provider.key("s3cret").unwrap()],
            window(NOW + 3_600),
        );
        assert_eq!(
            result.map_err(|e| e.code()).err(),
            Some("timestamp_out_of_tolerance")
        );
    }

    #[test]
    fn a_signature_of_the_wrong_length_for_the_hash_is_malformed() {
        // A SHA-256 length tag where Vercel's SHA-1 one belongs.
        let provider = provider("vercel");
        let map = headers(&[("x-vercel-signature", &"ab".repeat(32))]);
        let result = provider.verify(
            &Delivery::post(&map, b"{}"),
            &[provider.key("s3cret").unwrap()],
            window(NOW),
        );
        assert!(matches!(result, Err(SignatureError::Malformed { .. })));
    }
}
