//! Ports: the small traits the pipelines reach AWS through. Each has an SDK adapter (`crate::aws`)
//! and an in-memory fake (`memory`) for tests and benchmarks.

pub mod memory;

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
}
