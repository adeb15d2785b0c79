//! A delivery's timeline, as the inspector's detail shows it: received, queued, then for each
//! receive of its message the claim, the routes held back, each route's attempt and how the
//! receive ended (back to the queue, or done), with the dead-letter queue's moves in between;
//! each step with its time and how long after the delivery was received it came. Built from
//! what the store kept; nothing here reads a clock.

use super::store::{ActionAttempt, Delivery, Receive, RouteStage, RouteState, State};
use inlet_core::trace;
use serde::Serialize;

/// One step of a delivery's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Step {
    /// `received`, `queued`, `claimed`, `held`, `attempt`, `requeued`, `done`, `redriven` or
    /// `deleted`.
    pub step: &'static str,
    /// RFC 3339 with milliseconds.
    pub at: String,
    /// Milliseconds after the delivery was received; `None` when either time does not read.
    pub offset_ms: Option<i64>,
    /// Which receive of the message by process (1 for the first), over every message the
    /// delivery has been.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receive: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The route's attempt number, for an attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// An attempt's: `delivered`, `will_retry` or `failed`. A hold's: why (`breaker_open`,
    /// `rate_limited`, `not_due`). An end's: `retrying` or `held` (requeued); `completed`,
    /// `duplicate`, `dead_lettered` (done), or for a delivery never queued what ingest made of
    /// it (`rejected`, `ignored`, `handshake`, `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// How long the step took: the queue's answer, or the attempt's call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The HTTP status the forward's target answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why: an attempt's error, a dead letter's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it runs again: a retried attempt's next one, a hold's end, a requeued record's next
    /// try.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_at: Option<String>,
    /// The step in words.
    pub detail: String,
}

impl Step {
    fn new(step: &'static str, at: &str, detail: String) -> Self {
        Self {
            step,
            at: at.to_owned(),
            offset_ms: None,
            receive: None,
            message_id: None,
            route: None,
            attempt: None,
            outcome: None,
            duration_ms: None,
            status: None,
            reason: None,
            next_at: None,
            detail,
        }
    }
}

/// The trace id of a delivery's event (32 hex digits), as its envelope carries it: what its
/// log lines and its destinations' `traceparent` name. `None` for a delivery never queued.
pub(super) fn trace_id(delivery: &Delivery) -> Option<String> {
    let envelope = delivery.envelope.as_ref()?;
    // As process reads it: an envelope without one (from before traces) has its key's.
    let traceparent = envelope
        .get("traceparent")
        .and_then(serde_json::Value::as_str);
    let key = envelope.get("key")?.as_str()?;
    Some(trace::carried(traceparent, key).trace_id.to_string())
}

/// Epoch milliseconds of an RFC 3339 time in UTC (`…Z`), keeping the first three digits of the
/// fraction.
pub(super) fn epoch_ms(text: &str) -> Option<i64> {
    let seconds = inlet_signature::clock::parse_rfc3339(text)?;
    let fraction = text
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .map(|rest| {
            let digits: String = rest
                .chars()
                .take_while(char::is_ascii_digit)
                .take(3)
                .collect();
            format!("{digits:0<3}").parse::<i64>().unwrap_or(0)
        })
        .unwrap_or(0);
    Some(seconds * 1000 + fraction)
}

/// When the delivery was received: when ingest got the request, as its envelope says; the time
/// ingest answered for one never queued.
fn received_at(delivery: &Delivery) -> &str {
    delivery
        .envelope
        .as_ref()
        .and_then(|e| e.get("received_at")?.as_str())
        .filter(|at| epoch_ms(at).is_some())
        .unwrap_or(&delivery.received_at)
}

/// The delivery's timeline, in order.
pub(super) fn timeline(delivery: &Delivery) -> Vec<Step> {
    let received = received_at(delivery);
    let mut steps = vec![Step::new(
        "received",
        received,
        if delivery.verdict.status == 0 {
            "received by ingest (not at this run's door: its envelope says when)".to_owned()
        } else {
            format!("ingest received {}", delivery.request.method)
        },
    )];
    if matches!(
        delivery.state,
        State::Rejected | State::Ignored | State::Handshake | State::Failed
    ) {
        // Never queued: ingest's answer is the end of it.
        let mut done = Step::new("done", &delivery.received_at, delivery.state_detail.clone());
        done.outcome = Some(delivery.state.name().to_owned());
        done.status = (delivery.status != 0).then_some(delivery.status);
        steps.push(done);
        return with_offsets(steps, received);
    }
    if let Some(queued) = &delivery.queued {
        let mut step = Step::new(
            "queued",
            &queued.at,
            match &delivery.message_id {
                Some(id) => format!("ingest handed message {id} to the queue"),
                None => "ingest handed it to the queue".to_owned(),
            },
        );
        step.message_id.clone_from(&delivery.message_id);
        step.duration_ms = Some(queued.took_ms);
        steps.push(step);
    }
    let mut moves = delivery.letter_moves.iter().peekable();
    let mut attempts = delivery.action_attempts.iter();
    let mut tried: Vec<&str> = Vec::new();
    for (index, receive) in delivery.receives.iter().enumerate() {
        let starts = receive.claimed_at.as_deref().unwrap_or(&receive.ended_at);
        // A move told before this receive began comes before it.
        while let Some(moved) = moves.next_if(|m| earlier(&m.at, starts)) {
            steps.push(letter_move(moved));
        }
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let runs: Vec<&ActionAttempt> = attempts
            .by_ref()
            .take(usize::try_from(receive.runs).unwrap_or(usize::MAX))
            .collect();
        steps.extend(receive_steps(receive, number, &runs, &mut tried));
    }
    // Runs no receive accounts for: history from before receives were kept.
    for run in attempts {
        steps.push(attempt_step(run, None, &mut tried));
    }
    steps.extend(moves.map(letter_move));
    with_offsets(steps, received)
}

