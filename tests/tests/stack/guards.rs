//! Tier 4 for the delivery guards and a route's retry state, on the emulator's DynamoDB over real
//! SDK calls: `route_state` kept in an event's item from one try to the next; circuit breakers
//! and rate-limit slots shared by two `DynamoStore`s with clients of their own, racing as two
//! process functions do.
//!
//! The stores reach moto through `inlet_testkit::serial::OneAtATime`, which passes DynamoDB's
//! requests one at a time: the races here are between the stores' requests, in whatever order
//! they arrive, as on DynamoDB, and not inside the emulator (which checks a condition apart from
//! applying the write).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::join_all;
use inlet_aws::DynamoStore;
use inlet_core::ports::{
    BreakerState, Claim, ClaimOutcome, DeliveryGuards, DestinationId, IdempotencyStore,
    ProbeOutcome, Progress, RouteRetry,
};
use inlet_local::{self as local, StackSettings};
use inlet_testkit::serial::OneAtATime;
use inlet_testkit::{Emulator, sdk_config_for, unique};
use std::collections::{BTreeMap, BTreeSet};

/// Epoch ms the guards are told it is: they take the time from the caller, so nothing waits.
const NOW_MS: i64 = 1_763_816_400_000;
const THRESHOLD: u32 = 5;
const COOLDOWN_MS: i64 = 30_000;

/// The idempotency table, and two stores on it, each with its own client, as two functions.
struct Table {
    first: DynamoStore,
    second: DynamoStore,
    dynamodb: aws_sdk_dynamodb::Client,
    name: String,
    _proxy: OneAtATime,
    // Last: stopped after everything that talks to it.
    _emulator: Emulator,
}

impl Table {
    async fn start() -> Self {
        let emulator = Emulator::start();
        let sdk = emulator.sdk_config().await;
        let settings = StackSettings {
            queue_name: unique("guards-events"),
            dead_letter_queue_name: unique("guards-dlq"),
            table_name: unique("guards"),
            ..StackSettings::default()
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        local::provision(
            &aws_sdk_sqs::Client::new(&sdk),
            &dynamodb,
            &inlet_aws::s3_client(&sdk),
            &settings,
        )
        .await
        .unwrap();
        let proxy = OneAtATime::start(emulator.endpoint()).await;
        let proxied = sdk_config_for(&proxy.endpoint()).await;
        let store = || {
            DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&proxied),
                &settings.table_name,
            )
        };
        Self {
            first: store(),
            second: store(),
            dynamodb,
            name: settings.table_name,
            _proxy: proxy,
            _emulator: emulator,
        }
    }

    /// The first store for even `i`, the second for odd: callers spread over both functions.
    fn store(&self, i: usize) -> &DynamoStore {
        if i.is_multiple_of(2) {
            &self.first
        } else {
            &self.second
        }
    }

    async fn item(&self, pk: &str) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(&self.name)
            .key("pk", AttributeValue::S(pk.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }
}

fn destination(name: &str) -> DestinationId {
    DestinationId {
        key: format!("forward:{name}"),
        label: format!("https://{name}.example.com/hook"),
    }
}

fn claim(key: &str, token: &str) -> Claim {
    let now = NOW_MS / 1000;
    Claim {
        key: key.into(),
        token: token.into(),
        payload_sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        now,
        lease_until: now + 40,
        expires_at: now + 3600,
        attempts: 1,
        first_seen: "2025-11-22T13:00:00.000Z".into(),
    }
}

fn retry(attempts: u32, next_at_ms: i64, last_error: &str, slot_ms: i64) -> RouteRetry {
    RouteRetry {
        attempts,
        next_at_ms,
        last_error: last_error.into(),
        slot_ms,
    }
}

/// A release keeps the waiting routes' attempts, next attempt, last error and rate slot in the
/// item, and the next claim gets them back; a release with none waiting drops them, and so does
/// completion.
#[tokio::test]
async fn the_retry_state_of_waiting_routes_goes_from_one_try_to_the_next() {
    let table = Table::start().await;
    let store = &table.first;
    let key = "github#route-state";
    let waiting = Progress {
        done: BTreeSet::from(["archive".to_owned()]),
        dead: BTreeSet::new(),
        waiting: BTreeMap::from([
            (
                "crm".to_owned(),
                retry(2, NOW_MS + 300_000, "503 Service Unavailable", 0),
            ),
            (
                "slack".to_owned(),
                retry(0, NOW_MS + 1_500, "", NOW_MS + 1_500),
            ),
        ]),
    };

    let first = store.claim(&claim(key, "t1")).await.unwrap();
    assert_eq!(
        first,
        ClaimOutcome::New {
            progress: Progress::default()
        }
    );
    store.release(key, "t1", &waiting).await.unwrap();
    let second = store.claim(&claim(key, "t2")).await.unwrap();
    assert_eq!(
        second,
        ClaimOutcome::New {
            progress: waiting.clone()
        }
    );

    // Nothing waits any more: the map goes, the settled routes stay.
    let settled = Progress {
        waiting: BTreeMap::new(),
        ..waiting.clone()
    };
    store.release(key, "t2", &settled).await.unwrap();
    assert!(!table.item(key).await.unwrap().contains_key("route_state"));
    let third = store.claim(&claim(key, "t3")).await.unwrap();
    assert_eq!(third, ClaimOutcome::New { progress: settled });

    // Only waiting routes (no route settled) keep the record too.
    let only_waiting = Progress {
        waiting: waiting.waiting.clone(),
        ..Progress::default()
    };
    store.release(key, "t3", &only_waiting).await.unwrap();
    let fourth = store.claim(&claim(key, "t4")).await.unwrap();
    assert_eq!(
        fourth,
        ClaimOutcome::New {
            progress: only_waiting
        }
    );

    store
        .complete(key, "t4", NOW_MS / 1000, NOW_MS / 1000 + 3600)
        .await
        .unwrap();
    let completed = table.item(key).await.unwrap();
    assert_eq!(completed["status"], AttributeValue::S("COMPLETED".into()));
    assert!(!completed.contains_key("route_state"), "{completed:?}");
}

