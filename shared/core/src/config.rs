//! `inlet.toml`: typed, validated, fail-closed.
//!
//! Parsing is two steps: serde reads the TOML into raw structs that reject unknown keys, then
//! validation turns them into the types the pipelines use, naming the offending key on failure.
//! Secrets never appear here, only references to where they live.

use http::HeaderName;
use inlet_signature::{Algorithm, CustomScheme, Encoding, Scheme};
use ipnet::IpNet;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// SQS accepts messages of at most 1 MiB, so no body beyond that could ever be queued.
pub const QUEUE_MESSAGE_LIMIT: usize = 1024 * 1024;

/// Why a config was refused. The message always names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("inlet.toml: {0}")]
    Syntax(String),
    #[error("inlet.toml: `{key}`: {why}")]
    Invalid { key: String, why: String },
    #[error("cannot read the config: {0}")]
    Read(String),
}

fn invalid(key: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        why: why.into(),
    }
}

/// Where a secret lives. The value itself is resolved at start-up, never written in the config.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    SecretsManager {
        id: String,
        json_key: Option<String>,
    },
}

impl SecretRef {
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(name) = text.strip_prefix("env:") {
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err("`env:` needs a variable name of letters, digits and `_`".into());
            }
            return Ok(Self::Env(name.to_owned()));
        }
        if let Some(rest) = text.strip_prefix("secretsmanager:") {
            let (id, json_key) = match rest.split_once('#') {
                Some((id, key)) if !key.is_empty() => (id, Some(key.to_owned())),
                Some(_) => return Err("`#` must be followed by a JSON key".into()),
                None => (rest, None),
            };
            if id.is_empty() {
                return Err("`secretsmanager:` needs a secret name or ARN".into());
            }
            return Ok(Self::SecretsManager {
                id: id.to_owned(),
                json_key,
            });
        }
        if text.is_empty() {
            return Err("empty secret reference".into());
        }
        Err(
            "a secret must be a reference, `env:NAME` or `secretsmanager:NAME[#key]`, \
             never the value itself"
                .into(),
        )
    }
}

/// The reference is not secret, but printing it beside values is a habit worth not forming.
impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::SecretsManager { id, json_key } => match json_key {
                Some(key) => write!(f, "secretsmanager:{id}#{key}"),
                None => write!(f, "secretsmanager:{id}"),
            },
        }
    }
}

/// Event types a source or route wants: exact names, or prefixes ending in `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter(Vec<String>);

impl EventFilter {
    fn parse(key: &str, names: Vec<String>) -> Result<Self, ConfigError> {
        if names.is_empty() {
            return Err(invalid(
                key,
                "an empty list would drop every event: omit the key instead",
            ));
        }
        for (i, name) in names.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(invalid(format!("{key}[{i}]"), "empty event name"));
            }
        }
        Ok(Self(names))
    }

    /// Whether an event of this type passes. An event with no type passes only a `*` filter.
    pub fn allows(&self, event_type: Option<&str>) -> bool {
        self.0.iter().any(|wanted| match wanted.strip_suffix('*') {
            Some(prefix) => event_type.is_some_and(|t| t.starts_with(prefix)),
            None => event_type == Some(wanted.as_str()),
        })
    }
}

/// A configured webhook source.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub scheme: Scheme,
    pub secrets: Vec<SecretRef>,
    pub events: Option<EventFilter>,
    pub tolerance_secs: u64,
    pub max_body_bytes: usize,
    pub allow_ips: Vec<IpNet>,
    /// The public URL providers post to, for schemes that sign it.
    pub url: Option<String>,
}

impl Source {
    pub fn ip_allowed(&self, ip: Option<IpAddr>) -> bool {
        if self.allow_ips.is_empty() {
            return true;
        }
        ip.is_some_and(|ip| self.allow_ips.iter().any(|net| net.contains(&ip)))
    }
}

/// What process does with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Forward {
        url: String,
        secret: SecretRef,
        timeout_ms: u64,
    },
    Log,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub source: String,
    pub events: Option<EventFilter>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub tolerance_secs: u64,
    pub max_body_bytes: usize,
    /// How long a secret from Secrets Manager is used before it is fetched again.
    pub secret_refresh_secs: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            tolerance_secs: 300,
            max_body_bytes: QUEUE_MESSAGE_LIMIT,
            secret_refresh_secs: 300,
        }
    }
}

