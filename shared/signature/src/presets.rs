//! Providers that are a plain HMAC over the body (perhaps after a timestamp) or a shared token:
//! one row each, in the settings a configured `hmac` or `token` source would have. Providers
//! that need more (several signatures, a signed URL, a handshake, a public key) have a file of
//! their own under `src/providers/`.

use crate::provider::{How, Provider};
use crate::{Algorithm, CustomScheme, Encoding, TokenScheme};

const fn hmac(header: &'static str, algorithm: Algorithm, encoding: Encoding) -> CustomScheme {
    CustomScheme::new(header, algorithm, encoding)
}

pub(crate) static PRESETS: &[Provider] = &[
    Provider {
        name: "gitlab",
        aliases: &[],
        title: "GitLab",
        docs: "https://docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook",
        handshake: None,
        json_body: true,
        informative_headers: &[
            "x-gitlab-event",
            "x-gitlab-event-uuid",
            "x-gitlab-webhook-uuid",
        ],
        how: How::Token(TokenScheme {
            id_header: Some("x-gitlab-event-uuid"),
            type_header: Some("x-gitlab-event"),
            ..TokenScheme::new("x-gitlab-token")
        }),
    },
    Provider {
        name: "airtable",
        aliases: &[],
        title: "Airtable",
        docs: "https://airtable.com/developers/web/api/webhooks-overview",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // A notification only says that a base changed; the changes themselves are fetched from
        // the payloads endpoint, so it carries neither an event id nor a type. The MAC secret is
        // handed out in base64 and keys the HMAC once decoded.
        how: How::Hmac(CustomScheme {
            prefix: "hmac-sha256=",
            key_encoding: Some(Encoding::Base64),
            ..hmac("x-airtable-content-mac", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "bitbucket",
        aliases: &[],
        title: "Bitbucket Cloud",
        docs: "https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &[
            "x-event-key",
            "x-hook-uuid",
            "x-request-uuid",
            "x-attempt-number",
        ],
        // The header carries GitHub's old name but a SHA-256 tag.
        how: How::Hmac(CustomScheme {
            prefix: "sha256=",
            id_header: Some("x-request-uuid"),
            type_header: Some("x-event-key"),
            ..hmac("x-hub-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "calcom",
        aliases: &[],
        title: "Cal.com",
        docs: "https://cal.com/docs/core-features/webhooks",
        handshake: None,
        // A custom payload template may render something other than JSON.
        json_body: false,
        informative_headers: &[],
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/triggerEvent"),
            ..hmac("x-cal-signature-256", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "gitea",
        aliases: &[],
        title: "Gitea",
        docs: "https://docs.gitea.com/usage/webhooks",
        handshake: None,
        // A webhook may post as a form; its signature still covers the JSON payload, not the body
        // sent, so only the JSON content type verifies.
        json_body: false,
        informative_headers: &["x-gitea-event", "x-gitea-event-type", "x-gitea-delivery"],
        how: How::Hmac(CustomScheme {
            id_header: Some("x-gitea-delivery"),
            type_header: Some("x-gitea-event"),
            ..hmac("x-gitea-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "helpscout",
        aliases: &[],
        title: "Help Scout",
        docs: "https://developer.helpscout.com/webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &["x-helpscout-event"],
        how: How::Hmac(CustomScheme {
            type_header: Some("x-helpscout-event"),
            ..hmac("x-helpscout-signature", Algorithm::Sha1, Encoding::Base64)
        }),
    },
    Provider {
        name: "intercom",
        aliases: &[],
        title: "Intercom",
        docs: "https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the app's client secret; the notification names itself in the body.
        how: How::Hmac(CustomScheme {
            prefix: "sha1=",
            id_pointer: Some("/id"),
            type_pointer: Some("/topic"),
            ..hmac("x-hub-signature", Algorithm::Sha1, Encoding::Hex)
        }),
    },
    Provider {
        name: "lemonsqueezy",
        aliases: &[],
        title: "Lemon Squeezy",
        docs: "https://docs.lemonsqueezy.com/help/webhooks/signing-requests",
        handshake: None,
        json_body: true,
        informative_headers: &["x-event-name"],
        how: How::Hmac(CustomScheme {
            type_header: Some("x-event-name"),
            ..hmac("x-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "razorpay",
        aliases: &[],
        title: "Razorpay",
        docs: "https://razorpay.com/docs/webhooks/validate-test/",
        handshake: None,
        json_body: true,
        informative_headers: &["x-razorpay-event-id"],
        how: How::Hmac(CustomScheme {
            id_header: Some("x-razorpay-event-id"),
            type_pointer: Some("/event"),
            ..hmac("x-razorpay-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "segment",
        aliases: &[],
        title: "Twilio Segment (Webhooks destination)",
        docs: "https://segment.com/docs/connections/destinations/catalog/actions-webhook/",
        handshake: None,
        // Batching posts a JSON array, and the mapped data need not be an object.
        json_body: false,
        informative_headers: &[],
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/messageId"),
            type_pointer: Some("/type"),
            ..hmac("x-signature", Algorithm::Sha1, Encoding::Hex)
        }),
    },
    Provider {
        name: "sentry",
        aliases: &[],
        title: "Sentry (integration platform)",
        docs: "https://docs.sentry.io/integrations/integration-platform/webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &["sentry-hook-resource", "request-id"],
        // Sentry-Hook-Timestamp is sent but not signed, so it cannot bound a replay: it is left
        // out rather than trusted.
        how: How::Hmac(CustomScheme {
            id_header: Some("request-id"),
            type_header: Some("sentry-hook-resource"),
            ..hmac("sentry-hook-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "typeform",
        aliases: &[],
        title: "Typeform",
        docs: "https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        how: How::Hmac(CustomScheme {
            prefix: "sha256=",
            id_pointer: Some("/event_id"),
            type_pointer: Some("/event_type"),
            ..hmac("typeform-signature", Algorithm::Sha256, Encoding::Base64)
        }),
    },
    Provider {
        name: "vercel",
        aliases: &[],
        title: "Vercel",
        docs: "https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/id"),
            type_pointer: Some("/type"),
            ..hmac("x-vercel-signature", Algorithm::Sha1, Encoding::Hex)
        }),
    },
    Provider {
        name: "webflow",
        aliases: &[],
        title: "Webflow",
        docs: "https://developers.webflow.com/data/docs/working-with-webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The timestamp is signed, so the window applies; Webflow counts milliseconds.
        how: How::Hmac(CustomScheme {
            timestamp_header: Some("x-webflow-timestamp"),
            timestamp_separator: ":",
            timestamp_millis: true,
            type_pointer: Some("/triggerType"),
            ..hmac("x-webflow-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "woocommerce",
        aliases: &[],
        title: "WooCommerce",
        docs: "https://developer.woocommerce.com/docs/apis/rest-api/v3/webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &[
            "x-wc-webhook-topic",
            "x-wc-webhook-resource",
            "x-wc-webhook-event",
            "x-wc-webhook-id",
            "x-wc-webhook-delivery-id",
            "x-wc-webhook-source",
        ],
        how: How::Hmac(CustomScheme {
            id_header: Some("x-wc-webhook-delivery-id"),
            type_header: Some("x-wc-webhook-topic"),
            ..hmac(
                "x-wc-webhook-signature",
                Algorithm::Sha256,
                Encoding::Base64,
            )
        }),
    },
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use crate::registry::{Provider, find};
    use crate::{Delivery, Key, KeyError, SignatureError, Verified, Window};
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
