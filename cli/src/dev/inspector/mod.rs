//! The inspector: a web page inside `inlet dev` that lists every delivery as it moves through
//! the pipeline, shows each one whole, and replays, redrives or deletes it.
//!
//! [`Inspector`] is the shared record: the ingest server, the poller and the action wrapper
//! write to it as things happen; the page reads it through the JSON API in `api.rs`.

mod actions;
mod api;
mod destinations;
mod history;
mod pretty;
mod progress;
mod queued;
mod store;
mod timeline;

pub(super) use actions::Actions;
pub(super) use api::InspectorService;
pub(super) use queued::{RecordingQueue, watch};

use super::retries::{PolledBatch, Retries};
use destinations::Destinations;
use inlet_core::actions::ActionError;
use inlet_core::actions::answers::TargetAnswer;
use inlet_core::config::Route;
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Outcome, Reply};
use inlet_core::process::RecordOutcome;
use inlet_core::schema::{SCHEMA_INVALID, SchemaError};
use inlet_local::Poll;
use progress::{Receipt, dead_letter_messages, progress_of, route_states};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use store::{ActionAttempt, Arrival, Pickup, Queued, Request, State, Store, Verdict};

use progress::detail_as_of;
pub(super) use store::HistoryError;

/// Where the history is kept, relative to the directory `inlet dev` runs in.
pub(super) use crate::state::HISTORY_FILE;

/// The request header a replay from the page carries, so the server can tell the page which
/// delivery it became. It is not kept with the delivery.
pub(super) const REPLAY_HEADER: &str = "x-inlet-inspector-replay";

