//! Paddle Billing: `Paddle-Signature: ts=<ts>;h1=<hex>[;h1=<hex>…]` over `ts + ":" + body`.

use crate::body::BodyFields;
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, SignedHeader, Verified, Window};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::layout::Layout;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};

const SIGNATURE: &str = "paddle-signature";

// Items of other names (a future `h2`) belong to other versions and are set aside.
const SCHEME: CustomScheme = CustomScheme {
    layout: Layout::Stamped {
        separator: ';',
        timestamp: "ts",
        signature: "h1",
    },
    signed: "{timestamp}:{body}",
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Hex)
};

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    SCHEME.check_signature(delivery, keys, window)?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.event_id.take(),
        event_type: fields.event_type.take(),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    SCHEME.sign(delivery, key, now)
}

static CODE: Code = Code {
    facts: Facts {
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of `ts:body`, hex, as `ts=…;h1=…`",
    key_format: "the notification destination's secret key, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "paddle",
    aliases: &[],
    title: "Paddle Billing",
    docs: "https://developer.paddle.com/webhooks/signature-verification",
    handshake: None,
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Code(&CODE),
};
