//! The process pipeline: a batch of queued envelopes in, the ids of the records SQS should retry
//! out (docs/architecture.md: Flow, Idempotency record, Dead letters).
//!
//! Each record is claimed in the idempotency store with one conditional write, handled, and
//! marked completed. Records run concurrently (bounded), except that records of one FIFO group,
//! or with the same key in a standard queue, run in order in one lane: the second of two copies
//! then finds the first completed instead of racing it, and a lane stops at its first failure, so
//! a failed action is neither repeated in the same batch nor overtaken.
//!
//! One job a file: `batch` schedules a batch's records into lanes, `archiving` keeps the batch in
//! the archive before any of it runs, `record` takes one record through its claim, body, action
//! and completion, `dead_letter` sends one to the dead-letter queue, and `deadline` is the
//! batch's clock and the time its actions have.

mod archiving;
mod batch;
mod breakers;
mod dead_letter;
mod deadline;
mod record;
mod routes;

pub use dead_letter::RETRIES_EXHAUSTED;
pub use deadline::{ACTION_DEADLINE_MARGIN_MS, Deadline, UNKNOWN_DEADLINE_TIMEOUT_MS};

use crate::actions::Handler;
use crate::archive::BatchArchive;
use crate::claims::PayloadStore;
use crate::config::ProcessSettings;
use crate::metrics::{self, Metrics};
use crate::ports::{DeliveryGuards, IdempotencyStore, Queue, Visibility};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// One SQS record, as the pipeline needs it.
#[derive(Debug, Clone, Copy)]
pub struct QueuedRecord<'a> {
    pub message_id: &'a str,
    pub receipt_handle: &'a str,
    pub body: &'a str,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    /// FIFO queues: `MessageGroupId`.
    pub group_id: Option<&'a str>,
    /// The `source` message attribute ingest set, so that even a record whose envelope cannot be
    /// read is dead-lettered with its source.
    pub source: Option<&'a str>,
    /// The [`ORIGIN_MESSAGE_ID`] attribute: set on a record that is a redriven dead letter, it
    /// names the message ingest first queued. `None` on a record as ingest queued it.
    pub origin_message_id: Option<&'a str>,
    /// The [`ROUTES`] attribute: set on a dead letter naming the routes that failed, and kept
    /// by its redrive, so the redriven record runs only those. `None`: every unsettled route.
    pub routes: Option<&'a str>,
}

/// The message attribute of a dead letter that names its failed routes, comma-separated.
pub const ROUTES: &str = "routes";
/// The message attribute of a dead letter that says why each of its routes failed: a JSON
/// object, route name to `{"reason", "message"}`. A redrive drops it, like `reason`.
pub const ROUTE_ERRORS: &str = "route_errors";

/// The message attribute of a dead letter that says how many attempts its (first) route had.
/// A redrive drops it, like `reason`: the redriven route's schedule starts afresh.
pub const ATTEMPTS: &str = "attempts";
/// The dead-letter attribute holding a `schema_invalid` event's errors: a JSON array of
/// `{"pointer", "message"}`, as ingest found them.
pub const SCHEMA_ERRORS: &str = "schema_errors";

/// The message attribute that names the message a delivery was first queued as. Dead letters
/// and redriven records are new messages with new ids; this one id follows a delivery through
/// every copy, so a tool (or a person reading the dead-letter queue next to the logs) can tell
/// which delivery each is, even among several copies of one event.
pub const ORIGIN_MESSAGE_ID: &str = "origin_message_id";

impl QueuedRecord<'_> {
    /// The id of the message this delivery was first queued as: its own, unless it was redriven.
    pub fn origin(&self) -> &str {
        self.origin_message_id.unwrap_or(self.message_id)
    }
}

/// The dead-letter reason of a key seen again with a different payload.
const PAYLOAD_CONFLICT: &str = "payload_conflict";

