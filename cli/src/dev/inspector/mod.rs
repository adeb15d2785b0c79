//! The inspector: a web page inside `inlet dev` that lists every delivery as it moves through
//! the pipeline, shows each one whole, and replays, redrives or deletes it.
//!
//! [`Inspector`] is the shared record: the ingest server, the poller and the action wrapper
//! write to it as things happen; the page reads it through the JSON API in `api.rs`.

mod actions;
mod api;
mod history;
mod pretty;
mod queued;
mod store;

pub(super) use actions::Actions;
pub(super) use api::InspectorService;
pub(super) use queued::{RecordingQueue, watch};

use inlet_core::actions::ActionError;
use inlet_core::actions::answers::TargetAnswer;
use inlet_core::config::ProcessSettings;
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Outcome, Reply};
use inlet_core::process::{RecordOutcome, RouteOutcome, RouteRun};
use inlet_local::Poll;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use store::{
    ActionAttempt, Arrival, Progress, RETRIES_EXHAUSTED, Request, RouteStage, RouteState, State,
    Store, Verdict,
};

pub(super) use store::HistoryError;

/// Where the history is kept, relative to the directory `inlet dev` runs in.
pub(super) const HISTORY_FILE: &str = ".inlet/history.jsonl";

/// The request header a replay from the page carries, so the server can tell the page which
/// delivery it became. It is not kept with the delivery.
pub(super) const REPLAY_HEADER: &str = "x-inlet-inspector-replay";

/// The shared record of deliveries.
#[derive(Debug, Clone)]
pub(super) struct Inspector {
    store: Arc<Mutex<Store>>,
    /// Replay tokens to the delivery each became.
    replays: Arc<Mutex<HashMap<String, String>>>,
}

/// One run of one route, as `inlet dev`'s recorder saw it: which message it was for, which
/// route, when, how long, what came of it and what the target answered.
#[derive(Debug, Clone)]
pub(super) struct ActionRun {
    pub message_id: String,
    pub route: String,
    pub at_ms: i64,
    pub latency: Duration,
    pub result: Result<(), ActionError>,
    /// What the route's destination made of it, in words.
    pub answer: String,
    pub response: Option<TargetAnswer>,
}

impl ActionRun {
    fn attempt(&self) -> ActionAttempt {
        let outcome = match &self.result {
            Ok(()) => "done",
            Err(ActionError::Transient(_)) => "transient",
            Err(ActionError::Permanent(_)) => "permanent",
            Err(ActionError::TransformFailed(_)) => "transform_failed",
            Err(ActionError::Throttled { .. }) => "throttled",
        };
        ActionAttempt {
            attempt: 0,
            at: inlet_signature::clock::format_rfc3339_millis(self.at_ms),
            route: Some(self.route.clone()),
            outcome: outcome.to_owned(),
            answer: self.answer.clone(),
            latency_ms: u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX),
            error: self.error().map(str::to_owned),
            response: self.response.clone(),
        }
    }

    /// The route's error, if it failed.
    pub(super) fn error(&self) -> Option<&str> {
        self.result.as_ref().err().map(ActionError::message)
    }
}

/// How each route of one record ended, for its delivery. When the record's receives ran out, a
/// route that was to be retried goes with the whole record to the dead-letter queue.
fn route_states(runs: &[RouteRun], exhausted: bool) -> Vec<RouteState> {
    runs.iter()
        .map(|run| {
            let (state, reason, message) = match &run.outcome {
                RouteOutcome::Delivered => (RouteStage::Delivered, None, None),
                RouteOutcome::Retry { reason } if exhausted => (
                    RouteStage::DeadLettered,
                    Some(RETRIES_EXHAUSTED.to_owned()),
                    Some(reason.clone()),
                ),
                RouteOutcome::Retry { reason } => {
                    (RouteStage::Retrying, None, Some(reason.clone()))
                }
                RouteOutcome::DeadLettered { reason, message } => (
                    RouteStage::DeadLettered,
                    Some((*reason).to_owned()),
                    Some(message.clone()),
                ),
            };
            RouteState {
                route: run.route.clone(),
                state,
                reason,
                message,
            }
        })
        .collect()
}

