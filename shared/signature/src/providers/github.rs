//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.

use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, optional_header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use http::HeaderName;

const SIGNATURE: &str = "x-hub-signature-256";

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let hex = text
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed {
            field: SIGNATURE,
            why: "expected `sha256=<hex>`",
        })?;
    let signature = Encoding::Hex.decode(SIGNATURE, hex)?;
    crypto::any_match(Algorithm::Sha256, keys, &[delivery.body], &[signature])?;
    Ok(Verified {
        event_id: optional_header(delivery.headers, "x-github-delivery")?.map(str::to_owned),
        event_type: optional_header(delivery.headers, "x-github-event")?.map(str::to_owned),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(format!("sha256={}", Encoding::Hex.encode(tag.as_slice()))),
    )])
}

static CODE: Code = Code {
    facts: Facts {
        id_header: Some("x-github-delivery"),
        type_header: Some("x-github-event"),
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of the body, hex, after `sha256=`",
    key_format: "the webhook secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "github",
    aliases: &[],
    title: "GitHub",
    docs: "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries",
    handshake: None,
    json_body: false,
    informative_headers: &["x-github-event", "x-github-delivery", "x-github-hook-id"],
    official_vectors: true,
    how: How::Code(&CODE),
};
