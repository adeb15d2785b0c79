//! The queues from the outside: depths, and the dead-letter queue's peek and redrive.

use crate::{StackError, failed};
use aws_sdk_sqs::types::QueueAttributeName;
use inlet_core::envelope::Envelope;
use inlet_core::process::{ORIGIN_MESSAGE_ID, ROUTE_ERRORS, SCHEMA_ERRORS};

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
    /// The envelope the message carries, unless it is unreadable (`unparseable_envelope`).
    pub fn envelope(&self) -> Option<Envelope> {
        Envelope::from_json(&self.body).ok()
    }

    /// The source: the attribute process set, else the envelope's.
    pub fn source(&self) -> Option<String> {
        self.attributes
            .get("source")
            .cloned()
            .or_else(|| self.envelope().map(|e| e.source))
    }

    /// The event's idempotency key, `source#event id`: every copy of one event has the same.
    pub fn key(&self) -> Option<String> {
        self.envelope().map(|e| e.key)
    }

    /// The id of the message this delivery was first queued as: the attribute process and
    /// redrives set, else this message's own id (SQS's redrive policy moves a message to the
    /// dead-letter queue under the id it had).
    pub fn origin(&self) -> &str {
        self.attributes
            .get(ORIGIN_MESSAGE_ID)
            .map_or(&self.message_id, String::as_str)
    }
}

/// A dead letter sent back to the queue: the letter, and the id of the message it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redriven {
    pub letter: DeadLetter,
    /// Empty for a dry run, which sends nothing.
    pub message_id: String,
}

/// Which dead letters a redrive or a delete takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection<'a> {
    All,
    /// Those of one source.
    Source(&'a str),
    /// Every copy of one event, by its key.
    Key(&'a str),
    /// One delivery's dead letter, by the id of the message it was first queued as
    /// ([`DeadLetter::origin`]).
    Origin(&'a str),
}

impl Selection<'_> {
    pub fn takes(&self, letter: &DeadLetter) -> bool {
        match self {
            Self::All => true,
            Self::Source(source) => letter.source().as_deref() == Some(*source),
            Self::Key(key) => letter.key().as_deref() == Some(*key),
            Self::Origin(origin) => letter.origin() == *origin,
        }
    }
}

/// Where a bulk operation is, for a progress display: `done` of `total` (unknown while the
/// queue is still being read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is being done: "reading", "redriving", "deleting".
    pub doing: &'static str,
    pub done: usize,
    pub total: Option<usize>,
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
    take_all_showing(sqs, queue_url, limit, &mut |_| {}).await
}