/// Whether time `a` is before `b`; a time that does not read is not.
fn earlier(a: &str, b: &str) -> bool {
    matches!((epoch_ms(a), epoch_ms(b)), (Some(a), Some(b)) if a < b)
}

fn with_offsets(mut steps: Vec<Step>, received: &str) -> Vec<Step> {
    let start = epoch_ms(received);
    for step in &mut steps {
        step.offset_ms = start.zip(epoch_ms(&step.at)).map(|(from, at)| at - from);
    }
    steps
}

/// One receive's steps: its claim, its routes held back, its attempts and how it ended.
/// `tried`: the route of every attempt so far, to number each route's attempts.
fn receive_steps<'a>(
    receive: &Receive,
    number: u32,
    runs: &[&'a ActionAttempt],
    tried: &mut Vec<&'a str>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(claimed_at) = &receive.claimed_at {
        let mut claimed = Step::new(
            "claimed",
            claimed_at,
            format!(
                "process claimed the event (receive {} of message {}) and matched its routes",
                receive.receive_count, receive.message_id
            ),
        );
        claimed.message_id = Some(receive.message_id.clone());
        steps.push(claimed);
    }
    // Held back without running: decided after the claim, before any call.
    let held_at = receive.claimed_at.as_deref().unwrap_or(&receive.ended_at);
    let ran = |route: &str| runs.iter().any(|r| r.route.as_deref() == Some(route));
    for route in &receive.routes {
        if route.state == RouteStage::Held && !ran(&route.route) {
            let mut held = Step::new(
                "held",
                held_at,
                format!("route {} held back, not tried", route.route),
            );
            held.route = Some(route.route.clone());
            held.outcome.clone_from(&route.hold);
            held.next_at.clone_from(&route.next_attempt_at);
            steps.push(held);
        }
    }
    for run in runs {
        steps.push(attempt_step(run, Some(&receive.routes), tried));
    }
    steps.push(end_step(receive));
    for step in &mut steps {
        step.receive = Some(number);
    }
    steps
}

/// One route's attempt: when, how long, what came of it. `routes`: how each route ended on the
/// receive it was in, when known.
fn attempt_step<'a>(
    run: &'a ActionAttempt,
    routes: Option<&[RouteState]>,
    tried: &mut Vec<&'a str>,
) -> Step {
    let route = run.route.as_deref().unwrap_or("");
    tried.push(route);
    let number = tried.iter().filter(|r| **r == route).count();
    let ended = routes.and_then(|routes| routes.iter().find(|r| r.route == route));
    let outcome = match (run.outcome.as_str(), ended.map(|r| r.state)) {
        ("done", _) => "delivered",
        (_, Some(RouteStage::DeadLettered)) => "failed",
        (_, Some(RouteStage::Retrying | RouteStage::Held)) => "will_retry",
        ("transient" | "throttled", _) => "will_retry",
        _ => "failed",
    };
    let mut step = Step::new("attempt", &run.at, run.answer.clone());
    step.route = run.route.clone();
    step.attempt = Some(u32::try_from(number).unwrap_or(u32::MAX));
    step.outcome = Some(outcome.to_owned());
    step.duration_ms = Some(run.latency_ms);
    step.status = run.response.as_ref().map(|r| r.status);
    step.reason = match (outcome, ended.and_then(|r| r.reason.as_deref())) {
        ("delivered", _) => None,
        ("failed", Some(reason)) => Some(match &run.error {
            Some(error) => format!("{reason}: {error}"),
            None => reason.to_owned(),
        }),
        _ => run.error.clone(),
    };
    if outcome == "will_retry" {
        step.next_at = ended.and_then(|r| r.next_attempt_at.clone());
    }
    step
}

/// How a receive ended: back in the queue to come again, or done.
fn end_step(receive: &Receive) -> Step {
    let (step, outcome) = match receive.state {
        State::Retrying => ("requeued", "retrying"),
        State::Held => ("requeued", "held"),
        State::Queued => ("requeued", "queued"),
        State::Duplicate => ("done", "duplicate"),
        State::DeadLettered => ("done", "dead_lettered"),
        _ => ("done", "completed"),
    };
    let mut end = Step::new(step, &receive.ended_at, receive.detail.clone());
    end.outcome = Some(outcome.to_owned());
    end.message_id = Some(receive.message_id.clone());
    if outcome == "dead_lettered" {
        end.reason = Some(receive.detail.clone());
    }
    if step == "requeued" {
        end.next_at.clone_from(&receive.next_try_at);
    }
    end
}

fn letter_move(moved: &super::store::LetterMove) -> Step {
    let step = if moved.what == "deleted" {
        "deleted"
    } else {
        "redriven"
    };
    Step::new(step, &moved.at, moved.detail.clone())
}

#[cfg(test)]
mod tests;
