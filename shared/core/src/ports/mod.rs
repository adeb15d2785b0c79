//! Ports: the small traits the pipelines reach AWS through. Each has an SDK adapter (in
//! `inlet-aws`) and an in-memory fake (`memory`) for tests and benchmarks.

pub mod memory;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

/// A message for the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    /// String message attributes.
    pub attributes: Vec<(&'static str, String)>,
    /// FIFO queues only: the ordering group and the deduplication id.
    pub fifo: Option<FifoIds>,
    /// The X-Ray trace header to set as the message's `AWSTraceHeader` system attribute, which
    /// links the consuming Lambda's invocation to the sender's trace.
    pub xray_trace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoIds {
    pub group_id: String,
    pub deduplication_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The queue could not be reached or refused for a reason worth retrying.
    #[error("the queue is unavailable: {0}")]
    Unavailable(String),
    /// The queue refused this message for what it is.
    #[error("the queue refused the message: {0}")]
    Rejected(String),
}

/// Durable hand-off of a message. `Ok` only once the queue has stored it.
pub trait Queue: Send + Sync {
    fn send(
        &self,
        message: OutgoingMessage,
    ) -> impl Future<Output = Result<String, QueueError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretStoreError {
    #[error("no secret named `{0}`")]
    NotFound(String),
    #[error("the secret store failed: {0}")]
    Unavailable(String),
}

/// Where `secretsmanager:` references are read from.
pub trait SecretStore: Send + Sync {
    fn secret_string(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<String, SecretStoreError>> + Send;

    /// Writes a new current value: only for a secret a provider's handshake hands over (Asana,
    /// Notion), which the ingest function alone may write.
    fn put_secret_string(
        &self,
        id: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), SecretStoreError>> + Send;
}

/// A claim on an event key, as the idempotency store records it
/// (architecture.md § Idempotency record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub key: String,
    /// This claimer's id: completion and release are conditioned on it.
    pub token: String,
    pub payload_sha256: String,
    /// Epoch seconds.
    pub now: i64,
    /// Until when the claim keeps others out (epoch seconds).
    pub lease_until: i64,
    /// When the record may be forgotten (epoch seconds; the table's TTL attribute).
    pub expires_at: i64,
    pub attempts: u32,
    pub first_seen: String,
}

/// Which routes of an event are settled: kept in the idempotency record between tries, so a
/// retry, a redelivery or a redrive runs only the rest. Both empty for an event never tried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Routes that delivered the event.
    pub done: BTreeSet<String>,
    /// Routes that failed for good and whose failure is in the dead-letter queue: only a redrive
    /// of that dead letter (which names them) runs them again.
    pub dead: BTreeSet<String>,
    /// Routes that failed and wait to be tried again (or are held back), with their attempts so
    /// far: Inlet counts a route's attempts here, not by SQS's receive count, so a record that
    /// comes back early (another route of it is due, or a function died) runs nothing early and
    /// loses no count.
    pub waiting: BTreeMap<String, RouteRetry>,
}

impl Progress {
    pub fn is_empty(&self) -> bool {
        self.done.is_empty() && self.dead.is_empty() && self.waiting.is_empty()
    }
}

/// One route of one event between its tries (`route_state` in the DynamoDB item).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteRetry {
    /// Failed attempts so far (calls that reached, or tried to reach, the destination). Holds
    /// for an open breaker or a rate limit are not attempts.
    pub attempts: u32,
    /// Epoch milliseconds before which the route is not run again: its schedule's next step, a
    /// `Retry-After`, or a rate-limit slot. 0: at once.
    pub next_at_ms: i64,
    /// The last attempt's error, bounded (for the dead letter when the schedule runs out).
    pub last_error: String,
    /// A rate-limit slot (epoch ms) the route holds: the record was held back until then, and
    /// calls at it without taking another. 0: none.
    pub slot_ms: i64,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Ours: run the routes not yet done. `progress` is what earlier tries settled.
    New { progress: Progress },
    /// Completed before: acknowledge without running it again.
    Duplicate,
    /// Another claimer holds a live lease: try again later.
    Busy,
    /// The key was seen with a different payload.
    Conflict { recorded_sha256: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, an unreachable service: worth retrying.
    #[error("the idempotency store is unavailable: {0}")]
    Unavailable(String),
    /// Our claim is no longer ours (its lease expired and another claimer took over).
    #[error("the claim on this key is no longer ours")]
    ClaimLost,
}

/// The idempotency store: one conditional write decides a claim.
pub trait IdempotencyStore: Send + Sync {
    fn claim(&self, claim: &Claim)
    -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send;
    /// Marks the key completed, if the claim is still `token`'s.
    fn complete(
        &self,
        key: &str,
        token: &str,
        now: i64,
        expires_at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Gives the claim up, if it is still `token`'s, so a retry can claim again at once. With no
    /// progress the record goes; with some, it stays (unleased) with `progress`, for the next
    /// claim to find.
    fn release(
        &self,
        key: &str,
        token: &str,
        progress: &Progress,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Delays a received message's next delivery.
pub trait Visibility: Send + Sync {
    fn delay(
        &self,
        receipt_handle: &str,
        seconds: u32,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectStoreError {
    /// No object under that key (never written, or deleted or expired since).
    #[error("no object `{0}`")]
    NotFound(String),
    /// Throttling, timeouts, an unreachable or refusing service: worth retrying.
    #[error("the object store is unavailable: {0}")]
    Unavailable(String),
}

/// One bucket (the store is bound to it); keys are full object keys. Claim checks (payloads
/// beyond the queue's limit) and the archive go through it.
pub trait ObjectStore: Send + Sync {
    fn bucket(&self) -> &str;
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> impl Future<Output = Result<(), ObjectStoreError>> + Send;
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, ObjectStoreError>> + Send;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), ObjectStoreError>> + Send;
    /// Copies the object `source_key` of `source_bucket` to `key` in this store's bucket, inside
    /// the object store: the bytes never pass through here. `NotFound` when the source is gone.
    fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        key: &str,
    ) -> impl Future<Output = Result<(), ObjectStoreError>> + Send;
    /// Every key under `prefix` (all pages), in key order.
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, ObjectStoreError>> + Send;
}

/// A destination as its circuit breaker and rate limit know it: `key` names it in the table (its
/// kind and a hash of its target, so no URL's query or credentials are stored); `label` is what
/// a person reads (the target without query or credentials).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestinationId {
    pub key: String,
    pub label: String,
}

/// A destination's circuit breaker, as the shared store records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BreakerState {
    /// [`DestinationId::key`].
    pub key: String,
    /// [`DestinationId::label`].
    pub label: String,
    /// Open: records for the destination are held back, until `open_until_ms`; after that one
    /// probe may go through (half-open).
    pub open: bool,
    /// Failed calls in a row (reset by a success).
    pub failures: u32,
    pub open_until_ms: i64,
    /// Failed probes in a row since it opened: each doubles the cool-down.
    pub failed_probes: u32,
    /// While a probe is out: until when it holds the half-open breaker (epoch ms).
    pub probe_until_ms: i64,
    /// When it last opened or closed (epoch ms).
    pub changed_at_ms: i64,
}

impl BreakerState {
    /// Open, cool-down over, no probe out: the next caller may probe.
    pub fn half_open(&self, now_ms: i64) -> bool {
        self.open && self.open_until_ms <= now_ms && self.probe_until_ms <= now_ms
    }
}

/// What counting a failed call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerFailure {
    pub state: BreakerState,
    /// This failure is the one that opened the breaker (said once, by one function).
    pub opened: bool,
}

/// What asking for a probe of an open breaker found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Ours: call the destination once; its result closes or reopens the breaker.
    Granted,
    /// Not ours: the breaker as the store has it (closed again, still cooling down, or another
    /// function's probe is out).
    Denied(BreakerState),
}

