//! The process pipeline: a batch of queued envelopes in, the ids of the records SQS should retry
//! out (docs/architecture.md: Flow, Idempotency record, Dead letters).
//!
//! Each record is claimed in the idempotency store with one conditional write, handled, and
//! marked completed. Records run concurrently (bounded), except that records of one FIFO group,
//! or with the same key in a standard queue, run in order in one lane: the second of two copies
//! then finds the first completed instead of racing it, and a lane stops at its first failure, so
//! a failed action is neither repeated in the same batch nor overtaken.

use crate::actions::{ActionError, Event, Handled, Handler};
use crate::archive::{ArchiveError, BatchArchive};
use crate::claims::{ClaimError, PayloadStore};
use crate::config::ProcessSettings;
use crate::envelope::Envelope;
use crate::metrics::{self, Metrics};
use crate::ports::{
    Claim, ClaimOutcome, IdempotencyStore, ObjectStoreError, OutgoingMessage, Queue, StoreError,
    Visibility,
};
use futures_util::StreamExt as _;
use inlet_signature::clock;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One SQS record, as the pipeline needs it.
#[derive(Debug, Clone, Copy)]
pub struct QueuedRecord<'a> {
    pub message_id: &'a str,
    pub receipt_handle: &'a str,
    pub body: &'a str,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    /// FIFO queues: `MessageGroupId`.
    pub group_id: Option<&'a str>,
    /// The `source` message attribute ingest set, so that even a record whose envelope cannot be
    /// read is dead-lettered with its source.
    pub source: Option<&'a str>,
    /// The [`ORIGIN_MESSAGE_ID`] attribute: set on a record that is a redriven dead letter, it
    /// names the message ingest first queued. `None` on a record as ingest queued it.
    pub origin_message_id: Option<&'a str>,
}

/// The message attribute that names the message a delivery was first queued as. Dead letters
/// and redriven records are new messages with new ids; this one id follows a delivery through
/// every copy, so a tool (or a person reading the dead-letter queue next to the logs) can tell
/// which delivery each is, even among several copies of one event.
pub const ORIGIN_MESSAGE_ID: &str = "origin_message_id";

impl QueuedRecord<'_> {
    /// The id of the message this delivery was first queued as: its own, unless it was redriven.
    pub fn origin(&self) -> &str {
        self.origin_message_id.unwrap_or(self.message_id)
    }
}

/// Completion writes per event, and the pause before the second (doubling after), on top of the
/// SDK's own retries.
const COMPLETE_ATTEMPTS: u32 = 4;
const COMPLETE_RETRY_PAUSE_MS: i64 = 200;

/// The dead-letter reason of a key seen again with a different payload.
const PAYLOAD_CONFLICT: &str = "payload_conflict";

/// How one record ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Processed,
    Unrouted,
    Duplicate,
    /// Reported to SQS as a batch item failure, to be retried.
    Retry {
        reason: String,
    },
    /// Sent to the dead-letter queue and acknowledged.
    DeadLettered {
        reason: &'static str,
    },
    /// Not attempted: an earlier record of its FIFO group, or a copy with its key, failed.
    Skipped,
}

impl RecordOutcome {
    /// The outcome as the metrics count it.
    pub(crate) fn metric(&self) -> metrics::RecordCount {
        match self {
            Self::Processed => metrics::RecordCount::Processed,
            Self::Unrouted => metrics::RecordCount::Unrouted,
            Self::Duplicate => metrics::RecordCount::Duplicate,
            Self::Retry { .. } => metrics::RecordCount::FailedTransient,
            Self::DeadLettered { reason } => metrics::RecordCount::DeadLettered {
                conflict: *reason == PAYLOAD_CONFLICT,
            },
            Self::Skipped => metrics::RecordCount::Skipped,
        }
    }

    /// Whether SQS should deliver the record again.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Retry { .. } | Self::Skipped)
    }
}

/// What a batch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Per record, in the batch's order.
    pub outcomes: Vec<(String, RecordOutcome)>,
}

