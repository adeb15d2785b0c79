//! What `inlet dev` prints of one poll's batch: a line per record (how each of its routes ended,
//! when each comes back), and a line per circuit breaker the batch opened or closed.
//!
//! A route that failed says which attempt of its schedule that was and when the next is; a
//! route held back (its destination's breaker open, its rate limit, or its next step not yet
//! due) says so, and is not a failure: nothing was called. SQS's receive count matters only as
//! the queue's safety net (`maxReceiveCount`): a record that reaches it is said to be moved.

use super::inspector::ActionRun;
use super::output::time_of_day;
use super::retries::{PolledBatch, Retries, route_words};
use inlet_core::process::{
    BreakerChange, BreakerTransition, RecordOutcome, RouteOutcome, RouteRun,
};
use inlet_local::{Poll, Received};

/// `HH:MM:SS` (UTC) of a time in epoch milliseconds.
fn time_of_day_ms(ms: i64) -> String {
    time_of_day(ms.div_euclid(1000))
}

/// What process made of one poll's batch, a line per record and one per breaker change, at
/// `now` (seconds since the epoch) when the batch was answered. `runs` are the routes' runs in
/// the batch, whose errors a record-level dead letter's reason does not carry. A record that
/// ran more than one route says how each ended. The local queue is a standard one: copies of
/// one event share a lane, not a FIFO group.
pub(super) fn poll_lines(
    poll: &Poll,
    retries: &Retries<'_>,
    now: i64,
    runs: &[ActionRun],
) -> Vec<String> {
    let Some(outcome) = &poll.outcome else {
        return Vec::new();
    };
    let now_ms = now * 1000;
    let batch = PolledBatch {
        poll,
        retries,
        now_ms,
    };
    let mut lines = Vec::new();
    for (index, (message_id, result)) in outcome.outcomes.iter().enumerate() {
        let received = batch.received(index);
        let routes = batch.routes(index);
        let label = label(poll, received, message_id);
        let receives = received.map_or(1, |r| r.receive_count);
        let last_error = runs
            .iter()
            .rev()
            .filter(|r| &r.message_id == message_id)
            .find_map(ActionRun::error);
        let backoff_ms = retries.backoff_at_ms(receives, now_ms);
        let words = |run: &RouteRun| route_words(run, retries, backoff_ms, time_of_day_ms);
        let step = match (result, routes) {
            (_, [_, _, ..]) => routes
                .iter()
                .map(|run| format!("route {} {}", run.route, words(run)))
                .collect::<Vec<_>>()
                .join("; "),
            // One route: its words are the record's.
            (
                RecordOutcome::Retry { .. }
                | RecordOutcome::Held { .. }
                | RecordOutcome::DeadLettered { .. },
                [
                    run @ RouteRun {
                        outcome:
                            RouteOutcome::Retry { .. }
                            | RouteOutcome::Held { .. }
                            | RouteOutcome::DeadLettered { .. },
                        ..
                    },
                ],
            ) => words(run),
            (RecordOutcome::Processed, _) => "processed".to_owned(),
            (RecordOutcome::Unrouted, _) => "processed (no route wants it: completed)".to_owned(),
            (RecordOutcome::Duplicate, _) => {
                "duplicate (processed before: acknowledged)".to_owned()
            }
            // No route ran: the store, the body or a claim held elsewhere failed.
            (RecordOutcome::Retry { reason }, _) => format!(
                "failed before its routes ran (next try at about {}): {reason}",
                time_of_day_ms(backoff_ms)
            ),
            // The pipeline's own words: `held back (breaker_open) until …`.
            (RecordOutcome::Held { reason }, _) => reason.clone(),
            (RecordOutcome::DeadLettered { reason }, _) => match last_error {
                Some(answer) => format!("dead-lettered ({reason}): {answer}"),
                None => format!("dead-lettered ({reason})"),
            },
            (RecordOutcome::Skipped, _) => {
                let what = match batch.lane_stopper(index) {
                    Some((_, RecordOutcome::Held { .. })) => "was held back",
                    _ => "failed",
                };
                format!(
                    "held back, not tried (an earlier copy of this event in the batch {what}: \
                     next try at about {})",
                    time_of_day_ms(batch.comes_back(index).at_ms)
                )
            }
        };
        lines.push(format!("{label}: {step}"));
        if poll.exhausted.contains(message_id) {
            lines.push(format!(
                "{label}: dead-lettered (its receives ran out: {receives} of the queue's \
                 maxReceiveCount {}, SQS's safety net): SQS moves it to the dead-letter queue \
                 when its delay ends, at about {}; `inlet dlq peek` shows it from then",
                retries.max_receive_count,
                time_of_day_ms(batch.comes_back(index).at_ms),
            ));
        }
    }
    lines.extend(outcome.breakers.iter().map(breaker_line));
    lines
}

/// A breaker the batch opened, reopened or closed: one line each.
fn breaker_line(change: &BreakerChange) -> String {
    let label = &change.destination.label;
    let at = time_of_day_ms(change.open_until_ms);
    match change.change {
        BreakerTransition::Opened => format!(
            "breaker opened: {label} ({} failures in a row), probe at {at}",
            change.failures
        ),
        BreakerTransition::Reopened => {
            format!("breaker reopened: {label} (the probe failed), next probe at {at}")
        }
        BreakerTransition::Closed => format!("breaker closed: {label}"),
    }
}

/// How a record is named in its lines: its key; the message too when the batch holds other
/// copies of the event, so each copy's lines can be told apart; and the replay run it belongs to.
fn label(poll: &Poll, received: Option<&Received>, message_id: &str) -> String {
    let Some(key) = received.and_then(|r| r.key.as_deref()) else {
        return format!("message {message_id}");
    };
    let copies = poll
        .received
        .iter()
        .filter(|r| r.key.as_deref() == Some(key))
        .count();
    let mut label = key.to_owned();
    if let Some(run) = received
        .and_then(|r| r.envelope.as_ref())
        .and_then(|e| e.replay.as_deref())
    {
        label.push_str(&format!(" (replay {run})"));
    }
    if copies > 1 {
        // The start of a UUID tells copies apart, and finds the message in `inlet dlq peek`.
        let short: String = message_id.chars().take(8).collect();
        label.push_str(&format!(" [message {short}]"));
    }
    label
}

#[cfg(test)]
mod tests;
