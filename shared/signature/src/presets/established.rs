//! The plain HMAC and token providers of the first catalogue.

use super::hmac;
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::provider::{How, Provider};
use crate::stamp::TimeFormat;
use crate::token::TokenScheme;

pub(crate) static ROWS: &[Provider] = &[
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: true,
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: false,
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
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            timestamp_header: Some("x-webflow-timestamp"),
            timestamp_format: TimeFormat::Millis,
            signed: "{timestamp}:{body}",
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
        official_vectors: false,
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
