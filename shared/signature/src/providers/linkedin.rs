//! LinkedIn webhooks (Lead Sync, organization social actions and the other push events).
//!
//! Each event is a POST whose `X-LI-Signature` header is the HMAC-SHA256, keyed by the app's
//! client secret, of the raw body prefixed by `hmacsha256=`: the prefix is part of what is signed.
//! LinkedIn writes the signature in hex, as it does the validation answer below (its page does not
//! say so for the header; hex decodes in either case). Its sentence reads both ways as to whether
//! the header carries the `hmacsha256=` prefix too, so a header with it is read the same as one
//! without: the prefix carries no bits. Nothing else is signed and there is no timestamp, so no
//! replay window applies; the payloads differ by product and are not named here.
//!
//! LinkedIn validates the endpoint (at registration, then every two hours) with a GET carrying
//! `challengeCode`, a UUID, answered with `{"challengeCode", "challengeResponse"}` where the
//! response is the hex HMAC-SHA256 of the code under the client secret. That GET is not
//! authenticated, so only a UUID is answered: its HMAC is no delivery's signature either way,
//! since a delivery's signed bytes start with `hmacsha256=`.

use crate::challenge::{Carrier, Challenge, answering_key};
use crate::crypto::{self, Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::delivery::{Delivery, Handshake, SignedHeader, Verified, Window, header};
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};

const SIGNATURE: &str = "x-li-signature";
/// What LinkedIn signs before the body.
const SIGNED_PREFIX: &str = "hmacsha256=";

/// The header as the hex signature alone, which is what `sign` writes.
const SCHEME: CustomScheme = CustomScheme {
    signed: "hmacsha256={body}",
    ..CustomScheme::new(SIGNATURE, Algorithm::Sha256, Encoding::Hex)
};

/// The header with the prefix before the signature too.
const PREFIXED: CustomScheme = CustomScheme {
    prefix: SIGNED_PREFIX,
    ..SCHEME
};

