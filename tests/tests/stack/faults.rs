//! Fault tests: the real pipelines over the real SDK adapters against the emulator, with the
//! emulator killed, the table gone, the process pipeline killed mid-event, the forward target
//! hanging and the store throttling. Each checks where every event ended up — at the forward
//! target (by `webhook-id`), in the queue or dead-letter queue, or in the table — so that none
//! is lost and none runs twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_dynamodb::types::AttributeValue;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use inlet_aws::{DynamoStore, SqsQueue};
use inlet_core::actions::forward::Forwarder;
use inlet_core::actions::router::Router;
use inlet_core::actions::{ActionError, Event, Handler};
use inlet_core::config::Config;
use inlet_core::config::{ProcessSettings, RetrySchedule};
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Ingest, IngestRequest};
use inlet_core::ports::memory::MemorySecrets;
use inlet_core::process::{Process, RecordOutcome, RouteOutcome};
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use inlet_local::{self as local, Poll, StackSettings};
use inlet_signature::Delivery;
use inlet_testkit::providers::named;
use inlet_testkit::target::{Script, Target};
use inlet_testkit::{Emulator, sdk_config_for, unique};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const GITHUB_SECRET: &str = "faults-github-secret";
const AGENT_SECRET: &str = "whsec_ZmF1bHRzLWFnZW50LWZvcndhcmQtc2VjcmV0IQ==";

type Proc<H> = Process<DynamoStore, SqsQueue, SqsQueue, H>;

// ---- the rig: emulator, stack, forward target, pipelines ----

struct Rig {
    emulator: Emulator,
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    settings: StackSettings,
    stack: local::Stack,
    target: Target,
    config: Config,
}

/// The stack's knobs a fault needs; the rest as `template.yaml` has them.
struct Knobs {
    visibility_timeout_secs: u32,
    max_receive_count: u32,
    /// The process function's timeout: the claim's lease follows it.
    process_timeout_secs: u32,
    /// How the target answers at `/hooks`.
    script: Script,
    forward_timeout_ms: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            visibility_timeout_secs: 30,
            max_receive_count: 5,
            process_timeout_secs: 30,
            script: Script::Ok,
            forward_timeout_ms: 5000,
        }
    }
}

impl Rig {
    async fn start(knobs: Knobs) -> Self {
        let emulator = Emulator::start();
        let sdk = emulator.sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let s3 = inlet_aws::s3_client(&sdk);
        let settings = StackSettings {
            queue_name: unique("events"),
            dead_letter_queue_name: unique("dlq"),
            table_name: unique("claims"),
            visibility_timeout_secs: knobs.visibility_timeout_secs,
            max_receive_count: knobs.max_receive_count,
            process_timeout_secs: knobs.process_timeout_secs,
            ..StackSettings::default()
        };
        let stack = local::provision(&sqs, &dynamodb, &s3, &settings)
            .await
            .unwrap();
        let target = Target::start(&[("hooks", knobs.script)]).await;
        let config = Config::parse(&config_text(target.addr, knobs.forward_timeout_ms)).unwrap();
        Self {
            emulator,
            sqs,
            dynamodb,
            s3,
            settings,
            stack,
            target,
            config,
        }
    }

    fn resolver() -> SecretResolver<MemorySecrets> {
        let env = Env::Map(HashMap::from([
            ("GH".to_owned(), GITHUB_SECRET.to_owned()),
            ("AGENT".to_owned(), AGENT_SECRET.to_owned()),
        ]));
        SecretResolver::new(env, MemorySecrets::default())
    }

    async fn ingest(&self) -> Ingest<SqsQueue, MemorySecrets> {
        let keys = KeyRing::load(&self.config, Self::resolver()).await.unwrap();
        Ingest::new(
            self.config.clone(),
            keys,
            SqsQueue::new(self.sqs.clone(), &self.stack.queue_url),
            false,
        )
    }

    /// The config's routes: forward to the target, signed, with the route's timeout.
    async fn router(&self) -> Router {
        Router::load(
            &self.config,
            &Self::resolver(),
            Forwarder::new().unwrap(),
            &inlet_core::actions::destination::NoCloud,
        )
        .await
        .unwrap()
    }

    fn process<H: Handler>(&self, handler: H, settings: ProcessSettings) -> Proc<H> {
        self.process_with_store(
            DynamoStore::new(self.dynamodb.clone(), &self.stack.table_name),
            handler,
            settings,
        )
    }