/// The whole validated config.
#[derive(Debug, Clone)]
pub struct Config {
    pub defaults: Defaults,
    pub sources: BTreeMap<String, Source>,
    pub routes: Vec<Route>,
    pub process: ProcessSettings,
}

/// Tunables, from `[process]` in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    /// Records (or lanes) in flight at once.
    pub concurrency: usize,
    /// How long a completed key is remembered (the table's TTL).
    pub record_ttl_secs: i64,
    /// Backoff of a retried record: base × 2^(receive count − 1), at most the cap.
    pub retry_base_secs: u32,
    pub retry_max_secs: u32,
    /// Added to the function's deadline for the claim's lease.
    pub lease_margin_secs: i64,
}

impl Default for ProcessSettings {
    fn default() -> Self {
        Self {
            concurrency: 10,
            record_ttl_secs: 7 * 24 * 3600,
            retry_base_secs: 5,
            retry_max_secs: 900,
            lease_margin_secs: 10,
        }
    }
}

impl ProcessSettings {
    /// The visibility timeout for a record's next try.
    pub fn backoff_secs(&self, receive_count: u32) -> u32 {
        let doublings = receive_count.saturating_sub(1).min(20);
        self.retry_base_secs
            .saturating_mul(1 << doublings)
            .min(self.retry_max_secs)
            // SQS allows at most 12 hours.
            .min(43_200)
    }
}

// ---- raw TOML shape ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    sources: BTreeMap<String, RawSource>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    process: RawProcess,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    concurrency: Option<usize>,
    record_ttl_secs: Option<i64>,
    retry_base_secs: Option<u32>,
    retry_max_secs: Option<u32>,
}

impl RawProcess {
    fn validate(self) -> Result<ProcessSettings, ConfigError> {
        let base = ProcessSettings::default();
        let settings = ProcessSettings {
            concurrency: self.concurrency.unwrap_or(base.concurrency),
            record_ttl_secs: self.record_ttl_secs.unwrap_or(base.record_ttl_secs),
            retry_base_secs: self.retry_base_secs.unwrap_or(base.retry_base_secs),
            retry_max_secs: self.retry_max_secs.unwrap_or(base.retry_max_secs),
            lease_margin_secs: base.lease_margin_secs,
        };
        if !(1..=100).contains(&settings.concurrency) {
            return Err(invalid("process.concurrency", "must be between 1 and 100"));
        }
        if settings.record_ttl_secs < 3600 {
            return Err(invalid(
                "process.record_ttl_secs",
                "must be at least 3600: keys must outlive every provider's retries",
            ));
        }
        if settings.retry_base_secs == 0 || settings.retry_max_secs > 43_200 {
            return Err(invalid(
                "process.retry_base_secs",
                "the base must be at least 1 and the cap (retry_max_secs) at most 43200 (SQS's limit)",
            ));
        }
        if settings.retry_max_secs < settings.retry_base_secs {
            return Err(invalid(
                "process.retry_max_secs",
                "must be at least retry_base_secs",
            ));
        }
        Ok(settings)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    tolerance_secs: Option<u64>,
    max_body_bytes: Option<usize>,
    secret_refresh_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    scheme: String,
    #[serde(default)]
    secrets: Vec<String>,
    events: Option<Vec<String>>,
    tolerance_secs: Option<u64>,
    max_body_bytes: Option<usize>,
    #[serde(default)]
    allow_ips: Vec<String>,
    #[serde(default)]
    allow_unsigned: bool,
    url: Option<String>,
    // `hmac` only
    header: Option<String>,
    algorithm: Option<String>,
    encoding: Option<String>,
    prefix: Option<String>,
    timestamp_header: Option<String>,
    timestamp_separator: Option<String>,
    id_header: Option<String>,
    id_pointer: Option<String>,
    type_header: Option<String>,
    type_pointer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    source: String,
    events: Option<Vec<String>>,
    action: RawAction,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "lowercase")]
enum RawAction {
    Forward {
        url: String,
        secret: String,
        timeout_ms: Option<u64>,
    },
    Log,
}

const MAX_TOLERANCE_SECS: u64 = 24 * 3600;
const MAX_TIMEOUT_MS: u64 = 60_000;

