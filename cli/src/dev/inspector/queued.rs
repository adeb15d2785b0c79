//! The ingest pipeline's queue, as `inlet dev` wires it: the SQS queue, telling the inspector
//! each envelope it stored, so a delivery shows its envelope (and event type) as soon as it is
//! queued rather than once the action has run — which a duplicate, or a copy still waiting,
//! never does.

use super::Inspector;
use inlet_aws::SqsQueue;
use inlet_core::ports::{OutgoingMessage, Queue, QueueError};

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
        let sent = self.queue.send(message).await;
        if sent.is_ok()
            && let (Some(inspector), Some(body)) = (&self.inspector, body)
        {
            inspector.queued(&body);
        }
        sent
    }
}
