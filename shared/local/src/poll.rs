//! The event source mapping's loop body: receive a batch, run the process pipeline on it, and
//! delete what it did not report failed.

use crate::{StackError, StackSettings, failed};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use inlet_core::actions::Handler;
use inlet_core::ports::{IdempotencyStore, Queue, Visibility};
use inlet_core::process::{
    BatchOutcome, Deadline, ORIGIN_MESSAGE_ID, Process, QueuedRecord, ROUTES,
};
use std::time::Duration;

/// One poll of the event source mapping: what came in and what the pipeline made of it.
#[derive(Debug, Clone, Default)]
pub struct Poll {
    pub outcome: Option<BatchOutcome>,
    /// What came in, in the batch's order, so the outcomes can be told by event key and attempt.
    pub received: Vec<Received>,
    /// Records whose receive count reached the redrive limit and failed again: SQS moves them
    /// to the dead-letter queue on their next receive.
    pub exhausted: Vec<String>,
}

/// One received record, as far as its envelope could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    /// The envelope's idempotency key; `None` when the body is not an envelope.
    pub key: Option<String>,
    /// The envelope, when the body is one.
    pub envelope: Option<inlet_core::envelope::Envelope>,
    /// The message this delivery was first queued as: its own id, or the
    /// [`ORIGIN_MESSAGE_ID`] attribute of a redriven dead letter.
    pub origin_message_id: String,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
}

/// Receives up to `batch_size` records (long polling for `wait`), runs them through the process
/// pipeline, and deletes only those it did not report as failures — as Lambda does with
/// `ReportBatchItemFailures`.
pub async fn poll_once<St, Dl, Vi, H>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    process: &Process<St, Dl, Vi, H>,
    settings: &StackSettings,
    wait: Duration,
) -> Result<Poll, StackError>
where
    St: IdempotencyStore,
    Dl: Queue,
    Vi: Visibility,
    H: Handler,
{
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(settings.batch_size)
        .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(20).min(20))
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(failed("receive from the queue"))?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(Poll::default());
    }
    let records: Vec<QueuedRecord<'_>> = messages
        .iter()
        .map(|message| {
            let attribute = |name: MessageSystemAttributeName| {
                message
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&name))
                    .map(String::as_str)
            };
            QueuedRecord {
                message_id: message.message_id.as_deref().unwrap_or(""),
                receipt_handle: message.receipt_handle.as_deref().unwrap_or(""),
                body: message.body.as_deref().unwrap_or(""),
                receive_count: attribute(MessageSystemAttributeName::ApproximateReceiveCount)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
                group_id: attribute(MessageSystemAttributeName::MessageGroupId),
                source: message_attribute(message, "source"),
                origin_message_id: message_attribute(message, ORIGIN_MESSAGE_ID),
                routes: message_attribute(message, ROUTES),
            }
        })
        .collect();
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    let clock = Deadline {
        now_ms,
        deadline_ms: now_ms + i64::from(settings.process_timeout_secs) * 1000,
    };
    let outcome = process.handle_batch(&records, clock).await;
    let failures = outcome.failures();
    let exhausted = records
        .iter()
        .filter(|r| {
            failures.iter().any(|f| f == r.message_id)
                && r.receive_count >= settings.max_receive_count
        })
        .map(|r| r.message_id.to_owned())
        .collect();
    for record in records
        .iter()
        .filter(|r| !failures.iter().any(|f| f == r.message_id))
    {
        sqs.delete_message()
            .queue_url(queue_url)
            .receipt_handle(record.receipt_handle)
            .send()
            .await
            .map_err(failed("delete a processed record"))?;
    }
    let received = records
        .iter()
        .map(|r| {
            let envelope = inlet_core::envelope::Envelope::from_json(r.body).ok();
            Received {
                message_id: r.message_id.to_owned(),
                key: envelope.as_ref().map(|e| e.key.clone()),
                envelope,
                origin_message_id: r.origin().to_owned(),
                receive_count: r.receive_count,
            }
        })
        .collect();
    Ok(Poll {
        outcome: Some(outcome),
        received,
        exhausted,
    })
}

/// A string message attribute of a received message.
fn message_attribute<'a>(message: &'a aws_sdk_sqs::types::Message, name: &str) -> Option<&'a str> {
    message
        .message_attributes
        .as_ref()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value.as_deref())
}