/// The messages of the routes a record dead-lettered, each named by its route when several ran.
fn dead_letter_messages(runs: &[RouteRun]) -> Option<String> {
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

/// A request as the ingest server saw it.
pub(super) struct Seen<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

impl Inspector {
    /// Opens the history at `path`, loading what an earlier run left.
    pub(super) fn open(path: &Path) -> Result<Self, HistoryError> {
        Ok(Self::with_store(Store::open(path)?))
    }

    fn with_store(store: Store) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
            replays: Arc::default(),
        }
    }

    #[cfg(test)]
    pub(super) fn in_memory() -> Self {
        Self::with_store(Store::in_memory())
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves a record that is at worst one step behind.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A failed history write, once: the page keeps working from memory.
    pub(super) fn take_write_failure(&self) -> Option<String> {
        self.store().write_failure.take()
    }

    /// Records what ingest answered to a request, and the message it was queued as; the
    /// delivery's id.
    pub(super) fn ingested(
        &self,
        seen: &Seen<'_>,
        source: Option<&str>,
        reply: &Reply,
        message_id: Option<String>,
    ) -> String {
        let replay = seen
            .headers
            .get(REPLAY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut arrival = arrival(seen, source, reply, replay.as_deref());
        arrival.message_id = message_id;
        let id = self.store().arrive(arrival);
        if let Some(token) = replay {
            self.replays_lock().insert(token, id.clone());
        }
        id
    }

    /// Keeps the envelope of a message ingest has just queued (its body), for
    /// [`Self::ingested`].
    pub(super) fn queued(&self, message_id: &str, body: &str) {
        if let Ok(envelope) = serde_json::from_str::<serde_json::Value>(body) {
            self.store().queued(message_id, envelope);
        }
    }

    fn replays_lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.replays.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The delivery a replay with `token` became, once the server has recorded it.
    pub(super) fn replayed_as(&self, token: &str) -> Option<String> {
        self.replays_lock().remove(token)
    }

    /// Records what process made of a poll's batch, at `now` (seconds since the epoch), with the
    /// action's runs in it. Each outcome lands on the delivery its message was first queued as.
    pub(super) fn polled(
        &self,
        poll: &Poll,
        retry: &ProcessSettings,
        now: i64,
        runs: &[ActionRun],
    ) {
        let Some(outcome) = &poll.outcome else {
            return;
        };
        let mut store = self.store();
        for (index, (message_id, result)) in outcome.outcomes.iter().enumerate() {
            let Some(received) = poll.received.iter().find(|r| &r.message_id == message_id) else {
                continue;
            };
            let mine: Vec<&ActionRun> = runs
                .iter()
                .filter(|r| &r.message_id == message_id)
                .collect();
            let exhausted = poll.exhausted.contains(message_id);
            let routes = outcome.routes.get(index).map_or(&[][..], Vec::as_slice);
            // What a dead letter's reason does not say: its routes' own words, else the last
            // error of the runs.
            let last_error = dead_letter_messages(routes)
                .or_else(|| mine.iter().rev().find_map(|r| r.error()).map(str::to_owned));
            store.receive(
                &received.origin_message_id,
                message_id,
                mine.iter().map(|r| r.attempt()).collect(),
                route_states(routes, exhausted),
                |tried| {
                    let mut progress = progress_of(
                        result,
                        received.receive_count,
                        exhausted,
                        retry,
                        now,
                        last_error.as_deref(),
                        tried,
                    );
                    if *result == RecordOutcome::Processed && routes.len() > 1 {
                        let names: Vec<&str> = routes.iter().map(|r| r.route.as_str()).collect();
                        progress.detail = format!("routes {} delivered", names.join(", "));
                    }
                    progress
                },
                || received.envelope.as_ref().map(adopted),
            );
        }
    }

    /// Marks the delivery first queued as `origin` redriven, as message `message_id`; its id.
    pub(super) fn redriven(&self, origin: &str, message_id: &str, by: &str) -> Option<String> {
        self.store().redriven(
            origin,
            message_id,
            format!("redriven from the dead-letter queue by {by}"),
        )
    }

    /// Marks the delivery first queued as `origin` deleted from the dead-letter queue; its id.
    pub(super) fn deleted(&self, origin: &str, by: &str) -> Option<String> {
        self.store().deleted(
            origin,
            format!("deleted from the dead-letter queue by {by}"),
        )
    }

    /// Marks the dead letters the queue no longer holds as gone; `present` are the origins of
    /// those it does.
    pub(super) fn reconcile_dead_letters(&self, present: &std::collections::HashSet<String>) {
        self.store().reconcile_dead_letters(present);
    }

    /// Marks a delivery as no longer in the dead-letter queue.
    fn left_dead_letter_queue(&self, id: &str, detail: String) {
        self.store().left_dead_letter_queue(id, detail);
    }
}

/// A delivery for a message the inspector never saw ingest queue: one `inlet replay` sent, or
/// one left in the queue from before this run.
fn adopted(envelope: &Envelope) -> Arrival {
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    let body = envelope.body_bytes().unwrap_or_default();
    let kept = body.len().min(store::MAX_BODY_BYTES);
    let message = match &envelope.replay {
        Some(run) => format!(
            "not seen at the door: `inlet replay` (run {run}) sent it to the queue, from the \
             archive of the delivery received at {}",
            envelope.received_at
        ),
        None => format!(
            "not seen at the door of this run: taken from the queue (received at {})",
            envelope.received_at
        ),
    };
    Arrival {
        received_at: inlet_signature::clock::format_rfc3339_millis(now_ms),
        source: envelope.source.clone(),
        event_type: envelope.event_type.clone(),
        event_id: Some(envelope.event_id.clone()),
        key: Some(envelope.key.clone()),
        status: 0,
        code: None,
        state: State::Queued,
        state_detail: "queued".to_owned(),
        replay_of: None,
        request: Request {
            method: "POST".to_owned(),
            path: format!("/webhooks/{}", envelope.source),
            query: None,
            headers: envelope
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            body: body[..kept].to_vec(),
            body_truncated_from: (kept < body.len()).then_some(body.len()),
        },
        verdict: Verdict {
            status: 0,
            code: None,
            message,
            verified: false,
        },
        envelope: serde_json::to_value(envelope).ok(),
        message_id: None,
    }
}

/// How a delivery whose receives ran out says when SQS moves it, and how it says so once that
/// time has passed ([`detail_as_of`]).
const WILL_MOVE: &str = "SQS moves it to the dead-letter queue when its retry delay ends, at about";
const MOVED: &str = "SQS moved it to the dead-letter queue when its retry delay ended, at about";

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

/// What one record's outcome means for its delivery. `tried` tells whether the action has ever
/// run on the delivery: a copy held back behind a failing one never has, and is not said to have
/// failed.
fn progress_of(
    result: &RecordOutcome,
    receive_count: u32,
    exhausted: bool,
    retry: &ProcessSettings,
    now: i64,
    last_error: Option<&str>,
    tried: bool,
) -> Progress {
    let next_try = now + i64::from(retry.backoff_secs(receive_count));
    let at = |secs: i64| inlet_signature::clock::format_rfc3339_secs(secs);
    // SQS applies the redrive policy only when it would deliver the record again: once the
    // visibility delay the pipeline just set has run out.
    let moves = format!("{WILL_MOVE} {}", at(next_try));
    let (state, detail, next_try_at) = match result {
        RecordOutcome::Processed => (State::Processed, "the action ran".to_owned(), None),
        RecordOutcome::Unrouted => (
            State::Processed,
            "no route wants it: completed".to_owned(),
            None,
        ),
        RecordOutcome::Duplicate => (
            State::Duplicate,
            "processed before: acknowledged".to_owned(),
            None,
        ),
        RecordOutcome::Retry { reason } if exhausted => (
            State::DeadLettered,
            format!("received {receive_count} times, the last failed: {reason}; {moves}"),
            None,
        ),
        RecordOutcome::Retry { reason } => (
            State::Retrying,
            format!("{reason}; next try at about {}", at(next_try)),
            Some(at(next_try)),
        ),
        RecordOutcome::Skipped if exhausted => (
            State::DeadLettered,
            if tried {
                format!(
                    "received {receive_count} times, the last held back (not tried) behind an \
                     earlier copy of this event that failed; {moves}"
                )
            } else {
                format!(
                    "never tried: held back in each of its {receive_count} receives behind an \
                     earlier copy of this event that failed; {moves}"
                )
            },
            None,
        ),
        RecordOutcome::Skipped => (
            State::Retrying,
            format!(
                "held back (not tried): an earlier copy of this event in the batch failed; next \
                 try at about {}",
                at(next_try)
            ),
            Some(at(next_try)),
        ),
        RecordOutcome::DeadLettered { reason } => (
            State::DeadLettered,
            match last_error {
                Some(error) => format!("{reason}: {error}"),
                None => (*reason).to_owned(),
            },
            None,
        ),
    };
    Progress {
        state,
        detail,
        next_try_at,
        dead_letter_at: exhausted.then(|| at(next_try)),
    }
}

/// The delivery as ingest answered it.
fn arrival(seen: &Seen<'_>, source: Option<&str>, reply: &Reply, replay: Option<&str>) -> Arrival {
    let answer: Option<serde_json::Value> = serde_json::from_str(&reply.body).ok();
    let field = |name: &str| {
        answer
            .as_ref()
            .and_then(|v| v.get(name)?.as_str().map(str::to_owned))
    };
    let status = reply.status.as_u16();
    let (state, key, code, detail, verified) = match &reply.outcome {
        Outcome::Queued { key } => (
            State::Queued,
            Some(key.clone()),
            None,
            format!("queued as {key}"),
            true,
        ),
        Outcome::Ignored => (
            State::Ignored,
            None,
            None,
            "the source's event filter does not take this type".to_owned(),
            true,
        ),
        Outcome::Handshake => (
            State::Handshake,
            None,
            None,
            "handshake answered".to_owned(),
            true,
        ),
        Outcome::Rejected { code } => (
            State::Rejected,
            None,
            Some((*code).to_owned()),
            field("message").unwrap_or_default(),
            // Refused after the signature checked out: the body's shape, or its size as an
            // envelope.
            matches!(*code, "malformed_body"),
        ),
        Outcome::Failed { code } => (
            State::Failed,
            None,
            Some((*code).to_owned()),
            field("message").unwrap_or_default(),
            true,
        ),
    };
    let message = match (&reply.outcome, field("message")) {
        (_, Some(message)) => message,
        (Outcome::Queued { key }, None) => format!("signature verified; queued as {key}"),
        (Outcome::Ignored, None) => "signature verified; filtered out".to_owned(),
        (_, None) => "signature verified".to_owned(),
    };
    let event_id = key
        .as_deref()
        .and_then(|k| k.split_once('#'))
        .map(|(_, id)| id.to_owned());
    let headers = seen
        .headers
        .iter()
        .filter(|(name, _)| name.as_str() != REPLAY_HEADER)
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let kept = seen.body.len().min(store::MAX_BODY_BYTES);
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    Arrival {
        received_at: inlet_signature::clock::format_rfc3339_millis(now_ms),
        source: source.unwrap_or("").to_owned(),
        event_type: field("event_type"),
        event_id,
        key,
        status,
        code: code.clone(),
        state,
        state_detail: detail,
        replay_of: replay
            .and_then(|t| t.split_once('.'))
            .map(|(id, _)| id.to_owned()),
        request: Request {
            method: seen.method.to_owned(),
            path: seen.path.to_owned(),
            query: seen.query.map(str::to_owned),
            headers,
            body: seen.body[..kept].to_vec(),
            body_truncated_from: (kept < seen.body.len()).then_some(seen.body.len()),
        },
        verdict: Verdict {
            status,
            code,
            message,
            verified,
        },
        envelope: None,
        message_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_795_352_400;

    /// A POST to `/webhooks/github` that ingest queued as `key`, in message `message_id`.
    fn record_queued(inspector: &Inspector, key: &str, message_id: &str) -> String {
        let headers = http::HeaderMap::new();
        let seen = Seen {
            method: "POST",
            path: "/webhooks/github",
            query: None,
            headers: &headers,
            body: b"{}",
        };
        let reply = Reply {
            status: http::StatusCode::ACCEPTED,
            content_type: "application/json",
            body: format!(r#"{{"id":"{key}","status":"queued"}}"#),
            outcome: Outcome::Queued { key: key.into() },
            headers: Vec::new(),
        };
        inspector.ingested(&seen, Some("github"), &reply, Some(message_id.into()))
    }

    #[test]
    fn a_queued_delivery_shows_its_envelope_and_type_before_any_action_runs() {
        let inspector = Inspector::in_memory();
        let envelope = serde_json::json!({
            "v": 1, "key": "github#d-1", "source": "github", "scheme": "github",
            "event_type": "push", "event_id": "d-1", "received_at": "2026-11-28T13:00:00.000Z",
        });
        inspector.queued("m-1", &envelope.to_string());
        let id = record_queued(&inspector, "github#d-1", "m-1");
        let delivery = inspector.store().get(&id).cloned().expect("recorded");
        assert_eq!(delivery.event_type.as_deref(), Some("push"));
        assert_eq!(delivery.envelope, Some(envelope));
        assert_eq!(delivery.message_id.as_deref(), Some("m-1"));
        // Taken once: another copy of the key gets the envelope its own message carried.
        let again = record_queued(&inspector, "github#d-1", "m-2");
        assert_eq!(
            inspector
                .store()
                .get(&again)
                .and_then(|d| d.envelope.clone()),
            None
        );
    }

    #[test]
    fn a_retry_says_when_the_next_try_is() {
        let retry = RecordOutcome::Retry {
            reason: "the target answered 500".into(),
        };
        let progress = progress_of(
            &retry,
            2,
            false,
            &ProcessSettings::default(),
            NOON,
            None,
            true,
        );
        assert_eq!(progress.state, State::Retrying);
        assert_eq!(
            progress.next_try_at.as_deref(),
            Some("2026-11-22T13:00:10Z")
        );
        assert!(
            progress.detail.contains("next try at about"),
            "{}",
            progress.detail
        );
    }

    #[test]
    fn a_dead_letter_says_what_the_target_answered() {
        let dead = RecordOutcome::DeadLettered {
            reason: "action_failed",
        };
        let progress = progress_of(
            &dead,
            1,
            false,
            &ProcessSettings::default(),
            NOON,
            Some("the target answered 404"),
            true,
        );
        assert_eq!(progress.state, State::DeadLettered);
        assert_eq!(progress.detail, "action_failed: the target answered 404");
        let last = RecordOutcome::Retry {
            reason: "the target answered 500".into(),
        };
        let progress = progress_of(
            &last,
            5,
            true,
            &ProcessSettings::default(),
            NOON,
            None,
            true,
        );
        assert_eq!(progress.state, State::DeadLettered);
        assert!(progress.detail.contains("the target answered 500"));
        assert_eq!(
            progress.dead_letter_at.as_deref(),
            Some("2026-11-22T13:01:20Z")
        );
    }

    #[test]
    fn a_due_move_to_the_dead_letter_queue_is_told_in_the_past_tense() {
        let last = RecordOutcome::Retry {
            reason: "the target answered 500".into(),
        };
        let settings = ProcessSettings::default();
        let progress = progress_of(&last, 5, true, &settings, NOON, None, true);
        let inspector = Inspector::in_memory();
        inspector
            .store()
            .queued("m-1", serde_json::json!({"key": "github#a"}));
        record_queued(&inspector, "github#a", "m-1");
        inspector
            .store()
            .receive("m-1", "m-1", Vec::new(), Vec::new(), |_| progress, || None);
        let delivery = inspector.store().newest_first().next().cloned().unwrap();
        // Due at NOON + 80 s (5 s × 2⁴).
        assert!(detail_as_of(&delivery, NOON).contains("SQS moves it"));
        let later = detail_as_of(&delivery, NOON + 80);
        assert!(
            later.contains("SQS moved it to the dead-letter queue when its retry delay ended"),
            "{later}"
        );
    }

    #[test]
    fn a_copy_held_back_is_never_said_to_have_failed() {
        let settings = ProcessSettings::default();
        let held = progress_of(
            &RecordOutcome::Skipped,
            2,
            false,
            &settings,
            NOON,
            None,
            false,
        );
        assert_eq!(held.state, State::Retrying);
        assert!(
            held.detail.starts_with("held back (not tried)"),
            "{}",
            held.detail
        );
        let last = progress_of(
            &RecordOutcome::Skipped,
            5,
            true,
            &settings,
            NOON,
            None,
            false,
        );
        assert_eq!(last.state, State::DeadLettered);
        assert!(
            last.detail
                .starts_with("never tried: held back in each of its 5 receives"),
            "{}",
            last.detail
        );
        assert!(!last.detail.contains("failed 5 times"), "{}", last.detail);
        let tried = progress_of(
            &RecordOutcome::Skipped,
            5,
            true,
            &settings,
            NOON,
            None,
            true,
        );
        assert!(
            tried.detail.contains("the last held back"),
            "{}",
            tried.detail
        );
    }
}
