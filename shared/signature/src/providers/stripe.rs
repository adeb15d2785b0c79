//! Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>…]` over `t + "." + body`; the key is the
//! `whsec_…` string itself.

use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::{
    BodyFields, Delivery, Encoding, Key, SignError, SignatureError, SignedHeader, StampedHeader,
    Verified, Window,
};

const SIGNATURE: &str = "stripe-signature";

// v0 (test mode, a different scheme) and future versions are not ours to check.
const LAYOUT: StampedHeader = StampedHeader::t_v1(SIGNATURE, false, false);

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    LAYOUT.check(delivery, keys, window)?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.id.take(),
        event_type: fields.kind.take(),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    Ok(vec![LAYOUT.sign(delivery, key, now)])
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
    how: How::Code(&CODE),
};
