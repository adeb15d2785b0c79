//! The process pipeline over in-memory fakes: every claim branch, failure class and ordering rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_core::actions::{ActionError, Event, Handler};
use inlet_core::archive::{self, Archive};
use inlet_core::config::ProcessSettings;
use inlet_core::envelope::{self, Envelope};
use inlet_core::ports::memory::{
    MemoryObjects, MemoryQueue, MemoryStore, MemoryVisibility, Record, RecordStatus,
};
use inlet_core::process::{Deadline, ORIGIN_MESSAGE_ID, Process, QueuedRecord, RecordOutcome};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const NOW_MS: i64 = 1_795_352_400_000;
pub(crate) const CLOCK: Deadline = Deadline {
    now_ms: NOW_MS,
    deadline_ms: NOW_MS + 30_000,
};

/// The batch clock `ms` after [`CLOCK`]: a retry that comes when its route's step is due.
pub(crate) fn later(ms: i64) -> Deadline {
    Deadline {
        now_ms: CLOCK.now_ms + ms,
        deadline_ms: CLOCK.deadline_ms + ms,
    }
}

/// A handler that records what it ran and answers as scripted per event id.
#[derive(Default)]
pub(crate) struct Scripted {
    ran: Mutex<Vec<String>>,
    /// The queue message each run was for.
    messages: Mutex<Vec<String>>,
    answers: Mutex<HashMap<String, Vec<Result<(), ActionError>>>>,
    /// Per event id, the routes that take it (default: the one `handler` route).
    routes: Mutex<HashMap<String, Vec<&'static str>>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    pause: Option<Duration>,
}

impl Scripted {
    pub(crate) fn answer(&self, event_id: &str, answers: Vec<Result<(), ActionError>>) {
        self.answers
            .lock()
            .unwrap()
            .insert(event_id.to_owned(), answers);
    }

    /// `event_id` is taken by these routes (none: unrouted).
    pub(crate) fn route(&self, event_id: &str, routes: Vec<&'static str>) {
        self.routes
            .lock()
            .unwrap()
            .insert(event_id.to_owned(), routes);
    }

    pub(crate) fn ran(&self) -> Vec<String> {
        self.ran.lock().unwrap().clone()
    }
}

impl Handler for Scripted {
    fn routes<'s>(&'s self, event: &Event<'_>) -> Vec<&'s str> {
        self.routes
            .lock()
            .unwrap()
            .get(&event.envelope.event_id)
            .cloned()
            .unwrap_or_else(|| vec![inlet_core::actions::HANDLER_ROUTE])
    }

    async fn handle(&self, route: &str, event: Event<'_>) -> Result<(), ActionError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        if let Some(pause) = self.pause {
            tokio::time::sleep(pause).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.ran
            .lock()
            .unwrap()
            .push(if route == inlet_core::actions::HANDLER_ROUTE {
                event.envelope.key.clone()
            } else {
                format!("{}/{route}", event.envelope.key)
            });
        self.messages
            .lock()
            .unwrap()
            .push(event.message_id.to_owned());
        let mut answers = self.answers.lock().unwrap();
        let per_route = format!("{}/{route}", event.envelope.event_id);
        let key = if answers.contains_key(&per_route) {
            per_route
        } else {
            event.envelope.event_id.clone()
        };
        match answers.get_mut(&key) {
            Some(list) if !list.is_empty() => list.remove(0),
            _ => Ok(()),
        }
    }
}

/// The pipeline, and the test's own handles to its fakes and its handler.
pub(crate) struct Rig {
    pub(crate) process: Process<MemoryStore, MemoryQueue, MemoryVisibility, Arc<Scripted>>,
    pub(crate) store: MemoryStore,
    pub(crate) dead_letters: MemoryQueue,
    pub(crate) visibility: MemoryVisibility,
    pub(crate) handler: Arc<Scripted>,
}

pub(crate) fn pipeline(handler: Scripted) -> Rig {
    pipeline_with(handler, ProcessSettings::default())
}

