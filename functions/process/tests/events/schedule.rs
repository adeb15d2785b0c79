//! A failing route followed through its retry schedule over one of the files, the batch's clock
//! moved from step to step (events.rs runs every file once, at its own clock).

use super::{Fakes, File, Script, ScriptedHandler, TestProcess};
use aws_lambda_events::event::sqs::SqsEvent;
use inlet_aws::lambda::handle_sqs;
use inlet_core::actions::HANDLER_ROUTE;
use inlet_core::config::ProcessSettings;
use inlet_core::ports::memory::RecordStatus;
use inlet_core::process::Deadline;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// `event`'s one record delivered again at `now_ms` (the batch's clock), its receive count one
/// more, as SQS hands a record back.
async fn redeliver(process: &TestProcess, event: &mut SqsEvent, now_ms: i64) -> Vec<String> {
    let record = &mut event.records[0];
    let receives: u32 = record.attributes["ApproximateReceiveCount"]
        .parse()
        .unwrap();
    record
        .attributes
        .insert("ApproximateReceiveCount".into(), (receives + 1).to_string());
    let clock = Deadline {
        now_ms,
        deadline_ms: now_ms + 30_000,
    };
    handle_sqs(process, event, clock)
        .await
        .batch_item_failures
        .into_iter()
        .map(|failure| failure.item_identifier)
        .collect()
}

/// Stripe's record of standard-mixed-sources.json with its route failing transiently, followed
/// through the default retry schedule with the batch's clock moved from step to step: each
/// attempt runs the route once and delays the record by the next step, a delivery a second
/// before a step is held back (not run, not counted), and the failure after the last step
/// dead-letters the route as `retries_exhausted` with its attempts. A copy after that runs
/// nothing: the route waits for its dead letter's redrive.
#[tokio::test]
async fn a_failing_route_follows_its_schedule_to_retries_exhausted() {
    let file = File::read("standard-mixed-sources.json");
    let index = (0..file.records().len())
        .find(|&i| file.envelope(i).is_some_and(|e| e.source == "stripe"))
        .unwrap();
    let key = file.envelope(index).unwrap().key;
    let fakes = Fakes::new(ScriptedHandler {
        script: HashMap::from([(key.clone(), Script::Transient)]),
        ..ScriptedHandler::default()
    });
    let process = fakes.process();
    let mut event = file.event.clone();
    event.records = vec![file.records()[index].clone()];
    let message_id = file.message_id(index).to_owned();
    let handle = event.records[0].receipt_handle.clone().unwrap();
    let schedule = ProcessSettings::default().retry_schedule;
    let calls = || fakes.handler.calls.lock().unwrap().len();
    let waiting = || {
        fakes
            .store
            .record(&key)
            .and_then(|record| record.progress.waiting.get(HANDLER_ROUTE).cloned())
            .unwrap_or_else(|| panic!("{key}: no waiting route in {:?}", fakes.store.record(&key)))
    };
    let last_delay = || fakes.visibility.changes().last().cloned();

    let mut now_ms = file.clock().now_ms;
    for attempt in 1..=schedule.attempts() {
        if attempt > 1 {
            let due = waiting().next_at_ms;
            let early = redeliver(&process, &mut event, due - 1000).await;
            assert_eq!(
                early,
                std::slice::from_ref(&message_id),
                "attempt {attempt}: held back"
            );
            assert_eq!(
                calls(),
                attempt as usize - 1,
                "attempt {attempt}: not run early"
            );
            assert_eq!(waiting().attempts, attempt - 1, "a hold is not an attempt");
            assert_eq!(last_delay(), Some((handle.clone(), 1)), "back when due");
            now_ms = due;
        }
        let failures = redeliver(&process, &mut event, now_ms).await;
        assert_eq!(calls(), attempt as usize, "attempt {attempt} ran once");
        match schedule.delay_after(attempt) {
            Some(step) => {
                assert_eq!(
                    failures,
                    std::slice::from_ref(&message_id),
                    "attempt {attempt}"
                );
                assert_eq!(
                    last_delay(),
                    Some((handle.clone(), step)),
                    "attempt {attempt}"
                );
                let route = waiting();
                assert_eq!(route.attempts, attempt);
                assert_eq!(route.last_error, "the target answered 503");
                assert!(
                    route.next_at_ms >= now_ms + i64::from(step) * 1000,
                    "{route:?}"
                );
                assert!(
                    fakes.dead_letters.messages().is_empty(),
                    "attempt {attempt}"
                );
            }
            None => {
                assert!(
                    failures.is_empty(),
                    "dead-lettered and acknowledged: {failures:?}"
                );
                let letters = fakes.dead_letters.messages();
                assert_eq!(letters.len(), 1, "{letters:#?}");
                let attributes: BTreeMap<&str, &str> = letters[0]
                    .attributes
                    .iter()
                    .map(|(name, value)| (*name, value.as_str()))
                    .collect();
                assert_eq!(attributes["reason"], "retries_exhausted", "{attributes:?}");
                let attempts = schedule.attempts().to_string();
                assert_eq!(attributes["attempts"], attempts, "{attributes:?}");
                assert_eq!(attributes["routes"], HANDLER_ROUTE, "{attributes:?}");
                let errors: Value = serde_json::from_str(attributes["route_errors"]).unwrap();
                assert_eq!(errors[HANDLER_ROUTE]["reason"], "retries_exhausted");
                assert_eq!(errors[HANDLER_ROUTE]["attempts"], schedule.attempts());
                assert!(
                    errors[HANDLER_ROUTE]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("the target answered 503")),
                    "the last error: {errors}"
                );
                let record = fakes.store.record(&key).unwrap();
                assert_eq!(record.status, RecordStatus::Partial, "{record:?}");
                assert!(record.progress.dead.contains(HANDLER_ROUTE), "{record:?}");
                assert!(record.progress.waiting.is_empty(), "{record:?}");
            }
        }
    }
    let later = redeliver(&process, &mut event, now_ms + 60_000).await;
    assert!(later.is_empty(), "acknowledged: {later:?}");
    assert_eq!(calls(), schedule.attempts() as usize, "nothing ran again");
    assert_eq!(fakes.dead_letters.len(), 1, "not dead-lettered again");
}
