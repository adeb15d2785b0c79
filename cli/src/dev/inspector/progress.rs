//! What one receive of a delivery's message came to, for the inspector: where the delivery
//! stands (retrying, held back, dead-lettered…) with when it comes back, and where each of its
//! routes stands with its attempts. The words are the console's, with times in RFC 3339 for the
//! page to show in the reader's zone.

use super::store::{self, Progress, RouteStage, RouteState, State};
use crate::dev::retries::{ComesBack, Retries, route_words};
use inlet_core::process::{RecordOutcome, RouteOutcome, RouteRun};

/// How a delivery whose receives ran out says when SQS moves it, and how it says so once that
/// time has passed ([`detail_as_of`]).
const WILL_MOVE: &str = "SQS moves it to the dead-letter queue when its retry delay ends, at about";
const MOVED: &str = "SQS moved it to the dead-letter queue when its retry delay ended, at about";

/// RFC 3339 (whole seconds) of epoch milliseconds, as the API gives times.
pub(super) fn rfc3339(ms: i64) -> String {
    inlet_signature::clock::format_rfc3339_secs(ms.div_euclid(1000))
}

/// A delivery's state detail as of `now` (seconds since the epoch): a move to the dead-letter
/// queue that is due by then is told in the past tense.
pub(super) fn detail_as_of(delivery: &store::Delivery, now: i64) -> std::borrow::Cow<'_, str> {
    let due = delivery
        .dead_letter_at
        .as_deref()
        .and_then(inlet_signature::clock::parse_rfc3339)
        .is_some_and(|at| at <= now);
    if due && delivery.state_detail.contains(WILL_MOVE) {
        delivery.state_detail.replace(WILL_MOVE, MOVED).into()
    } else {
        delivery.state_detail.as_str().into()
    }
}

/// How each route of one record ended, for its delivery: its attempts and when it runs next.
/// `backoff_ms`: when the record comes back on its own backoff (a route whose dead letter could
/// not be sent has no step of its own).
pub(super) fn route_states(
    runs: &[RouteRun],
    retries: &Retries<'_>,
    backoff_ms: i64,
) -> Vec<RouteState> {
    runs.iter()
        .map(|run| {
            let max_attempts = retries.attempts_of(&run.route);
            match &run.outcome {
                RouteOutcome::Delivered => RouteState::new(&run.route, RouteStage::Delivered),
                RouteOutcome::Retry {
                    reason,
                    attempts,
                    next_at_ms,
                } => RouteState {
                    message: Some(reason.clone()),
                    attempts: Some(*attempts),
                    max_attempts,
                    next_attempt_at: Some(rfc3339(if *next_at_ms > 0 {
                        *next_at_ms
                    } else {
                        backoff_ms
                    })),
                    ..RouteState::new(&run.route, RouteStage::Retrying)
                },
                RouteOutcome::DeadLettered {
                    reason,
                    message,
                    attempts,
                } => RouteState {
                    reason: Some((*reason).to_owned()),
                    message: Some(message.clone()),
                    attempts: Some(*attempts),
                    max_attempts,
                    ..RouteState::new(&run.route, RouteStage::DeadLettered)
                },
                // Its attempts and last error are what earlier runs left (`RouteState::after`).
                RouteOutcome::Held { hold, until_ms } => RouteState {
                    max_attempts,
                    next_attempt_at: Some(rfc3339(*until_ms)),
                    hold: Some(hold.as_str().to_owned()),
                    ..RouteState::new(&run.route, RouteStage::Held)
                },
            }
        })
        .collect()
}