/// Failures below the threshold leave the breaker closed; of the callers racing past it, on two
/// stores, exactly one opens it and says so, and every one of them learns it is open.
#[tokio::test]
async fn the_threshold_th_failure_opens_the_breaker_exactly_once() {
    let table = Table::start().await;
    for round in 0..3 {
        let target = destination(&format!("down-{round}"));
        for i in 0..(THRESHOLD - 1) as usize {
            let failure = table
                .store(i)
                .breaker_failed(&target, NOW_MS, THRESHOLD, COOLDOWN_MS)
                .await
                .unwrap();
            assert!(!failure.opened && !failure.state.open, "{failure:?}");
            assert_eq!(failure.state.failures as usize, i + 1);
        }
        let racing = (0..6).map(|i| {
            table
                .store(i)
                .breaker_failed(&target, NOW_MS + 10, THRESHOLD, COOLDOWN_MS)
        });
        let failures: Vec<_> = join_all(racing)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let opened = failures.iter().filter(|f| f.opened).count();
        assert_eq!(opened, 1, "round {round}: {failures:#?}");
        assert!(failures.iter().all(|f| f.state.open), "{failures:#?}");

        let breakers = table.first.breakers().await.unwrap();
        let stored = &breakers[round];
        assert_eq!(
            (
                stored.open,
                stored.failures,
                stored.open_until_ms,
                stored.changed_at_ms
            ),
            (
                true,
                THRESHOLD - 1 + 6,
                NOW_MS + 10 + COOLDOWN_MS,
                NOW_MS + 10
            ),
            "{stored:?}"
        );
        assert_eq!(stored.label, target.label);
    }
}

/// No probe while the breaker cools down; after it, one of the callers racing on two stores gets
/// it and the rest are told it is out; a failed probe reopens it with one more failed probe (the
/// caller doubles the cool-down by them); a success closes it, and one caller reports the close.
#[tokio::test]
async fn one_probe_goes_through_and_its_result_closes_or_reopens_the_breaker() {
    let table = Table::start().await;
    let target = destination("flaky");
    let opening = table
        .first
        .breaker_failed(&target, NOW_MS, 1, COOLDOWN_MS)
        .await
        .unwrap();
    assert!(opening.opened);

    let cooling = table
        .second
        .breaker_probe(&target, NOW_MS + 1_000, NOW_MS + 11_000)
        .await;
    let ProbeOutcome::Denied(state) = cooling.unwrap() else {
        panic!("a probe granted during the cool-down");
    };
    assert!(
        state.open && state.open_until_ms == NOW_MS + COOLDOWN_MS,
        "{state:?}"
    );

    // The first probe, and later one after a failed probe's doubled cool-down.
    let mut now = NOW_MS + COOLDOWN_MS;
    for failed_probes in 1..=2u32 {
        let lease = now + 10_000;
        let racing = (0..4).map(|i| table.store(i).breaker_probe(&target, now, lease));
        let outcomes: Vec<_> = join_all(racing)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let granted = outcomes
            .iter()
            .filter(|o| **o == ProbeOutcome::Granted)
            .count();
        assert_eq!(granted, 1, "{outcomes:#?}");
        for outcome in &outcomes {
            if let ProbeOutcome::Denied(state) = outcome {
                assert_eq!(state.probe_until_ms, lease, "{state:?}");
            }
        }
        // A probe out holds the breaker until its lease ends.
        let during = table
            .first
            .breaker_probe(&target, lease - 1, lease + 10_000)
            .await;
        assert!(matches!(during, Ok(ProbeOutcome::Denied(_))), "{during:?}");

        let cooldown = COOLDOWN_MS << (failed_probes - 1);
        let reopened = table
            .second
            .breaker_reopen(&target, now + 500, cooldown * 2)
            .await
            .unwrap();
        assert_eq!(
            (
                reopened.open,
                reopened.failed_probes,
                reopened.probe_until_ms
            ),
            (true, failed_probes, 0),
            "{reopened:?}"
        );
        assert_eq!(reopened.open_until_ms, now + 500 + cooldown * 2);
        now = reopened.open_until_ms;
    }

    // A prober that died: its lease runs out, and the next caller probes.
    let lease = now + 10_000;
    assert_eq!(
        table.first.breaker_probe(&target, now, lease).await,
        Ok(ProbeOutcome::Granted)
    );
    assert_eq!(
        table
            .second
            .breaker_probe(&target, lease, lease + 10_000)
            .await,
        Ok(ProbeOutcome::Granted)
    );

    let closing = (0..4).map(|i| table.store(i).breaker_succeeded(&target, lease + 100));
    let closes: Vec<bool> = join_all(closing)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        closes.iter().filter(|was_open| **was_open).count(),
        1,
        "{closes:?}"
    );
    assert_eq!(
        table.first.breaker_succeeded(&target, lease + 200).await,
        Ok(false)
    );

    let breakers = table.second.breakers().await.unwrap();
    assert_eq!(
        breakers,
        [BreakerState {
            key: target.key.clone(),
            label: target.label.clone(),
            changed_at_ms: lease + 100,
            ..BreakerState::default()
        }]
    );
    let closed = table
        .first
        .breaker_probe(&target, lease + 300, lease + 10_000)
        .await
        .unwrap();
    assert_eq!(closed, ProbeOutcome::Denied(breakers[0].clone()));
}

