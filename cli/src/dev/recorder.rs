//! The config's routes as `inlet dev` runs them: each route's run is timed and kept, with the
//! queue message it was for, the route, and what the target answered, for the console's lines
//! and the inspector; a `log` route's line is printed. When process asks which routes take a
//! message (which it does once it has claimed the event) is kept too, for the inspector's
//! timeline.

use super::inspector::{ActionRun, Claimed};
use super::output::{log_action_line, say};
use inlet_core::actions::{ActionError, Event, Handler, answers};
use inlet_core::config::{Action, Route};
use std::sync::{Mutex, PoisonError};
use std::time::{Instant, SystemTime};

/// Older than Lambda's longest timeout (15 minutes): no batch still running holds such a run.
const STALE_RUN_MS: i64 = 15 * 60 * 1000;

#[derive(Debug)]
pub(super) struct Recording<H> {
    inner: H,
    /// The config's routes, to tell each route's action by its name.
    routes: Vec<Route>,
    /// The runs not yet taken: each poller takes its batch's after the batch (several pollers
    /// may run batches at once).
    runs: Mutex<Vec<ActionRun>>,
    /// The claims seen and not yet taken, as the runs are.
    claims: Mutex<Vec<Claimed>>,
}

impl<H> Recording<H> {
    pub(super) fn new(inner: H, routes: Vec<Route>) -> Self {
        Self {
            inner,
            routes,
            runs: Mutex::default(),
            claims: Mutex::default(),
        }
    }

    /// The claims seen for the messages `message_ids` (one batch's), as
    /// [`Self::take_runs_of`] takes the runs.
    pub(super) fn take_claims_of(&self, message_ids: &[&str]) -> Vec<Claimed> {
        let oldest_ms = inlet_signature::clock::epoch_millis(SystemTime::now()) - STALE_RUN_MS;
        let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        let (mine, others): (Vec<Claimed>, Vec<Claimed>) = std::mem::take(&mut *claims)
            .into_iter()
            .partition(|claim| message_ids.contains(&claim.message_id.as_str()));
        *claims = others
            .into_iter()
            .filter(|claim| claim.at_ms >= oldest_ms)
            .collect();
        mine
    }

    /// The routes' runs for the messages `message_ids` (one batch's), in the order they ended;
    /// those of other messages stay for the poller whose batch they are in. Runs no batch took
    /// (its poll failed after they ran) go once older than any batch can last.
    pub(super) fn take_runs_of(&self, message_ids: &[&str]) -> Vec<ActionRun> {
        let oldest_ms = inlet_signature::clock::epoch_millis(SystemTime::now()) - STALE_RUN_MS;
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        let (mine, others): (Vec<ActionRun>, Vec<ActionRun>) = std::mem::take(&mut *runs)
            .into_iter()
            .partition(|run| message_ids.contains(&run.message_id.as_str()));
        *runs = others
            .into_iter()
            .filter(|run| run.at_ms >= oldest_ms)
            .collect();
        mine
    }

    /// The config's route of that name; `None` for a route the config does not have (one a
    /// handler of the user's own adds).
    fn route(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|route| route.name == name)
    }

    /// Whether `source` has more than one route, so a line about one of them must say which.
    fn several_routes(&self, source: &str) -> bool {
        self.routes
            .iter()
            .filter(|route| route.source == source)
            .nth(1)
            .is_some()
    }
}

