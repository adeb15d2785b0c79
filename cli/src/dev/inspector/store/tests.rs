use super::*;
use routes::RECEIVES_EXHAUSTED;

fn arrival(key: &str, state: State) -> Arrival {
    Arrival {
        received_at: "2026-11-28T13:00:00Z".into(),
        source: "github".into(),
        event_type: None,
        event_id: key.split_once('#').map(|(_, id)| id.to_owned()),
        key: Some(key.to_owned()),
        status: 202,
        code: None,
        state,
        state_detail: String::new(),
        replay_of: None,
        request: Request {
            method: "POST".into(),
            path: "/webhooks/github".into(),
            query: None,
            headers: vec![("x-github-event".into(), "push".into())],
            body: b"{\"a\":1}".to_vec(),
            body_truncated_from: None,
        },
        verdict: Verdict {
            status: 202,
            code: None,
            message: "queued".into(),
            verified: true,
        },
        envelope: None,
        message_id: None,
    }
}

/// A delivery ingest queued as message `message_id`.
fn queued(key: &str, message_id: &str) -> Arrival {
    Arrival {
        message_id: Some(message_id.to_owned()),
        ..arrival(key, State::Queued)
    }
}

fn progress(state: State) -> Progress {
    Progress {
        state,
        detail: String::new(),
        next_try_at: None,
        dead_letter_at: None,
    }
}

/// A receive of message `origin`'s delivery, with `runs`, ending in `state`.
fn receive(
    store: &mut Store,
    origin: &str,
    runs: Vec<ActionAttempt>,
    state: State,
) -> Option<String> {
    store.receive(
        origin,
        origin,
        runs,
        Vec::new(),
        |_| progress(state),
        || None,
    )
}

fn attempt() -> ActionAttempt {
    ActionAttempt {
        attempt: 0,
        at: "2026-11-28T13:00:01Z".into(),
        route: Some("github".into()),
        outcome: "done".into(),
        answer: "forwarded".into(),
        latency_ms: 3,
        error: None,
        response: None,
    }
}

#[test]
fn ids_count_up_and_the_newest_comes_first() {
    let mut store = Store::in_memory();
    assert_eq!(store.arrive(arrival("github#a", State::Queued)), "d-000001");
    assert_eq!(store.arrive(arrival("github#b", State::Queued)), "d-000002");
    let ids: Vec<_> = store.newest_first().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d-000002", "d-000001"]);
}

#[test]
fn the_store_keeps_only_the_newest_deliveries() {
    let mut store = Store::in_memory();
    for i in 0..MAX_DELIVERIES + 5 {
        store.arrive(arrival(&format!("github#{i}"), State::Queued));
    }
    assert_eq!(store.len(), MAX_DELIVERIES);
    assert!(store.get("d-000005").is_none());
    assert!(store.get("d-000006").is_some());
}

#[test]
fn each_outcome_lands_on_the_copy_its_message_belongs_to() {
    let mut store = Store::in_memory();
    let first = store.arrive(queued("github#a", "m-1"));
    let second = store.arrive(queued("github#a", "m-2"));
    let third = store.arrive(queued("github#a", "m-3"));
    // One batch: the first copy fails, the two behind it are held back.
    let failed = ActionAttempt {
        outcome: "transient".into(),
        ..attempt()
    };
    assert_eq!(
        receive(&mut store, "m-1", vec![failed], State::Retrying),
        Some(first.clone())
    );
    assert_eq!(
        receive(&mut store, "m-3", Vec::new(), State::Retrying),
        Some(third.clone())
    );
    assert_eq!(
        receive(&mut store, "m-2", Vec::new(), State::Retrying),
        Some(second.clone())
    );
    // The next batch: the first goes through, the others are duplicates.
    receive(&mut store, "m-1", vec![attempt()], State::Processed);
    receive(&mut store, "m-2", Vec::new(), State::Duplicate);
    receive(&mut store, "m-3", Vec::new(), State::Duplicate);
    let view = |id: &str| {
        let d = store.get(id).unwrap();
        (d.state, d.attempts, d.action_attempts.len())
    };
    assert_eq!(view(&first), (State::Processed, 2, 2));
    assert_eq!(view(&second), (State::Duplicate, 2, 0));
    assert_eq!(view(&third), (State::Duplicate, 2, 0));
    let numbers: Vec<u32> = store
        .get(&first)
        .unwrap()
        .action_attempts
        .iter()
        .map(|a| a.attempt)
        .collect();
    assert_eq!(numbers, [1, 2]);
}

