//! Xero webhooks (Accounting: contacts, invoices, credit notes, subscriptions).
//!
//! `x-xero-signature` carries the base64 HMAC-SHA256 of the raw body, keyed by the app's webhooks
//! key used as text. Nothing else is signed and there is no timestamp. A delivery batches events
//! for several resources and tenants, so no single event id or type names it.
//!
//! Before activating a subscription, Xero runs "intent to receive": a few deliveries whose
//! `events` list is empty, some signed correctly and some not. The endpoint must answer the
//! signed ones with an empty 200 and the others with a 401, which a mismatch already gives.

use crate::body::is_json_object;
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, Handshake, SignedHeader, Verified, Window, header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use http::HeaderName;
use serde::Deserialize;
use serde::de::IgnoredAny;

const SIGNATURE: &str = "x-xero-signature";

/// A delivery, as far as telling intent to receive apart goes.
#[derive(Deserialize)]
struct Batch {
    #[serde(default)]
    events: Option<Vec<IgnoredAny>>,
}

/// Whether the body is intent to receive: a JSON object whose `events` is an empty list.
fn is_intent_to_receive(body: &[u8]) -> bool {
    is_json_object(body)
        && serde_json::from_slice::<Batch>(body)
            .is_ok_and(|batch| batch.events.is_some_and(|events| events.is_empty()))
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let signature = Encoding::Base64.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    if signature.len() != Algorithm::Sha256.output_len() {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "wrong length for HMAC-SHA256",
        });
    }
    crypto::any_match(Algorithm::Sha256, keys, &[delivery.body], &[signature])?;
    Ok(Verified {
        event_id: None,
        event_type: None,
        handshake: is_intent_to_receive(delivery.body).then(Handshake::empty),
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(Encoding::Base64.encode(tag.as_slice())),
    )])
}

static CODE: Code = Code {
    facts: Facts::signature(SIGNATURE, Encoding::Base64),
    signed: "HMAC-SHA256 of the body, base64",
    key_format: "the app's webhooks key, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "xero",
    aliases: &[],
    title: "Xero",
    docs: "https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/",
    handshake: Some("intent to receive (no `events`): an empty 200 once signed, else a 401"),
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::delivery::HandshakeBody;
    use http::HeaderMap;

    const KEY: &str = "a Xero webhooks key";
    const WINDOW: Window = Window {
        now: 0,
        tolerance_secs: 300,
    };

    fn verified(body: &[u8], signed_with: &str) -> Result<Verified, SignatureError> {
        let mut headers = HeaderMap::new();
        let key = text_key(signed_with).unwrap();
        for (name, value) in sign(&Delivery::post(&headers, body), &key, 0).unwrap() {
            headers.insert(name, value);
        }
        verify(
            &Delivery::post(&headers, body),
            &[text_key(KEY).unwrap()],
            WINDOW,
        )
    }

    const INTENT: &[u8] =
        br#"{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0me3ntr0py"}"#;

    #[test]
    fn signed_intent_to_receive_is_answered_empty() {
        let handshake = verified(INTENT, KEY).unwrap().handshake.unwrap();
        assert_eq!(handshake.body, HandshakeBody::Empty);
        assert_eq!(handshake.header, None);
    }

    #[test]
    fn intent_to_receive_under_another_key_is_refused() {
        assert_eq!(
            verified(INTENT, "not the key"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_delivery_with_events_is_not_a_handshake() {
        let body = br#"{"events":[{"resourceId":"x","eventCategory":"INVOICE","eventType":"UPDATE"}],"firstEventSequence":1,"lastEventSequence":1,"entropy":"e"}"#;
        assert_eq!(verified(body, KEY).unwrap().handshake, None);
        // Nor is a body without `events` at all.
        assert_eq!(verified(b"{}", KEY).unwrap().handshake, None);
    }
}
