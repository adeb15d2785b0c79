//! The ingest pipeline's queue, as `inlet dev` wires it: the SQS queue, telling the inspector
//! each message it stored, so a delivery is known by its message id (copies of one event are
//! different messages) and shows its envelope as soon as it is queued rather than once the action
//! has run — which a duplicate, or a copy still waiting, never does.

use super::Inspector;
use inlet_aws::SqsQueue;
use inlet_core::ports::{OutgoingMessage, Queue, QueueError};
use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    /// The id of the message the request being answered was queued as.
    static SENT: RefCell<Option<String>>;
}

/// Runs one request's ingest, returning its output and the id of the message it queued, if any:
/// the server handles requests concurrently, so which request a send belongs to is the task's.
pub(in crate::dev) async fn watch<F: Future>(ingest: F) -> (F::Output, Option<String>) {
    SENT.scope(RefCell::new(None), async move {
        let output = ingest.await;
        (output, SENT.with(RefCell::take))
    })
    .await
}

pub(in crate::dev) struct RecordingQueue {
    queue: SqsQueue,
    inspector: Option<Inspector>,
}

impl RecordingQueue {
    pub(in crate::dev) fn new(queue: SqsQueue, inspector: Option<Inspector>) -> Self {
        Self { queue, inspector }
    }
}

impl Queue for RecordingQueue {
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        // The body is copied only when there is an inspector to tell.
        let body = self.inspector.as_ref().map(|_| message.body.clone());
        // When ingest handed the message over: the queue has it at some moment before the
        // answer, and process can claim it only after that, so the timeline stays in order.
        let at_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
        let started = std::time::Instant::now();
        let sent = self.queue.send(message).await;
        let took = started.elapsed();
        if let (Ok(message_id), Some(inspector), Some(body)) = (&sent, &self.inspector, body) {
            // Told before the answer goes out: the poller may take the message before the
            // server has recorded the request it came from.
            inspector.queued(message_id, &body, at_ms, took);
            let _ = SENT.try_with(|sent| *sent.borrow_mut() = Some(message_id.clone()));
        }
        sent
    }
}
