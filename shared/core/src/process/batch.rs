//! A batch: its records grouped into lanes, the lanes run concurrently (bounded), each in order
//! and stopping at its first failure; then the batch's outcomes and metric lines.

use super::deadline::{Budget, Deadline, UNKNOWN_DEADLINE_TIMEOUT_MS};
use super::record::{RecordRun, source_of};
use super::{BatchOutcome, Hold, Process, QueuedRecord, RecordOutcome, RouteOutcome, RouteRun};
use crate::actions::Handler;
use crate::envelope::Envelope;
use crate::metrics;
use crate::ports::{IdempotencyStore, Queue, Visibility};
use futures_util::StreamExt as _;
use std::sync::atomic::Ordering;

impl<St, Dl, Vi, H> Process<St, Dl, Vi, H>
where
    St: IdempotencyStore,
    Dl: Queue,
    Vi: Visibility,
    H: Handler,
{
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
        let mut routes: Vec<Vec<RouteRun>> = vec![Vec::new(); records.len()];
        let mut breakers = Vec::new();
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
                outcomes[done.index] = Some(done.run.outcome);
                forward_ms[done.index] = done.run.forward_ms;
                routes[done.index] = done.run.routes;
                breakers.extend(done.run.breakers);
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
            routes,
            breakers,
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
            let per_route = records.iter().zip(&parsed).zip(&batch.routes).flat_map(
                |((record, parsed), runs)| {
                    let source = source_of(record, parsed);
                    runs.iter().map(move |run| {
                        let count = match run.outcome {
                            RouteOutcome::Delivered => metrics::RouteCount::Delivered,
                            RouteOutcome::Retry { .. } => metrics::RouteCount::FailedTransient,
                            RouteOutcome::DeadLettered { .. } => metrics::RouteCount::DeadLettered,
                            RouteOutcome::Held { .. } => metrics::RouteCount::Held,
                        };
                        (source, run.route.as_str(), count)
                    })
                },
            );
            for line in metrics::route_metrics(per_route, clock.now_ms) {
                self.metrics.emit(&line);
            }
            let held_by_breaker = batch
                .routes
                .iter()
                .flatten()
                .filter(|run| {
                    matches!(
                        run.outcome,
                        RouteOutcome::Held {
                            hold: Hold::BreakerOpen,
                            ..
                        }
                    )
                })
                .count();
            let held_by_breaker = u32::try_from(held_by_breaker).unwrap_or(u32::MAX);
            for line in metrics::breaker_metrics(&batch.breakers, held_by_breaker, clock.now_ms) {
                self.metrics.emit(&line);
            }
        }
        batch
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
        // Set once a record of the lane fails or is held: the delay it was given, if any.
        let mut stopped: Option<Option<u32>> = None;
        for index in lane.indices {
            if let Some(delay) = stopped {
                // Same key or same FIFO group: running it now would repeat the action that just
                // failed, or overtake it. It waits as long as the record before it does.
                let record = &records[index];
                let delay =
                    delay.unwrap_or_else(|| self.settings.backoff_secs(record.receive_count));
                if let Err(error) = self.visibility.delay(record.receipt_handle, delay).await {
                    tracing::warn!(message_id = record.message_id, %error, "could not delay the retry");
                }
                done.push(Done {
                    index,
                    run: RecordRun {
                        outcome: RecordOutcome::Skipped,
                        routes: Vec::new(),
                        forward_ms: Vec::new(),
                        breakers: Vec::new(),
                        delay_secs: Some(delay),
                    },
                });
                continue;
            }
            let run = self
                .run_record(&records[index], &parsed[index], clock, budget)
                .await;
            if run.outcome.is_failure() {
                stopped = Some(run.delay_secs);
            }
            done.push(Done { index, run });
        }
        done
    }
}

/// How one record of a lane ended.
struct Done {
    index: usize,
    run: RecordRun,
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