fn assert_spaced(slots: &[i64], interval_ms: i64) {
    let mut sorted = slots.to_vec();
    sorted.sort_unstable();
    for pair in sorted.windows(2) {
        assert!(
            pair[1] - pair[0] >= interval_ms,
            "slots closer than {interval_ms} ms: {sorted:?}"
        );
    }
}

/// Callers on two stores at once each get a slot of their own, every two at least the interval
/// apart; one is now, the rest reserved ahead. Callers whose clocks differ are spaced as well.
#[tokio::test]
async fn rate_slots_are_distinct_and_an_interval_apart_across_functions() {
    let table = Table::start().await;
    let target = destination("limited");
    let interval = 250;

    let racing = (0..12).map(|i| table.store(i).rate_slot(&target, NOW_MS, interval));
    let slots: Vec<i64> = join_all(racing)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut sorted = slots.clone();
    sorted.sort_unstable();
    let expected: Vec<i64> = (0..12).map(|i| NOW_MS + i * interval).collect();
    assert_eq!(sorted, expected);

    // Later, clocks a little apart; the last slot above has passed for all of them.
    let later = NOW_MS + 10_000;
    let racing = (0..12).map(|i| {
        let now = later + i64::try_from(i).unwrap() * 40;
        let store = table.store(i);
        let target = &target;
        async move { (now, store.rate_slot(target, now, interval).await.unwrap()) }
    });
    let taken: Vec<(i64, i64)> = join_all(racing).await;
    for (now, slot) in &taken {
        assert!(slot >= now, "a slot before its caller's time: {taken:?}");
    }
    let slots: Vec<i64> = taken.iter().map(|(_, slot)| *slot).collect();
    assert_spaced(&slots, interval);
    assert_eq!(slots.iter().collect::<BTreeSet<_>>().len(), slots.len());
    // The rate item is one per destination, not a breaker.
    assert!(table.item(&format!("rate#{}", target.key)).await.is_some());
    assert_eq!(table.first.breakers().await.unwrap(), []);
}

/// `breakers` lists every breaker item of the table, and nothing else in it.
#[tokio::test]
async fn breakers_lists_every_breaker_and_nothing_else() {
    let table = Table::start().await;
    let (down, flaky) = (destination("down"), destination("flaky"));
    table
        .first
        .breaker_failed(&down, NOW_MS, 1, COOLDOWN_MS)
        .await
        .unwrap();
    table
        .second
        .breaker_failed(&flaky, NOW_MS, 3, COOLDOWN_MS)
        .await
        .unwrap();
    table.first.rate_slot(&flaky, NOW_MS, 100).await.unwrap();
    table
        .first
        .claim(&claim("github#not-a-breaker", "t1"))
        .await
        .unwrap();

    let breakers = table.second.breakers().await.unwrap();
    assert_eq!(
        breakers,
        [
            BreakerState {
                key: down.key.clone(),
                label: down.label.clone(),
                open: true,
                failures: 1,
                open_until_ms: NOW_MS + COOLDOWN_MS,
                changed_at_ms: NOW_MS,
                ..BreakerState::default()
            },
            BreakerState {
                key: flaky.key.clone(),
                label: flaky.label.clone(),
                failures: 1,
                ..BreakerState::default()
            },
        ]
    );
    // Each breaker item carries its TTL, 30 days on.
    let item = table.item(&format!("breaker#{}", down.key)).await.unwrap();
    assert_eq!(
        item["expires_at"],
        AttributeValue::N((NOW_MS / 1000 + 30 * 24 * 3600).to_string())
    );
}
