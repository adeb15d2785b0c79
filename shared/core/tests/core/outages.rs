//! Outages over the in-memory fakes: the retry schedule a route's attempts follow, `Retry-After`,
//! the circuit breaker's states as two functions share them, and the rate limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::process_pipeline::{Batch, NOW_MS, envelope_json, later, outcome};
use inlet_core::actions::{ActionError, Event, Handler, RoutePolicy};
use inlet_core::config::{BreakerSettings, ProcessSettings, RateLimit, RetrySchedule};
use inlet_core::ports::DestinationId;
use inlet_core::ports::memory::{MemoryGuards, MemoryQueue, MemoryStore, MemoryVisibility};
use inlet_core::process::{
    BatchOutcome, BreakerTransition, Hold, Process, RETRIES_EXHAUSTED, RecordOutcome, RouteOutcome,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const ROUTE: &str = "agent";

/// One route to one destination that is up or down, counting the calls it gets and when (on
/// tokio's clock).
struct Target {
    destination: DestinationId,
    rate_limit: Option<RateLimit>,
    schedule: Option<RetrySchedule>,
    down: AtomicBool,
    /// What a down target answers; a 503 by default.
    failure: Mutex<ActionError>,
    calls: AtomicUsize,
    called_at: Mutex<Vec<tokio::time::Instant>>,
}

impl Target {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            destination: DestinationId {
                key: "forward:0123456789abcdef".into(),
                label: "forward http://127.0.0.1:9/hook".into(),
            },
            rate_limit: None,
            schedule: None,
            down: AtomicBool::new(false),
            failure: Mutex::new(ActionError::Transient("the target answered 503".into())),
            calls: AtomicUsize::new(0),
            called_at: Mutex::new(Vec::new()),
        })
    }

    fn with(rate_limit: Option<RateLimit>, schedule: Option<RetrySchedule>) -> Arc<Self> {
        let mut target = Arc::into_inner(Self::new()).unwrap();
        target.rate_limit = rate_limit;
        target.schedule = schedule;
        Arc::new(target)
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Handler for Target {
    fn routes<'s>(&'s self, _event: &Event<'_>) -> Vec<&'s str> {
        vec![ROUTE]
    }

    fn policy<'s>(&'s self, _route: &str) -> RoutePolicy<'s> {
        RoutePolicy {
            schedule: self.schedule.as_ref(),
            destination: Some(&self.destination),
            rate_limit: self.rate_limit,
        }
    }

    async fn handle(&self, _route: &str, _event: Event<'_>) -> Result<(), ActionError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.called_at
            .lock()
            .unwrap()
            .push(tokio::time::Instant::now());
        if self.down.load(Ordering::SeqCst) {
            return Err(self.failure.lock().unwrap().clone());
        }
        Ok(())
    }
}

type Pipeline = Process<MemoryStore, MemoryQueue, MemoryVisibility, Arc<Target>>;

/// Process functions sharing one table (store and guards) and one dead-letter queue.
struct Functions {
    store: MemoryStore,
    guards: MemoryGuards,
    dead_letters: MemoryQueue,
    visibility: MemoryVisibility,
    target: Arc<Target>,
}

impl Functions {
    fn new(target: Arc<Target>) -> Self {
        Self {
            store: MemoryStore::new(),
            guards: MemoryGuards::new(),
            dead_letters: MemoryQueue::new(),
            visibility: MemoryVisibility::default(),
            target,
        }
    }

    /// One more function: its own view of the breakers, the shared table.
    fn function(&self, settings: ProcessSettings) -> Pipeline {
        Process::new(
            self.store.clone(),
            self.dead_letters.clone(),
            self.visibility.clone(),
            Arc::clone(&self.target),
            settings,
        )
        .with_guards(Arc::new(self.guards.clone()))
    }

    fn attempts(&self, event: &str) -> u32 {
        self.store
            .record(&format!("github#{event}"))
            .map_or(0, |record| {
                record
                    .progress
                    .waiting
                    .get(ROUTE)
                    .map_or(0, |waiting| waiting.attempts)
            })
    }

