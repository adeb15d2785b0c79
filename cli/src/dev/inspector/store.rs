//! The inspector's record of deliveries: what came in, what ingest answered, and what became of
//! it in the queue, kept bounded and written to `.inlet/history.jsonl` so a restart keeps it.

use super::history::History;
pub(crate) use super::history::HistoryError;
use inlet_core::actions::answers::TargetAnswer;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::path::Path;

/// How many deliveries are kept; the oldest go first.
pub(crate) const MAX_DELIVERIES: usize = 1000;
/// How much of each body is kept: enough for any webhook worth reading, bounded for the file.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// Where a delivery stands. Only `queued` and `retrying` can still change by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum State {
    Queued,
    Processed,
    Duplicate,
    Retrying,
    DeadLettered,
    Rejected,
    Ignored,
    Handshake,
    Failed,
    Deleted,
}

impl State {
    /// The state's name, as the API and the history write it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processed => "processed",
            Self::Duplicate => "duplicate",
            Self::Retrying => "retrying",
            Self::DeadLettered => "dead_lettered",
            Self::Rejected => "rejected",
            Self::Ignored => "ignored",
            Self::Handshake => "handshake",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        }
    }

    /// Whether the pipeline is done with it: a later outcome for its key belongs to another copy.
    pub(crate) fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Retrying)
    }

    /// Whether the pipeline was still to take it from the queue: after a restart, the fresh
    /// emulator has lost it and no outcome will come. (A dead letter is final: redriving one the
    /// emulator lost says it is not in the dead-letter queue.)
    fn held_by_emulator(self) -> bool {
        !self.is_final()
    }
}

/// The request as it arrived, body capped at [`MAX_BODY_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Request {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    #[serde(with = "base64_bytes")]
    pub body: Vec<u8>,
    /// The body's length as received, when more than the kept part.
    #[serde(default)]
    pub body_truncated_from: Option<usize>,
}

/// What ingest said about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Verdict {
    pub status: u16,
    pub code: Option<String>,
    pub message: String,
    /// Whether the signature was proved (the delivery got past verification).
    pub verified: bool,
}

/// One run of one route on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ActionAttempt {
    pub attempt: u32,
    pub at: String,
    /// The route that ran; `None` in history from before routes had names.
    #[serde(default)]
    pub route: Option<String>,
    /// `done`, `transient`, `permanent` or `transform_failed` (`unrouted` in older history).
    pub outcome: String,
    /// What the action's target made of it, in words.
    pub answer: String,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// What the forward's target answered, when it answered at all.
    #[serde(default)]
    pub response: Option<TargetAnswer>,
}

/// Where one route of a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RouteStage {
    /// Its destination has the event.
    Delivered,
    /// Failed for now (or sent back from the dead-letter queue): it runs again.
    Retrying,
    /// Failed for good: in the dead-letter queue, with its reason.
    DeadLettered,
}

/// One route of a delivery, as its last run left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RouteState {
    pub route: String,
    pub state: RouteStage,
    /// For a dead-lettered route: `action_failed`, `transform_failed`, or `retries_exhausted`
    /// when SQS moved the whole record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What went wrong, for a route that is not delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Delivery {
    pub id: String,
    pub seq: u64,
    pub received_at: String,
    pub source: String,
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub key: Option<String>,
    pub status: u16,
    pub code: Option<String>,
    pub state: State,
    pub state_detail: String,
    pub next_try_at: Option<String>,
    /// About when SQS moves it to the dead-letter queue, once its receives have run out: until
    /// then its dead letter is not there to redrive.
    #[serde(default)]
    pub dead_letter_at: Option<String>,
    /// How many times process received it, over every message it has been (a redrive starts
    /// SQS's own receive count again).
    pub attempts: u32,
    /// The SQS message ingest queued it as. Its dead letter and any redrive of it carry this id
    /// (`origin_message_id`), so every outcome lands on this copy and no other copy of its event.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The message process last received for it: the first, or a redrive's.
    #[serde(default)]
    pub last_message_id: Option<String>,
    #[serde(default)]
    pub gone: bool,
    pub replay_of: Option<String>,
    pub request: Request,
    pub verdict: Verdict,
    pub envelope: Option<serde_json::Value>,
    #[serde(default)]
    pub action_attempts: Vec<ActionAttempt>,
    /// Each route that has run on it, in the order each first ran, with its latest outcome.
    #[serde(default)]
    pub routes: Vec<RouteState>,
}

