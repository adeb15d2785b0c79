//! Dropbox webhooks (file change notifications to an app).
//!
//! Each notification is a POST whose `X-Dropbox-Signature` header is the hex HMAC-SHA256, keyed by
//! the app secret, of the raw body. Nothing else is signed and there is no timestamp, so no replay
//! window applies. A notification only lists the accounts whose files changed (the app then asks
//! the API what changed), so it names no event and carries no id.
//!
//! When the webhook URI is added, Dropbox sends a GET with a `challenge` parameter to echo back as
//! the body. That GET is not authenticated: whatever it carries is reflected to its sender, so it
//! is echoed only when it is a plain token (letters, digits, `-`, `_`), as `text/plain` with
//! `X-Content-Type-Options: nosniff`, the headers Dropbox asks for against reflected scripts.

use crate::challenge::{self, Carrier, Challenge};
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, Handshake};
use crate::error::SignatureError;
use crate::key::Key;
use crate::provider::{How, Provider};

const SIGNATURE: &str = "x-dropbox-signature";

/// Dropbox's challenges are short random strings; anything far longer is not one.
const MAX_CHALLENGE: usize = 256;

const SCHEME: CustomScheme = CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Hex);

const CHALLENGE: Challenge = Challenge {
    carrier: Carrier::Query("challenge"),
    shaped: is_challenge,
    missing: "a GET to a Dropbox source must carry challenge",
    misshapen: "the challenge is not a plain token (at most 256 letters, digits, `-` and `_`)",
};

fn is_challenge(text: &str) -> bool {
    challenge::is_plain_token(text, MAX_CHALLENGE, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')
    })
}

/// Every GET is Dropbox's verification request: notifications are POSTs.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    _: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    CHALLENGE.echo_on_get(delivery)
}

pub static PROVIDER: Provider = Provider {
    name: "dropbox",
    aliases: &[],
    title: "Dropbox",
    docs: "https://www.dropbox.com/developers/reference/webhooks",
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
        let answer = PROVIDER
            .unsigned_handshake(&get(&headers, Some("challenge=abc123")), &[])
            .unwrap()
            .unwrap();
        assert_eq!(answer, echo("abc123".to_owned()));
    }

    #[test]
    fn a_challenge_that_is_not_a_plain_token_is_not_echoed() {
        let headers = HeaderMap::new();
        for query in [
            "",
            "other=1",
            "challenge=",
            "challenge=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "challenge=a%20b",
            "challenge=a.b",
            "challenge=a&challenge=b",
        ] {
            let answer = PROVIDER.unsigned_handshake(&get(&headers, Some(query)), &[]);
            assert_eq!(
                answer.map(|a| a.map_err(|e| e.code())),
                Some(Err("handshake_invalid")),
                "{query}"
            );
        }
        let long = format!("challenge={}", "a".repeat(MAX_CHALLENGE + 1));
        assert!(matches!(
            PROVIDER.unsigned_handshake(&get(&headers, Some(&long)), &[]),
            Some(Err(SignatureError::NotAHandshake(_)))
        ));
        let post = Delivery::post(&headers, b"{}");
        assert_eq!(PROVIDER.unsigned_handshake(&post, &[]), None);
    }

    #[test]
    fn a_signature_of_the_wrong_length_is_malformed() {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, hex::encode([1u8; 20]).parse().unwrap());
        let keys = [text_key("app secret").unwrap()];
        let window = Window {
            now: 0,
            tolerance_secs: 300,
        };
        let result = PROVIDER.verify(&Delivery::post(&headers, b"{}"), &keys, window);
        assert_eq!(result.map_err(|e| e.code()), Err("signature_malformed"));
    }
}
