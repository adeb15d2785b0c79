//! Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex HMAC-SHA256(secret, id +
//! timestamp + body)>`, with the `webhook_callback_verification` challenge.

use crate::body::BodyFields;
use crate::clock;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{
    Delivery, Handshake, SignedHeader, Verified, Window, derived_id, header, optional_header, value,
};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::check_window;
use http::HeaderName;

const SIGNATURE: &str = "twitch-eventsub-message-signature";
const ID: &str = "twitch-eventsub-message-id";
const TIMESTAMP: &str = "twitch-eventsub-message-timestamp";
const MESSAGE_TYPE: &str = "twitch-eventsub-message-type";

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let headers = delivery.headers;
    let text = header(headers, SIGNATURE)?;
    let id = header(headers, ID)?;
    let timestamp = header(headers, TIMESTAMP)?;
    let seconds = clock::parse_rfc3339(timestamp).ok_or(SignatureError::Malformed {
        field: TIMESTAMP,
        why: "not an RFC 3339 date-time",
    })?;
    let hex = text
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed {
            field: SIGNATURE,
            why: "expected `sha256=<hex>`",
        })?;
    let signature = Encoding::Hex.decode(SIGNATURE, hex)?;
    check_window(seconds, window)?;
    crypto::any_match(
        Algorithm::Sha256,
        keys,
        &[id.as_bytes(), timestamp.as_bytes(), delivery.body],
        &[signature],
    )?;
    let handshake =
        if optional_header(headers, MESSAGE_TYPE)? == Some("webhook_callback_verification") {
            let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
            let challenge = fields.challenge.take().ok_or(SignatureError::Body(
                "a verification message without a challenge",
            ))?;
            Some(Handshake::text(challenge))
        } else {
            None
        };
    Ok(Verified {
        event_id: Some(id.to_owned()),
        event_type: optional_header(headers, "twitch-eventsub-subscription-type")?
            .map(str::to_owned),
        handshake,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let mut added = Vec::with_capacity(3);
    let id = match optional_header(delivery.headers, ID) {
        Ok(Some(id)) => id.to_owned(),
        _ => {
            let id = derived_id("", delivery.body, now);
            added.push((HeaderName::from_static(ID), value(id.clone())));
            id
        }
    };
    let timestamp = clock::format_rfc3339_secs(now);
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[id.as_bytes(), timestamp.as_bytes(), delivery.body],
    );
    added.push((HeaderName::from_static(TIMESTAMP), value(timestamp)));
    added.push((
        HeaderName::from_static(SIGNATURE),
        value(format!("sha256={}", Encoding::Hex.encode(tag.as_slice()))),
    ));
    Ok(added)
}

static CODE: Code = Code {
    facts: Facts {
        timestamp_header: Some(TIMESTAMP),
        id_header: Some(ID),
        type_header: Some("twitch-eventsub-subscription-type"),
        signed_id: true,
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of id + timestamp + body, hex, after `sha256=`",
    key_format: "the subscription's secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "twitch",
    aliases: &[],
    title: "Twitch EventSub",
    docs: "https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message",
    handshake: Some("`webhook_callback_verification`: answers the challenge as text"),
    json_body: true,
    informative_headers: &[
        "twitch-eventsub-message-id",
        "twitch-eventsub-message-type",
        "twitch-eventsub-subscription-type",
        "twitch-eventsub-subscription-version",
    ],
    official_vectors: false,
    how: How::Code(&CODE),
};
