use super::*;
use inlet_core::config::{Config, ProcessSettings, RetrySchedule, Route};
use inlet_core::ports::DestinationId;
use inlet_core::process::{BatchOutcome, Hold};

/// 2026-11-22T13:00:00Z
const NOON: i64 = 1_795_352_400;
const NOON_MS: i64 = NOON * 1000;

/// Routes `broken`, `triage`, `audit` (a schedule of its own: three attempts) and `billing`;
/// `custom` is none of the config's.
fn config_routes() -> Vec<Route> {
    let config = Config::parse(
        "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n\n\
         [[routes]]\nname = \"broken\"\nsource = \"github\"\naction = { type = \"log\" }\n",
    )
    .unwrap();
    let mut routes = config.routes;
    for name in ["triage", "audit", "billing"] {
        let mut route = routes[0].clone();
        route.name = name.into();
        if name == "audit" {
            route.retry_schedule = RetrySchedule::new(vec![10, 20]);
        }
        routes.push(route);
    }
    routes
}

/// The lines of `poll` at noon, with the default settings, a redrive limit of 500 and no
/// action runs.
fn lines_of(poll: &Poll) -> Vec<String> {
    lines_with(poll, &[])
}

fn lines_with(poll: &Poll, runs: &[ActionRun]) -> Vec<String> {
    let settings = ProcessSettings::default();
    let routes = config_routes();
    let retries = Retries {
        settings: &settings,
        routes: &routes,
        max_receive_count: 500,
    };
    poll_lines(poll, &retries, NOON, runs)
}

fn received(message_id: &str, key: &str, receive_count: u32) -> Received {
    Received {
        message_id: message_id.into(),
        key: Some(key.into()),
        envelope: None,
        origin_message_id: message_id.into(),
        receive_count,
    }
}

/// One record, `m-1` of `broken#b-1` on its `receive_count`th receive, that came to `outcome`
/// with these route runs.
fn poll_of(outcome: RecordOutcome, routes: Vec<RouteRun>, receive_count: u32) -> Poll {
    Poll {
        outcome: Some(BatchOutcome {
            outcomes: vec![("m-1".into(), outcome)],
            routes: vec![routes],
            breakers: Vec::new(),
        }),
        received: vec![received("m-1", "broken#b-1", receive_count)],
        exhausted: Vec::new(),
    }
}

fn run(route: &str, outcome: RouteOutcome) -> RouteRun {
    RouteRun {
        route: route.into(),
        outcome,
    }
}

fn retry(attempts: u32, next_at_ms: i64) -> RouteOutcome {
    RouteOutcome::Retry {
        reason: "the target answered 500".into(),
        attempts,
        next_at_ms,
    }
}

fn retry_outcome() -> RecordOutcome {
    RecordOutcome::Retry {
        reason: "the target answered 500".into(),
    }
}

fn held(hold: Hold, until_ms: i64) -> RouteOutcome {
    RouteOutcome::Held { hold, until_ms }
}

fn held_outcome() -> RecordOutcome {
    RecordOutcome::Held {
        reason: "held back".into(),
    }
}

#[test]
fn a_retried_route_says_which_attempt_of_its_schedule_and_when_the_next_is() {
    let poll = poll_of(
        retry_outcome(),
        vec![run("broken", retry(2, NOON_MS + 300_000))],
        2,
    );
    assert_eq!(
        lines_of(&poll),
        ["broken#b-1: failed (attempt 2 of 8, next at 13:05:00): the target answered 500"]
    );
    // A route with a schedule of its own counts by it; one the config does not have, without.
    let poll = poll_of(
        retry_outcome(),
        vec![run("audit", retry(1, NOON_MS + 10_000))],
        1,
    );
    assert_eq!(
        lines_of(&poll),
        ["broken#b-1: failed (attempt 1 of 3, next at 13:00:10): the target answered 500"]
    );
    let poll = poll_of(
        retry_outcome(),
        vec![run("custom", retry(4, NOON_MS + 1_800_000))],
        9,
    );
    assert_eq!(
        lines_of(&poll),
        ["broken#b-1: failed (attempt 4, next at 13:30:00): the target answered 500"]
    );
}

