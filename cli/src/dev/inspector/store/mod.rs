//! The inspector's record of deliveries: what came in, what ingest answered, and what became of
//! it in the queue, kept bounded and written to `.inlet/history.jsonl` so a restart keeps it.

mod dead_letters;
mod outcome;
mod records;
mod routes;
#[cfg(test)]
mod tests;

use super::history::History;
pub(crate) use super::history::HistoryError;
pub(crate) use records::{
    ActionAttempt, Arrival, Delivery, LetterMove, Pickup, Progress, Queued, Receive, Request,
    State, Verdict,
};
pub(crate) use routes::{RouteStage, RouteState};
use std::collections::{HashMap, VecDeque};
use std::path::Path;

/// How many deliveries are kept; the oldest go first.
pub(crate) const MAX_DELIVERIES: usize = 1000;
/// How much of each body is kept: enough for any webhook worth reading, bounded for the file.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// A receive of a message the store cannot place yet: ingest has queued it, but the server has
/// not recorded the request it came from (the poller can be that quick).
#[derive(Debug, Clone)]
struct Early {
    pickup: Pickup,
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
    /// Envelopes ingest has queued, by message id, with when, until the request they came from
    /// is recorded.
    pending: HashMap<String, (serde_json::Value, Option<Queued>)>,
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

    /// Keeps the envelope of a message ingest has just queued, and when the queue took it, until
    /// [`Self::arrive`] records the request it came from.
    pub(crate) fn queued(
        &mut self,
        message_id: &str,
        envelope: serde_json::Value,
        queued: Option<Queued>,
    ) {
        self.pending
            .insert(message_id.to_owned(), (envelope, queued));
    }

    /// Records a delivery ingest answered; its id. A queued one takes the envelope
    /// [`Self::queued`] kept, and any receive of its message that came first.
    pub(crate) fn arrive(&mut self, mut arrival: Arrival) -> String {
        let mut queued = None;
        let early = match &arrival.message_id {
            Some(message_id) => {
                if let Some((envelope, sent)) = self.pending.remove(message_id) {
                    queued = sent;
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
            queued,
            receives: Vec::new(),
            letter_moves: Vec::new(),
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
                receive.pickup,
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
    /// `unknown`. `pickup` says which message was received (`origin` itself, or a redrive of
    /// it) and when. Returns the delivery it landed on, or `None` while it waits for its request.
    pub(crate) fn receive_at(
        &mut self,
        origin: &str,
        pickup: Pickup,
        runs: Vec<ActionAttempt>,
        routes: Vec<RouteState>,
        progress: impl FnOnce(bool) -> Progress,
        unknown: impl FnOnce() -> Option<Arrival>,
    ) -> Option<String> {
        if let Some(delivery) = self.by_origin(origin) {
            let tried = !delivery.action_attempts.is_empty() || !runs.is_empty();
            let id = delivery.id.clone();
            self.apply(&id, pickup, runs, routes, progress(tried));
            self.persist(&id);
            return Some(id);
        }
        if self.pending.contains_key(origin) {
            let progress = progress(!runs.is_empty());
            self.early
                .entry(origin.to_owned())
                .or_default()
                .push(Early {
                    pickup,
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
        self.apply(&id, pickup, runs, routes, progress(tried));
        self.persist(&id);
        Some(id)
    }

    /// [`Self::receive_at`] of message `message_id`'s first receive, ended now and claimed at no
    /// time the recorder saw.
    #[cfg(test)]
    pub(crate) fn receive(
        &mut self,
        origin: &str,
        message_id: &str,
        runs: Vec<ActionAttempt>,
        routes: Vec<RouteState>,
        progress: impl FnOnce(bool) -> Progress,
        unknown: impl FnOnce() -> Option<Arrival>,
    ) -> Option<String> {
        let pickup = Pickup {
            message_id: message_id.to_owned(),
            receive_count: 1,
            claimed_at_ms: None,
            ended_at_ms: inlet_signature::clock::epoch_millis(std::time::SystemTime::now()),
        };
        self.receive_at(origin, pickup, runs, routes, progress, unknown)
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