/// How one record ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Processed,
    Unrouted,
    Duplicate,
    /// Reported to SQS as a batch item failure, to be retried.
    Retry {
        reason: String,
    },
    /// Nothing failed, but some routes were held back (an open breaker, a rate limit, a step
    /// not yet due): reported to SQS as a batch item failure, to come back when they may run.
    Held {
        reason: String,
    },
    /// Sent to the dead-letter queue and acknowledged.
    DeadLettered {
        reason: &'static str,
    },
    /// Not attempted: an earlier record of its FIFO group, or a copy with its key, failed.
    Skipped,
}

impl RecordOutcome {
    /// The outcome as the metrics count it.
    pub(crate) fn metric(&self) -> metrics::RecordCount {
        match self {
            Self::Processed => metrics::RecordCount::Processed,
            Self::Unrouted => metrics::RecordCount::Unrouted,
            Self::Duplicate => metrics::RecordCount::Duplicate,
            Self::Retry { .. } => metrics::RecordCount::FailedTransient,
            Self::Held { .. } => metrics::RecordCount::Held,
            Self::DeadLettered { reason } => metrics::RecordCount::DeadLettered {
                conflict: *reason == PAYLOAD_CONFLICT,
            },
            Self::Skipped => metrics::RecordCount::Skipped,
        }
    }

    /// Whether SQS should deliver the record again.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Retry { .. } | Self::Held { .. } | Self::Skipped)
    }
}

/// How one route of one record ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOutcome {
    /// Its destination has the event.
    Delivered,
    /// Failed for now (attempt `attempts` of its schedule): the record comes back for it at
    /// `next_at_ms` (epoch ms).
    Retry {
        reason: String,
        attempts: u32,
        next_at_ms: i64,
    },
    /// Failed for good: in the dead-letter queue with its reason (`action_failed`,
    /// `transform_failed`, or `retries_exhausted` after `attempts` attempts).
    DeadLettered {
        reason: &'static str,
        message: String,
        attempts: u32,
    },
    /// Not run this time, and not an attempt: held back until `until_ms` (epoch ms).
    Held { hold: Hold, until_ms: i64 },
}

/// Why a route was held back instead of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Its schedule's next step (or a `Retry-After`) is not due yet: the record came back early,
    /// for another route of it or after a function stopped.
    NotDue,
    /// Its destination's circuit breaker is open, or another function's probe is out.
    BreakerOpen,
    /// Its destination's rate limit has no slot before then.
    RateLimited,
}

impl Hold {
    /// As metrics, logs and the inspector name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotDue => "not_due",
            Self::BreakerOpen => "breaker_open",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// A circuit breaker that changed state during a batch (said once, by the function that changed
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerChange {
    pub destination: crate::ports::DestinationId,
    pub change: BreakerTransition,
    /// Until when it is open (epoch ms); 0 once closed.
    pub open_until_ms: i64,
    /// Failed calls in a row that opened it (on `Opened`).
    pub failures: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerTransition {
    /// Closed to open: `breaker_threshold` failures in a row.
    Opened,
    /// A probe failed: open again, for a longer cool-down.
    Reopened,
    /// A call went through: closed.
    Closed,
}

impl BreakerTransition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Reopened => "reopened",
            Self::Closed => "closed",
        }
    }
}

/// One route's run for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRun {
    pub route: String,
    pub outcome: RouteOutcome,
}

/// What a batch came to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    /// Per record, in the batch's order.
    pub outcomes: Vec<(String, RecordOutcome)>,
    /// Per record, in the batch's order: the routes it ran this time (none for a duplicate, an
    /// unrouted event, or a record that failed before its routes).
    pub routes: Vec<Vec<RouteRun>>,
    /// Breakers this batch opened or closed.
    pub breakers: Vec<BreakerChange>,
}

