//! The TOML as written: serde shapes that refuse unknown keys at every level, so a misspelt key
//! is an error instead of a setting silently not applied. Validation turns them into the typed
//! config; nothing else reads them.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) defaults: RawDefaults,
    #[serde(default)]
    pub(super) sources: BTreeMap<String, RawSource>,
    #[serde(default)]
    pub(super) routes: Vec<RawRoute>,
    #[serde(default)]
    pub(super) process: RawProcess,
    pub(super) archive: Option<RawArchive>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) tolerance_secs: Option<u64>,
    pub(super) max_body_bytes: Option<usize>,
    pub(super) secret_refresh_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) scheme: String,
    #[serde(default)]
    pub(super) secrets: Vec<String>,
    pub(super) events: Option<Vec<String>>,
    pub(super) tolerance_secs: Option<u64>,
    pub(super) max_body_bytes: Option<usize>,
    #[serde(default)]
    pub(super) allow_ips: Vec<String>,
    #[serde(default)]
    pub(super) allow_unsigned: bool,
    pub(super) url: Option<String>,
    /// Meta's verify token, Asana's enrolment token: providers whose handshake has a secret of
    /// its own.
    pub(super) handshake_secret: Option<String>,
    /// Event type (or `*`) → JSON Schema file, relative to the config.
    pub(super) schemas: Option<BTreeMap<String, String>>,
    pub(super) on_invalid: Option<String>,
    // `hmac` only; every other scheme refuses them by name.
    pub(super) header: Option<String>,
    pub(super) algorithm: Option<String>,
    pub(super) encoding: Option<String>,
    pub(super) prefix: Option<String>,
    pub(super) timestamp_header: Option<String>,
    pub(super) timestamp_separator: Option<String>,
    pub(super) timestamp_format: Option<String>,
    pub(super) signing_string: Option<String>,
    pub(super) layout: Option<String>,
    pub(super) separator: Option<String>,
    pub(super) timestamp_key: Option<String>,
    pub(super) signature_key: Option<String>,
    pub(super) key_encoding: Option<String>,
    pub(super) key_prefix: Option<String>,
    pub(super) id_header: Option<String>,
    pub(super) id_pointer: Option<String>,
    pub(super) type_header: Option<String>,
    pub(super) type_pointer: Option<String>,
}

impl RawSource {
    /// The `hmac`-only keys this source sets, by name, so another scheme can refuse them clearly.
    pub(super) fn hmac_keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("header", self.header.is_some()),
            ("algorithm", self.algorithm.is_some()),
            ("encoding", self.encoding.is_some()),
            ("prefix", self.prefix.is_some()),
            ("timestamp_header", self.timestamp_header.is_some()),
            ("timestamp_separator", self.timestamp_separator.is_some()),
            ("timestamp_format", self.timestamp_format.is_some()),
            ("signing_string", self.signing_string.is_some()),
            ("layout", self.layout.is_some()),
            ("separator", self.separator.is_some()),
            ("timestamp_key", self.timestamp_key.is_some()),
            ("signature_key", self.signature_key.is_some()),
            ("key_encoding", self.key_encoding.is_some()),
            ("key_prefix", self.key_prefix.is_some()),
            ("id_header", self.id_header.is_some()),
            ("id_pointer", self.id_pointer.is_some()),
            ("type_header", self.type_header.is_some()),
            ("type_pointer", self.type_pointer.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub(super) name: Option<String>,
    pub(super) source: String,
    pub(super) events: Option<Vec<String>>,
    pub(super) when: Option<Vec<RawCondition>>,
    pub(super) transform: Option<String>,
    pub(super) action: RawAction,
    // Read as any TOML value, so that validation refuses a wrong type naming the key
    // (`routes[1].retry_schedule[0]`) rather than leaving it to serde.
    pub(super) retry_schedule: Option<toml::Value>,
    pub(super) rate_limit: Option<toml::Value>,
}

/// One entry of `when`: one subject (`pointer` or `header`) and one test (`in`, `equals`,
/// `exists` or `prefix`). Every value is read as any TOML value, so that validation refuses a
/// wrong type naming the key (`routes[2].when[0].in`) rather than leaving it to serde.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    pub(super) pointer: Option<toml::Value>,
    pub(super) header: Option<toml::Value>,
    #[serde(rename = "in")]
    pub(super) any_of: Option<toml::Value>,
    pub(super) equals: Option<toml::Value>,
    pub(super) exists: Option<toml::Value>,
    pub(super) prefix: Option<toml::Value>,
}

// Struct variants only, none a unit one: serde lets a unit variant of an internally tagged enum
// take any other keys, so `{ type = "log", url = "…" }` would pass without a word.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "lowercase")]
pub(super) enum RawAction {
    Forward {
        url: String,
        secret: String,
        timeout_ms: Option<u64>,
    },
    Log {},
    Sqs {
        queue_url: String,
        group_pointer: Option<String>,
    },
    Sns {
        topic_arn: String,
    },
    EventBridge {
        bus: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProcess {
    pub(super) concurrency: Option<usize>,
    pub(super) record_ttl_secs: Option<i64>,
    pub(super) retry_base_secs: Option<u32>,
    pub(super) retry_max_secs: Option<u32>,
    // Any TOML value, as a route's, and any integer: validation names the key at fault.
    pub(super) retry_schedule: Option<toml::Value>,
    pub(super) breaker_threshold: Option<i64>,
    pub(super) breaker_cooldown: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArchive {
    pub(super) bucket: Option<String>,
    pub(super) prefix: Option<String>,
}
