//! Messaging, CRM, productivity and AI providers.

use super::{STANDARD_WEBHOOKS, STANDARD_WEBHOOKS_HEADERS, hmac};
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::layout::Layout;
use crate::provider::{How, Provider};
use crate::stamp::TimeFormat;
use crate::token::TokenScheme;

pub(crate) static ROWS: &[Provider] = &[
    Provider {
        name: "customer-io",
        aliases: &["customerio"],
        title: "Customer.io (reporting webhooks)",
        docs: "https://docs.customer.io/journeys/webhooks/#securely-verify-requests",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The metric (`sent`, `opened`…) names the event; `object_type` only says the channel.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            timestamp_header: Some("x-cio-timestamp"),
            signed: "v0:{timestamp}:{body}",
            id_pointer: Some("/event_id"),
            type_pointer: Some("/metric"),
            ..hmac("x-cio-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "frameio",
        aliases: &["frame-io"],
        title: "Frame.io (V4 webhooks)",
        docs: "https://next.developer.frame.io/platform/docs/guides/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            prefix: "v0=",
            timestamp_header: Some("x-frameio-request-timestamp"),
            signed: "v0:{timestamp}:{body}",
            type_pointer: Some("/type"),
            ..hmac("x-frameio-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "microsoft-teams",
        aliases: &["teams"],
        title: "Microsoft Teams (outgoing webhooks)",
        docs: "https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-outgoing-webhook",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The security token Teams shows once is base64 and keys the HMAC once decoded; the
        // signature rides in `Authorization`, so that header is the credential, never kept.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            prefix: "HMAC ",
            key_encoding: Some(Encoding::Base64),
            id_pointer: Some("/id"),
            type_pointer: Some("/type"),
            ..hmac("authorization", Algorithm::Sha256, Encoding::Base64)
        }),
    },
    Provider {
        name: "tally",
        aliases: &[],
        title: "Tally",
        docs: "https://tally.so/help/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/eventId"),
            type_pointer: Some("/eventType"),
            ..hmac("tally-signature", Algorithm::Sha256, Encoding::Base64)
        }),
    },
    Provider {
        name: "webex",
        aliases: &[],
        title: "Webex (Webhooks API)",
        docs: "https://developer.webex.com/docs/api/guides/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The body's `id` is the webhook registration's, the same on every delivery, and the
        // event is named by `resource` and `event` together: neither is taken as the id or type.
        official_vectors: false,
        how: How::Hmac(hmac("x-spark-signature", Algorithm::Sha1, Encoding::Hex)),
    },
    Provider {
        name: "mailersend",
        aliases: &[],
        title: "MailerSend",
        docs: "https://developers.mailersend.com/api/v1/webhooks.html#security",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/type"),
            ..hmac("signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "telegram",
        aliases: &[],
        title: "Telegram Bot API (setWebhook secret_token)",
        docs: "https://core.telegram.org/bots/api#setwebhook",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Telegram signs nothing: the `secret_token` given to setWebhook comes back verbatim.
        official_vectors: false,
        how: How::Token(TokenScheme::new("x-telegram-bot-api-secret-token")),
    },
    Provider {
        name: "knock",
        aliases: &[],
        title: "Knock (outbound webhooks)",
        docs: "https://docs.knock.app/developer-tools/outbound-webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &["x-knock-event", "x-knock-environment-id"],
        // Stripe's shape, but the stamp counts milliseconds and the item is `s`, base64.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::Stamped {
                separator: ',',
                timestamp: "t",
                signature: "s",
            },
            timestamp_format: TimeFormat::Millis,
            signed: "{timestamp}.{body}",
            type_header: Some("x-knock-event"),
            type_pointer: Some("/type"),
            ..hmac("x-knock-signature", Algorithm::Sha256, Encoding::Base64)
        }),
    },
    Provider {
        name: "close",
        aliases: &["close-crm"],
        title: "Close (webhook subscriptions)",
        docs: "https://developer.close.com/topics/webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The subscription's `signature_key` is handed out as hex and keys the HMAC once decoded;
        // the timestamp runs straight into the body, with nothing between.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            timestamp_header: Some("close-sig-timestamp"),
            signed: "{timestamp}{body}",
            key_encoding: Some(Encoding::Hex),
            id_pointer: Some("/event/id"),
            ..hmac("close-sig-hash", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "attio",
        aliases: &[],
        title: "Attio",
        docs: "https://docs.attio.com/rest-api/guides/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &["idempotency-key"],
        // `X-Attio-Signature` repeats the signature for older middleware; `Attio-Signature` is
        // read. A delivery batches events, so no single type names it.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_header: Some("idempotency-key"),
            ..hmac("attio-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "clickup",
        aliases: &[],
        title: "ClickUp",
        docs: "https://developer.clickup.com/docs/webhooksignature",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/event"),
            ..hmac("x-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "todoist",
        aliases: &[],
        title: "Todoist",
        docs: "https://developer.todoist.com/api/v1/#tag/Webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &["x-todoist-delivery-id"],
        // Keyed with the app's OAuth client secret; a redelivery keeps its delivery id.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_header: Some("x-todoist-delivery-id"),
            type_pointer: Some("/event_name"),
            ..hmac("x-todoist-hmac-sha256", Algorithm::Sha256, Encoding::Base64)
        }),
    },
    Provider {
        name: "ashby",
        aliases: &[],
        title: "Ashby",
        docs: "https://developers.ashbyhq.com/docs/authenticating-webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            prefix: "sha256=",
            type_pointer: Some("/action"),
            ..hmac("ashby-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "greenhouse",
        aliases: &[],
        title: "Greenhouse Recruiting",
        docs: "https://developers.greenhouse.io/webhooks.html#authentication",
        handshake: None,
        json_body: true,
        informative_headers: &["greenhouse-event-id"],
        // The algorithm is named before the signature with a space, not `=`.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            prefix: "sha256 ",
            id_header: Some("greenhouse-event-id"),
            type_pointer: Some("/action"),
            ..hmac("signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "elevenlabs",
        aliases: &[],
        title: "ElevenLabs",
        docs: "https://elevenlabs.io/docs/product-guides/administration/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::Stamped {
                separator: ',',
                timestamp: "t",
                signature: "v0",
            },
            signed: "{timestamp}.{body}",
            type_pointer: Some("/type"),
            ..hmac("elevenlabs-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "retell",
        aliases: &["retell-ai"],
        title: "Retell AI",
        docs: "https://docs.retellai.com/features/secure-webhook",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the Retell API key that carries the webhook badge. The millisecond stamp is
        // signed after the body, not before it.
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            layout: Layout::Stamped {
                separator: ',',
                timestamp: "v",
                signature: "d",
            },
            timestamp_format: TimeFormat::Millis,
            signed: "{body}{timestamp}",
            type_pointer: Some("/event"),
            ..hmac("x-retell-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "loops",
        aliases: &[],
        title: "Loops",
        docs: "https://loops.so/docs/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: STANDARD_WEBHOOKS_HEADERS,
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/eventName"),
            ..STANDARD_WEBHOOKS
        }),
    },
    Provider {
        name: "front-rules",
        aliases: &[],
        title: "Front (rule webhooks)",
        docs: "https://dev.frontapp.com/docs/rule-webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Rule webhooks only: Front's application webhooks sign `timestamp:body` and answer an
        // `X-Front-Challenge` when saved, which data cannot do. Keyed with the API secret.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/id"),
            type_pointer: Some("/type"),
            ..hmac("x-front-signature", Algorithm::Sha1, Encoding::Base64)
        }),
    },
];
