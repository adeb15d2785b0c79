//! One record: its envelope read, its key claimed, a claim-checked body fetched, the action run
//! and the claim completed (or released), and the record's outcome from that.

use super::deadline::{ACTION_DEADLINE_MARGIN_MS, Budget, Deadline};
use super::{PAYLOAD_CONFLICT, Process, QueuedRecord, RecordOutcome};
use crate::actions::{ActionError, Event, Handled, Handler};
use crate::claims::{ClaimError, PayloadStore};
use crate::envelope::Envelope;
use crate::metrics;
use crate::ports::{
    Claim, ClaimOutcome, IdempotencyStore, ObjectStoreError, Queue, StoreError, Visibility,
};
use inlet_signature::clock;

/// Completion writes per event, and the pause before the second (doubling after), on top of the
/// SDK's own retries.
const COMPLETE_ATTEMPTS: u32 = 4;
const COMPLETE_RETRY_PAUSE_MS: i64 = 200;

impl<St, Dl, Vi, H> Process<St, Dl, Vi, H>
where
    St: IdempotencyStore,
    Dl: Queue,
    Vi: Visibility,
    H: Handler,
{
    pub(super) async fn run_record(
        &self,
        record: &QueuedRecord<'_>,
        parsed: &Result<Envelope, crate::envelope::EnvelopeError>,
        clock: Deadline,
        budget: Budget,
    ) -> (RecordOutcome, Vec<f64>) {
        let (outcome, forward_ms) = match parsed {
            Ok(envelope) => {
                metrics::collect_forward_latencies(self.run_event(record, envelope, clock, budget))
                    .await
            }
            Err(error) => {
                tracing::warn!(message_id = record.message_id, %error, "unreadable envelope");
                (Attempt::Permanent("unparseable_envelope"), Vec::new())
            }
        };
        let source = source_of(record, parsed);
        let key = parsed.as_ref().map(|e| e.key.as_str()).unwrap_or("");
        let result = match outcome {
            Attempt::Processed => RecordOutcome::Processed,
            Attempt::Unrouted => RecordOutcome::Unrouted,
            Attempt::Duplicate => RecordOutcome::Duplicate,
            Attempt::Transient(reason) => {
                let delay = self.settings.backoff_secs(record.receive_count);
                if let Err(error) = self.visibility.delay(record.receipt_handle, delay).await {
                    tracing::warn!(key, %error, "could not delay the retry; SQS will use the visibility timeout");
                }
                RecordOutcome::Retry { reason }
            }
            Attempt::Permanent(reason) => self.dead_letter(record, source, reason, clock).await,
        };
        // Absent from the line when no forward answered.
        let forward_total = (!forward_ms.is_empty()).then(|| forward_ms.iter().sum::<f64>());
        match &result {
            RecordOutcome::Retry { reason } => {
                tracing::warn!(key, source, receive_count = record.receive_count, reason = %reason, forward_ms = forward_total, "will retry");
            }
            other => {
                tracing::info!(key, source, outcome = ?other, forward_ms = forward_total, "record done")
            }
        }
        (result, forward_ms)
    }

    /// Runs one event, then deletes its claim-checked body once the event is done (processed,
    /// unrouted, or found done before). A body whose event failed stays: a retry, or a redrive
    /// from the dead-letter queue, needs it (the bucket's lifecycle outlives the dead-letter
    /// queue's retention).
    async fn run_event(
        &self,
        record: &QueuedRecord<'_>,
        envelope: &Envelope,
        clock: Deadline,
        budget: Budget,
    ) -> Attempt {
        let attempt = self.attempt_event(record, envelope, clock, budget).await;
        if let (Some(reference), Some(payloads)) = (&envelope.body_ref, &self.payloads)
            && matches!(
                attempt,
                Attempt::Processed | Attempt::Unrouted | Attempt::Duplicate
            )
        {
            payloads.discard(reference).await;
        }
        attempt
    }

    async fn attempt_event(
        &self,
        record: &QueuedRecord<'_>,
        envelope: &Envelope,
        clock: Deadline,
        budget: Budget,
    ) -> Attempt {
        // The body, or for a claim check where it is and the body's hash from its reference:
        // the claim needs only that, so a copy of an event already done is never read from the
        // bucket.
        let (body, payload_sha256) = match &envelope.body_ref {
            None => match envelope.body_bytes() {
                Ok(body) => {
                    let sha = hex::encode(inlet_signature::sha256(&body));
                    (Body::Inline(body), sha)
                }
                Err(_) => return Attempt::Permanent("unparseable_envelope"),
            },
            Some(reference) => {
                // Checked before anything is claimed or read: a reference to another bucket or
                // outside `claims/` is input from whoever could send to the queue.
                let checked = match &self.payloads {
                    Some(payloads) => payloads.check(reference).map(|()| payloads.as_ref()),
                    None => Err(ClaimError::Refused {
                        bucket: reference.bucket.clone(),
                        key: reference.key.clone(),
                    }),
                };
                match checked {
                    Ok(payloads) => (Body::Claimed(payloads, reference), reference.sha256.clone()),
                    Err(error) => {
                        tracing::warn!(key = %envelope.key, %error, "payload reference refused");
                        return Attempt::Permanent(error.code());
                    }
                }
            }
        };
        // Checked before the claim: an action with no time at all would only be cut off at once,
        // after a claim and a release for nothing, with a reason that hides why.
        let left_ms = budget.left_ms();
        if left_ms <= ACTION_DEADLINE_MARGIN_MS {
            return Attempt::Transient(format!(
                "only {} ms were left before the function's deadline (margin \
                 {ACTION_DEADLINE_MARGIN_MS} ms): not started",
                left_ms.max(0)
            ));
        }
        let now = clock.now_ms.div_euclid(1000);
        let claim = Claim {
            // A replayed event is claimed in its replay run's namespace: it runs again, once.
            key: envelope.claim_key(),
            token: format!(
                "{}/{}/{}",
                record.message_id, record.receive_count, clock.now_ms
            ),
            payload_sha256,
            now,
            lease_until: clock.deadline_ms.div_euclid(1000) + self.settings.lease_margin_secs,
            expires_at: now + self.settings.record_ttl_secs,
            attempts: record.receive_count,
            first_seen: envelope.received_at.clone(),
        };
        match self.store.claim(&claim).await {
            Ok(ClaimOutcome::New) => {}
            Ok(ClaimOutcome::Duplicate) => return Attempt::Duplicate,
            Ok(ClaimOutcome::Busy) => return Attempt::Transient("in progress elsewhere".into()),
            Ok(ClaimOutcome::Conflict { .. }) => return Attempt::Permanent(PAYLOAD_CONFLICT),
            Err(error) => return Attempt::Transient(error.to_string()),
        }
        // A claim-checked body waits for its turn to be held (and holds it through the action),
        // then is read; both within the actions' time, like the action itself.
        let (_turn, body) = match body {
            Body::Inline(body) => (None, body),
            Body::Claimed(payloads, reference) => {
                let read = async {
                    let turn = self.large_bodies.acquire().await.ok();
                    (turn, payloads.fetch(reference).await)
                };
                let (turn, fetched) = tokio::time::timeout_at(budget.actions_end(), read)
                    .await
                    .unwrap_or_else(|_| {
                        (
                            None,
                            Err(ClaimError::Unavailable(ObjectStoreError::Unavailable(
                                "no time was left before the function's deadline to read the body"
                                    .into(),
                            ))),
                        )
                    });
                match fetched {
                    Ok(body) => (turn, body),
                    Err(error) => {
                        // Let the next try (or a redrive) claim at once.
                        if let Err(release) = self.store.release(&claim.key, &claim.token).await {
                            tracing::warn!(key = %claim.key, error = %release, "could not release the claim; it will expire");
                        }
                        tracing::warn!(key = %claim.key, %error, "could not read the body");
                        return if error.is_transient() {
                            Attempt::Transient(error.to_string())
                        } else {
                            Attempt::Permanent(error.code())
                        };
                    }
                }
            }
        };
        // What the action gets, after the claim's own round trip.
        let action_ms = (budget.left_ms() - ACTION_DEADLINE_MARGIN_MS).max(0);
        let action = self.handler.handle(Event {
            envelope,
            body: &body,
            message_id: record.message_id,
        });
        // An action still running when Lambda's deadline hits would be killed with the whole
        // batch, every record's answer lost with it: it is cut off in time to release its claim
        // and report it for a retry like any other timeout.
        let handled = tokio::time::timeout_at(budget.actions_end(), action)
            .await
            .unwrap_or_else(|_| {
                Err(ActionError::Transient(format!(
                    "the action did not finish in the {action_ms} ms it had before the \
                     function's deadline (margin {ACTION_DEADLINE_MARGIN_MS} ms): cut off"
                )))
            });
        match handled {
            Ok(handled) => {
                let completed_at = clock::epoch_millis(std::time::SystemTime::now())
                    .div_euclid(1000)
                    .max(now);
                match self.mark_completed(&claim, completed_at, clock).await {
                    Ok(()) => {}
                    Err(StoreError::ClaimLost) => {
                        // Our lease ran out and another claimer took the key: it will finish the
                        // job, so retrying here would only run the action once more.
                        tracing::warn!(key = %claim.key, "completed after the claim was lost");
                    }
                    Err(StoreError::Unavailable(error)) => {
                        // The action has run. Sent round again, the record would find our claim,
                        // wait out its lease and run the action a second time; acknowledged, only
                        // a copy of the event arriving after the lease could.
                        tracing::error!(key = %claim.key, %error, "the action ran but could not be marked completed: acknowledged, not run again");
                    }
                }
                match handled {
                    Handled::Done => Attempt::Processed,
                    Handled::Unrouted => Attempt::Unrouted,
                }
            }
            Err(error) => {
                // Let the next try claim at once instead of waiting out the lease.
                if let Err(release) = self.store.release(&claim.key, &claim.token).await {
                    tracing::warn!(key = %claim.key, error = %release, "could not release the claim; it will expire");
                }
                match error {
                    ActionError::Transient(reason) => Attempt::Transient(reason),
                    ActionError::Permanent(reason) => {
                        tracing::warn!(key = %claim.key, reason = %reason, "action failed permanently");
                        Attempt::Permanent("action_failed")
                    }
                }
            }
        }
    }

    /// Marks the claim completed, trying again over a short store outage or throttling (while
    /// the deadline allows): the action has already run, and an unmarked key is what lets it run
    /// twice.
    async fn mark_completed(
        &self,
        claim: &Claim,
        completed_at: i64,
        clock: Deadline,
    ) -> Result<(), StoreError> {
        let mut pause_ms = COMPLETE_RETRY_PAUSE_MS;
        let mut attempt = 1;
        loop {
            let result = self
                .store
                .complete(&claim.key, &claim.token, completed_at, claim.expires_at)
                .await;
            let now_ms = clock::epoch_millis(std::time::SystemTime::now());
            match result {
                Err(StoreError::Unavailable(error))
                    if attempt < COMPLETE_ATTEMPTS && now_ms + pause_ms < clock.deadline_ms =>
                {
                    tracing::warn!(key = %claim.key, %error, attempt, "could not mark completed; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(
                        u64::try_from(pause_ms).unwrap_or(0),
                    ))
                    .await;
                    pause_ms *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// The source a record counts under: its envelope's, else the one ingest set as an attribute.
pub(super) fn source_of<'a>(
    record: &QueuedRecord<'a>,
    parsed: &'a Result<Envelope, crate::envelope::EnvelopeError>,
) -> &'a str {
    parsed
        .as_ref()
        .map(|e| e.source.as_str())
        .ok()
        .or(record.source)
        .unwrap_or("")
}

/// A record's body before its claim: in the envelope, or a claim check in the payload bucket,
/// read only once the claim is new.
enum Body<'a> {
    Inline(Vec<u8>),
    Claimed(&'a dyn PayloadStore, &'a crate::envelope::BodyRef),
}

enum Attempt {
    Processed,
    Unrouted,
    Duplicate,
    Transient(String),
    Permanent(&'static str),
}
