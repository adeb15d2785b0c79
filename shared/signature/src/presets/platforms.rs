//! Platforms that call out to apps built on them: chain data, realtime and chat APIs, commerce
//! platforms, incident and engineering tools.

use super::hmac;
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::layout::Layout;
use crate::provider::{How, Provider};

pub(crate) static ROWS: &[Provider] = &[
    Provider {
        name: "ably",
        aliases: &[],
        title: "Ably (batched webhooks)",
        docs: "https://ably.com/docs/platform/integrations/webhooks#security",
        handshake: None,
        // A rule may ask for MessagePack instead of JSON.
        json_body: false,
        informative_headers: &[],
        // Only batched requests are signed. The key is the secret half of the API key named in
        // X-Ably-Key: the part after the colon, used as text. A batch carries several events.
        official_vectors: false,
        how: How::Hmac(hmac(
            "x-ably-signature",
            Algorithm::Sha256,
            Encoding::Base64,
        )),
    },
    Provider {
        name: "aftership",
        aliases: &[],
        title: "AfterShip Tracking",
        docs: "https://www.aftership.com/docs/tracking/webhook/webhook-signature",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // AfterShip's Returns, Warranty and Shipping products sign under other header names;
        // this row is the Tracking product's webhooks.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/event"),
            ..hmac("aftership-hmac-sha256", Algorithm::Sha256, Encoding::Base64)
        }),
    },
    Provider {
        name: "alchemy",
        aliases: &[],
        title: "Alchemy Notify",
        docs: "https://docs.alchemy.com/reference/notify-api-faq",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the webhook's own signing key from the Notify dashboard, not the app's auth
        // token; the `whsec_` key is used as the text it is.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/id"),
            type_pointer: Some("/type"),
            ..hmac("x-alchemy-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "bolt",
        aliases: &[],
        title: "Bolt",
        docs: "https://help.bolt.com/developers/webhooks/hook-verification/",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the merchant division's signing secret (Administration > API), not its API
        // key.
        official_vectors: false,
        how: How::Hmac(hmac(
            "x-bolt-hmac-sha256",
            Algorithm::Sha256,
            Encoding::Base64,
        )),
    },
    Provider {
        name: "commerce-layer",
        aliases: &["commercelayer"],
        title: "Commerce Layer",
        docs: "https://docs.commercelayer.io/developers/callbacks-security",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The same shared secret signs real-time webhooks and calls to external resources (prices,
        // taxes, payment gateways), so one row serves both.
        official_vectors: false,
        how: How::Hmac(hmac(
            "x-commercelayer-signature",
            Algorithm::Sha256,
            Encoding::Base64,
        )),
    },
    Provider {
        name: "dwolla",
        aliases: &[],
        title: "Dwolla",
        docs: "https://developers.dwolla.com/docs/connect/webhooks/process-validate",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the secret given when the webhook subscription was created.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/id"),
            type_pointer: Some("/topic"),
            ..hmac(
                "x-request-signature-sha-256",
                Algorithm::Sha256,
                Encoding::Hex,
            )
        }),
    },
    Provider {
        name: "easypost",
        aliases: &[],
        title: "EasyPost",
        docs: "https://docs.easypost.com/guides/webhooks-guide#hmac-validation",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The body-only X-Hmac-Signature the official SDKs check. EasyPost's SDKs NFKD-normalise
        // the webhook secret before keying, so a secret with accented letters must be configured
        // in that decomposed form.
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            prefix: "hmac-sha256-hex=",
            id_pointer: Some("/id"),
            type_pointer: Some("/description"),
            ..hmac("x-hmac-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "fastspring",
        aliases: &[],
        title: "FastSpring",
        docs: "https://developer.fastspring.com/docs/message-security",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Signed only when the webhook has an HMAC SHA256 secret set. One post may batch several
        // events, so it names no single id or type.
        official_vectors: false,
        how: How::Hmac(hmac("x-fs-signature", Algorithm::Sha256, Encoding::Base64)),
    },
    Provider {
        name: "onfido",
        aliases: &[],
        title: "Onfido",
        docs: "https://documentation.onfido.com/api/manual-webhook-signature-verification",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Onfido also sends the older SHA-1 X-Signature; the SHA-256 one is what its SDKs check.
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/payload/action"),
            ..hmac("x-sha2-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "planetscale",
        aliases: &[],
        title: "PlanetScale",
        docs: "https://planetscale.com/docs/concepts/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/event"),
            ..hmac("x-planetscale-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "pusher",
        aliases: &["pusher-channels"],
        title: "Pusher Channels",
        docs: "https://pusher.com/docs/channels/server_api/webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the secret of the app token X-Pusher-Key names. The body's `time_ms` is not
        // a signed header stamp, so no replay window applies; a post may batch several events.
        official_vectors: false,
        how: How::Hmac(hmac("x-pusher-signature", Algorithm::Sha256, Encoding::Hex)),
    },
    Provider {
        name: "rootly",
        aliases: &[],
        title: "Rootly",
        docs: "https://docs.rootly.com/configuration/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Stripe's `t=…,v1=…` header, but the timestamp runs straight into the body with no dot.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::T_V1,
            signed: "{timestamp}{body}",
            id_pointer: Some("/event/id"),
            type_pointer: Some("/event/type"),
            ..hmac("x-rootly-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "sendbird",
        aliases: &[],
        title: "Sendbird Chat",
        docs: "https://sendbird.com/docs/chat/platform-api/v3/webhook/webhook-overview",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the application's master API token: secondary tokens do not sign.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/category"),
            ..hmac("x-sendbird-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "shortcut",
        aliases: &[],
        title: "Shortcut (outgoing webhooks)",
        docs: "https://help.shortcut.com/hc/en-us/articles/34734717380756",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Signed only when the webhook was given a secret. Payload-Signature took over from
        // Clubhouse-Signature, which Clubhouse documented as the hex HMAC-SHA-256 of the body.
        official_vectors: false,
        how: How::Hmac(hmac("payload-signature", Algorithm::Sha256, Encoding::Hex)),
    },
    Provider {
        name: "stream",
        aliases: &["getstream", "stream-chat"],
        title: "Stream Chat",
        docs: "https://getstream.io/chat/docs/node/webhooks_overview/",
        handshake: None,
        json_body: true,
        informative_headers: &["x-webhook-attempt"],
        // Keyed with the app's API secret. X-Webhook-Id stays the same across retries, which is
        // what makes it the idempotency key.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_header: Some("x-webhook-id"),
            type_pointer: Some("/type"),
            ..hmac("x-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "thinkific",
        aliases: &[],
        title: "Thinkific",
        docs: "https://support.thinkific.dev/hc/en-us/articles/4422685850775-Using-Webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the site's API key, or with the app's client secret for webhooks an app
        // registered.
        official_vectors: false,
        how: How::Hmac(hmac(
            "x-thinkific-hmac-sha256",
            Algorithm::Sha256,
            Encoding::Hex,
        )),
    },
    Provider {
        name: "thirdweb-engine",
        aliases: &[],
        title: "thirdweb Engine",
        docs: "https://portal.thirdweb.com/engine/features/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            timestamp_header: Some("x-engine-timestamp"),
            signed: "{timestamp}.{body}",
            ..hmac("x-engine-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "wistia",
        aliases: &[],
        title: "Wistia",
        docs: "https://docs.wistia.com/docs/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Events always arrive as a list, so the delivery is named by its hook uuid alone.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/hook/uuid"),
            ..hmac("x-wistia-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
];
