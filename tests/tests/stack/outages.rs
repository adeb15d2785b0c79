//! Tier 5 for outages: the built `inlet dev` against its own emulator, with one forward route to
//! a test target that goes down and comes back. An outage longer than SQS's old five receives is
//! ridden out with every event delivered exactly once and the target spared by the breaker; a
//! schedule shorter than the outage dead-letters `retries_exhausted` after its last step;
//! `Retry-After` is obeyed; a rate limit holds across two pollers; a breaker opened by one
//! poller holds the other back; a process killed mid-schedule loses nothing.
//!
//! Schedules are seconds long here (`["1s", "2s"]`); nothing measures how fast anything is:
//! every wait polls with a generous deadline, and the only times compared are gaps the pipeline
//! must keep (a `Retry-After`, a rate limit's window), as lower bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::dev_rig::*;
use aws_sdk_dynamodb::types::AttributeValue;
use inlet_testkit::target::{Hit, Script, Target};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// One forward route, `agent`, to `target`'s `/agent`, with `lines` (a `rate_limit`, say).
fn agent_route(target: &Target, lines: &str) -> String {
    route("agent", lines, &forward(target, "agent"))
}

/// `count` GitHub issues, posted and queued, their keys in order.
async fn post_issues(rig: &Rig, prefix: &str, count: usize) -> Vec<String> {
    let mut keys = Vec::with_capacity(count);
    for n in 0..count {
        let delivery = issue(&format!("{prefix}-{n}"), "opened");
        rig.post_queued(&delivery).await;
        keys.push(delivery.key);
    }
    keys
}

fn hits_on_agent(target: &Target) -> Vec<Hit> {
    target
        .all_hits()
        .into_iter()
        .filter(|hit| hit.path == "/agent")
        .collect()
}