fn pipeline_with(handler: Scripted, settings: ProcessSettings) -> Rig {
    let (store, dead_letters, visibility) = (
        MemoryStore::new(),
        MemoryQueue::new(),
        MemoryVisibility::default(),
    );
    let handler = Arc::new(handler);
    Rig {
        process: Process::new(
            store.clone(),
            dead_letters.clone(),
            visibility.clone(),
            Arc::clone(&handler),
            settings,
        ),
        store,
        dead_letters,
        visibility,
        handler,
    }
}

pub(crate) fn envelope_json(source: &str, event_id: &str, body: &str) -> String {
    let mut envelope = Envelope {
        v: envelope::VERSION,
        key: envelope::idempotency_key(source, event_id),
        source: source.into(),
        scheme: "github".into(),
        event_type: Some("push".into()),
        event_id: event_id.into(),
        received_at: "2026-11-22T13:00:00.000Z".into(),
        headers: BTreeMap::new(),
        body: None,
        body_b64: None,
        replay: None,
        body_ref: None,
        schema_errors: None,
        traceparent: None,
        tracestate: None,
    };
    envelope.set_body(body.as_bytes());
    envelope.to_json()
}

/// Owns the strings a batch of `QueuedRecord`s borrows.
pub(crate) struct Batch {
    records: Vec<(String, String, String, u32, Option<String>)>,
    /// Per message id, the `routes` attribute of a redriven dead letter.
    routes: HashMap<String, String>,
}

impl Batch {
    pub(crate) fn new() -> Self {
        Self {
            records: Vec::new(),
            routes: HashMap::new(),
        }
    }

    /// The last record is a redriven dead letter naming `routes`.
    pub(crate) fn redriven_for(mut self, routes: &str) -> Self {
        if let Some(last) = self.records.last() {
            self.routes.insert(last.0.clone(), routes.to_owned());
        }
        self
    }

    pub(crate) fn push(mut self, message_id: &str, body: String) -> Self {
        self.records
            .push((message_id.into(), format!("rh-{message_id}"), body, 1, None));
        self
    }

    fn fifo(mut self, message_id: &str, group: &str, body: String) -> Self {
        self.records.push((
            message_id.into(),
            format!("rh-{message_id}"),
            body,
            1,
            Some(group.into()),
        ));
        self
    }

    pub(crate) fn received(mut self, count: u32) -> Self {
        if let Some(last) = self.records.last_mut() {
            last.3 = count;
        }
        self
    }

    pub(crate) fn records(&self) -> Vec<QueuedRecord<'_>> {
        self.records
            .iter()
            .map(|(id, handle, body, count, group)| QueuedRecord {
                message_id: id,
                receipt_handle: handle,
                body,
                receive_count: *count,
                group_id: group.as_deref(),
                source: None,
                origin_message_id: None,
                routes: self.routes.get(id).map(String::as_str),
            })
            .collect()
    }
}

pub(crate) fn outcome(batch: &inlet_core::process::BatchOutcome, id: &str) -> RecordOutcome {
    batch
        .outcomes
        .iter()
        .find(|(m, _)| m == id)
        .unwrap()
        .1
        .clone()
}

#[tokio::test]
async fn a_new_event_is_claimed_handled_and_completed_in_two_store_calls() {
    let rig = pipeline(Scripted::default());
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(
        result.outcomes,
        vec![("m1".into(), RecordOutcome::Processed)]
    );
    assert!(result.failures().is_empty());
    assert_eq!(rig.handler.ran(), vec!["github#d1"]);
    assert_eq!(rig.store.calls(), 2);
    let record = rig.store.record("github#d1").unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(record.expires_at, NOW_MS / 1000 + 7 * 24 * 3600);
    assert_eq!(
        record.payload_sha256,
        hex::encode(inlet_signature::sha256(b"{}"))
    );
}

/// The batch's clock from the real one, with `left_ms` until the deadline: the pipeline's own
/// retries of a completion watch the real clock against it.
fn live_clock(left_ms: i64) -> Deadline {
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    Deadline {
        now_ms,
        deadline_ms: now_ms + left_ms,
    }
}