#[test]
fn a_held_route_says_why_and_is_not_a_failure() {
    for (hold, words) in [
        (Hold::BreakerOpen, "held: breaker open until 13:00:30"),
        (Hold::RateLimited, "held: rate limited until 13:00:30"),
        (Hold::NotDue, "waiting for its next attempt at 13:00:30"),
    ] {
        let poll = poll_of(
            held_outcome(),
            vec![run("broken", held(hold, NOON_MS + 30_000))],
            3,
        );
        let lines = lines_of(&poll);
        assert_eq!(lines, [format!("broken#b-1: {words}")]);
        assert!(!lines[0].contains("fail"), "{lines:?}");
        assert!(!lines[0].contains("retry"), "{lines:?}");
    }
}

#[test]
fn a_record_that_ran_several_routes_says_how_each_ended() {
    let poll = poll_of(
        RecordOutcome::Retry {
            reason: "route audit: the target answered 500".into(),
        },
        vec![
            run("triage", RouteOutcome::Delivered),
            run("audit", retry(1, NOON_MS + 10_000)),
            run(
                "billing",
                RouteOutcome::DeadLettered {
                    reason: "transform_failed",
                    message: "the body is not JSON".into(),
                    attempts: 1,
                },
            ),
            run("broken", held(Hold::RateLimited, NOON_MS + 1_000)),
        ],
        1,
    );
    assert_eq!(
        lines_of(&poll),
        [
            "broken#b-1: route triage delivered; route audit failed (attempt 1 of 3, next at \
             13:00:10): the target answered 500; route billing dead-lettered (transform_failed): \
             the body is not JSON; route broken held: rate limited until 13:00:01"
        ]
    );
    // A record that ran one route of several (a retry of the one that failed) reads as before.
    let poll = poll_of(
        RecordOutcome::Processed,
        vec![run("audit", RouteOutcome::Delivered)],
        2,
    );
    assert_eq!(lines_of(&poll), ["broken#b-1: processed"]);
}

#[test]
fn a_route_out_of_retries_is_dead_lettered_with_its_attempts() {
    let exhausted = RouteOutcome::DeadLettered {
        reason: inlet_core::process::RETRIES_EXHAUSTED,
        message: "8 attempts; the last: the target answered 500".into(),
        attempts: 8,
    };
    let poll = poll_of(
        RecordOutcome::DeadLettered {
            reason: inlet_core::process::RETRIES_EXHAUSTED,
        },
        vec![run("broken", exhausted)],
        9,
    );
    assert_eq!(
        lines_of(&poll),
        [
            "broken#b-1: dead-lettered (retries_exhausted): 8 attempts; the last: the target \
             answered 500"
        ]
    );
    // Failed for good after retries: which attempt that was.
    let refused = RouteOutcome::DeadLettered {
        reason: "action_failed",
        message: "the target answered 404".into(),
        attempts: 3,
    };
    let poll = poll_of(
        RecordOutcome::DeadLettered {
            reason: "action_failed",
        },
        vec![run("broken", refused)],
        3,
    );
    assert_eq!(
        lines_of(&poll),
        ["broken#b-1: dead-lettered (action_failed on attempt 3): the target answered 404"]
    );
}

#[test]
fn a_record_dead_letter_says_what_the_target_answered() {
    let errors = vec![ActionRun {
        message_id: "m-1".into(),
        route: "broken".into(),
        at_ms: 0,
        latency: std::time::Duration::ZERO,
        result: Err(inlet_core::actions::ActionError::Permanent(
            "the target answered 404".into(),
        )),
        answer: "the target answered 404".into(),
        response: None,
    }];
    let poll = poll_of(
        RecordOutcome::DeadLettered {
            reason: "payload_conflict",
        },
        Vec::new(),
        1,
    );
    assert_eq!(
        lines_with(&poll, &errors),
        ["broken#b-1: dead-lettered (payload_conflict): the target answered 404"]
    );
}

