//! A record that cannot succeed, sent to the dead-letter queue with why, when and where from.

use super::deadline::Deadline;
use super::{ORIGIN_MESSAGE_ID, Process, QueuedRecord, RecordOutcome};
use crate::ports::{OutgoingMessage, Queue};
use inlet_signature::clock;

impl<St, Dl: Queue, Vi, H> Process<St, Dl, Vi, H> {
    pub(super) async fn dead_letter(
        &self,
        record: &QueuedRecord<'_>,
        source: &str,
        reason: &'static str,
        clock: Deadline,
    ) -> RecordOutcome {
        let mut attributes = vec![
            ("reason", reason.to_owned()),
            ("failed_at", clock::format_rfc3339_millis(clock.now_ms)),
            (ORIGIN_MESSAGE_ID, record.origin().to_owned()),
        ];
        if !source.is_empty() {
            attributes.push(("source", source.to_owned()));
        }
        let message = OutgoingMessage {
            body: record.body.to_owned(),
            attributes,
            fifo: record.group_id.map(|group| crate::ports::FifoIds {
                group_id: group.to_owned(),
                deduplication_id: record.message_id.to_owned(),
            }),
        };
        match self.dead_letters.send(message).await {
            Ok(_) => RecordOutcome::DeadLettered { reason },
            // Not in the dead-letter queue, so it must not be acknowledged either.
            Err(error) => RecordOutcome::Retry {
                reason: format!("{reason}, and the dead-letter queue failed: {error}"),
            },
        }
    }
}
