//! `inlet.toml`: typed, validated, fail-closed.
//!
//! Reading is two steps: serde reads the TOML into raw shapes that refuse unknown keys (`raw`),
//! then validation turns them into the types the pipelines use (`validate`, `validate_source`,
//! `validate_route`, `validate_when`, `validate_action`, and `validate_retry` for the outage keys
//! and whether the queue holds every retry schedule),
//! naming the offending key on failure. The loader (`load`) knows where the text came from and
//! puts that in front of every refusal. Secrets never appear here, only references to where
//! they live.

mod archive;
mod check;
mod defaults;
mod error;
mod event_filter;
mod load;
mod process_settings;
mod raw;
mod retry;
mod route;
mod schemas;
mod secret_ref;
mod source;
#[cfg(test)]
mod test_support;
mod transforms;
mod url;
mod validate;
mod validate_action;
mod validate_hmac;
mod validate_retry;
mod validate_route;
mod validate_source;
mod validate_when;

pub use archive::{ArchiveSettings, CLAIMS_PREFIX};
pub use check::{Checked, Finding};
pub use defaults::Defaults;
pub use error::ConfigError;
pub use event_filter::EventFilter;
pub use load::config_dir;
pub use process_settings::ProcessSettings;
pub use retry::{
    BreakerSettings, DEFAULT_RETRY_SCHEDULE, MAX_BREAKER_COOLDOWN_SECS, MAX_RETRY_STEP_SECS,
    MAX_VISIBILITY_SECS, QueueLimits, RateLimit, RetrySchedule, parse_duration_secs,
    parse_rate_limit,
};
pub use route::{Action, Condition, Route, Subject, Test};
pub use schemas::{ANY_TYPE, OnInvalid, SchemaFile, SourceSchemas};
pub use secret_ref::SecretRef;
pub use source::Source;
pub use validate_retry::{
    MAX_RECEIVE_COUNT_VARIABLE, QUEUE_RETENTION_VARIABLE, QueueVariableError,
};

use std::collections::BTreeMap;

/// SQS accepts messages of at most 1 MiB.
pub const QUEUE_MESSAGE_LIMIT: usize = 1024 * 1024;

/// Room kept in every queued message for what process adds when it dead-letters it (`reason`,
/// `failed_at`, `origin_message_id`, the failed `routes` and their `route_errors`), so a dead
/// letter of the largest envelope still fits the dead-letter queue.
pub const DEAD_LETTER_ROOM: usize = 2048;

/// The largest envelope, with its attributes, ingest queues as one message: a larger one goes as
/// a claim check.
pub const QUEUED_ENVELOPE_LIMIT: usize = QUEUE_MESSAGE_LIMIT - DEAD_LETTER_ROOM;

/// Lambda's synchronous invocation payload limit (6 MB, the `Invoke` API): API Gateway's whole
/// event, body included, must fit in it. API Gateway's own HTTP API limit (10 MB) is higher.
pub const LAMBDA_INVOKE_LIMIT: usize = 6 * 1024 * 1024;

/// What the event holds besides the body: request context, headers, path and query. Headers
/// are bounded by API Gateway well below this.
pub const EVENT_OVERHEAD: usize = 64 * 1024;

/// The largest body the path carries whatever its content type: API Gateway hands a binary body
/// to Lambda in base64, four bytes for every three (docs/architecture.md § Large payloads).
pub const MAX_BODY_BYTES: usize = (LAMBDA_INVOKE_LIMIT - EVENT_OVERHEAD) / 4 * 3;

/// The whole validated config, as [`Config::parse`], [`Config::load`] and [`Config::from_env`]
/// return it.
#[derive(Debug, Clone)]
pub struct Config {
    pub defaults: Defaults,
    /// By name, the `/webhooks/{source}` path segment.
    pub sources: BTreeMap<String, Source>,
    /// In the config's order: every route that matches an event runs, each under its name.
    pub routes: Vec<Route>,
    pub process: ProcessSettings,
    /// `[archive]`, when the deployment keeps its envelopes.
    pub archive: Option<ArchiveSettings>,
    /// What the event queue holds, which every retry schedule above fits in: from
    /// `INLET_QUEUE_RETENTION_SECONDS` and `INLET_MAX_RECEIVE_COUNT` for [`Config::from_env`],
    /// the template's defaults otherwise.
    pub queue: QueueLimits,
}

impl Config {
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.get(name)
    }
}
