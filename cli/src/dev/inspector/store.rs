//! The inspector's record of deliveries: what came in, what ingest answered, and what became of
//! it in the queue, kept bounded and written to `.inlet/history.jsonl` so a restart keeps it.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};

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

/// One run of the action on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ActionAttempt {
    pub attempt: u32,
    pub at: String,
    /// `done`, `unrouted`, `transient` or `permanent`.
    pub outcome: String,
    /// What the action's target made of it, in words.
    pub answer: String,
    pub latency_ms: u64,
    pub error: Option<String>,
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
    /// How many times process received it (SQS's receive count).
    pub attempts: u32,
    #[serde(default)]
    pub gone: bool,
    pub replay_of: Option<String>,
    pub request: Request,
    pub verdict: Verdict,
    pub envelope: Option<serde_json::Value>,
    #[serde(default)]
    pub action_attempts: Vec<ActionAttempt>,
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
}

/// What the process pipeline made of one received copy of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Progress {
    pub state: State,
    pub detail: String,
    pub next_try_at: Option<String>,
    pub receive_count: u32,
}

/// The history file: one JSON delivery per line, the last line for an id wins.
#[derive(Debug)]
struct History {
    path: PathBuf,
    file: File,
    /// Bytes in the file, and the bytes the live deliveries' last lines take: when the file
    /// grows well past what is live, it is rewritten with only those.
    written: u64,
    live: HashMap<String, u64>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HistoryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> HistoryError {
    let path = path.to_owned();
    move |source| HistoryError::Io { path, source }
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Oldest first.
    deliveries: VecDeque<Delivery>,
    next_seq: u64,
    history: Option<History>,
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
        match File::open(path) {
            Ok(file) => {
                for line in BufReader::new(file).lines() {
                    let line = line.map_err(io_error(path))?;
                    // A line cut short by a crash, or from another version, is skipped: the
                    // history is a convenience, not a record anything depends on.
                    if let Ok(delivery) = serde_json::from_str::<Delivery>(&line) {
                        by_id.insert(delivery.id.clone(), delivery);
                    }
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error(path)(error)),
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
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let mut store = Self {
            deliveries: deliveries.into(),
            next_seq,
            history: None,
            write_failure: None,
        };
        store.history = Some(store.rewrite(path)?);
        Ok(store)
    }

    /// Writes the live deliveries to a fresh file in place of the old one.
    fn rewrite(&self, path: &Path) -> Result<History, HistoryError> {
        let fresh = path.with_extension("jsonl.new");
        let mut file = File::create(&fresh).map_err(io_error(&fresh))?;
        let mut live = HashMap::new();
        let mut written = 0;
        for delivery in &self.deliveries {
            let line = line_of(delivery);
            file.write_all(line.as_bytes()).map_err(io_error(&fresh))?;
            written += line.len() as u64;
            live.insert(delivery.id.clone(), line.len() as u64);
        }
        file.flush().map_err(io_error(&fresh))?;
        drop(file);
        std::fs::rename(&fresh, path).map_err(io_error(path))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_error(path))?;
        Ok(History {
            path: path.to_owned(),
            file,
            written,
            live,
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
        let line = line_of(delivery);
        let result = history
            .file
            .write_all(line.as_bytes())
            .map_err(io_error(&history.path));
        history.written += line.len() as u64;
        history.live.insert(id.to_owned(), line.len() as u64);
        let live: u64 = history.live.values().sum();
        let result = if history.written > 2 * live + 1024 * 1024 {
            let path = history.path.clone();
            self.rewrite(&path).map(|fresh| self.history = Some(fresh))
        } else {
            result
        };
        if let Err(error) = result {
            self.write_failure.get_or_insert(error.to_string());
        }
    }

    /// Records a delivery ingest answered; its id.
    pub(crate) fn arrive(&mut self, arrival: Arrival) -> String {
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
            attempts: 0,
            gone: false,
            replay_of: arrival.replay_of,
            request: arrival.request,
            verdict: arrival.verdict,
            envelope: arrival.envelope,
            action_attempts: Vec::new(),
        });
        while self.deliveries.len() > MAX_DELIVERIES {
            if let Some(old) = self.deliveries.pop_front()
                && let Some(history) = &mut self.history
            {
                history.live.remove(&old.id);
            }
        }
        self.persist(&id);
        id
    }

    /// The copy of `key` the pipeline is working on: the oldest not yet final. The queue hands
    /// copies out roughly in the order they came, so the oldest is the likeliest.
    fn working_on(&mut self, key: &str) -> Option<&mut Delivery> {
        self.deliveries
            .iter_mut()
            .find(|d| d.key.as_deref() == Some(key) && !d.state.is_final())
    }

    /// Applies what process made of a copy of `key`; the delivery it applied to.
    pub(crate) fn progress(&mut self, key: &str, progress: Progress) -> Option<String> {
        let known = self
            .deliveries
            .iter()
            .rev()
            .find(|d| d.key.as_deref() == Some(key) && d.envelope.is_some())
            .map(|d| (d.envelope.clone(), d.event_type.clone()));
        let delivery = self.working_on(key)?;
        delivery.state = progress.state;
        delivery.state_detail = progress.detail;
        delivery.next_try_at = progress.next_try_at;
        delivery.attempts = delivery.attempts.max(progress.receive_count);
        delivery.gone = false;
        // A duplicate never reaches the action, so its envelope is its key's earlier copy's.
        if delivery.envelope.is_none()
            && let Some((envelope, event_type)) = known
        {
            delivery.envelope = envelope;
            if delivery.event_type.is_none() {
                delivery.event_type = event_type;
            }
        }
        let id = delivery.id.clone();
        self.persist(&id);
        Some(id)
    }

    /// Records a run of the action on `key`, with the envelope it ran on.
    pub(crate) fn attempt(
        &mut self,
        key: &str,
        envelope: serde_json::Value,
        event_type: Option<String>,
        attempt: ActionAttempt,
    ) -> Option<String> {
        let delivery = self.working_on(key)?;
        delivery.envelope = Some(envelope);
        if delivery.event_type.is_none() {
            delivery.event_type = event_type;
        }
        let number = u32::try_from(delivery.action_attempts.len()).unwrap_or(u32::MAX);
        delivery.action_attempts.push(ActionAttempt {
            attempt: number.saturating_add(1),
            ..attempt
        });
        let id = delivery.id.clone();
        self.persist(&id);
        Some(id)
    }

    /// Sets a delivery's state by hand (redrive, delete).
    pub(crate) fn set_state(&mut self, id: &str, state: State, detail: String) {
        if let Some(delivery) = self.deliveries.iter_mut().find(|d| d.id == id) {
            delivery.state = state;
            delivery.state_detail = detail;
            delivery.next_try_at = None;
            let id = delivery.id.clone();
            self.persist(&id);
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

fn line_of(delivery: &Delivery) -> String {
    // A struct of strings, numbers and JSON values always serialises.
    let mut line = serde_json::to_string(delivery).unwrap_or_default();
    line.push('\n');
    line
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
        }
    }

    fn progress(state: State) -> Progress {
        Progress {
            state,
            detail: String::new(),
            next_try_at: None,
            receive_count: 1,
        }
    }

    fn attempt() -> ActionAttempt {
        ActionAttempt {
            attempt: 0,
            at: "2026-11-28T13:00:01Z".into(),
            outcome: "done".into(),
            answer: "forwarded".into(),
            latency_ms: 3,
            error: None,
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
    fn outcomes_go_to_the_oldest_copy_of_a_key_still_in_the_queue() {
        let mut store = Store::in_memory();
        let first = store.arrive(arrival("github#a", State::Queued));
        let second = store.arrive(arrival("github#a", State::Queued));
        let retry = Progress {
            state: State::Retrying,
            detail: "next try at about 13:00:10".into(),
            next_try_at: Some("2026-11-28T13:00:10Z".into()),
            receive_count: 1,
        };
        assert_eq!(
            store.progress("github#a", retry).as_deref(),
            Some(first.as_str())
        );
        // Still working on the first: a retry is not final.
        let at = store.attempt(
            "github#a",
            serde_json::json!({"key": "github#a"}),
            Some("push".into()),
            attempt(),
        );
        assert_eq!(at.as_deref(), Some(first.as_str()));
        store.progress("github#a", progress(State::Processed));
        assert_eq!(
            store
                .progress("github#a", progress(State::Duplicate))
                .as_deref(),
            Some(second.as_str())
        );
        let (a, b) = (store.get(&first).unwrap(), store.get(&second).unwrap());
        assert_eq!((a.state, b.state), (State::Processed, State::Duplicate));
        assert_eq!(a.action_attempts.len(), 1);
        assert_eq!(a.action_attempts[0].attempt, 1);
        assert_eq!(a.next_try_at, None);
        // The duplicate never ran the action: it shows its key's envelope and type.
        assert_eq!(b.envelope, a.envelope);
        assert_eq!(b.event_type.as_deref(), Some("push"));
        // Nothing left in the queue for that key.
        assert_eq!(store.progress("github#a", progress(State::Processed)), None);
    }

    #[test]
    fn a_redriven_dead_letter_takes_its_next_outcome() {
        let mut store = Store::in_memory();
        let id = store.arrive(arrival("github#a", State::Queued));
        store.progress("github#a", progress(State::DeadLettered));
        store.set_state(&id, State::Queued, "redriven".into());
        store.progress("github#a", progress(State::Processed));
        assert_eq!(store.get(&id).unwrap().state, State::Processed);
    }

    #[test]
    fn a_restart_reloads_the_history_and_marks_what_the_emulator_lost() {
        let dir = std::env::temp_dir().join(format!("inlet-inspector-{}", std::process::id()));
        let path = dir.join(".inlet/history.jsonl");
        let _ = std::fs::remove_dir_all(&dir);
        {
            let mut store = Store::open(&path).unwrap();
            store.arrive(arrival("github#done", State::Queued));
            store.progress("github#done", progress(State::Processed));
            store.arrive(arrival("github#waiting", State::Queued));
            store.arrive(arrival("github#dead", State::Queued));
            store.progress("github#dead", progress(State::DeadLettered));
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
}
