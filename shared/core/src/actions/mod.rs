//! Actions: what runs on each verified event once it is claimed.
//!
//! The process pipeline calls a [`Handler`]; the config's `[[routes]]` are one ([`router::Router`],
//! with its forward and log actions), and users' own Rust code can be another.

pub mod answers;
pub mod forward;
pub mod router;

use crate::envelope::Envelope;
use std::future::Future;
use std::sync::Arc;

/// A verified event, handed to the action.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub envelope: &'a Envelope,
    /// The original delivery body.
    pub body: &'a [u8],
    /// The queue message this run is for: copies of one event are different messages.
    pub message_id: &'a str,
}

/// Why an action did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// Might succeed later: network errors, timeouts, 5xx, 408, 429.
    #[error("transient: {0}")]
    Transient(String),
    /// Will never succeed as it is: dead-lettered at once.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// What an action did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Done,
    /// No route wanted it: completed and counted, not failed.
    Unrouted,
}

/// The user's processing: the config's routes ([`crate::actions::router::Router`]) or any Rust code.
pub trait Handler: Send + Sync {
    fn handle(&self, event: Event<'_>)
    -> impl Future<Output = Result<Handled, ActionError>> + Send;
}

/// A shared handler handles alike, so its owner can keep a handle: to share one handler between
/// pipelines, or for a test to read what its handler saw.
impl<H: Handler> Handler for Arc<H> {
    fn handle(
        &self,
        event: Event<'_>,
    ) -> impl Future<Output = Result<Handled, ActionError>> + Send {
        H::handle(self, event)
    }
}