/// A boxed future of the guards port: it is a trait object, as the pipeline holds it optionally.
pub type Guarding<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What every process function shares about each destination: its circuit breaker and its rate
/// limit (architecture.md § Outages). Conditional writes on the idempotency table; a closed
/// breaker with no failures costs nothing per delivery.
pub trait DeliveryGuards: Send + Sync + std::fmt::Debug {
    /// Counts a failed call, and opens the breaker (cool-down `cooldown_ms`) if that makes
    /// `threshold` failures in a row and it is closed.
    fn breaker_failed<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        threshold: u32,
        cooldown_ms: i64,
    ) -> Guarding<'a, BreakerFailure>;
    /// A failed probe: open again, for `cooldown_ms`, with one more failed probe counted.
    fn breaker_reopen<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        cooldown_ms: i64,
    ) -> Guarding<'a, BreakerState>;
    /// A call went through: closed, no failures. Returns whether it was open (a transition).
    fn breaker_succeeded<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
    ) -> Guarding<'a, bool>;
    /// Asks to probe a breaker whose cool-down is over; the probe holds it until `lease_until_ms`.
    fn breaker_probe<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Guarding<'a, ProbeOutcome>;
    /// Takes the next call slot of a destination whose calls are `interval_ms` apart: `now_ms`
    /// when it is free, else a later one (epoch ms) that is now reserved for the caller.
    fn rate_slot<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        interval_ms: i64,
    ) -> Guarding<'a, i64>;
    /// Every breaker the store records (for `inlet dev`'s inspector).
    fn breakers(&self) -> Guarding<'_, Vec<BreakerState>>;
}
