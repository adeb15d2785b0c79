//! A validated `[[routes]]` entry: which events it takes and what it does with them.

use super::event_filter::EventFilter;
use super::secret_ref::SecretRef;

/// What process does with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// POST the event to `url`, signed as Standard Webhooks with `secret`.
    Forward {
        url: String,
        secret: SecretRef,
        timeout_ms: u64,
    },
    /// One structured log line.
    Log,
}

/// The first route whose source and filter match an event runs its action.
#[derive(Debug, Clone)]
pub struct Route {
    /// A configured source's name.
    pub source: String,
    pub events: Option<EventFilter>,
    pub action: Action,
}
