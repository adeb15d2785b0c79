//! Fan-out: every route that takes an event runs, each exactly once per event, over the
//! in-memory ports. What is settled per route survives a retry, a redelivery and a redrive.

use super::process_pipeline::{Batch, CLOCK, Scripted, envelope_json, later, outcome, pipeline};
use inlet_core::actions::ActionError;
use inlet_core::ports::memory::RecordStatus;
use inlet_core::process::{ROUTE_ERRORS, ROUTES, RecordOutcome, RouteOutcome, RouteRun};

fn routes_of(batch: &inlet_core::process::BatchOutcome, index: usize) -> Vec<RouteRun> {
    batch.routes[index].clone()
}

fn delivered(route: &str) -> RouteRun {
    RouteRun {
        route: route.into(),
        outcome: RouteOutcome::Delivered,
    }
}

#[tokio::test]
async fn every_route_runs_once_and_the_event_completes_in_two_store_calls() {
    let handler = Scripted::default();
    handler.route("d1", vec!["triage", "audit", "billing"]);
    let rig = pipeline(handler);
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
    let mut ran = rig.handler.ran();
    ran.sort();
    assert_eq!(
        ran,
        vec!["github#d1/audit", "github#d1/billing", "github#d1/triage"]
    );
    assert_eq!(
        routes_of(&result, 0),
        vec![
            delivered("triage"),
            delivered("audit"),
            delivered("billing")
        ]
    );
    // One claim and one completion, whatever the number of routes.
    assert_eq!(rig.store.calls(), 2);
    assert_eq!(
        rig.store.record("github#d1").unwrap().status,
        RecordStatus::Completed
    );
}

