//! `[defaults]`: what every source gets unless it says otherwise.

use super::MAX_BODY_BYTES;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// The replay window of timestamped schemes.
    pub tolerance_secs: u64,
    pub max_body_bytes: usize,
    /// How long a secret from Secrets Manager is used before it is fetched again.
    pub secret_refresh_secs: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            tolerance_secs: 300,
            max_body_bytes: MAX_BODY_BYTES,
            secret_refresh_secs: 300,
        }
    }
}
