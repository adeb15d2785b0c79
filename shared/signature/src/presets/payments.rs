//! Payments, banking and commerce providers.

use super::hmac;
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::layout::Layout;
use crate::provider::{How, Provider};
use crate::stamp::TimeFormat;
use crate::token::TokenScheme;

pub(crate) static ROWS: &[Provider] = &[
    Provider {
        name: "airwallex",
        aliases: &[],
        title: "Airwallex",
        docs: "https://www.airwallex.com/docs/developer-tools__listen-for-webhook-events",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The millisecond timestamp is glued to the body with no separator; the `whsec_` secret
        // keys the HMAC as the text it is, prefix and all.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            timestamp_header: Some("x-timestamp"),
            timestamp_format: TimeFormat::Millis,
            signed: "{timestamp}{body}",
            id_pointer: Some("/id"),
            type_pointer: Some("/name"),
            ..hmac("x-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "cashfree",
        aliases: &[],
        title: "Cashfree Payments",
        docs: "https://www.cashfree.com/docs/payments/online/webhooks/signature-verification",
        handshake: None,
        json_body: true,
        informative_headers: &["x-webhook-version"],
        // Keyed with the merchant's API secret key; the millisecond timestamp runs straight into
        // the body.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            timestamp_header: Some("x-webhook-timestamp"),
            timestamp_format: TimeFormat::Millis,
            signed: "{timestamp}{body}",
            type_pointer: Some("/type"),
            ..hmac("x-webhook-signature", Algorithm::Sha256, Encoding::Base64)
        }),
    },
    Provider {
        name: "castle",
        aliases: &[],
        title: "Castle",
        docs: "https://castle.io/docs/securing_requests",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the environment's API secret, the same one the API calls use.
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/type"),
            ..hmac("x-castle-signature", Algorithm::Sha256, Encoding::Base64)
        }),
    },
    Provider {
        name: "checkout-com",
        aliases: &[],
        title: "Checkout.com (workflow webhooks)",
        docs: "https://www.checkout.com/docs/developer-resources/webhooks/manage-webhooks/set-up-your-webhook-receiver",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the signature key given in the workflow's webhook action. The optional
        // Authorization header is a static value of the merchant's choosing, not a signature.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/id"),
            type_pointer: Some("/type"),
            ..hmac("cko-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "coinbase-commerce",
        aliases: &["coinbase"],
        title: "Coinbase Commerce",
        docs: "https://docs.cdp.coinbase.com/commerce/api-arcitecture/webhooks-security",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The event sits under `event` in the delivery, which has an id of its own per attempt.
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/event/id"),
            type_pointer: Some("/event/type"),
            ..hmac("x-cc-webhook-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "coinify",
        aliases: &[],
        title: "Coinify",
        docs: "https://coinify.readme.io/docs/webhook-signature",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: true,
        how: How::Hmac(hmac(
            "x-coinify-webhook-signature",
            Algorithm::Sha256,
            Encoding::Hex,
        )),
    },
    Provider {
        name: "flutterwave",
        aliases: &[],
        title: "Flutterwave (v3 webhooks)",
        docs: "https://developer.flutterwave.com/v3.0/docs/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // v3 sends the dashboard's secret hash back as it is: nothing binds it to the body.
        official_vectors: false,
        how: How::Token(TokenScheme::new("verif-hash")),
    },
    Provider {
        name: "fourthwall",
        aliases: &[],
        title: "Fourthwall (shop webhooks)",
        docs: "https://docs.fourthwall.com/webhooks/signature-verification",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Platform apps sign the same way under X-Fourthwall-Hmac-Apps-SHA256 with the app's key;
        // this row is the shop's own webhooks.
        official_vectors: false,
        how: How::Hmac(hmac(
            "x-fourthwall-hmac-sha256",
            Algorithm::Sha256,
            Encoding::Base64,
        )),
    },
    Provider {
        name: "gocardless",
        aliases: &[],
        title: "GoCardless",
        docs: "https://developer.gocardless.com/getting-started/staying-up-to-date-with-webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &["origin"],
        // One delivery batches several events, so it names no single id or type. GoCardless
        // expects 498 for a bad signature; Inlet's own status is what it gets.
        official_vectors: true,
        how: How::Hmac(hmac("webhook-signature", Algorithm::Sha256, Encoding::Hex)),
    },
    Provider {
        name: "loop-returns",
        aliases: &[],
        title: "Loop Returns",
        docs: "https://docs.loopreturns.com/reference/hmac-calculation",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(hmac(
            "x-loop-signature",
            Algorithm::Sha256,
            Encoding::Base64,
        )),
    },
    Provider {
        name: "modern-treasury",
        aliases: &[],
        title: "Modern Treasury",
        docs: "https://docs.moderntreasury.com/platform/docs/verifying-webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &["x-webhook-id"],
        // The id header stays the same across retries of one webhook, which is what makes it
        // the idempotency key.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_header: Some("x-webhook-id"),
            ..hmac("x-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "paystack",
        aliases: &[],
        title: "Paystack",
        docs: "https://paystack.com/docs/payments/webhooks/#verify-event-origin",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the account's secret API key (`sk_…`), not a webhook secret of its own.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/event"),
            ..hmac("x-paystack-signature", Algorithm::Sha512, Encoding::Hex)
        }),
    },
    Provider {
        name: "orb",
        aliases: &[],
        title: "Orb",
        docs: "https://docs.withorb.com/integrations-and-exports/webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: true,
        // The timestamp is ISO 8601 without a zone, meant as UTC, and signed as written.
        how: How::Hmac(CustomScheme {
            prefix: "v1=",
            layout: Layout::List { separator: ' ' },
            timestamp_header: Some("x-orb-timestamp"),
            timestamp_format: TimeFormat::Iso8601,
            signed: "v1:{timestamp}:{body}",
            id_pointer: Some("/id"),
            type_pointer: Some("/type"),
            ..hmac("x-orb-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "persona",
        aliases: &[],
        title: "Persona",
        docs: "https://docs.withpersona.com/docs/webhooks-best-practices",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // While a secret rotates Persona sends a whole `t=…,v1=…` group per secret, separated
        // by a space: the stamped layout parts items on whitespace too, so either may match.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::T_V1,
            signed: "{timestamp}.{body}",
            id_pointer: Some("/data/id"),
            type_pointer: Some("/data/attributes/name"),
            ..hmac("persona-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "recurly",
        aliases: &[],
        title: "Recurly (JSON webhooks)",
        docs: "https://docs.recurly.com/recurly-subscriptions/docs/signature-verification",
        handshake: None,
        // XML notifications are not signed, so only JSON ones can verify.
        json_body: true,
        informative_headers: &[],
        // A millisecond timestamp leads, then a signature per secret while one is regenerated.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::Leading { separator: ',' },
            timestamp_format: TimeFormat::Millis,
            signed: "{timestamp}.{body}",
            ..hmac("recurly-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "revolut",
        aliases: &["revolut-business"],
        title: "Revolut Business",
        docs: "https://developer.revolut.com/docs/guides/manage-accounts/webhooks/verify-the-payload-signature",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The signed string starts with the signature version; the timestamp counts
        // milliseconds; a rotation leaves several `v1=` signatures, comma separated.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            prefix: "v1=",
            layout: Layout::List { separator: ',' },
            timestamp_header: Some("revolut-request-timestamp"),
            timestamp_format: TimeFormat::Millis,
            signed: "v1.{timestamp}.{body}",
            type_pointer: Some("/event"),
            ..hmac("revolut-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "tiktok",
        aliases: &[],
        title: "TikTok for Developers",
        docs: "https://developers.tiktok.com/doc/webhooks-verification",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Stripe's layout with the signature under `s`, keyed with the app's client secret.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::Stamped {
                separator: ',',
                timestamp: "t",
                signature: "s",
            },
            signed: "{timestamp}.{body}",
            type_pointer: Some("/event"),
            ..hmac("tiktok-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "unit",
        aliases: &[],
        title: "Unit",
        docs: "https://docs.unit.co/webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Still SHA-1, keyed with the token set on the webhook. A delivery may batch several
        // events, so it names no single id or type.
        official_vectors: true,
        how: How::Hmac(hmac("x-unit-signature", Algorithm::Sha1, Encoding::Base64)),
    },
    Provider {
        name: "xendit",
        aliases: &[],
        title: "Xendit",
        docs: "https://docs.xendit.co/api-integration/callback/setup",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The account's callback verification token is sent as it is: nothing binds it to the
        // body.
        official_vectors: false,
        how: How::Token(TokenScheme::new("x-callback-token")),
    },
    Provider {
        name: "zoho-payments",
        aliases: &[],
        title: "Zoho Payments",
        docs: "https://www.zoho.com/in/payments/developerdocs/webhooks/verification",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Stripe's layout with the signature under `v` and the timestamp in milliseconds.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::Stamped {
                separator: ',',
                timestamp: "t",
                signature: "v",
            },
            timestamp_format: TimeFormat::Millis,
            signed: "{timestamp}.{body}",
            ..hmac("x-zoho-webhook-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "shopline",
        aliases: &[],
        title: "SHOPLINE (app webhooks)",
        docs: "https://developer.shopline.com/docs/apps/api-instructions-for-use/webhooks/overview",
        handshake: None,
        json_body: true,
        informative_headers: &[
            "x-shopline-topic",
            "x-shopline-webhook-id",
            "x-shopline-shop-domain",
            "x-shopline-shop-id",
            "x-shopline-merchant-id",
            "x-shopline-api-version",
        ],
        // Keyed with the app secret. The header copies Shopify's name, and SHOPLINE's header table
        // even shows a base64 example, but the signature is hex: SHOPLINE's own Go SDK writes and
        // checks hex, and its test vectors are hex.
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            id_header: Some("x-shopline-webhook-id"),
            type_header: Some("x-shopline-topic"),
            ..hmac("x-shopline-hmac-sha256", Algorithm::Sha256, Encoding::Hex)
        }),
    },
];
