use super::*;
use crate::dev::inspector::store::{Arrival, Pickup, Queued, Request, Store, Verdict};
use inlet_core::actions::answers::TargetAnswer;
use inlet_signature::clock::format_rfc3339_millis;

/// 2026-11-22T13:00:00.000Z, in milliseconds.
const NOON_MS: i64 = 1_795_352_400_000;

fn at(offset_ms: i64) -> String {
    format_rfc3339_millis(NOON_MS + offset_ms)
}

fn arrival(state: State, key: Option<&str>, message_id: Option<&str>) -> Arrival {
    Arrival {
        received_at: at(3),
        source: "github".into(),
        event_type: Some("push".into()),
        event_id: None,
        key: key.map(str::to_owned),
        status: if state == State::Rejected { 401 } else { 202 },
        code: None,
        state,
        state_detail: "as ingest said".into(),
        replay_of: None,
        request: Request {
            method: "POST".into(),
            path: "/webhooks/github".into(),
            query: None,
            headers: Vec::new(),
            body: b"{}".to_vec(),
            body_truncated_from: None,
        },
        verdict: Verdict {
            status: 202,
            code: None,
            message: "queued".into(),
            verified: true,
        },
        envelope: None,
        message_id: message_id.map(str::to_owned),
    }
}

/// A store holding one delivery of `github#a`, received at noon and handed to the queue 1 ms
/// later as message `m-1` (the queue took 2 ms); its id.
fn queued_delivery(store: &mut Store, traceparent: Option<&str>) -> String {
    let mut envelope = serde_json::json!({
        "key": "github#a", "event_type": "push", "received_at": at(0),
    });
    if let Some(traceparent) = traceparent {
        envelope["traceparent"] = traceparent.into();
    }
    let sent = Queued {
        at: at(1),
        took_ms: 2,
    };
    store.queued("m-1", envelope, Some(sent));
    store.arrive(arrival(State::Queued, Some("github#a"), Some("m-1")))
}

fn run(route: &str, at_ms: i64, outcome: &str, status: u16) -> ActionAttempt {
    ActionAttempt {
        attempt: 0,
        at: at(at_ms),
        route: Some(route.into()),
        outcome: outcome.into(),
        answer: format!("the target answered {status}"),
        latency_ms: 4,
        error: (outcome != "done").then(|| format!("the target answered {status}")),
        response: Some(TargetAnswer {
            status,
            body: String::new(),
            truncated: false,
        }),
    }
}

fn pickup(receive_count: u32, claimed_ms: i64, ended_ms: i64) -> Pickup {
    Pickup {
        message_id: "m-1".into(),
        receive_count,
        claimed_at_ms: Some(NOON_MS + claimed_ms),
        ended_at_ms: NOON_MS + ended_ms,
    }
}

fn progress(state: State, next_try_at: Option<String>) -> super::super::store::Progress {
    super::super::store::Progress {
        state,
        detail: format!("{} in words", state.name()),
        next_try_at,
        dead_letter_at: None,
    }
}

fn names(steps: &[Step]) -> Vec<&str> {
    steps.iter().map(|s| s.step).collect()
}

fn offsets(steps: &[Step]) -> Vec<Option<i64>> {
    steps.iter().map(|s| s.offset_ms).collect()
}

#[test]
fn a_delivery_forwarded_at_once_reads_received_queued_claimed_attempt_done() {
    let mut store = Store::in_memory();
    let id = queued_delivery(&mut store, None);
    store.receive_at(
        "m-1",
        pickup(1, 12, 30),
        vec![run("triage", 13, "done", 200)],
        vec![RouteState::new("triage", RouteStage::Delivered)],
        |_| progress(State::Processed, None),
        || None,
    );
    let steps = timeline(store.get(&id).expect("recorded"));
    assert_eq!(
        names(&steps),
        ["received", "queued", "claimed", "attempt", "done"]
    );
    assert_eq!(
        offsets(&steps),
        [Some(0), Some(1), Some(12), Some(13), Some(30)]
    );
    assert_eq!(steps[0].at, "2026-11-22T13:00:00.000Z");
    assert_eq!(steps[1].duration_ms, Some(2));
    assert_eq!(steps[1].message_id.as_deref(), Some("m-1"));
    let attempt = &steps[3];
    assert_eq!(attempt.route.as_deref(), Some("triage"));
    assert_eq!(attempt.attempt, Some(1));
    assert_eq!(attempt.outcome.as_deref(), Some("delivered"));
    assert_eq!(attempt.status, Some(200));
    assert_eq!(attempt.duration_ms, Some(4));
    assert_eq!(attempt.reason, None);
    assert_eq!(steps[4].outcome.as_deref(), Some("completed"));
    assert!(
        steps[2..].iter().all(|s| s.receive == Some(1)),
        "{steps:#?}"
    );
}

