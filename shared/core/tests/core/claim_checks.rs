//! Claim checks through both pipelines over in-memory fakes: a delivery too large for the queue
//! is stored by ingest, read back by process for the action, and deleted once its event is done;
//! every failure on the way loses nothing, and a hostile reference is never read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, Method, StatusCode};
use inlet_core::actions::{ActionError, Event, Handler};
use inlet_core::archive::{self, Archive};
use inlet_core::claims::{BodyRef, ClaimChecks};
use inlet_core::config::{Config, MAX_BODY_BYTES, ProcessSettings, QUEUE_MESSAGE_LIMIT};
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Ingest, IngestRequest, Reply};
use inlet_core::ports::ObjectStore as _;
use inlet_core::ports::memory::{
    MemoryObjects, MemoryQueue, MemorySecrets, MemoryStore, MemoryVisibility, RecordStatus,
};
use inlet_core::process::{
    BatchOutcome, Deadline, LARGE_BODIES_AT_ONCE, Process, QueuedRecord, RecordOutcome,
};
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use std::sync::{Arc, Mutex};

const NOW_MS: i64 = 1_795_352_400_123;
const CLOCK: Deadline = Deadline {
    now_ms: NOW_MS,
    deadline_ms: NOW_MS + 30_000,
};
const BUCKET: &str = "inlet-payloads";

/// Unsigned, so the tests are about sizes; the default body limit.
const CONFIG: &str = "[sources.open]\nscheme = \"none\"\nallow_unsigned = true\n";

/// What every action was handed, by event key.
#[derive(Default)]
struct Bodies {
    seen: Mutex<Vec<(String, Vec<u8>)>>,
    fail: Mutex<Option<ActionError>>,
}

impl Handler for Bodies {
    async fn handle(&self, _route: &str, event: Event<'_>) -> Result<(), ActionError> {
        self.seen
            .lock()
            .unwrap()
            .push((event.envelope.key.clone(), event.body.to_vec()));
        match self.fail.lock().unwrap().take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

struct Rig {
    ingest: Ingest<MemoryQueue, MemorySecrets>,
    queue: MemoryQueue,
    objects: MemoryObjects,
    process: Process<MemoryStore, MemoryQueue, MemoryVisibility, Arc<Bodies>>,
    store: MemoryStore,
    dead_letters: MemoryQueue,
    handler: Arc<Bodies>,
}

async fn rig() -> Rig {
    let config = Config::parse(CONFIG).unwrap();
    let resolver = SecretResolver::new(Env::Map(Default::default()), MemorySecrets::default());
    let keys = KeyRing::load(&config, resolver).await.unwrap();
    let queue = MemoryQueue::new();
    let objects = MemoryObjects::new(BUCKET);
    let payloads = Arc::new(ClaimChecks(objects.clone()));
    let (store, dead_letters) = (MemoryStore::new(), MemoryQueue::new());
    let handler = Arc::new(Bodies::default());
    Rig {
        ingest: Ingest::new(config, keys, queue.clone(), false).with_payloads(payloads.clone()),
        queue,
        objects,
        process: Process::new(
            store.clone(),
            dead_letters.clone(),
            MemoryVisibility::default(),
            Arc::clone(&handler),
            ProcessSettings::default(),
        )
        .with_payloads(payloads),
        store,
        dead_letters,
        handler,
    }
}

async fn post(ingest: &Ingest<MemoryQueue, MemorySecrets>, body: &[u8]) -> Reply {
    let headers = HeaderMap::new();
    let request = IngestRequest {
        method: &Method::POST,
        source: Some("open"),
        query: None,
        headers: &headers,
        body,
        source_ip: None,
        xray_trace: None,
    };
    ingest.handle(&request, NOW_MS).await
}

/// A body that is not UTF-8 (so it is queued as base64, a third larger) of `len` bytes.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 | 0x80).collect()
}

/// Runs the queued messages through `process` as one batch, each on its first receive.
async fn run_batch<H: Handler>(
    process: &Process<MemoryStore, MemoryQueue, MemoryVisibility, H>,
    bodies: &[String],
    clock: Deadline,
) -> BatchOutcome {
    run_batch_redriven(process, bodies, clock, None).await
}

/// As [`run_batch`], each message a redriven dead letter naming `routes` when given.
async fn run_batch_redriven<H: Handler>(
    process: &Process<MemoryStore, MemoryQueue, MemoryVisibility, H>,
    bodies: &[String],
    clock: Deadline,
    routes: Option<&str>,
) -> BatchOutcome {
    let ids: Vec<String> = (0..bodies.len()).map(|i| format!("m{i}")).collect();
    let records: Vec<QueuedRecord<'_>> = bodies
        .iter()
        .zip(&ids)
        .map(|(body, id)| QueuedRecord {
            message_id: id,
            receipt_handle: id,
            body,
            receive_count: 1,
            group_id: None,
            source: Some("open"),
            origin_message_id: None,
            routes,
        })
        .collect();
    process.handle_batch(&records, clock).await
}

/// Runs the queued messages through the rig's pipeline as one batch.
/// Days added to the clock so far: each `process` runs a day after the one before, so a route
/// that failed is due again (every step of the default schedule is shorter).
static DAYS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

async fn process(rig: &Rig, bodies: &[String]) -> Vec<RecordOutcome> {
    let later = DAYS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) * 86_400_000;
    let clock = Deadline {
        now_ms: CLOCK.now_ms + later,
        deadline_ms: CLOCK.deadline_ms + later,
    };
    let batch = run_batch(&rig.process, bodies, clock).await;
    batch.outcomes.into_iter().map(|(_, o)| o).collect()
}

