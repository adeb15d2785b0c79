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

/// SQS accepts messages of at most 1 MiB, so no body beyond that could ever be queued.
pub const QUEUE_MESSAGE_LIMIT: usize = 1024 * 1024;

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
