//! The delivery made into the envelope ingest would queue for the source: the headers the
//! scheme keeps, the event type read the way ingest reads it, and why ingest would not queue it.

use super::explain::quoted;
use http::HeaderMap;
use inlet_core::config::Source;
use inlet_core::envelope::{self, Envelope};
use inlet_signature::Scheme;
use serde_json::Value;

/// The event id of the envelope a test builds: its key is `SOURCE#test`.
pub(super) const TEST_EVENT_ID: &str = "test";

/// Where the event type came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TypeFrom {
    /// `--event-type`.
    Given,
    /// Read from the delivery by the scheme, as ingest reads it.
    Delivery,
    /// None: why.
    Absent(String),
}

/// One delivery made into the envelope ingest would queue, with what ingest would say of it.
#[derive(Debug)]
pub(super) struct Tested<'c> {
    pub(super) source: &'c Source,
    pub(super) envelope: Envelope,
    pub(super) body: Vec<u8>,
    pub(super) type_from: TypeFrom,
    /// Header names the envelope keeps.
    pub(super) kept: Vec<String>,
    /// Why ingest would not queue it at all, when it would not.
    pub(super) not_queued: Option<String>,
    /// Other things worth saying before the routes.
    pub(super) notes: Vec<String>,
}

/// Builds the envelope for `body` and `headers` at `source`, as ingest would.
pub(super) fn test_delivery<'c>(
    source: &'c Source,
    headers: &HeaderMap,
    body: &[u8],
    event_type: Option<String>,
) -> Tested<'c> {
    let scheme = &source.scheme;
    let keeps: Vec<&str> = std::iter::once("content-type")
        .chain(scheme.informative_headers().iter().copied())
        .collect();
    let mut kept_headers = std::collections::BTreeMap::new();
    let mut ignored = Vec::new();
    for name in headers.keys() {
        let name = name.as_str();
        if keeps.contains(&name) {
            if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
                kept_headers.insert(name.to_owned(), value.to_owned());
            }
        } else if !ignored.iter().any(|n| n == name) {
            ignored.push(name.to_owned());
        }
    }
    let mut notes = Vec::new();
    if !ignored.is_empty() {
        notes.push(format!(
            "--header {}: ignored: the envelope keeps only {} for this source, so no route sees \
             {}",
            ignored.join(", "),
            keeps.join(", "),
            if ignored.len() == 1 { "it" } else { "them" }
        ));
    }
    let read = crate::event_type::read(&source.scheme, source.url.as_deref(), headers, body);
    let handshake = read.as_ref().is_ok_and(|read| read.handshake);
    let (event_type, type_from) = match event_type {
        Some(given) => (Some(given), TypeFrom::Given),
        None => match read.map(|read| read.event_type) {
            Ok(Some(found)) => (Some(found), TypeFrom::Delivery),
            Ok(None) => (
                None,
                TypeFrom::Absent(match scheme {
                    Scheme::None => "the `none` scheme reads no type; give --event-type".to_owned(),
                    _ => format!(
                        "the {} scheme finds none in this delivery{}; give --event-type",
                        scheme.name(),
                        scheme
                            .type_header()
                            .map(|h| format!(" (it reads the {h} header)"))
                            .unwrap_or_default()
                    ),
                }),
            ),
            Err(why) => (
                None,
                TypeFrom::Absent(format!(
                    "it could not be read from the delivery ({why}); give --event-type"
                )),
            ),
        },
    };
    let mut not_queued = None;
    if handshake {
        not_queued = Some(format!(
            "this is a {} handshake: ingest answers it and queues nothing, so no route runs",
            scheme.name()
        ));
    } else if scheme.posts_json_object() && !is_json_object(body) {
        not_queued = Some(format!(
            "ingest refuses this body (400 malformed_body): {} deliveries are JSON objects",
            scheme.name()
        ));
    } else if let Some(filter) = &source.events
        && !filter.allows(event_type.as_deref())
    {
        let what = event_type.as_deref().map_or_else(
            || "an event without a type".to_owned(),
            |t| format!("type {}", quoted(t)),
        );
        not_queued = Some(format!(
            "sources.{}.events: the source does not take {what} (ingest answers 200 ignored): \
             no route runs",
            source.name
        ));
    }
    let key = envelope::idempotency_key(&source.name, TEST_EVENT_ID);
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    let mut envelope = Envelope {
        v: envelope::VERSION,
        key,
        source: source.name.clone(),
        scheme: scheme.name().to_owned(),
        event_type,
        event_id: TEST_EVENT_ID.to_owned(),
        received_at: inlet_signature::clock::format_rfc3339_millis(now_ms),
        headers: kept_headers,
        body: None,
        body_b64: None,
        replay: None,
        body_ref: None,
        schema_errors: None,
        traceparent: None,
        tracestate: None,
    };
    envelope.set_body(body);
    Tested {
        source,
        kept: envelope.headers.keys().cloned().collect(),
        envelope,
        body: body.to_vec(),
        type_from,
        not_queued,
        notes,
    }
}

fn is_json_object(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| v.is_object())
}