    fn breaker_open(&self) -> bool {
        self.guards
            .breaker(&self.target.destination.key)
            .is_some_and(|state| state.open)
    }
}

fn settings(schedule: &[u32], threshold: u32, cooldown_secs: u32) -> ProcessSettings {
    ProcessSettings {
        retry_schedule: RetrySchedule::new(schedule.to_vec()).unwrap(),
        breaker: BreakerSettings {
            threshold,
            cooldown_secs,
        },
        ..ProcessSettings::default()
    }
}

/// `events` delivered once each, as one batch at `at_ms` after [`CLOCK`].
async fn deliver(function: &Pipeline, events: &[&str], at_ms: i64) -> BatchOutcome {
    let mut batch = Batch::new();
    for event in events {
        batch = batch.push(&format!("m-{event}"), envelope_json("github", event, "{}"));
    }
    function.handle_batch(&batch.records(), later(at_ms)).await
}

fn route_outcome(batch: &BatchOutcome, index: usize) -> RouteOutcome {
    batch.routes[index][0].outcome.clone()
}

fn last_delay(functions: &Functions, event: &str) -> u32 {
    let handle = format!("rh-m-{event}");
    functions
        .visibility
        .changes()
        .iter()
        .rev()
        .find(|(h, _)| *h == handle)
        .unwrap()
        .1
}

// ---- the schedule ----

#[tokio::test]
async fn each_attempt_waits_its_step_and_the_last_failure_dead_letters_retries_exhausted() {
    let functions = Functions::new(Target::new());
    // No breaker in the way: this is about the schedule.
    let function = functions.function(settings(&[5, 60], 1000, 30));
    functions.target.set_down(true);

    let first = deliver(&function, &["d1"], 0).await;
    assert_eq!(
        route_outcome(&first, 0),
        RouteOutcome::Retry {
            reason: "the target answered 503".into(),
            attempts: 1,
            next_at_ms: NOW_MS + 5_000,
        }
    );
    assert_eq!(last_delay(&functions, "d1"), 5);
    assert_eq!(functions.attempts("d1"), 1);

    // Back early (another route of it was due, or a function died): nothing runs, nothing counts.
    let early = deliver(&function, &["d1"], 2_000).await;
    assert_eq!(
        route_outcome(&early, 0),
        RouteOutcome::Held {
            hold: Hold::NotDue,
            until_ms: NOW_MS + 5_000
        }
    );
    assert!(matches!(
        outcome(&early, "m-d1"),
        RecordOutcome::Held { .. }
    ));
    assert_eq!(last_delay(&functions, "d1"), 3);
    assert_eq!(functions.target.calls(), 1);
    assert_eq!(functions.attempts("d1"), 1);

    let second = deliver(&function, &["d1"], 5_000).await;
    assert!(
        matches!(route_outcome(&second, 0), RouteOutcome::Retry { attempts: 2, next_at_ms, .. } if next_at_ms == NOW_MS + 65_000)
    );
    assert_eq!(last_delay(&functions, "d1"), 60);
    assert!(functions.dead_letters.messages().is_empty());

    // The third attempt is the last the schedule allows.
    let third = deliver(&function, &["d1"], 65_000).await;
    assert_eq!(
        outcome(&third, "m-d1"),
        RecordOutcome::DeadLettered {
            reason: RETRIES_EXHAUSTED
        }
    );
    assert_eq!(functions.target.calls(), 3);
    let letters = functions.dead_letters.messages();
    assert_eq!(letters.len(), 1);
    let attributes: HashMap<_, _> = letters[0].attributes.iter().cloned().collect();
    assert_eq!(attributes["reason"], RETRIES_EXHAUSTED);
    assert_eq!(attributes["routes"], ROUTE);
    assert_eq!(attributes["attempts"], "3");
    let errors: serde_json::Value = serde_json::from_str(&attributes["route_errors"]).unwrap();
    assert_eq!(errors[ROUTE]["reason"], RETRIES_EXHAUSTED);
    assert_eq!(errors[ROUTE]["attempts"], 3);
    let message = errors[ROUTE]["message"].as_str().unwrap();
    assert!(
        message.contains("3 attempts") && message.contains("503"),
        "{message}"
    );
    // Its schedule starts afresh if it is redriven.
    assert_eq!(functions.attempts("d1"), 0);
}

