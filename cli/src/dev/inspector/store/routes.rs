//! Where each route of a delivery stands, and the routes that wait in the dead-letter queue.

use serde::{Deserialize, Serialize};

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
