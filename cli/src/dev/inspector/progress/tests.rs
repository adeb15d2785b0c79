use super::*;
use inlet_core::config::{Config, ProcessSettings, Route};
use inlet_core::process::Hold;

/// 2026-11-22T13:00:00Z
const NOON_MS: i64 = 1_795_352_400_000;

/// One route, `broken`, on the default schedule (eight attempts).
fn config_routes() -> Vec<Route> {
    Config::parse(
        "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n\n\
         [[routes]]\nname = \"broken\"\nsource = \"github\"\naction = { type = \"log\" }\n",
    )
    .unwrap()
    .routes
}

/// `progress_of` with the default settings and a redrive limit of 500.
fn progress_at_noon(receipt: &Receipt<'_>, tried: bool) -> Progress {
    let settings = ProcessSettings::default();
    let routes = config_routes();
    let retries = Retries {
        settings: &settings,
        routes: &routes,
        max_receive_count: 500,
    };
    progress_of(receipt, &retries, tried)
}

fn receipt<'a>(result: &'a RecordOutcome, routes: &'a [RouteRun], at_ms: i64) -> Receipt<'a> {
    Receipt {
        result,
        routes,
        receives: 2,
        exhausted: false,
        comes_back: ComesBack {
            at_ms,
            about: false,
        },
        behind_held: false,
        last_error: None,
    }
}

fn run(outcome: RouteOutcome) -> RouteRun {
    RouteRun {
        route: "broken".into(),
        outcome,
    }
}

fn retry() -> RecordOutcome {
    RecordOutcome::Retry {
        reason: "the target answered 500".into(),
    }
}

#[test]
fn a_retried_route_says_its_attempt_and_when_the_next_is() {
    let routes = [run(RouteOutcome::Retry {
        reason: "the target answered 500".into(),
        attempts: 2,
        next_at_ms: NOON_MS + 300_000,
    })];
    let result = retry();
    let progress = progress_at_noon(&receipt(&result, &routes, NOON_MS + 300_000), true);
    assert_eq!(progress.state, State::Retrying);
    assert_eq!(
        progress.detail,
        "failed (attempt 2 of 8, next at 2026-11-22T13:05:00Z): the target answered 500"
    );
    assert_eq!(
        progress.next_try_at.as_deref(),
        Some("2026-11-22T13:05:00Z")
    );
    assert_eq!(progress.dead_letter_at, None);
    // A fault of the pipeline's own, before any route: the record's backoff.
    let fault = RecordOutcome::Retry {
        reason: "in progress elsewhere".into(),
    };
    let progress = progress_of_backoff(&fault);
    assert_eq!(progress.state, State::Retrying);
    assert_eq!(
        progress.detail,
        "failed before its routes ran: in progress elsewhere; next try at about \
         2026-11-22T13:00:10Z"
    );
}

fn progress_of_backoff(result: &RecordOutcome) -> Progress {
    let receipt = Receipt {
        comes_back: ComesBack {
            at_ms: NOON_MS + 10_000,
            about: true,
        },
        ..receipt(result, &[], 0)
    };
    progress_at_noon(&receipt, true)
}

#[test]
fn a_held_record_is_held_not_failed_and_says_until_when() {
    let result = RecordOutcome::Held {
        reason: "held back (breaker_open) until 2026-11-22T13:00:30.000Z".into(),
    };
    let routes = [run(RouteOutcome::Held {
        hold: Hold::BreakerOpen,
        until_ms: NOON_MS + 30_000,
    })];
    let progress = progress_at_noon(&receipt(&result, &routes, NOON_MS + 30_000), true);
    assert_eq!(progress.state, State::Held);
    assert_eq!(
        progress.detail,
        "held: breaker open until 2026-11-22T13:00:30Z"
    );
    assert_eq!(
        progress.next_try_at.as_deref(),
        Some("2026-11-22T13:00:30Z")
    );
    assert!(!progress.detail.contains("fail"), "{}", progress.detail);
    // Held until its receives ran out: SQS moves it, and it never failed.
    let last = Receipt {
        exhausted: true,
        receives: 500,
        ..receipt(&result, &routes, NOON_MS + 30_000)
    };
    let moved = progress_at_noon(&last, true);
    assert_eq!(moved.state, State::DeadLettered);
    assert!(
        moved.detail.starts_with(
            "its receives ran out (500 of the queue's maxReceiveCount 500, SQS's safety net) \
             while held back: "
        ),
        "{}",
        moved.detail
    );
    assert_eq!(
        moved.dead_letter_at.as_deref(),
        Some("2026-11-22T13:00:30Z")
    );
    assert!(!moved.detail.contains("failed"), "{}", moved.detail);
}