/// The action has run when its completion fails: reported for a retry, the record would come
/// back, wait out its own claim's lease and run the action a second time. The write is tried
/// again instead, and whatever its fate the record is acknowledged.
#[tokio::test]
async fn a_failed_completion_is_tried_again_and_never_runs_the_action_twice() {
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));

    let rig = pipeline(Scripted::default());
    rig.store.fail_completes(1);
    let result = rig
        .process
        .handle_batch(&batch.records(), live_clock(30_000))
        .await;
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
    assert_eq!(rig.store.calls(), 3, "claim, failed completion, completion");
    let record = rig.store.record("github#d1").unwrap();
    assert_eq!(record.status, RecordStatus::Completed);

    // Still failing, with no time left before the deadline to try again: acknowledged all the
    // same, the claim left to expire. CLOCK's deadline is long past on the real clock the
    // completion's retries watch, while the action's own time is measured from the batch's start
    // (an action ends at least the margin before the deadline, so only a slow store call can
    // leave no time for a second write).
    let rig = pipeline(Scripted::default());
    rig.store.fail_completes(usize::MAX);
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
    assert!(result.failures().is_empty());
    assert_eq!(rig.handler.ran(), vec!["github#d1"]);
    assert_eq!(rig.store.calls(), 2);
    let record = rig.store.record("github#d1").unwrap();
    assert_eq!(record.status, RecordStatus::InProgress);
    assert!(rig.visibility.changes().is_empty());
}

#[tokio::test]
async fn a_completed_event_is_a_duplicate_in_one_store_call() {
    let rig = pipeline(Scripted::default());
    let first = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    rig.process.handle_batch(&first.records(), CLOCK).await;
    let calls = rig.store.calls();
    let again = Batch::new().push("m2", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&again.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m2"), RecordOutcome::Duplicate);
    assert_eq!(rig.store.calls() - calls, 1);
    assert_eq!(rig.handler.ran().len(), 1);
}

/// The envelope of `envelope_json`, as `inlet replay` sends it back for run `replay`.
fn replayed_json(source: &str, event_id: &str, body: &str, replay: &str) -> String {
    let mut envelope = Envelope::from_json(&envelope_json(source, event_id, body)).unwrap();
    envelope.replay = Some(replay.into());
    envelope.to_json()
}

#[tokio::test]
async fn a_replayed_event_runs_again_once_per_replay_run() {
    let rig = pipeline(Scripted::default());
    let original = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    rig.process.handle_batch(&original.records(), CLOCK).await;

    // Run r-1's copy runs the action again; a redelivery of it, or the restarted run sending
    // it once more, is a duplicate of that run; another run runs it again.
    let sends = [
        ("m2", "r-1", RecordOutcome::Processed),
        ("m3", "r-1", RecordOutcome::Duplicate),
        ("m4", "r-2", RecordOutcome::Processed),
        ("m5", "r-2", RecordOutcome::Duplicate),
    ];
    for (message_id, run, expected) in sends {
        let batch = Batch::new().push(message_id, replayed_json("github", "d1", "{}", run));
        let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
        assert_eq!(outcome(&result, message_id), expected, "{message_id}");
    }
    assert_eq!(rig.handler.ran(), ["github#d1"; 3]);
    // The original's record is untouched by the replays.
    let again = Batch::new().push("m6", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&again.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m6"), RecordOutcome::Duplicate);
}

#[tokio::test]
async fn an_archived_batch_is_one_object_written_before_any_record_runs() {
    let objects = MemoryObjects::new("archive-bucket");
    let archive = Archive::new(objects.clone(), "archive/");
    let mut rig = pipeline(Scripted::default());
    rig.process = rig.process.with_archive(Arc::new(archive));
    let batch = Batch::new()
        .push("m1", envelope_json("github", "d1", "{}"))
        .push("m2", envelope_json("github", "d2", "{}"))
        .push("m3", "not an envelope".into())
        .push("m4", replayed_json("github", "d0", "{}", "r-1"));

    // The archive is down: nothing runs, every record is retried with the backoff.
    objects.set_down(true);
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(result.failures(), ["m1", "m2", "m3", "m4"]);
    assert!(matches!(
        outcome(&result, "m1"),
        RecordOutcome::Retry { reason } if reason.contains("could not be archived")
    ));
    assert!(rig.handler.ran().is_empty());
    assert_eq!(rig.store.calls(), 0);
    assert_eq!(rig.visibility.changes().len(), 4);

    // Back: one object for the batch, then the records run.
    objects.set_down(false);
    let puts = objects.puts();
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert!(result.failures().is_empty(), "{result:?}");
    assert_eq!(objects.puts() - puts, 1);
    let keys = objects.keys();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].starts_with("archive/2026/11/22/13/"), "{keys:?}");
    // Readable envelopes only, and not the replayed one: it came from the archive.
    let stored = archive::decode(&objects.object(&keys[0]).unwrap().body).unwrap();
    let stored: Vec<&str> = stored.envelopes.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(stored, ["github#d1", "github#d2"]);
}