/// The messages of the routes a record dead-lettered, each named by its route when several ran.
pub(super) fn dead_letter_messages(runs: &[RouteRun]) -> Option<String> {
    let dead: Vec<String> = runs
        .iter()
        .filter_map(|run| match &run.outcome {
            RouteOutcome::DeadLettered { message, .. } if runs.len() > 1 => {
                Some(format!("route {}: {message}", run.route))
            }
            RouteOutcome::DeadLettered { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    (!dead.is_empty()).then(|| dead.join("; "))
}

/// One record of a polled batch, as its delivery sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Receipt<'a> {
    pub result: &'a RecordOutcome,
    /// The routes it ran.
    pub routes: &'a [RouteRun],
    /// SQS's receive count.
    pub receives: u32,
    /// Whether its receives ran out: SQS moves it to the dead-letter queue when its delay ends.
    pub exhausted: bool,
    /// When it comes back, given back.
    pub comes_back: ComesBack,
    /// For a skipped copy: whether the copy that stopped its lane was only held back.
    pub behind_held: bool,
    /// What a record-level dead letter's reason does not say.
    pub last_error: Option<&'a str>,
}

/// What one record's outcome means for its delivery. `tried` tells whether a route has ever
/// run on the delivery: a copy held back behind another never has, and is not said to have
/// failed.
pub(super) fn progress_of(receipt: &Receipt<'_>, retries: &Retries<'_>, tried: bool) -> Progress {
    let Receipt {
        result,
        routes,
        receives,
        exhausted,
        comes_back,
        behind_held,
        last_error,
    } = *receipt;
    let back = rfc3339(comes_back.at_ms);
    let words = || {
        let backoff_ms = comes_back.at_ms;
        match routes {
            [run] => route_words(run, retries, backoff_ms, rfc3339),
            _ => routes
                .iter()
                .map(|run| {
                    let words = route_words(run, retries, backoff_ms, rfc3339);
                    format!("route {} {words}", run.route)
                })
                .collect::<Vec<_>>()
                .join("; "),
        }
    };
    // SQS applies the redrive policy only when it would deliver the record again: once the
    // delay the pipeline just set has run out.
    let moves = format!("{WILL_MOVE} {back}");
    let ran_out = format!(
        "its receives ran out ({receives} of the queue's maxReceiveCount {}, SQS's safety net)",
        retries.max_receive_count
    );
    let other = if behind_held {
        "was held back"
    } else {
        "failed"
    };
    let (state, detail) = match result {
        RecordOutcome::Processed if routes.len() > 1 => {
            let names: Vec<&str> = routes.iter().map(|r| r.route.as_str()).collect();
            (
                State::Processed,
                format!("routes {} delivered", names.join(", ")),
            )
        }
        RecordOutcome::Processed => (State::Processed, "the action ran".to_owned()),
        RecordOutcome::Unrouted => (State::Processed, "no route wants it: completed".to_owned()),
        RecordOutcome::Duplicate => (
            State::Duplicate,
            "processed before: acknowledged".to_owned(),
        ),
        RecordOutcome::Retry { reason } if exhausted => (
            State::DeadLettered,
            format!("{ran_out}, the last failed: {reason}; {moves}"),
        ),
        RecordOutcome::Retry { reason } if routes.is_empty() => (
            State::Retrying,
            format!("failed before its routes ran: {reason}; next try at about {back}"),
        ),
        RecordOutcome::Retry { .. } => (State::Retrying, words()),
        RecordOutcome::Held { reason } if exhausted => (
            State::DeadLettered,
            format!("{ran_out} while held back: {reason}; {moves}"),
        ),
        RecordOutcome::Held { reason } if routes.is_empty() => (State::Held, reason.clone()),
        RecordOutcome::Held { .. } => (State::Held, words()),
        RecordOutcome::Skipped if exhausted => (
            State::DeadLettered,
            if tried {
                format!(
                    "received {receives} times, the last held back (not tried) behind an \
                     earlier copy of this event that {other}; {moves}"
                )
            } else {
                format!(
                    "never tried: held back in each of its {receives} receives behind an \
                     earlier copy of this event that {other}; {moves}"
                )
            },
        ),
        RecordOutcome::Skipped => (
            if behind_held {
                State::Held
            } else {
                State::Retrying
            },
            format!(
                "held back (not tried): an earlier copy of this event in the batch {other}; \
                 next try at about {back}"
            ),
        ),
        RecordOutcome::DeadLettered { reason } => (
            State::DeadLettered,
            match last_error {
                Some(error) => format!("{reason}: {error}"),
                None => (*reason).to_owned(),
            },
        ),
    };
    Progress {
        next_try_at: state.is_waiting().then(|| back.clone()),
        dead_letter_at: exhausted.then_some(back),
        state,
        detail,
    }
}

#[cfg(test)]
mod tests;
