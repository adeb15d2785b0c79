//! One record: its envelope read, its key claimed, a claim-checked body fetched, the action run
//! and the claim completed (or released), and the record's outcome from that.

use super::dead_letter::DeadLetter;
use super::deadline::{ACTION_DEADLINE_MARGIN_MS, Budget, Deadline};
use super::routes;
use super::{
    BreakerChange, PAYLOAD_CONFLICT, Process, QueuedRecord, RecordOutcome, RouteOutcome, RouteRun,
};
use crate::actions::{Event, Handler};
use crate::claims::{ClaimError, PayloadStore};
use crate::envelope::Envelope;
use crate::metrics;
use crate::ports::{
    Claim, ClaimOutcome, IdempotencyStore, ObjectStoreError, Progress, Queue, StoreError,
    Visibility,
};
use crate::schema::SCHEMA_INVALID;
use crate::telemetry;
use inlet_signature::clock;
use tracing::Instrument as _;

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
    /// Runs one record, every line it logs in its event's span (`key`, `trace_id`).
    pub(super) async fn run_record(
        &self,
        record: &QueuedRecord<'_>,
        parsed: &Result<Envelope, crate::envelope::EnvelopeError>,
        clock: Deadline,
        budget: Budget,
    ) -> RecordRun {
        let span = match parsed {
            Ok(envelope) => telemetry::event_span(&envelope.key, envelope.trace().trace_id),
            Err(_) => tracing::Span::none(),
        };
        self.run_traced(record, parsed, clock, budget)
            .instrument(span)
            .await
    }

    async fn run_traced(
        &self,
        record: &QueuedRecord<'_>,
        parsed: &Result<Envelope, crate::envelope::EnvelopeError>,
        clock: Deadline,
        budget: Budget,
    ) -> RecordRun {
        let mut ran = Ran::default();
        let (outcome, forward_ms) = match parsed {
            Ok(envelope) => {
                metrics::collect_forward_latencies(
                    self.run_event(record, envelope, clock, budget, &mut ran),
                )
                .await
            }
            Err(error) => {
                tracing::warn!(message_id = record.message_id, %error, "unreadable envelope");
                (Attempt::Permanent("unparseable_envelope"), Vec::new())
            }
        };
        let source = source_of(record, parsed);
        let key = parsed.as_ref().map(|e| e.key.as_str()).unwrap_or("");
        let mut delay_secs = None;
        let result = match outcome {
            Attempt::Processed => RecordOutcome::Processed,
            Attempt::Unrouted => RecordOutcome::Unrouted,
            Attempt::Duplicate => RecordOutcome::Duplicate,
            Attempt::Transient { reason, wake_at_ms } => {
                delay_secs = Some(self.delay_record(record, key, wake_at_ms, budget).await);
                RecordOutcome::Retry { reason }
            }
            Attempt::Held { reason, wake_at_ms } => {
                delay_secs = Some(self.delay_record(record, key, wake_at_ms, budget).await);
                RecordOutcome::Held { reason }
            }
            Attempt::RoutesDeadLettered(reason) => RecordOutcome::DeadLettered { reason },
            Attempt::Permanent(reason) => {
                let what = match parsed {
                    Ok(Envelope {
                        schema_errors: Some(errors),
                        ..
                    }) if reason == SCHEMA_INVALID => DeadLetter::Schema(errors),
                    _ => DeadLetter::Record(reason),
                };
                match self.dead_letter(record, source, what, clock).await {
                    Ok(reason) => RecordOutcome::DeadLettered { reason },
                    // Not in the dead-letter queue, so it must not be acknowledged either.
                    Err(error) => RecordOutcome::Retry {
                        reason: format!("{reason}, and the dead-letter queue failed: {error}"),
                    },
                }
            }
        };
        // Absent from the line when no forward answered.
        let forward_total = (!forward_ms.is_empty()).then(|| forward_ms.iter().sum::<f64>());
        match &result {
            RecordOutcome::Retry { reason } => {
                tracing::warn!(key, source, receive_count = record.receive_count, delay_secs, reason = %reason, forward_ms = forward_total, "will retry");
            }
            RecordOutcome::Held { reason } => {
                tracing::info!(key, source, receive_count = record.receive_count, delay_secs, reason = %reason, "held back");
            }
            other => {
                tracing::info!(key, source, outcome = ?other, forward_ms = forward_total, "record done")
            }
        }
        RecordRun {
            outcome: result,
            routes: ran.routes,
            forward_ms,
            breakers: ran.breakers,
            delay_secs,
        }
    }

    /// Sets when the record comes back: at `wake_at_ms` (its earliest route's next step or
    /// hold), or for a fault of the pipeline's own on the record's backoff. SQS takes at most
    /// 12 hours: a route due later finds itself not yet due then, and is held again. Returns the
    /// delay set, in seconds.
    async fn delay_record(
        &self,
        record: &QueuedRecord<'_>,
        key: &str,
        wake_at_ms: Option<i64>,
        budget: Budget,
    ) -> u32 {
        let delay = match wake_at_ms {
            Some(wake_at_ms) => {
                let secs = ((wake_at_ms - budget.now_ms()).max(0) + 999) / 1000;
                u32::try_from(secs)
                    .unwrap_or(u32::MAX)
                    .clamp(1, crate::config::MAX_VISIBILITY_SECS)
            }
            None => self.settings.backoff_secs(record.receive_count),
        };
        if let Err(error) = self.visibility.delay(record.receipt_handle, delay).await {
            tracing::warn!(key, %error, "could not delay the record; SQS will use the visibility timeout");
        }
        delay
    }

    /// Runs one event, then deletes its claim-checked body once the event is complete (every
    /// route done, or no route wanting it, or found complete before). A body whose event is not
    /// complete stays: a retry, or a redrive from the dead-letter queue, needs it (the bucket's
    /// lifecycle outlives the dead-letter queue's retention).
    async fn run_event(
        &self,
        record: &QueuedRecord<'_>,
        envelope: &Envelope,
        clock: Deadline,
        budget: Budget,
        ran: &mut Ran,
    ) -> Attempt {
        let attempt = self
            .attempt_event(record, envelope, clock, budget, ran)
            .await;
        if let (Some(reference), Some(payloads)) = (&envelope.body_ref, &self.payloads)
            && ran.completed
        {
            payloads.discard(reference).await;
        }
        attempt
    }

    /// Claims the event, runs the routes this record may run, and settles the claim. `ran` gets
    /// how each route that ran ended.
    async fn attempt_event(
        &self,
        record: &QueuedRecord<'_>,
        envelope: &Envelope,
        clock: Deadline,
        budget: Budget,
        ran: &mut Ran,
    ) -> Attempt {
        // A body that broke its schema at ingest (`on_invalid = "dead_letter"`) runs no route,
        // and is not claimed: it was never going to be processed.
        if envelope.schema_errors.is_some() {
            tracing::warn!(key = %envelope.key, "the body breaks its schema");
            return Attempt::Permanent(SCHEMA_INVALID);
        }
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
            return Attempt::fault(format!(
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
        let mut progress = match self.store.claim(&claim).await {
            Ok(ClaimOutcome::New { progress }) => progress,
            Ok(ClaimOutcome::Duplicate) => {
                ran.completed = true;
                return Attempt::Duplicate;
            }
            Ok(ClaimOutcome::Busy) => return Attempt::fault("in progress elsewhere"),
            Ok(ClaimOutcome::Conflict { .. }) => return Attempt::Permanent(PAYLOAD_CONFLICT),
            Err(error) => return Attempt::fault(error.to_string()),
        };
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
                        // Keeping what earlier tries settled.
                        self.release(&claim, &progress).await;
                        tracing::warn!(key = %claim.key, %error, "could not read the body");
                        return if error.is_transient() {
                            Attempt::fault(error.to_string())
                        } else {
                            Attempt::Permanent(error.code())
                        };
                    }
                }
            }
        };
        let event = Event {
            envelope,
            body: &body,
            message_id: record.message_id,
        };
        let matched = self.handler.routes(&event);
        if matched.is_empty() {
            // No route takes it: completed and counted, not failed.
            ran.completed = self.finish(&claim, &progress, &matched, now, clock).await;
            return Attempt::Unrouted;
        }
        let pending = pending_routes(&matched, &progress, record.routes);
        if pending.is_empty() {
            // Every route this copy may run is settled: done, or dead-lettered and waiting for
            // its redrive. Nothing runs twice.
            ran.completed = self.finish(&claim, &progress, &matched, now, clock).await;
            return Attempt::Duplicate;
        }
        let turns = self
            .run_routes(&pending, event, budget, clock, &progress)
            .await;
        let mut settled = self.settle(turns, &mut progress, matched.len() > 1, budget);
        ran.breakers = std::mem::take(&mut settled.changes);
        // Routes that failed for good go to the dead-letter queue, named there, before the record
        // says they are settled: if the queue fails, they are retried like a transient failure.
        let mut dead_lettered = None;
        let failed_for_good = std::mem::take(&mut settled.failed_for_good);
        let mut dead_letter_failed = false;
        if !failed_for_good.is_empty() {
            match self
                .dead_letter(
                    record,
                    &envelope.source,
                    DeadLetter::Routes(&failed_for_good),
                    clock,
                )
                .await
            {
                Ok(reason) => {
                    dead_lettered = Some(reason);
                    for failure in failed_for_good {
                        progress.dead.insert(failure.route.clone());
                        // A redrive starts its schedule afresh.
                        progress.waiting.remove(&failure.route);
                        settled.runs.push(RouteRun {
                            route: failure.route,
                            outcome: RouteOutcome::DeadLettered {
                                reason: failure.reason,
                                message: failure.message,
                                attempts: failure.attempts,
                            },
                        });
                    }
                }
                Err(error) => {
                    dead_letter_failed = true;
                    for failure in failed_for_good {
                        let reason = format!(
                            "{}, and the dead-letter queue failed: {error}",
                            failure.message
                        );
                        settled.retry_reasons.push(routes::whose(
                            matched.len() > 1,
                            &failure.route,
                            &reason,
                        ));
                        settled.runs.push(RouteRun {
                            route: failure.route,
                            outcome: RouteOutcome::Retry {
                                reason,
                                attempts: failure.attempts,
                                next_at_ms: 0,
                            },
                        });
                    }
                }
            }
        }
        ran.completed = self.finish(&claim, &progress, &matched, now, clock).await;
        // A dead-letter queue that failed is the pipeline's own fault: the record's backoff, not
        // a route's step, says when it comes back.
        let wake_at_ms = settled.wake_at_ms.filter(|_| !dead_letter_failed);
        let attempt = if !settled.retry_reasons.is_empty() {
            Attempt::Transient {
                reason: settled.retry_reasons.join("; "),
                wake_at_ms,
            }
        } else if !settled.held_reasons.is_empty() {
            Attempt::Held {
                reason: settled.held_reasons.join("; "),
                wake_at_ms,
            }
        } else if let Some(reason) = dead_lettered {
            Attempt::RoutesDeadLettered(reason)
        } else {
            Attempt::Processed
        };
        ran.routes = settled.runs;
        attempt
    }

    /// Settles the claim after the routes ran: completed when every route in `matched` (those
    /// that take the event; none for an unrouted one) is done, else released with what is
    /// settled, so the next try runs only the rest. Returns whether the event is complete.
    async fn finish(
        &self,
        claim: &Claim,
        progress: &Progress,
        matched: &[&str],
        now: i64,
        clock: Deadline,
    ) -> bool {
        if !matched.iter().all(|route| progress.done.contains(*route)) {
            self.release(claim, progress).await;
            return false;
        }
        let completed_at = clock::epoch_millis(std::time::SystemTime::now())
            .div_euclid(1000)
            .max(now);
        match self.mark_completed(claim, completed_at, clock).await {
            Ok(()) => {}
            Err(StoreError::ClaimLost) => {
                // Our lease ran out and another claimer took the key: it will finish the
                // job, so retrying here would only run the action once more.
                tracing::warn!(key = %claim.key, "completed after the claim was lost");
            }
            Err(StoreError::Unavailable(error)) => {
                // The routes have run. Sent round again, the record would find our claim, wait
                // out its lease and run them a second time; acknowledged, only a copy of the
                // event arriving after the lease could.
                tracing::error!(key = %claim.key, %error, "the routes ran but the event could not be marked completed: acknowledged, not run again");
            }
        }
        true
    }

    /// Gives the claim up with what is settled, so the next try (or a redrive) claims at once
    /// instead of waiting out the lease; if that fails, the lease runs out.
    async fn release(&self, claim: &Claim, progress: &Progress) {
        if let Err(release) = self.store.release(&claim.key, &claim.token, progress).await {
            tracing::warn!(key = %claim.key, error = %release, "could not release the claim; it will expire");
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
    /// Nothing left for this copy to run: the event was complete, or its unfinished routes wait
    /// for the redrive of their dead letter.
    Duplicate,
    /// Routes failed and wait for their next step (`wake_at_ms`: the earliest), or the pipeline
    /// itself failed (`None`: the record's backoff).
    Transient {
        reason: String,
        wake_at_ms: Option<i64>,
    },
    /// Nothing failed, but routes were held back until `wake_at_ms` at the earliest.
    Held {
        reason: String,
        wake_at_ms: Option<i64>,
    },
    /// The record itself cannot be processed (before any route ran).
    Permanent(&'static str),
    /// Some routes failed for good and are in the dead-letter queue; the others are done.
    RoutesDeadLettered(&'static str),
}

impl Attempt {
    /// A fault of the pipeline's own (the store, the body, the deadline, a busy claim): not a
    /// route's attempt, retried on the record's backoff.
    fn fault(reason: impl Into<String>) -> Self {
        Self::Transient {
            reason: reason.into(),
            wake_at_ms: None,
        }
    }
}

/// What one record's attempt ran, beside its outcome.
#[derive(Default)]
struct Ran {
    routes: Vec<RouteRun>,
    /// Whether the event is complete: every route that takes it done (or none takes it).
    completed: bool,
    /// Breakers its calls opened or closed.
    breakers: Vec<BreakerChange>,
}

/// One record's run: its outcome, its routes' runs, its forwards' latencies, the breakers it
/// changed, and the delay its next delivery was given (seconds; none when it is settled).
pub(super) struct RecordRun {
    pub(super) outcome: RecordOutcome,
    pub(super) routes: Vec<RouteRun>,
    pub(super) forward_ms: Vec<f64>,
    pub(super) breakers: Vec<BreakerChange>,
    pub(super) delay_secs: Option<u32>,
}

/// The routes a record runs now: those that take the event and are not done. A redriven dead
/// letter (`ROUTES` set) runs the ones it names; any other copy leaves dead-lettered routes to
/// their redrive. A redrive naming no route the config still has runs every unsettled one.
fn pending_routes<'r>(
    matched: &[&'r str],
    progress: &Progress,
    redriven: Option<&str>,
) -> Vec<&'r str> {
    let unfinished = matched
        .iter()
        .copied()
        .filter(|route| !progress.done.contains(*route));
    let named: Vec<&str> = redriven
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if !named.is_empty() && matched.iter().any(|route| named.contains(route)) {
        return unfinished.filter(|route| named.contains(route)).collect();
    }
    if redriven.is_some() {
        return unfinished.collect();
    }
    unfinished
        .filter(|route| !progress.dead.contains(*route))
        .collect()
}
