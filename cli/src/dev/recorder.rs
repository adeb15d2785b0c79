//! The config's routes as `inlet dev` runs them: each run of an action is timed and kept, with
//! the queue message it was for and what the target answered, for the console's lines and the
//! inspector; a `log` action's line is printed.

use super::inspector::ActionRun;
use super::output::{log_action_line, say};
use inlet_core::actions::{ActionError, Event, Handled, Handler, answers};
use inlet_core::config::{Action, Route};
use std::sync::{Mutex, PoisonError};
use std::time::{Instant, SystemTime};

#[derive(Debug)]
pub(super) struct Recording<H> {
    inner: H,
    /// The config's routes, to tell which action the inner handler ran.
    routes: Vec<Route>,
    /// The runs since the last batch ended, taken by the poller after each batch.
    runs: Mutex<Vec<ActionRun>>,
}

impl<H> Recording<H> {
    pub(super) fn new(inner: H, routes: Vec<Route>) -> Self {
        Self {
            inner,
            routes,
            runs: Mutex::default(),
        }
    }

    /// The action's runs since the last call, in the order they ended.
    pub(super) fn take_runs(&self) -> Vec<ActionRun> {
        std::mem::take(&mut *self.runs.lock().unwrap_or_else(PoisonError::into_inner))
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
        let (result, answered) = answers::capture(self.inner.handle(event)).await;
        let latency = started.elapsed();
        let action = self.action_for(&event);
        if matches!(action, Some(Action::Log)) && result.is_ok() {
            say(log_action_line(event.envelope, event.body.len()));
        }
        let response = answered.into_iter().last();
        let answer = match (&result, action) {
            (Ok(Handled::Unrouted), _) | (_, None) => "no route wants it".to_owned(),
            (Ok(_), Some(Action::Log)) => "logged".to_owned(),
            (Ok(_), Some(Action::Forward { url, .. })) => match &response {
                Some(response) => format!("{url} accepted it ({})", response.status),
                None => format!("{url} accepted it (2xx)"),
            },
            (Err(ActionError::Transient(why) | ActionError::Permanent(why)), _) => why.clone(),
        };
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ActionRun {
                message_id: event.message_id.to_owned(),
                at_ms,
                latency,
                result: result.clone(),
                answer,
                response,
            });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_core::envelope::Envelope;

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
    async fn each_run_is_kept_with_its_message_and_error_until_taken() {
        let recording = Recording::new(Refusing, Vec::new());
        let envelope = envelope("github#1");
        for message_id in ["m-1", "m-2"] {
            let result = recording
                .handle(Event {
                    envelope: &envelope,
                    body: b"{}",
                    message_id,
                })
                .await;
            assert!(matches!(result, Err(ActionError::Permanent(_))));
        }
        let runs = recording.take_runs();
        let seen: Vec<_> = runs
            .iter()
            .map(|r| (r.message_id.as_str(), r.error()))
            .collect();
        assert_eq!(
            seen,
            [
                ("m-1", Some("the target answered 404")),
                ("m-2", Some("the target answered 404"))
            ]
        );
        assert!(recording.take_runs().is_empty(), "taken once");
    }
}