/// A delivery as ingest answered it, before it has an id.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub received_at: String,
    pub source: String,
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub key: Option<String>,
    pub status: u16,
    pub code: Option<String>,
    pub state: State,
    pub state_detail: String,
    pub replay_of: Option<String>,
    pub request: Request,
    pub verdict: Verdict,
    /// The envelope as ingest queued it, when it queued one.
    pub envelope: Option<serde_json::Value>,
    /// The message it was queued as.
    pub message_id: Option<String>,
}

/// What the process pipeline made of one receive of a delivery's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Progress {
    pub state: State,
    pub detail: String,
    pub next_try_at: Option<String>,
    /// When SQS should move it to the dead-letter queue, for a record whose receives ran out.
    pub dead_letter_at: Option<String>,
}

/// A receive of a message the store cannot place yet: ingest has queued it, but the server has
/// not recorded the request it came from (the poller can be that quick).
#[derive(Debug, Clone)]
struct Early {
    message_id: String,
    runs: Vec<ActionAttempt>,
    routes: Vec<RouteState>,
    progress: Progress,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Oldest first.
    deliveries: VecDeque<Delivery>,
    next_seq: u64,
    history: Option<History>,
    /// Envelopes ingest has queued, by message id, until the request they came from is recorded.
    pending: HashMap<String, serde_json::Value>,
    /// Receives of pending messages, applied once their delivery is recorded.
    early: HashMap<String, Vec<Early>>,
    /// A history write that failed, to report once rather than on every event.
    pub(crate) write_failure: Option<String>,
}

impl Store {
    /// A store kept in memory only.
    #[cfg(test)]
    pub(crate) fn in_memory() -> Self {
        Self {
            next_seq: 1,
            ..Self::default()
        }
    }

    /// Loads the history at `path` (missing is empty) and keeps writing to it. Deliveries the
    /// last run left in a queue are marked gone: the emulator they were in is not this one.
    pub(crate) fn open(path: &Path) -> Result<Self, HistoryError> {
        let mut by_id: HashMap<String, Delivery> = HashMap::new();
        for line in History::load(path)? {
            // A line cut short by a crash, or from another version, is skipped: the history is a
            // convenience, not a record anything depends on.
            if let Ok(delivery) = serde_json::from_str::<Delivery>(&line) {
                by_id.insert(delivery.id.clone(), delivery);
            }
        }
        let mut deliveries: Vec<Delivery> = by_id.into_values().collect();
        deliveries.sort_by_key(|d| d.seq);
        let excess = deliveries.len().saturating_sub(MAX_DELIVERIES);
        deliveries.drain(..excess);
        for delivery in &mut deliveries {
            if delivery.state.held_by_emulator() {
                delivery.gone = true;
            }
        }
        let next_seq = deliveries.last().map_or(1, |d| d.seq + 1);
        let history = History::rewrite(path, lines_of(&deliveries))?;
        Ok(Self {
            deliveries: deliveries.into(),
            next_seq,
            history: Some(history),
            ..Self::default()
        })
    }

    /// Appends a delivery's new state to the history, compacting it when it has grown.
    fn persist(&mut self, id: &str) {
        let Some(history) = &mut self.history else {
            return;
        };
        let Some(delivery) = self.deliveries.iter().find(|d| d.id == id) else {
            return;
        };
        let result = match history.append(id, &line_of(delivery)) {
            Ok(true) => History::rewrite(history.path(), lines_of(&self.deliveries))
                .map(|fresh| self.history = Some(fresh)),
            Ok(false) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            self.write_failure.get_or_insert(error.to_string());
        }
    }

    /// Keeps the envelope of a message ingest has just queued, until [`Self::arrive`] records
    /// the request it came from.
    pub(crate) fn queued(&mut self, message_id: &str, envelope: serde_json::Value) {
        self.pending.insert(message_id.to_owned(), envelope);
    }