#[test]
fn a_receive_before_its_request_is_recorded_waits_for_it() {
    let mut store = Store::in_memory();
    store.queued(
        "m-1",
        serde_json::json!({"key": "github#a", "event_type": "push"}),
        None,
    );
    // The poller took the message before the server recorded the request.
    assert_eq!(
        receive(&mut store, "m-1", vec![attempt()], State::Processed),
        None
    );
    let id = store.arrive(queued("github#a", "m-1"));
    let delivery = store.get(&id).unwrap();
    assert_eq!(delivery.state, State::Processed);
    assert_eq!(delivery.action_attempts.len(), 1);
    assert_eq!(delivery.event_type.as_deref(), Some("push"));
    assert_eq!(store.len(), 1);
}

#[test]
fn a_message_never_seen_at_the_door_becomes_a_delivery_of_its_own() {
    let mut store = Store::in_memory();
    let known = store.arrive(queued("github#a", "m-1"));
    let adopted = store.receive(
        "m-9",
        "m-9",
        Vec::new(),
        Vec::new(),
        |tried| {
            assert!(!tried);
            progress(State::Duplicate)
        },
        || Some(arrival("github#a", State::Queued)),
    );
    let adopted = adopted.unwrap();
    assert_ne!(adopted, known);
    let delivery = store.get(&adopted).unwrap();
    assert_eq!(delivery.message_id.as_deref(), Some("m-9"));
    assert_eq!(delivery.state, State::Duplicate);
    assert_eq!(store.get(&known).unwrap().state, State::Queued);
}

#[test]
fn a_dead_letter_moved_or_deleted_elsewhere_says_so() {
    let mut store = Store::in_memory();
    let kept = store.arrive(queued("github#a", "m-1"));
    let redriven = store.arrive(queued("github#a", "m-2"));
    let deleted = store.arrive(queued("github#a", "m-3"));
    for origin in ["m-1", "m-2", "m-3"] {
        receive(&mut store, origin, Vec::new(), State::DeadLettered);
    }
    assert_eq!(
        store.redriven("m-2", "m-20", "redriven by inlet dlq".into()),
        Some(redriven.clone())
    );
    assert_eq!(
        store.deleted("m-3", "deleted by inlet dlq".into()),
        Some(deleted.clone())
    );
    assert_eq!(store.redriven("m-404", "m-405", String::new()), None);
    // The redriven message comes back carrying its origin, and lands on its delivery.
    store.receive(
        "m-2",
        "m-20",
        vec![attempt()],
        Vec::new(),
        |_| progress(State::Processed),
        || None,
    );
    // A report of the redrive that comes after process took the message changes nothing.
    store.redriven("m-2", "m-20", "redriven by inlet dlq".into());
    let state = |id: &str| store.get(id).unwrap().state;
    assert_eq!(state(&kept), State::DeadLettered);
    assert_eq!(state(&redriven), State::Processed);
    assert_eq!(state(&deleted), State::Deleted);
    // A start against a queue that no longer holds m-1's letter.
    store.reconcile_dead_letters(&std::collections::HashSet::new());
    assert!(store.get(&kept).unwrap().gone);
    store.reconcile_dead_letters(&["m-1".to_owned()].into());
    assert!(!store.get(&kept).unwrap().gone);
}

