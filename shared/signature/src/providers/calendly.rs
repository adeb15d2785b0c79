//! Calendly: `Calendly-Webhook-Signature: t=<epoch seconds>,v1=<hex>`, the signature being
//! HMAC-SHA256 of `t.body` under the webhook signing key (chosen when a subscription is created
//! with a personal access token, or generated for an OAuth app). Every `v1` item is tried. Bodies
//! are JSON objects whose `event` field is the event type; they carry no event id.

use crate::body::{Scalar, is_json_object};
use crate::crypto::Algorithm;
use crate::crypto::Encoding;
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, SignedHeader, Verified, Window};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::layout::Layout;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::TimeFormat;
use serde::Deserialize;

const SIGNATURE: &str = "calendly-webhook-signature";

const SCHEME: CustomScheme = CustomScheme {
    layout: Layout::T_V1,
    timestamp_format: TimeFormat::Seconds,
    signed: "{timestamp}.{body}",
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Hex)
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    event: Scalar,
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    SCHEME.check_signature(delivery, keys, window)?;
    // serde reads a struct from an array too: only an object is Calendly's event.
    let mut body = if is_json_object(delivery.body) {
        serde_json::from_slice::<Body>(delivery.body).unwrap_or_default()
    } else {
        Body::default()
    };
    Ok(Verified {
        event_id: None,
        event_type: body.event.take(),
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
    signed: "HMAC-SHA256 of `t.body`, hex, as `t=…,v1=…`",
    key_format: "the webhook signing key, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "calendly",
    aliases: &[],
    title: "Calendly",
    docs: "https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures",
    handshake: None,
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::crypto::{self, Algorithm};
    use http::HeaderMap;

    const BODY: &[u8] = br#"{"event":"invitee.canceled","payload":{}}"#;
    const WINDOW: Window = Window {
        now: 1_763_816_400,
        tolerance_secs: 180,
    };

    fn signature_of(secret: &str, t: i64) -> String {
        let t = t.to_string();
        let tag = crypto::hmac(
            Algorithm::Sha256,
            secret.as_bytes(),
            &[t.as_bytes(), b".", BODY],
        );
        hex::encode(tag.as_slice())
    }

    fn check(value: &str, secret: &str) -> Result<Verified, SignatureError> {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, value.parse().unwrap());
        verify(
            &Delivery::post(&headers, BODY),
            &[text_key(secret).unwrap()],
            WINDOW,
        )
    }

    #[test]
    fn names_the_event_type_and_tries_every_v1() {
        let t = WINDOW.now;
        let (old, new) = (signature_of("old", t), signature_of("new", t));
        let verified = check(&format!("t={t},v1={old},v1={new}"), "new").unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("invitee.canceled"));
        assert_eq!(verified.event_id, None);
        assert_eq!(
            check(&format!("t={t},v1={old}"), "new"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn refuses_stale_and_malformed_headers() {
        let stale = WINDOW.now - 181;
        assert!(matches!(
            check(&format!("t={stale},v1={}", signature_of("k", stale)), "k"),
            Err(SignatureError::Stale { .. })
        ));
        for bad in [
            "v1=00",
            "t=1,t=2,v1=00",
            "t=abc,v1=00",
            "t=1763816400,v1=00ff",
        ] {
            assert!(
                matches!(check(bad, "k"), Err(SignatureError::Malformed { .. })),
                "{bad}"
            );
        }
    }
}