impl BatchOutcome {
    /// The message ids for `SqsBatchResponse.batchItemFailures`.
    pub fn failures(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_failure())
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// The process pipeline over its ports.
#[derive(Debug)]
pub struct Process<St, Dl, Vi, H> {
    store: St,
    dead_letters: Dl,
    visibility: Vi,
    handler: H,
    settings: ProcessSettings,
    metrics: Metrics,
    /// `[archive]`: where each batch's envelopes are kept before any of its records is
    /// acknowledged. Behind a trait object so an archive (or none) leaves the pipeline's type
    /// alone.
    archive: Option<Arc<dyn BatchArchive>>,
    /// Where the bodies of envelopes that carry a `body_ref` are (claim checks). Without it,
    /// such an envelope is dead-lettered unread.
    payloads: Option<Arc<dyn PayloadStore>>,
    /// Claim-checked bodies held at once: each may be several megabytes, the function has
    /// 128 MB, and a batch's lanes run concurrently.
    large_bodies: tokio::sync::Semaphore,
    /// Whether a batch has already come with a deadline that cannot be right: said once per
    /// pipeline (in Lambda, once per execution environment), not on every batch.
    warned_unknown_deadline: AtomicBool,
}

/// How many claim-checked bodies a batch holds in memory at once: at the largest body
/// (`MAX_BODY_BYTES`, about 4.5 MiB) and a copy for the action, about 20 MiB, well inside the
/// function's 128 MB beside everything else. Further large records wait for a turn.
pub const LARGE_BODIES_AT_ONCE: usize = 2;

/// How long before the function's deadline an unfinished action is cut off: time for releasing
/// its claim, delaying its retry and answering the batch.
pub const ACTION_DEADLINE_MARGIN_MS: i64 = 2_000;

/// How long a batch may run when its deadline is not known: the process function's `Timeout` in
/// template.yaml, well inside the queue's visibility timeout, so no record comes back while its
/// action may still be running.
pub const UNKNOWN_DEADLINE_TIMEOUT_MS: i64 = 30_000;

/// Lambda's longest function timeout (15 minutes): no invocation has a deadline further away, nor
/// one that passed longer ago than it could have been running.
const MAX_FUNCTION_TIMEOUT_MS: i64 = 900_000;

/// Disagreement allowed between Lambda's clock and the function's before a deadline further ahead
/// than the longest timeout is doubted.
const DEADLINE_CLOCK_SKEW_MS: i64 = 60_000;

/// The batch's clock: when it started and when the function must be done, both in milliseconds
/// since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub now_ms: i64,
    pub deadline_ms: i64,
}

impl Deadline {
    /// Whether `deadline_ms` is one a Lambda invocation can have. Runtime API emulators do not
    /// all send one: `cargo lambda watch` sends 600000 (ten minutes, as a duration, read as
    /// 00:10 on 1 January 1970), and a missing or unparseable value arrives as 0 or `i64::MAX`.
    /// Taken at its word, such a deadline would cut off every action before it started.
    pub fn is_known(&self) -> bool {
        let ahead = self.deadline_ms.saturating_sub(self.now_ms);
        self.deadline_ms > 0
            && ahead > -MAX_FUNCTION_TIMEOUT_MS
            && ahead <= MAX_FUNCTION_TIMEOUT_MS + DEADLINE_CLOCK_SKEW_MS
    }

    /// This clock if its deadline is known, else one that ends [`UNKNOWN_DEADLINE_TIMEOUT_MS`]
    /// after `now_ms`.
    pub fn known_or_default(self) -> Self {
        if self.is_known() {
            self
        } else {
            Self {
                now_ms: self.now_ms,
                deadline_ms: self.now_ms.saturating_add(UNKNOWN_DEADLINE_TIMEOUT_MS),
            }
        }
    }

    /// Milliseconds from `now_ms` to the deadline; negative once it has passed.
    pub fn left_ms(&self) -> i64 {
        self.deadline_ms.saturating_sub(self.now_ms)
    }
}

/// The time a batch's actions have, measured on tokio's clock from the batch's start, so that a
/// test's paused clock and a fake batch clock stay consistent.
#[derive(Debug, Clone, Copy)]
struct Budget {
    started: tokio::time::Instant,
    /// Milliseconds from the batch's start to the function's deadline.
    left_at_start_ms: i64,
}

impl Budget {
    fn new(clock: Deadline) -> Self {
        Self {
            started: tokio::time::Instant::now(),
            left_at_start_ms: clock.left_ms(),
        }
    }

