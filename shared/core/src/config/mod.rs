//! `inlet.toml`: typed, validated, fail-closed.
//!
//! Reading is two steps: serde reads the TOML into raw shapes that refuse unknown keys (`raw`),
//! then validation turns them into the types the pipelines use (`validate`, `validate_source`),
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
mod route;
mod secret_ref;
mod source;
mod validate;
mod validate_source;

pub use archive::{ArchiveSettings, CLAIMS_PREFIX};
pub use check::{Checked, Finding};
pub use defaults::Defaults;
pub use error::ConfigError;
pub use event_filter::EventFilter;
pub use process_settings::ProcessSettings;
pub use route::{Action, Route};
pub use secret_ref::SecretRef;
pub use source::Source;

use std::collections::BTreeMap;

/// SQS accepts messages of at most 1 MiB: a larger envelope goes as a claim check.
pub const QUEUE_MESSAGE_LIMIT: usize = 1024 * 1024;

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
    /// In the config's order: the first match wins.
    pub routes: Vec<Route>,
    pub process: ProcessSettings,
    /// `[archive]`, when the deployment keeps its envelopes.
    pub archive: Option<ArchiveSettings>,
}

impl Config {
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.get(name)
    }
}