#[test]
fn a_retry_shows_each_receive_in_order_with_its_attempt_and_when_it_comes_back() {
    let mut store = Store::in_memory();
    let id = queued_delivery(&mut store, None);
    let next = at(1_030);
    let retrying = RouteState {
        message: Some("the target answered 500".into()),
        attempts: Some(1),
        next_attempt_at: Some(next.clone()),
        ..RouteState::new("triage", RouteStage::Retrying)
    };
    store.receive_at(
        "m-1",
        pickup(1, 10, 30),
        vec![run("triage", 11, "transient", 500)],
        vec![retrying],
        |_| progress(State::Retrying, Some(next.clone())),
        || None,
    );
    store.receive_at(
        "m-1",
        pickup(2, 1_040, 1_060),
        vec![run("triage", 1_041, "done", 200)],
        vec![RouteState::new("triage", RouteStage::Delivered)],
        |_| progress(State::Processed, None),
        || None,
    );
    let steps = timeline(store.get(&id).expect("recorded"));
    assert_eq!(
        names(&steps),
        [
            "received", "queued", "claimed", "attempt", "requeued", "claimed", "attempt", "done"
        ]
    );
    let first = &steps[3];
    assert_eq!(first.outcome.as_deref(), Some("will_retry"));
    assert_eq!(first.reason.as_deref(), Some("the target answered 500"));
    assert_eq!(first.next_at.as_deref(), Some(next.as_str()));
    assert_eq!(first.status, Some(500));
    assert_eq!(steps[4].outcome.as_deref(), Some("retrying"));
    assert_eq!(steps[4].next_at.as_deref(), Some(next.as_str()));
    let second = &steps[6];
    assert_eq!((second.attempt, second.receive), (Some(2), Some(2)));
    assert_eq!(second.outcome.as_deref(), Some("delivered"));
    let times: Vec<i64> = steps.iter().filter_map(|s| s.offset_ms).collect();
    assert_eq!(times.len(), steps.len());
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn a_dead_letter_its_redrive_and_the_held_route_read_in_the_order_they_came() {
    let mut store = Store::in_memory();
    let id = queued_delivery(&mut store, None);
    let dead = RouteState {
        reason: Some("action_failed".into()),
        message: Some("the target answered 410".into()),
        attempts: Some(1),
        ..RouteState::new("triage", RouteStage::DeadLettered)
    };
    let held = RouteState {
        hold: Some("breaker_open".into()),
        next_attempt_at: Some(at(60_000)),
        ..RouteState::new("audit", RouteStage::Held)
    };
    store.receive_at(
        "m-1",
        pickup(1, 10, 30),
        vec![run("triage", 11, "permanent", 410)],
        vec![dead, held],
        |_| progress(State::Held, Some(at(60_000))),
        || None,
    );
    store.redriven("m-1", "m-2", "redriven by the page".into());
    let steps = timeline(store.get(&id).expect("recorded"));
    assert_eq!(
        names(&steps),
        [
            "received", "queued", "claimed", "held", "attempt", "requeued", "redriven"
        ]
    );
    assert_eq!(steps[3].route.as_deref(), Some("audit"));
    assert_eq!(steps[3].outcome.as_deref(), Some("breaker_open"));
    assert_eq!(steps[3].at, steps[2].at, "decided once claimed");
    assert_eq!(steps[4].outcome.as_deref(), Some("failed"));
    assert_eq!(
        steps[4].reason.as_deref(),
        Some("action_failed: the target answered 410")
    );
    assert_eq!(steps[6].detail, "redriven by the page");
}

#[test]
fn a_receive_that_never_got_a_claim_ends_as_a_duplicate() {
    let mut store = Store::in_memory();
    let id = queued_delivery(&mut store, None);
    let mut unclaimed = pickup(1, 0, 25);
    unclaimed.claimed_at_ms = None;
    store.receive_at(
        "m-1",
        unclaimed,
        Vec::new(),
        Vec::new(),
        |_| progress(State::Duplicate, None),
        || None,
    );
    let steps = timeline(store.get(&id).expect("recorded"));
    assert_eq!(names(&steps), ["received", "queued", "done"]);
    assert_eq!(steps[2].outcome.as_deref(), Some("duplicate"));
    assert_eq!(steps[2].offset_ms, Some(25));
}

#[test]
fn a_refused_delivery_ends_where_ingest_answered() {
    let mut store = Store::in_memory();
    let id = store.arrive(arrival(State::Rejected, None, None));
    let delivery = store.get(&id).expect("recorded");
    let steps = timeline(delivery);
    assert_eq!(names(&steps), ["received", "done"]);
    assert_eq!(steps[1].outcome.as_deref(), Some("rejected"));
    assert_eq!(steps[1].status, Some(401));
    assert_eq!(offsets(&steps), [Some(0), Some(0)]);
    assert_eq!(trace_id(delivery), None);
}

#[test]
fn the_trace_id_is_the_one_the_envelope_carries_else_the_keys_own() {
    let mut store = Store::in_memory();
    let carried = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let id = queued_delivery(&mut store, Some(carried));
    assert_eq!(
        trace_id(store.get(&id).expect("recorded")).as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    let mut store = Store::in_memory();
    let id = queued_delivery(&mut store, None);
    let derived = inlet_core::trace::from_key("github#a").trace_id.to_string();
    assert_eq!(
        trace_id(store.get(&id).expect("recorded")).as_deref(),
        Some(derived.as_str())
    );
}

#[test]
fn times_read_to_the_millisecond() {
    assert_eq!(epoch_ms("2026-11-22T13:00:00.123Z"), Some(NOON_MS + 123));
    assert_eq!(epoch_ms("2026-11-22T13:00:00.5Z"), Some(NOON_MS + 500));
    assert_eq!(epoch_ms("2026-11-22T13:00:00.123456Z"), Some(NOON_MS + 123));
    assert_eq!(epoch_ms("2026-11-22T13:00:01Z"), Some(NOON_MS + 1000));
    assert_eq!(epoch_ms("soon"), None);
}