/// The shared record of deliveries.
#[derive(Debug, Clone)]
pub(super) struct Inspector {
    store: Arc<Mutex<Store>>,
    /// Replay tokens to the delivery each became.
    replays: Arc<Mutex<HashMap<String, String>>>,
    /// Each route's destination, and the holds counted against each since `inlet dev` started.
    destinations: Arc<Mutex<Destinations>>,
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

/// The moment process, having claimed an event, asked which routes take the queue message it was
/// in: what the recorder sees of the claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Claimed {
    pub message_id: String,
    pub at_ms: i64,
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
            destinations: Arc::default(),
        }
    }

    /// Knows the destination of each of the config's `routes`, to count the holds of each.
    pub(super) fn with_routes(self, routes: &[Route]) -> Self {
        *self.destinations() = Destinations::of_routes(routes);
        self
    }

    fn destinations(&self) -> MutexGuard<'_, Destinations> {
        self.destinations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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
    /// [`Self::ingested`], with when ingest handed it to the queue (epoch milliseconds) and how
    /// long the queue took to take it.
    pub(super) fn queued(&self, message_id: &str, body: &str, at_ms: i64, took: Duration) {
        if let Ok(envelope) = serde_json::from_str::<serde_json::Value>(body) {
            let queued = Queued {
                at: inlet_signature::clock::format_rfc3339_millis(at_ms),
                took_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            };
            self.store().queued(message_id, envelope, Some(queued));
        }
    }

    fn replays_lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.replays.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The delivery a replay with `token` became, once the server has recorded it.
    pub(super) fn replayed_as(&self, token: &str) -> Option<String> {
        self.replays_lock().remove(token)
    }

    /// Records what process made of a poll's batch, had at `now_ms` (epoch milliseconds), with
    /// the routes' runs in it and the claims the recorder saw. Each outcome lands on the delivery
    /// its message was first queued as; each route held back is counted against its destination.
    pub(super) fn polled(
        &self,
        poll: &Poll,
        retries: &Retries<'_>,
        now_ms: i64,
        runs: &[ActionRun],
        claims: &[Claimed],
    ) {
        let Some(outcome) = &poll.outcome else {
            return;
        };
        let batch = PolledBatch {
            poll,
            retries,
            // Whole seconds, as the console's lines count the next tries from.
            now_ms: now_ms.div_euclid(1000) * 1000,
        };
        let mut destinations = self.destinations();
        for routes in &outcome.routes {
            destinations.count_holds(routes);
        }
        drop(destinations);
        let mut store = self.store();
        for (index, (message_id, result)) in outcome.outcomes.iter().enumerate() {
            let Some(received) = batch.received(index) else {
                continue;
            };
            let mine: Vec<&ActionRun> = runs
                .iter()
                .filter(|r| &r.message_id == message_id)
                .collect();
            let routes = batch.routes(index);
            // What a dead letter's reason does not say: its routes' own words, else the last
            // error of the runs.
            let last_error = dead_letter_messages(routes)
                .or_else(|| {
                    // A body that broke its schema: where, as ingest found it.
                    let errors = received.envelope.as_ref()?.schema_errors.as_ref()?;
                    Some(format!(
                        "breaks its schema: {}",
                        inlet_core::schema::describe(errors)
                    ))
                })
                .or_else(|| mine.iter().rev().find_map(|r| r.error()).map(str::to_owned));
            let comes_back = batch.comes_back(index);
            let receipt = Receipt {
                result,
                routes,
                receives: received.receive_count,
                exhausted: poll.exhausted.contains(message_id),
                comes_back,
                behind_held: matches!(
                    batch.lane_stopper(index),
                    Some((_, RecordOutcome::Held { .. }))
                ),
                last_error: last_error.as_deref(),
            };
            let backoff_ms = retries.backoff_at_ms(received.receive_count, batch.now_ms);
            let pickup = Pickup {
                message_id: message_id.clone(),
                receive_count: received.receive_count,
                claimed_at_ms: claims
                    .iter()
                    .find(|c| &c.message_id == message_id)
                    .map(|c| c.at_ms),
                ended_at_ms: now_ms,
            };
            store.receive_at(
                &received.origin_message_id,
                pickup,
                mine.iter().map(|r| r.attempt()).collect(),
                route_states(routes, retries, backoff_ms),
                |tried| progress_of(&receipt, retries, tried),
                || received.envelope.as_ref().map(adopted),
            );
        }
    }

    /// Every destination with its breaker (`breakers`, as the shared store gave them; `None`
    /// without a store) and the holds counted against it, at `now_ms`: `GET /api/destinations`.
    pub(super) fn destinations_report(
        &self,
        breakers: Option<
            Result<Vec<inlet_core::ports::BreakerState>, inlet_core::ports::StoreError>,
        >,
        now_ms: i64,
    ) -> serde_json::Value {
        self.destinations().report(breakers, now_ms)
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

/// What a refusal says: its message, and for `schema_invalid` where the body breaks its
/// schema.
fn rejection_detail(code: &str, answer: Option<&serde_json::Value>) -> String {
    let message = answer
        .and_then(|v| v.get("message")?.as_str())
        .unwrap_or_default()
        .to_owned();
    let errors = answer
        .filter(|_| code == SCHEMA_INVALID)
        .and_then(|v| serde_json::from_value::<Vec<SchemaError>>(v.get("errors")?.clone()).ok());
    match errors {
        Some(errors) if !errors.is_empty() => {
            format!("{message}: {}", inlet_core::schema::describe(&errors))
        }
        _ => message,
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
        Outcome::Queued { key, .. } => (
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
            rejection_detail(code, answer.as_ref()),
            // Refused after the signature checked out: the body's shape, or its size as an
            // envelope.
            matches!(*code, "malformed_body" | SCHEMA_INVALID),
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
        (Outcome::Queued { key, .. }, None) => format!("signature verified; queued as {key}"),
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
            outcome: Outcome::Queued {
                key: key.into(),
                trace_id: inlet_core::trace::TraceId([7; 16]),
            },
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
        inspector.queued("m-1", &envelope.to_string(), NOON * 1000, Duration::ZERO);
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
    fn a_due_move_to_the_dead_letter_queue_is_told_in_the_past_tense() {
        use inlet_core::process::BatchOutcome;
        let inspector = Inspector::in_memory();
        inspector.queued("m-1", r#"{"key":"github#a"}"#, NOON * 1000, Duration::ZERO);
        let id = record_queued(&inspector, "github#a", "m-1");
        // Its 500th receive failed before its routes ran: SQS moves it once the backoff set on it
        // (5 s doubled per receive, capped at 900 s) runs out.
        let poll = Poll {
            outcome: Some(BatchOutcome {
                outcomes: vec![(
                    "m-1".into(),
                    RecordOutcome::Retry {
                        reason: "in progress elsewhere".into(),
                    },
                )],
                routes: vec![Vec::new()],
                breakers: Vec::new(),
            }),
            received: vec![inlet_local::Received {
                message_id: "m-1".into(),
                key: Some("github#a".into()),
                envelope: None,
                origin_message_id: "m-1".into(),
                receive_count: 500,
            }],
            exhausted: vec!["m-1".into()],
        };
        let settings = inlet_core::config::ProcessSettings::default();
        let retries = Retries {
            settings: &settings,
            routes: &[],
            max_receive_count: 500,
        };
        inspector.polled(&poll, &retries, NOON * 1000, &[], &[]);
        let delivery = inspector.store().get(&id).cloned().expect("recorded");
        assert_eq!(delivery.state, State::DeadLettered);
        assert_eq!(
            delivery.dead_letter_at.as_deref(),
            Some("2026-11-22T13:15:00Z")
        );
        let now = detail_as_of(&delivery, NOON);
        assert!(
            now.starts_with("its receives ran out (500 of the queue's maxReceiveCount 500"),
            "{now}"
        );
        assert!(now.contains("SQS moves it"), "{now}");
        let later = detail_as_of(&delivery, NOON + 900);
        assert!(
            later.contains("SQS moved it to the dead-letter queue when its retry delay ended"),
            "{later}"
        );
    }
}
