//! The config's routes as `inlet dev` runs them: each run of an action is timed and recorded for
//! the inspector, a `log` action's line is printed, and the last error per key is kept so the
//! dead-letter line can say what the target answered.

use super::inspector::Inspector;
use super::output::{log_action_line, say};
use inlet_core::actions::{ActionError, Event, Handled, Handler};
use inlet_core::config::{Action, Route};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Instant, SystemTime};

#[derive(Debug)]
pub(super) struct Recording<H> {
    inner: H,
    /// The config's routes, to tell which action the inner handler ran.
    routes: Vec<Route>,
    inspector: Option<Inspector>,
    /// The last action error per key, taken by the poller after each batch.
    last_errors: Mutex<HashMap<String, String>>,
}

impl<H> Recording<H> {
    pub(super) fn new(inner: H, routes: Vec<Route>, inspector: Option<Inspector>) -> Self {
        Self {
            inner,
            routes,
            inspector,
            last_errors: Mutex::default(),
        }
    }

    pub(super) fn inspector(&self) -> Option<&Inspector> {
        self.inspector.as_ref()
    }

    /// The errors the action gave since the last call, by key.
    pub(super) fn take_errors(&self) -> HashMap<String, String> {
        std::mem::take(
            &mut *self
                .last_errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The action the routes give an event, as the config's router chooses it: the first match.
    fn action_for(&self, event: &Event<'_>) -> Option<&Action> {
        let envelope = event.envelope;
        self.routes
            .iter()
            .find(|route| {
                route.source == envelope.source
                    && route
                        .events
                        .as_ref()
                        .is_none_or(|filter| filter.allows(envelope.event_type.as_deref()))
            })
            .map(|route| &route.action)
    }
}

impl<H: Handler> Handler for Recording<H> {
    async fn handle(&self, event: Event<'_>) -> Result<Handled, ActionError> {
        let at_ms = inlet_signature::clock::epoch_millis(SystemTime::now());
        let started = Instant::now();
        let result = self.inner.handle(event).await;
        let latency = started.elapsed();
        let action = self.action_for(&event);
        if matches!(action, Some(Action::Log)) && result.is_ok() {
            say(log_action_line(event.envelope, event.body.len()));
        }
        if let Err(ActionError::Transient(why) | ActionError::Permanent(why)) = &result {
            self.last_errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(event.envelope.key.clone(), why.clone());
        }
        if let Some(inspector) = &self.inspector {
            let answer = match (&result, action) {
                (Ok(Handled::Unrouted), _) | (_, None) => "no route wants it".to_owned(),
                (Ok(_), Some(Action::Log)) => "logged".to_owned(),
                (Ok(_), Some(Action::Forward { url, .. })) => format!("{url} accepted it (2xx)"),
                (Err(ActionError::Transient(why) | ActionError::Permanent(why)), _) => why.clone(),
            };
            inspector.acted(event.envelope, &result, answer, latency, at_ms);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::super::inspector::Seen;
    use super::*;
    use inlet_core::envelope::Envelope;
    use inlet_core::ingest::{Outcome, Reply};

    /// Fails every event permanently, as a target answering 404 does.
    struct Refusing;

    impl Handler for Refusing {
        async fn handle(&self, _event: Event<'_>) -> Result<Handled, ActionError> {
            Err(ActionError::Permanent("the target answered 404".into()))
        }
    }

    fn envelope(key: &str) -> Envelope {
        Envelope {
            v: 1,
            key: key.into(),
            source: "github".into(),
            scheme: "github".into(),
            event_type: Some("push".into()),
            event_id: "1".into(),
            received_at: "2026-11-28T13:00:00.000Z".into(),
            headers: std::collections::BTreeMap::new(),
            body: Some("{}".into()),
            body_b64: None,
            replay: None,
            body_ref: None,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn each_run_is_recorded_and_its_error_kept_for_the_dead_letter_line() {
        let inspector = Inspector::in_memory();
        let headers = http::HeaderMap::new();
        let seen = Seen {
            method: "POST",
            path: "/webhooks/github",
            query: None,
            headers: &headers,
            body: b"{}",
        };
        let reply = Reply {
            status: http::StatusCode::ACCEPTED,
            content_type: "application/json",
            body: "{}".into(),
            headers: Vec::new(),
            outcome: Outcome::Queued {
                key: "github#1".into(),
            },
        };
        let id = inspector.ingested(&seen, Some("github"), &reply);
        let recording = Recording::new(Refusing, Vec::new(), Some(inspector.clone()));
        let envelope = envelope("github#1");
        let result = recording
            .handle(Event {
                envelope: &envelope,
                body: b"{}",
            })
            .await;
        assert!(matches!(result, Err(ActionError::Permanent(_))));
        assert_eq!(inspector.action_outcomes(&id), ["permanent"]);
        let errors = recording.take_errors();
        assert_eq!(
            errors.get("github#1").map(String::as_str),
            Some("the target answered 404")
        );
        assert!(recording.take_errors().is_empty(), "taken once");
    }
}
