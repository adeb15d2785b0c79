//! Actions: what runs on each verified event once it is claimed.
//!
//! The process pipeline calls a [`Handler`]: it names the routes that take an event, and runs
//! each of them. The config's `[[routes]]` are one ([`router::Router`]: every matching route,
//! matched by `when`, reshaped by `transform`, delivered to its [`destination::Destination`]);
//! users' own Rust code can be another, or add routes of its own to the config's.
//!
//! One job a file: `router` picks and runs routes, `matching` decides `when`, `transform` runs
//! jq, `destination` is the trait every destination implements, `forward` and `log` are the two
//! destinations that need no cloud (the AWS ones live in `inlet-aws`), and `answers` keeps what
//! targets answered for `inlet dev`.

pub mod answers;
pub mod destination;
pub mod forward;
pub mod log;
pub mod matching;
pub mod retry_after;
pub mod route_table;
pub mod router;
pub mod transform;

use crate::envelope::Envelope;
use crate::trace::TraceContext;
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

impl Event<'_> {
    /// Process's span of the event's trace, for this queue message: what every destination
    /// receives (`traceparent`).
    pub fn trace(&self) -> TraceContext {
        self.envelope.trace().for_message(self.message_id)
    }
}

/// The dead-letter reason of a route whose action failed for good.
pub const ACTION_FAILED: &str = "action_failed";
/// The dead-letter reason of a route whose transform failed (a run-time error, a body that is
/// not JSON, or a bound exceeded).
pub const TRANSFORM_FAILED: &str = "transform_failed";

/// Why a route did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// Might succeed later: network errors, timeouts, 5xx, 408, 429, throttling.
    #[error("transient: {0}")]
    Transient(String),
    /// Will never succeed as it is: dead-lettered at once, as `action_failed`.
    #[error("permanent: {0}")]
    Permanent(String),
    /// The route's transform could not reshape this event: dead-lettered as `transform_failed`.
    #[error("transform failed: {0}")]
    TransformFailed(String),
    /// The destination asked for less: a 429 or 503 (with `Retry-After`, in seconds, when it
    /// gave one), or AWS throttling. Retried like a transient failure, at `retry_after_secs`
    /// when given (bounded by the schedule's longest step).
    #[error("throttled: {message}")]
    Throttled {
        message: String,
        retry_after_secs: Option<u64>,
    },
}

impl ActionError {
    /// The dead-letter reason, for a failure that no retry fixes; `None` for a transient one.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Transient(_) | Self::Throttled { .. } => None,
            Self::Permanent(_) => Some(ACTION_FAILED),
            Self::TransformFailed(_) => Some(TRANSFORM_FAILED),
        }
    }

    /// What went wrong, without the class.
    pub fn message(&self) -> &str {
        match self {
            Self::Transient(message)
            | Self::Permanent(message)
            | Self::TransformFailed(message)
            | Self::Throttled { message, .. } => message,
        }
    }

    /// Whether the destination failed (so its circuit breaker counts it): a transient failure
    /// or throttling. A permanent failure is the request's fault, not the destination's, and a
    /// transform never reached it.
    pub fn is_destination_failure(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Throttled { .. })
    }
}

/// What the pipeline needs to know of a route beyond running it: when to try it again, and the
/// destination whose circuit breaker and rate limit it goes through.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoutePolicy<'a> {
    /// The route's own `retry_schedule`; `None` takes `[process] retry_schedule`.
    pub schedule: Option<&'a crate::config::RetrySchedule>,
    /// Its destination; `None` for one with no breaker or rate limit (a log line, a handler's
    /// own code).
    pub destination: Option<&'a crate::ports::DestinationId>,
    pub rate_limit: Option<crate::config::RateLimit>,
}

/// The one route of a handler that does not name its own.
pub const HANDLER_ROUTE: &str = "handler";

/// The user's processing: the config's routes ([`router::Router`]) or any Rust code.
///
/// Each event runs every route [`Handler::routes`] names, each exactly once: the pipeline keeps,
/// per event, which routes are done, so a retry, a redelivery or a redrive runs only the rest.
/// Route names must therefore be stable; the pipeline puts them in the idempotency record, the
/// dead letters and the metrics.
pub trait Handler: Send + Sync {
    /// The routes that take `event`, in order. None: no route wants it, and the event is
    /// completed as unrouted, not failed. The default is one route, [`HANDLER_ROUTE`].
    fn routes<'s>(&'s self, event: &Event<'_>) -> Vec<&'s str> {
        let _ = event;
        vec![HANDLER_ROUTE]
    }

    /// How `route` is retried, and where it delivers (for its breaker and rate limit). The
    /// default: the process schedule, no destination.
    fn policy<'s>(&'s self, route: &str) -> RoutePolicy<'s> {
        let _ = route;
        RoutePolicy::default()
    }

    /// Runs the route named `route` (one [`Handler::routes`] gave) for `event`.
    fn handle(
        &self,
        route: &str,
        event: Event<'_>,
    ) -> impl Future<Output = Result<(), ActionError>> + Send;
}

/// A shared handler handles alike, so its owner can keep a handle: to share one handler between
/// pipelines, or for a test to read what its handler saw.
impl<H: Handler> Handler for Arc<H> {
    fn routes<'s>(&'s self, event: &Event<'_>) -> Vec<&'s str> {
        H::routes(self, event)
    }

    fn policy<'s>(&'s self, route: &str) -> RoutePolicy<'s> {
        H::policy(self, route)
    }

    fn handle(
        &self,
        route: &str,
        event: Event<'_>,
    ) -> impl Future<Output = Result<(), ActionError>> + Send {
        H::handle(self, route, event)
    }
}
