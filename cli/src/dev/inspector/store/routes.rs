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
    /// Not run on its last turn, and not an attempt: its destination's breaker is open, its rate
    /// limit had no slot, or its next step was not due (`hold` says which).
    Held,
    /// Failed for good: in the dead-letter queue, with its reason.
    DeadLettered,
}

impl RouteStage {
    /// Whether the route still has to run: retried, or held back until it may.
    pub(crate) fn is_waiting(self) -> bool {
        matches!(self, Self::Retrying | Self::Held)
    }
}

/// One route of a delivery, as its last run left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RouteState {
    pub route: String,
    pub state: RouteStage,
    /// For a dead-lettered route: `action_failed`, `transform_failed`, `retries_exhausted` (its
    /// schedule ran out), or `receives_exhausted` when SQS moved the whole record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What went wrong, for a route that is not delivered (a held one keeps its last error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Attempts so far: calls that reached, or tried to reach, its destination (holds are not
    /// attempts). For a delivered route, the attempt that delivered, once it had failed before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Attempts in all that its retry schedule allows; unknown for a route of a handler of the
    /// user's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// When it runs next (RFC 3339): its schedule's next step, or the end of its hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// Why a held route was held back: `breaker_open`, `rate_limited` or `not_due`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
}

impl RouteState {
    /// A route in `state`, with nothing more said.
    pub(crate) fn new(route: impl Into<String>, state: RouteStage) -> Self {
        Self {
            route: route.into(),
            state,
            reason: None,
            message: None,
            attempts: None,
            max_attempts: None,
            next_attempt_at: None,
            hold: None,
        }
    }

    /// This run's state of the route, over what `earlier` runs left: a hold is not an attempt,
    /// so a held route keeps its attempts and last error; a route delivered after failing says
    /// on which attempt.
    pub(crate) fn after(self, earlier: &Self) -> Self {
        match self.state {
            RouteStage::Held => Self {
                attempts: self.attempts.or(earlier.attempts),
                max_attempts: self.max_attempts.or(earlier.max_attempts),
                message: self.message.or_else(|| earlier.message.clone()),
                ..self
            },
            RouteStage::Delivered if earlier.state.is_waiting() => Self {
                attempts: earlier.attempts.map(|a| a.saturating_add(1)),
                ..self
            },
            RouteStage::Delivered | RouteStage::Retrying | RouteStage::DeadLettered => self,
        }
    }

    /// Moved with its whole record by SQS (the queue's receives ran out): a route that was to
    /// run again is in the dead-letter queue now.
    pub(crate) fn moved_by_sqs(&mut self) {
        if self.state.is_waiting() {
            self.state = RouteStage::DeadLettered;
            self.reason = Some(RECEIVES_EXHAUSTED.to_owned());
            self.next_attempt_at = None;
            self.hold = None;
        }
    }

    /// Sent back from the dead-letter queue: it runs again, its schedule afresh.
    pub(crate) fn redriven(&mut self, detail: &str) {
        if self.state == RouteStage::DeadLettered {
            *self = Self {
                message: Some(detail.to_owned()),
                ..Self::new(std::mem::take(&mut self.route), RouteStage::Retrying)
            };
        }
    }
}

/// A route's reason when SQS moved its whole record to the dead-letter queue: the queue's
/// `maxReceiveCount`, its safety net, ran out before the route's schedule did.
pub(crate) const RECEIVES_EXHAUSTED: &str = "receives_exhausted";

/// The routes of a delivery that wait in the dead-letter queue, in words: `route audit
/// dead-lettered (transform_failed): …`; `None` when there are none.
pub(crate) fn dead_routes(routes: &[RouteState]) -> Option<String> {
    let dead: Vec<String> = routes
        .iter()
        .filter(|r| r.state == RouteStage::DeadLettered)
        .map(|r| {
            let reason = crate::dev::retries::dead_letter_reason(
                r.reason.as_deref().unwrap_or("dead_lettered"),
                r.attempts.unwrap_or(1),
            );
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