    fn process_with_store<H: Handler>(
        &self,
        store: DynamoStore,
        handler: H,
        settings: ProcessSettings,
    ) -> Proc<H> {
        Process::new(
            store,
            SqsQueue::new(self.sqs.clone(), &self.stack.dead_letter_queue_url),
            SqsQueue::new(self.sqs.clone(), &self.stack.queue_url),
            handler,
            settings,
        )
    }

    /// One poll of the event source mapping.
    async fn poll<H: Handler>(&self, process: &Proc<H>, wait: Duration) -> Poll {
        local::poll_once(
            &self.sqs,
            &self.stack.queue_url,
            process,
            &self.settings,
            wait,
        )
        .await
        .unwrap()
    }

    /// Polls until `key` comes in, and says how it ended.
    async fn poll_for<H: Handler>(&self, process: &Proc<H>, key: &str) -> (u32, RecordOutcome) {
        let wait = Wait::new(&format!("{key} is delivered again"), 25);
        loop {
            let poll = self.poll(process, Duration::from_secs(1)).await;
            if let Some(found) = outcomes(&poll).into_iter().find(|(k, _, _)| k == key) {
                return (found.1, found.2);
            }
            wait.tick().await;
        }
    }

    async fn depth(&self) -> (u64, u64) {
        local::depth(&self.sqs, &self.stack.queue_url)
            .await
            .unwrap()
    }