#[tokio::test]
async fn a_failing_route_is_retried_alone_and_the_others_are_not_run_again() {
    let handler = Scripted::default();
    handler.route("d1", vec!["triage", "audit"]);
    handler.answer(
        "d1/audit",
        vec![Err(ActionError::Transient("the bus is throttling".into()))],
    );
    let rig = pipeline(handler);
    let first = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&first.records(), CLOCK).await;
    assert_eq!(result.failures(), vec!["m1"]);
    match outcome(&result, "m1") {
        RecordOutcome::Retry { reason } => {
            assert!(reason.contains("route audit"), "{reason}");
            assert!(reason.contains("throttling"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let record = rig.store.record("github#d1").unwrap();
    assert_eq!(record.status, RecordStatus::Partial);
    assert!(record.progress.done.contains("triage"));
    assert!(!record.progress.done.contains("audit"));

    // SQS delivers it again once its step is due: only the failed route runs, and the event
    // completes.
    let again = Batch::new()
        .push("m1", envelope_json("github", "d1", "{}"))
        .received(2);
    let result = rig
        .process
        .handle_batch(&again.records(), later(5_000))
        .await;
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
    assert_eq!(routes_of(&result, 0), vec![delivered("audit")]);
    let ran = rig.handler.ran();
    assert_eq!(ran.iter().filter(|r| r.ends_with("/triage")).count(), 1);
    assert_eq!(ran.iter().filter(|r| r.ends_with("/audit")).count(), 2);
    assert_eq!(
        rig.store.record("github#d1").unwrap().status,
        RecordStatus::Completed
    );

    // A provider redelivery after that is a duplicate: nothing runs.
    let late = Batch::new().push("m2", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&late.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m2"), RecordOutcome::Duplicate);
    assert_eq!(rig.handler.ran().len(), 3);
}

#[tokio::test]
async fn a_route_failing_for_good_is_dead_lettered_by_name_while_the_others_are_done() {
    let handler = Scripted::default();
    handler.route("d1", vec!["triage", "reshape", "audit"]);
    handler.answer(
        "d1/reshape",
        vec![Err(ActionError::TransformFailed(
            "cannot index number with \"login\"".into(),
        ))],
    );
    let rig = pipeline(handler);
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(
        outcome(&result, "m1"),
        RecordOutcome::DeadLettered {
            reason: "transform_failed"
        }
    );
    assert!(result.failures().is_empty());
    let letters = rig.dead_letters.messages();
    assert_eq!(letters.len(), 1);
    let attribute = |name: &str| {
        letters[0]
            .attributes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(attribute("reason").as_deref(), Some("transform_failed"));
    assert_eq!(attribute(ROUTES).as_deref(), Some("reshape"));
    let errors: serde_json::Value =
        serde_json::from_str(&attribute(ROUTE_ERRORS).unwrap()).unwrap();
    assert_eq!(errors["reshape"]["reason"], "transform_failed");
    assert!(
        errors["reshape"]["message"]
            .as_str()
            .unwrap()
            .contains("login")
    );
    let record = rig.store.record("github#d1").unwrap();
    assert_eq!(record.status, RecordStatus::Partial);
    assert_eq!(
        record.progress.done.iter().collect::<Vec<_>>(),
        vec!["audit", "triage"]
    );
    assert_eq!(
        record.progress.dead.iter().collect::<Vec<_>>(),
        vec!["reshape"]
    );

    // A provider redelivery runs nothing: the dead route waits for its redrive.
    let redelivered = Batch::new().push("m2", envelope_json("github", "d1", "{}"));
    let result = rig
        .process
        .handle_batch(&redelivered.records(), CLOCK)
        .await;
    assert_eq!(outcome(&result, "m2"), RecordOutcome::Duplicate);
    assert_eq!(rig.handler.ran().len(), 3);

    // The redrive of the dead letter runs only the failed route; then the event is complete.
    let redriven = Batch::new()
        .push("m3", envelope_json("github", "d1", "{}"))
        .redriven_for("reshape");
    let result = rig.process.handle_batch(&redriven.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m3"), RecordOutcome::Processed);
    assert_eq!(routes_of(&result, 0), vec![delivered("reshape")]);
    let ran = rig.handler.ran();
    assert_eq!(ran.len(), 4);
    assert_eq!(ran.iter().filter(|r| r.ends_with("/reshape")).count(), 2);
    assert_eq!(
        rig.store.record("github#d1").unwrap().status,
        RecordStatus::Completed
    );
}

#[tokio::test]
async fn a_permanent_and_a_transient_failure_dead_letter_one_and_retry_the_other() {
    let handler = Scripted::default();
    handler.route("d1", vec!["triage", "audit"]);
    handler.answer(
        "d1/triage",
        vec![Err(ActionError::Permanent(
            "the target answered 404".into(),
        ))],
    );
    handler.answer(
        "d1/audit",
        vec![Err(ActionError::Transient(
            "the target answered 503".into(),
        ))],
    );
    let rig = pipeline(handler);
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(result.failures(), vec!["m1"]);
    assert_eq!(rig.dead_letters.messages().len(), 1);
    let record = rig.store.record("github#d1").unwrap();
    assert!(record.progress.dead.contains("triage"));
    assert!(record.progress.done.is_empty());

    // The retry runs the transient route only, not the dead-lettered one.
    let again = Batch::new()
        .push("m1", envelope_json("github", "d1", "{}"))
        .received(2);
    let result = rig
        .process
        .handle_batch(&again.records(), later(5_000))
        .await;
    assert_eq!(routes_of(&result, 0), vec![delivered("audit")]);
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
    // Not complete: triage waits for its redrive, and the dead letter is the only copy of it.
    assert_eq!(
        rig.store.record("github#d1").unwrap().status,
        RecordStatus::Partial
    );
    assert_eq!(rig.dead_letters.messages().len(), 1);
}

#[tokio::test]
async fn when_the_dead_letter_queue_fails_a_failed_route_is_retried_not_settled() {
    let handler = Scripted::default();
    handler.route("d1", vec!["triage", "audit"]);
    handler.answer(
        "d1/triage",
        vec![Err(ActionError::Permanent(
            "the target answered 404".into(),
        ))],
    );
    let rig = pipeline(handler);
    rig.dead_letters.set_down(true);
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(result.failures(), vec!["m1"]);
    let record = rig.store.record("github#d1").unwrap();
    assert!(record.progress.dead.is_empty());
    assert_eq!(
        record.progress.done.iter().collect::<Vec<_>>(),
        vec!["audit"]
    );
}

#[tokio::test]
async fn an_event_no_route_takes_is_unrouted_and_completed() {
    let handler = Scripted::default();
    handler.route("d1", Vec::new());
    let rig = pipeline(handler);
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Unrouted);
    assert!(routes_of(&result, 0).is_empty());
    assert!(rig.handler.ran().is_empty());
}

#[tokio::test]
async fn a_record_completed_before_the_upgrade_stays_a_duplicate() {
    // A record written by the single-action pipeline: COMPLETED, no route sets.
    let handler = Scripted::default();
    handler.route("d1", vec!["github"]);
    let rig = pipeline(handler);
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    rig.process.handle_batch(&batch.records(), CLOCK).await;
    let mut record = rig.store.record("github#d1").unwrap();
    record.progress = Default::default();
    rig.store.insert("github#d1", record);
    let again = Batch::new().push("m2", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&again.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m2"), RecordOutcome::Duplicate);
    assert_eq!(rig.handler.ran().len(), 1);
}
