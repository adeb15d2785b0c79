//! Sending the events to the queue, in batches, each as ingest would have queued it.

use crate::dlq::Shown;
use crate::error::CliError;
use crate::state::Target;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use inlet_core::envelope::Envelope;
use inlet_local::{Progress, StackSettings};

/// SendMessageBatch takes at most 10 entries and 1 MiB in all.
const BATCH_ENTRIES: usize = 10;
const BATCH_BYTES: usize = 1024 * 1024;
/// Tries of the entries SQS refused for reasons worth retrying (throttling, its own errors).
const SEND_ATTEMPTS: u32 = 3;
fn attribute(value: &str) -> Result<MessageAttributeValue, CliError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| CliError::Failed(format!("cannot build a message attribute: {e}")))
}

/// The queue message for a replayed event: the envelope with this run's id, and the attributes
/// ingest sets, so process and `inlet dlq` see it as any other.
fn entry(
    index: usize,
    envelope: &Envelope,
    fifo: bool,
) -> Result<SendMessageBatchRequestEntry, CliError> {
    let body = envelope.to_json();
    let mut builder = SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(body)
        .message_attributes("source", attribute(&envelope.source)?);
    if let Some(event_type) = &envelope.event_type {
        builder = builder.message_attributes("event_type", attribute(event_type)?);
    }
    if fifo {
        // As ingest does, with the claim key: each run's copy is its own message.
        builder = builder
            .message_group_id(envelope.source.as_str())
            .message_deduplication_id(hex::encode(inlet_signature::sha256(
                envelope.claim_key().as_bytes(),
            )));
    }
    builder
        .build()
        .map_err(|e| CliError::Failed(format!("cannot build a queue message: {e}")))
}

/// Sends `events` in batches of up to 10 (and 1 MiB); gives how many were sent and a line per
/// event that was not.
pub(super) async fn send_all(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    events: &[Envelope],
    progress: &mut Shown,
) -> Result<(usize, Vec<String>), CliError> {
    let fifo = queue_url.ends_with(".fifo");
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for (index, envelope) in events.iter().enumerate() {
        // The body and, generously, its attributes: SQS counts both toward the batch's limit.
        let size = envelope.to_json().len() + 256;
        match batches.last_mut() {
            Some(batch) if batch.len() < BATCH_ENTRIES && bytes + size <= BATCH_BYTES => {
                batch.push(index);
                bytes += size;
            }
            _ => {
                batches.push(vec![index]);
                bytes = size;
            }
        }
    }
    let mut sent = 0;
    let mut failed = Vec::new();
    for batch in batches {
        progress.show(Progress {
            doing: "sending",
            done: sent + failed.len(),
            total: Some(events.len()),
        });
        let mut pending = batch;
        for attempt in 1..=SEND_ATTEMPTS {
            let mut request = sqs.send_message_batch().queue_url(queue_url);
            for &index in &pending {
                request = request.entries(entry(index, &events[index], fifo)?);
            }
            let output = match request.send().await {
                Ok(output) => output,
                Err(_) if attempt < SEND_ATTEMPTS => {
                    pause(attempt).await;
                    continue;
                }
                Err(error) => {
                    let why = inlet_local::one_line(&error);
                    failed.extend(
                        pending
                            .iter()
                            .map(|&i| format!("{}: not sent: {why}", events[i].key)),
                    );
                    pending.clear();
                    break;
                }
            };
            sent += output.successful.len();
            let mut again = Vec::new();
            for refused in output.failed {
                let Some(index) = refused
                    .id
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < events.len())
                else {
                    continue;
                };
                let why = refused.message.unwrap_or(refused.code);
                if refused.sender_fault || attempt == SEND_ATTEMPTS {
                    failed.push(format!("{}: not sent: {why}", events[index].key));
                } else {
                    again.push(index);
                }
            }
            pending = again;
            if pending.is_empty() {
                break;
            }
            pause(attempt).await;
        }
    }
    progress.show(Progress {
        doing: "sending",
        done: sent + failed.len(),
        total: Some(events.len()),
    });
    progress.finish();
    Ok((sent, failed))
}
/// A short pause before trying again, longer each time.
async fn pause(attempt: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
}

/// The queue to send to: the running `inlet dev`'s, `INLET_QUEUE_URL`, or the stack's name.
pub(super) async fn queue_url(
    target: &Target,
    sqs: &aws_sdk_sqs::Client,
) -> Result<String, CliError> {
    if let Target::Local(state) = target {
        return Ok(state.queue_url.clone());
    }
    crate::dlq::queue_url(sqs, "INLET_QUEUE_URL", &StackSettings::default().queue_name).await
}