impl Config {
    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| ConfigError::Syntax(e.to_string().trim().to_owned()))?;
        raw.validate()
    }

    /// Reads the config as the functions do: `INLET_CONFIG` (the TOML text) or `INLET_CONFIG_FILE`
    /// (a path), else `inlet.toml` beside the binary.
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Ok(text) = std::env::var("INLET_CONFIG") {
            return Self::parse(&text);
        }
        let path = match std::env::var("INLET_CONFIG_FILE") {
            Ok(path) => std::path::PathBuf::from(path),
            Err(_) => std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|dir| dir.join("inlet.toml")))
                .ok_or_else(|| ConfigError::Read("no INLET_CONFIG or INLET_CONFIG_FILE".into()))?,
        };
        Self::load(&path)
    }

    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read(format!("{}: {e}", path.display())))?;
        Self::parse(&text)
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.get(name)
    }

    /// Every distinct secret reference, for resolving them all at start-up.
    pub fn secret_refs(&self) -> impl Iterator<Item = &SecretRef> {
        let route_secrets = self.routes.iter().filter_map(|r| match &r.action {
            Action::Forward { secret, .. } => Some(secret),
            Action::Log => None,
        });
        self.sources
            .values()
            .flat_map(|s| s.secrets.iter())
            .chain(route_secrets)
    }
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
        let defaults = self.defaults.validate()?;
        if self.sources.is_empty() {
            return Err(invalid("sources", "at least one source is needed"));
        }
        let mut sources = BTreeMap::new();
        for (name, raw) in self.sources {
            let source = raw.validate(&name, &defaults)?;
            sources.insert(name, source);
        }
        let mut routes = Vec::with_capacity(self.routes.len());
        for (i, raw) in self.routes.into_iter().enumerate() {
            let key = format!("routes[{i}]");
            if !sources.contains_key(&raw.source) {
                return Err(invalid(
                    format!("{key}.source"),
                    format!("no source named `{}`", raw.source),
                ));
            }
            let events = raw
                .events
                .map(|e| EventFilter::parse(&format!("{key}.events"), e))
                .transpose()?;
            let action = match raw.action {
                RawAction::Forward {
                    url,
                    secret,
                    timeout_ms,
                } => {
                    validate_url(&format!("{key}.action.url"), &url)?;
                    let secret = SecretRef::parse(&secret)
                        .map_err(|why| invalid(format!("{key}.action.secret"), why))?;
                    let timeout_ms = timeout_ms.unwrap_or(5000);
                    if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
                        return Err(invalid(
                            format!("{key}.action.timeout_ms"),
                            format!("must be between 1 and {MAX_TIMEOUT_MS}"),
                        ));
                    }
                    Action::Forward {
                        url,
                        secret,
                        timeout_ms,
                    }
                }
                RawAction::Log => Action::Log,
            };
            routes.push(Route {
                source: raw.source,
                events,
                action,
            });
        }
        Ok(Config {
            defaults,
            sources,
            routes,
            process: self.process.validate()?,
        })
    }
}

impl RawDefaults {
    fn validate(self) -> Result<Defaults, ConfigError> {
        let base = Defaults::default();
        let defaults = Defaults {
            tolerance_secs: self.tolerance_secs.unwrap_or(base.tolerance_secs),
            max_body_bytes: self.max_body_bytes.unwrap_or(base.max_body_bytes),
            secret_refresh_secs: self.secret_refresh_secs.unwrap_or(base.secret_refresh_secs),
        };
        check_tolerance("defaults.tolerance_secs", defaults.tolerance_secs)?;
        check_body_limit("defaults.max_body_bytes", defaults.max_body_bytes)?;
        if defaults.secret_refresh_secs == 0 {
            return Err(invalid(
                "defaults.secret_refresh_secs",
                "must be at least 1",
            ));
        }
        Ok(defaults)
    }
}

fn check_tolerance(key: &str, secs: u64) -> Result<(), ConfigError> {
    if secs == 0 || secs > MAX_TOLERANCE_SECS {
        return Err(invalid(
            key,
            format!("must be between 1 and {MAX_TOLERANCE_SECS} seconds"),
        ));
    }
    Ok(())
}

fn check_body_limit(key: &str, bytes: usize) -> Result<(), ConfigError> {
    if bytes == 0 || bytes > QUEUE_MESSAGE_LIMIT {
        return Err(invalid(
            key,
            format!("must be between 1 and {QUEUE_MESSAGE_LIMIT} (the queue's message limit)"),
        ));
    }
    Ok(())
}