impl<H: Handler> Handler for Recording<H> {
    fn routes<'s>(&'s self, event: &Event<'_>) -> Vec<&'s str> {
        // Process asks once it holds the event's claim, right before its routes run.
        let at_ms = inlet_signature::clock::epoch_millis(SystemTime::now());
        self.claims
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Claimed {
                message_id: event.message_id.to_owned(),
                at_ms,
            });
        self.inner.routes(event)
    }

    fn policy<'s>(&'s self, route: &str) -> inlet_core::actions::RoutePolicy<'s> {
        self.inner.policy(route)
    }

    async fn handle(&self, route: &str, event: Event<'_>) -> Result<(), ActionError> {
        let at_ms = inlet_signature::clock::epoch_millis(SystemTime::now());
        let started = Instant::now();
        let (result, answered) = answers::capture(self.inner.handle(route, event)).await;
        let latency = started.elapsed();
        let action = self.route(route).map(|r| &r.action);
        if matches!(action, Some(Action::Log)) && result.is_ok() {
            let named = self.several_routes(&event.envelope.source).then_some(route);
            say(log_action_line(event.envelope, event.body.len(), named));
        }
        let response = answered.into_iter().last();
        let answer = match (&result, action) {
            (Ok(()), Some(Action::Log)) => "logged".to_owned(),
            (Ok(()), Some(Action::Forward { url, .. })) => match &response {
                Some(response) => format!("{url} accepted it ({})", response.status),
                None => format!("{url} accepted it (2xx)"),
            },
            (Ok(()), Some(other)) => format!("delivered to {} {}", other.kind(), other.target()),
            (Ok(()), None) => "done".to_owned(),
            (Err(error), _) => error.message().to_owned(),
        };
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ActionRun {
                message_id: event.message_id.to_owned(),
                route: route.to_owned(),
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

    /// Two routes: `triage` is refused as a target answering 404 does, `audit` takes everything,
    /// `broken` cannot reshape it.
    struct TwoRoutes;

    impl Handler for TwoRoutes {
        fn routes<'s>(&'s self, _event: &Event<'_>) -> Vec<&'s str> {
            vec!["triage", "audit", "broken"]
        }

        async fn handle(&self, route: &str, _event: Event<'_>) -> Result<(), ActionError> {
            match route {
                "triage" => Err(ActionError::Permanent("the target answered 404".into())),
                "broken" => Err(ActionError::TransformFailed("not JSON".into())),
                _ => Ok(()),
            }
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
            schema_errors: None,
            traceparent: None,
            tracestate: None,
        }
    }

    fn route(name: &str, action: Action) -> Route {
        Route {
            name: name.into(),
            source: "github".into(),
            events: None,
            when: Vec::new(),
            transform: None,
            action,
            retry_schedule: None,
            rate_limit: None,
        }
    }

    fn routes() -> Vec<Route> {
        vec![
            route(
                "triage",
                Action::Forward {
                    url: "http://127.0.0.1:9/triage".into(),
                    secret: inlet_core::config::SecretRef::Env("S".into()),
                    timeout_ms: 5000,
                },
            ),
            route(
                "audit",
                Action::Sqs {
                    queue_url: "http://127.0.0.1:9/000000000000/audit".into(),
                    group_pointer: None,
                },
            ),
            route("broken", Action::Log),
        ]
    }

    #[tokio::test(flavor = "current_thread")]
    async fn each_route_run_is_kept_with_its_message_route_and_error_until_taken() {
        let recording = Recording::new(TwoRoutes, routes());
        let envelope = envelope("github#1");
        for message_id in ["m-1", "m-2"] {
            let event = Event {
                envelope: &envelope,
                body: b"{}",
                message_id,
            };
            let names = recording.routes(&event);
            assert_eq!(names, ["triage", "audit", "broken"]);
            for name in names {
                let result = recording.handle(name, event).await;
                assert_eq!(result.is_ok(), name == "audit");
            }
        }
        let first = recording.take_runs_of(&["m-1"]);
        assert_eq!(first.len(), 3, "{first:?}");
        let mut runs = first;
        runs.extend(recording.take_runs_of(&["m-2", "m-9"]));
        let seen: Vec<_> = runs
            .iter()
            .map(|r| {
                (
                    r.message_id.as_str(),
                    r.route.as_str(),
                    r.error(),
                    r.answer.as_str(),
                )
            })
            .collect();
        let audit = "delivered to sqs http://127.0.0.1:9/000000000000/audit";
        assert_eq!(
            seen,
            [
                (
                    "m-1",
                    "triage",
                    Some("the target answered 404"),
                    "the target answered 404"
                ),
                ("m-1", "audit", None, audit),
                ("m-1", "broken", Some("not JSON"), "not JSON"),
                (
                    "m-2",
                    "triage",
                    Some("the target answered 404"),
                    "the target answered 404"
                ),
                ("m-2", "audit", None, audit),
                ("m-2", "broken", Some("not JSON"), "not JSON"),
            ]
        );
        assert!(matches!(
            runs[2].result,
            Err(ActionError::TransformFailed(_))
        ));
        assert!(
            recording.take_runs_of(&["m-1", "m-2"]).is_empty(),
            "taken once"
        );
        // Each message's claim was seen when process asked for its routes, before they ran.
        let claims = recording.take_claims_of(&["m-2"]);
        assert_eq!(claims.len(), 1, "{claims:?}");
        assert_eq!(claims[0].message_id, "m-2");
        assert!(claims[0].at_ms <= runs[3].at_ms, "{claims:?} {runs:?}");
        assert_eq!(recording.take_claims_of(&["m-1"]).len(), 1);
        assert!(recording.take_claims_of(&["m-1", "m-2"]).is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_route_is_known_by_its_name_not_by_matching_again() {
        // The first route of the source is a forward; the run is of `broken`, a log route, and
        // is said to be that route's even though the event would also match the first.
        let recording = Recording::new(TwoRoutes, routes());
        assert!(matches!(
            recording.route("broken").map(|r| &r.action),
            Some(Action::Log)
        ));
        assert!(recording.route("nobody").is_none());
        assert!(recording.several_routes("github"));
        assert!(!recording.several_routes("stripe"));
        let envelope = envelope("github#2");
        let event = Event {
            envelope: &envelope,
            body: b"{}",
            message_id: "m-3",
        };
        let _ = recording.handle("nobody", event).await;
        let runs = recording.take_runs_of(&["m-3"]);
        assert_eq!(runs[0].route, "nobody");
        assert_eq!(runs[0].answer, "done");
    }
}
