//! The inspector: a web page inside `inlet dev` that lists every delivery as it moves through
//! the pipeline, shows each one whole, and replays, redrives or deletes it.
//!
//! [`Inspector`] is the shared record: the ingest server, the poller and the action wrapper
//! write to it as things happen; the page reads it through the JSON API in `api.rs`.

mod actions;
mod api;
mod pretty;
mod queued;
mod store;

pub(super) use actions::Actions;
pub(super) use api::InspectorService;
pub(super) use queued::RecordingQueue;

use inlet_core::actions::{ActionError, Handled};
use inlet_core::config::ProcessSettings;
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Outcome, Reply};
use inlet_core::process::RecordOutcome;
use inlet_local::Poll;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use store::{ActionAttempt, Arrival, Progress, Request, State, Store, Verdict};

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
    /// Envelopes the queue has stored, by key, until the server records the request they came
    /// from (which it can only do once ingest has answered).
    queued: Arc<Mutex<HashMap<String, serde_json::Value>>>,
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
            queued: Arc::default(),
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

    /// The outcomes of the action's runs on a delivery, for tests of what feeds the record.
    #[cfg(test)]
    pub(super) fn action_outcomes(&self, id: &str) -> Vec<String> {
        self.store()
            .get(id)
            .map(|d| {
                d.action_attempts
                    .iter()
                    .map(|a| a.outcome.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A failed history write, once: the page keeps working from memory.
    pub(super) fn take_write_failure(&self) -> Option<String> {
        self.store().write_failure.take()
    }

    /// Records what ingest answered to a request; the delivery's id.
    pub(super) fn ingested(&self, seen: &Seen<'_>, source: Option<&str>, reply: &Reply) -> String {
        let replay = seen
            .headers
            .get(REPLAY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut arrival = arrival(seen, source, reply, replay.as_deref());
        if let Some(key) = &arrival.key
            && let Some(envelope) = self.queued_lock().remove(key)
        {
            // The 202's body names the key only; the event type is the envelope's.
            if arrival.event_type.is_none() {
                arrival.event_type = envelope
                    .get("event_type")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned);
            }
            arrival.envelope = Some(envelope);
        }
        let id = self.store().arrive(arrival);
        if let Some(token) = replay {
            self.replays_lock().insert(token, id.clone());
        }
        id
    }

    /// Keeps an envelope the queue has just stored (its message body), for [`Self::ingested`].
    pub(super) fn queued(&self, body: &str) {
        let Ok(envelope) = serde_json::from_str::<serde_json::Value>(body) else {
            return;
        };
        if let Some(key) = envelope.get("key").and_then(serde_json::Value::as_str) {
            let key = key.to_owned();
            self.queued_lock().insert(key, envelope);
        }
    }

    fn queued_lock(&self) -> MutexGuard<'_, HashMap<String, serde_json::Value>> {
        self.queued.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn replays_lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.replays.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The delivery a replay with `token` became, once the server has recorded it.
    pub(super) fn replayed_as(&self, token: &str) -> Option<String> {
        self.replays_lock().remove(token)
    }

    /// Records one run of the action: when, how long, and what came of it.
    pub(super) fn acted(
        &self,
        envelope: &Envelope,
        result: &Result<Handled, ActionError>,
        answer: String,
        latency: Duration,
        at_ms: i64,
    ) {
        let (outcome, error) = match result {
            Ok(Handled::Done) => ("done", None),
            Ok(Handled::Unrouted) => ("unrouted", None),
            Err(ActionError::Transient(why)) => ("transient", Some(why.clone())),
            Err(ActionError::Permanent(why)) => ("permanent", Some(why.clone())),
        };
        let attempt = ActionAttempt {
            attempt: 0,
            at: inlet_signature::clock::format_rfc3339_millis(at_ms),
            outcome: outcome.to_owned(),
            answer,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            error,
        };
        let json = serde_json::to_value(envelope).unwrap_or(serde_json::Value::Null);
        self.store()
            .attempt(&envelope.key, json, envelope.event_type.clone(), attempt);
    }

    /// Records what process made of a poll's batch, at `now` (seconds since the epoch).
    /// `last_errors` holds the action's last error per key, for dead letters.
    pub(super) fn polled(
        &self,
        poll: &Poll,
        retry: &ProcessSettings,
        now: i64,
        last_errors: &HashMap<String, String>,
    ) {
        let Some(outcome) = &poll.outcome else {
            return;
        };
        let mut store = self.store();
        for (message_id, result) in &outcome.outcomes {
            let Some(received) = poll.received.iter().find(|r| &r.message_id == message_id) else {
                continue;
            };
            let Some(key) = &received.key else {
                continue;
            };
            let exhausted = poll.exhausted.contains(message_id);
            let progress = progress_of(
                result,
                received.receive_count,
                exhausted,
                retry,
                now,
                last_errors.get(key).map(String::as_str),
            );
            store.progress(key, progress);
        }
    }

    /// Marks a delivery redriven or deleted.
    fn set_state(&self, id: &str, state: State, detail: String) {
        self.store().set_state(id, state, detail);
    }
}

/// What one record's outcome means for its delivery.
fn progress_of(
    result: &RecordOutcome,
    receive_count: u32,
    exhausted: bool,
    retry: &ProcessSettings,
    now: i64,
    last_error: Option<&str>,
) -> Progress {
    let next_try = now + i64::from(retry.backoff_secs(receive_count));
    let at = |secs: i64| inlet_signature::clock::format_rfc3339_secs(secs);
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
            format!(
                "failed {receive_count} times, the last: {reason}; SQS moves it to the \
                 dead-letter queue at about {}",
                at(next_try)
            ),
            None,
        ),
        RecordOutcome::Retry { reason } => (
            State::Retrying,
            format!("{reason}; next try at about {}", at(next_try)),
            Some(at(next_try)),
        ),
        RecordOutcome::Skipped => (
            State::Retrying,
            format!(
                "an earlier copy of this event in the batch failed; next try at about {}",
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
        receive_count,
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_795_352_400;

    #[test]
    fn a_queued_delivery_shows_its_envelope_and_type_before_any_action_runs() {
        let inspector = Inspector::in_memory();
        let envelope = serde_json::json!({
            "v": 1, "key": "github#d-1", "source": "github", "scheme": "github",
            "event_type": "push", "event_id": "d-1", "received_at": "2026-11-28T13:00:00.000Z",
        });
        inspector.queued(&envelope.to_string());
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
            body: r#"{"id":"github#d-1","status":"queued"}"#.into(),
            outcome: Outcome::Queued {
                key: "github#d-1".into(),
            },
            headers: Vec::new(),
        };
        let id = inspector.ingested(&seen, Some("github"), &reply);
        let delivery = inspector.store().get(&id).cloned().expect("recorded");
        assert_eq!(delivery.event_type.as_deref(), Some("push"));
        assert_eq!(delivery.envelope, Some(envelope));
        // Taken once: a later copy with the key gets the envelope its own send stored.
        let again = inspector.ingested(&seen, Some("github"), &reply);
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
        let progress = progress_of(&retry, 2, false, &ProcessSettings::default(), NOON, None);
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
        );
        assert_eq!(progress.state, State::DeadLettered);
        assert_eq!(progress.detail, "action_failed: the target answered 404");
        let last = RecordOutcome::Retry {
            reason: "the target answered 500".into(),
        };
        let progress = progress_of(&last, 5, true, &ProcessSettings::default(), NOON, None);
        assert_eq!(progress.state, State::DeadLettered);
        assert!(progress.detail.contains("the target answered 500"));
    }
}
