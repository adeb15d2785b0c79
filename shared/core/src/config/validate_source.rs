//! Validation of one `[sources.<name>]`: its name, its scheme (with the `hmac` scheme's own
//! keys), secrets, URL, limits, allowed addresses and event filter.

use super::error::{Problem, invalid};
use super::event_filter::EventFilter;
use super::raw::RawSource;
use super::schemas::SourceSchemas;
use super::secret_ref::SecretRef;
use super::url::validate_url;
use super::validate::{check_body_limit, check_tolerance};
use super::{Defaults, Source};
use inlet_signature::Scheme;
use ipnet::IpNet;
use std::net::IpAddr;

/// The name is the URL path segment: short, and nothing that needs escaping or differs by case.
fn valid_source_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl RawSource {
    pub(super) fn validate(self, name: &str, defaults: &Defaults) -> Result<Source, Problem> {
        let key = format!("sources.{name}");
        if !valid_source_name(name) {
            return Err(invalid(
                &key,
                "a source name is 1 to 64 of a-z, 0-9, `-` and `_` (it is the URL path segment)",
            ));
        }
        let scheme = self.scheme(&key)?;
        self.check_signing(&key, &scheme)?;
        let mut secrets = Vec::with_capacity(self.secrets.len());
        for (i, text) in self.secrets.iter().enumerate() {
            secrets.push(
                SecretRef::parse(text)
                    .map_err(|why| invalid(format!("{key}.secrets[{i}]"), why))?,
            );
        }
        self.check_url(&key, &scheme)?;
        let handshake_secret = self.handshake_secret(&key, &scheme)?;
        if scheme.enrols_secret()
            && !matches!(
                secrets.first(),
                Some(SecretRef::SecretsManager { json_key: None, .. })
            )
        {
            return Err(invalid(
                format!("{key}.secrets[0]"),
                format!(
                    "scheme \"{}\" is handed its signing secret by a handshake: reference a \
                     Secrets Manager secret the ingest function may write (secretsmanager:<name>, \
                     no #json-key)",
                    self.scheme
                ),
            ));
        }

        let tolerance_secs = self.tolerance_secs.unwrap_or(defaults.tolerance_secs);
        check_tolerance(&format!("{key}.tolerance_secs"), tolerance_secs)?;
        let max_body_bytes = self.max_body_bytes.unwrap_or(defaults.max_body_bytes);
        check_body_limit(&format!("{key}.max_body_bytes"), max_body_bytes)?;

        let mut allow_ips = Vec::with_capacity(self.allow_ips.len());
        for (i, text) in self.allow_ips.iter().enumerate() {
            // A bare address is a network of one.
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    invalid(
                        format!("{key}.allow_ips[{i}]"),
                        "expected an IP address or CIDR block",
                    )
                })?;
            allow_ips.push(net);
        }
        let events = self
            .events
            .map(|e| EventFilter::parse(&format!("{key}.events"), e))
            .transpose()?;
        let schemas = SourceSchemas::validate(&key, self.schemas, self.on_invalid)?;
        Ok(Source {
            name: name.to_owned(),
            scheme,
            secrets,
            events,
            tolerance_secs,
            max_body_bytes,
            allow_ips,
            url: self.url,
            handshake_secret,
            schemas,
        })
    }

    /// Providers whose handshake has a secret of its own need it; no other source may set one,
    /// since it would do nothing.
    fn handshake_secret(&self, key: &str, scheme: &Scheme) -> Result<Option<SecretRef>, Problem> {
        let field = format!("{key}.handshake_secret");
        match (&self.handshake_secret, scheme.needs_handshake_secret()) {
            (Some(text), true) => SecretRef::parse(text)
                .map(Some)
                .map_err(|why| invalid(field, why)),
            (None, true) => Err(invalid(
                field,
                format!(
                    "scheme \"{}\" checks its handshake with a secret of its own: set a reference to it",
                    self.scheme
                ),
            )),
            (Some(_), false) => Err(invalid(
                field,
                format!("scheme \"{}\" has no handshake secret", self.scheme),
            )),
            (None, false) => Ok(None),
        }
    }

    /// The named scheme, or the `hmac` scheme built from this source's keys. Those keys are
    /// refused with any other scheme: they would be silently ignored.
    fn scheme(&self, key: &str) -> Result<Scheme, Problem> {
        if self.scheme == "hmac" {
            return Ok(Scheme::Hmac(Box::new(self.custom_scheme(key)?)));
        }
        if self.scheme == "token" {
            return Ok(Scheme::Token(Box::new(self.token_scheme(key)?)));
        }
        if let Some(entry) = inlet_signature::unsupported::find(&self.scheme) {
            return Err(invalid(
                format!("{key}.scheme"),
                format!(
                    "{} is not supported: {} ({})",
                    entry.title, entry.why, entry.docs
                ),
            ));
        }
        let scheme = Scheme::named(&self.scheme).ok_or_else(|| {
            invalid(
                format!("{key}.scheme"),
                format!(
                    "unknown scheme `{}`; expected hmac, token, none or a provider \
                     (`inlet providers` describes each): {}",
                    self.scheme,
                    inlet_signature::registry::names()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        if let Some(stray) = self.hmac_keys().next() {
            return Err(invalid(
                format!("{key}.{stray}"),
                format!("applies only to scheme \"hmac\", not \"{}\"", self.scheme),
            ));
        }
        Ok(scheme)
    }

    /// Unsigned sources must say so, and signed ones need a secret to check against.
    fn check_signing(&self, key: &str, scheme: &Scheme) -> Result<(), Problem> {
        if *scheme == Scheme::None {
            if !self.allow_unsigned {
                return Err(invalid(
                    format!("{key}.allow_unsigned"),
                    "scheme \"none\" accepts anyone's deliveries: set allow_unsigned = true to mean it",
                ));
            }
            if !self.secrets.is_empty() {
                return Err(invalid(
                    format!("{key}.secrets"),
                    "an unsigned source has no secrets",
                ));
            }
        } else {
            if self.allow_unsigned {
                return Err(invalid(
                    format!("{key}.allow_unsigned"),
                    "applies only to scheme \"none\"",
                ));
            }
            if self.secrets.is_empty() {
                return Err(invalid(
                    format!("{key}.secrets"),
                    "a signed source needs at least one secret reference",
                ));
            }
        }
        Ok(())
    }

    /// Schemes that sign the public URL need it exactly as the provider has it; others must not
    /// have one, since it would do nothing.
    fn check_url(&self, key: &str, scheme: &Scheme) -> Result<(), Problem> {
        match (&self.url, scheme.signs_url()) {
            (None, true) => Err(invalid(
                format!("{key}.url"),
                format!(
                    "scheme \"{}\" signs the public URL: set it to the URL the provider posts to",
                    self.scheme
                ),
            )),
            (Some(url), true) => validate_url(&format!("{key}.url"), url),
            (Some(_), false) => Err(invalid(
                format!("{key}.url"),
                format!("scheme \"{}\" does not sign the URL", self.scheme),
            )),
            (None, false) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_refused, validated};
    use super::*;
    use crate::config::MAX_BODY_BYTES;
    use inlet_signature::{Algorithm, Encoding};

    #[test]
    fn a_minimal_source_takes_the_defaults() {
        let config =
            validated("[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n").unwrap();
        let source = config.source("github").unwrap();
        assert_eq!(source.name, "github");
        assert_eq!(source.scheme, Scheme::named("github").unwrap());
        assert_eq!(source.tolerance_secs, 300);
        assert_eq!(source.max_body_bytes, MAX_BODY_BYTES);
        assert_eq!(source.secrets, vec![SecretRef::Env("GH".into())]);
        assert!(source.events.is_none());
        assert!(source.allow_ips.is_empty());
        assert!(source.url.is_none());
    }

    #[test]
    fn sources_take_the_defaults_section_unless_they_override_it() {
        let config = validated(
            "[defaults]\ntolerance_secs = 60\nmax_body_bytes = 4096\n\
             [sources.a]\nscheme = \"github\"\nsecrets = [\"env:A\"]\n\
             [sources.b]\nscheme = \"slack\"\nsecrets = [\"env:B\"]\ntolerance_secs = 30\n",
        )
        .unwrap();
        let (a, b) = (config.source("a").unwrap(), config.source("b").unwrap());
        assert_eq!((a.tolerance_secs, a.max_body_bytes), (60, 4096));
        assert_eq!((b.tolerance_secs, b.max_body_bytes), (30, 4096));
    }

    #[test]
    fn hmac_sources_are_typed() {
        let text = r#"
[sources.crm]
scheme = "hmac"
header = "X-Signature"
algorithm = "sha512"
encoding = "base64"
prefix = "sha512="
timestamp_header = "X-Timestamp"
timestamp_separator = ":"
id_pointer = "/data/id"
type_header = "X-Event"
secrets = ["env:CRM_SECRET", "secretsmanager:inlet/crm#next"]
allow_ips = ["203.0.113.0/24", "2001:db8::1"]
events = ["contact.*"]
"#;
        let config = validated(text).unwrap();
        let crm = config.source("crm").unwrap();
        let Scheme::Hmac(custom) = &crm.scheme else {
            panic!("not hmac")
        };
        assert_eq!(custom.algorithm, Algorithm::Sha512);
        assert_eq!(custom.encoding, Encoding::Base64);
        assert_eq!(custom.header, "x-signature");
        assert_eq!(custom.prefix, "sha512=");
        assert_eq!(custom.timestamp_header, Some("x-timestamp"));
        assert_eq!(custom.signed, "{timestamp}:{body}");
        assert_eq!(custom.id_pointer, Some("/data/id"));
        assert_eq!(custom.type_header, Some("x-event"));
        assert_eq!(crm.secrets.len(), 2);
        assert_eq!(crm.allow_ips.len(), 2);
        assert!(crm.ip_allowed(Some("2001:db8::1".parse().unwrap())));
        assert!(crm.events.as_ref().unwrap().allows(Some("contact.created")));
    }

    #[test]
    fn url_signing_schemes_keep_their_url() {
        let config = validated(
            "[sources.sms]\nscheme = \"twilio\"\nsecrets = [\"env:T\"]\n\
             url = \"https://hooks.example.com/webhooks/sms\"\n",
        )
        .unwrap();
        assert_eq!(
            config.source("sms").unwrap().url.as_deref(),
            Some("https://hooks.example.com/webhooks/sms")
        );
    }

    #[test]
    fn an_unsigned_source_must_mean_it() {
        let config =
            validated("[sources.open]\nscheme = \"none\"\nallow_unsigned = true\n").unwrap();
        let open = config.source("open").unwrap();
        assert_eq!(open.scheme, Scheme::None);
        assert!(open.secrets.is_empty());
    }

    #[test]
    fn every_refusal_in_a_source_names_the_offending_key() {
        let source = |lines: &str| format!("[sources.a]\n{lines}\n");
        let github = |lines: &str| {
            source(&format!(
                "scheme = \"github\"\nsecrets = [\"env:A\"]\n{lines}"
            ))
        };
        let hmac = |lines: &str| {
            source(&format!(
                "scheme = \"hmac\"\nsecrets = [\"env:A\"]\nheader = \"X-Sig\"\n{lines}"
            ))
        };
        let cases = [
            (github("colour = \"red\""), "colour"),
            (
                source("scheme = \"aws-sns\"\nsecrets = [\"env:A\"]"),
                "sources.a.scheme",
            ),
            (
                source("scheme = \"gitlub\"\nsecrets = [\"env:A\"]"),
                "sources.a.scheme",
            ),
            (source("scheme = \"github\""), "sources.a.secrets"),
            (
                source("scheme = \"github\"\nsecrets = [\"\"]"),
                "sources.a.secrets[0]",
            ),
            (
                source("scheme = \"github\"\nsecrets = [\"hunter2\"]"),
                "sources.a.secrets[0]",
            ),
            (
                source("scheme = \"github\"\nsecrets = [\"env:A\", \"env:\"]"),
                "sources.a.secrets[1]",
            ),
            (source("scheme = \"none\""), "sources.a.allow_unsigned"),
            (
                source("scheme = \"none\"\nallow_unsigned = true\nsecrets = [\"env:A\"]"),
                "sources.a.secrets",
            ),
            (github("allow_unsigned = true"), "sources.a.allow_unsigned"),
            (github("header = \"X-Sig\""), "sources.a.header"),
            (github("type_pointer = \"/type\""), "sources.a.type_pointer"),
            (
                source("scheme = \"hmac\"\nsecrets = [\"env:A\"]"),
                "sources.a.header",
            ),
            (
                source("scheme = \"hmac\"\nsecrets = [\"env:A\"]\nheader = \"X Sig\""),
                "sources.a.header",
            ),
            (hmac("algorithm = \"md5\""), "sources.a.algorithm"),
            (hmac("encoding = \"base32\""), "sources.a.encoding"),
            (
                hmac("timestamp_separator = \":\""),
                "sources.a.timestamp_separator",
            ),
            (
                hmac("timestamp_header = \"\""),
                "sources.a.timestamp_header",
            ),
            (hmac("id_pointer = \"data.id\""), "sources.a.id_pointer"),
            (hmac("type_pointer = \"type\""), "sources.a.type_pointer"),
            (
                source("scheme = \"twilio\"\nsecrets = [\"env:A\"]"),
                "sources.a.url",
            ),
            (
                source("scheme = \"square\"\nsecrets = [\"env:A\"]\nurl = \"hooks.example.com\""),
                "sources.a.url",
            ),
            (
                github("url = \"https://hooks.example.com\""),
                "sources.a.url",
            ),
            (
                github("allow_ips = [\"10.0.0.0/33\"]"),
                "sources.a.allow_ips[0]",
            ),
            (github("tolerance_secs = 0"), "sources.a.tolerance_secs"),
            (
                github("max_body_bytes = 4669441"),
                "sources.a.max_body_bytes",
            ),
            (github("events = []"), "sources.a.events"),
            (github("events = [\"push\", \"\"]"), "sources.a.events[1]"),
            (
                "[sources.A]\nscheme = \"github\"\nsecrets = [\"env:A\"]\n".to_owned(),
                "sources.A",
            ),
            (
                "[sources.\"a/b\"]\nscheme = \"github\"\nsecrets = [\"env:A\"]\n".to_owned(),
                "sources.a/b",
            ),
        ];
        for (text, key) in cases {
            assert_refused(&text, key);
        }
        let long = "a".repeat(65);
        assert_refused(
            &format!("[sources.{long}]\nscheme = \"github\"\nsecrets = [\"env:A\"]\n"),
            &format!("sources.{long}"),
        );
    }

    #[test]
    fn every_provider_of_the_registry_is_a_valid_source() {
        // One source per provider, each with what it needs: a big configuration, too.
        let mut text = String::new();
        for provider in inlet_signature::registry::all() {
            let scheme = Scheme::Provider(provider);
            // A secret a handshake hands over is kept where the ingest function may write it.
            let secret = if scheme.enrols_secret() {
                "secretsmanager:inlet/enrolled"
            } else {
                "env:S"
            };
            text.push_str(&format!(
                "[sources.{}]\nscheme = \"{}\"\nsecrets = [\"{secret}\"]\n",
                provider.name.replace('-', "_"),
                provider.name
            ));
            if scheme.signs_url() {
                text.push_str("url = \"https://hooks.example.com/webhooks/x\"\n");
            }
            if scheme.needs_handshake_secret() {
                text.push_str("handshake_secret = \"env:H\"\n");
            }
        }
        let config = validated(&text).unwrap();
        assert_eq!(config.sources.len(), inlet_signature::registry::all().len());
    }

    #[test]
    fn a_handshake_secret_is_required_where_the_provider_has_one_and_refused_elsewhere() {
        assert_refused(
            "[sources.m]\nscheme = \"meta\"\nsecrets = [\"env:A\"]\n",
            "sources.m.handshake_secret",
        );
        assert_refused(
            "[sources.g]\nscheme = \"github\"\nsecrets = [\"env:A\"]\nhandshake_secret = \"env:B\"\n",
            "sources.g.handshake_secret",
        );
        assert_refused(
            "[sources.m]\nscheme = \"meta\"\nsecrets = [\"env:A\"]\nhandshake_secret = \"plain\"\n",
            "sources.m.handshake_secret",
        );
    }

    #[test]
    fn the_token_scheme_takes_a_header_and_refuses_hmac_settings() {
        let config = validated(
            "[sources.t]\nscheme = \"token\"\nheader = \"X-Api-Key\"\nprefix = \"Bearer \"\nsecrets = [\"env:A\"]\n",
        )
        .unwrap();
        let Scheme::Token(token) = &config.source("t").unwrap().scheme else {
            panic!("not a token scheme")
        };
        assert_eq!((token.header, token.prefix), ("x-api-key", "Bearer "));
        assert_refused(
            "[sources.t]\nscheme = \"token\"\nsecrets = [\"env:A\"]\n",
            "sources.t.header",
        );
        assert_refused(
            "[sources.t]\nscheme = \"token\"\nheader = \"X-Api-Key\"\nalgorithm = \"sha1\"\nsecrets = [\"env:A\"]\n",
            "sources.t.algorithm",
        );
    }

    #[test]
    fn a_secret_a_handshake_hands_over_must_be_writable() {
        for secrets in ["[\"env:A\"]", "[\"secretsmanager:inlet/asana#key\"]"] {
            assert_refused(
                &format!(
                    "[sources.a]\nscheme = \"asana\"\nsecrets = {secrets}\nhandshake_secret = \"env:E\"\n"
                ),
                "sources.a.secrets[0]",
            );
        }
        validated(
            "[sources.a]\nscheme = \"asana\"\nsecrets = [\"secretsmanager:inlet/asana\"]\nhandshake_secret = \"env:E\"\n",
        )
        .unwrap();
    }
}
