//! What the store records of a delivery: the request, ingest's verdict, each route's runs, and
//! where it stands.

use super::routes::RouteState;
use inlet_core::actions::answers::TargetAnswer;
use serde::{Deserialize, Serialize};

/// Where a delivery stands. Only `queued`, `retrying` and `held` can still change by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum State {
    Queued,
    Processed,
    Duplicate,
    Retrying,
    /// Nothing failed, but routes were held back (an open breaker, a rate limit, a step not yet
    /// due): the record comes back when they may run.
    Held,
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
            Self::Held => "held",
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
        !matches!(self, Self::Queued | Self::Retrying | Self::Held)
    }

    /// Whether the record is in the queue to come back: retried, or held back.
    pub(crate) fn is_waiting(self) -> bool {
        matches!(self, Self::Retrying | Self::Held)
    }

    /// Whether the pipeline was still to take it from the queue: after a restart, the fresh
    /// emulator has lost it and no outcome will come. (A dead letter is final: redriving one the
    /// emulator lost says it is not in the dead-letter queue.)
    pub(super) fn held_by_emulator(self) -> bool {
        !self.is_final()
    }
}

/// The request as it arrived, body capped at [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES).
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
    /// `done`, `transient`, `throttled`, `permanent` or `transform_failed` (`unrouted` in older
    /// history).
    pub outcome: String,
    /// What the action's target made of it, in words.
    pub answer: String,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// What the forward's target answered, when it answered at all.
    #[serde(default)]
    pub response: Option<TargetAnswer>,
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
    /// SQS's own receive count again). Receives, not attempts: a record comes back for a route
    /// held back, or for another route's step; each route counts its own attempts.
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
    /// When ingest handed its message to the queue, for its timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<Queued>,
    /// Each receive of its message by process, in order, for its timeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receives: Vec<Receive>,
    /// What the page or `inlet dlq` did with its dead letter, in order, for its timeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub letter_moves: Vec<LetterMove>,
}

/// When ingest handed a message to the queue (RFC 3339 with milliseconds), and how long the
/// queue took to answer that it had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Queued {
    pub at: String,
    pub took_ms: u64,
}

/// One receive of a delivery's message by process, as the poller and the recorder saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Receive {
    /// The message received: the first, or a redrive's.
    pub message_id: String,
    /// SQS's receive count of that message.
    pub receive_count: u32,
    /// When process, having claimed the event's key, asked which routes take it; `None` when it
    /// did not get that far (a duplicate, a key claimed elsewhere, a body that breaks its
    /// schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<String>,
    /// How many of the delivery's action attempts this receive added: the next ones in order.
    pub runs: u32,
    /// How each route that ran or was held back ended on this receive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteState>,
    /// When the poller had the receive's outcome.
    pub ended_at: String,
    /// Where the delivery stood after it, and why.
    pub state: State,
    pub detail: String,
    /// When it was to come back, for a record sent back to the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_try_at: Option<String>,
}

/// A move of a delivery's dead letter that the page or `inlet dlq` told: `redriven` or
/// `deleted`, when, and in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LetterMove {
    pub at: String,
    pub what: String,
    pub detail: String,
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

/// One receive of a message, as the poller hands it to the store: the message, SQS's receive
/// count, when process claimed the event (epoch milliseconds, if the recorder saw it) and when
/// the poller had the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pickup {
    pub message_id: String,
    pub receive_count: u32,
    pub claimed_at_ms: Option<i64>,
    pub ended_at_ms: i64,
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
