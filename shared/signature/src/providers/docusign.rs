//! DocuSign Connect with HMAC security: every HMAC key active on the account signs the raw body
//! (base64 HMAC-SHA256), and each signature arrives in a numbered header of its own,
//! `X-DocuSign-Signature-1`, `-2` and so on. Any of them matching a configured key is enough.
//! There is no timestamp, so no replay window applies. JSON messages name their type in `event`;
//! Connect carries no event id.

use crate::body::{Scalar, is_json_object};
use crate::crypto::{self, Algorithm, Encoding};
use crate::delivery::{Delivery, SignedHeader, Verified, Window, value};
use crate::entries::Entries;
use crate::error::{SignError, SignatureError};
use crate::key::Key;
use crate::provider::{Code, Facts, How, Provider, text_key, text_secrets};
use http::{HeaderMap, HeaderName};
use serde::Deserialize;

/// The first signature header: the one every signed message has.
const FIRST: &str = "x-docusign-signature-1";
/// Every signature header starts so; the rest is its number.
const PREFIX: &str = "x-docusign-signature-";
/// Names the numbered headers in errors, which cannot name the one at fault.
const ANY: &str = "x-docusign-signature-<n>";
/// The most HMAC keys DocuSign lets an account hold, so the most signature headers a message
/// can carry; a higher number is not DocuSign's.
const MAX_KEYS: usize = 100;

/// The signature of every `x-docusign-signature-<n>` header.
fn signatures(headers: &HeaderMap) -> Result<Vec<Vec<u8>>, SignatureError> {
    let malformed = |why| SignatureError::Malformed { field: ANY, why };
    let mut seen = [false; MAX_KEYS + 1];
    let mut found = Entries::with_limit(ANY, MAX_KEYS);
    let mut any = false;
    for (name, value) in headers {
        let Some(number) = name.as_str().strip_prefix(PREFIX) else {
            continue;
        };
        let index = number
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_KEYS).contains(n) && !number.starts_with('0'))
            .ok_or(malformed("not a header number DocuSign sends (1 to 100)"))?;
        // `HeaderMap` yields a repeated header once per value.
        if std::mem::replace(&mut seen[index], true) {
            return Err(malformed("a signature header appears more than once"));
        }
        let text = value
            .to_str()
            .map_err(|_| malformed("not visible ASCII"))?
            .trim();
        // An empty header carries no signature, as with every other provider's header: were
        // they all empty, the message is unsigned, not malformed.
        if text.is_empty() {
            continue;
        }
        // One header that does not decode, or is not an HMAC-SHA256's length, is set aside: another
        // key's header may still match, as DocuSign's own samples check them one by one.
        any = true;
        found.offer(
            Encoding::Base64,
            text,
            Some((
                Algorithm::Sha256.output_len(),
                Algorithm::Sha256.wrong_length(),
            )),
        )?;
    }
    if !any {
        return Err(SignatureError::Missing(FIRST));
    }
    found.finish("no signature")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    event: Scalar,
}

fn verify(delivery: &Delivery<'_>, keys: &[Key], _: Window) -> Result<Verified, SignatureError> {
    let signatures = signatures(delivery.headers)?;
    crypto::any_match(Algorithm::Sha256, keys, &[delivery.body], &signatures)?;
    // Connect also sends XML to configurations that ask for it; only JSON names the event.
    let mut body = if is_json_object(delivery.body) {
        serde_json::from_slice::<Body>(delivery.body).unwrap_or_default()
    } else {
        Body::default()
    };
    Ok(Verified {
        event_id: None,
        event_type: body.event.take(),
        handshake: None,
    })
}

/// One key signs, so it fills the first header.
fn sign(delivery: &Delivery<'_>, key: &Key, _: i64) -> Result<Vec<SignedHeader>, SignError> {
    let tag = crypto::hmac(Algorithm::Sha256, key.as_bytes(), &[delivery.body]);
    Ok(vec![(
        HeaderName::from_static(FIRST),
        value(Encoding::Base64.encode(tag.as_slice())),
    )])
}

