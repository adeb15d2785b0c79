//! Where a route delivers: one trait, one implementation per kind of destination. `forward`
//! and `log` are in this crate; SQS, SNS and EventBridge are in `inlet-aws` (one file each),
//! behind [`CloudDestinations`], so this crate never links an AWS SDK.

use crate::actions::{ActionError, Event};
use crate::config::Action;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One event for one route, as its destination receives it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub event: Event<'a>,
    /// The route's name.
    pub route: &'a str,
    /// What the destination sends: the event's body, or the route's transform of it.
    pub body: &'a [u8],
    /// Whether `body` is a transform's output (compact JSON), not the provider's bytes.
    pub transformed: bool,
}

impl Delivery<'_> {
    /// The body's media type: JSON for a transform's output, else the delivery's own.
    pub fn content_type(&self) -> &str {
        if self.transformed {
            return "application/json";
        }
        self.event
            .envelope
            .headers
            .get("content-type")
            .map_or("application/octet-stream", String::as_str)
    }
}

/// A boxed delivery future: destinations are trait objects, so a router holds any mix of them.
pub type Delivering<'a> = Pin<Box<dyn Future<Output = Result<(), ActionError>> + Send + 'a>>;

/// Delivers one event for one route. `Ok` only once the destination has it. A failure worth
/// retrying (throttling, 5xx, a timeout) is [`ActionError::Transient`]; one that never passes as
/// it is (access denied, validation, a missing queue) is [`ActionError::Permanent`].
pub trait Destination: Send + Sync + std::fmt::Debug {
    fn deliver<'a>(&'a self, delivery: Delivery<'a>) -> Delivering<'a>;
}

/// Builds the destinations that need a cloud SDK (`sqs`, `sns`, `eventbridge`) for a router.
pub trait CloudDestinations: Send + Sync {
    /// The destination for `action`, or `None` when this build has none of its kind.
    fn build(&self, action: &Action) -> Option<Arc<dyn Destination>>;
}

/// No cloud destinations: a router over it refuses routes of those kinds at start-up.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCloud;

impl CloudDestinations for NoCloud {
    fn build(&self, _action: &Action) -> Option<Arc<dyn Destination>> {
        None
    }
}

/// The destination `action` delivers to, as its breaker and rate limit know it; `None` for a
/// log line, which has neither. The key is the kind and the first 16 bytes of the target's
/// SHA-256 (hex): a URL's query may carry a token, and the table should not.
pub fn destination_id(action: &Action) -> Option<crate::ports::DestinationId> {
    if matches!(action, Action::Log) {
        return None;
    }
    let target = action.target();
    let digest = inlet_signature::sha256(target.as_bytes());
    Some(crate::ports::DestinationId {
        key: format!("{}:{}", action.kind(), hex::encode(&digest[..16])),
        label: format!("{} {}", action.kind(), readable_target(target)),
    })
}

/// A target without what must not be shown: a URL's user information, query and fragment.
fn readable_target(target: &str) -> String {
    match url::Url::parse(target) {
        Ok(mut url) if url.has_host() && matches!(url.scheme(), "http" | "https") => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        _ => target.to_owned(),
    }
}