    /// Records a delivery ingest answered; its id. A queued one takes the envelope
    /// [`Self::queued`] kept, and any receive of its message that came first.
    pub(crate) fn arrive(&mut self, mut arrival: Arrival) -> String {
        let early = match &arrival.message_id {
            Some(message_id) => {
                if let Some(envelope) = self.pending.remove(message_id) {
                    // The 202's body names the key only; the event type is the envelope's.
                    if arrival.event_type.is_none() {
                        arrival.event_type = envelope
                            .get("event_type")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_owned);
                    }
                    arrival.envelope = Some(envelope);
                }
                self.early.remove(message_id).unwrap_or_default()
            }
            None => Vec::new(),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = format!("d-{seq:06}");
        self.deliveries.push_back(Delivery {
            id: id.clone(),
            seq,
            received_at: arrival.received_at,
            source: arrival.source,
            event_type: arrival.event_type,
            event_id: arrival.event_id,
            key: arrival.key,
            status: arrival.status,
            code: arrival.code,
            state: arrival.state,
            state_detail: arrival.state_detail,
            next_try_at: None,
            dead_letter_at: None,
            attempts: 0,
            message_id: arrival.message_id,
            last_message_id: None,
            gone: false,
            replay_of: arrival.replay_of,
            request: arrival.request,
            verdict: arrival.verdict,
            envelope: arrival.envelope,
            action_attempts: Vec::new(),
            routes: Vec::new(),
        });
        while self.deliveries.len() > MAX_DELIVERIES {
            if let Some(old) = self.deliveries.pop_front()
                && let Some(history) = &mut self.history
            {
                history.forget(&old.id);
            }
        }
        for receive in early {
            self.apply(
                &id,
                &receive.message_id,
                receive.runs,
                receive.routes,
                receive.progress,
            );
        }
        self.persist(&id);
        id
    }

    /// The delivery first queued as message `origin`.
    fn by_origin(&mut self, origin: &str) -> Option<&mut Delivery> {
        self.deliveries
            .iter_mut()
            .rev()
            .find(|d| d.message_id.as_deref() == Some(origin))
    }

    /// Applies one receive of a delivery's message: the routes' runs on it and how each route
    /// ended, then what process made of it. `progress` is told whether the action has ever run on the delivery (a copy
    /// held back behind a failing one never has). A message the store has never heard of (sent
    /// by `inlet replay`, or queued before this run) becomes a delivery of its own through
    /// `unknown`. `message_id` is the message received: `origin` itself, or a redrive of it.
    /// Returns the delivery it landed on, or `None` while it waits for its request.
    pub(crate) fn receive(
        &mut self,
        origin: &str,
        message_id: &str,
        runs: Vec<ActionAttempt>,
        routes: Vec<RouteState>,
        progress: impl FnOnce(bool) -> Progress,
        unknown: impl FnOnce() -> Option<Arrival>,
    ) -> Option<String> {
        if let Some(delivery) = self.by_origin(origin) {
            let tried = !delivery.action_attempts.is_empty() || !runs.is_empty();
            let id = delivery.id.clone();
            self.apply(&id, message_id, runs, routes, progress(tried));
            self.persist(&id);
            return Some(id);
        }
        if self.pending.contains_key(origin) {
            let progress = progress(!runs.is_empty());
            self.early
                .entry(origin.to_owned())
                .or_default()
                .push(Early {
                    message_id: message_id.to_owned(),
                    runs,
                    routes,
                    progress,
                });
            return None;
        }
        let mut arrival = unknown()?;
        arrival.message_id = Some(origin.to_owned());
        let id = self.arrive(arrival);
        let tried = !runs.is_empty();
        self.apply(&id, message_id, runs, routes, progress(tried));
        self.persist(&id);
        Some(id)
    }