fn queued(rig: &Rig) -> Vec<String> {
    rig.queue.messages().into_iter().map(|m| m.body).collect()
}

fn reference(message: &str) -> BodyRef {
    Envelope::from_json(message).unwrap().body_ref.unwrap()
}

#[tokio::test]
async fn a_body_too_large_for_the_queue_reaches_the_action_byte_for_byte() {
    let rig = rig().await;
    let body = binary(3_000_000);
    let reply = post(&rig.ingest, &body).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);

    let messages = rig.queue.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].body.len() < 2048, "only a reference is queued");
    assert_eq!(
        messages[0].attributes,
        [("source", "open".to_owned())],
        "attributes as for any delivery"
    );
    let stored = reference(&messages[0].body);
    assert_eq!(stored.bucket, BUCKET);
    assert!(stored.key.starts_with("claims/open/"), "{}", stored.key);
    assert_eq!(stored.size, 3_000_000);
    assert_eq!(rig.objects.object(&stored.key).unwrap().body, body);

    assert_eq!(
        process(&rig, &queued(&rig)).await,
        [RecordOutcome::Processed]
    );
    let seen = rig.handler.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].1 == body, "the action got other bytes");
    // The claim records the body's hash, as for a queued body; the object is gone once done.
    let key = Envelope::from_json(&messages[0].body).unwrap().key;
    let record = rig.store.record(&key).unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(
        record.payload_sha256,
        hex::encode(inlet_signature::sha256(&body))
    );
    assert!(rig.objects.keys().is_empty());

    // SQS delivers the message again: done before, so nothing is read and nothing runs.
    let gets = rig.objects.gets();
    assert_eq!(
        process(&rig, &queued(&rig)).await,
        [RecordOutcome::Duplicate]
    );
    assert_eq!(rig.objects.gets(), gets);
    assert_eq!(rig.handler.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_queue_limit_decides_not_the_body_length() {
    let rig = rig().await;
    // Text that fits stays inline; the same length of quotes doubles when escaped and does not.
    let fits = vec![b'a'; QUEUE_MESSAGE_LIMIT - 4096];
    assert_eq!(post(&rig.ingest, &fits).await.status, StatusCode::ACCEPTED);
    let quotes = vec![b'"'; QUEUE_MESSAGE_LIMIT - 4096];
    assert_eq!(
        post(&rig.ingest, &quotes).await.status,
        StatusCode::ACCEPTED
    );
    let messages = queued(&rig);
    assert!(
        Envelope::from_json(&messages[0])
            .unwrap()
            .body_ref
            .is_none()
    );
    assert!(
        Envelope::from_json(&messages[1])
            .unwrap()
            .body_ref
            .is_some()
    );
    assert_eq!(rig.objects.keys().len(), 1);
    assert!(messages.iter().all(|m| m.len() <= QUEUE_MESSAGE_LIMIT));
}

#[tokio::test]
async fn over_the_body_limit_is_413_with_the_limit_and_nothing_is_stored() {
    let rig = rig().await;
    let reply = post(&rig.ingest, &binary(MAX_BODY_BYTES + 1)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(answer["error"], "payload_too_large");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains(&MAX_BODY_BYTES.to_string()),
        "{answer}"
    );
    assert_eq!(rig.objects.puts(), 0);
    assert!(rig.queue.is_empty());
    assert_eq!(
        post(&rig.ingest, &binary(MAX_BODY_BYTES)).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn no_store_or_no_queue_is_a_5xx_and_leaves_nothing_behind() {
    let rig = rig().await;
    let body = binary(2_000_000);
    rig.objects.set_down(true);
    let reply = post(&rig.ingest, &body).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        reply.body.contains("payload_store_unavailable"),
        "{}",
        reply.body
    );
    assert!(
        rig.queue.is_empty(),
        "no reference to a body that is not stored"
    );
    // Small deliveries do not need the bucket.
    assert_eq!(post(&rig.ingest, b"{}").await.status, StatusCode::ACCEPTED);
    rig.objects.set_down(false);
    rig.queue.clear();

    rig.queue.set_down(true);
    let puts = rig.objects.puts();
    let reply = post(&rig.ingest, &body).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.body.contains("queue_unavailable"), "{}", reply.body);
    assert_eq!(rig.objects.puts() - puts, 1);
    assert!(rig.objects.keys().is_empty(), "the stored body was removed");

    // The provider's retry goes through.
    rig.queue.set_down(false);
    assert_eq!(post(&rig.ingest, &body).await.status, StatusCode::ACCEPTED);
    assert_eq!(rig.objects.keys().len(), 1);
}

#[tokio::test]
async fn without_a_payload_bucket_a_too_large_envelope_is_413() {
    let config = Config::parse(CONFIG).unwrap();
    let resolver = SecretResolver::new(Env::Map(Default::default()), MemorySecrets::default());
    let keys = KeyRing::load(&config, resolver).await.unwrap();
    let queue = MemoryQueue::new();
    let ingest = Ingest::new(config, keys, queue.clone(), false);
    let reply = post(&ingest, &binary(2_000_000)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.body.contains("no payload bucket"), "{}", reply.body);
    assert!(queue.is_empty());
}

#[tokio::test]
async fn the_body_stays_while_its_event_is_not_done() {
    let rig = rig().await;
    let body = binary(1_500_000);
    post(&rig.ingest, &body).await;
    let messages = queued(&rig);
    let stored = reference(&messages[0]);

    // The bucket is down: retried, the claim released for the retry.
    rig.objects.set_down(true);
    let outcomes = process(&rig, &messages).await;
    assert!(
        matches!(&outcomes[0], RecordOutcome::Retry { reason } if reason.contains("unavailable")),
        "{outcomes:?}"
    );
    let key = Envelope::from_json(&messages[0]).unwrap().key;
    assert!(rig.store.record(&key).is_none(), "claim released");
    rig.objects.set_down(false);

    // The action fails: retried, the body kept for the retry.
    *rig.handler.fail.lock().unwrap() = Some(ActionError::Transient("agent down".into()));
    let outcomes = process(&rig, &messages).await;
    assert!(outcomes[0].is_failure(), "{outcomes:?}");
    assert!(rig.objects.object(&stored.key).is_some());

    // Permanently: dead-lettered with its reference, the body kept for a redrive.
    *rig.handler.fail.lock().unwrap() = Some(ActionError::Permanent("bad".into()));
    let outcomes = process(&rig, &messages).await;
    assert_eq!(
        outcomes,
        [RecordOutcome::DeadLettered {
            reason: "action_failed"
        }]
    );
    assert_eq!(rig.dead_letters.messages()[0].body, messages[0]);
    assert!(rig.objects.object(&stored.key).is_some());

    // A provider's redelivery leaves the dead-lettered route to its redrive: nothing runs, and
    // the body stays.
    assert_eq!(process(&rig, &messages).await, [RecordOutcome::Duplicate]);
    assert!(rig.objects.object(&stored.key).is_some());

    // The redrive (the dead letter names its route): the route runs, and then the body goes.
    let redriven = run_batch_redriven(&rig.process, &messages, CLOCK, Some("handler")).await;
    assert_eq!(redriven.outcomes[0].1, RecordOutcome::Processed);
    assert!(rig.objects.keys().is_empty());
    let seen = rig.handler.seen.lock().unwrap();
    assert!(seen.iter().all(|(_, b)| *b == body));
}

#[tokio::test]
async fn a_missing_or_altered_body_is_dead_lettered_and_its_claim_released() {
    let rig = rig().await;
    post(&rig.ingest, &binary(1_500_000)).await;
    post(&rig.ingest, &binary(1_600_000)).await;
    let messages = queued(&rig);
    let (gone, altered) = (reference(&messages[0]), reference(&messages[1]));
    rig.objects.delete(&gone.key).await.unwrap();
    rig.objects.insert(&altered.key, binary(1_600_000 - 1));
    let outcomes = process(&rig, &messages).await;
    assert_eq!(
        outcomes,
        [
            RecordOutcome::DeadLettered {
                reason: "payload_missing"
            },
            RecordOutcome::DeadLettered {
                reason: "payload_mismatch"
            }
        ]
    );
    assert!(rig.handler.seen.lock().unwrap().is_empty());
    for message in &messages {
        let key = Envelope::from_json(message).unwrap().key;
        assert!(rig.store.record(&key).is_none(), "{key}: claim released");
    }
}

#[tokio::test]
async fn a_hostile_reference_is_dead_lettered_unread_and_unclaimed() {
    let rig = rig().await;
    rig.objects
        .insert("archive/2026/11/22/13/batch.jsonl.gz", b"secret".to_vec());
    rig.objects
        .insert("claims/open/genuine", b"someone's body".to_vec());
    let mut hostile = Vec::new();
    for (i, (bucket, key)) in [
        ("another-bucket", "claims/open/genuine"),
        (BUCKET, "archive/2026/11/22/13/batch.jsonl.gz"),
        (BUCKET, "claims/../archive/2026/11/22/13/batch.jsonl.gz"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut envelope: Envelope = Envelope::from_json(&format!(
            r#"{{"v":1,"key":"open#e{i}","source":"open","scheme":"none","event_id":"e{i}","received_at":"2026-11-22T13:00:00.000Z"}}"#
        ))
        .unwrap();
        envelope.body_ref = Some(BodyRef {
            bucket: bucket.into(),
            key: key.into(),
            size: 6,
            sha256: hex::encode(inlet_signature::sha256(b"secret")),
        });
        hostile.push(envelope.to_json());
    }
    let outcomes = process(&rig, &hostile).await;
    assert!(
        outcomes.iter().all(|o| *o
            == RecordOutcome::DeadLettered {
                reason: "payload_ref_refused"
            }),
        "{outcomes:?}"
    );
    assert_eq!(rig.objects.gets(), 0, "nothing was read");
    assert_eq!(rig.objects.deletes(), 0, "nothing was deleted");
    assert_eq!(rig.store.calls(), 0, "nothing was claimed");
    assert!(rig.handler.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_archive_keeps_a_copy_of_a_large_body_without_reading_it() {
    let mut rig = rig().await;
    // The archive in the payload bucket, as by default: the fake copies within one bucket.
    rig.process = rig
        .process
        .with_archive(Arc::new(Archive::new(rig.objects.clone(), "archive/")));
    let body = binary(2_000_000);
    post(&rig.ingest, &body).await;
    post(&rig.ingest, b"{\"small\":true}").await;
    let messages = queued(&rig);
    let claim = reference(&messages[0]);

    // The bucket is down: the whole batch waits, unarchived and unrun.
    rig.objects.set_down(true);
    let outcomes = process(&rig, &messages).await;
    assert!(
        outcomes.iter().all(RecordOutcome::is_failure),
        "{outcomes:?}"
    );
    assert!(rig.handler.seen.lock().unwrap().is_empty());
    rig.objects.set_down(false);
    assert_eq!(rig.objects.keys(), std::slice::from_ref(&claim.key));

    let gets = rig.objects.gets();
    let outcomes = process(&rig, &messages).await;
    assert_eq!(
        outcomes,
        [RecordOutcome::Processed, RecordOutcome::Processed]
    );
    assert_eq!(rig.objects.gets() - gets, 1, "read once, for the action");
    let keys = rig.objects.keys();
    let batches: Vec<&String> = keys.iter().filter(|k| k.ends_with(".jsonl.gz")).collect();
    assert_eq!(batches.len(), 1, "{keys:?}");
    let archived = archive::decode(&rig.objects.object(batches[0]).unwrap().body).unwrap();
    assert_eq!(archived.envelopes.len(), 2);
    let large = archived.envelopes[0].body_ref.clone().unwrap();
    assert_eq!(
        large.key,
        claim.key.replacen("claims/", "archive/bodies/", 1),
        "the copy keeps the claim check's name"
    );
    assert_eq!((large.size, &large.sha256), (claim.size, &claim.sha256));
    assert!(rig.objects.object(&large.key).unwrap().body == body);
    assert!(
        rig.objects.object(&claim.key).is_none(),
        "the claim check went once done"
    );
    assert_eq!(
        archived.envelopes[1].body_bytes().unwrap(),
        b"{\"small\":true}"
    );
}

/// Counts the claim-checked bodies its actions hold at once.
#[derive(Default)]
struct Slow {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl Handler for Slow {
    async fn handle(&self, _route: &str, event: Event<'_>) -> Result<(), ActionError> {
        use std::sync::atomic::Ordering::SeqCst;
        let large = event.envelope.body_ref.is_some();
        if large {
            let now = self.now.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if large {
            self.now.fetch_sub(1, SeqCst);
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_batch_holds_few_large_bodies_at_once() {
    let rig = rig().await;
    for n in 0..6 {
        let mut body = binary(1_200_000);
        body[0] = n;
        post(&rig.ingest, &body).await;
    }
    post(&rig.ingest, b"{}").await;
    let handler = Arc::new(Slow::default());
    let process = Process::new(
        MemoryStore::new(),
        MemoryQueue::new(),
        MemoryVisibility::default(),
        Arc::clone(&handler),
        ProcessSettings::default(),
    )
    .with_payloads(Arc::new(ClaimChecks(rig.objects.clone())));
    let bodies = queued(&rig);
    let batch = run_batch(&process, &bodies, CLOCK).await;
    assert!(batch.failures().is_empty(), "{batch:?}");
    let most = handler.most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=LARGE_BODIES_AT_ONCE).contains(&most),
        "{most} large bodies at once"
    );
    assert!(rig.objects.keys().is_empty());
}

/// Holds every large body it is given far longer than the batch has.
struct Stuck;

impl Handler for Stuck {
    async fn handle(&self, _: &str, _: Event<'_>) -> Result<(), ActionError> {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        Ok(())
    }
}

#[tokio::test]
async fn waiting_for_a_turn_to_read_a_body_ends_with_the_actions_time() {
    let rig = rig().await;
    for n in 0..3 {
        let mut body = binary(1_200_000);
        body[0] = n;
        post(&rig.ingest, &body).await;
    }
    let store = MemoryStore::new();
    let process = Process::new(
        store.clone(),
        MemoryQueue::new(),
        MemoryVisibility::default(),
        Stuck,
        ProcessSettings::default(),
    )
    .with_payloads(Arc::new(ClaimChecks(rig.objects.clone())));
    let bodies = queued(&rig);
    // 300 ms for the actions, past the 2 s margin.
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    let clock = Deadline {
        now_ms,
        deadline_ms: now_ms + 2_300,
    };
    let batch = run_batch(&process, &bodies, clock).await;
    let reasons: Vec<String> = batch
        .outcomes
        .iter()
        .map(|(_, outcome)| match outcome {
            RecordOutcome::Retry { reason } => reason.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    // Two hold a turn and are cut off in their action; the third waits for one, and is cut off
    // waiting, or gets it as they are cut off and is cut off at once. None runs to the end.
    assert!(
        reasons.iter().all(|r| r.contains("did not finish")
            || (r.contains("no time was left") && r.contains("read the body"))),
        "{reasons:?}"
    );
    // Every claim released for the retry (kept, unleased, by a route that waits for its next
    // step), every body kept for it.
    for body in &bodies {
        let key = Envelope::from_json(body).unwrap().key;
        assert!(
            store
                .record(&key)
                .is_none_or(|record| record.status != RecordStatus::InProgress),
            "{key}"
        );
    }
    assert_eq!(rig.objects.keys().len(), 3);
}