#[tokio::test]
async fn a_route_s_own_schedule_wins_over_the_process_one() {
    let target = Target::with(None, Some(RetrySchedule::new(vec![1]).unwrap()));
    let functions = Functions::new(target);
    let function = functions.function(settings(&[5, 60, 600], 1000, 30));
    functions.target.set_down(true);
    deliver(&function, &["d1"], 0).await;
    assert_eq!(last_delay(&functions, "d1"), 1);
    let second = deliver(&function, &["d1"], 1_000).await;
    assert_eq!(
        outcome(&second, "m-d1"),
        RecordOutcome::DeadLettered {
            reason: RETRIES_EXHAUSTED
        }
    );
}

#[tokio::test]
async fn a_permanent_failure_still_dead_letters_at_once() {
    let functions = Functions::new(Target::new());
    let function = functions.function(settings(&[5, 60], 1000, 30));
    functions.target.set_down(true);
    *functions.target.failure.lock().unwrap() =
        ActionError::Permanent("the target answered 410".into());
    let batch = deliver(&function, &["d1"], 0).await;
    assert_eq!(
        outcome(&batch, "m-d1"),
        RecordOutcome::DeadLettered {
            reason: "action_failed"
        }
    );
    assert!(matches!(
        route_outcome(&batch, 0),
        RouteOutcome::DeadLettered { attempts: 1, .. }
    ));
}

#[tokio::test]
async fn retry_after_sets_the_next_attempt_within_the_longest_step() {
    let functions = Functions::new(Target::new());
    let function = functions.function(settings(&[5, 60], 1000, 30));
    functions.target.set_down(true);
    *functions.target.failure.lock().unwrap() = ActionError::Throttled {
        message: "the target answered 429".into(),
        retry_after_secs: Some(42),
    };
    let batch = deliver(&function, &["d1"], 0).await;
    assert!(
        matches!(route_outcome(&batch, 0), RouteOutcome::Retry { next_at_ms, .. } if next_at_ms == NOW_MS + 42_000)
    );
    assert_eq!(last_delay(&functions, "d1"), 42);

    // Asked for an hour: held to the schedule's longest step.
    *functions.target.failure.lock().unwrap() = ActionError::Throttled {
        message: "the target answered 503".into(),
        retry_after_secs: Some(3600),
    };
    let batch = deliver(&function, &["d1"], 42_000).await;
    assert!(
        matches!(route_outcome(&batch, 0), RouteOutcome::Retry { attempts: 2, next_at_ms, .. } if next_at_ms == NOW_MS + 102_000)
    );
    assert_eq!(last_delay(&functions, "d1"), 60);
}

#[tokio::test]
async fn a_step_longer_than_sqs_allows_is_taken_in_parts() {
    let functions = Functions::new(Target::new());
    let function = functions.function(settings(&[86_400], 1000, 30));
    functions.target.set_down(true);
    deliver(&function, &["d1"], 0).await;
    // SQS's longest visibility timeout, then the rest.
    assert_eq!(last_delay(&functions, "d1"), 43_200);
    let halfway = deliver(&function, &["d1"], 43_200_000).await;
    assert!(matches!(
        route_outcome(&halfway, 0),
        RouteOutcome::Held {
            hold: Hold::NotDue,
            ..
        }
    ));
    assert_eq!(last_delay(&functions, "d1"), 43_200);
    assert_eq!(functions.target.calls(), 1);
}

// ---- the breaker ----

