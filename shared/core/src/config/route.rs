//! A validated `[[routes]]` entry: its name, which events it takes (source, `events`, `when`),
//! how it reshapes them (`transform`) and where they go (`action`).

use super::event_filter::EventFilter;
use super::secret_ref::SecretRef;

/// Where a route delivers an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// POST the event to `url`, signed as Standard Webhooks with `secret`.
    Forward {
        url: String,
        secret: SecretRef,
        timeout_ms: u64,
    },
    /// One structured log line.
    Log,
    /// `SendMessage` to an SQS queue. On a FIFO queue (URL ending `.fifo`) the message group is
    /// the value at `group_pointer` in the body, else the event key.
    Sqs {
        queue_url: String,
        group_pointer: Option<String>,
    },
    /// `Publish` to an SNS topic, with message attributes `source` and `type`.
    Sns { topic_arn: String },
    /// `PutEvents` to an EventBridge bus (name or ARN): `source` and `detail-type` from the
    /// event, `detail` the body.
    EventBridge { bus: String },
}

impl Action {
    /// The action's `type` as the config spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Forward { .. } => "forward",
            Self::Log => "log",
            Self::Sqs { .. } => "sqs",
            Self::Sns { .. } => "sns",
            Self::EventBridge { .. } => "eventbridge",
        }
    }

    /// Where it delivers, for lines a person reads: the URL, queue URL, topic ARN or bus.
    pub fn target(&self) -> &str {
        match self {
            Self::Forward { url, .. } => url,
            Self::Log => "the log",
            Self::Sqs { queue_url, .. } => queue_url,
            Self::Sns { topic_arn } => topic_arn,
            Self::EventBridge { bus } => bus,
        }
    }
}

/// What a `when` condition looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An RFC 6901 JSON pointer into the body (`/pull_request/user/login`). A body that is not
    /// JSON, or has nothing there, has no value.
    Pointer(String),
    /// A request header kept in the envelope, lower-cased.
    Header(String),
}

/// What a `when` condition asks of its subject's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// The value is one of these (JSON scalars: strings, numbers, booleans).
    In(Vec<serde_json::Value>),
    /// The value is exactly this.
    Equals(serde_json::Value),
    /// The value is there (`true`) or not (`false`).
    Exists(bool),
    /// The value is a string starting with this.
    Prefix(String),
}

/// One entry of `when`: every condition of a route must hold for the route to take an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub subject: Subject,
    pub test: Test,
}

/// A route: every route whose source, `events` and `when` match an event runs (fan-out), each
/// exactly once per event.
#[derive(Debug, Clone)]
pub struct Route {
    /// Unique in the config; the default, for a source's only route, is the source's name. It
    /// is what the idempotency record remembers as done, so renaming a route makes events not
    /// yet complete run it again under its new name.
    pub name: String,
    /// A configured source's name.
    pub source: String,
    pub events: Option<EventFilter>,
    /// All must hold; empty holds always.
    pub when: Vec<Condition>,
    /// A jq program reshaping the JSON body this route's destination receives; compiled at
    /// start-up by the router (a syntax error is refused there, naming the route).
    pub transform: Option<String>,
    pub action: Action,
    /// `retry_schedule`: this route's own; `None` takes `[process] retry_schedule`.
    pub retry_schedule: Option<super::retry::RetrySchedule>,
    /// `rate_limit`: at most this many calls to the route's destination, across all functions.
    pub rate_limit: Option<super::retry::RateLimit>,
}
