//! Everything that stops a command before it reaches a verdict. All of these exit with 2; a
//! delivery that fails verification is a verdict, not an error.

use inlet_aws::wiring::WiringError;
use inlet_core::config::ConfigError;
use inlet_core::secrets::SecretError;
use inlet_signature::{KeyError, SignError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("unknown source `{name}`; sources in {config}: {known}")]
    UnknownSource {
        name: String,
        config: String,
        /// The configured names, comma-separated, so the reader can pick one.
        known: String,
    },
    #[error("{}", secret_message(.0))]
    Secret(#[from] SecretError),
    #[error("--secret: {0}")]
    Key(#[from] KeyError),
    #[error("cannot sign: {0}")]
    Sign(#[from] SignError),
    #[error("--header {0:?}: expected `Name: value` with a valid header name and value")]
    Header(String),
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The local stack, the emulator or an HTTP peer let the command down.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Stack(#[from] inlet_local::StackError),
    /// Nothing to talk to: no `inlet dev` running here, and no endpoint or queue in the
    /// environment. The text is why the state file did not count, when there is one.
    #[error(
        "no running stack{0}: start one with `make dev` (or set AWS_ENDPOINT_URL / INLET_QUEUE_URL for AWS)"
    )]
    NoStack(String),
    /// A payload or case file that cannot be turned into a fixture.
    #[error("{path}: {why}")]
    Fixture { path: PathBuf, why: String },
}

/// Building a pipeline through `inlet_aws::wiring`: a secret keeps its own hints.
impl From<WiringError> for CliError {
    fn from(error: WiringError) -> Self {
        match error {
            WiringError::Config(error) => Self::Config(error),
            WiringError::Secret(error) => Self::Secret(error),
            other => Self::Failed(other.to_string()),
        }
    }
}

fn secret_message(error: &SecretError) -> String {
    match error {
        SecretError::EnvMissing(_) => {
            format!("{error} (give its value with --env-file FILE; the sample's are in local.env)")
        }
        _ => error.to_string(),
    }
}

impl CliError {
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub fn fixture(path: &Path, why: impl Into<String>) -> Self {
        Self::Fixture {
            path: path.to_owned(),
            why: why.into(),
        }
    }
}
