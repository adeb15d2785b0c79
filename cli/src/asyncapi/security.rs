//! A source's signature scheme as an AsyncAPI security scheme, described in words from the
//! signature crate's catalogue (what `inlet providers` prints).
//!
//! AsyncAPI has no type for "a signature of the body in a header", so a scheme that reads a
//! header is an `httpApiKey` in that header, which names it for tools, and its description says
//! what the header really holds (an HMAC of the raw body, a token, an Ed25519 signature…). The
//! few providers that sign inside the body (Mailgun, Adyen) have no header to name: they are
//! `symmetricEncryption` (`asymmetricEncryption` for a public key), a type whose schema allows
//! no description, so the words go in `x-inlet-description`.

use inlet_signature::registry::How;
use inlet_signature::{CustomScheme, Scheme, TokenScheme};
use serde_json::{Map, Value, json};

/// One entry of `components.securitySchemes`.
#[derive(Debug, Clone)]
pub(super) struct SecurityScheme {
    /// Its key: the provider's name, shared by every source of that provider; for `hmac` and
    /// `token`, which each source configures, `hmac.<source>` and `token.<source>`.
    pub key: String,
    pub value: Value,
}

/// The security scheme of `scheme` as the source `source` uses it; `None` for unsigned sources.
pub(super) fn for_source(source: &str, scheme: &Scheme) -> Option<SecurityScheme> {
    let (key, words) = match scheme {
        Scheme::None => return None,
        Scheme::Provider(provider) => {
            let summary = provider.summary();
            let mut words = format!("{}. Signed: {}.", summary.title, summary.signed);
            words.push_str(&format!(" Secret: {}.", summary.key_format));
            if let Some(handshake) = summary.handshake {
                words.push_str(&format!(" Handshake: {handshake}."));
            }
            words.push_str(&format!(" The provider's documentation: {}", summary.docs));
            (provider.name.to_owned(), words)
        }
        Scheme::Hmac(custom) => (format!("hmac.{source}"), hmac_words(custom)),
        Scheme::Token(token) => (format!("token.{source}"), token_words(token)),
    };
    let mut value = Map::new();
    match scheme.signature_header() {
        Some(header) => {
            value.insert("type".to_owned(), json!("httpApiKey"));
            value.insert("name".to_owned(), json!(header.as_str()));
            value.insert("in".to_owned(), json!("header"));
            value.insert("description".to_owned(), json!(words));
        }
        None => {
            let kind = if scheme.is_asymmetric() {
                "asymmetricEncryption"
            } else {
                "symmetricEncryption"
            };
            value.insert("type".to_owned(), json!(kind));
            value.insert(
                "x-inlet-description".to_owned(),
                json!(format!("The signature travels in the body. {words}")),
            );
        }
    }
    value.insert("x-inlet-scheme".to_owned(), json!(scheme.name()));
    Some(SecurityScheme {
        key,
        value: Value::Object(value),
    })
}

/// Whether what the scheme reads is a shared token rather than a signature.
pub(super) fn is_token(scheme: &Scheme) -> bool {
    match scheme {
        Scheme::Token(_) => true,
        Scheme::Provider(provider) => matches!(provider.how, How::Token(_)),
        _ => false,
    }
}

/// A configured `hmac` scheme in words.
fn hmac_words(custom: &CustomScheme) -> String {
    let signed = if custom.signed == "{body}" {
        "the raw body".to_owned()
    } else {
        format!("`{}` (`{{body}}` the raw body)", custom.signed)
    };
    let mut words = format!(
        "A plain HMAC configured for this source: {} of {signed} with the shared secret, \
         written in {}",
        custom.algorithm.name(),
        custom.encoding.name(),
    );
    if !custom.prefix.is_empty() {
        words.push_str(&format!(" after `{}`", custom.prefix));
    }
    words.push_str(&format!(", in header `{}`.", custom.header));
    if let Some(header) = custom.timestamp_header {
        words.push_str(&format!(" The timestamp is in `{header}`."));
    }
    words.push_str(match custom.key_encoding {
        None => " Secret: the signing secret, as text.",
        Some(_) => " Secret: the signing secret, decoded before use.",
    });
    words
}

/// A configured `token` scheme in words.
fn token_words(token: &TokenScheme) -> String {
    let after = if token.prefix.is_empty() {
        String::new()
    } else {
        format!(" after `{}`", token.prefix)
    };
    format!(
        "A shared token configured for this source, sent{after} in header `{}` and compared in \
         constant time. Nothing binds it to the body.",
        token.header
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_an_api_key_in_its_signature_header_described_in_words() {
        let github = Scheme::named("github").unwrap();
        let scheme = for_source("gh", &github).unwrap();
        assert_eq!(scheme.key, "github");
        assert_eq!(scheme.value["type"], "httpApiKey");
        assert_eq!(scheme.value["name"], "x-hub-signature-256");
        assert_eq!(scheme.value["in"], "header");
        let words = scheme.value["description"].as_str().unwrap();
        assert!(words.contains("HMAC-SHA256"), "{words}");
    }

    #[test]
    fn a_signature_in_the_body_has_no_header_to_name() {
        let mailgun = Scheme::named("mailgun").unwrap();
        let scheme = for_source("mg", &mailgun).unwrap();
        assert_eq!(scheme.value["type"], "symmetricEncryption");
        assert!(scheme.value.get("description").is_none());
        assert!(scheme.value["x-inlet-description"].is_string());
    }

    #[test]
    fn every_provider_has_a_scheme_with_its_words() {
        for provider in inlet_signature::registry::all() {
            let scheme = Scheme::Provider(provider);
            let security = for_source("s", &scheme).unwrap();
            let value = &security.value;
            assert_eq!(security.key, provider.name);
            match value["type"].as_str().unwrap() {
                "httpApiKey" => {
                    assert_eq!(value["in"], "header");
                    assert!(value["name"].as_str().is_some_and(|n| !n.is_empty()));
                    assert!(value["description"].is_string(), "{value}");
                }
                "symmetricEncryption" | "asymmetricEncryption" => {
                    assert!(value.get("description").is_none(), "{value}");
                    assert!(value["x-inlet-description"].is_string(), "{value}");
                }
                other => panic!("{}: {other}", provider.name),
            }
        }
    }

    #[test]
    fn unsigned_sources_have_none() {
        assert!(for_source("open", &Scheme::None).is_none());
        assert!(is_token(&Scheme::named("gitlab").unwrap()));
        assert!(!is_token(&Scheme::named("github").unwrap()));
    }
}
