//! Linear: `Linear-Signature: <hex HMAC-SHA256(secret, body)>`; the timestamp is the body's
//! `webhookTimestamp`, in milliseconds.

use crate::body::BodyFields;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, optional_header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::check_window;
use http::HeaderName;

const SIGNATURE: &str = "linear-signature";
const TIMESTAMP_FIELD: &str = "webhookTimestamp";

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let signature = Encoding::Hex.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    let fields = BodyFields::parse(delivery.body).ok_or(SignatureError::Body(
        "not a JSON object, so it has no webhookTimestamp",
    ))?;
    let millis = fields
        .webhook_timestamp
        .as_str()
        .ok_or(SignatureError::Missing(TIMESTAMP_FIELD))?;
    let millis: i64 = millis.parse().map_err(|_| SignatureError::Malformed {
        field: TIMESTAMP_FIELD,
        why: "not a number of milliseconds",
    })?;
    check_window(millis.div_euclid(1000), window)?;
    crypto::any_match(Algorithm::Sha256, keys, &[delivery.body], &[signature])?;
    Ok(Verified {
        event_id: optional_header(delivery.headers, "linear-delivery")?.map(str::to_owned),
        event_type: optional_header(delivery.headers, "linear-event")?.map(str::to_owned),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let has_timestamp = BodyFields::parse(delivery.body)
        .is_some_and(|fields| fields.webhook_timestamp.as_str().is_some());
    if !has_timestamp {
        return Err(SignError::BodyTimestampMissing(TIMESTAMP_FIELD));
    }
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(Encoding::Hex.encode(tag.as_slice())),
    )])
}

static CODE: Code = Code {
    facts: Facts {
        id_header: Some("linear-delivery"),
        type_header: Some("linear-event"),
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of the body, hex; the body's `webhookTimestamp` (ms) is the clock",
    key_format: "the webhook's signing secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "linear",
    aliases: &[],
    title: "Linear",
    docs: "https://linear.app/developers/webhooks#securing-webhooks",
    handshake: None,
    json_body: true,
    informative_headers: &["linear-event", "linear-delivery"],
    official_vectors: false,
    how: How::Code(&CODE),
};
