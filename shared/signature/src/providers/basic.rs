//! HTTP Basic authentication, for providers that offer nothing else (Postmark, Pipedrive…): the
//! user name and password typed into the provider's webhook settings (or written into the URL as
//! `https://user:password@…`) come back in `Authorization: Basic <base64 of user:password>`.
//!
//! The configured secret is `user:password`; the decoded credentials are compared with it in
//! constant time. Like any shared token, nothing binds them to the body or to a time, so they only
//! prove who sent the request over HTTPS.

use crate::delivery::{Delivery, SignedHeader, Verified, Window, header, value};
use crate::error::{KeyError, SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, Secrets};
use crate::token::matches_any;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderName;

const AUTHORIZATION: &str = "authorization";
const KEY_FORMAT: &str = "the credentials as `user:password`";

fn key(secret: &str) -> Result<Key, KeyError> {
    if secret.is_empty() {
        return Err(KeyError::Empty);
    }
    // RFC 7617: the user id cannot contain a colon, so the first one ends it.
    if !secret.contains(':') {
        return Err(KeyError::Format(KEY_FORMAT));
    }
    Ok(Key::secret(secret.as_bytes()))
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let text = header(delivery.headers, AUTHORIZATION)?;
    let malformed = |why| SignatureError::Malformed {
        field: AUTHORIZATION,
        why,
    };
    let (scheme, encoded) = text
        .split_once(' ')
        .ok_or(malformed("expected `Basic <base64>`"))?;
    // The scheme name is case-insensitive (RFC 9110).
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed("expected `Basic <base64>`"));
    }
    let credentials = STANDARD
        .decode(encoded.trim_start())
        .map_err(|_| malformed("the credentials are not base64"))?;
    matches_any(keys, &credentials)?;
    Ok(Verified::default())
}

fn sign(_: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    Ok(vec![(
        HeaderName::from_static(AUTHORIZATION),
        value(format!("Basic {}", STANDARD.encode(key.as_bytes()))),
    )])
}

/// Credentials made from the seed: a fixed user, the seed as password.
fn secrets_for_seed(seed: &[u8]) -> Secrets {
    Secrets::shared(format!("inlet:{}", String::from_utf8_lossy(seed)))
}

pub(crate) static CODE: Code = Code {
    facts: Facts {
        encoding: None,
        unsigned_body: true,
        ..Facts::signature(AUTHORIZATION, crate::crypto::Encoding::Base64)
    },
    signed: "nothing: `user:password` in `Authorization: Basic`, compared in constant time",
    key_format: KEY_FORMAT,
    key,
    signing_key: key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed,
};

pub static PROVIDER: Provider = Provider {
    name: "basic",
    aliases: &[],
    title: "HTTP Basic auth",
    docs: "https://www.rfc-editor.org/rfc/rfc7617",
    handshake: None,
    json_body: false,
    informative_headers: &[],
    official_vectors: true,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use http::HeaderMap;

    const WINDOW: Window = Window {
        now: 0,
        tolerance_secs: 300,
    };

    fn verified(authorization: &str, secret: &str) -> Result<Verified, SignatureError> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization.parse().unwrap());
        verify(
            &Delivery::post(&headers, b"{}"),
            &[key(secret).unwrap()],
            WINDOW,
        )
    }

    #[test]
    fn the_rfc_example_verifies_in_any_case_of_the_scheme() {
        // RFC 7617 section 2: Aladdin's credentials.
        assert!(verified("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin:open sesame").is_ok());
        assert!(verified("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin:open sesame").is_ok());
        assert_eq!(
            verified("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin:open sesame!"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn other_schemes_and_bad_base64_are_malformed() {
        for authorization in [
            "Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
            "Basic not*base64",
        ] {
            assert!(
                matches!(
                    verified(authorization, "Aladdin:open sesame"),
                    Err(SignatureError::Malformed { .. })
                ),
                "{authorization}"
            );
        }
    }

    #[test]
    fn a_secret_without_a_colon_is_refused_and_sign_round_trips() {
        assert_eq!(key("justapassword"), Err(KeyError::Format(KEY_FORMAT)));
        let secret = secrets_for_seed(b"s3cr:et\n").verify;
        let signing = key(&secret).unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in sign(&Delivery::post(&headers, b""), &signing, 0).unwrap() {
            headers.insert(name, value);
        }
        assert!(verify(&Delivery::post(&headers, b"x"), &[signing], WINDOW).is_ok());
    }
}