static CODE: Code = Code {
    facts: Facts::signature(FIRST, Encoding::Base64),
    signed: "HMAC-SHA256 of the body, base64, one `X-DocuSign-Signature-<n>` header per key",
    key_format: "the Connect HMAC key, as text",
    key: text_key,
    signing_key: text_key,
    verify,
    sign,
    sign_body: None,
    unsigned_handshake: None,
    secrets_for_seed: text_secrets,
};

pub static PROVIDER: Provider = Provider {
    name: "docusign",
    aliases: &[],
    title: "DocuSign Connect (HMAC)",
    docs: "https://developers.docusign.com/platform/webhooks/connect/hmac/",
    handshake: None,
    json_body: false,
    informative_headers: &[],
    official_vectors: false,
    how: How::Code(&CODE),
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"event":"envelope-sent","data":{"envelopeId":"e"}}"#;

    fn signature_of(secret: &str) -> String {
        let tag = crypto::hmac(Algorithm::Sha256, secret.as_bytes(), &[BODY]);
        Encoding::Base64.encode(tag.as_slice())
    }

    fn check(headers: &[(&str, String)], secret: &str) -> Result<Verified, SignatureError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        verify(
            &Delivery::post(&map, BODY),
            &[text_key(secret).unwrap()],
            Window {
                now: 0,
                tolerance_secs: 0,
            },
        )
    }

    #[test]
    fn any_numbered_header_may_match() {
        let headers = [
            ("x-docusign-signature-1", signature_of("key one")),
            ("X-DocuSign-Signature-2", signature_of("key two")),
            ("x-docusign-signature-100", signature_of("key 100")),
        ];
        for key in ["key one", "key two", "key 100"] {
            let verified = check(&headers, key).unwrap();
            assert_eq!(verified.event_type.as_deref(), Some("envelope-sent"));
        }
        assert_eq!(check(&headers, "key three"), Err(SignatureError::Mismatch));
        // A gap in the numbering (a key removed) is fine.
        check(&[("x-docusign-signature-3", signature_of("k"))], "k").unwrap();
    }

    #[test]
    fn refuses_numbers_docusign_does_not_send_and_repeats() {
        let good = signature_of("k");
        for name in [
            "x-docusign-signature-0",
            "x-docusign-signature-101",
            "x-docusign-signature-01",
            "x-docusign-signature-x",
            "x-docusign-signature-",
        ] {
            assert!(
                matches!(
                    check(&[(name, good.clone())], "k"),
                    Err(SignatureError::Malformed { .. })
                ),
                "{name}"
            );
        }
        assert!(matches!(
            check(&[(FIRST, good.clone()), (FIRST, good.clone())], "k"),
            Err(SignatureError::Malformed { .. })
        ));
        // A header that is not a signature is set aside; the good one still matches.
        check(
            &[
                (FIRST, good.clone()),
                ("x-docusign-signature-2", "AAAA".into()),
            ],
            "k",
        )
        .unwrap();
        assert!(matches!(
            check(&[("x-docusign-signature-2", "AAAA".into())], "k"),
            Err(SignatureError::Malformed { .. })
        ));
        assert_eq!(check(&[], "k"), Err(SignatureError::Missing(FIRST)));
    }

    #[test]
    fn an_empty_signature_header_is_no_signature() {
        assert_eq!(
            check(&[(FIRST, String::new())], "k"),
            Err(SignatureError::Missing(FIRST))
        );
        // An empty header beside a signature changes nothing; repeated, it is still a repeat.
        let good = signature_of("k");
        check(
            &[(FIRST, String::new()), ("x-docusign-signature-2", good)],
            "k",
        )
        .unwrap();
        assert!(matches!(
            check(&[(FIRST, String::new()), (FIRST, String::new())], "k"),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn the_most_headers_docusign_sends_are_accepted() {
        let good = signature_of("k");
        let names: Vec<String> = (1..=MAX_KEYS).map(|n| format!("{PREFIX}{n}")).collect();
        let headers: Vec<(&str, String)> =
            names.iter().map(|n| (n.as_str(), good.clone())).collect();
        check(&headers, "k").unwrap();
    }
}