/// [`take_all`], telling `progress` how many it has so far.
async fn take_all_showing(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    limit: usize,
    progress: &mut (dyn FnMut(Progress) + Send),
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
        progress(Progress {
            doing: "reading",
            done: taken.len(),
            total: None,
        });
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

/// Every dead letter, left in the queue: what `inlet dlq peek` shows, copies and all.
pub async fn peek_all(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Vec<DeadLetter>, StackError> {
    let letters = take_all_showing(sqs, queue_url, usize::MAX, progress).await?;
    put_back(sqs, queue_url, &letters).await?;
    Ok(letters)
}

/// Takes the dead letters `selection` names, putting the others straight back.
async fn take_selected(
    sqs: &aws_sdk_sqs::Client,
    dead_letter_queue_url: &str,
    selection: Selection<'_>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Vec<DeadLetter>, StackError> {
    let letters = take_all_showing(sqs, dead_letter_queue_url, usize::MAX, progress).await?;
    let (chosen, others): (Vec<_>, Vec<_>) = letters
        .into_iter()
        .partition(|letter| selection.takes(letter));
    put_back(sqs, dead_letter_queue_url, &others).await?;
    Ok(chosen)
}

/// Moves dead letters (of one source, or all) back to the queue, as [`redrive_selected`] does;
/// `progress` gets (done, total) after each one. Returns how many moved (or would have).
pub async fn redrive(
    sqs: &aws_sdk_sqs::Client,
    dead_letter_queue_url: &str,
    queue_url: &str,
    source: Option<&str>,
    dry_run: bool,
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<usize, StackError> {
    let selection = source.map_or(Selection::All, Selection::Source);
    let moved = redrive_selected(
        sqs,
        dead_letter_queue_url,
        queue_url,
        selection,
        dry_run,
        &mut |p| {
            if let Some(total) = p.total {
                progress(p.done, total);
            }
        },
    )
    .await?;
    Ok(moved.len())
}

/// Moves the dead letters `selection` names back to the queue: receive → send → delete, which
/// works on every emulator, unlike `StartMessageMoveTask`. `progress` is told after each one.
/// With `dry_run`, nothing moves. Returns the letters it moved (or would have), each with the id
/// of the message it now is.
pub async fn redrive_selected(
    sqs: &aws_sdk_sqs::Client,
    dead_letter_queue_url: &str,
    queue_url: &str,
    selection: Selection<'_>,
    dry_run: bool,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Vec<Redriven>, StackError> {
    let chosen = take_selected(sqs, dead_letter_queue_url, selection, progress).await?;
    if dry_run {
        put_back(sqs, dead_letter_queue_url, &chosen).await?;
        return Ok(chosen
            .into_iter()
            .map(|letter| Redriven {
                letter,
                message_id: String::new(),
            })
            .collect());
    }
    let mut moved = Vec::with_capacity(chosen.len());
    let total = chosen.len();
    for (done, letter) in chosen.into_iter().enumerate() {
        let mut send = sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(&letter.body);
        // The failure's own attributes stay behind: a redriven event starts afresh. The origin
        // goes with it, so the copy stays the same delivery wherever it is seen, and so do the
        // failed routes (`routes`), so the redriven record runs only those.
        let origin = letter.origin().to_owned();
        let kept = letter
            .attributes
            .iter()
            .filter(|(n, _)| {
                !matches!(
                    n.as_str(),
                    "reason" | "failed_at" | ROUTE_ERRORS | SCHEMA_ERRORS | ORIGIN_MESSAGE_ID
                )
            })
            .map(|(n, v)| (n.as_str(), v.as_str()));
        for (name, value) in kept.chain([(ORIGIN_MESSAGE_ID, origin.as_str())]) {
            let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(failed("copy an attribute"))?;
            send = send.message_attributes(name, attribute);
        }
        let sent = send
            .send()
            .await
            .map_err(failed("send back to the queue"))?;
        sqs.delete_message()
            .queue_url(dead_letter_queue_url)
            .receipt_handle(&letter.receipt_handle)
            .send()
            .await
            .map_err(failed("delete from the dead-letter queue"))?;
        progress(Progress {
            doing: "redriving",
            done: done + 1,
            total: Some(total),
        });
        moved.push(Redriven {
            letter,
            message_id: sent.message_id.unwrap_or_default(),
        });
    }
    Ok(moved)
}

/// Deletes the dead letters `selection` names, for good. With `dry_run`, nothing goes.
/// Returns the letters it deleted (or would have).
pub async fn delete(
    sqs: &aws_sdk_sqs::Client,
    dead_letter_queue_url: &str,
    selection: Selection<'_>,
    dry_run: bool,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Vec<DeadLetter>, StackError> {
    let chosen = take_selected(sqs, dead_letter_queue_url, selection, progress).await?;
    if dry_run {
        put_back(sqs, dead_letter_queue_url, &chosen).await?;
        return Ok(chosen);
    }
    for (done, letter) in chosen.iter().enumerate() {
        sqs.delete_message()
            .queue_url(dead_letter_queue_url)
            .receipt_handle(&letter.receipt_handle)
            .send()
            .await
            .map_err(failed("delete from the dead-letter queue"))?;
        progress(Progress {
            doing: "deleting",
            done: done + 1,
            total: Some(chosen.len()),
        });
    }
    Ok(chosen)
}
