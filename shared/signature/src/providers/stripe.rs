//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]` over `t + "." + body`; the key is the
//! `whsec_…` string itself.

use crate::body::BodyFields;
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, SignedHeader, Verified, Window};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::layout::Layout;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::TimeFormat;

const SIGNATURE: &str = "stripe-signature";

// v0 (test mode, a different scheme) and future versions are not ours to check.
const SCHEME: CustomScheme = CustomScheme {
    layout: Layout::T_V1,
    timestamp_format: TimeFormat::Seconds,
    signed: "{timestamp}.{body}",
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
        event_id: fields.id.take(),
        event_type: fields.kind.take(),
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
    signed: "HMAC-SHA256 of `t.body`, hex, as `t=…,v1=…` (several `v1` while rolling)",
    key_format: "the endpoint's signing secret (`whsec_…`), as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "stripe",
    aliases: &[],
    title: "Stripe",
    docs: "https://docs.stripe.com/webhooks#verify-manually",
    handshake: None,
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Code(&CODE),
};