#[tokio::test]
async fn a_live_claim_elsewhere_is_busy_and_retried_later() {
    let rig = pipeline(Scripted::default());
    let payload = hex::encode(inlet_signature::sha256(b"{}"));
    rig.store.insert(
        "github#d1",
        Record {
            status: RecordStatus::InProgress,
            token: "someone-else".into(),
            lease_until: NOW_MS / 1000 + 60,
            payload_sha256: payload,
            attempts: 1,
            completed_at: None,
            expires_at: NOW_MS / 1000 + 3600,
            progress: Default::default(),
        },
    );
    let batch = Batch::new()
        .push("m1", envelope_json("github", "d1", "{}"))
        .received(3);
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert!(matches!(
        outcome(&result, "m1"),
        RecordOutcome::Retry { .. }
    ));
    assert_eq!(result.failures(), vec!["m1"]);
    assert!(rig.handler.ran().is_empty());
    // Third receipt: base 5 s doubled twice.
    assert_eq!(rig.visibility.changes(), vec![("rh-m1".into(), 20)]);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_event_processed_once() {
    let rig = pipeline(Scripted::default());
    rig.store.insert(
        "github#d1",
        Record {
            status: RecordStatus::InProgress,
            token: "crashed-claimer".into(),
            lease_until: NOW_MS / 1000 - 1,
            payload_sha256: hex::encode(inlet_signature::sha256(b"{}")),
            attempts: 1,
            completed_at: None,
            expires_at: NOW_MS / 1000 + 3600,
            progress: Default::default(),
        },
    );
    let batch = Batch::new()
        .push("m1", envelope_json("github", "d1", "{}"))
        .received(2);
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
    let record = rig.store.record("github#d1").unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_ne!(record.token, "crashed-claimer");
    assert_eq!(record.attempts, 2);
}

#[tokio::test]
async fn the_lease_follows_the_functions_deadline() {
    let rig = pipeline(Scripted::default());
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let clock = Deadline {
        now_ms: NOW_MS,
        deadline_ms: NOW_MS + 120_000,
    };
    rig.process.handle_batch(&batch.records(), clock).await;
    let record = rig.store.record("github#d1").unwrap();
    assert_eq!(
        record.lease_until,
        NOW_MS / 1000 + 120 + ProcessSettings::default().lease_margin_secs
    );
}

#[tokio::test]
async fn the_same_key_with_another_payload_is_a_conflict_and_dead_lettered() {
    let rig = pipeline(Scripted::default());
    let first = Batch::new().push("m1", envelope_json("github", "d1", "{\"a\":1}"));
    rig.process.handle_batch(&first.records(), CLOCK).await;
    let forged = Batch::new().push("m2", envelope_json("github", "d1", "{\"a\":2}"));
    let result = rig.process.handle_batch(&forged.records(), CLOCK).await;
    assert_eq!(
        outcome(&result, "m2"),
        RecordOutcome::DeadLettered {
            reason: "payload_conflict"
        }
    );
    assert!(
        result.failures().is_empty(),
        "dead-lettered records are acknowledged"
    );
    let dead = rig.dead_letters.messages();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, forged.records()[0].body);
    let attributes: HashMap<_, _> = dead[0].attributes.iter().cloned().collect();
    assert_eq!(attributes["reason"], "payload_conflict");
    assert_eq!(attributes["source"], "github");
    assert_eq!(attributes["failed_at"], "2026-11-22T13:00:00.000Z");
    assert_eq!(rig.handler.ran().len(), 1);
}

