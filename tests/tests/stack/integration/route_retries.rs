//! A route's retry schedule against the emulator: its attempts kept in the claim item between
//! tries (`route_state`), and Inlet's own `retries_exhausted` dead letter after the last step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{Recorder, Stack, deliver, ingest, process, set, stack};
use inlet_aws::DynamoStore;
use inlet_core::actions::{ActionError, HANDLER_ROUTE};
use inlet_core::ports::{Claim, ClaimOutcome, IdempotencyStore, Progress, RouteRetry};
use inlet_core::process::RouteOutcome;
use inlet_local as local;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The claim item of `key`, read consistently; `None` when there is none.
async fn item(
    stack: &Stack,
    key: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    stack
        .dynamodb
        .get_item()
        .table_name(&stack.stack.table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(key.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// A route failing transiently is tried by its schedule, not by SQS's receive count: between
/// attempts its claim stays in the table, released (`PARTIAL`, no lease) with the route's
/// `route_state`; after the last step Inlet dead-letters it itself as `retries_exhausted`, with
/// its attempts, and acknowledges the record — long before the queue's redrive limit.
#[tokio::test]
async fn a_route_that_keeps_failing_is_dead_lettered_retries_exhausted_after_its_schedule() {
    let stack = stack(10).await;
    let ingest = ingest(&stack).await;
    assert_eq!(deliver(&ingest, "d-fails", b"{}").await, 202);
    let recorder = Arc::new(Recorder {
        fail: Some(ActionError::Transient("down".into())),
        ..Recorder::default()
    });
    let process = process(&stack, Arc::clone(&recorder));
    let key = "github#d-fails";
    // Each run of the route, as the pipeline reported it (a hold, which runs nothing, left out).
    let mut runs = Vec::new();
    let mut between_attempts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let poll = local::poll_once(
            &stack.sqs,
            &stack.stack.queue_url,
            &process,
            &stack.settings,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        if let Some(outcome) = &poll.outcome {
            for run in outcome.routes.iter().flatten() {
                if !matches!(run.outcome, RouteOutcome::Held { .. }) {
                    runs.push(run.outcome.clone());
                }
                if matches!(run.outcome, RouteOutcome::Retry { .. }) {
                    between_attempts.push(item(&stack, key).await);
                }
            }
        }
        let dead = local::depth(&stack.sqs, &stack.stack.dead_letter_queue_url)
            .await
            .unwrap()
            .0;
        if dead == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never dead-lettered; the route ran {runs:#?}"
        );
    }

    let attempts: Vec<(u32, bool)> = runs
        .iter()
        .map(|outcome| match outcome {
            RouteOutcome::Retry { attempts, .. } => (*attempts, false),
            RouteOutcome::DeadLettered {
                reason, attempts, ..
            } => {
                assert_eq!(*reason, "retries_exhausted", "{runs:#?}");
                (*attempts, true)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        attempts,
        [(1, false), (2, false), (3, true)],
        "the first attempt and one per step, the last dead-lettered"
    );
    assert_eq!(recorder.ran.lock().unwrap().len(), 3, "one call an attempt");
    for claim in &between_attempts {
        let claim = claim.as_ref().expect("the claim is kept between attempts");
        assert_eq!(claim["status"].as_s().unwrap(), "PARTIAL", "{claim:?}");
        assert!(!claim.contains_key("lease_until"), "{claim:?}");
        assert!(claim.contains_key("route_state"), "{claim:?}");
    }
    assert_eq!(between_attempts.len(), 2);

    let letters = local::peek(&stack.sqs, &stack.stack.dead_letter_queue_url, 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.envelope().unwrap().key, key);
    assert_eq!(letter.attributes["reason"], "retries_exhausted");
    assert_eq!(letter.attributes["attempts"], "3");
    assert_eq!(letter.attributes["routes"], HANDLER_ROUTE);
    let errors: serde_json::Value =
        serde_json::from_str(&letter.attributes["route_errors"]).unwrap();
    assert_eq!(errors[HANDLER_ROUTE]["attempts"], 3, "{errors}");
    assert!(
        errors[HANDLER_ROUTE]["message"]
            .as_str()
            .is_some_and(|m| m.contains("down")),
        "the last error: {errors}"
    );
    // Acknowledged: nothing left for SQS to redrive; the route is settled as dead.
    assert_eq!(
        local::depth(&stack.sqs, &stack.stack.queue_url)
            .await
            .unwrap(),
        (0, 0)
    );
    let claim = item(&stack, key).await.unwrap();
    assert_eq!(claim["status"].as_s().unwrap(), "PARTIAL");
    assert_eq!(
        set(&claim, "dead_routes"),
        Some(vec![HANDLER_ROUTE.to_owned()])
    );
    assert!(!claim.contains_key("route_state"), "{claim:?}");
}

/// A route's attempts live in the claim item between tries (`route_state`): a release with only
/// a waiting route keeps the item `PARTIAL`, the next claim of the same payload gets the route
/// back as it was left, and a release that settles it removes the state.
#[tokio::test]
async fn a_waiting_route_s_attempts_survive_a_release_and_come_back_with_the_next_claim() {
    let stack = stack(5).await;
    let store = DynamoStore::new(stack.dynamodb.clone(), &stack.stack.table_name);
    let claim = |token: &str, now: i64| Claim {
        key: "github#w".into(),
        token: token.into(),
        payload_sha256: "h1".into(),
        now,
        lease_until: now + 30,
        expires_at: now + 3600,
        attempts: 1,
        first_seen: "2026-11-22T13:00:00.000Z".into(),
    };
    assert_eq!(
        store.claim(&claim("a", 1000)).await,
        Ok(ClaimOutcome::New {
            progress: Progress::default()
        })
    );
    let waiting = Progress {
        done: ["audit".to_owned()].into(),
        waiting: [
            (
                "agent".to_owned(),
                RouteRetry {
                    attempts: 2,
                    next_at_ms: 1_300_123,
                    last_error: "the target answered 503 — «busy»".into(),
                    slot_ms: 0,
                },
            ),
            (
                "billing".to_owned(),
                RouteRetry {
                    attempts: 0,
                    next_at_ms: 1_001_500,
                    last_error: String::new(),
                    slot_ms: 1_001_500,
                },
            ),
        ]
        .into(),
        ..Progress::default()
    };
    assert_eq!(store.release("github#w", "a", &waiting).await, Ok(()));
    let released = item(&stack, "github#w").await.unwrap();
    assert_eq!(released["status"].as_s().unwrap(), "PARTIAL");
    assert!(!released.contains_key("lease_until"));
    assert!(released.contains_key("route_state"), "{released:?}");
    assert_eq!(
        store.claim(&claim("b", 1001)).await,
        Ok(ClaimOutcome::New {
            progress: waiting.clone()
        })
    );

    // Only a waiting route, nothing done or dead: still kept, not deleted.
    let only_waiting = Progress {
        done: Default::default(),
        ..waiting.clone()
    };
    assert_eq!(store.release("github#w", "b", &only_waiting).await, Ok(()));
    assert_eq!(
        store.claim(&claim("c", 1002)).await,
        Ok(ClaimOutcome::New {
            progress: only_waiting
        })
    );

    // Settled (delivered, dead-lettered): no route state left.
    let settled = Progress {
        done: ["audit".to_owned(), "billing".to_owned()].into(),
        dead: ["agent".to_owned()].into(),
        ..Progress::default()
    };
    assert_eq!(store.release("github#w", "c", &settled).await, Ok(()));
    let released = item(&stack, "github#w").await.unwrap();
    assert!(!released.contains_key("route_state"), "{released:?}");
    assert_eq!(
        store.claim(&claim("d", 1003)).await,
        Ok(ClaimOutcome::New { progress: settled })
    );
}