fn validate_url(key: &str, text: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(text).map_err(|e| invalid(key, format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(invalid(key, "must be an http(s) URL with a host"));
    }
    Ok(())
}

fn header_name(key: &str, text: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::try_from(text.to_ascii_lowercase())
        .map_err(|_| invalid(key, "not a valid header name"))
}

fn valid_source_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl RawSource {
    /// Keys that only the `hmac` scheme reads, by name, for a clear error elsewhere.
    fn hmac_keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("header", self.header.is_some()),
            ("algorithm", self.algorithm.is_some()),
            ("encoding", self.encoding.is_some()),
            ("prefix", self.prefix.is_some()),
            ("timestamp_header", self.timestamp_header.is_some()),
            ("timestamp_separator", self.timestamp_separator.is_some()),
            ("id_header", self.id_header.is_some()),
            ("id_pointer", self.id_pointer.is_some()),
            ("type_header", self.type_header.is_some()),
            ("type_pointer", self.type_pointer.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
    }

    fn custom_scheme(&self, key: &str) -> Result<CustomScheme, ConfigError> {
        let header = self.header.as_deref().ok_or_else(|| {
            invalid(
                format!("{key}.header"),
                "the hmac scheme needs the signature header",
            )
        })?;
        let algorithm = match self.algorithm.as_deref() {
            None => Algorithm::Sha256,
            Some(name) => Algorithm::parse(name).ok_or_else(|| {
                invalid(
                    format!("{key}.algorithm"),
                    "expected sha1, sha256 or sha512",
                )
            })?,
        };
        let encoding = match self.encoding.as_deref() {
            None => Encoding::Hex,
            Some(name) => Encoding::parse(name)
                .ok_or_else(|| invalid(format!("{key}.encoding"), "expected hex or base64"))?,
        };
        let optional_header = |field: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| header_name(&format!("{key}.{field}"), v))
                .transpose()
        };
        let pointer =
            |field: &str, value: &Option<String>| -> Result<Option<String>, ConfigError> {
                match value {
                    Some(p) if !p.starts_with('/') => Err(invalid(
                        format!("{key}.{field}"),
                        "a JSON pointer starts with `/`, as in `/data/id`",
                    )),
                    other => Ok(other.clone()),
                }
            };
        let mut custom = CustomScheme::new(
            header_name(&format!("{key}.header"), header)?,
            algorithm,
            encoding,
        );
        custom.prefix = self.prefix.clone().unwrap_or_default();
        custom.timestamp_header = optional_header("timestamp_header", &self.timestamp_header)?;
        if let Some(separator) = &self.timestamp_separator {
            if custom.timestamp_header.is_none() {
                return Err(invalid(
                    format!("{key}.timestamp_separator"),
                    "applies only with timestamp_header",
                ));
            }
            custom.timestamp_separator.clone_from(separator);
        }
        custom.id_header = optional_header("id_header", &self.id_header)?;
        custom.id_pointer = pointer("id_pointer", &self.id_pointer)?;
        custom.type_header = optional_header("type_header", &self.type_header)?;
        custom.type_pointer = pointer("type_pointer", &self.type_pointer)?;
        Ok(custom)
    }

    fn validate(self, name: &str, defaults: &Defaults) -> Result<Source, ConfigError> {
        let key = format!("sources.{name}");
        if !valid_source_name(name) {
            return Err(invalid(
                &key,
                "a source name is 1 to 64 of a-z, 0-9, `-` and `_` (it is the URL path segment)",
            ));
        }
        let scheme = if self.scheme == "hmac" {
            Scheme::Hmac(Box::new(self.custom_scheme(&key)?))
        } else {
            let scheme = Scheme::named(&self.scheme).ok_or_else(|| {
                invalid(
                    format!("{key}.scheme"),
                    format!(
                        "unknown scheme `{}`; expected one of {}, hmac, none",
                        self.scheme,
                        inlet_signature::NAMED_SCHEMES.join(", ")
                    ),
                )
            })?;
            if let Some(stray) = self.hmac_keys().next() {
                return Err(invalid(
                    format!("{key}.{stray}"),
                    format!("applies only to scheme \"hmac\", not \"{}\"", self.scheme),
                ));
            }
            scheme
        };

        if scheme == Scheme::None {
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
        let mut secrets = Vec::with_capacity(self.secrets.len());
        for (i, text) in self.secrets.iter().enumerate() {
            secrets.push(
                SecretRef::parse(text)
                    .map_err(|why| invalid(format!("{key}.secrets[{i}]"), why))?,
            );
        }

        match (&self.url, scheme.signs_url()) {
            (None, true) => {
                return Err(invalid(
                    format!("{key}.url"),
                    format!(
                        "scheme \"{}\" signs the public URL: set it to the URL the provider posts to",
                        self.scheme
                    ),
                ));
            }
            (Some(url), true) => validate_url(&format!("{key}.url"), url)?,
            (Some(_), false) => {
                return Err(invalid(
                    format!("{key}.url"),
                    format!("scheme \"{}\" does not sign the URL", self.scheme),
                ));
            }
            (None, false) => {}
        }

        let tolerance_secs = self.tolerance_secs.unwrap_or(defaults.tolerance_secs);
        check_tolerance(&format!("{key}.tolerance_secs"), tolerance_secs)?;
        let max_body_bytes = self.max_body_bytes.unwrap_or(defaults.max_body_bytes);
        check_body_limit(&format!("{key}.max_body_bytes"), max_body_bytes)?;

        let mut allow_ips = Vec::with_capacity(self.allow_ips.len());
        for (i, text) in self.allow_ips.iter().enumerate() {
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
        Ok(Source {
            name: name.to_owned(),
            scheme,
            secrets,
            events,
            tolerance_secs,
            max_body_bytes,
            allow_ips,
            url: self.url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match Config::parse(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    const GITHUB: &str = "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n";

    #[test]
    fn a_minimal_source_takes_the_defaults() {
        let config = Config::parse(GITHUB).unwrap();
        let source = config.source("github").unwrap();
        assert_eq!(source.scheme, Scheme::Github);
        assert_eq!(source.tolerance_secs, 300);
        assert_eq!(source.max_body_bytes, QUEUE_MESSAGE_LIMIT);
        assert_eq!(source.secrets, vec![SecretRef::Env("GH".into())]);
    }

    #[test]
    fn every_refusal_names_the_offending_key() {
        let cases = [
            (format!("{GITHUB}colour = \"red\"\n"), "colour"),
            ("[defaults]\ntolerance = 5\n".to_owned(), "tolerance"),
            ("[sources.a]\nscheme = \"gitlab\"\nsecrets = [\"env:A\"]\n".to_owned(), "sources.a.scheme"),
            ("[sources.a]\nscheme = \"github\"\n".to_owned(), "sources.a.secrets"),
            ("[sources.a]\nscheme = \"github\"\nsecrets = [\"\"]\n".to_owned(), "sources.a.secrets[0]"),
            ("[sources.a]\nscheme = \"github\"\nsecrets = [\"hunter2\"]\n".to_owned(), "sources.a.secrets[0]"),
            ("[sources.a]\nscheme = \"github\"\nsecrets = [\"env:\"]\n".to_owned(), "sources.a.secrets[0]"),
            ("[sources.a]\nscheme = \"none\"\n".to_owned(), "sources.a.allow_unsigned"),
            ("[sources.a]\nscheme = \"github\"\nsecrets = [\"env:A\"]\nallow_unsigned = true\n".to_owned(), "sources.a.allow_unsigned"),
            ("[sources.a]\nscheme = \"github\"\nsecrets = [\"env:A\"]\nheader = \"X-Sig\"\n".to_owned(), "sources.a.header"),
            ("[sources.a]\nscheme = \"hmac\"\nsecrets = [\"env:A\"]\n".to_owned(), "sources.a.header"),
            ("[sources.a]\nscheme = \"hmac\"\nheader = \"X-Sig\"\nalgorithm = \"md5\"\nsecrets = [\"env:A\"]\n".to_owned(), "sources.a.algorithm"),
            ("[sources.a]\nscheme = \"twilio\"\nsecrets = [\"env:A\"]\n".to_owned(), "sources.a.url"),
            ("[sources.a]\nscheme = \"github\"\nsecrets = [\"env:A\"]\nallow_ips = [\"10.0.0.0/33\"]\n".to_owned(), "sources.a.allow_ips[0]"),
            ("[sources.a]\nscheme = \"github\"\nsecrets = [\"env:A\"]\ntolerance_secs = 0\n".to_owned(), "sources.a.tolerance_secs"),
            ("[sources.a]\nscheme = \"github\"\nsecrets = [\"env:A\"]\nmax_body_bytes = 2000000\n".to_owned(), "sources.a.max_body_bytes"),
            ("[sources.a]\nscheme = \"github\"\nsecrets = [\"env:A\"]\nevents = []\n".to_owned(), "sources.a.events"),
            ("[sources.A]\nscheme = \"github\"\nsecrets = [\"env:A\"]\n".to_owned(), "sources.A"),
            (format!("{GITHUB}[[routes]]\nsource = \"gitlab\"\naction = {{ type = \"log\" }}\n"), "routes[0].source"),
            (format!("{GITHUB}[[routes]]\nsource = \"github\"\naction = {{ type = \"forward\", url = \"ftp://x\", secret = \"env:S\" }}\n"), "routes[0].action.url"),
            (format!("{GITHUB}[[routes]]\nsource = \"github\"\naction = {{ type = \"forward\", url = \"https://x.example\", secret = \"s3cret\" }}\n"), "routes[0].action.secret"),
            (format!("{GITHUB}[[routes]]\nsource = \"github\"\naction = {{ type = \"mail\" }}\n"), "mail"),
            (String::new(), "sources"),
            (format!("{GITHUB}[process]\nconcurrency = 0\n"), "process.concurrency"),
            (format!("{GITHUB}[process]\nretry_base_secs = 60\nretry_max_secs = 5\n"), "process.retry_max_secs"),
            (format!("{GITHUB}[process]\nrecord_ttl_secs = 60\n"), "process.record_ttl_secs"),
            (format!("{GITHUB}[process]\nbatch = 1\n"), "batch"),
        ];
        for (text, key) in cases {
            let message = error(&text);
            assert!(
                message.contains(key),
                "`{key}` not named in: {message}\nfor:\n{text}"
            );
        }
    }

    #[test]
    fn secret_references_parse() {
        assert_eq!(
            SecretRef::parse("secretsmanager:inlet/stripe#signing_secret"),
            Ok(SecretRef::SecretsManager {
                id: "inlet/stripe".into(),
                json_key: Some("signing_secret".into())
            })
        );
        assert_eq!(
            SecretRef::parse("secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:x"),
            Ok(SecretRef::SecretsManager {
                id: "arn:aws:secretsmanager:eu-west-1:1:secret:x".into(),
                json_key: None
            })
        );
        assert!(SecretRef::parse("secretsmanager:").is_err());
        assert!(SecretRef::parse("secretsmanager:x#").is_err());
    }

    #[test]
    fn hmac_sources_and_routes_are_typed() {
        let text = r#"
[sources.crm]
scheme = "hmac"
header = "X-Signature"
algorithm = "sha512"
encoding = "base64"
prefix = "sha512="
timestamp_header = "X-Timestamp"
id_pointer = "/data/id"
secrets = ["env:CRM_SECRET"]
allow_ips = ["203.0.113.0/24", "2001:db8::1"]
events = ["contact.*"]

[[routes]]
source = "crm"
action = { type = "forward", url = "https://agent.example.com/hooks", secret = "env:AGENT", timeout_ms = 2500 }
"#;
        let config = Config::parse(text).unwrap();
        let crm = config.source("crm").unwrap();
        let Scheme::Hmac(custom) = &crm.scheme else {
            panic!("not hmac")
        };
        assert_eq!(custom.algorithm, Algorithm::Sha512);
        assert_eq!(custom.encoding, Encoding::Base64);
        assert_eq!(custom.header.as_str(), "x-signature");
        assert!(crm.ip_allowed(Some("203.0.113.9".parse().unwrap())));
        assert!(crm.ip_allowed(Some("2001:db8::1".parse().unwrap())));
        assert!(!crm.ip_allowed(Some("198.51.100.1".parse().unwrap())));
        assert!(!crm.ip_allowed(None));
        let filter = crm.events.as_ref().unwrap();
        assert!(filter.allows(Some("contact.created")));
        assert!(!filter.allows(Some("deal.created")));
        assert!(!filter.allows(None));
        assert_eq!(
            config.routes[0].action,
            Action::Forward {
                url: "https://agent.example.com/hooks".into(),
                secret: SecretRef::Env("AGENT".into()),
                timeout_ms: 2500
            }
        );
        assert_eq!(config.secret_refs().count(), 2);
    }

    #[test]
    fn the_sample_config_at_the_repo_root_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../inlet.toml");
        let config = Config::load(&path).unwrap();
        for scheme in inlet_signature::NAMED_SCHEMES
            .iter()
            .filter(|s| **s != "svix")
        {
            assert!(
                config.sources.values().any(|s| s.scheme.name() == *scheme),
                "the sample config has no {scheme} source"
            );
        }
        assert!(
            config
                .sources
                .values()
                .any(|s| matches!(s.scheme, Scheme::Hmac(_)))
        );
    }
}
