//! The local stack: the AWS resources `template.yaml` declares, created in whatever
//! `AWS_ENDPOINT_URL` points at (an emulator), and a poller that drives the process pipeline the
//! way Lambda's SQS event source mapping does.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use inlet_core::actions::Handler;
use inlet_core::ports::{IdempotencyStore, Queue, Visibility};
use inlet_core::process::{BatchOutcome, Deadline, Process, QueuedRecord};
use std::time::Duration;

/// The resource settings `template.yaml` declares; a test keeps the two in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettings {
    pub queue_name: String,
    pub dead_letter_queue_name: String,
    pub table_name: String,
    /// The process function's timeout, which the queue's visibility timeout must cover 6 times.
    pub process_timeout_secs: u32,
    pub visibility_timeout_secs: u32,
    pub max_receive_count: u32,
    pub queue_retention_secs: u32,
    pub dead_letter_retention_secs: u32,
    pub table_key: String,
    pub ttl_attribute: String,
    pub batch_size: i32,
}

impl Default for StackSettings {
    fn default() -> Self {
        Self {
            queue_name: "inlet-events".into(),
            dead_letter_queue_name: "inlet-events-dlq".into(),
            table_name: "inlet-idempotency".into(),
            process_timeout_secs: 30,
            visibility_timeout_secs: 180,
            max_receive_count: 5,
            queue_retention_secs: 345_600,
            dead_letter_retention_secs: 1_209_600,
            table_key: "pk".into(),
            ttl_attribute: "expires_at".into(),
            batch_size: 10,
        }
    }
}

/// Where the created resources are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub table_name: String,
}

#[derive(Debug, thiserror::Error)]
#[error("local stack: {step} failed: {detail}")]
pub struct StackError {
    step: &'static str,
    detail: String,
}

fn failed<E: std::error::Error>(step: &'static str) -> impl FnOnce(E) -> StackError {
    move |error| StackError {
        step,
        detail: aws_sdk_sqs::error::DisplayErrorContext(error).to_string(),
    }
}

/// Creates (or finds) the queue, dead-letter queue and table. Creating what exists is harmless.
pub async fn provision(
    sqs: &aws_sdk_sqs::Client,
    dynamodb: &aws_sdk_dynamodb::Client,
    settings: &StackSettings,
) -> Result<Stack, StackError> {
    let dead_letter_queue_url = sqs
        .create_queue()
        .queue_name(&settings.dead_letter_queue_name)
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            settings.dead_letter_retention_secs.to_string(),
        )
        .send()
        .await
        .map_err(failed("create the dead-letter queue"))?
        .queue_url
        .unwrap_or_default();
    let dead_letter_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letter_queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(failed("read the dead-letter queue's ARN"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default();
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead_letter_arn,
        "maxReceiveCount": settings.max_receive_count,
    });
    let queue_url = sqs
        .create_queue()
        .queue_name(&settings.queue_name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            settings.visibility_timeout_secs.to_string(),
        )
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            settings.queue_retention_secs.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(failed("create the queue"))?
        .queue_url
        .unwrap_or_default();

    let created = dynamodb
        .create_table()
        .table_name(&settings.table_name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&settings.table_key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(failed("describe the table key"))?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(&settings.table_key)
                .key_type(KeyType::Hash)
                .build()
                .map_err(failed("describe the table key"))?,
        )
        .send()
        .await;
    if let Err(error) = created {
        let exists = error
            .as_service_error()
            .is_some_and(|e| e.is_resource_in_use_exception());
        if !exists {
            return Err(failed("create the table")(error));
        }
    }
    dynamodb
        .update_time_to_live()
        .table_name(&settings.table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(&settings.ttl_attribute)
                .enabled(true)
                .build()
                .map_err(failed("describe the TTL"))?,
        )
        .send()
        .await
        .map(|_| ())
        .or_else(|error| {
            // Enabling TTL twice is refused with "already enabled": that is the state we want.
            let text = aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string();
            if text.contains("already enabled") {
                Ok(())
            } else {
                Err(failed("enable the TTL")(error))
            }
        })?;
    Ok(Stack {
        queue_url,
        dead_letter_queue_url,
        table_name: settings.table_name.clone(),
    })
}

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
                source: message
                    .message_attributes
                    .as_ref()
                    .and_then(|a| a.get("source"))
                    .and_then(|v| v.string_value.as_deref()),
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
        .map(|r| Received {
            message_id: r.message_id.to_owned(),
            key: inlet_core::envelope::Envelope::from_json(r.body)
                .ok()
                .map(|e| e.key),
            receive_count: r.receive_count,
        })
        .collect();
    Ok(Poll {
        outcome: Some(outcome),
        received,
        exhausted,
    })
}