    /// The event keys in the dead-letter queue, which stay there.
    async fn dead_letter_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = local::peek(&self.sqs, &self.stack.dead_letter_queue_url, 100)
            .await
            .unwrap()
            .iter()
            .map(|letter| Envelope::from_json(&letter.body).unwrap().key)
            .collect();
        keys.sort();
        keys
    }

    async fn item(&self, key: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(&self.stack.table_name)
            .key("pk", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    async fn status(&self, key: &str) -> Option<String> {
        let item = self.item(key).await?;
        Some(item["status"].as_s().unwrap().clone())
    }

    /// How many requests for `key` reached the target, and how many of them it answered 2xx.
    fn forwards(&self, key: &str) -> (usize, usize) {
        let hits = self.target.hits_for(key);
        let ok = hits
            .iter()
            .filter(|hit| (200..300).contains(&hit.status))
            .count();
        (hits.len(), ok)
    }
}

fn config_text(target: SocketAddr, timeout_ms: u64) -> String {
    format!(
        "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n\n\
         [[routes]]\nsource = \"github\"\naction = {{ type = \"forward\", \
         url = \"http://{target}/hooks\", secret = \"env:AGENT\", timeout_ms = {timeout_ms} }}\n"
    )
}

/// Backoff the tests can wait out: `base` seconds, at most `max`.
fn retry_settings(base: u32, max: u32) -> ProcessSettings {
    ProcessSettings {
        retry_base_secs: base,
        retry_max_secs: max,
        ..ProcessSettings::default()
    }
}

/// A provider's delivery of GitHub event `id` (key `github#{id}`), signed, through ingest: the
/// HTTP status and the JSON answer.
async fn deliver(ingest: &Ingest<SqsQueue, MemorySecrets>, id: &str) -> (u16, serde_json::Value) {
    let body = format!(r#"{{"ref":"refs/heads/main","id":"{id}"}}"#);
    let mut headers = http::HeaderMap::new();
    headers.insert("x-github-event", "push".parse().unwrap());
    headers.insert("x-github-delivery", id.parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let key = named("github").key(GITHUB_SECRET).unwrap();
    let signed = named("github")
        .sign(
            &Delivery {
                headers: &headers,
                body: body.as_bytes(),
                url: None,
                method: "POST",
                query: None,
            },
            &key,
            0,
        )
        .unwrap();
    for (name, value) in signed {
        headers.insert(name, value);
    }
    let request = IngestRequest {
        method: &http::Method::POST,
        source: Some("github"),
        query: None,
        headers: &headers,
        body: body.as_bytes(),
        source_ip: None,
        xray_trace: None,
    };
    let reply = ingest.handle(&request, now_ms()).await;
    (
        reply.status.as_u16(),
        serde_json::from_str(&reply.body).unwrap(),
    )
}

async fn deliver_queued(ingest: &Ingest<SqsQueue, MemorySecrets>, id: &str) {
    let (status, json) = deliver(ingest, id).await;
    assert_eq!(status, 202, "{id}: {json}");
    assert_eq!(json["id"], format!("github#{id}"));
}

fn now_ms() -> i64 {
    inlet_signature::clock::epoch_millis(SystemTime::now())
}

/// (key, receive count, outcome) of every record a poll handled.
fn outcomes(poll: &Poll) -> Vec<(String, u32, RecordOutcome)> {
    let Some(outcome) = &poll.outcome else {
        return Vec::new();
    };
    poll.received
        .iter()
        .zip(&outcome.outcomes)
        .map(|(received, (id, outcome))| {
            assert_eq!(&received.message_id, id);
            (
                received.key.clone().unwrap_or_default(),
                received.receive_count,
                outcome.clone(),
            )
        })
        .collect()
}

/// A deadline for polling loops: no fixed sleeps, and a clear failure when something never
/// happens.
struct Wait {
    what: String,
    deadline: Instant,
}

impl Wait {
    fn new(what: &str, secs: u64) -> Self {
        Self {
            what: what.to_owned(),
            deadline: Instant::now() + Duration::from_secs(secs),
        }
    }

    async fn tick(&self) {
        assert!(
            Instant::now() < self.deadline,
            "timed out waiting until {}",
            self.what
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Aborts its task when dropped, so a failing test leaves nothing running.
struct Task(tokio::task::JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ---- (a) the emulator killed and restarted during a run ----

/// The event source mapping, running on its own until dropped: polls back to back and counts
/// the polls that failed (the queue unreachable) and those that went through after a failure.
struct Poller {
    _task: Task,
    failed: Arc<AtomicUsize>,
    recovered: Arc<AtomicUsize>,
}

fn spawn_poller<H: Handler + 'static>(rig: &Rig, process: Arc<Proc<H>>) -> Poller {
    let failed = Arc::new(AtomicUsize::new(0));
    let recovered = Arc::new(AtomicUsize::new(0));
    let (sqs, url, settings) = (
        rig.sqs.clone(),
        rig.stack.queue_url.clone(),
        rig.settings.clone(),
    );
    let (failed_count, recovered_count) = (Arc::clone(&failed), Arc::clone(&recovered));
    let task = tokio::spawn(async move {
        loop {
            match local::poll_once(&sqs, &url, &*process, &settings, Duration::from_secs(1)).await {
                Ok(_) => {
                    if failed_count.load(Ordering::SeqCst) > 0 {
                        recovered_count.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Err(_) => {
                    failed_count.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Poller {
        _task: Task(task),
        failed,
        recovered,
    }
}

/// Moto keeps everything in memory: whatever it holds when killed is gone, which real SQS and
/// DynamoDB would never do. So the run is shaped to prove what Inlet itself promises, and nothing
/// moto cannot keep:
/// - deliveries answered 202 before the kill are let through to the target first (a 202 means
///   "stored in the queue", and the queue is about to vanish with moto);
/// - while moto is down, ingest must answer 503 `queue_unavailable` (never a 2xx, never a 4xx
///   that would make the provider give up), and the poller must keep going;
/// - once moto is back and the stack re-created (as `inlet dev` does), the providers' retries of
///   those deliveries are accepted by the same ingest and processed by the same process pipeline
///   and SDK clients, whose connections all died with the old server;
/// - across the whole run, every delivery that got a 202 reached the target exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_killed_mid_run_every_accepted_delivery_is_forwarded_exactly_once() {
    let mut rig = Rig::start(Knobs::default()).await;
    let ingest = rig.ingest().await;
    let process = Arc::new(rig.process(rig.router().await, retry_settings(1, 1)));
    let poller = spawn_poller(&rig, Arc::clone(&process));

    let before: Vec<String> = (1..=3).map(|n| format!("before-{n}")).collect();
    for id in &before {
        deliver_queued(&ingest, id).await;
    }
    let wait = Wait::new("the deliveries before the outage reached the target", 30);
    while !before
        .iter()
        .all(|id| rig.target.succeeded(&format!("github#{id}")))
    {
        wait.tick().await;
    }

    rig.emulator.stop();
    let during: Vec<String> = (1..=3).map(|n| format!("during-{n}")).collect();
    for id in &during {
        let (status, json) = deliver(&ingest, id).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (503, Some("queue_unavailable")),
            "{id} while the emulator is down: {json}"
        );
    }
    let wait = Wait::new("the poller saw the outage", 20);
    while poller.failed.load(Ordering::SeqCst) == 0 {
        wait.tick().await;
    }

    rig.emulator.restart();
    // Back but empty: the queue does not exist yet, which must still read as "try again".
    let (status, json) = deliver(&ingest, &during[0]).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (503, Some("queue_unavailable")),
        "before the stack is re-created: {json}"
    );
    let stack = local::provision(&rig.sqs, &rig.dynamodb, &rig.s3, &rig.settings)
        .await
        .unwrap();
    assert_eq!(
        stack, rig.stack,
        "the re-created stack has the same addresses"
    );

    // The providers retry what was refused; each is accepted once (a resend of an accepted
    // delivery would only be a duplicate, acknowledged and not run).
    for id in &during {
        let wait = Wait::new(&format!("{id} is accepted after the restart"), 30);
        loop {
            let (status, json) = deliver(&ingest, id).await;
            if status == 202 {
                assert_eq!(json["id"], format!("github#{id}"));
                break;
            }
            assert_eq!(status, 503, "{id}: {json}");
            wait.tick().await;
        }
    }
    let wait = Wait::new("every accepted delivery reached the target", 30);
    while !during
        .iter()
        .all(|id| rig.target.succeeded(&format!("github#{id}")))
    {
        wait.tick().await;
    }
    let wait = Wait::new("the queue is drained", 30);
    while rig.depth().await != (0, 0) {
        wait.tick().await;
    }
    // The batch that forwarded them returns (deleting its records) after the target answered.
    let wait = Wait::new("the poller's first good poll after the outage returned", 10);
    while poller.recovered.load(Ordering::SeqCst) == 0 {
        wait.tick().await;
    }
    drop(poller);

    for id in before.iter().chain(&during) {
        let key = format!("github#{id}");
        assert_eq!(rig.forwards(&key), (1, 1), "{key} forwarded exactly once");
    }
    for id in &during {
        let key = format!("github#{id}");
        assert_eq!(
            rig.status(&key).await.as_deref(),
            Some("COMPLETED"),
            "{key}"
        );
    }
    assert_eq!(rig.target.all_hits().len(), before.len() + during.len());
    assert!(rig.dead_letter_keys().await.is_empty());
}

// ---- (b) the table unavailable during processing ----

async fn delete_table(rig: &Rig) {
    rig.dynamodb
        .delete_table()
        .table_name(&rig.stack.table_name)
        .send()
        .await
        .unwrap();
}

/// A store that cannot be reached must fail claims as transient: a fault of the pipeline's own,
/// not a route's attempt, so the records stay in the queue (batch item failures, backed off by
/// `retry_base_secs`, not by a route's schedule) until SQS's redrive moves them to the
/// dead-letter queue. Nothing is dropped, dead-lettered by process as if permanent, or run
/// without a claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_keeps_records_retrying_until_redrive_dead_letters_them_all() {
    let rig = Rig::start(Knobs {
        visibility_timeout_secs: 30,
        max_receive_count: 3,
        ..Knobs::default()
    })
    .await;
    let ingest = rig.ingest().await;
    let keys: Vec<String> = (1..=3).map(|n| format!("github#gone-table-{n}")).collect();
    for key in &keys {
        deliver_queued(&ingest, key.trim_start_matches("github#")).await;
    }
    delete_table(&rig).await;

    let process = rig.process(rig.router().await, retry_settings(1, 1));
    let mut tries: HashMap<String, Vec<u32>> = HashMap::new();
    let wait = Wait::new("every record reached the dead-letter queue", 45);
    loop {
        let poll = rig.poll(&process, Duration::from_secs(1)).await;
        for (key, receive_count, outcome) in outcomes(&poll) {
            match &outcome {
                RecordOutcome::Retry { reason } => assert!(
                    reason.contains("idempotency store is unavailable"),
                    "{key}: {reason}"
                ),
                other => panic!("{key} try {receive_count} ended {other:?}, not in a retry"),
            }
            tries.entry(key).or_default().push(receive_count);
        }
        if local::depth(&rig.sqs, &rig.stack.dead_letter_queue_url)
            .await
            .unwrap()
            .0
            == 3
        {
            break;
        }
        wait.tick().await;
    }

    assert_eq!(rig.dead_letter_keys().await, keys);
    assert_eq!(rig.depth().await, (0, 0));
    for key in &keys {
        assert_eq!(
            tries[key],
            vec![1, 2, 3],
            "{key} was tried maxReceiveCount times"
        );
        assert_eq!(rig.forwards(key), (0, 0), "{key} never ran without a claim");
    }
    // SQS moved them: process adds a reason only to what it dead-letters itself.
    let letters = local::peek(&rig.sqs, &rig.stack.dead_letter_queue_url, 10)
        .await
        .unwrap();
    assert!(letters.iter().all(|l| !l.attributes.contains_key("reason")));
}

/// The same outage, but the table comes back before the records run out of tries: each is then
/// processed, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_failed_by_a_missing_table_are_processed_once_when_it_returns() {
    let rig = Rig::start(Knobs {
        max_receive_count: 5,
        ..Knobs::default()
    })
    .await;
    let ingest = rig.ingest().await;
    let keys: Vec<String> = (1..=3).map(|n| format!("github#back-table-{n}")).collect();
    for key in &keys {
        deliver_queued(&ingest, key.trim_start_matches("github#")).await;
    }
    delete_table(&rig).await;
    let process = rig.process(rig.router().await, retry_settings(1, 1));

    let mut failed = Vec::new();
    let wait = Wait::new("every record failed once", 20);
    while failed.len() < keys.len() {
        let poll = rig.poll(&process, Duration::from_secs(1)).await;
        for (key, _, outcome) in outcomes(&poll) {
            assert!(
                matches!(outcome, RecordOutcome::Retry { .. }),
                "{key}: {outcome:?}"
            );
            failed.push(key);
        }
        wait.tick().await;
    }
    // Reported failed, so still in the queue (in flight until their backoff ends).
    assert_eq!(rig.depth().await.0 + rig.depth().await.1, 3);

    local::provision(&rig.sqs, &rig.dynamodb, &rig.s3, &rig.settings)
        .await
        .unwrap();
    let wait = Wait::new("every record was processed", 30);
    while rig.depth().await != (0, 0) {
        for (key, _, outcome) in outcomes(&rig.poll(&process, Duration::from_secs(1)).await) {
            assert_eq!(outcome, RecordOutcome::Processed, "{key}");
        }
        wait.tick().await;
    }
    for key in &keys {
        assert_eq!(rig.forwards(key), (1, 1), "{key}");
        assert_eq!(rig.status(key).await.as_deref(), Some("COMPLETED"), "{key}");
    }
    assert!(rig.dead_letter_keys().await.is_empty());
}

// ---- (c) the process pipeline killed between its claim and completion ----

/// Stops forever in its first event, before the action, as a function killed or frozen there
/// would; every later event goes to the routes.
struct Stall<H> {
    inner: H,
    stalled: AtomicBool,
    entered: tokio::sync::Notify,
}

impl<H: Handler> Handler for Stall<H> {
    fn routes<'s>(&'s self, event: &Event<'_>) -> Vec<&'s str> {
        self.inner.routes(event)
    }

    fn policy<'s>(&'s self, route: &str) -> inlet_core::actions::RoutePolicy<'s> {
        self.inner.policy(route)
    }

    async fn handle(&self, route: &str, event: Event<'_>) -> Result<(), ActionError> {
        if !self.stalled.swap(true, Ordering::SeqCst) {
            self.entered.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.handle(route, event).await
    }
}

/// The batch is aborted while its claim is in the table: the event must be taken over only once
/// the claim's lease (the function's deadline plus the margin) has run out — before that, any
/// copy is "busy" and retried, not run — and then run exactly once, with later copies duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimer_killed_mid_event_is_taken_over_after_its_lease_exactly_once() {
    let rig = Arc::new(
        Rig::start(Knobs {
            visibility_timeout_secs: 1,
            max_receive_count: 20,
            // The lease: the deadline, 4 s after the batch starts, with no margin.
            process_timeout_secs: 4,
            ..Knobs::default()
        })
        .await,
    );
    let ingest = rig.ingest().await;
    let key = "github#killed-1";
    deliver_queued(&ingest, "killed-1").await;
    let settings = ProcessSettings {
        lease_margin_secs: 0,
        ..retry_settings(1, 1)
    };
    let stall = Arc::new(Stall {
        inner: rig.router().await,
        stalled: AtomicBool::new(false),
        entered: tokio::sync::Notify::new(),
    });
    let process = Arc::new(rig.process(Arc::clone(&stall), settings));

    let batch = {
        let (rig, process) = (Arc::clone(&rig), Arc::clone(&process));
        tokio::spawn(async move {
            rig.poll(&process, Duration::from_secs(1)).await;
        })
    };
    tokio::time::timeout(Duration::from_secs(20), stall.entered.notified())
        .await
        .expect("the first batch reached the action");
    let claim = rig.item(key).await.expect("the claim is in the table");
    assert_eq!(claim["status"].as_s().unwrap(), "IN_PROGRESS");
    let lease_until: i64 = claim["lease_until"].as_n().unwrap().parse().unwrap();
    batch.abort();
    assert!(batch.await.unwrap_err().is_cancelled());

    // A provider's copy arriving while the dead claimer's lease is live is busy: retried later.
    deliver_queued(&ingest, "killed-1").await;
    let mut busy = 0;
    // How each message that left the queue ended.
    let mut ended = Vec::new();
    let wait = Wait::new(&format!("{key} reached the target"), 40);
    while !rig.target.succeeded(key) {
        let poll = rig.poll(&process, Duration::from_secs(1)).await;
        let polled_by = now_ms().div_euclid(1000);
        for (k, _, outcome) in outcomes(&poll) {
            assert_eq!(k, key);
            if !outcome.is_failure() {
                ended.push(outcome.clone());
            }
            // A claim is taken over only when `lease_until < now`.
            if polled_by <= lease_until {
                // Both copies in one batch share a lane: the first is busy, the second waits
                // behind it.
                match &outcome {
                    RecordOutcome::Retry { reason } if reason == "in progress elsewhere" => {
                        busy += 1;
                    }
                    RecordOutcome::Skipped => {}
                    other => panic!("{key} ended {other:?} while the first claim's lease is live"),
                }
            }
        }
        wait.tick().await;
    }
    assert!(busy > 0, "a copy was polled while the lease was live");
    assert!(now_ms().div_euclid(1000) > lease_until);

    // The three messages (the original, redelivered; the copy; a further copy) all end: one ran,
    // the others are duplicates.
    deliver_queued(&ingest, "killed-1").await;
    let wait = Wait::new("the queue is drained", 30);
    while rig.depth().await != (0, 0) {
        for (_, _, outcome) in outcomes(&rig.poll(&process, Duration::from_secs(1)).await) {
            if !outcome.is_failure() {
                ended.push(outcome);
            }
        }
        wait.tick().await;
    }
    assert_eq!(
        ended,
        vec![
            RecordOutcome::Processed,
            RecordOutcome::Duplicate,
            RecordOutcome::Duplicate
        ]
    );
    assert_eq!(rig.forwards(key), (1, 1), "{key} ran exactly once");
    assert_eq!(rig.status(key).await.as_deref(), Some("COMPLETED"));
    assert!(rig.dead_letter_keys().await.is_empty());
}

// ---- (d) a forward target that hangs ----

/// A target that never answers is a timeout, which is transient: the claim is released and kept
/// with the route's attempt counted (`route_state`), the record's visibility is set to the
/// route's next step (far shorter than the queue's 30 s here, so its quick return proves the
/// step was applied) and it is reported failed — until the target answers, and the event is
/// processed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_target_times_out_into_scheduled_retries_then_is_processed_once() {
    let rig = Rig::start(Knobs {
        visibility_timeout_secs: 30,
        max_receive_count: 10,
        script: Script::Hang,
        forward_timeout_ms: 300,
        ..Knobs::default()
    })
    .await;
    let ingest = rig.ingest().await;
    let key = "github#hang-1";
    deliver_queued(&ingest, "hang-1").await;
    // Three attempts, two seconds apart.
    let settings = ProcessSettings {
        retry_schedule: RetrySchedule::new(vec![2, 2]).unwrap(),
        ..retry_settings(2, 2)
    };
    let process = rig.process(rig.router().await, settings);

    let first = rig.poll(&process, Duration::from_secs(2)).await;
    let tried = outcomes(&first);
    assert_eq!(tried.len(), 1);
    let (_, receive_count, outcome) = &tried[0];
    assert_eq!(*receive_count, 1);
    match outcome {
        RecordOutcome::Retry { reason } => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_route_attempt(&first, 1);
    assert_eq!(
        rig.forwards(key),
        (1, 0),
        "the target got it and never answered"
    );
    let claim = rig
        .item(key)
        .await
        .expect("the claim is kept for the route");
    assert_eq!(
        claim["status"].as_s().unwrap(),
        "PARTIAL",
        "released: {claim:?}"
    );
    assert!(!claim.contains_key("lease_until"), "{claim:?}");
    assert!(claim.contains_key("route_state"), "{claim:?}");
    assert_eq!(
        rig.depth().await,
        (0, 1),
        "kept in flight for the route's next step, not deleted"
    );

    let (receive_count, outcome) = rig.poll_for(&process, key).await;
    assert_eq!(receive_count, 2);
    assert!(
        matches!(outcome, RecordOutcome::Retry { .. }),
        "{outcome:?}"
    );
    assert_eq!(rig.forwards(key), (2, 0), "the second attempt reached it");

    // The third attempt, the schedule's last: the target answers now.
    rig.target.script("hooks", Script::Ok);
    let (receive_count, outcome) = rig.poll_for(&process, key).await;
    assert_eq!((receive_count, outcome), (3, RecordOutcome::Processed));

    let statuses: Vec<u16> = rig.target.hits_for(key).iter().map(|h| h.status).collect();
    assert_eq!(statuses, vec![0, 0, 200]);
    assert_eq!(rig.status(key).await.as_deref(), Some("COMPLETED"));
    assert_eq!(rig.depth().await, (0, 0));
    assert!(rig.dead_letter_keys().await.is_empty());
}

/// The attempt of its route's schedule that `poll`'s only route run failed on.
fn assert_route_attempt(poll: &Poll, attempt: u32) {
    let runs: Vec<&RouteOutcome> = poll
        .outcome
        .iter()
        .flat_map(|outcome| outcome.routes.iter().flatten())
        .map(|run| &run.outcome)
        .collect();
    assert!(
        matches!(runs[..], [RouteOutcome::Retry { attempts, .. }] if *attempts == attempt),
        "attempt {attempt}: {runs:?}"
    );
}

// ---- (e) a throttled store ----

/// What the proxy refuses: DynamoDB operation (`DeleteItem`, …, and the idempotency store's two
/// `UpdateItem`s told apart as `Claim` and `Complete`) → the error it answers with and how many
/// more times.
#[derive(Debug, Default)]
struct Throttle {
    rules: HashMap<&'static str, (&'static str, usize)>,
    /// Every request: operation and whether it was throttled.
    seen: Vec<(String, bool)>,
}

/// A DynamoDB endpoint in front of the emulator that answers some operations with DynamoDB's
/// own throttling errors (moto cannot throttle) and passes everything else through, so the real
/// SDK client, its retries and error parsing, and the adapter all see a real throttle.
struct ThrottlingProxy {
    addr: SocketAddr,
    state: Arc<Mutex<Throttle>>,
    _task: Task,
}

impl ThrottlingProxy {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(Throttle::default()));
        // reqwest is built without a TLS crypto provider of its own; the forwarder installs the
        // process-wide one the product uses.
        Forwarder::new().unwrap();
        let client = inlet_core::actions::forward::http_client_builder()
            .no_proxy()
            .build()
            .unwrap();
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (state, client, upstream) =
                    (Arc::clone(&shared), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let (state, client, upstream) =
                            (Arc::clone(&state), client.clone(), upstream.clone());
                        async move {
                            Ok::<_, std::convert::Infallible>(
                                relay(&state, &client, &upstream, request).await,
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            state,
            _task: Task(task),
        }
    }

    fn throttle(&self, operation: &'static str, error: &'static str, times: usize) {
        self.state
            .lock()
            .unwrap()
            .rules
            .insert(operation, (error, times));
    }

    fn throttled(&self, operation: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|(op, throttled)| op == operation && *throttled)
            .count()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn relay(
    state: &Mutex<Throttle>,
    client: &reqwest::Client,
    upstream: &str,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit('.').next())
        .unwrap_or("")
        .to_owned();
    // The claim and the completion are both `UpdateItem`: their update expressions tell them
    // apart.
    let operation = match operation.as_str() {
        "UpdateItem" if contains(&body, b"#status = :completed") => "Complete".to_owned(),
        "UpdateItem" if contains(&body, b"#status = :in_progress") => "Claim".to_owned(),
        _ => operation,
    };
    let refusal = {
        let mut state = state.lock().unwrap();
        let refusal = match state.rules.get_mut(operation.as_str()) {
            Some((error, left)) if *left > 0 => {
                *left -= 1;
                Some(*error)
            }
            _ => None,
        };
        state.seen.push((operation, refusal.is_some()));
        refusal
    };
    if let Some(error) = refusal {
        let body = serde_json::json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{error}"),
            "message": "Rate of requests exceeds the allowed throughput.",
        });
        let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = http::StatusCode::BAD_REQUEST;
        response.headers_mut().insert(
            "content-type",
            "application/x-amz-json-1.0".parse().unwrap(),
        );
        return response;
    }
    let mut forward = client.post(format!("{upstream}{}", parts.uri.path()));
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            forward = forward.header(name, value);
        }
    }
    let answer = forward.body(body).send().await.unwrap();
    let mut response = hyper::Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await.unwrap();
    response.body(Full::new(body)).unwrap()
}

/// Throttled claims (`ProvisionedThroughputExceededException`, then `ThrottlingException`) are
/// transient: each try is a batch item failure and the record is tried again, not dead-lettered
/// — here with the redrive limit set so that one more failed try would have moved it — and once
/// the throttling stops it completes, forwarded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_claims_are_retried_not_dead_lettered_and_complete_later() {
    let rig = Rig::start(Knobs {
        max_receive_count: 3,
        ..Knobs::default()
    })
    .await;
    let proxy = ThrottlingProxy::start(rig.emulator.endpoint()).await;
    let throttled_store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config_for(&format!("http://{}", proxy.addr)).await),
        &rig.stack.table_name,
    );
    let process = rig.process_with_store(throttled_store, rig.router().await, retry_settings(1, 1));
    let ingest = rig.ingest().await;
    let key = "github#throttled-1";
    deliver_queued(&ingest, "throttled-1").await;

    for (try_number, error) in [
        (1, "ProvisionedThroughputExceededException"),
        (2, "ThrottlingException"),
    ] {
        proxy.throttle("Claim", error, usize::MAX);
        let (receive_count, outcome) = rig.poll_for(&process, key).await;
        assert_eq!(receive_count, try_number);
        match outcome {
            RecordOutcome::Retry { reason } => assert!(reason.contains(error), "{reason}"),
            other => panic!("try {try_number} under {error}: {other:?}"),
        }
        assert_eq!(rig.forwards(key), (0, 0));
        assert_eq!(rig.item(key).await, None);
        assert!(rig.dead_letter_keys().await.is_empty(), "not dead-lettered");
    }
    assert!(proxy.throttled("Claim") >= 2);

    proxy.throttle("Claim", "ThrottlingException", 0);
    let (receive_count, outcome) = rig.poll_for(&process, key).await;
    assert_eq!((receive_count, outcome), (3, RecordOutcome::Processed));
    assert_eq!(rig.forwards(key), (1, 1));
    assert_eq!(rig.status(key).await.as_deref(), Some("COMPLETED"));
    assert_eq!(rig.depth().await, (0, 0));
    assert!(rig.dead_letter_keys().await.is_empty());
}

