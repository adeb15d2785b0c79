//! Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + ts + ":" + body)>`, with the
//! `url_verification` handshake.

use crate::body::BodyFields;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, Handshake, SignedHeader, Verified, Window, header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::{check_window, epoch_secs};
use http::HeaderName;

const SIGNATURE: &str = "x-slack-signature";
const TIMESTAMP: &str = "x-slack-request-timestamp";

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, SIGNATURE)?;
    let timestamp = header(delivery.headers, TIMESTAMP)?;
    let seconds = epoch_secs(TIMESTAMP, timestamp)?;
    let hex = text.strip_prefix("v0=").ok_or(SignatureError::Malformed {
        field: SIGNATURE,
        why: "expected `v0=<hex>`",
    })?;
    let signature = Encoding::Hex.decode(SIGNATURE, hex)?;
    check_window(seconds, window)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[b"v0:", timestamp.as_bytes(), b":", delivery.body],
        &[signature],
    )?;
    // Slash commands and interactivity post forms; only Events API bodies are JSON.
    let Some(mut fields) = BodyFields::parse(delivery.body) else {
        return Ok(Verified::default());
    };
    let handshake = match (fields.kind.as_str(), fields.challenge.take()) {
        (Some("url_verification"), Some(challenge)) => Some(Handshake::json(
            serde_json::json!({ "challenge": challenge }),
        )),
        _ => None,
    };
    Ok(Verified {
        event_id: fields.event_id.take(),
        event_type: fields.event.kind.take().or_else(|| fields.kind.take()),
        handshake,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let timestamp = now.to_string();
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[b"v0:", timestamp.as_bytes(), b":", delivery.body],
    );
    Ok(vec![
        (HeaderName::from_static(TIMESTAMP), value(timestamp)),
        (
            HeaderName::from_static(SIGNATURE),
            value(format!("v0={}", Encoding::Hex.encode(tag.as_slice()))),
        ),
    ])
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of `v0:timestamp:body`, hex, after `v0=`",
    key_format: "the app's signing secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "slack",
    aliases: &[],
    title: "Slack",
    docs: "https://api.slack.com/authentication/verifying-requests-from-slack",
    handshake: Some("`url_verification`: answers the challenge"),
    json_body: false,
    informative_headers: &[],
    official_vectors: true,
    how: How::Code(&CODE),
};