#[tokio::test]
async fn a_breaker_opens_holds_back_probes_once_and_closes_shared_by_two_functions() {
    let functions = Functions::new(Target::new());
    let settings = settings(&[5, 60, 600], 3, 30);
    let (one, two) = (
        functions.function(settings.clone()),
        functions.function(settings),
    );
    functions.target.set_down(true);

    // Three failures in a row, at function one, open it.
    let batch = deliver(&one, &["a", "b", "c"], 0).await;
    assert_eq!(functions.target.calls(), 3);
    assert!(functions.breaker_open());
    assert_eq!(batch.breakers.len(), 1, "{:?}", batch.breakers);
    assert_eq!(batch.breakers[0].change, BreakerTransition::Opened);
    assert_eq!(batch.breakers[0].open_until_ms, NOW_MS + 30_000);

    // Function one holds new records back without calling, and that is not an attempt.
    let held = deliver(&one, &["d"], 1_000).await;
    assert_eq!(functions.target.calls(), 3);
    assert_eq!(
        route_outcome(&held, 0),
        RouteOutcome::Held {
            hold: Hold::BreakerOpen,
            until_ms: NOW_MS + 30_000
        }
    );
    assert_eq!(last_delay(&functions, "d"), 29);
    assert_eq!(functions.attempts("d"), 0);

    // Function two never saw a failure: its next call fails, and the store's answer tells it the
    // breaker is open. After that it holds back too.
    deliver(&two, &["e"], 2_000).await;
    assert_eq!(functions.target.calls(), 4);
    let held = deliver(&two, &["f"], 3_000).await;
    assert_eq!(functions.target.calls(), 4);
    assert!(matches!(
        route_outcome(&held, 0),
        RouteOutcome::Held {
            hold: Hold::BreakerOpen,
            ..
        }
    ));

    // Cool-down over: one probe, from whichever function comes first; the other holds back.
    let probe = deliver(&one, &["d"], 31_000).await;
    assert_eq!(functions.target.calls(), 5);
    assert_eq!(probe.breakers[0].change, BreakerTransition::Reopened);
    // The failed probe doubles the cool-down.
    assert_eq!(probe.breakers[0].open_until_ms, NOW_MS + 31_000 + 60_000);
    let held = deliver(&two, &["f"], 32_000).await;
    assert_eq!(functions.target.calls(), 5);
    assert!(matches!(
        route_outcome(&held, 0),
        RouteOutcome::Held {
            hold: Hold::BreakerOpen,
            until_ms
        } if until_ms == NOW_MS + 91_000
    ));

    // Back up: the next probe closes it, and the other function, told so by the store, calls.
    functions.target.set_down(false);
    let probe = deliver(&two, &["f"], 91_000).await;
    assert_eq!(outcome(&probe, "m-f"), RecordOutcome::Processed);
    assert_eq!(probe.breakers[0].change, BreakerTransition::Closed);
    assert!(!functions.breaker_open());
    let after = deliver(&one, &["a", "b", "c", "d", "e"], 92_000).await;
    assert!(
        after
            .outcomes
            .iter()
            .all(|(_, outcome)| *outcome == RecordOutcome::Processed),
        "{after:?}"
    );
    assert!(functions.dead_letters.messages().is_empty());

    // A closed, clean breaker costs no request per delivery.
    let requests = functions.guards.requests();
    deliver(&one, &["g", "h", "i"], 93_000).await;
    deliver(&two, &["j"], 94_000).await;
    assert_eq!(functions.guards.requests(), requests);
    assert_eq!(functions.target.calls(), 5 + 1 + 5 + 4);
}

#[tokio::test]
async fn a_probe_answered_with_a_permanent_failure_closes_the_breaker() {
    let functions = Functions::new(Target::new());
    let function = functions.function(settings(&[5], 1, 30));
    functions.target.set_down(true);
    deliver(&function, &["a"], 0).await;
    assert!(functions.breaker_open());
    *functions.target.failure.lock().unwrap() = ActionError::Permanent("410".into());
    let probe = deliver(&function, &["b"], 30_000).await;
    assert_eq!(probe.breakers[0].change, BreakerTransition::Closed);
    assert!(!functions.breaker_open());
}

#[tokio::test]
async fn a_store_that_fails_lets_deliveries_through_rather_than_stopping_them() {
    let functions = Functions::new(Target::new());
    let function = functions.function(settings(&[5], 1, 30));
    functions.target.set_down(true);
    deliver(&function, &["a"], 0).await;
    assert!(functions.breaker_open());
    functions.guards.set_down(true);
    functions.target.set_down(false);
    let batch = deliver(&function, &["b"], 30_000).await;
    assert_eq!(outcome(&batch, "m-b"), RecordOutcome::Processed);
}

