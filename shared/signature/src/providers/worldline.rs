//! Worldline webhooks (Connect, formerly Ingenico ePayments and GlobalCollect; Direct signs the
//! same way).
//!
//! Each event is a POST whose `X-GCS-Signature` is the base64 HMAC-SHA256 of the raw body, keyed by
//! the webhooks secret key as text; `X-GCS-KeyId` says which key that was. Configuring every key
//! in use (while they roll) stands in for looking the id up: any one that matches passes, so the id
//! is not needed and not required. There is no timestamp, so no replay window applies. The body's
//! `id` names the event (Worldline asks receivers to deduplicate on it) and its `type`
//! (`payment.paid`) what happened.
//!
//! When an endpoint is added, Worldline checks it with a GET whose
//! `X-GCS-Webhooks-Endpoint-Verification` header must come back as the body. That GET is not
//! signed, so whatever it carries is reflected to its sender: it is echoed only when bounded and
//! free of what markup is made of, as text with `X-Content-Type-Options: nosniff`.

use crate::challenge::{self, Carrier, Challenge};
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, Handshake};
use crate::error::SignatureError;
use crate::key::Key;
use crate::provider::{How, Provider};

const SIGNATURE: &str = "x-gcs-signature";
const VERIFICATION: &str = "x-gcs-webhooks-endpoint-verification";

/// Far beyond any random verification string; what is longer is not one.
const MAX_VERIFICATION: usize = 256;

const SCHEME: CustomScheme = CustomScheme {
    id_pointer: Some("/id"),
    type_pointer: Some("/type"),
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Base64)
};

const CHALLENGE: Challenge = Challenge {
    carrier: Carrier::Header {
        name: VERIFICATION,
        unreadable: "X-GCS-Webhooks-Endpoint-Verification must appear once, as visible ASCII",
    },
    shaped: is_verification,
    missing: "a GET to a Worldline source must carry X-GCS-Webhooks-Endpoint-Verification",
    misshapen: "the endpoint verification is not a plain token (at most 256 visible characters, \
                none of `<>&\"'\\`)",
};

/// Visible ASCII without `<`, `>`, `&`, quotes or backslash: the format of the string is not
/// published, so this keeps whatever a random token could be and nothing a browser could take for
/// markup.
fn is_verification(text: &str) -> bool {
    challenge::is_plain_token(text, MAX_VERIFICATION, |b| {
        b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'' | b'\\')
    })
}

/// Every GET is Worldline's endpoint verification: events are POSTs.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    _: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    CHALLENGE.echo_on_get(delivery)
}

pub static PROVIDER: Provider = Provider {
    name: "worldline",
    aliases: &[],
    title: "Worldline (Connect, Direct)",
    docs: "https://docs.connect.worldline-solutions.com/documentation/webhooks/event-structure/",
    handshake: Some(
        "GET with `X-GCS-Webhooks-Endpoint-Verification`: its value echoed when it is a plain token",
    ),
    json_body: true,
    informative_headers: &[],
    official_vectors: true,
    how: How::Answering(SCHEME, unsigned_handshake),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::challenge::{echo, get};
    use crate::delivery::Window;
    use crate::provider::text_key;
    use http::{HeaderMap, HeaderValue};

    fn with_verification(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(VERIFICATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_endpoint_verification_is_echoed_as_plain_text() {
        let headers = with_verification("8a3f0c2e-5b1d-4e7a-9c6f-2d4b8e1a7f3c");
        let answer = PROVIDER
            .unsigned_handshake(&get(&headers, None), &[])
            .unwrap()
            .unwrap();
        assert_eq!(
            answer,
            echo("8a3f0c2e-5b1d-4e7a-9c6f-2d4b8e1a7f3c".to_owned())
        );
    }

    #[test]
    fn a_verification_that_is_not_a_plain_token_is_refused() {
        let long = "a".repeat(MAX_VERIFICATION + 1);
        for value in ["<script>alert(1)</script>", "a b", "a\"b", long.as_str()] {
            let headers = with_verification(value);
            let answer = PROVIDER.unsigned_handshake(&get(&headers, None), &[]);
            assert_eq!(
                answer.map(|a| a.map_err(|e| e.code())),
                Some(Err("handshake_invalid")),
                "{value}"
            );
        }
        let mut twice = with_verification("abc");
        twice.append(VERIFICATION, HeaderValue::from_static("def"));
        let none = HeaderMap::new();
        for headers in [&twice, &none] {
            let answer = PROVIDER.unsigned_handshake(&get(headers, None), &[]);
            assert_eq!(
                answer.map(|a| a.map_err(|e| e.code())),
                Some(Err("handshake_invalid"))
            );
        }
        let headers = with_verification("abc");
        assert_eq!(
            PROVIDER.unsigned_handshake(&Delivery::post(&headers, b"{}"), &[]),
            None
        );
    }

    #[test]
    fn an_event_is_named_by_its_id_and_type() {
        let body = br#"{"apiVersion":"v1","id":"97a4fcdf-9a08-4a59-a0c0-69bfd7e1d59d","type":"payment.created"}"#;
        let key = text_key("hello+world").unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in PROVIDER
            .sign(&Delivery::post(&headers, body), &key, 0)
            .unwrap()
        {
            headers.insert(name, value);
        }
        let window = Window {
            now: 0,
            tolerance_secs: 300,
        };
        let verified = PROVIDER
            .verify(&Delivery::post(&headers, body), &[key], window)
            .unwrap();
        assert_eq!(
            verified.event_id.as_deref(),
            Some("97a4fcdf-9a08-4a59-a0c0-69bfd7e1d59d")
        );
        assert_eq!(verified.event_type.as_deref(), Some("payment.created"));
    }
}
