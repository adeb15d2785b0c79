//! Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.

use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, optional_header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use http::HeaderName;

const SIGNATURE: &str = "x-shopify-hmac-sha256";

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let signature = Encoding::Base64.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    crypto::any_match(Algorithm::Sha256, keys, &[delivery.body], &[signature])?;
    let event_id = match optional_header(delivery.headers, "x-shopify-webhook-id")? {
        Some(id) => Some(id),
        None => optional_header(delivery.headers, "x-shopify-event-id")?,
    };
    Ok(Verified {
        event_id: event_id.map(str::to_owned),
        event_type: optional_header(delivery.headers, "x-shopify-topic")?.map(str::to_owned),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(Encoding::Base64.encode(tag.as_slice())),
    )])
}

static CODE: Code = Code {
    facts: Facts {
        id_header: Some("x-shopify-webhook-id"),
        type_header: Some("x-shopify-topic"),
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of the body, base64",
    key_format: "the app's client secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "shopify",
    aliases: &[],
    title: "Shopify",
    docs: "https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook",
    handshake: None,
    json_body: false,
    informative_headers: &[
        "x-shopify-topic",
        "x-shopify-webhook-id",
        "x-shopify-shop-domain",
        "x-shopify-api-version",
    ],
    official_vectors: false,
    how: How::Code(&CODE),
};