    /// Sets what a receive made of delivery `id`. A record that finished while some of its
    /// routes wait in the dead-letter queue (they failed for good on an earlier receive, the
    /// others were retried until done) is dead-lettered, not processed: its letter is there.
    fn apply(
        &mut self,
        id: &str,
        message_id: &str,
        runs: Vec<ActionAttempt>,
        routes: Vec<RouteState>,
        progress: Progress,
    ) {
        let Some(delivery) = self.deliveries.iter_mut().find(|d| d.id == id) else {
            return;
        };
        for route in routes {
            match delivery.routes.iter_mut().find(|r| r.route == route.route) {
                Some(known) => *known = route,
                None => delivery.routes.push(route),
            }
        }
        for run in runs {
            let number = u32::try_from(delivery.action_attempts.len()).unwrap_or(u32::MAX);
            delivery.action_attempts.push(ActionAttempt {
                attempt: number.saturating_add(1),
                ..run
            });
        }
        if progress.dead_letter_at.is_some() {
            // Its receives ran out: SQS moves the whole record, with every route still to run.
            for route in &mut delivery.routes {
                if route.state == RouteStage::Retrying {
                    route.state = RouteStage::DeadLettered;
                    route.reason = Some(RETRIES_EXHAUSTED.to_owned());
                }
            }
        }
        let earlier_try = delivery.next_try_at.take();
        delivery.state = progress.state;
        delivery.state_detail = progress.detail;
        delivery.next_try_at = progress.next_try_at;
        delivery.dead_letter_at = progress.dead_letter_at;
        delivery.attempts = delivery.attempts.saturating_add(1);
        delivery.last_message_id = Some(message_id.to_owned());
        delivery.gone = false;
        if !matches!(delivery.state, State::Processed | State::DeadLettered) {
            return;
        }
        // This message is done with its routes, but another copy of the delivery (the record,
        // while a redrive of its dead letter runs) may not be: the routes say where it stands.
        let retrying: Vec<String> = delivery
            .routes
            .iter()
            .filter(|r| r.state == RouteStage::Retrying)
            .map(|r| match r.message.as_deref() {
                Some(message) => format!("route {} is retried: {message}", r.route),
                None => format!("route {} is retried", r.route),
            })
            .collect();
        let dead = dead_routes(&delivery.routes);
        if !retrying.is_empty() {
            delivery.state = State::Retrying;
            delivery.next_try_at = earlier_try;
            delivery.state_detail = match dead {
                Some(dead) => format!("{}; {dead}", retrying.join("; ")),
                None => retrying.join("; "),
            };
        } else if delivery.state == State::Processed
            && let Some(dead) = dead
        {
            delivery.state = State::DeadLettered;
            delivery.state_detail = format!("{dead}; the other routes delivered");
        }
    }

    /// The delivery whose dead letter was sent back to the queue (by the page or `inlet dlq`) as
    /// message `message_id`. Told after the move, this can come after process has already taken
    /// that message: then the delivery's state is newer and stays.
    pub(crate) fn redriven(
        &mut self,
        origin: &str,
        message_id: &str,
        detail: String,
    ) -> Option<String> {
        let delivery = self.by_origin(origin)?;
        if delivery.last_message_id.as_deref() == Some(message_id) {
            return Some(delivery.id.clone());
        }
        // The letter of routes that failed for good while others are retried: the record is
        // still in the queue for those, and stays as it is said to be.
        let record_waits = delivery.state == State::Retrying
            && delivery
                .routes
                .iter()
                .any(|r| r.state == RouteStage::Retrying);
        for route in &mut delivery.routes {
            if route.state == RouteStage::DeadLettered {
                route.state = RouteStage::Retrying;
                route.reason = None;
                route.message = Some(detail.clone());
            }
        }
        delivery.gone = false;
        if !record_waits {
            delivery.state = State::Queued;
            delivery.next_try_at = None;
            delivery.state_detail = detail;
        }
        let id = delivery.id.clone();
        self.persist(&id);
        Some(id)
    }

    /// The delivery whose dead letter was deleted for good.
    pub(crate) fn deleted(&mut self, origin: &str, detail: String) -> Option<String> {
        let delivery = self.by_origin(origin)?;
        delivery.state = State::Deleted;
        delivery.state_detail = detail;
        delivery.next_try_at = None;
        let id = delivery.id.clone();
        self.persist(&id);
        Some(id)
    }

    /// Marks the dead-lettered deliveries whose dead letters the queue no longer holds as gone:
    /// `present` holds the origins of those it does. Run once at start, against whatever emulator
    /// this run has (a fresh one has none).
    pub(crate) fn reconcile_dead_letters(&mut self, present: &std::collections::HashSet<String>) {
        let mut changed = Vec::new();
        for delivery in &mut self.deliveries {
            if delivery.state != State::DeadLettered {
                continue;
            }
            let held = delivery
                .message_id
                .as_ref()
                .is_some_and(|origin| present.contains(origin));
            if delivery.gone != held {
                continue;
            }
            delivery.gone = !held;
            changed.push(delivery.id.clone());
        }
        for id in changed {
            self.persist(&id);
        }
    }

