//! Mux: `Mux-Signature: t=<epoch seconds>,v1=<hex>`, the signature being HMAC-SHA256 of
//! `t.body` under the webhook's signing secret. Several `v1` items are each tried; items of other
//! versions are skipped. Bodies are JSON events whose `id` and `type` name them.

use crate::body::BodyFields;
use crate::crypto::Algorithm;
use crate::crypto::Encoding;
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, SignedHeader, Verified, Window};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::layout::Layout;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use crate::stamp::TimeFormat;

const SIGNATURE: &str = "mux-signature";

const SCHEME: CustomScheme = CustomScheme {
    layout: Layout::T_V1,
    timestamp_format: TimeFormat::Seconds,
    signed: "{timestamp}.{body}",
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Hex)
};

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    SCHEME.check_signature(delivery, keys, window)?;
    let mut fields = BodyFields::parse(delivery.body).unwrap_or_default();
    Ok(Verified {
        event_id: fields.id.take(),
        event_type: fields.kind.take(),
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
    name: "mux",
    aliases: &[],
    title: "Mux",
    docs: "https://www.mux.com/docs/core/verify-webhook-signatures",
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

    /// The header variants of muxinc/mux-node-sdk's tests/api-resources/webhooks.test.ts
    /// (removed in 4fdc0154), around the vector Mux generated with its backend code.
    const SECRET: &str = "SuperSecret123";
    const BODY: &[u8] = br#"{"test":"body"}"#;
    const HASH: &str = "854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7";
    const WINDOW: Window = Window {
        now: 1_565_125_718,
        tolerance_secs: 300,
    };

    fn check(value: &str, window: Window) -> Result<Verified, SignatureError> {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, value.parse().unwrap());
        verify(
            &Delivery::post(&headers, BODY),
            &[text_key(SECRET).unwrap()],
            window,
        )
    }

    #[test]
    fn the_sdk_header_variants() {
        check(&format!("t=1565125718,v1={HASH}"), WINDOW).unwrap();
        // "should pass for multiple signatures with different version"
        check(&format!("t=1565125718,v2={HASH},v1={HASH}"), WINDOW).unwrap();
        // "should throw for different signature version"
        assert!(matches!(
            check(&format!("t=1565125718,v2={HASH}"), WINDOW),
            Err(SignatureError::Malformed { .. })
        ));
        // "should throw if signature timestamp is missing"
        assert!(matches!(
            check(HASH, WINDOW),
            Err(SignatureError::Malformed { .. })
        ));
        // "should throw for timestamp outside threshold": six minutes later.
        let later = Window {
            now: WINDOW.now + 360,
            ..WINDOW
        };
        assert!(matches!(
            check(&format!("t=1565125718,v1={HASH}"), later),
            Err(SignatureError::Stale { .. })
        ));
        // The SDK skips `v1=invalid-sig` and passes on the next item, and so does this crate.
        check(&format!("t=1565125718,v1=invalid-sig,v1={HASH}"), WINDOW).unwrap();
        // Alone, it leaves nothing to check.
        assert!(matches!(
            check("t=1565125718,v1=invalid-sig", WINDOW),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn any_of_several_v1_signatures_matches() {
        let other = "0".repeat(64);
        check(&format!("t=1565125718,v1={other},v1={HASH}"), WINDOW).unwrap();
        assert_eq!(
            check(&format!("t=1565125718,v1={other}"), WINDOW),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            check(&format!("t=1565125718,v1={}", &HASH[..62]), WINDOW),
            Err(SignatureError::Malformed { .. })
        ));
    }
}
