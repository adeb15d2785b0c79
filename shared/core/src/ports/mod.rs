//! Ports: the small traits the pipelines reach AWS through. Each has an SDK adapter (in
//! `inlet-aws`) and an in-memory fake (`memory`) for tests and benchmarks.

pub mod memory;

use std::collections::BTreeSet;
use std::future::Future;

/// A message for the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    /// String message attributes.
    pub attributes: Vec<(&'static str, String)>,
    /// FIFO queues only: the ordering group and the deduplication id.
    pub fifo: Option<FifoIds>,
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
}

impl Progress {
    pub fn is_empty(&self) -> bool {
        self.done.is_empty() && self.dead.is_empty()
    }
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
