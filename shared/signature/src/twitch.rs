//! Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex HMAC-SHA256(secret, id +
//! timestamp + body)>`, with the `webhook_callback_verification` challenge.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    BodyFields, Delivery, Handshake, Key, SignatureError, SignedHeader, Verified, Window,
    check_window, derived_id, header, optional_header, value,
};
use crate::clock;
use http::HeaderName;

const SIGNATURE: &str = "twitch-eventsub-message-signature";
const ID: &str = "twitch-eventsub-message-id";
const TIMESTAMP: &str = "twitch-eventsub-message-timestamp";
const MESSAGE_TYPE: &str = "twitch-eventsub-message-type";

pub(super) fn verify(
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
            Some(Handshake::Twitch { challenge })
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

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Vec<SignedHeader> {
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
    added
}