impl BatchOutcome {
    /// The message ids for `SqsBatchResponse.batchItemFailures`.
    pub fn failures(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_failure())
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// The process pipeline over its ports.
#[derive(Debug)]
pub struct Process<St, Dl, Vi, H> {
    store: St,
    dead_letters: Dl,
    visibility: Vi,
    handler: H,
    settings: ProcessSettings,
    metrics: Metrics,
    /// `[archive]`: where each batch's envelopes are kept before any of its records is
    /// acknowledged. Behind a trait object so an archive (or none) leaves the pipeline's type
    /// alone.
    archive: Option<Arc<dyn BatchArchive>>,
    /// Where the bodies of envelopes that carry a `body_ref` are (claim checks). Without it,
    /// such an envelope is dead-lettered unread.
    payloads: Option<Arc<dyn PayloadStore>>,
    /// Claim-checked bodies held at once: each may be several megabytes, the function has
    /// 128 MB, and a batch's lanes run concurrently.
    large_bodies: tokio::sync::Semaphore,
    /// Every destination's circuit breaker and rate limit, shared with the other functions;
    /// without it, routes run unguarded.
    guards: Option<Arc<dyn DeliveryGuards>>,
    /// This function's view of the breakers.
    breakers: breakers::Breakers,
    /// Whether a batch has already come with a deadline that cannot be right: said once per
    /// pipeline (in Lambda, once per execution environment), not on every batch.
    warned_unknown_deadline: AtomicBool,
}

/// How many claim-checked bodies a batch holds in memory at once: at the largest body
/// (`MAX_BODY_BYTES`, about 4.5 MiB) and a copy for the action, about 20 MiB, well inside the
/// function's 128 MB beside everything else. Further large records wait for a turn.
pub const LARGE_BODIES_AT_ONCE: usize = 2;

impl<St, Dl, Vi, H> Process<St, Dl, Vi, H>
where
    St: IdempotencyStore,
    Dl: Queue,
    Vi: Visibility,
    H: Handler,
{
    pub fn new(
        store: St,
        dead_letters: Dl,
        visibility: Vi,
        handler: H,
        settings: ProcessSettings,
    ) -> Self {
        Self {
            store,
            dead_letters,
            visibility,
            handler,
            settings,
            metrics: Metrics::Off,
            archive: None,
            payloads: None,
            large_bodies: tokio::sync::Semaphore::new(LARGE_BODIES_AT_ONCE),
            guards: None,
            breakers: breakers::Breakers::default(),
            warned_unknown_deadline: AtomicBool::new(false),
        }
    }

    /// Keeps every batch's envelopes in `archive` before processing any of its records.
    pub fn with_archive(mut self, archive: Arc<dyn BatchArchive>) -> Self {
        self.archive = Some(archive);
        self
    }

    /// Reads claim-checked bodies from `payloads`, and deletes each once its event is done.
    pub fn with_payloads(mut self, payloads: Arc<dyn PayloadStore>) -> Self {
        self.payloads = Some(payloads);
        self
    }

    /// Guards every route with a destination by its circuit breaker and rate limit, kept in
    /// `guards` (shared with every other function).
    pub fn with_guards(mut self, guards: Arc<dyn DeliveryGuards>) -> Self {
        self.guards = Some(guards);
        self
    }

    /// Where each batch's metric lines go; [`Metrics::Off`] unless set.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{ActionError, Event};
    use crate::ports::memory::{MemoryQueue, MemoryStore, MemoryVisibility};

    struct Done;

    impl Handler for Done {
        async fn handle(&self, _: &str, _: Event<'_>) -> Result<(), ActionError> {
            Ok(())
        }
    }

    #[test]
    fn metrics_are_off_unless_asked_for() {
        let process = Process::new(
            MemoryStore::new(),
            MemoryQueue::new(),
            MemoryVisibility::default(),
            Done,
            ProcessSettings::default(),
        );
        assert!(matches!(process.metrics, Metrics::Off));
        let process = process.with_metrics(Metrics::Stdout);
        assert!(matches!(process.metrics, Metrics::Stdout));
    }
}