#[test]
fn a_dead_letter_says_what_the_target_answered() {
    let dead = RecordOutcome::DeadLettered {
        reason: "action_failed",
    };
    let with_error = Receipt {
        last_error: Some("the target answered 404"),
        ..receipt(&dead, &[], 0)
    };
    let progress_dead = progress_at_noon(&with_error, true);
    assert_eq!(progress_dead.state, State::DeadLettered);
    assert_eq!(
        progress_dead.detail,
        "action_failed: the target answered 404"
    );
    assert_eq!(progress_dead.next_try_at, None);
    // The last receive failed: SQS moves it.
    let result = retry();
    let last = Receipt {
        exhausted: true,
        receives: 500,
        ..receipt(&result, &[], NOON_MS + 80_000)
    };
    let moved = progress_at_noon(&last, true);
    assert_eq!(moved.state, State::DeadLettered);
    assert!(
        moved
            .detail
            .contains("the last failed: the target answered 500")
    );
    assert_eq!(
        moved.dead_letter_at.as_deref(),
        Some("2026-11-22T13:01:20Z")
    );
}

#[test]
fn a_copy_held_back_is_never_said_to_have_failed() {
    let skipped = RecordOutcome::Skipped;
    let held = progress_at_noon(&receipt(&skipped, &[], NOON_MS + 5_000), false);
    assert_eq!(held.state, State::Retrying);
    assert_eq!(
        held.detail,
        "held back (not tried): an earlier copy of this event in the batch failed; next try at \
         about 2026-11-22T13:00:05Z"
    );
    // Behind a copy only held back: nothing failed at all.
    let behind_held = Receipt {
        behind_held: true,
        ..receipt(&skipped, &[], NOON_MS + 5_000)
    };
    let held = progress_at_noon(&behind_held, false);
    assert_eq!(held.state, State::Held);
    assert!(
        held.detail
            .ends_with("was held back; next try at about 2026-11-22T13:00:05Z")
    );
    let last = Receipt {
        exhausted: true,
        receives: 5,
        ..receipt(&skipped, &[], NOON_MS)
    };
    let never = progress_at_noon(&last, false);
    assert_eq!(never.state, State::DeadLettered);
    assert!(
        never
            .detail
            .starts_with("never tried: held back in each of its 5 receives"),
        "{}",
        never.detail
    );
    let tried = progress_at_noon(&last, true);
    assert!(
        tried.detail.contains("the last held back"),
        "{}",
        tried.detail
    );
}

#[test]
fn each_route_says_its_attempts_and_when_it_runs_next() {
    let settings = ProcessSettings::default();
    let routes = config_routes();
    let retries = Retries {
        settings: &settings,
        routes: &routes,
        max_receive_count: 500,
    };
    let runs = [
        run(RouteOutcome::Retry {
            reason: "the target answered 503".into(),
            attempts: 3,
            next_at_ms: NOON_MS + 1_800_000,
        }),
        RouteRun {
            route: "custom".into(),
            outcome: RouteOutcome::Held {
                hold: Hold::RateLimited,
                until_ms: NOON_MS + 1_000,
            },
        },
        run(RouteOutcome::DeadLettered {
            reason: inlet_core::process::RETRIES_EXHAUSTED,
            message: "8 attempts; the last: the target answered 503".into(),
            attempts: 8,
        }),
        // Its dead letter could not be sent: the record's backoff.
        run(RouteOutcome::Retry {
            reason: "refused, and the dead-letter queue failed: down".into(),
            attempts: 1,
            next_at_ms: 0,
        }),
    ];
    let states = route_states(&runs, &retries, NOON_MS + 5_000);
    let json = serde_json::to_value(&states).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"route": "broken", "state": "retrying", "message": "the target answered 503",
             "attempts": 3, "max_attempts": 8, "next_attempt_at": "2026-11-22T13:30:00Z"},
            {"route": "custom", "state": "held", "next_attempt_at": "2026-11-22T13:00:01Z",
             "hold": "rate_limited"},
            {"route": "broken", "state": "dead_lettered", "reason": "retries_exhausted",
             "message": "8 attempts; the last: the target answered 503", "attempts": 8,
             "max_attempts": 8},
            {"route": "broken", "state": "retrying",
             "message": "refused, and the dead-letter queue failed: down", "attempts": 1,
             "max_attempts": 8, "next_attempt_at": "2026-11-22T13:00:05Z"},
        ])
    );
}
