//! Senders that reuse another provider's scheme under their own name: those that deliver through
//! Svix or the Standard Webhooks libraries, Meta's apps, and HTTP Basic senders.

use super::{STANDARD_WEBHOOKS, STANDARD_WEBHOOKS_HEADERS};
use crate::custom::CustomScheme;
use crate::provider::{How, Provider};
use crate::providers::{basic, meta, standard_webhooks};

/// Meta's subscription check, which WhatsApp and Instagram inherit with the rest of its scheme.
const META_HANDSHAKE: Option<&str> = Some(
    "GET `hub.mode=subscribe`: echoes `hub.challenge` once `hub.verify_token` matches the source's verify token",
);

pub(crate) static ROWS: &[Provider] = &[
    Provider {
        name: "brex",
        aliases: &[],
        title: "Brex",
        docs: "https://developer.brex.com/docs/webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: STANDARD_WEBHOOKS_HEADERS,
        // The secrets come from `GET /v1/webhooks/secrets` as bare base64; while one rolls, the
        // header carries a signature for each.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/event_type"),
            ..STANDARD_WEBHOOKS
        }),
    },
    Provider {
        name: "incident-io",
        aliases: &["incidentio"],
        title: "incident.io",
        docs: "https://docs.incident.io/api-reference/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: STANDARD_WEBHOOKS_HEADERS,
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/event_type"),
            ..STANDARD_WEBHOOKS
        }),
    },
    Provider {
        name: "lithic",
        aliases: &[],
        title: "Lithic (Events API)",
        docs: "https://docs.lithic.com/docs/events-api",
        handshake: None,
        json_body: true,
        informative_headers: STANDARD_WEBHOOKS_HEADERS,
        // Event subscriptions only: the older transaction webhooks set up in the dashboard carry
        // an `x-lithic-hmac` over the transaction object instead.
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/event_type"),
            ..STANDARD_WEBHOOKS
        }),
    },
    Provider {
        name: "pleo",
        aliases: &[],
        title: "Pleo",
        docs: "https://developers.pleo.io/reference/webhooks-authentication-authorisation",
        handshake: None,
        json_body: true,
        informative_headers: STANDARD_WEBHOOKS_HEADERS,
        // The HMAC subscription; one made with Basic credentials or a custom header instead is a
        // `basic` or `token` source.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/eventType"),
            ..STANDARD_WEBHOOKS
        }),
    },
    Provider {
        name: "render",
        aliases: &[],
        title: "Render",
        docs: "https://render.com/docs/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: STANDARD_WEBHOOKS_HEADERS,
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/type"),
            ..STANDARD_WEBHOOKS
        }),
    },
    Provider {
        name: "replicate",
        aliases: &[],
        title: "Replicate",
        docs: "https://replicate.com/docs/topics/webhooks/verify-webhook",
        handshake: None,
        json_body: true,
        informative_headers: STANDARD_WEBHOOKS_HEADERS,
        // The body is the prediction itself, so it names no event: which of `start`, `output`,
        // `logs` or `completed` sent it is only in the prediction's state.
        official_vectors: true,
        how: How::Hmac(STANDARD_WEBHOOKS),
    },
    Provider {
        name: "sardine",
        aliases: &[],
        title: "Sardine (payments)",
        docs: "https://docs.payments.sardine.ai/guides/integration/payments/nftCheckout/integrationGuide/webhook-support",
        handshake: None,
        json_body: true,
        informative_headers: STANDARD_WEBHOOKS_HEADERS,
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/eventType"),
            ..STANDARD_WEBHOOKS
        }),
    },
    Provider {
        name: "stytch",
        aliases: &[],
        title: "Stytch",
        docs: "https://stytch.com/docs/workspace-management/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &["svix-id", "svix-timestamp"],
        // Delivered through Svix under its own `svix-*` names. The event type is
        // `source.object_type.action`, spread over three body fields rather than one.
        official_vectors: false,
        how: How::Code(&standard_webhooks::SVIX_HOSTED),
    },
    Provider {
        name: "whatsapp",
        aliases: &[],
        title: "WhatsApp Business Platform (Cloud API)",
        docs: "https://developers.facebook.com/docs/whatsapp/cloud-api/guides/set-up-webhooks",
        handshake: META_HANDSHAKE,
        json_body: true,
        informative_headers: &[],
        // Signed with the Meta app's secret, as every Graph API webhook is.
        official_vectors: true,
        how: How::Code(&meta::CODE),
    },
    Provider {
        name: "instagram",
        aliases: &[],
        title: "Instagram (Instagram Platform webhooks)",
        docs: "https://developers.facebook.com/docs/instagram-platform/webhooks",
        handshake: META_HANDSHAKE,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Code(&meta::CODE),
    },
    Provider {
        name: "postmark",
        aliases: &[],
        title: "Postmark",
        docs: "https://postmarkapp.com/developer/webhooks/webhooks-overview#protecting-your-webhook",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Postmark signs nothing: the webhook URL's `user:password@` is all it offers (besides
        // its IP ranges), and it comes back as Basic credentials.
        official_vectors: false,
        how: How::Code(&basic::CODE),
    },
    Provider {
        name: "pipedrive",
        aliases: &[],
        title: "Pipedrive",
        docs: "https://pipedrive.readme.io/docs/guide-for-webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Pipedrive signs nothing: a webhook's `http_auth_user` and `http_auth_password` come back
        // as Basic credentials.
        official_vectors: false,
        how: How::Code(&basic::CODE),
    },
];
