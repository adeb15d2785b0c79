//! Asana webhooks.
//!
//! Every event delivery carries `X-Hook-Signature`: the hex HMAC-SHA256 of the raw body, keyed by
//! the secret Asana handed over when the webhook was established. Nothing else is signed and there
//! is no timestamp. A delivery batches events (or none, as a heartbeat), so no single id or type
//! names it.
//!
//! The secret arrives in a handshake: while a webhook is being created, Asana POSTs to the target
//! with `X-Hook-Secret` and no signature, and expects the same header echoed in a 200. Nothing
//! authenticates that request, so it is answered only with the source's enrolment token in the
//! URL (see `crate::enrol`).

use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{
    Delivery, Handshake, HandshakeBody, SignedHeader, Verified, Window, header, value,
};
use crate::enrol;
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use http::HeaderName;

const SIGNATURE: &str = "x-hook-signature";
const SECRET: &str = "x-hook-secret";

/// Asana's secrets are 64 hex characters; a longer one is not kept.
const MAX_SECRET: usize = 256;

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let signature = Encoding::Hex.decode(SIGNATURE, header(delivery.headers, SIGNATURE)?)?;
    if signature.len() != Algorithm::Sha256.output_len() {
        return Err(SignatureError::Malformed {
            field: SIGNATURE,
            why: "wrong length for HMAC-SHA256",
        });
    }
    crypto::any_match(Algorithm::Sha256, keys, &[delivery.body], &[signature])?;
    Ok(Verified::default())
}

fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    Ok(vec![(
        HeaderName::from_static(SIGNATURE),
        value(Encoding::Hex.encode(tag.as_slice())),
    )])
}

/// A POST with `X-Hook-Secret` and without `X-Hook-Signature` is the handshake; anything else is
/// verified as a delivery. `keys` are the source's enrolment tokens.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    keys: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    if !delivery.method.eq_ignore_ascii_case("POST")
        || delivery.headers.contains_key(SIGNATURE)
        || !delivery.headers.contains_key(SECRET)
    {
        return None;
    }
    Some(answer_handshake(delivery, keys))
}

fn answer_handshake(delivery: &Delivery<'_>, keys: &[Key]) -> Result<Handshake, SignatureError> {
    let secret = header(delivery.headers, SECRET)?;
    enrol::check(delivery, keys)?;
    if secret.len() > MAX_SECRET {
        return Err(SignatureError::Malformed {
            field: SECRET,
            why: "longer than any secret Asana sends",
        });
    }
    Ok(Handshake {
        body: HandshakeBody::Empty,
        header: Some((SECRET, secret.to_owned())),
        install_secret: Some(secret.to_owned()),
    })
}

static CODE: Code = Code {
    facts: Facts {
        handshake_secret: true,
        enrols_secret: true,
        ..Facts::signature(SIGNATURE, Encoding::Hex)
    },
    signed: "HMAC-SHA256 of the body, hex",
    key_format: "the `X-Hook-Secret` Asana sent in the handshake, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: Some(unsigned_handshake),
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "asana",
    aliases: &[],
    title: "Asana",
    docs: "https://developers.asana.com/docs/webhooks-guide#security",
    handshake: Some(
        "POST with `X-Hook-Secret`: echoed and kept as the secret, only when the target URL carries the source's `?inlet_enrol=` token",
    ),
    json_body: true,
    informative_headers: &[],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::enrol::PARAMETER as ENROL;
    use http::HeaderMap;

    const ASANA_SECRET: &str = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81";
    const ENROLMENT: &str = "enrol-3f9c2a";

    fn enrolment() -> Vec<Key> {
        vec![text_key(ENROLMENT).unwrap()]
    }

    fn handshake<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Delivery<'a> {
        Delivery {
            headers,
            body: b"",
            url: None,
            method: "POST",
            query,
        }
    }

    fn secret_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SECRET, ASANA_SECRET.parse().unwrap());
        headers
    }

    #[test]
    fn an_enrolled_handshake_echoes_and_installs_the_secret() {
        let headers = secret_headers();
        let query = format!("{ENROL}={ENROLMENT}");
        let answer = PROVIDER
            .unsigned_handshake(&handshake(&headers, Some(&query)), &enrolment())
            .unwrap()
            .unwrap();
        assert_eq!(answer.body, HandshakeBody::Empty);
        assert_eq!(answer.header, Some((SECRET, ASANA_SECRET.to_owned())));
        assert_eq!(answer.install_secret.as_deref(), Some(ASANA_SECRET));
    }

    #[test]
    fn a_handshake_with_a_wrong_or_missing_token_installs_nothing() {
        let headers = secret_headers();
        let wrong = format!("{ENROL}=guess");
        assert_eq!(
            PROVIDER.unsigned_handshake(&handshake(&headers, Some(&wrong)), &enrolment()),
            Some(Err(SignatureError::Mismatch))
        );
        for query in [None, Some(""), Some("other=1")] {
            assert_eq!(
                PROVIDER.unsigned_handshake(&handshake(&headers, query), &enrolment()),
                Some(Err(SignatureError::Missing(ENROL))),
                "{query:?}"
            );
        }
        let repeated = format!("{ENROL}={ENROLMENT}&{ENROL}={ENROLMENT}");
        assert!(matches!(
            PROVIDER.unsigned_handshake(&handshake(&headers, Some(&repeated)), &enrolment()),
            Some(Err(SignatureError::Malformed { .. }))
        ));
        // A source without an enrolment token answers no handshake.
        let right = format!("{ENROL}={ENROLMENT}");
        assert_eq!(
            PROVIDER.unsigned_handshake(&handshake(&headers, Some(&right)), &[]),
            Some(Err(SignatureError::Mismatch))
        );
    }

    #[test]
    fn requests_that_are_not_the_handshake_are_deliveries() {
        let query = format!("{ENROL}={ENROLMENT}");
        // No X-Hook-Secret.
        let none = HeaderMap::new();
        assert_eq!(
            PROVIDER.unsigned_handshake(&handshake(&none, Some(&query)), &enrolment()),
            None
        );
        // Signed: an event, whatever else it carries.
        let mut signed = secret_headers();
        signed.insert(SIGNATURE, "00".parse().unwrap());
        assert_eq!(
            PROVIDER.unsigned_handshake(&handshake(&signed, Some(&query)), &enrolment()),
            None
        );
        // Not a POST.
        let headers = secret_headers();
        let get = Delivery {
            method: "GET",
            ..handshake(&headers, Some(&query))
        };
        assert_eq!(PROVIDER.unsigned_handshake(&get, &enrolment()), None);
    }

    #[test]
    fn events_verify_with_the_installed_secret() {
        let body = br#"{"events":[]}"#;
        let key = text_key(ASANA_SECRET).unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in sign(&Delivery::post(&headers, body), &key, 0).unwrap() {
            headers.insert(name, value);
        }
        let window = Window {
            now: 0,
            tolerance_secs: 300,
        };
        assert!(verify(&Delivery::post(&headers, body), &[key], window).is_ok());
        assert_eq!(
            verify(&Delivery::post(&headers, body), &enrolment(), window),
            Err(SignatureError::Mismatch)
        );
    }
}