const VALIDATION: Challenge = Challenge {
    carrier: Carrier::Query("challengeCode"),
    shaped: is_uuid,
    missing: "a GET to a LinkedIn source must carry challengeCode",
    misshapen: "challengeCode is not a UUID, as LinkedIn's are",
};

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits: the only challenge LinkedIn sends.
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(at, b)| match at {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn verify(
    delivery: &Delivery<'_>,
    keys: &[Key],
    window: Window,
) -> Result<Verified, SignatureError> {
    let prefixed = header(delivery.headers, SIGNATURE)?.starts_with(SIGNED_PREFIX);
    let scheme = if prefixed { &PREFIXED } else { &SCHEME };
    scheme.verify(delivery, keys, window)
}

fn sign(delivery: &Delivery<'_>, key: &Key, now: i64) -> Result<Vec<SignedHeader>, SignError> {
    SCHEME.sign(delivery, key, now)
}

/// Every GET is LinkedIn's endpoint validation: events are POSTs.
fn unsigned_handshake(
    delivery: &Delivery<'_>,
    keys: &[Key],
) -> Option<Result<Handshake, SignatureError>> {
    VALIDATION.on_get(delivery, |code| {
        let tag = crypto::hmac(Algorithm::Sha256, answering_key(keys)?, &[code.as_bytes()]);
        Ok(Handshake::json(serde_json::json!({
            "challengeCode": code,
            "challengeResponse": Encoding::Hex.encode(tag.as_slice()),
        })))
    })
}

static CODE: Code = Code {
    facts: Facts::signature(SIGNATURE, Encoding::Hex),
    signed: "HMAC-SHA256 of `hmacsha256=` + the body, hex",
    key_format: "the app's client secret, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: Some(unsigned_handshake),
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "linkedin",
    aliases: &[],
    title: "LinkedIn",
    docs: "https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation",
    handshake: Some(
        "GET `challengeCode` (a UUID): answers `challengeResponse`, its HMAC under the client secret",
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
    use crate::challenge::get;
    use crate::delivery::HandshakeBody;
    use http::HeaderMap;

    const SECRET: &str = "WPL_AP1.k3y.Zm9vYmFy";
    const WINDOW: Window = Window {
        now: 0,
        tolerance_secs: 300,
    };

    fn keys() -> Vec<Key> {
        vec![text_key(SECRET).unwrap()]
    }

    #[test]
    fn the_validation_is_answered_with_the_code_and_its_hmac() {
        let headers = HeaderMap::new();
        // LinkedIn's documented challenge code.
        let code = "890e4665-4dfe-4ab1-b689-ed553bceeed0";
        let answer = PROVIDER
            .unsigned_handshake(
                &get(&headers, Some(&format!("challengeCode={code}"))),
                &keys(),
            )
            .unwrap()
            .unwrap();
        // Computed with Python's hmac: hex(HMAC-SHA256(secret, code)).
        assert_eq!(
            answer.body,
            HandshakeBody::Json(serde_json::json!({
                "challengeCode": code,
                "challengeResponse": "f6575853739b46df4db90d1043cf55772dde0027c0ec77915e3942156c8da4f5",
            }))
        );
        // A parent-child integration's applicationId changes nothing here.
        let with_app = format!("challengeCode={code}&applicationId=12345");
        let again = PROVIDER
            .unsigned_handshake(&get(&headers, Some(&with_app)), &keys())
            .unwrap()
            .unwrap();
        assert_eq!(again, answer);
    }

    #[test]
    fn only_a_uuid_is_answered() {
        let headers = HeaderMap::new();
        for query in [
            "",
            "challengeCode=",
            "challengeCode=890e4665-4dfe-4ab1-b689-ed553bceeed",
            "challengeCode=890e4665x4dfe-4ab1-b689-ed553bceeed0",
            "challengeCode=g90e4665-4dfe-4ab1-b689-ed553bceeed0",
            "challengeCode=%7B%22a%22%3A1%7D",
            "challengeCode=890e4665-4dfe-4ab1-b689-ed553bceeed0&challengeCode=890e4665-4dfe-4ab1-b689-ed553bceeed0",
        ] {
            let answer = PROVIDER.unsigned_handshake(&get(&headers, Some(query)), &keys());
            assert_eq!(
                answer.map(|a| a.map_err(|e| e.code())),
                Some(Err("handshake_invalid")),
                "{query}"
            );
        }
        let post = Delivery::post(&headers, b"{}");
        assert_eq!(PROVIDER.unsigned_handshake(&post, &keys()), None);
    }

    #[test]
    fn the_prefix_is_signed_and_may_also_lead_the_header() {
        let body = br#"{"type":"LEAD_ACTION","notificationId":1}"#;
        let mut headers = HeaderMap::new();
        for (name, value) in sign(&Delivery::post(&headers, body), &keys()[0], 0).unwrap() {
            headers.insert(name, value);
        }
        let delivery = Delivery::post(&headers, body);
        verify(&delivery, &keys(), WINDOW).unwrap();
        let bare = headers[SIGNATURE].to_str().unwrap().to_owned();
        // Computed with Python's hmac over `hmacsha256=` + the body.
        assert_eq!(
            bare,
            "d88ab08efb8c1e110e9c3f29eceef0fb40fc9fe2f848d8b7243c0be327ee018a"
        );
        let mut prefixed = headers.clone();
        prefixed.insert(SIGNATURE, format!("hmacsha256={bare}").parse().unwrap());
        verify(&Delivery::post(&prefixed, body), &keys(), WINDOW).unwrap();
        // The body alone, unprefixed, is not what LinkedIn signs.
        let unprefixed = crypto::hmac(Algorithm::Sha256, SECRET.as_bytes(), &[body]);
        headers.insert(
            SIGNATURE,
            Encoding::Hex.encode(unprefixed.as_slice()).parse().unwrap(),
        );
        assert_eq!(
            verify(&Delivery::post(&headers, body), &keys(), WINDOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_signature_of_the_wrong_length_is_malformed() {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE, hex::encode([1u8; 20]).parse().unwrap());
        let result = verify(&Delivery::post(&headers, b"{}"), &keys(), WINDOW);
        assert_eq!(result.map_err(|e| e.code()), Err("signature_malformed"));
    }
}
