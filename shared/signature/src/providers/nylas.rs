//! Nylas v3 webhooks (email, calendar and contact notifications).
//!
//! Each notification is a POST whose `X-Nylas-Signature` is the hex HMAC-SHA256 of the raw body,
//! keyed by the `webhook_secret` Nylas returns when the destination is created. Nothing else is
//! signed and there is no timestamp, so no replay window applies. The body is a CloudEvents-style
//! envelope: its `id` names the notification and its `type` (`message.created`) the event.
//!
//! Before a destination is active Nylas checks it with a GET carrying a `challenge` parameter,
//! which must come back as the body, as it is. That GET is not signed, so whatever it carries is
//! reflected to its sender: it is echoed only when it is a plain, bounded token of URL-safe
//! characters, as text with `X-Content-Type-Options: nosniff`.

use crate::challenge::{self, Carrier, Challenge};
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, Handshake};
use crate::error::SignatureError;
use crate::key::Key;
use crate::provider::{How, Provider};

const SIGNATURE: &str = "x-nylas-signature";

/// Nylas's challenges are short random strings; anything far longer is not one.
const MAX_CHALLENGE: usize = 256;

const SCHEME: CustomScheme = CustomScheme {
    id_pointer: Some("/id"),
    type_pointer: Some("/type"),
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Hex)
};

const CHALLENGE: Challenge = Challenge {
    carrier: Carrier::Query("challenge"),
    shaped: is_challenge,
    missing: "a GET to a Nylas source must carry challenge",
    misshapen: "the challenge is not a plain token (at most 256 letters, digits, `-._~`)",
};

/// Letters, digits and the unreserved `-._~`: what a random challenge is written in, and nothing
/// a browser could take for markup.
fn is_challenge(text: &str) -> bool {
    challenge::is_plain_token(text, MAX_CHALLENGE, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
    })
}

/// Every GET is Nylas's verification request: notifications are POSTs.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    _: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    CHALLENGE.echo_on_get(delivery)
}

pub static PROVIDER: Provider = Provider {
    name: "nylas",
    aliases: &[],
    title: "Nylas (API v3)",
    docs: "https://developer.nylas.com/docs/cookbook/use-cases/build/verify-webhook-signatures/",
    handshake: Some("GET `challenge` (verification request): echoed when it is a plain token"),
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Answering(SCHEME, unsigned_handshake),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::challenge::{echo, get};
    use crate::delivery::Window;
    use crate::provider::text_key;
    use http::HeaderMap;

    #[test]
    fn the_verification_request_is_echoed_as_plain_text() {
        let headers = HeaderMap::new();
        let query = "challenge=bc609b38-c81f-47fb-a275-1d9bd61be301";
        let answer = PROVIDER
            .unsigned_handshake(&get(&headers, Some(query)), &[])
            .unwrap()
            .unwrap();
        assert_eq!(
            answer,
            echo("bc609b38-c81f-47fb-a275-1d9bd61be301".to_owned())
        );
    }

    #[test]
    fn a_challenge_that_is_not_a_plain_token_is_refused() {
        let headers = HeaderMap::new();
        let long = format!("challenge={}", "a".repeat(MAX_CHALLENGE + 1));
        for query in [
            None,
            Some(""),
            Some("other=1"),
            Some("challenge="),
            Some("challenge=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
            Some("challenge=a%20b"),
            Some("challenge=a&challenge=b"),
            Some(long.as_str()),
        ] {
            let answer = PROVIDER.unsigned_handshake(&get(&headers, query), &[]);
            assert_eq!(
                answer.map(|a| a.map_err(|e| e.code())),
                Some(Err("handshake_invalid")),
                "{query:?}"
            );
        }
        let at_most = format!("challenge={}", "a".repeat(MAX_CHALLENGE));
        assert!(matches!(
            PROVIDER.unsigned_handshake(&get(&headers, Some(&at_most)), &[]),
            Some(Ok(_))
        ));
    }

    #[test]
    fn a_post_is_a_notification_not_a_handshake() {
        let headers = HeaderMap::new();
        let post = Delivery {
            query: Some("challenge=abc"),
            ..Delivery::post(&headers, b"{}")
        };
        assert_eq!(PROVIDER.unsigned_handshake(&post, &[]), None);
    }

    #[test]
    fn a_notification_is_named_by_its_id_and_type() {
        let body = br#"{"specversion":"1.0","type":"grant.expired","id":"evt_1","data":{}}"#;
        let key = text_key("webhook secret").unwrap();
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
        assert_eq!(verified.event_id.as_deref(), Some("evt_1"));
        assert_eq!(verified.event_type.as_deref(), Some("grant.expired"));
        assert_eq!(verified.handshake, None);
    }
}
