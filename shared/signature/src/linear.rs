//! Linear: `Linear-Signature: <hex HMAC-SHA256(secret, body)>`; the timestamp is the body's
//! `webhookTimestamp`, in milliseconds.

use super::crypto::{self, Algorithm, Encoding};
use super::{
    BodyFields, Delivery, Key, SignError, SignatureError, SignedHeader, Verified, Window,
    check_window, header, optional_header, value,
};
use http::HeaderName;

const SIGNATURE: &str = "linear-signature";
const TIMESTAMP_FIELD: &str = "webhookTimestamp";

pub(super) fn verify(
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

pub(super) fn sign(delivery: &Delivery<'_>, key: &Key) -> Result<Vec<SignedHeader>, SignError> {
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
