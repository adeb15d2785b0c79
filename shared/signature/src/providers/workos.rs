//! WorkOS: `WorkOS-Signature: t=<epoch milliseconds>, v1=<hex>`, the signature being
//! HMAC-SHA256 of `t.body` under the endpoint's webhook secret, where `t` is signed exactly as
//! written, milliseconds and all. Bodies are JSON events whose `id` and `event` name them.

use crate::body::{Scalar, is_json_object};
use crate::crypto::{self, Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, SignedHeader, Verified, Window, optional_header, value};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::layout::Layout;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::{TimeFormat, epoch_millis};
use http::HeaderName;
use serde::Deserialize;

const SIGNATURE: &str = "workos-signature";

const SCHEME: CustomScheme = CustomScheme {
    layout: Layout::T_V1,
    timestamp_format: TimeFormat::Millis,
    signed: "{timestamp}.{body}",
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Hex)
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    id: Scalar,
    event: Scalar,
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    SCHEME.check_signature(delivery, keys, window)?;
    // serde reads a struct from an array too: only an object is a WorkOS event.
    let mut body = if is_json_object(delivery.body) {
        serde_json::from_slice::<Body>(delivery.body).unwrap_or_default()
    } else {
        Body::default()
    };
    Ok(Verified {
        event_id: body.id.take(),
        event_type: body.event.take(),
        handshake: None,
    })
}

/// The stamp to sign with at `now`, in milliseconds. `now` counts whole seconds, so a stamp the
/// delivery already carries within that second keeps its milliseconds: signing a delivery again
/// then gives back the header it came with.
fn stamp(delivery: &Delivery<'_>, now: i64) -> i64 {
    let second = now.saturating_mul(1000);
    optional_header(delivery.headers, SIGNATURE)
        .ok()
        .flatten()
        .and_then(|text| {
            text.split(',')
                .find_map(|item| item.trim().strip_prefix("t="))
                .and_then(|t| epoch_millis(SIGNATURE, t).ok())
        })
        .filter(|millis| (second..second.saturating_add(1000)).contains(millis))
        .unwrap_or(second)
}

/// Written as WorkOS writes it, with a space after the comma.
fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    let timestamp = stamp(delivery, now).to_string();
    let tag = crypto::hmac(
        Algorithm::Sha256,
        key.as_bytes(),
        &[timestamp.as_bytes(), b".", delivery.body],
    );
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(format!(
            "t={timestamp}, v1={}",
            Encoding::Hex.encode(tag.as_slice())
        )),
    )])
}

static CODE: Code = Code {
    facts: Facts {
        timestamp: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of `t.body` (t in ms), hex, as `t=…, v1=…`",
    key_format: "the webhook endpoint's secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "workos",
    aliases: &[],
    title: "WorkOS",
    docs: "https://workos.com/docs/events/data-syncing/webhooks",
    handshake: None,
    json_body: true,
    informative_headers: &[],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use http::HeaderMap;

    const BODY: &[u8] = br#"{"id":"event_01","event":"user.created","data":{}}"#;
    const WINDOW: Window = Window {
        now: 1_763_816_400,
        tolerance_secs: 180,
    };

    fn header_for(secret: &str, millis: i64) -> String {
        let t = millis.to_string();
        let tag = crypto::hmac(
            Algorithm::Sha256,
            secret.as_bytes(),
            &[t.as_bytes(), b".", BODY],
        );
        format!("t={t}, v1={}", hex::encode(tag.as_slice()))
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, value.parse().unwrap());
        headers
    }

    fn check(value: &str, secret: &str) -> Result<Verified, SignatureError> {
        verify(
            &Delivery::post(&headers(value), BODY),
            &[text_key(secret).unwrap()],
            WINDOW,
        )
    }

    #[test]
    fn signs_the_milliseconds_as_written_and_names_the_event() {
        let verified = check(&header_for("s", 1_763_816_400_123), "s").unwrap();
        assert_eq!(verified.event_id.as_deref(), Some("event_01"));
        assert_eq!(verified.event_type.as_deref(), Some("user.created"));
        // The same instant in seconds is another signed string.
        let seconds = header_for("s", 1_763_816_400).replacen("1763816400", "1763816400000", 1);
        assert_eq!(check(&seconds, "s"), Err(SignatureError::Mismatch));
        // Seconds where milliseconds belong read as 1970.
        assert!(matches!(
            check(&header_for("s", 1_763_816_400), "s"),
            Err(SignatureError::Stale { .. })
        ));
    }

    #[test]
    fn sign_keeps_the_milliseconds_of_a_stamp_within_the_second() {
        let key = text_key("s").unwrap();
        let given = header_for("s", 1_763_816_400_123);
        let carried = headers(&given);
        let added = sign(&Delivery::post(&carried, BODY), &key, WINDOW.now).unwrap();
        assert_eq!(added[0].1, given.as_str());
        // A stamp from another second is not reused.
        let old = headers(&header_for("s", 1_763_816_000_123));
        let added = sign(&Delivery::post(&old, BODY), &key, WINDOW.now).unwrap();
        assert_eq!(added[0].1, header_for("s", 1_763_816_400_000).as_str());
        check(added[0].1.to_str().unwrap(), "s").unwrap();
    }

    #[test]
    fn any_v1_matches_and_malformed_ones_are_refused() {
        let good = header_for("new", 1_763_816_400_000);
        let old = header_for("old", 1_763_816_400_000);
        let old_sig = old.split("v1=").nth(1).unwrap();
        check(&format!("{good}, v1={old_sig}"), "old").unwrap();
        for bad in [
            "v1=00",
            "t=1763816400000, v1=xyz",
            "t=1763816400000, v1=00ff",
        ] {
            assert!(
                matches!(check(bad, "s"), Err(SignatureError::Malformed { .. })),
                "{bad}"
            );
        }
    }
}