// ---- the rate limit ----

#[tokio::test(start_paused = true)]
async fn a_rate_limit_spaces_calls_across_functions_waiting_in_the_function_for_near_slots() {
    let target = Target::with(
        Some(RateLimit {
            calls: 2,
            per_secs: 1,
        }),
        None,
    );
    let functions = Functions::new(target);
    let (one, two) = (
        functions.function(ProcessSettings::default()),
        functions.function(ProcessSettings::default()),
    );
    let (a, b) = tokio::join!(
        deliver(&one, &["a1", "a2"], 0),
        deliver(&two, &["b1", "b2"], 0)
    );
    for batch in [&a, &b] {
        assert!(
            batch
                .outcomes
                .iter()
                .all(|(_, outcome)| *outcome == RecordOutcome::Processed),
            "{batch:?}"
        );
    }
    let mut at = functions.target.called_at.lock().unwrap().clone();
    at.sort();
    assert_eq!(at.len(), 4);
    for pair in at.windows(2) {
        assert!(
            pair[1] - pair[0] >= std::time::Duration::from_millis(500),
            "calls closer than the limit allows: {at:?}"
        );
    }
}

/// One call a minute, and two events delivered together: one calls, the other is held back
/// for a slot a minute on. Returns the functions, the function, the batch and the held event.
async fn one_a_minute() -> (Functions, Pipeline, BatchOutcome, String) {
    let target = Target::with(
        Some(RateLimit {
            calls: 1,
            per_secs: 60,
        }),
        None,
    );
    let functions = Functions::new(target);
    let function = functions.function(ProcessSettings::default());
    let batch = deliver(&function, &["a", "b"], 0).await;
    let waiting = batch
        .outcomes
        .iter()
        .find(|(_, outcome)| matches!(outcome, RecordOutcome::Held { .. }))
        .unwrap()
        .0
        .trim_start_matches("m-")
        .to_owned();
    (functions, function, batch, waiting)
}

#[tokio::test(start_paused = true)]
async fn a_far_slot_holds_the_record_back_keeps_the_slot_and_uses_it_when_it_comes_back() {
    let (functions, function, batch, waiting) = one_a_minute().await;
    assert_eq!(functions.target.calls(), 1);
    let held = batch
        .routes
        .iter()
        .flatten()
        .find(|run| matches!(run.outcome, RouteOutcome::Held { .. }))
        .unwrap();
    assert_eq!(
        held.outcome,
        RouteOutcome::Held {
            hold: Hold::RateLimited,
            // Back a little before its slot (a minute, and the limiter's 5 % guard), to wait
            // for the slot in the function.
            until_ms: NOW_MS + 63_000 - 1_500
        }
    );
    assert_eq!(last_delay(&functions, &waiting), 62);
    assert_eq!(functions.attempts(&waiting), 0, "a hold is not an attempt");

    // Back before its slot: it waits for the slot it holds, and calls on it without taking
    // another.
    let requests = functions.guards.requests();
    let again = deliver(&function, &[&waiting], 62_000).await;
    assert_eq!(
        outcome(&again, &format!("m-{waiting}")),
        RecordOutcome::Processed
    );
    assert_eq!(functions.guards.requests(), requests);
    assert_eq!(functions.target.calls(), 2);
    let at = functions.target.called_at.lock().unwrap().clone();
    // It waited in the function for its slot, a second after it came back.
    assert!(at[1] - at[0] >= std::time::Duration::from_millis(1_000));
}

#[tokio::test(start_paused = true)]
async fn a_record_back_after_its_slot_takes_a_new_one() {
    let (functions, function, _, waiting) = one_a_minute().await;
    // Late, past its slot (63 s): calling now could crowd the next slot's call, so it takes
    // a new slot: free at once, past the one its reservation kept (126 s), in one request.
    let requests = functions.guards.requests();
    let again = deliver(&function, &[&waiting], 130_000).await;
    assert_eq!(
        outcome(&again, &format!("m-{waiting}")),
        RecordOutcome::Processed
    );
    assert_eq!(functions.guards.requests(), requests + 1);
}
