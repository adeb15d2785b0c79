//! The `hmac` and `token` schemes, built from a source's own keys: a scheme as data, so that a
//! provider Inlet does not name can still be taken without code. Every key is checked here, and
//! a refusal names it.

use super::error::{Problem, invalid};
use super::raw::RawSource;
use http::HeaderName;
use inlet_signature::{Algorithm, CustomScheme, Encoding, Layout, TimeFormat, TokenScheme};

/// A configured header name, lower-cased and kept for the life of the process (see
/// [`CustomScheme::leak`]).
pub(super) fn header_name(key: &str, text: &str) -> Result<&'static str, Problem> {
    let name = HeaderName::try_from(text.to_ascii_lowercase())
        .map_err(|_| invalid(key, "not a valid header name"))?;
    Ok(CustomScheme::leak(name.as_str()))
}

/// A single character, for `separator`.
fn one_char(key: &str, text: &str) -> Result<char, Problem> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(invalid(
            key,
            "expected a single character, such as \",\" or \" \"",
        )),
    }
}

impl RawSource {
    pub(super) fn custom_scheme(&self, key: &str) -> Result<CustomScheme, Problem> {
        let field = |name: &str| format!("{key}.{name}");
        let header = self.header.as_deref().ok_or_else(|| {
            invalid(
                field("header"),
                "the hmac scheme needs the signature header",
            )
        })?;
        let algorithm = match self.algorithm.as_deref() {
            None => Algorithm::Sha256,
            Some(name) => Algorithm::parse(name)
                .ok_or_else(|| invalid(field("algorithm"), "expected sha1, sha256 or sha512"))?,
        };
        let encoding = |name: &str, value: Option<&str>, default: Encoding| match value {
            None => Ok(default),
            Some(text) => Encoding::parse(text).ok_or_else(|| {
                invalid(field(name), "expected hex, hex-upper, base64 or base64url")
            }),
        };
        let optional_header = |name: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| header_name(&field(name), v))
                .transpose()
        };
        let pointer = |name: &str, value: &Option<String>| match value {
            Some(p) if !p.starts_with('/') => Err(invalid(
                field(name),
                "a JSON pointer starts with `/`, as in `/data/id`",
            )),
            other => Ok(other.as_deref().map(CustomScheme::leak)),
        };
        let mut custom = CustomScheme::new(
            header_name(&field("header"), header)?,
            algorithm,
            encoding("encoding", self.encoding.as_deref(), Encoding::Hex)?,
        );
        custom.prefix = self.prefix.as_deref().map_or("", CustomScheme::leak);
        custom.layout = self.layout(key)?;
        custom.timestamp_header = optional_header("timestamp_header", &self.timestamp_header)?;
        if let Some(format) = &self.timestamp_format {
            if !custom.has_timestamp() {
                return Err(invalid(
                    field("timestamp_format"),
                    "applies only with timestamp_header or a stamped or leading layout",
                ));
            }
            custom.timestamp_format = TimeFormat::parse(format).ok_or_else(|| {
                invalid(
                    field("timestamp_format"),
                    "expected seconds, milliseconds or iso8601",
                )
            })?;
        }
        custom.key_encoding = match self.key_encoding.as_deref() {
            None | Some("text") => None,
            Some(name) => Some(Encoding::parse(name).ok_or_else(|| {
                invalid(
                    field("key_encoding"),
                    "expected text, hex, base64 or base64url",
                )
            })?),
        };
        custom.key_prefix = self.key_prefix.as_deref().map_or("", CustomScheme::leak);
        custom.id_header = optional_header("id_header", &self.id_header)?;
        custom.id_pointer = pointer("id_pointer", &self.id_pointer)?;
        custom.type_header = optional_header("type_header", &self.type_header)?;
        custom.type_pointer = pointer("type_pointer", &self.type_pointer)?;
        custom.signed = self.signing_string(key, custom.has_timestamp())?;
        custom
            .check()
            .map_err(|why| invalid(field(self.template_key()), why.to_string()))?;
        Ok(custom)
    }

    /// Which key the signing string came from, to name in a refusal.
    fn template_key(&self) -> &'static str {
        match (&self.signing_string, &self.timestamp_separator) {
            (None, Some(_)) => "timestamp_separator",
            _ => "signing_string",
        }
    }

    /// `signing_string` as written; else the older `timestamp_separator`, which means
    /// `{timestamp}<separator>{body}`; else the body, after the timestamp and a dot if there is one.
    fn signing_string(&self, key: &str, timestamp: bool) -> Result<&'static str, Problem> {
        match (&self.signing_string, &self.timestamp_separator) {
            (Some(_), Some(_)) => Err(invalid(
                format!("{key}.timestamp_separator"),
                "set signing_string alone: it says where the timestamp goes",
            )),
            (Some(template), None) => Ok(CustomScheme::leak(template)),
            (None, Some(_)) if !timestamp => Err(invalid(
                format!("{key}.timestamp_separator"),
                "applies only with timestamp_header",
            )),
            (None, Some(separator)) => Ok(CustomScheme::leak(&format!(
                "{{timestamp}}{separator}{{body}}"
            ))),
            (None, None) if timestamp => Ok("{timestamp}.{body}"),
            (None, None) => Ok("{body}"),
        }
    }

    /// `layout`, with its `separator`, `timestamp_key` and `signature_key`.
    fn layout(&self, key: &str) -> Result<Layout, Problem> {
        let field = |name: &str| format!("{key}.{name}");
        let separator = |default: char| {
            self.separator
                .as_deref()
                .map_or(Ok(default), |text| one_char(&field("separator"), text))
        };
        let stamped_only = |name: &str, set: bool| {
            if set {
                Err(invalid(
                    field(name),
                    "applies only with layout = \"stamped\"",
                ))
            } else {
                Ok(())
            }
        };
        let layout = self.layout.as_deref().unwrap_or("plain");
        if layout != "stamped" {
            stamped_only("timestamp_key", self.timestamp_key.is_some())?;
            stamped_only("signature_key", self.signature_key.is_some())?;
        }
        Ok(match layout {
            "plain" => {
                if self.separator.is_some() {
                    return Err(invalid(
                        field("separator"),
                        "a plain layout has one signature: set layout to list, stamped or leading",
                    ));
                }
                Layout::Plain
            }
            "list" => Layout::List {
                separator: separator(' ')?,
            },
            "stamped" => Layout::Stamped {
                separator: separator(',')?,
                timestamp: self
                    .timestamp_key
                    .as_deref()
                    .map_or("t", CustomScheme::leak),
                signature: self
                    .signature_key
                    .as_deref()
                    .map_or("v1", CustomScheme::leak),
            },
            "leading" => Layout::Leading {
                separator: separator(',')?,
            },
            _ => {
                return Err(invalid(
                    field("layout"),
                    "expected plain, list, stamped or leading",
                ));
            }
        })
    }

    /// The `token` scheme: a shared token in `header`, perhaps after `prefix` (`Bearer `).
    pub(super) fn token_scheme(&self, key: &str) -> Result<TokenScheme, Problem> {
        let header = self.header.as_deref().ok_or_else(|| {
            invalid(
                format!("{key}.header"),
                "the token scheme needs the header the token is sent in",
            )
        })?;
        // Of the `hmac` keys, a token takes only where it is and what names the event.
        if let Some(stray) = self
            .hmac_keys()
            .find(|k| !["header", "prefix", "id_header", "type_header"].contains(k))
        {
            return Err(invalid(
                format!("{key}.{stray}"),
                "applies only to scheme \"hmac\", not \"token\"",
            ));
        }
        let optional_header = |field: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| header_name(&format!("{key}.{field}"), v))
                .transpose()
        };
        Ok(TokenScheme {
            header: header_name(&format!("{key}.header"), header)?,
            prefix: self.prefix.as_deref().map_or("", CustomScheme::leak),
            id_header: optional_header("id_header", &self.id_header)?,
            type_header: optional_header("type_header", &self.type_header)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_refused, validated};
    use crate::config::Config;
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    use http::{HeaderMap, HeaderValue};
    use inlet_signature::{Delivery, Encoding, Layout, Scheme, TimeFormat, Window};

    const NOW: i64 = 1_763_816_400;

    fn scheme(config: &Config) -> &Scheme {
        &config.source("a").unwrap().scheme
    }

    fn source(lines: &str) -> String {
        format!(
            "[sources.a]\nscheme = \"hmac\"\nsecrets = [\"env:A\"]\nheader = \"X-Sig\"\n{lines}\n"
        )
    }

    /// HMAC-SHA256 of `message` under `key`, computed here rather than by the scheme.
    fn tag(key: &[u8], message: &str) -> Vec<u8> {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(message.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn verdict(
        scheme: &Scheme,
        secret: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> &'static str {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let key = scheme.key(secret).unwrap();
        let window = Window {
            now: NOW,
            tolerance_secs: 300,
        };
        match scheme.verify(&Delivery::post(&map, body), &[key], window) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn a_stamped_scheme_with_a_template_and_an_encoded_key_is_data() {
        // A provider Inlet lacks, said in config alone: `ts=…;sig=…` with milliseconds, a
        // `v2:` signing string, base64url signatures and a base64 secret after a prefix.
        let config = validated(&source(
            "layout = \"stamped\"\nseparator = \";\"\ntimestamp_key = \"ts\"\n\
             signature_key = \"sig\"\ntimestamp_format = \"milliseconds\"\n\
             signing_string = \"v2:{timestamp}:{body}\"\nencoding = \"base64url\"\n\
             key_encoding = \"base64\"\nkey_prefix = \"sk_\"",
        ))
        .unwrap();
        let Scheme::Hmac(custom) = scheme(&config) else {
            panic!("not hmac")
        };
        assert_eq!(
            custom.layout,
            Layout::Stamped {
                separator: ';',
                timestamp: "ts",
                signature: "sig"
            }
        );
        assert_eq!(custom.timestamp_format, TimeFormat::Millis);
        let key = b"raw key bytes";
        let secret = format!(
            "sk_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        let body = br#"{"id":"evt_1"}"#;
        let millis = NOW * 1000 + 250;
        let signature = Encoding::Base64Url.encode(&tag(
            key,
            &format!("v2:{millis}:{}", std::str::from_utf8(body).unwrap()),
        ));
        let wrong = Encoding::Base64Url.encode(&tag(b"another key", "x"));
        let header = |text: String| [("x-sig", text)];
        let good = format!("ts={millis};sig={wrong};sig={signature}");
        assert_eq!(verdict(scheme(&config), &secret, &header(good), body), "ok");
        let stale = format!("ts={};sig={signature}", millis - 600_000);
        assert_eq!(
            verdict(scheme(&config), &secret, &header(stale), body),
            "timestamp_out_of_tolerance"
        );
        let tampered = format!("ts={millis};sig={signature}");
        assert_eq!(
            verdict(scheme(&config), &secret, &header(tampered), b"{}"),
            "signature_mismatch"
        );
    }

    #[test]
    fn the_older_timestamp_separator_still_means_timestamp_separator_body() {
        let config = validated(&source(
            "timestamp_header = \"X-Ts\"\ntimestamp_separator = \":\"\nencoding = \"hex-upper\"",
        ))
        .unwrap();
        let signature = Encoding::HexUpper.encode(&tag(b"s3cret", &format!("{NOW}:hello")));
        let headers = [("x-sig", signature), ("x-ts", NOW.to_string())];
        assert_eq!(verdict(scheme(&config), "s3cret", &headers, b"hello"), "ok");
        let Scheme::Hmac(custom) = scheme(&config) else {
            panic!("not hmac")
        };
        assert_eq!(custom.signed, "{timestamp}:{body}");
    }

    #[test]
    fn a_signing_string_over_the_url_needs_the_url() {
        assert_refused(&source("signing_string = \"{url}{body}\""), "sources.a.url");
        let config = validated(&source(
            "signing_string = \"{url}{body}\"\nurl = \"https://hooks.example.com/webhooks/a\"",
        ))
        .unwrap();
        assert!(scheme(&config).signs_url());
    }

    #[test]
    fn every_refusal_of_a_data_scheme_names_its_key() {
        for (lines, key) in [
            ("signing_string = \"{timestamp}.{body}\"", "signing_string"),
            ("signing_string = \"{body}{body}\"", "signing_string"),
            ("signing_string = \"{nonce}{body}\"", "signing_string"),
            ("signing_string = \"{id}.{body}\"", "signing_string"),
            (
                "timestamp_header = \"X-Ts\"\nsigning_string = \"{body}\"",
                "signing_string",
            ),
            (
                "timestamp_header = \"X-Ts\"\ntimestamp_separator = \":\"\nsigning_string = \"{timestamp}{body}\"",
                "timestamp_separator",
            ),
            ("timestamp_format = \"seconds\"", "timestamp_format"),
            (
                "timestamp_header = \"X-Ts\"\ntimestamp_format = \"fortnights\"",
                "timestamp_format",
            ),
            ("layout = \"zigzag\"", "layout"),
            ("separator = \",\"", "separator"),
            ("layout = \"list\"\nseparator = \", \"", "separator"),
            ("timestamp_key = \"t\"", "timestamp_key"),
            ("layout = \"list\"\nsignature_key = \"v1\"", "signature_key"),
            ("key_encoding = \"rot13\"", "key_encoding"),
            ("encoding = \"base32\"", "encoding"),
            (
                "layout = \"stamped\"\ntimestamp_header = \"X-Ts\"",
                "signing_string",
            ),
        ] {
            assert_refused(&source(lines), &format!("sources.a.{key}"));
        }
        // The data keys belong to `hmac`: a named provider or a token refuses each by name.
        for key in [
            "layout = \"list\"",
            "signing_string = \"{body}\"",
            "key_prefix = \"x\"",
        ] {
            let name = key.split(' ').next().unwrap();
            assert_refused(
                &format!("[sources.a]\nscheme = \"github\"\nsecrets = [\"env:A\"]\n{key}\n"),
                &format!("sources.a.{name}"),
            );
            assert_refused(
                &format!(
                    "[sources.a]\nscheme = \"token\"\nsecrets = [\"env:A\"]\nheader = \"X-T\"\n{key}\n"
                ),
                &format!("sources.a.{name}"),
            );
        }
    }
}