    /// Milliseconds left before the function's deadline now.
    fn left_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.left_at_start_ms.saturating_sub(elapsed)
    }

    /// When an unfinished action is cut off: the margin before the deadline.
    fn actions_end(&self) -> tokio::time::Instant {
        let budget_ms = (self.left_at_start_ms - ACTION_DEADLINE_MARGIN_MS).max(0);
        self.started + std::time::Duration::from_millis(u64::try_from(budget_ms).unwrap_or(0))
    }
}

impl<St, Dl, Vi, H> Process<St, Dl, Vi, H>
where
    St: IdempotencyStore,
    Dl: Queue,
    Vi: Visibility,
    H: Handler,
{
    pub fn new(
        store: St,
        dead_letters: Dl,
        visibility: Vi,
        handler: H,
        settings: ProcessSettings,
    ) -> Self {
        Self {
            store,
            dead_letters,
            visibility,
            handler,
            settings,
            metrics: Metrics::Off,
            archive: None,
            payloads: None,
            large_bodies: tokio::sync::Semaphore::new(LARGE_BODIES_AT_ONCE),
            warned_unknown_deadline: AtomicBool::new(false),
        }
    }

    /// Keeps every batch's envelopes in `archive` before processing any of its records.
    pub fn with_archive(mut self, archive: Arc<dyn BatchArchive>) -> Self {
        self.archive = Some(archive);
        self
    }

    /// Reads claim-checked bodies from `payloads`, and deletes each once its event is done.
    pub fn with_payloads(mut self, payloads: Arc<dyn PayloadStore>) -> Self {
        self.payloads = Some(payloads);
        self
    }

    /// Where each batch's metric lines go; [`Metrics::Off`] unless set.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Processes a batch; records run concurrently up to `settings.concurrency` lanes.
    pub async fn handle_batch(
        &self,
        records: &[QueuedRecord<'_>],
        clock: Deadline,
    ) -> BatchOutcome {
        let parsed: Vec<_> = records
            .iter()
            .map(|r| Envelope::from_json(r.body))
            .collect();
        let lanes = lanes(records, &parsed);
        let clock = self.known_deadline(clock);
        let budget = Budget::new(clock);
        let mut outcomes: Vec<Option<RecordOutcome>> = vec![None; records.len()];
        let mut forward_ms: Vec<Vec<f64>> = vec![Vec::new(); records.len()];
        // Archive first, then process: nothing processed goes unarchived.
        if let Err(reason) = self.archive_batch(records, &parsed, clock).await {
            for (record, outcome) in records.iter().zip(outcomes.iter_mut()) {
                let delay = self.settings.backoff_secs(record.receive_count);
                if let Err(error) = self.visibility.delay(record.receipt_handle, delay).await {
                    tracing::warn!(message_id = record.message_id, %error, "could not delay the retry");
                }
                *outcome = Some(RecordOutcome::Retry {
                    reason: reason.clone(),
                });
            }
        } else {
            let results: Vec<Vec<Done>> = futures_util::stream::iter(lanes)
                .map(|lane| self.run_lane(lane, records, &parsed, clock, budget))
                .buffer_unordered(self.settings.concurrency.max(1))
                .collect()
                .await;
            for done in results.into_iter().flatten() {
                outcomes[done.index] = Some(done.outcome);
                forward_ms[done.index] = done.forward_ms;
            }
        }
        let batch = BatchOutcome {
            outcomes: records
                .iter()
                .zip(outcomes)
                .map(|(record, outcome)| {
                    let outcome = outcome.unwrap_or(RecordOutcome::Retry {
                        reason: "not reached".into(),
                    });
                    (record.message_id.to_owned(), outcome)
                })
                .collect(),
        };
        if self.metrics.enabled() {
            let per_record = records
                .iter()
                .zip(&parsed)
                .zip(&batch.outcomes)
                .zip(&forward_ms)
                .map(|(((record, parsed), (_, outcome)), ms)| {
                    (source_of(record, parsed), outcome.metric(), ms.as_slice())
                });
            for line in metrics::batch_metrics(per_record, clock.now_ms) {
                self.metrics.emit(&line);
            }
        }
        batch
    }

    /// Writes the batch's envelopes to the archive, when there is one. Unreadable envelopes are
    /// not events, and replayed ones are in the archive already (`inlet replay` read them from
    /// it), so neither is written. On failure the whole batch is retried, not only the records
    /// of the object that failed: a record left out would let later records of its FIFO group
    /// or key overtake it, and an archive that fails one write is down for the others too.
    ///
    /// A claim-checked body is copied into the archive inside S3 (never read here), and the
    /// archived envelope refers to the copy: its `claims/` object goes once the event is done,
    /// while the archive must still hold it when a replay asks. A reference that is refused, or
    /// whose object is gone, is left out, and its record is not processed either (it fails on
    /// its own, below).
    async fn archive_batch(
        &self,
        records: &[QueuedRecord<'_>],
        parsed: &[Result<Envelope, crate::envelope::EnvelopeError>],
        clock: Deadline,
    ) -> Result<(), String> {
        let Some(archive) = &self.archive else {
            return Ok(());
        };
        let mut copied: Vec<Option<Envelope>> = vec![None; parsed.len()];
        for (index, envelope) in parsed.iter().enumerate() {
            let (Ok(envelope), Some(payloads)) = (envelope, &self.payloads) else {
                continue;
            };
            let Some(reference) = envelope
                .body_ref
                .as_ref()
                .filter(|_| envelope.replay.is_none())
            else {
                continue;
            };
            if payloads.check(reference).is_err() {
                continue;
            }
            match archive.keep_body(reference).await {
                Ok(copy) => {
                    let mut archived = envelope.clone();
                    archived.body_ref = Some(copy);
                    copied[index] = Some(archived);
                }
                Err(ArchiveError::Store(ObjectStoreError::NotFound(_))) => {}
                Err(error) => {
                    tracing::warn!(%error, records = records.len(), "could not copy a large body into the archive: every record will be retried");
                    return Err(format!(
                        "the batch could not be archived, so none of it was processed: {error}"
                    ));
                }
            }
        }
        let envelopes: Vec<&Envelope> = parsed
            .iter()
            .zip(&copied)
            .filter_map(|(parsed, copied)| match (parsed, copied) {
                (_, Some(archived)) => Some(archived),
                (Ok(envelope), None) if envelope.body_ref.is_none() => Some(envelope),
                _ => None,
            })
            .filter(|envelope| envelope.replay.is_none())
            .collect();
        if envelopes.is_empty() {
            return Ok(());
        }
        // Tells apart batches that start in the same millisecond in different functions,
        // without a random source: the batch's message ids are its own.
        let ids: Vec<&str> = records.iter().map(|r| r.message_id).collect();
        let tag = hex::encode(&inlet_signature::sha256(ids.join("\n").as_bytes())[..6]);
        match archive.write_batch(&envelopes, clock.now_ms, &tag).await {
            Ok(keys) => {
                tracing::info!(objects = ?keys, envelopes = envelopes.len(), "archived");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, records = records.len(), "could not archive the batch: every record will be retried");
                Err(format!(
                    "the batch could not be archived, so none of it was processed: {error}"
                ))
            }
        }
    }

    /// The batch's clock with a deadline the batch can go by: an impossible one (see
    /// [`Deadline::is_known`]) is replaced by the default timeout, and said so once.
    fn known_deadline(&self, clock: Deadline) -> Deadline {
        if clock.is_known() {
            return clock;
        }
        if !self.warned_unknown_deadline.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                deadline_ms = clock.deadline_ms,
                now_ms = clock.now_ms,
                timeout_ms = UNKNOWN_DEADLINE_TIMEOUT_MS,
                "the function's deadline is missing or impossible (a Runtime API emulator?): \
                 batches get the default timeout; said once"
            );
        }
        clock.known_or_default()
    }

    async fn run_lane(
        &self,
        lane: Lane,
        records: &[QueuedRecord<'_>],
        parsed: &[Result<Envelope, crate::envelope::EnvelopeError>],
        clock: Deadline,
        budget: Budget,
    ) -> Vec<Done> {
        let mut done = Vec::with_capacity(lane.indices.len());
        let mut failed = false;
        for index in lane.indices {
            if failed {
                // Same key or same FIFO group: running it now would repeat the action that just
                // failed, or overtake it. It waits as long as the failed record does.
                let record = &records[index];
                let delay = self.settings.backoff_secs(record.receive_count);
                if let Err(error) = self.visibility.delay(record.receipt_handle, delay).await {
                    tracing::warn!(message_id = record.message_id, %error, "could not delay the retry");
                }
                done.push(Done {
                    index,
                    outcome: RecordOutcome::Skipped,
                    forward_ms: Vec::new(),
                });
                continue;
            }
            let (outcome, forward_ms) = self
                .run_record(&records[index], &parsed[index], clock, budget)
                .await;
            failed |= outcome.is_failure();
            done.push(Done {
                index,
                outcome,
                forward_ms,
            });
        }
        done
    }

    async fn run_record(
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

    async fn dead_letter(
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

/// The source a record counts under: its envelope's, else the one ingest set as an attribute.
fn source_of<'a>(
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

/// How one record of a lane ended.
struct Done {
    index: usize,
    outcome: RecordOutcome,
    forward_ms: Vec<f64>,
}

enum Attempt {
    Processed,
    Unrouted,
    Duplicate,
    Transient(String),
    Permanent(&'static str),
}

/// Records that run one after another, stopping at the first failure.
struct Lane {
    indices: Vec<usize>,
}

/// Groups a batch's records into lanes that run in order: one per FIFO group, one per key.
fn lanes(
    records: &[QueuedRecord<'_>],
    parsed: &[Result<Envelope, crate::envelope::EnvelopeError>],
) -> Vec<Lane> {
    let mut lanes: Vec<(String, Lane)> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let name = match (record.group_id, &parsed[index]) {
            (Some(group), _) => format!("group:{group}"),
            (None, Ok(envelope)) => format!("key:{}", envelope.key),
            (None, Err(_)) => format!("message:{}", record.message_id),
        };
        match lanes.iter_mut().find(|(n, _)| *n == name) {
            Some((_, lane)) => lane.indices.push(index),
            None => lanes.push((
                name,
                Lane {
                    indices: vec![index],
                },
            )),
        }
    }
    lanes.into_iter().map(|(_, lane)| lane).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::memory::{MemoryQueue, MemoryStore, MemoryVisibility};

    struct Done;

    impl Handler for Done {
        async fn handle(&self, _: Event<'_>) -> Result<Handled, ActionError> {
            Ok(Handled::Done)
        }
    }

    fn deadline(now_ms: i64, deadline_ms: i64) -> Deadline {
        Deadline {
            now_ms,
            deadline_ms,
        }
    }

    const NOW_MS: i64 = 1_795_352_400_000;

    #[test]
    fn a_deadline_a_lambda_invocation_can_have_is_known() {
        for left_ms in [30_000, 1, 0, -5_000, MAX_FUNCTION_TIMEOUT_MS] {
            let clock = deadline(NOW_MS, NOW_MS + left_ms);
            assert!(clock.is_known(), "{left_ms} ms left");
            assert_eq!(clock.known_or_default().deadline_ms, NOW_MS + left_ms);
        }
    }

    #[test]
    fn a_missing_or_impossible_deadline_gets_the_default_timeout() {
        let cases = [
            ("cargo lambda watch's 600000", 600_000),
            ("zero", 0),
            ("negative", -1),
            ("unrepresentable", i64::MAX),
            ("an hour ago", NOW_MS - 3_600_000),
            ("a day ahead", NOW_MS + 86_400_000),
            ("in microseconds", NOW_MS * 1000),
            ("in seconds", NOW_MS / 1000 + 30),
        ];
        for (what, deadline_ms) in cases {
            let clock = deadline(NOW_MS, deadline_ms);
            assert!(!clock.is_known(), "{what}");
            let clock = clock.known_or_default();
            assert_eq!(clock.now_ms, NOW_MS, "{what}");
            assert_eq!(clock.left_ms(), UNKNOWN_DEADLINE_TIMEOUT_MS, "{what}");
        }
    }

    #[test]
    fn metrics_are_off_unless_asked_for() {
        let process = Process::new(
            MemoryStore::new(),
            MemoryQueue::new(),
            MemoryVisibility::default(),
            Done,
            ProcessSettings::default(),
        );
        assert!(matches!(process.metrics, Metrics::Off));
        let process = process.with_metrics(Metrics::Stdout);
        assert!(matches!(process.metrics, Metrics::Stdout));
    }
}
