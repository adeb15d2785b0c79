//! Trello: `X-Trello-Webhook` is the base64 HMAC-SHA1, keyed with the application's secret, of
//! the body followed by the callback URL exactly as registered, so the source needs its `url`.
//! No timestamp is signed, so no replay window applies.
//!
//! Creating a webhook makes Trello send a HEAD to the callback URL, and the webhook is created
//! only if that gets a 200. The HEAD carries nothing to check and the 200 carries nothing back:
//! it proves only that a Trello source of that name exists, which a 401 to any POST says anyway.

use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, Handshake};
use crate::error::SignatureError;
use crate::key::Key;
use crate::layout::Layout;
use crate::provider::{How, Provider};

const SIGNATURE: &str = "x-trello-webhook";

const SCHEME: CustomScheme = CustomScheme {
    layout: Layout::Plain,
    signed: "{body}{url}",
    id_pointer: Some("/action/id"),
    type_pointer: Some("/action/type"),
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha1, Encoding::Base64)
};

/// Trello's HEAD when a webhook is created; every other method is a delivery to verify.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    _: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    delivery
        .method
        .eq_ignore_ascii_case("HEAD")
        .then(|| Ok(Handshake::empty()))
}

pub static PROVIDER: Provider = Provider {
    name: "trello",
    aliases: &[],
    title: "Trello",
    docs: "https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/",
    handshake: Some("HEAD when the webhook is created: answered 200, empty"),
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Answering(SCHEME, unsigned_handshake),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::delivery::HandshakeBody;
    use crate::delivery::Window;
    use crate::provider::text_key;
    use http::HeaderMap;

    fn request<'a>(headers: &'a HeaderMap, method: &'a str) -> Delivery<'a> {
        Delivery {
            headers,
            body: b"",
            url: Some("https://hooks.example.com/webhooks/trello"),
            method,
            query: None,
        }
    }

    #[test]
    fn the_creation_head_gets_an_empty_200_and_nothing_else_is_a_handshake() {
        let headers = HeaderMap::new();
        let answer = PROVIDER
            .unsigned_handshake(&request(&headers, "HEAD"), &[])
            .unwrap()
            .unwrap();
        assert_eq!(answer.body, HandshakeBody::Empty);
        assert!(answer.header.is_none() && answer.install_secret.is_none());
        for method in ["POST", "GET"] {
            assert!(
                PROVIDER
                    .unsigned_handshake(&request(&headers, method), &[])
                    .is_none(),
                "{method}"
            );
        }
    }

    #[test]
    fn the_callback_url_is_signed_after_the_body() {
        let key = text_key("app secret").unwrap();
        let headers = HeaderMap::new();
        let delivery = Delivery {
            body: br#"{"action":{"id":"5a1","type":"updateCard"}}"#,
            method: "POST",
            ..request(&headers, "POST")
        };
        let mut signed = HeaderMap::new();
        for (name, value) in PROVIDER.sign(&delivery, &key, 0).unwrap() {
            signed.insert(name, value);
        }
        let window = Window {
            now: 0,
            tolerance_secs: 300,
        };
        let verified = PROVIDER
            .verify(
                &Delivery {
                    headers: &signed,
                    ..delivery
                },
                std::slice::from_ref(&key),
                window,
            )
            .unwrap();
        assert_eq!(verified.event_type.as_deref(), Some("updateCard"));
        let elsewhere = Delivery {
            headers: &signed,
            url: Some("https://hooks.example.com/webhooks/other"),
            ..delivery
        };
        assert_eq!(
            PROVIDER.verify(&elsewhere, &[key], window),
            Err(SignatureError::Mismatch)
        );
    }
}