#[tokio::test]
async fn transient_failures_release_the_claim_back_off_and_retry() {
    let handler = Scripted::default();
    handler.answer("d1", vec![Err(ActionError::Transient("503".into()))]);
    let rig = pipeline(handler);
    let batch = Batch::new()
        .push("m1", envelope_json("github", "d1", "{}"))
        .received(1);
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(result.failures(), vec!["m1"]);
    // The schedule's first step.
    assert_eq!(rig.visibility.changes(), vec![("rh-m1".into(), 5)]);
    // Released, unleased, with the route's attempt counted.
    let record = rig.store.record("github#d1").unwrap();
    assert_eq!(record.status, RecordStatus::Partial);
    assert_eq!(record.progress.waiting["handler"].attempts, 1);
    assert_eq!(
        record.progress.waiting["handler"].next_at_ms,
        NOW_MS + 5_000
    );
    // The retry, once the step is due, claims again and succeeds.
    let retry = Batch::new()
        .push("m1", envelope_json("github", "d1", "{}"))
        .received(2);
    let result = rig
        .process
        .handle_batch(&retry.records(), later(5_000))
        .await;
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
    assert_eq!(rig.handler.ran().len(), 2);
}

#[tokio::test]
async fn backoff_doubles_up_to_the_cap() {
    let settings = ProcessSettings {
        retry_base_secs: 5,
        retry_max_secs: 60,
        ..ProcessSettings::default()
    };
    let delays: Vec<u32> = (1..=7).map(|count| settings.backoff_secs(count)).collect();
    assert_eq!(delays, vec![5, 10, 20, 40, 60, 60, 60]);
    assert_eq!(settings.backoff_secs(u32::MAX), 60);
}

#[tokio::test]
async fn permanent_failures_go_to_the_dead_letter_queue_at_once() {
    let handler = Scripted::default();
    handler.answer(
        "d1",
        vec![Err(ActionError::Permanent(
            "the target answered 404".into(),
        ))],
    );
    let rig = pipeline(handler);
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(
        outcome(&result, "m1"),
        RecordOutcome::DeadLettered {
            reason: "action_failed"
        }
    );
    assert!(result.failures().is_empty());
    assert_eq!(rig.dead_letters.len(), 1);
    // Released with its route marked dead-lettered: a redrive of the dead letter (which names
    // the route) runs it; another copy of the event does not.
    let record = rig.store.record("github#d1").unwrap();
    assert_eq!(record.status, RecordStatus::Partial);
    assert_eq!(
        record.progress.dead.iter().collect::<Vec<_>>(),
        vec![inlet_core::actions::HANDLER_ROUTE]
    );
}