/// A store that throttles the completion write after the action has run. Reporting the record
/// failed would bring it back and, once the claim's lease ran out, forward it a second time; the
/// completion is retried instead, and the event is forwarded once and marked completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_completion_does_not_run_the_action_again() {
    let rig = Rig::start(Knobs {
        visibility_timeout_secs: 30,
        max_receive_count: 5,
        // A short lease, so that a second run (the fault) would come quickly, but time enough
        // within the deadline for the pipeline's own retries of the completion.
        process_timeout_secs: 3,
        ..Knobs::default()
    })
    .await;
    let proxy = ThrottlingProxy::start(rig.emulator.endpoint()).await;
    let throttled_store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config_for(&format!("http://{}", proxy.addr)).await),
        &rig.stack.table_name,
    );
    let settings = ProcessSettings {
        lease_margin_secs: 0,
        ..retry_settings(1, 1)
    };
    let process = rig.process_with_store(throttled_store, rig.router().await, settings);
    let ingest = rig.ingest().await;

    // One failed completion (`UpdateItem`): the SDK tries twice (the tests' retry config), both
    // throttled.
    let key = "github#complete-throttled-1";
    proxy.throttle("Complete", "ThrottlingException", 2);
    deliver_queued(&ingest, "complete-throttled-1").await;
    let (receive_count, outcome) = rig.poll_for(&process, key).await;
    assert_eq!((receive_count, outcome), (1, RecordOutcome::Processed));
    assert_eq!(proxy.throttled("Complete"), 2);
    assert_eq!(rig.status(key).await.as_deref(), Some("COMPLETED"));

    // The store stays throttled for longer than the pipeline retries: the action has run, so the
    // record is acknowledged, not sent round to run again.
    let key = "github#complete-throttled-2";
    proxy.throttle("Complete", "ThrottlingException", usize::MAX);
    deliver_queued(&ingest, "complete-throttled-2").await;
    let (receive_count, outcome) = rig.poll_for(&process, key).await;
    assert_eq!((receive_count, outcome), (1, RecordOutcome::Processed));
    proxy.throttle("Complete", "ThrottlingException", 0);
    assert_eq!(rig.depth().await, (0, 0));
    assert_eq!(rig.status(key).await.as_deref(), Some("IN_PROGRESS"));

    // Past both leases, nothing comes back to run again.
    let lease_over = Wait::new("both claims' leases ran out", 10);
    while now_ms() < (lease_until(&rig, key).await + 1) * 1000 {
        lease_over.tick().await;
    }
    let poll = rig.poll(&process, Duration::from_secs(2)).await;
    assert!(outcomes(&poll).is_empty(), "{:?}", outcomes(&poll));
    for key in ["github#complete-throttled-1", "github#complete-throttled-2"] {
        assert_eq!(rig.forwards(key), (1, 1), "{key} forwarded once");
    }
    assert!(rig.dead_letter_keys().await.is_empty());
}

/// When the claim on `key` stops keeping others out (epoch seconds).
async fn lease_until(rig: &Rig, key: &str) -> i64 {
    rig.item(key).await.unwrap()["lease_until"]
        .as_n()
        .unwrap()
        .parse()
        .unwrap()
}
