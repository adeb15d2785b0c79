//! The `eventbridge` destination: one `PutEvents` with one entry per delivery.
//!
//! - `EventBusName`: the route's `bus`, a name or an ARN.
//! - `Source`: `inlet.<source name>`. EventBridge refuses sources starting with `aws.`, which
//!   are AWS's own, and a bare source name could be taken for another producer's; the `inlet.`
//!   prefix says where the event came from and lets one rule take every Inlet event
//!   (`{"source": [{"prefix": "inlet."}]}`).
//! - `DetailType`: the event type, or `webhook` when there is none. EventBridge takes at most
//!   128 characters: a longer type is a permanent failure.
//! - `Detail`: the delivered body, which EventBridge requires to be a JSON object; anything else
//!   (an array, a form body, a transform's scalar) is a permanent failure that says so. A
//!   route's `transform` can wrap such bodies in an object.
//! - `Resources`: `inlet:trace/<trace id>`, the event's W3C trace id, for rules to match on.
//!
//! EventBridge answers 200 even when it refuses the entry: `FailedEntryCount` and the entry's
//! `ErrorCode` say so, sorted like a refused request's: `ThrottlingException` is throttled,
//! `InternalException` and `InternalFailure` are transient, any other code is permanent.
//! EventBridge has no deduplication id: once Inlet has its answer the route is done and never
//! sent again, but an answer lost on the way (a timeout after EventBridge took the entry) means a
//! second entry on the retry, so targets that must not see an event twice deduplicate on the
//! provider's event id in `detail`.

use super::{code_and_message, failure, refused};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use inlet_core::actions::ActionError;
use inlet_core::actions::destination::{Delivering, Delivery, Destination};
use inlet_core::trace::TraceId;

/// `DetailType` when the event has no type.
pub const DEFAULT_DETAIL_TYPE: &str = "webhook";
/// What every `Source` starts with.
pub const SOURCE_PREFIX: &str = "inlet.";
/// EventBridge's limit on `DetailType`, in characters.
const DETAIL_TYPE_MAX: usize = 128;

/// The entry's resource that names the event's trace, `inlet:trace/<trace id>`: the detail is
/// the provider's body and stays as it came, and `resources` is the field of an event's own that
/// a rule can match (`{"resources": ["inlet:trace/4bf9…"]}`, or a prefix `inlet:trace/`).
pub fn trace_resource(trace_id: &TraceId) -> String {
    format!("{TRACE_RESOURCE_PREFIX}{trace_id}")
}

/// What the trace's resource starts with.
pub const TRACE_RESOURCE_PREFIX: &str = "inlet:trace/";

/// One route's event bus.
#[derive(Debug, Clone)]
pub struct EventBridgeDestination {
    client: aws_sdk_eventbridge::Client,
    bus: String,
    /// What errors call it: "EventBridge bus `<bus>`".
    name: String,
}

impl EventBridgeDestination {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: String) -> Self {
        Self {
            client,
            name: format!("EventBridge bus `{bus}`"),
            bus,
        }
    }

    /// The client it sends with (in the destination's region).
    pub fn client(&self) -> &aws_sdk_eventbridge::Client {
        &self.client
    }

    /// The entry for `delivery`, or why EventBridge would refuse it.
    fn entry(&self, delivery: &Delivery<'_>) -> Result<PutEventsRequestEntry, ActionError> {
        let envelope = delivery.event.envelope;
        let is_object = serde_json::from_slice::<serde_json::Value>(delivery.body)
            .is_ok_and(|value| value.is_object());
        // Valid JSON is UTF-8, so the text is the body's own bytes.
        let detail = std::str::from_utf8(delivery.body)
            .ok()
            .filter(|_| is_object)
            .ok_or_else(|| {
                ActionError::Permanent(format!(
                    "{} takes only a JSON object as an event's detail, and this body is not one \
                     (a route's transform can wrap it, e.g. `{{body: .}}`)",
                    self.name
                ))
            })?;
        let detail_type = envelope
            .event_type
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_DETAIL_TYPE);
        if detail_type.chars().count() > DETAIL_TYPE_MAX {
            return Err(ActionError::Permanent(format!(
                "{} takes a detail-type of at most {DETAIL_TYPE_MAX} characters, and the event's \
                 type is longer",
                self.name
            )));
        }
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(format!("{SOURCE_PREFIX}{}", envelope.source))
            .detail_type(detail_type)
            .detail(detail)
            .resources(trace_resource(&delivery.event.trace().trace_id))
            .build())
    }

    async fn put(&self, delivery: Delivery<'_>) -> Result<(), ActionError> {
        let entry = self.entry(&delivery)?;
        let what = format!("PutEvents to {}", self.name);
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|error| failure(&what, &error))?;
        let entry_error = output.entries().first().and_then(|entry| {
            entry
                .error_code()
                .filter(|code| !code.is_empty())
                .map(|code| (code, entry.error_message()))
        });
        match entry_error {
            None if output.failed_entry_count() == 0 => Ok(()),
            None => Err(ActionError::Transient(format!(
                "{what} failed: the entry was not taken, and EventBridge gave no reason"
            ))),
            // The request itself was answered 200: only the entry's code says what went wrong.
            Some((code, message)) => Err(refused(
                Some(code),
                None,
                format!("{what} failed: {}", code_and_message(code, message)),
            )),
        }
    }
}

impl Destination for EventBridgeDestination {
    fn deliver<'a>(&'a self, delivery: Delivery<'a>) -> Delivering<'a> {
        Box::pin(self.put(delivery))
    }
}