#[tokio::test]
async fn a_dead_letter_names_the_message_its_delivery_was_first_queued_as() {
    let handler = Scripted::default();
    let refuse = || Err(ActionError::Permanent("the target answered 404".into()));
    handler.answer("d1", vec![refuse()]);
    handler.answer("d2", vec![refuse()]);
    let rig = pipeline(handler);
    let first = envelope_json("github", "d1", "{}");
    let again = envelope_json("github", "d2", "{}");
    // m1 as ingest queued it; m9 a redrive of a dead letter whose delivery was first m2.
    let records = [
        QueuedRecord {
            message_id: "m1",
            receipt_handle: "rh-1",
            body: &first,
            receive_count: 1,
            group_id: None,
            source: None,
            origin_message_id: None,
            routes: None,
        },
        QueuedRecord {
            message_id: "m9",
            receipt_handle: "rh-9",
            body: &again,
            receive_count: 1,
            group_id: None,
            source: None,
            origin_message_id: Some("m2"),
            routes: None,
        },
    ];
    rig.process.handle_batch(&records, CLOCK).await;
    let origins: Vec<String> = rig
        .dead_letters
        .messages()
        .iter()
        .map(|m| {
            m.attributes
                .iter()
                .find(|(name, _)| *name == ORIGIN_MESSAGE_ID)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(origins, ["m1", "m2"]);
}

#[tokio::test]
async fn unreadable_envelopes_are_dead_lettered_without_a_claim() {
    let rig = pipeline(Scripted::default());
    let batch = Batch::new()
        .push("bad", "not an envelope".into())
        .push("ok", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(
        outcome(&result, "bad"),
        RecordOutcome::DeadLettered {
            reason: "unparseable_envelope"
        }
    );
    assert_eq!(outcome(&result, "ok"), RecordOutcome::Processed);
    let dead = rig.dead_letters.messages();
    assert_eq!(dead[0].body, "not an envelope");
    assert!(!dead[0].attributes.iter().any(|(k, _)| *k == "source"));
    assert_eq!(
        rig.store.calls(),
        2,
        "only the good record touched the store"
    );
}

#[tokio::test]
async fn an_unreadable_envelope_keeps_the_source_ingest_put_on_the_message() {
    let rig = pipeline(Scripted::default());
    let record = QueuedRecord {
        message_id: "bad",
        receipt_handle: "rh",
        body: "{\"v\":9}",
        receive_count: 1,
        group_id: None,
        source: Some("stripe"),
        origin_message_id: None,
        routes: None,
    };
    rig.process.handle_batch(&[record], CLOCK).await;
    let dead = rig.dead_letters.messages();
    assert!(
        dead[0]
            .attributes
            .contains(&("source", "stripe".to_owned()))
    );
}

#[tokio::test]
async fn when_the_dead_letter_queue_is_down_the_record_is_retried_not_dropped() {
    let rig = pipeline(Scripted::default());
    rig.dead_letters.set_down(true);
    let batch = Batch::new().push("bad", "{".into());
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(result.failures(), vec!["bad"]);
}

#[tokio::test]
async fn a_store_outage_is_transient() {
    let rig = pipeline(Scripted::default());
    rig.store.set_down(true);
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(result.failures(), vec!["m1"]);
    assert!(rig.handler.ran().is_empty());
}

#[tokio::test]
async fn unrouted_events_are_completed_not_failed() {
    let handler = Scripted::default();
    handler.route("d1", Vec::new());
    let rig = pipeline(handler);
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Unrouted);
    assert_eq!(
        rig.store.record("github#d1").unwrap().status,
        RecordStatus::Completed
    );
}

#[tokio::test]
async fn one_bad_record_never_fails_the_batch_and_copies_in_a_batch_run_once() {
    let handler = Scripted::default();
    handler.answer("d3", vec![Err(ActionError::Transient("timeout".into()))]);
    let rig = pipeline(handler);
    let batch = Batch::new()
        .push("m1", envelope_json("github", "d1", "{}"))
        .push("m2", envelope_json("github", "d1", "{}"))
        .push("m3", envelope_json("stripe", "d3", "{}"))
        .push("m4", "garbage".into())
        .push("m5", envelope_json("stripe", "d5", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(result.failures(), vec!["m3"]);
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
    assert_eq!(outcome(&result, "m2"), RecordOutcome::Duplicate);
    assert_eq!(outcome(&result, "m5"), RecordOutcome::Processed);
    let mut ran = rig.handler.ran();
    ran.sort();
    assert_eq!(ran, vec!["github#d1", "stripe#d3", "stripe#d5"]);
    // The action is told which copy it runs for: the first of d1's, not its duplicate.
    let mut messages = rig.handler.messages.lock().unwrap().clone();
    messages.sort();
    assert_eq!(messages, ["m1", "m3", "m5"]);
}

#[tokio::test]
async fn after_a_failure_the_copies_of_its_key_wait_instead_of_repeating_it() {
    let handler = Scripted::default();
    handler.answer("d1", vec![Err(ActionError::Transient("503".into()))]);
    let rig = pipeline(handler);
    let batch = Batch::new()
        .push("m1", envelope_json("github", "d1", "{}"))
        .push("m2", envelope_json("github", "d1", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(result.failures(), vec!["m1", "m2"]);
    assert_eq!(outcome(&result, "m2"), RecordOutcome::Skipped);
    assert_eq!(
        rig.handler.ran().len(),
        1,
        "the action ran once in the batch"
    );
    assert_eq!(
        rig.visibility.changes(),
        vec![("rh-m1".into(), 5), ("rh-m2".into(), 5)],
        "the copy backs off with the original"
    );
}

#[tokio::test]
async fn fifo_groups_keep_their_order_and_stop_at_a_failure() {
    let handler = Scripted::default();
    handler.answer("a2", vec![Err(ActionError::Transient("timeout".into()))]);
    let rig = pipeline(handler);
    let batch = Batch::new()
        .fifo("a1", "A", envelope_json("github", "a1", "{}"))
        .fifo("b1", "B", envelope_json("github", "b1", "{}"))
        .fifo("a2", "A", envelope_json("github", "a2", "{}"))
        .fifo("b2", "B", envelope_json("github", "b2", "{}"))
        .fifo("a3", "A", envelope_json("github", "a3", "{}"));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(result.failures(), vec!["a2", "a3"]);
    assert_eq!(outcome(&result, "a3"), RecordOutcome::Skipped);
    let ran = rig.handler.ran();
    let position = |key: &str| ran.iter().position(|k| k == key);
    assert!(position("github#a1") < position("github#a2"));
    assert!(position("github#b1") < position("github#b2"));
    assert_eq!(
        position("github#a3"),
        None,
        "nothing after a failure in its group runs"
    );
}

#[tokio::test]
async fn records_run_concurrently_within_the_bound() {
    let handler = Scripted {
        pause: Some(Duration::from_millis(20)),
        ..Scripted::default()
    };
    let settings = ProcessSettings {
        concurrency: 4,
        ..ProcessSettings::default()
    };
    let rig = pipeline_with(handler, settings);
    let mut batch = Batch::new();
    for i in 0..10 {
        batch = batch.push(
            &format!("m{i}"),
            envelope_json("github", &format!("d{i}"), "{}"),
        );
    }
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert!(result.failures().is_empty());
    let most = rig.handler.most_in_flight.load(Ordering::SeqCst);
    assert!(most > 1, "records ran one at a time");
    assert!(most <= 4, "{most} in flight over a bound of 4");
}

/// A route's timeout may be longer than what is left of the function's run: an action still going
/// at the deadline is cut off before it, its claim released and the record retried, instead of
/// Lambda killing the whole batch and losing every record's answer.
#[tokio::test]
async fn an_action_still_running_at_the_deadline_is_cut_off_and_retried() {
    let batch = Batch::new()
        .push("m1", envelope_json("github", "slow", "{}"))
        .push("m2", envelope_json("github", "slow-too", "{}"));
    let rig = pipeline(Scripted {
        pause: Some(Duration::from_secs(3600)),
        ..Scripted::default()
    });
    let left_ms = inlet_core::process::ACTION_DEADLINE_MARGIN_MS + 300;
    let clock = Deadline {
        now_ms: NOW_MS,
        deadline_ms: NOW_MS + left_ms,
    };
    let started = std::time::Instant::now();
    let result = rig.process.handle_batch(&batch.records(), clock).await;
    assert!(
        started.elapsed() < Duration::from_millis(u64::try_from(left_ms).unwrap()),
        "answered before the deadline, after {:?}",
        started.elapsed()
    );
    for id in ["m1", "m2"] {
        match outcome(&result, id) {
            RecordOutcome::Retry { reason } => assert!(reason.contains("deadline"), "{reason}"),
            other => panic!("{id}: {other:?}"),
        }
    }
    assert!(rig.handler.ran().is_empty(), "neither action finished");
    // Released (the cut-off counted as the route's attempt): the next try claims at once
    // instead of waiting out a lease.
    for key in ["github#slow", "github#slow-too"] {
        let record = rig.store.record(key).unwrap();
        assert_eq!(record.status, RecordStatus::Partial, "{key}");
        assert_eq!(record.progress.waiting["handler"].attempts, 1, "{key}");
    }
    assert_eq!(rig.visibility.changes().len(), 2);
}

/// Too little time left to run an action at all: the record is not claimed, its action not
/// started, and the reason says how much time there was, not that the action was too slow.
#[tokio::test]
async fn an_action_is_not_started_when_the_deadline_leaves_no_time_for_it() {
    let margin = inlet_core::process::ACTION_DEADLINE_MARGIN_MS;
    for left_ms in [margin, 500, 0, -3_000] {
        let rig = pipeline(Scripted::default());
        let batch = Batch::new()
            .push("m1", envelope_json("github", "d1", "{}"))
            .received(2);
        let clock = Deadline {
            now_ms: NOW_MS,
            deadline_ms: NOW_MS + left_ms,
        };
        let result = rig.process.handle_batch(&batch.records(), clock).await;
        let wanted = format!(
            "only {} ms were left before the function's deadline (margin {margin} ms): not started",
            left_ms.max(0)
        );
        assert_eq!(
            outcome(&result, "m1"),
            RecordOutcome::Retry { reason: wanted },
            "{left_ms} ms left"
        );
        assert!(rig.handler.ran().is_empty(), "{left_ms} ms left");
        assert_eq!(
            rig.store.calls(),
            0,
            "{left_ms} ms left: claimed for nothing"
        );
        // Second receive: base 5 s doubled once.
        assert_eq!(rig.visibility.changes(), vec![("rh-m1".into(), 10)]);
    }
}

/// Just enough time: the action starts and finishes; the margin alone is not a reason to refuse.
#[tokio::test]
async fn an_action_runs_with_a_little_time_past_the_margin() {
    let rig = pipeline(Scripted::default());
    let batch = Batch::new().push("m1", envelope_json("github", "d1", "{}"));
    let clock = Deadline {
        now_ms: NOW_MS,
        deadline_ms: NOW_MS + inlet_core::process::ACTION_DEADLINE_MARGIN_MS + 200,
    };
    let result = rig.process.handle_batch(&batch.records(), clock).await;
    assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
    assert_eq!(rig.handler.ran(), vec!["github#d1"]);
}

/// What `cargo lambda watch` hands the function (600000), a missing deadline (0), one the
/// runtime could not represent, one long past and one absurdly far ahead: none is a deadline a
/// Lambda invocation has. Actions run under the default timeout instead of being cut off before
/// they start, and the claim's lease follows that timeout.
#[tokio::test]
async fn a_missing_or_impossible_deadline_runs_actions_under_the_default_timeout() {
    use inlet_core::process::UNKNOWN_DEADLINE_TIMEOUT_MS;
    for deadline_ms in [
        600_000,
        0,
        i64::MAX,
        NOW_MS - 3_600_000,
        NOW_MS + 86_400_000,
    ] {
        let rig = pipeline(Scripted::default());
        let batch = Batch::new()
            .push("m1", envelope_json("github", "d1", "{}"))
            .push("m2", envelope_json("stripe", "s1", "{}"));
        let clock = Deadline {
            now_ms: NOW_MS,
            deadline_ms,
        };
        let result = rig.process.handle_batch(&batch.records(), clock).await;
        assert!(result.failures().is_empty(), "{deadline_ms}: {result:?}");
        assert_eq!(outcome(&result, "m1"), RecordOutcome::Processed);
        assert_eq!(outcome(&result, "m2"), RecordOutcome::Processed);
        let record = rig.store.record("github#d1").unwrap();
        assert_eq!(record.status, RecordStatus::Completed);
        assert_eq!(
            record.lease_until,
            (NOW_MS + UNKNOWN_DEADLINE_TIMEOUT_MS) / 1000
                + ProcessSettings::default().lease_margin_secs,
            "{deadline_ms}"
        );
    }
}
