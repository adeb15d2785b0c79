//! Square: `x-square-hmacsha256-signature: <base64 HMAC-SHA256(key, notification_url + body)>`.

use crate::body::BodyFields;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use http::HeaderName;

const SIGNATURE: &str = "x-square-hmacsha256-signature";

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let url = delivery.url.ok_or(SignatureError::UrlRequired)?;
    let signature = Encoding::Base64.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[url.as_bytes(), delivery.body],
        &[signature],
    )?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.event_id.take(),
        event_type: fields.kind.take(),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let url = delivery.url.ok_or(SignError::UrlRequired)?;
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[url.as_bytes(), delivery.body],
    );
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(Encoding::Base64.encode(tag.as_slice())),
    )])
}

static CODE: Code = Code {
    facts: Facts {
        signs_url: true,
        ..Facts::signature(SIGNATURE, Encoding::Base64)
    },
    signed: "HMAC-SHA256 of notification URL + body, base64",
    key_format: "the subscription's signature key, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "square",
    aliases: &[],
    title: "Square",
    docs: "https://developer.squareup.com/docs/webhooks/step3validate",
    handshake: None,
    json_body: true,
    informative_headers: &[],
    official_vectors: true,
    how: How::Code(&CODE),
};