/// A message in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    /// `reason`, `source`, `failed_at` where process set them; empty for records SQS redrove.
    pub attributes: std::collections::BTreeMap<String, String>,
    receipt_handle: String,
}

impl DeadLetter {
    /// The source: the attribute process set, else the envelope's.
    pub fn source(&self) -> Option<String> {
        self.attributes.get("source").cloned().or_else(|| {
            inlet_core::envelope::Envelope::from_json(&self.body)
                .ok()
                .map(|e| e.source)
        })
    }
}

/// Queue depths: (visible, in flight).
pub async fn depth(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<(u64, u64), StackError> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(failed("read the queue's depth"))?
        .attributes
        .unwrap_or_default();
    let read = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((
        read(QueueAttributeName::ApproximateNumberOfMessages),
        read(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}

/// Takes every message it can from `queue_url`, hidden for long enough to finish with them.
async fn take_all(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    limit: usize,
) -> Result<Vec<DeadLetter>, StackError> {
    let mut taken = Vec::new();
    while taken.len() < limit {
        let batch = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(60)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(failed("receive from the dead-letter queue"))?
            .messages
            .unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        for message in batch {
            let attributes = message
                .message_attributes
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(name, value)| Some((name, value.string_value?)))
                .collect();
            taken.push(DeadLetter {
                message_id: message.message_id.unwrap_or_default(),
                body: message.body.unwrap_or_default(),
                attributes,
                receipt_handle: message.receipt_handle.unwrap_or_default(),
            });
        }
    }
    Ok(taken)
}

/// Makes messages visible again at once: what was only looked at goes back as it was.
async fn put_back(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    letters: &[DeadLetter],
) -> Result<(), StackError> {
    for letter in letters {
        sqs.change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(&letter.receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(failed("put a message back"))?;
    }
    Ok(())
}

/// Up to `n` dead letters, left in the queue.
pub async fn peek(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    n: usize,
) -> Result<Vec<DeadLetter>, StackError> {
    let mut letters = take_all(sqs, queue_url, n).await?;
    put_back(sqs, queue_url, &letters).await?;
    letters.truncate(n);
    Ok(letters)
}

/// Moves dead letters (of one source, or all) back to the queue: receive → send → delete, which
/// works on every emulator, unlike `StartMessageMoveTask`. `progress` is called after each one.
/// With `dry_run`, nothing moves and the count says what would.
pub async fn redrive(
    sqs: &aws_sdk_sqs::Client,
    dead_letter_queue_url: &str,
    queue_url: &str,
    source: Option<&str>,
    dry_run: bool,
    mut progress: impl FnMut(usize, usize),
) -> Result<usize, StackError> {
    let letters = take_all(sqs, dead_letter_queue_url, usize::MAX).await?;
    let (chosen, others): (Vec<_>, Vec<_>) = letters
        .into_iter()
        .partition(|letter| source.is_none_or(|s| letter.source().as_deref() == Some(s)));
    put_back(sqs, dead_letter_queue_url, &others).await?;
    if dry_run {
        put_back(sqs, dead_letter_queue_url, &chosen).await?;
        return Ok(chosen.len());
    }
    for (done, letter) in chosen.iter().enumerate() {
        let mut send = sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(&letter.body);
        // The failure's own attributes stay behind: a redriven event starts afresh.
        for (name, value) in letter
            .attributes
            .iter()
            .filter(|(n, _)| !matches!(n.as_str(), "reason" | "failed_at"))
        {
            let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(failed("copy an attribute"))?;
            send = send.message_attributes(name, attribute);
        }
        send.send()
            .await
            .map_err(failed("send back to the queue"))?;
        sqs.delete_message()
            .queue_url(dead_letter_queue_url)
            .receipt_handle(&letter.receipt_handle)
            .send()
            .await
            .map_err(failed("delete from the dead-letter queue"))?;
        progress(done + 1, chosen.len());
    }
    Ok(chosen.len())
}
