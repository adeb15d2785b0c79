//! PagerDuty webhooks v3: `X-PagerDuty-Signature` lists comma-separated `v1=<hex>` items, each a
//! HMAC-SHA256 of the raw body under one of the subscription's secrets; while a secret is being
//! replaced there is one item per secret, and any of them matching is enough. There is no
//! timestamp, so no replay window applies. Each body is one event object, `{"event": {…}}`, whose
//! `id` and `event_type` name the delivery.

use crate::body::{Scalar, is_json_object};
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, SignedHeader, Verified, Window};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::layout::Layout;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use serde::Deserialize;

const SIGNATURE: &str = "x-pagerduty-signature";

// Items of other versions belong to schemes PagerDuty has not published yet, and are set aside.
const SCHEME: CustomScheme = CustomScheme {
    prefix: "v1=",
    layout: Layout::List { separator: ',' },
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Hex)
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    event: Event,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Event {
    id: Scalar,
    event_type: Scalar,
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    SCHEME.check_signature(delivery, keys, window)?;
    // serde reads a struct from an array too: only an object is PagerDuty's envelope.
    let mut body = if is_json_object(delivery.body) {
        serde_json::from_slice::<Body>(delivery.body).unwrap_or_default()
    } else {
        Body::default()
    };
    Ok(Verified {
        event_id: body.event.id.take(),
        event_type: body.event.event_type.take(),
        handshake: None,
    })
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    SCHEME.sign(delivery, key, now)
}

static CODE: Code = Code {
    facts: Facts::signature(SIGNATURE, Encoding::Hex),
    signed: "HMAC-SHA256 of the body, hex, as `v1=…` (several, comma-separated, while rolling)",
    key_format: "the webhook subscription's secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "pagerduty",
    aliases: &[],
    title: "PagerDuty (webhooks v3)",
    docs: "https://developer.pagerduty.com/docs/ZG9jOjExMDI5NTkz-verifying-signatures",
    handshake: None,
    json_body: true,
    informative_headers: &["x-webhook-id"],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::crypto;
    use crate::entries::MAX_SIGNATURES;
    use http::HeaderMap;

    const BODY: &[u8] = br#"{"event":{"id":"01ABC","event_type":"incident.triggered","data":{}}}"#;
    const WINDOW: Window = Window {
        now: 0,
        tolerance_secs: 300,
    };

    fn signature_of(secret: &str) -> String {
        let tag = crypto::hmac(Algorithm::Sha256, secret.as_bytes(), &[BODY]);
        format!("v1={}", hex::encode(tag.as_slice()))
    }

    fn check(header_value: &str, secret: &str) -> Result<Verified, SignatureError> {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, header_value.parse().unwrap());
        verify(
            &Delivery::post(&headers, BODY),
            &[text_key(secret).unwrap()],
            WINDOW,
        )
    }

    #[test]
    fn any_signature_of_a_rotation_header_matches() {
        let (old, new) = (signature_of("old secret"), signature_of("new secret"));
        let both = format!("{old},{new}");
        for secret in ["old secret", "new secret"] {
            let verified = check(&both, secret).unwrap();
            assert_eq!(verified.event_id.as_deref(), Some("01ABC"));
            assert_eq!(verified.event_type.as_deref(), Some("incident.triggered"));
        }
        // Spaces after the commas, and versions not ours, are tolerated.
        check(&format!("v2=abcd, {new}"), "new secret").unwrap();
        assert_eq!(
            check(&both, "a third secret"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn refuses_malformed_and_oversized_headers() {
        let good = signature_of("s");
        // One entry that is not a signature is set aside; the good one still matches.
        for mixed in [format!("{good},v1=zz"), format!("v1=0c0b,{good}")] {
            check(&mixed, "s").unwrap();
        }
        for bad in [
            "0c0b9495".to_owned(),
            "v1=zz".to_owned(),
            "v1=0c0b".to_owned(),
            "v2=abcd".to_owned(),
            "garbage".to_owned(),
            vec![good.as_str(); MAX_SIGNATURES + 1].join(","),
        ] {
            assert!(
                matches!(check(&bad, "s"), Err(SignatureError::Malformed { .. })),
                "{bad}"
            );
        }
        check(&vec![good.as_str(); MAX_SIGNATURES].join(","), "s").unwrap();
    }
}
