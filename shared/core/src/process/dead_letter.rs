//! A record that cannot succeed, sent to the dead-letter queue with why, when and where from:
//! the record itself (it cannot be read, claimed or its body fetched), or some of its routes,
//! named with their reasons so a redrive runs only them.

use super::deadline::Deadline;
use super::{
    ATTEMPTS, ORIGIN_MESSAGE_ID, Process, QueuedRecord, ROUTE_ERRORS, ROUTES, SCHEMA_ERRORS,
};
use crate::ports::{OutgoingMessage, Queue, QueueError};
use crate::schema::{SCHEMA_INVALID, SchemaError};
use inlet_signature::clock;

/// The dead-letter reason of a route whose retry schedule ran out.
pub const RETRIES_EXHAUSTED: &str = "retries_exhausted";

/// How much of a route's error a dead letter keeps: attributes count toward the queue's message
/// limit, and the envelope may already be close to it.
const ROUTE_MESSAGE_BYTES: usize = 200;
/// The whole `route_errors` attribute, at most (ingest keeps this much room; see
/// `DEAD_LETTER_ROOM`).
const ROUTE_ERRORS_BYTES: usize = 1024;

/// One route that failed for good.
#[derive(Debug)]
pub(super) struct RouteFailure {
    pub(super) route: String,
    pub(super) reason: &'static str,
    pub(super) message: String,
    /// Its attempts, this one included.
    pub(super) attempts: u32,
}

/// What is dead-lettered.
pub(super) enum DeadLetter<'a> {
    /// The whole record, with this reason.
    Record(&'static str),
    /// These routes of the record; the first one's reason is the letter's `reason`.
    Routes(&'a [RouteFailure]),
    /// The whole record, whose body breaks its schema (`schema_invalid`), with ingest's errors.
    Schema(&'a [SchemaError]),
}

impl<St, Dl: Queue, Vi, H> Process<St, Dl, Vi, H> {
    /// Sends the record to the dead-letter queue; `Ok` is the reason it went with. An `Err`
    /// means it is not there, so the record must not be acknowledged either.
    pub(super) async fn dead_letter(
        &self,
        record: &QueuedRecord<'_>,
        source: &str,
        what: DeadLetter<'_>,
        clock: Deadline,
    ) -> Result<&'static str, QueueError> {
        let reason = match &what {
            DeadLetter::Record(reason) => reason,
            DeadLetter::Schema(_) => &SCHEMA_INVALID,
            DeadLetter::Routes(failures) => failures
                .first()
                .map_or(&crate::actions::ACTION_FAILED, |f| &f.reason),
        };
        let mut attributes = vec![
            ("reason", (*reason).to_owned()),
            ("failed_at", clock::format_rfc3339_millis(clock.now_ms)),
            (ORIGIN_MESSAGE_ID, record.origin().to_owned()),
        ];
        if !source.is_empty() {
            attributes.push(("source", source.to_owned()));
        }
        if let DeadLetter::Routes(failures) = &what {
            let names: Vec<&str> = failures.iter().map(|f| f.route.as_str()).collect();
            attributes.push((ROUTES, names.join(",")));
            attributes.push((ROUTE_ERRORS, route_errors(failures)));
            if let Some(first) = failures.first() {
                attributes.push((ATTEMPTS, first.attempts.to_string()));
            }
        }
        if let DeadLetter::Schema(errors) = &what {
            attributes.push((SCHEMA_ERRORS, schema_errors(errors)));
        }
        let message = OutgoingMessage {
            body: record.body.to_owned(),
            attributes,
            fifo: record.group_id.map(|group| crate::ports::FifoIds {
                group_id: group.to_owned(),
                deduplication_id: record.message_id.to_owned(),
            }),
            xray_trace: None,
        };
        self.dead_letters.send(message).await.map(|_| *reason)
    }
}

/// `{"<route>": {"reason": …, "message": …}}`, each message cut to a bounded length on a
/// character boundary, the whole bounded too (later routes keep only their reason).
fn route_errors(failures: &[RouteFailure]) -> String {
    let mut errors = serde_json::Map::new();
    let mut used = 0;
    for failure in failures {
        let mut message = cut(&failure.message, ROUTE_MESSAGE_BYTES);
        if used + message.len() + failure.route.len() + 40 > ROUTE_ERRORS_BYTES {
            message = String::new();
        }
        used += message.len() + failure.route.len() + 40;
        errors.insert(
            failure.route.clone(),
            serde_json::json!({
                "reason": failure.reason,
                "message": message,
                "attempts": failure.attempts,
            }),
        );
    }
    serde_json::Value::Object(errors).to_string()
}

/// The errors as a JSON array, as many as fit the room a dead letter has for its attributes
/// (`ROUTE_ERRORS_BYTES`: a record dead-lettered for its schema has no route errors).
fn schema_errors(errors: &[SchemaError]) -> String {
    let mut kept = errors.len();
    loop {
        let text = serde_json::to_string(&errors[..kept]).unwrap_or_else(|_| "[]".to_owned());
        if text.len() <= ROUTE_ERRORS_BYTES || kept == 0 {
            return text;
        }
        kept -= 1;
    }
}

pub(super) fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