/// Every circuit breaker item in the table: `failed_probes`, `open` and so on, as text.
async fn breakers(rig: &Rig) -> Vec<HashMap<String, String>> {
    let items = aws_sdk_dynamodb::Client::new(&rig.sdk)
        .scan()
        .table_name(TABLE)
        .filter_expression("begins_with(pk, :breaker)")
        .expression_attribute_values(":breaker", AttributeValue::S("breaker#".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    items
        .into_iter()
        .map(|item| {
            item.into_iter()
                .filter_map(|(name, value)| match value {
                    AttributeValue::S(text) | AttributeValue::N(text) => Some((name, text)),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

fn number(item: &HashMap<String, String>, name: &str) -> i64 {
    item.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Waits until every key in `keys` got a 2xx from the target and the queue is empty, then a few
/// rounds more (see `settle`); returns the target's hits.
async fn all_delivered(rig: &mut Rig, target: &Target, keys: &[String]) -> Vec<Hit> {
    let wait = Wait::until("every event delivered and the queue empty");
    while !(keys.iter().all(|key| target.succeeded(key)) && rig.idle().await) {
        wait.tick(rig, || format!("{:#?}", hits_on_agent(target)))
            .await;
    }
    settle(rig).await;
    hits_on_agent(target)
}

/// Exactly one successful request per key, and no dead letter.
async fn assert_exactly_once(rig: &Rig, hits: &[Hit], keys: &[String]) {
    for key in keys {
        let delivered = hits
            .iter()
            .filter(|hit| hit.key() == Some(key.as_str()) && hit.succeeded())
            .count();
        assert_eq!(delivered, 1, "{key} delivered {delivered} times");
        let record = rig.record(key).await;
        assert_eq!(
            record.get("status").map(String::as_str),
            Some("COMPLETED"),
            "{key}: {record:?}"
        );
    }
    assert!(rig.dead_letters().await.is_empty(), "nothing dead-lettered");
}

fn gap(later: &Hit, earlier: &Hit) -> Duration {
    later.at.duration_since(earlier.at).unwrap_or_default()
}

// ---- the cases ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_ridden_out_every_event_once_the_breaker_sparing_the_target() {
    const EVENTS: usize = 6;
    const ATTEMPTS: usize = 8;
    let target = Target::start(&[("agent", Script::Always(503))]).await;
    let process = "retry_schedule = [\"1s\", \"2s\", \"2s\", \"2s\", \"2s\", \"2s\", \"2s\"]\n\
                   breaker_threshold = 3\nbreaker_cooldown = \"1s\"\nconcurrency = 1\n";
    let mut rig = Rig::start(&config_with(process, &agent_route(&target, ""))).await;
    let started = Instant::now();
    let keys = post_issues(&rig, "outage", EVENTS).await;

    // Down until the breaker has failed three probes in a row (cool-downs of 1, 2 and 4 s) and
    // longer than five receives of a record at SQS's old backoff took (5 + 10 + 20 + 40 s of
    // the template's old defaults are too long for a test; the local stack's were 1 s each):
    // at least 15 s.
    let wait = Wait::until("the breaker failed three probes");
    loop {
        let probes = breakers(&rig)
            .await
            .iter()
            .map(|b| number(b, "failed_probes"))
            .max()
            .unwrap_or(0);
        if probes >= 3 && started.elapsed() >= Duration::from_secs(15) {
            break;
        }
        wait.tick(&mut rig, || format!("{:#?}", hits_on_agent(&target)))
            .await;
    }
    let during = hits_on_agent(&target).len();
    assert!(
        during < EVENTS * ATTEMPTS / 2,
        "{during} calls during the outage: the breaker should hold most back (events × \
         attempts = {})",
        EVENTS * ATTEMPTS
    );
    assert!(
        rig.dead_letters().await.is_empty(),
        "none dead-lettered yet"
    );

    target.script("agent", Script::Ok);
    let hits = all_delivered(&mut rig, &target, &keys).await;
    assert_exactly_once(&rig, &hits, &keys).await;
    let breaker = &breakers(&rig).await[0];
    assert_eq!(
        breaker.get("state").map(String::as_str),
        Some("closed"),
        "{breaker:?}"
    );
    let log = rig.dev.log();
    assert!(log.contains("breaker opened"), "{log}");
    assert!(log.contains("closed"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_shorter_than_the_outage_dead_letters_retries_exhausted_after_its_last_step() {
    let target = Target::start(&[("agent", Script::Always(503))]).await;
    // No breaker in the way: every attempt reaches the target.
    let process = "retry_schedule = [\"1s\", \"2s\"]\nbreaker_threshold = 1000\n";
    let mut rig = Rig::start(&config_with(process, &agent_route(&target, ""))).await;
    let keys = post_issues(&rig, "exhausted", 2).await;

    let wait = Wait::until("both events dead-lettered and the queue empty");
    let mut letters = Vec::new();
    while letters.len() < 2 || !rig.idle().await {
        wait.tick(&mut rig, || format!("{letters:#?}")).await;
        letters = rig.dead_letters().await;
    }
    settle(&mut rig).await;
    for key in &keys {
        let tries = statuses(&target, key);
        assert_eq!(
            tries,
            [503, 503, 503],
            "{key}: the first attempt and one per step"
        );
        let letter = letters
            .iter()
            .find(|letter| letter["key"] == key.as_str())
            .unwrap_or_else(|| panic!("no dead letter for {key}: {letters:#?}"));
        assert_eq!(letter["reason"], "retries_exhausted", "{letter:#}");
        let text = letter.to_string();
        assert!(text.contains("\"attempts\""), "{letter:#}");
        assert!(text.contains("agent"), "{letter:#}");
        assert!(text.contains("503"), "the last error: {letter:#}");
    }
    // Each step was waited out: the second attempt a second after the first, the third two
    // after the second (SQS counts visibility in whole seconds, so these are lower bounds).
    let hits = hits_on_agent(&target);
    for key in &keys {
        let of: Vec<&Hit> = hits
            .iter()
            .filter(|hit| hit.key() == Some(key.as_str()))
            .collect();
        assert!(gap(of[1], of[0]) >= Duration::from_millis(950), "{of:#?}");
        assert!(gap(of[2], of[1]) >= Duration::from_millis(1950), "{of:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_delays_the_route_s_next_attempt() {
    // A 429 asking for 4 s, then 200s. The schedule alone would come back after 1 s; its
    // longest step, 10 s, bounds what a Retry-After may ask.
    let target = Target::in_order(&[Script::Throttle(429, 4)]).await;
    let process = "retry_schedule = [\"1s\", \"10s\"]\n";
    let mut rig = Rig::start(&config_with(process, &agent_route(&target, ""))).await;
    let keys = post_issues(&rig, "throttled", 1).await;
    let hits = all_delivered(&mut rig, &target, &keys).await;
    assert_eq!(
        hits.iter().map(|hit| hit.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert!(
        gap(&hits[1], &hits[0]) >= Duration::from_millis(3950),
        "the retry came {:?} after the 429 asked for 4 s",
        gap(&hits[1], &hits[0])
    );
    assert_exactly_once(&rig, &hits, &keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_two_pollers_and_delivers_everything() {
    const EVENTS: usize = 10;
    let target = Target::start(&[("agent", Script::Ok)]).await;
    let routes = agent_route(&target, "rate_limit = \"2/s\"\n");
    let process = "retry_schedule = [\"1s\", \"1s\"]\n";
    let mut rig = Rig::start_with(&config_with(process, &routes), &["--pollers", "2"]).await;
    let keys = post_issues(&rig, "limited", EVENTS).await;
    let hits = all_delivered(&mut rig, &target, &keys).await;
    assert_exactly_once(&rig, &hits, &keys).await;
    // Never more than two in any second: any three calls span at least a second.
    let mut at: Vec<SystemTime> = hits.iter().map(|hit| hit.at).collect();
    at.sort();
    for three in at.windows(3) {
        let span = three[2].duration_since(three[0]).unwrap();
        assert!(
            span >= Duration::from_secs(1),
            "three calls within {span:?}: {at:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opened_by_one_poller_holds_the_other_back() {
    const THRESHOLD: usize = 3;
    let target = Target::start(&[("agent", Script::Always(503))]).await;
    // A cool-down longer than the test: no probe gets through while it looks.
    let process = format!(
        "retry_schedule = [\"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\"]\n\
         breaker_threshold = {THRESHOLD}\nbreaker_cooldown = \"10m\"\nconcurrency = 1\n"
    );
    let mut rig = Rig::start_with(
        &config_with(&process, &agent_route(&target, "")),
        &["--pollers", "2"],
    )
    .await;
    post_issues(&rig, "first", THRESHOLD).await;
    let wait = Wait::until("the breaker open");
    while !breakers(&rig)
        .await
        .iter()
        .any(|b| b.get("state").map(String::as_str) == Some("open"))
    {
        wait.tick(&mut rig, || format!("{:#?}", hits_on_agent(&target)))
            .await;
    }
    // More events, a few at a time so both pollers get some; each is claimed at least once (and
    // held back or, for a poller that has not yet seen the breaker open, tried once).
    let mut later = Vec::new();
    for round in 0..4 {
        later.extend(post_issues(&rig, &format!("later-{round}"), 3).await);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let wait = Wait::until("every later event claimed at least once");
    loop {
        let mut seen = 0;
        for key in &later {
            if !rig.record(key).await.is_empty() {
                seen += 1;
            }
        }
        if seen == later.len() {
            break;
        }
        wait.tick(&mut rig, || format!("{seen} of {} seen", later.len()))
            .await;
    }
    // Threshold failures opened it; a poller that had not seen it open learns from its own
    // next failure at the latest. Unshared breakers would let each poller fail the threshold.
    let calls = hits_on_agent(&target).len();
    assert!(
        calls <= THRESHOLD + 1,
        "{calls} calls: the second poller should have been held back by the first's breaker"
    );
    let log = rig.dev.log();
    assert_eq!(
        log.matches("breaker opened").count(),
        1,
        "opened once, by one poller:\n{log}"
    );
    assert!(
        log.contains("[poller 1]") && log.contains("[poller 2]"),
        "both pollers ran batches:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_schedule_loses_nothing() {
    let target = Target::start(&[("agent", Script::Always(503))]).await;
    let process = "retry_schedule = [\"2s\", \"2s\", \"2s\", \"2s\", \"2s\", \"2s\"]\n\
                   breaker_threshold = 1000\n";
    let mut rig = Rig::start(&config_with(process, &agent_route(&target, ""))).await;
    let keys = post_issues(&rig, "killed", 3).await;
    let wait = Wait::until("every event failed at least once");
    while !keys.iter().all(|key| !statuses(&target, key).is_empty()) {
        wait.tick(&mut rig, || format!("{:#?}", hits_on_agent(&target)))
            .await;
    }
    // Mid-schedule: killed at once, no batch finished, no claim released.
    rig.dev.kill();
    target.script("agent", Script::Ok);
    rig.restart_dev(&[]);
    let hits = all_delivered(&mut rig, &target, &keys).await;
    assert_exactly_once(&rig, &hits, &keys).await;
}