#[test]
fn a_restart_reloads_the_history_and_marks_what_the_emulator_lost() {
    let dir = std::env::temp_dir().join(format!("inlet-inspector-{}", std::process::id()));
    let path = dir.join(".inlet/history.jsonl");
    let _ = std::fs::remove_dir_all(&dir);
    {
        let mut store = Store::open(&path).unwrap();
        store.arrive(queued("github#done", "m-1"));
        receive(&mut store, "m-1", Vec::new(), State::Processed);
        store.arrive(queued("github#waiting", "m-2"));
        store.arrive(queued("github#dead", "m-3"));
        receive(&mut store, "m-3", Vec::new(), State::DeadLettered);
        let mut rejected = arrival("github#x", State::Rejected);
        rejected.key = None;
        store.arrive(rejected);
    }
    let mut store = Store::open(&path).unwrap();
    let states: Vec<_> = store
        .newest_first()
        .map(|d| (d.id.as_str(), d.state, d.gone))
        .collect();
    assert_eq!(
        states,
        [
            ("d-000004", State::Rejected, false),
            ("d-000003", State::DeadLettered, false),
            ("d-000002", State::Queued, true),
            ("d-000001", State::Processed, false),
        ]
    );
    // Ids go on from where the last run stopped.
    assert_eq!(
        store.arrive(arrival("github#new", State::Queued)),
        "d-000005"
    );
    // The file was compacted to one line per delivery, plus the new one.
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(lines, 5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_history_line_that_cannot_be_read_is_skipped() {
    let dir = std::env::temp_dir().join(format!("inlet-inspector-bad-{}", std::process::id()));
    let path = dir.join("history.jsonl");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let good = line_of(&{
        let mut store = Store::in_memory();
        store.arrive(arrival("github#a", State::Queued));
        store.get("d-000001").unwrap().clone()
    });
    std::fs::write(&path, format!("{good}{{\"id\": \"d-0000")).unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

fn route(name: &str, state: RouteStage, reason: Option<&str>, message: Option<&str>) -> RouteState {
    RouteState {
        reason: reason.map(str::to_owned),
        message: message.map(str::to_owned),
        ..RouteState::new(name, state)
    }
}

#[test]
fn each_route_keeps_its_latest_outcome_and_a_dead_one_keeps_the_delivery_dead_lettered() {
    let mut store = Store::in_memory();
    let id = store.arrive(queued("github#a", "m-1"));
    // First receive: triage fails for now, audit cannot be reshaped, billing delivered.
    store.receive(
        "m-1",
        "m-1",
        Vec::new(),
        vec![
            route(
                "triage",
                RouteStage::Retrying,
                None,
                Some("the target answered 500"),
            ),
            route(
                "audit",
                RouteStage::DeadLettered,
                Some("transform_failed"),
                Some("not JSON"),
            ),
            route("billing", RouteStage::Delivered, None, None),
        ],
        |_| progress(State::Retrying),
        || None,
    );
    assert_eq!(store.get(&id).unwrap().state, State::Retrying);
    // Second receive runs only triage, which goes through: the event is finished, but the
    // audit route's letter waits in the dead-letter queue.
    store.receive(
        "m-1",
        "m-1",
        Vec::new(),
        vec![route("triage", RouteStage::Delivered, None, None)],
        |_| progress(State::Processed),
        || None,
    );
    let delivery = store.get(&id).unwrap();
    let names: Vec<_> = delivery
        .routes
        .iter()
        .map(|r| (r.route.as_str(), r.state))
        .collect();
    assert_eq!(
        names,
        [
            ("triage", RouteStage::Delivered),
            ("audit", RouteStage::DeadLettered),
            ("billing", RouteStage::Delivered),
        ]
    );
    assert_eq!(delivery.state, State::DeadLettered);
    assert_eq!(
        delivery.state_detail,
        "route audit dead-lettered (transform_failed): not JSON; the other routes delivered"
    );
    // Redriven, the dead route runs again; once it is delivered, so is the whole delivery.
    store.redriven("m-1", "m-2", "redriven by inlet dlq".into());
    let audit = |store: &Store| store.get(&id).unwrap().routes[1].clone();
    assert_eq!(audit(&store).state, RouteStage::Retrying);
    assert_eq!(audit(&store).reason, None);
    store.receive(
        "m-1",
        "m-2",
        Vec::new(),
        vec![route("audit", RouteStage::Delivered, None, None)],
        |_| progress(State::Processed),
        || None,
    );
    assert_eq!(store.get(&id).unwrap().state, State::Processed);
    assert_eq!(audit(&store).state, RouteStage::Delivered);
}

#[test]
fn a_redrive_that_ends_while_another_route_is_retried_leaves_the_delivery_retrying() {
    let mut store = Store::in_memory();
    let id = store.arrive(queued("github#a", "m-1"));
    let retrying = Progress {
        next_try_at: Some("2026-11-28T13:00:10Z".into()),
        ..progress(State::Retrying)
    };
    store.receive(
        "m-1",
        "m-1",
        Vec::new(),
        vec![
            route("target", RouteStage::Retrying, None, Some("refused")),
            route(
                "audit",
                RouteStage::DeadLettered,
                Some("transform_failed"),
                Some("not JSON"),
            ),
        ],
        |_| retrying,
        || None,
    );
    // The audit letter is redriven and fails again while m-1 still waits to retry target.
    store.redriven("m-1", "m-2", "redriven by the inspector".into());
    store.receive(
        "m-1",
        "m-2",
        Vec::new(),
        vec![route(
            "audit",
            RouteStage::DeadLettered,
            Some("transform_failed"),
            Some("not JSON"),
        )],
        |_| progress(State::DeadLettered),
        || None,
    );
    let delivery = store.get(&id).unwrap();
    assert_eq!(delivery.state, State::Retrying);
    assert_eq!(
        delivery.next_try_at.as_deref(),
        Some("2026-11-28T13:00:10Z")
    );
    assert_eq!(
        delivery.state_detail,
        "route target is retried: refused; route audit dead-lettered (transform_failed): not \
             JSON"
    );
    // m-1's receives run out: target goes with the record to the dead-letter queue.
    let last = Progress {
        dead_letter_at: Some("2026-11-28T13:01:20Z".into()),
        ..progress(State::DeadLettered)
    };
    store.receive("m-1", "m-1", Vec::new(), Vec::new(), |_| last, || None);
    let delivery = store.get(&id).unwrap();
    assert_eq!(delivery.state, State::DeadLettered);
    assert_eq!(delivery.routes[0].state, RouteStage::DeadLettered);
    assert_eq!(
        delivery.routes[0].reason.as_deref(),
        Some(RECEIVES_EXHAUSTED)
    );
}

#[test]
fn a_history_line_from_before_routes_still_loads() {
    let dir = std::env::temp_dir().join(format!("inlet-inspector-old-{}", std::process::id()));
    let path = dir.join("history.jsonl");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = Store::in_memory();
    let id = store.arrive(queued("github#a", "m-1"));
    receive(&mut store, "m-1", vec![attempt()], State::Processed);
    let mut line: serde_json::Value =
        serde_json::from_str(&line_of(store.get(&id).unwrap())).unwrap();
    // As an older inlet dev wrote it: no routes, attempts without a route.
    line.as_object_mut().unwrap().remove("routes");
    line["action_attempts"][0]
        .as_object_mut()
        .unwrap()
        .remove("route");
    line["action_attempts"][0]["outcome"] = "done".into();
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let store = Store::open(&path).unwrap();
    let delivery = store.get(&id).unwrap();
    assert_eq!(delivery.routes, []);
    assert_eq!(delivery.action_attempts[0].route, None);
    assert_eq!(delivery.state, State::Processed);
    let _ = std::fs::remove_dir_all(&dir);
}