#[test]
fn a_fault_before_the_routes_is_retried_on_the_record_s_backoff() {
    // The second receive: 5 s × 2¹.
    let poll = poll_of(
        RecordOutcome::Retry {
            reason: "in progress elsewhere".into(),
        },
        Vec::new(),
        2,
    );
    assert_eq!(
        lines_of(&poll),
        [
            "broken#b-1: failed before its routes ran (next try at about 13:00:10): in progress \
          elsewhere"
        ]
    );
    // A route whose dead letter could not be sent: its attempt, on the record's backoff.
    let poll = poll_of(retry_outcome(), vec![run("broken", retry(8, 0))], 2);
    assert_eq!(
        lines_of(&poll),
        [
            "broken#b-1: failed (attempt 8 of 8, next try at about 13:00:10): the target answered \
          500"
        ]
    );
}

#[test]
fn a_record_whose_receives_ran_out_is_moved_by_sqs_when_its_delay_ends() {
    let mut poll = poll_of(
        held_outcome(),
        vec![run("broken", held(Hold::BreakerOpen, NOON_MS + 30_000))],
        500,
    );
    poll.exhausted.push("m-1".into());
    assert_eq!(
        lines_of(&poll),
        [
            "broken#b-1: held: breaker open until 13:00:30",
            "broken#b-1: dead-lettered (its receives ran out: 500 of the queue's maxReceiveCount \
             500, SQS's safety net): SQS moves it to the dead-letter queue when its delay ends, at \
             about 13:00:30; `inlet dlq peek` shows it from then",
        ]
    );
}

#[test]
fn copies_in_one_batch_are_told_apart_and_one_held_behind_another_never_failed() {
    let mut poll = poll_of(
        retry_outcome(),
        vec![run("broken", retry(1, NOON_MS + 5_000))],
        1,
    );
    poll.received.push(received("m-2", "broken#b-1", 1));
    if let Some(outcome) = &mut poll.outcome {
        outcome
            .outcomes
            .push(("m-2".into(), RecordOutcome::Skipped));
        outcome.routes.push(Vec::new());
    }
    let lines = lines_of(&poll);
    assert_eq!(
        lines,
        [
            "broken#b-1 [message m-1]: failed (attempt 1 of 8, next at 13:00:05): the target \
             answered 500",
            "broken#b-1 [message m-2]: held back, not tried (an earlier copy of this event in \
             the batch failed: next try at about 13:00:05)",
        ]
    );
    assert!(!lines[1].contains("group"), "{lines:?}");
    // Behind a copy that was only held back, and out of receives: SQS's move, not a failure.
    if let Some(outcome) = &mut poll.outcome {
        outcome.outcomes[0].1 = held_outcome();
        outcome.routes[0] = vec![run("broken", held(Hold::BreakerOpen, NOON_MS + 30_000))];
    }
    poll.exhausted.push("m-2".into());
    let lines = lines_of(&poll);
    assert_eq!(
        lines[1],
        "broken#b-1 [message m-2]: held back, not tried (an earlier copy of this event in the \
         batch was held back: next try at about 13:00:30)"
    );
    assert!(
        lines[2].starts_with("broken#b-1 [message m-2]: dead-lettered (its receives ran out: 1 of"),
        "{lines:?}"
    );
    assert!(lines[2].contains("at about 13:00:30;"), "{lines:?}");
    assert!(!lines[2].contains("failed"), "{lines:?}");
}

#[test]
fn each_breaker_change_gets_a_line() {
    let destination = DestinationId {
        key: "forward:0123".into(),
        label: "forward https://agent.example/hook".into(),
    };
    let change = |change, open_until_ms, failures| BreakerChange {
        destination: destination.clone(),
        change,
        open_until_ms,
        failures,
    };
    let mut poll = poll_of(RecordOutcome::Processed, Vec::new(), 1);
    if let Some(outcome) = &mut poll.outcome {
        outcome.breakers = vec![
            change(BreakerTransition::Opened, NOON_MS + 30_000, 5),
            change(BreakerTransition::Reopened, NOON_MS + 60_000, 5),
            change(BreakerTransition::Closed, 0, 0),
        ];
    }
    assert_eq!(
        lines_of(&poll),
        [
            "broken#b-1: processed",
            "breaker opened: forward https://agent.example/hook (5 failures in a row), probe at \
             13:00:30",
            "breaker reopened: forward https://agent.example/hook (the probe failed), next probe \
             at 13:01:00",
            "breaker closed: forward https://agent.example/hook",
        ]
    );
}
