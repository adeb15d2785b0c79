//! Compact JWS tokens signed with HS256 (RFC 7515, RFC 7519), as Netlify and Upstash QStash sign
//! their deliveries: `base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256)`, the MAC
//! keyed by the shared secret over the first two segments.
//!
//! The MAC is checked over the segments exactly as received, never over a re-encoding of what
//! they decode to. The header is read only for its `alg`, and anything but `HS256` is refused
//! before any key is tried: a token must not choose how it is checked (`none`, or a public-key
//! algorithm keyed by the shared secret). Everything else a token says is for its provider's file
//! to judge, once the MAC has matched.

use crate::crypto::{self, Algorithm, Encoding};
use crate::{Key, SignatureError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The protected header this crate writes; the one the providers send too.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// A token split and decoded, its MAC not yet checked: its claims are not to be trusted before
/// [`Token::check_mac`] passes.
pub(crate) struct Token<'a, C> {
    /// `header.claims` as received: what the MAC covers.
    signing_input: &'a str,
    mac: Vec<u8>,
    pub(crate) claims: C,
}

/// Splits and decodes a token read from `field`. A token that is not three base64url segments,
/// names another algorithm, carries claims other than `C`, or a MAC of another length is
/// malformed, whoever signed it.
pub(crate) fn parse<'a, C: DeserializeOwned>(
    field: &'static str,
    text: &'a str,
) -> Result<Token<'a, C>, SignatureError> {
    let malformed = |why| SignatureError::Malformed { field, why };
    let Some((signing_input, mac)) = text.rsplit_once('.') else {
        return Err(malformed("not a JWS: expected header.claims.signature"));
    };
    let Some((header, claims)) = signing_input.split_once('.') else {
        return Err(malformed("not a JWS: expected header.claims.signature"));
    };
    if claims.contains('.') {
        return Err(malformed("not a JWS: expected header.claims.signature"));
    }
    let header: Header = decode_json(field, header, "the JWS header is not the expected JSON")?;
    if header.alg != "HS256" {
        return Err(malformed("the JWS is not signed with HS256"));
    }
    let claims: C = decode_json(field, claims, "the JWS claims are not the expected JSON")?;
    let mac = Encoding::Base64Url.decode(field, mac)?;
    if mac.len() != Algorithm::Sha256.output_len() {
        return Err(malformed(Algorithm::Sha256.wrong_length()));
    }
    Ok(Token {
        signing_input,
        mac,
        claims,
    })
}

fn decode_json<C: DeserializeOwned>(
    field: &'static str,
    segment: &str,
    why: &'static str,
) -> Result<C, SignatureError> {
    let bytes = Encoding::Base64Url.decode(field, segment)?;
    serde_json::from_slice(&bytes).map_err(|_| SignatureError::Malformed { field, why })
}

impl<C> Token<'_, C> {
    /// Whether any key's HMAC-SHA256 over `header.claims` is the token's, in constant time.
    pub(crate) fn check_mac(&self, keys: &[Key]) -> Result<(), SignatureError> {
        crypto::any_match(
            Algorithm::Sha256,
            keys,
            &[self.signing_input.as_bytes()],
            std::slice::from_ref(&self.mac),
        )
    }
}

/// A token carrying `claims`, signed with `key`.
pub(crate) fn sign<C: Serialize>(key: &[u8], claims: &C) -> String {
    // Plain structs of strings and integers always serialise; an empty claims segment would only
    // ever fail verification.
    let claims = serde_json::to_vec(claims).unwrap_or_default();
    let signing_input = format!(
        "{}.{}",
        Encoding::Base64Url.encode(HEADER.as_bytes()),
        Encoding::Base64Url.encode(&claims)
    );
    let mac = crypto::hmac(Algorithm::Sha256, key, &[signing_input.as_bytes()]);
    format!(
        "{signing_input}.{}",
        Encoding::Base64Url.encode(mac.as_slice())
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        iss: String,
    }

    fn claims() -> Claims {
        Claims {
            iss: "issuer".to_owned(),
        }
    }

    fn code<T>(result: Result<T, SignatureError>) -> &'static str {
        result.map_or_else(|e| e.code(), |_| "ok")
    }

    #[test]
    fn a_signed_token_parses_and_its_mac_matches_only_its_key() {
        let token = sign(b"secret", &claims());
        let parsed = parse::<Claims>("x-token", &token).unwrap();
        assert_eq!(parsed.claims, claims());
        assert_eq!(
            code(parsed.check_mac(&[Key::secret(b"secret".to_vec())])),
            "ok"
        );
        assert_eq!(
            code(parsed.check_mac(&[Key::secret(b"other".to_vec())])),
            "signature_mismatch"
        );
    }

    #[test]
    fn the_mac_covers_the_claims_as_received() {
        let token = sign(b"secret", &claims());
        let (header, rest) = token.split_once('.').unwrap();
        let (_, mac) = rest.split_once('.').unwrap();
        // The same claims spelled otherwise are another token, whose MAC this is not.
        let respelled = Encoding::Base64Url.encode(br#"{ "iss": "issuer" }"#);
        let forged = format!("{header}.{respelled}.{mac}");
        let parsed = parse::<Claims>("x-token", &forged).unwrap();
        assert_eq!(
            code(parsed.check_mac(&[Key::secret(b"secret".to_vec())])),
            "signature_mismatch"
        );
    }

    #[test]
    fn a_token_naming_another_algorithm_is_malformed_before_any_key_is_tried() {
        let claims = Encoding::Base64Url.encode(br#"{"iss":"issuer"}"#);
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
            r#"{"typ":"JWT"}"#,
        ] {
            let header = Encoding::Base64Url.encode(header.as_bytes());
            let mac = Encoding::Base64Url.encode(&[7; 32]);
            let token = format!("{header}.{claims}.{mac}");
            assert_eq!(
                code(parse::<Claims>("x-token", &token)),
                "signature_malformed",
                "{token}"
            );
        }
    }

    #[test]
    fn anything_but_three_decodable_segments_is_malformed() {
        let token = sign(b"secret", &claims());
        let mut segments = token.split('.');
        let (header, body, mac) = (
            segments.next().unwrap(),
            segments.next().unwrap(),
            segments.next().unwrap(),
        );
        for bad in [
            String::new(),
            header.to_owned(),
            format!("{header}.{body}"),
            format!("{header}.{body}.{mac}.{mac}"),
            format!("{header}.{body}.{}", &mac[..10]),
            format!("{header}.{body}.{mac}AA"),
            format!("{header}.!!!.{mac}"),
            format!("{header}.{}.{mac}", Encoding::Base64Url.encode(b"[1,2]")),
            format!("{header}.{}.{mac}", Encoding::Base64Url.encode(b"{}")),
        ] {
            assert_eq!(
                code(parse::<Claims>("x-token", &bad)),
                "signature_malformed",
                "{bad:?}"
            );
        }
    }
}