    /// Marks a dead-lettered delivery as no longer in the dead-letter queue, with why.
    pub(crate) fn left_dead_letter_queue(&mut self, id: &str, detail: String) {
        if let Some(delivery) = self.deliveries.iter_mut().find(|d| d.id == id) {
            delivery.gone = true;
            delivery.state_detail = detail;
            delivery.next_try_at = None;
            self.persist(id);
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Delivery> {
        self.deliveries.iter().find(|d| d.id == id)
    }

    /// Newest first.
    pub(crate) fn newest_first(&self) -> impl Iterator<Item = &Delivery> {
        self.deliveries.iter().rev()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.deliveries.len()
    }
}

/// A route's reason when SQS moved its whole record to the dead-letter queue.
pub(crate) const RETRIES_EXHAUSTED: &str = "retries_exhausted";

/// The routes of a delivery that wait in the dead-letter queue, in words: `route audit
/// dead-lettered (transform_failed): …`; `None` when there are none.
pub(crate) fn dead_routes(routes: &[RouteState]) -> Option<String> {
    let dead: Vec<String> = routes
        .iter()
        .filter(|r| r.state == RouteStage::DeadLettered)
        .map(|r| {
            let reason = r.reason.as_deref().unwrap_or("dead_lettered");
            match r.message.as_deref() {
                Some(message) if !message.is_empty() => {
                    format!("route {} dead-lettered ({reason}): {message}", r.route)
                }
                _ => format!("route {} dead-lettered ({reason})", r.route),
            }
        })
        .collect();
    (!dead.is_empty()).then(|| dead.join("; "))
}

/// A delivery as one line of the history.
fn line_of(delivery: &Delivery) -> String {
    // A struct of strings, numbers and JSON values always serialises.
    let mut line = serde_json::to_string(delivery).unwrap_or_default();
    line.push('\n');
    line
}

/// Each delivery's id and line, for a fresh history.
fn lines_of<'a>(
    deliveries: impl IntoIterator<Item = &'a Delivery>,
) -> impl Iterator<Item = (String, String)> {
    deliveries
        .into_iter()
        .map(|delivery| (delivery.id.clone(), line_of(delivery)))
}

/// Bodies are bytes: base64 keeps them exact in a JSON line.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(key: &str, state: State) -> Arrival {
        Arrival {
            received_at: "2026-11-28T13:00:00Z".into(),
            source: "github".into(),
            event_type: None,
            event_id: key.split_once('#').map(|(_, id)| id.to_owned()),
            key: Some(key.to_owned()),
            status: 202,
            code: None,
            state,
            state_detail: String::new(),
            replay_of: None,
            request: Request {
                method: "POST".into(),
                path: "/webhooks/github".into(),
                query: None,
                headers: vec![("x-github-event".into(), "push".into())],
                body: b"{\"a\":1}".to_vec(),
                body_truncated_from: None,
            },
            verdict: Verdict {
                status: 202,
                code: None,
                message: "queued".into(),
                verified: true,
            },
            envelope: None,
            message_id: None,
        }
    }

    /// A delivery ingest queued as message `message_id`.
    fn queued(key: &str, message_id: &str) -> Arrival {
        Arrival {
            message_id: Some(message_id.to_owned()),
            ..arrival(key, State::Queued)
        }
    }

    fn progress(state: State) -> Progress {
        Progress {
            state,
            detail: String::new(),
            next_try_at: None,
            dead_letter_at: None,
        }
    }

    /// A receive of message `origin`'s delivery, with `runs`, ending in `state`.
    fn receive(
        store: &mut Store,
        origin: &str,
        runs: Vec<ActionAttempt>,
        state: State,
    ) -> Option<String> {
        store.receive(
            origin,
            origin,
            runs,
            Vec::new(),
            |_| progress(state),
            || None,
        )
    }

    fn attempt() -> ActionAttempt {
        ActionAttempt {
            attempt: 0,
            at: "2026-11-28T13:00:01Z".into(),
            route: Some("github".into()),
            outcome: "done".into(),
            answer: "forwarded".into(),
            latency_ms: 3,
            error: None,
            response: None,
        }
    }

    #[test]
    fn ids_count_up_and_the_newest_comes_first() {
        let mut store = Store::in_memory();
        assert_eq!(store.arrive(arrival("github#a", State::Queued)), "d-000001");
        assert_eq!(store.arrive(arrival("github#b", State::Queued)), "d-000002");
        let ids: Vec<_> = store.newest_first().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["d-000002", "d-000001"]);
    }

    #[test]
    fn the_store_keeps_only_the_newest_deliveries() {
        let mut store = Store::in_memory();
        for i in 0..MAX_DELIVERIES + 5 {
            store.arrive(arrival(&format!("github#{i}"), State::Queued));
        }
        assert_eq!(store.len(), MAX_DELIVERIES);
        assert!(store.get("d-000005").is_none());
        assert!(store.get("d-000006").is_some());
    }

    #[test]
    fn each_outcome_lands_on_the_copy_its_message_belongs_to() {
        let mut store = Store::in_memory();
        let first = store.arrive(queued("github#a", "m-1"));
        let second = store.arrive(queued("github#a", "m-2"));
        let third = store.arrive(queued("github#a", "m-3"));
        // One batch: the first copy fails, the two behind it are held back.
        let failed = ActionAttempt {
            outcome: "transient".into(),
            ..attempt()
        };
        assert_eq!(
            receive(&mut store, "m-1", vec![failed], State::Retrying),
            Some(first.clone())
        );
        assert_eq!(
            receive(&mut store, "m-3", Vec::new(), State::Retrying),
            Some(third.clone())
        );
        assert_eq!(
            receive(&mut store, "m-2", Vec::new(), State::Retrying),
            Some(second.clone())
        );
        // The next batch: the first goes through, the others are duplicates.
        receive(&mut store, "m-1", vec![attempt()], State::Processed);
        receive(&mut store, "m-2", Vec::new(), State::Duplicate);
        receive(&mut store, "m-3", Vec::new(), State::Duplicate);
        let view = |id: &str| {
            let d = store.get(id).unwrap();
            (d.state, d.attempts, d.action_attempts.len())
        };
        assert_eq!(view(&first), (State::Processed, 2, 2));
        assert_eq!(view(&second), (State::Duplicate, 2, 0));
        assert_eq!(view(&third), (State::Duplicate, 2, 0));
        let numbers: Vec<u32> = store
            .get(&first)
            .unwrap()
            .action_attempts
            .iter()
            .map(|a| a.attempt)
            .collect();
        assert_eq!(numbers, [1, 2]);
    }

    #[test]
    fn a_receive_before_its_request_is_recorded_waits_for_it() {
        let mut store = Store::in_memory();
        store.queued(
            "m-1",
            serde_json::json!({"key": "github#a", "event_type": "push"}),
        );
        // The poller took the message before the server recorded the request.
        assert_eq!(
            receive(&mut store, "m-1", vec![attempt()], State::Processed),
            None
        );
        let id = store.arrive(queued("github#a", "m-1"));
        let delivery = store.get(&id).unwrap();
        assert_eq!(delivery.state, State::Processed);
        assert_eq!(delivery.action_attempts.len(), 1);
        assert_eq!(delivery.event_type.as_deref(), Some("push"));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_message_never_seen_at_the_door_becomes_a_delivery_of_its_own() {
        let mut store = Store::in_memory();
        let known = store.arrive(queued("github#a", "m-1"));
        let adopted = store.receive(
            "m-9",
            "m-9",
            Vec::new(),
            Vec::new(),
            |tried| {
                assert!(!tried);
                progress(State::Duplicate)
            },
            || Some(arrival("github#a", State::Queued)),
        );
        let adopted = adopted.unwrap();
        assert_ne!(adopted, known);
        let delivery = store.get(&adopted).unwrap();
        assert_eq!(delivery.message_id.as_deref(), Some("m-9"));
        assert_eq!(delivery.state, State::Duplicate);
        assert_eq!(store.get(&known).unwrap().state, State::Queued);
    }

    #[test]
    fn a_dead_letter_moved_or_deleted_elsewhere_says_so() {
        let mut store = Store::in_memory();
        let kept = store.arrive(queued("github#a", "m-1"));
        let redriven = store.arrive(queued("github#a", "m-2"));
        let deleted = store.arrive(queued("github#a", "m-3"));
        for origin in ["m-1", "m-2", "m-3"] {
            receive(&mut store, origin, Vec::new(), State::DeadLettered);
        }
        assert_eq!(
            store.redriven("m-2", "m-20", "redriven by inlet dlq".into()),
            Some(redriven.clone())
        );
        assert_eq!(
            store.deleted("m-3", "deleted by inlet dlq".into()),
            Some(deleted.clone())
        );
        assert_eq!(store.redriven("m-404", "m-405", String::new()), None);
        // The redriven message comes back carrying its origin, and lands on its delivery.
        store.receive(
            "m-2",
            "m-20",
            vec![attempt()],
            Vec::new(),
            |_| progress(State::Processed),
            || None,
        );
        // A report of the redrive that comes after process took the message changes nothing.
        store.redriven("m-2", "m-20", "redriven by inlet dlq".into());
        let state = |id: &str| store.get(id).unwrap().state;
        assert_eq!(state(&kept), State::DeadLettered);
        assert_eq!(state(&redriven), State::Processed);
        assert_eq!(state(&deleted), State::Deleted);
        // A start against a queue that no longer holds m-1's letter.
        store.reconcile_dead_letters(&std::collections::HashSet::new());
        assert!(store.get(&kept).unwrap().gone);
        store.reconcile_dead_letters(&["m-1".to_owned()].into());
        assert!(!store.get(&kept).unwrap().gone);
    }

    #[test]
    fn a_restart_reloads_the_history_and_marks_what_the_emulator_lost() {
        let dir = std::env::temp_dir().join(format!("inlet-inspector-{}", std::process::id()));
        let path = dir.join(".inlet/history.jsonl");
        let _ = std::fs::remove_dir_all(&dir);
        {
            let mut store = Store::open(&path).unwrap();
            store.arrive(queued("github#done", "m-1"));
            receive(&mut store, "m-1", Vec::new(), State::Processed);
            store.arrive(queued("github#waiting", "m-2"));
            store.arrive(queued("github#dead", "m-3"));
            receive(&mut store, "m-3", Vec::new(), State::DeadLettered);
            let mut rejected = arrival("github#x", State::Rejected);
            rejected.key = None;
            store.arrive(rejected);
        }
        let mut store = Store::open(&path).unwrap();
        let states: Vec<_> = store
            .newest_first()
            .map(|d| (d.id.as_str(), d.state, d.gone))
            .collect();
        assert_eq!(
            states,
            [
                ("d-000004", State::Rejected, false),
                ("d-000003", State::DeadLettered, false),
                ("d-000002", State::Queued, true),
                ("d-000001", State::Processed, false),
            ]
        );
        // Ids go on from where the last run stopped.
        assert_eq!(
            store.arrive(arrival("github#new", State::Queued)),
            "d-000005"
        );
        // The file was compacted to one line per delivery, plus the new one.
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 5);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_history_line_that_cannot_be_read_is_skipped() {
        let dir = std::env::temp_dir().join(format!("inlet-inspector-bad-{}", std::process::id()));
        let path = dir.join("history.jsonl");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let good = line_of(&{
            let mut store = Store::in_memory();
            store.arrive(arrival("github#a", State::Queued));
            store.get("d-000001").unwrap().clone()
        });
        std::fs::write(&path, format!("{good}{{\"id\": \"d-0000")).unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!(store.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn route(
        name: &str,
        state: RouteStage,
        reason: Option<&str>,
        message: Option<&str>,
    ) -> RouteState {
        RouteState {
            route: name.into(),
            state,
            reason: reason.map(str::to_owned),
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn each_route_keeps_its_latest_outcome_and_a_dead_one_keeps_the_delivery_dead_lettered() {
        let mut store = Store::in_memory();
        let id = store.arrive(queued("github#a", "m-1"));
        // First receive: triage fails for now, audit cannot be reshaped, billing delivered.
        store.receive(
            "m-1",
            "m-1",
            Vec::new(),
            vec![
                route(
                    "triage",
                    RouteStage::Retrying,
                    None,
                    Some("the target answered 500"),
                ),
                route(
                    "audit",
                    RouteStage::DeadLettered,
                    Some("transform_failed"),
                    Some("not JSON"),
                ),
                route("billing", RouteStage::Delivered, None, None),
            ],
            |_| progress(State::Retrying),
            || None,
        );
        assert_eq!(store.get(&id).unwrap().state, State::Retrying);
        // Second receive runs only triage, which goes through: the event is finished, but the
        // audit route's letter waits in the dead-letter queue.
        store.receive(
            "m-1",
            "m-1",
            Vec::new(),
            vec![route("triage", RouteStage::Delivered, None, None)],
            |_| progress(State::Processed),
            || None,
        );
        let delivery = store.get(&id).unwrap();
        let names: Vec<_> = delivery
            .routes
            .iter()
            .map(|r| (r.route.as_str(), r.state))
            .collect();
        assert_eq!(
            names,
            [
                ("triage", RouteStage::Delivered),
                ("audit", RouteStage::DeadLettered),
                ("billing", RouteStage::Delivered),
            ]
        );
        assert_eq!(delivery.state, State::DeadLettered);
        assert_eq!(
            delivery.state_detail,
            "route audit dead-lettered (transform_failed): not JSON; the other routes delivered"
        );
        // Redriven, the dead route runs again; once it is delivered, so is the whole delivery.
        store.redriven("m-1", "m-2", "redriven by inlet dlq".into());
        let audit = |store: &Store| store.get(&id).unwrap().routes[1].clone();
        assert_eq!(audit(&store).state, RouteStage::Retrying);
        assert_eq!(audit(&store).reason, None);
        store.receive(
            "m-1",
            "m-2",
            Vec::new(),
            vec![route("audit", RouteStage::Delivered, None, None)],
            |_| progress(State::Processed),
            || None,
        );
        assert_eq!(store.get(&id).unwrap().state, State::Processed);
        assert_eq!(audit(&store).state, RouteStage::Delivered);
    }

    #[test]
    fn a_redrive_that_ends_while_another_route_is_retried_leaves_the_delivery_retrying() {
        let mut store = Store::in_memory();
        let id = store.arrive(queued("github#a", "m-1"));
        let retrying = Progress {
            next_try_at: Some("2026-11-28T13:00:10Z".into()),
            ..progress(State::Retrying)
        };
        store.receive(
            "m-1",
            "m-1",
            Vec::new(),
            vec![
                route("target", RouteStage::Retrying, None, Some("refused")),
                route(
                    "audit",
                    RouteStage::DeadLettered,
                    Some("transform_failed"),
                    Some("not JSON"),
                ),
            ],
            |_| retrying,
            || None,
        );
        // The audit letter is redriven and fails again while m-1 still waits to retry target.
        store.redriven("m-1", "m-2", "redriven by the inspector".into());
        store.receive(
            "m-1",
            "m-2",
            Vec::new(),
            vec![route(
                "audit",
                RouteStage::DeadLettered,
                Some("transform_failed"),
                Some("not JSON"),
            )],
            |_| progress(State::DeadLettered),
            || None,
        );
        let delivery = store.get(&id).unwrap();
        assert_eq!(delivery.state, State::Retrying);
        assert_eq!(
            delivery.next_try_at.as_deref(),
            Some("2026-11-28T13:00:10Z")
        );
        assert_eq!(
            delivery.state_detail,
            "route target is retried: refused; route audit dead-lettered (transform_failed): not \
             JSON"
        );
        // m-1's receives run out: target goes with the record to the dead-letter queue.
        let last = Progress {
            dead_letter_at: Some("2026-11-28T13:01:20Z".into()),
            ..progress(State::DeadLettered)
        };
        store.receive("m-1", "m-1", Vec::new(), Vec::new(), |_| last, || None);
        let delivery = store.get(&id).unwrap();
        assert_eq!(delivery.state, State::DeadLettered);
        assert_eq!(delivery.routes[0].state, RouteStage::DeadLettered);
        assert_eq!(
            delivery.routes[0].reason.as_deref(),
            Some(RETRIES_EXHAUSTED)
        );
    }

    #[test]
    fn a_history_line_from_before_routes_still_loads() {
        let dir = std::env::temp_dir().join(format!("inlet-inspector-old-{}", std::process::id()));
        let path = dir.join("history.jsonl");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = Store::in_memory();
        let id = store.arrive(queued("github#a", "m-1"));
        receive(&mut store, "m-1", vec![attempt()], State::Processed);
        let mut line: serde_json::Value =
            serde_json::from_str(&line_of(store.get(&id).unwrap())).unwrap();
        // As an older inlet dev wrote it: no routes, attempts without a route.
        line.as_object_mut().unwrap().remove("routes");
        line["action_attempts"][0]
            .as_object_mut()
            .unwrap()
            .remove("route");
        line["action_attempts"][0]["outcome"] = "done".into();
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let store = Store::open(&path).unwrap();
        let delivery = store.get(&id).unwrap();
        assert_eq!(delivery.routes, []);
        assert_eq!(delivery.action_attempts[0].route, None);
        assert_eq!(delivery.state, State::Processed);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
