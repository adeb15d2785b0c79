//! What the pipelines log, captured through the subscriber the functions install: JSON lines
//! that carry the event key, and never a body, a signature or a secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use inlet_core::actions::forward::Forwarder;
use inlet_core::actions::router::Router;
use inlet_core::config::Config;
use inlet_core::config::ProcessSettings;
use inlet_core::envelope::{self, Envelope};
use inlet_core::ingest::{Ingest, IngestRequest, Outcome};
use inlet_core::metrics::Metrics;
use inlet_core::ports::memory::{MemoryQueue, MemorySecrets, MemoryStore, MemoryVisibility};
use inlet_core::process::{Deadline, Process, QueuedRecord, RecordOutcome};
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use inlet_signature::Delivery;
use inlet_testkit::providers::named;
use inlet_testkit::target::Target;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;

const NOW: i64 = 1_795_352_400;
const NOW_MS: i64 = NOW * 1000;
const GITHUB_SECRET: &str = "gh-secret-5c1f0e9a";
const AGENT_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Appears in every body, and so must appear in no log line.
const BODY_MARKER: &str = "card-4242-body-marker";

/// Records nothing, but never lets a callsite be cached as uninteresting (see `install`).
struct AskEveryTime;

impl tracing::Subscriber for AskEveryTime {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Log output, kept in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

impl Capture {
    /// Routes this thread's logs here, at DEBUG, in the shipped format, until the guard drops.
    /// The tests run on a current-thread runtime, so every pipeline log line lands here.
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        // Callsites cache interest across every dispatcher alive: with only the global no-op one
        // besides, another test's thread can cache "never" between the rebuild below and the
        // first event here. A global subscriber that answers "sometimes" (and records nothing)
        // keeps every callsite asking the thread's own subscriber.
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let _ = tracing::subscriber::set_global_default(AskEveryTime);
        });
        let subscriber =
            inlet_core::telemetry::subscriber("debug".parse::<Targets>().unwrap(), self.clone());
        let guard = tracing::subscriber::set_default(subscriber);
        // Callsites cache whether anyone is interested in them, across threads: one first hit
        // on another test's thread, under a subscriber that wanted less, can stay cached as
        // "never" and drop this thread's lines. Ask every callsite again now.
        tracing::callsite::rebuild_interest_cache();
        guard
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            })
            .collect()
    }

    fn assert_secret_free(&self, secrets: &[&str]) {
        let text = self.text();
        for secret in secrets {
            assert!(!secret.is_empty());
            assert!(!text.contains(secret), "`{secret}` was logged:\n{text}");
        }
    }
}

// ---- ingest ----

/// The pipeline, and a handle to its queue.
async fn ingest() -> (Ingest<MemoryQueue, MemorySecrets>, MemoryQueue) {
    let config = Config::parse(
        "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\nevents = [\"push\"]\n",
    )
    .unwrap();
    let env = Env::Map(HashMap::from([("GH".to_owned(), GITHUB_SECRET.to_owned())]));
    let keys = KeyRing::load(&config, SecretResolver::new(env, MemorySecrets::default()))
        .await
        .unwrap();
    let queue = MemoryQueue::new();
    (Ingest::new(config, keys, queue.clone(), false), queue)
}

/// A GitHub delivery signed with `secret`; returns the headers and the signature header value.
fn github(delivery: &str, body: &[u8], secret: &str) -> (HeaderMap, String) {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-github-event"),
        HeaderValue::from_static("push"),
    );
    headers.insert(
        HeaderName::from_static("x-github-delivery"),
        HeaderValue::from_str(delivery).unwrap(),
    );
    let key = named("github").key(secret).unwrap();
    let delivery = Delivery {
        headers: &headers,
        body,
        url: None,
        method: "POST",
        query: None,
    };
    for (name, value) in named("github").sign(&delivery, &key, NOW).unwrap() {
        headers.insert(name, value);
    }
    let signature = headers["x-hub-signature-256"].to_str().unwrap().to_owned();
    (headers, signature)
}

async fn post(ingest: &Ingest<MemoryQueue, MemorySecrets>, headers: &HeaderMap, body: &[u8]) {
    let request = IngestRequest {
        method: &Method::POST,
        source: Some("github"),
        query: None,
        headers,
        body,
        source_ip: None,
        xray_trace: None,
    };
    ingest.handle(&request, NOW_MS).await;
}

#[tokio::test]
async fn ingest_logs_the_key_and_never_the_body_signature_or_secret() {
    let capture = Capture::default();
    let _guard = capture.install();
    let (sink, metric_lines) = Metrics::memory();
    let (ingest, queue) = ingest().await;
    let ingest = ingest.with_metrics(sink);
    let body = format!(r#"{{"ref":"refs/heads/main","note":"{BODY_MARKER}"}}"#);

    let (queued, good_signature) = github("d-queued", body.as_bytes(), GITHUB_SECRET);
    post(&ingest, &queued, body.as_bytes()).await;
    let (forged, bad_signature) = github("d-forged", body.as_bytes(), "not-the-secret");
    post(&ingest, &forged, body.as_bytes()).await;
    queue.set_down(true);
    let (unqueued, retry_signature) = github("d-down", body.as_bytes(), GITHUB_SECRET);
    post(&ingest, &unqueued, body.as_bytes()).await;

    let lines = capture.lines();
    let queued_line = lines
        .iter()
        .find(|l| l["fields"]["message"] == "queued")
        .unwrap_or_else(|| panic!("no queued line: {lines:#?}"));
    assert_eq!(queued_line["fields"]["key"], "github#d-queued");
    assert_eq!(queued_line["level"], "INFO");
    let rejected = lines
        .iter()
        .find(|l| l["fields"]["message"] == "rejected")
        .unwrap();
    assert_eq!(rejected["fields"]["code"], "signature_mismatch");
    // Once the event has a key, every line about it carries the key.
    for message in ["send to the queue failed", "not queued"] {
        let line = lines
            .iter()
            .find(|l| l["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("no `{message}` line: {lines:#?}"));
        if message == "send to the queue failed" {
            assert_eq!(line["fields"]["key"], "github#d-down");
        }
    }

    let secrets = [
        BODY_MARKER,
        GITHUB_SECRET,
        good_signature.as_str(),
        bad_signature.as_str(),
        retry_signature.as_str(),
    ];
    capture.assert_secret_free(&secrets);

    // The metric lines are log lines too.
    let metric_text = metric_lines.lines().join("\n");
    assert!(metric_text.contains("github#d-queued"));
    for secret in secrets {
        assert!(!metric_text.contains(secret), "`{secret}` in {metric_text}");
    }
}

// ---- process ----

fn envelope_json(source: &str, event_id: &str) -> String {
    let mut envelope = Envelope {
        v: envelope::VERSION,
        key: envelope::idempotency_key(source, event_id),
        source: source.into(),
        scheme: "github".into(),
        event_type: Some("push".into()),
        event_id: event_id.into(),
        received_at: "2026-11-22T13:00:00.000Z".into(),
        headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
        body: None,
        body_b64: None,
        replay: None,
        body_ref: None,
        schema_errors: None,
        traceparent: None,
        tracestate: None,
    };
    envelope.set_body(format!(r#"{{"note":"{BODY_MARKER}"}}"#).as_bytes());
    envelope.to_json()
}

/// The process pipeline over in-memory ports, its routes from `config` with secrets from `env`.
async fn process(
    config: &Config,
    env: Env,
) -> Process<MemoryStore, MemoryQueue, MemoryVisibility, Router> {
    let resolver = SecretResolver::new(env, MemorySecrets::default());
    let router = Router::load(
        config,
        &resolver,
        Forwarder::new().unwrap(),
        &inlet_core::actions::destination::NoCloud,
    )
    .await
    .unwrap();
    Process::new(
        MemoryStore::new(),
        MemoryQueue::new(),
        MemoryVisibility::default(),
        router,
        ProcessSettings::default(),
    )
}

#[tokio::test]
async fn process_logs_the_key_on_every_event_line_and_never_the_body_or_secrets() {
    let target = Target::answering(200).await;
    // A port with no listener, and a credential in the URL's query that must not reach a log.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url_token = "url-token-77ab01";
    let config = Config::parse(&format!(
        r#"
[sources.github]
scheme = "github"
secrets = ["env:GH"]

[sources.crm]
scheme = "hmac"
header = "X-Signature"
secrets = ["env:CRM"]

[sources.billing]
scheme = "stripe"
secrets = ["env:STRIPE"]

[[routes]]
source = "github"
action = {{ type = "forward", url = "{}", secret = "env:AGENT" }}

[[routes]]
source = "crm"
action = {{ type = "forward", url = "http://{closed}/hook?token={url_token}", secret = "env:AGENT" }}

[[routes]]
source = "billing"
action = {{ type = "log" }}
"#,
        target.url("/hook")
    ))
    .unwrap();
    let env = Env::Map(HashMap::from([(
        "AGENT".to_owned(),
        AGENT_SECRET.to_owned(),
    )]));
    let process = process(&config, env).await;

    let capture = Capture::default();
    let _guard = capture.install();
    let bodies = [
        envelope_json("github", "g1"),
        envelope_json("crm", "c1"),
        envelope_json("billing", "b1"),
        envelope_json("unrouted", "u1"),
    ];
    let records: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| QueuedRecord {
            message_id: ["m1", "m2", "m3", "m4"][i],
            receipt_handle: "rh",
            body,
            receive_count: 1,
            group_id: None,
            source: None,
            origin_message_id: None,
            routes: None,
        })
        .collect();
    let clock = Deadline {
        now_ms: NOW_MS,
        deadline_ms: NOW_MS + 30_000,
    };
    let result = process.handle_batch(&records, clock).await;
    assert_eq!(result.outcomes[0].1, RecordOutcome::Processed);
    assert!(matches!(result.outcomes[1].1, RecordOutcome::Retry { .. }));

    let lines = capture.lines();
    for (key, message) in [
        ("github#g1", "record done"),
        ("crm#c1", "will retry"),
        ("billing#b1", "event"),
        ("billing#b1", "record done"),
        ("unrouted#u1", "no route: completed"),
        ("unrouted#u1", "record done"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l["fields"]["message"] == message && l["fields"]["key"] == key),
            "no `{message}` line for {key}: {lines:#?}"
        );
    }
    let forwarded = lines
        .iter()
        .find(|l| l["fields"]["key"] == "github#g1" && l["fields"]["message"] == "record done")
        .unwrap();
    assert!(forwarded["fields"]["forward_ms"].is_number());

    let sent = target.received();
    assert_eq!(sent.len(), 1);
    let outbound_signature = sent[0]["webhook-signature"].to_str().unwrap().to_owned();
    capture.assert_secret_free(&[
        BODY_MARKER,
        AGENT_SECRET,
        // The key's base64 without the prefix, as a Debug of the key might print it.
        AGENT_SECRET.trim_start_matches("whsec_"),
        url_token,
        outbound_signature.as_str(),
    ]);
}

/// The provider's trace (W3C Trace Context's own example) through ingest, the queue and process
/// to the target: the same trace id on every log line of the event and in the target's
/// `traceparent`, with spans of Inlet's own.
#[tokio::test]
async fn one_trace_runs_from_the_provider_to_the_target_and_every_line_between() {
    const PROVIDER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let target = Target::answering(400).await;
    let config = Config::parse(&format!(
        "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n\n[[routes]]\nsource = \"github\"\n\
         action = {{ type = \"forward\", url = \"{}\", secret = \"env:AGENT\" }}\n",
        target.url("/hook")
    ))
    .unwrap();
    let env = Env::Map(HashMap::from([
        ("GH".to_owned(), GITHUB_SECRET.to_owned()),
        ("AGENT".to_owned(), AGENT_SECRET.to_owned()),
    ]));
    let keys = KeyRing::load(
        &config,
        SecretResolver::new(env.clone(), MemorySecrets::default()),
    )
    .await
    .unwrap();
    let queue = MemoryQueue::new();
    let ingest = Ingest::new(config.clone(), keys, queue.clone(), false);
    let process = process(&config, env).await;

    let capture = Capture::default();
    let _guard = capture.install();
    let body = br#"{"ref":"refs/heads/main"}"#;
    let (mut headers, _) = github("d-traced", body, GITHUB_SECRET);
    let provider_parent = format!("00-{PROVIDER_TRACE}-00f067aa0ba902b7-01");
    headers.insert(
        "traceparent",
        HeaderValue::from_str(&provider_parent).unwrap(),
    );
    headers.insert("tracestate", HeaderValue::from_static("vendor=abc"));
    post(&ingest, &headers, body).await;

    let queued = queue.messages();
    assert_eq!(queued.len(), 1);
    let envelope = Envelope::from_json(&queued[0].body).unwrap();
    let ingest_parent = envelope.traceparent.clone().unwrap();
    assert!(ingest_parent.starts_with(&format!("00-{PROVIDER_TRACE}-")));
    assert_ne!(ingest_parent, provider_parent, "ingest's span is its own");
    assert_eq!(envelope.tracestate.as_deref(), Some("vendor=abc"));

    let record = QueuedRecord {
        message_id: "m-traced",
        receipt_handle: "rh",
        body: &queued[0].body,
        receive_count: 1,
        group_id: None,
        source: None,
        origin_message_id: None,
        routes: None,
    };
    let clock = Deadline {
        now_ms: NOW_MS,
        deadline_ms: NOW_MS + 30_000,
    };
    process.handle_batch(&[record], clock).await;

    let hit = target.only_hit();
    let sent = hit.header("traceparent").unwrap();
    assert!(sent.starts_with(&format!("00-{PROVIDER_TRACE}-")), "{sent}");
    assert_ne!(sent, ingest_parent, "process's span is its own");
    assert_eq!(hit.header("tracestate"), Some("vendor=abc"));

    let lines = capture.lines();
    // Ingest's line, process's line about the refused route (which names no key itself) and
    // the record's own: each with the key, and the provider's trace id beside it.
    for message in ["queued", "route failed for good", "record done"] {
        let line = lines
            .iter()
            .find(|l| l["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("no `{message}` line: {lines:#?}"));
        assert_eq!(line["fields"]["key"], "github#d-traced", "{line}");
        assert_eq!(line["fields"]["trace_id"], PROVIDER_TRACE, "{line}");
    }
    for line in lines.iter().filter(|l| !l["fields"]["key"].is_null()) {
        assert_eq!(line["fields"]["trace_id"], PROVIDER_TRACE, "{line}");
    }
}

#[tokio::test]
async fn a_rejection_is_logged_without_what_the_sender_sent() {
    let capture = Capture::default();
    let _guard = capture.install();
    let (ingest, _) = ingest().await;
    let body = format!(r#"{{"secret_thing":"{BODY_MARKER}"}}"#);
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-hub-signature-256"),
        HeaderValue::from_static("sha256=deadbeefdeadbeefdeadbeefdeadbeef"),
    );
    let request = IngestRequest {
        method: &Method::POST,
        source: Some("github"),
        query: None,
        headers: &headers,
        body: body.as_bytes(),
        source_ip: None,
        xray_trace: None,
    };
    let reply = ingest.handle(&request, NOW_MS).await;
    assert!(matches!(reply.outcome, Outcome::Rejected { .. }));
    assert!(!capture.lines().is_empty());
    capture.assert_secret_free(&[BODY_MARKER, "deadbeefdeadbeef", GITHUB_SECRET]);
}

#[tokio::test]
async fn an_unknown_source_is_logged_no_longer_than_a_source_name_can_be() {
    let capture = Capture::default();
    let _guard = capture.install();
    let (ingest, _) = ingest().await;
    let name = "\u{e9}".repeat(8192);
    let request = IngestRequest {
        method: &Method::POST,
        source: Some(&name),
        query: None,
        headers: &HeaderMap::new(),
        body: b"",
        source_ip: None,
        xray_trace: None,
    };
    let reply = ingest.handle(&request, NOW_MS).await;
    assert_eq!(
        reply.outcome,
        Outcome::Rejected {
            code: "unknown_source"
        }
    );
    let text = capture.text();
    assert!(text.contains(&"\u{e9}".repeat(64)), "{text}");
    assert!(!text.contains(&"\u{e9}".repeat(65)), "{text}");
}

#[test]
fn trace_stays_shut_whatever_the_filter_asks_for() {
    // lambda_runtime logs each raw invocation event at TRACE: bodies and signature headers.
    let capture = Capture::default();
    let subscriber =
        inlet_core::telemetry::subscriber("trace".parse::<Targets>().unwrap(), capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        tracing::trace!(body = BODY_MARKER, "raw JSON event received from Lambda");
        tracing::debug!(key = "github#d-1", "debug still shows");
    });
    let lines = capture.lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["fields"]["key"], "github#d-1");
    capture.assert_secret_free(&[BODY_MARKER]);
}

/// A deadline no invocation can have (here `cargo lambda watch`'s 600000) is said once per
/// pipeline, with what was received, not on every batch.
#[tokio::test]
async fn an_impossible_deadline_is_logged_once() {
    let capture = Capture::default();
    let _guard = capture.install();
    let process = Process::new(
        MemoryStore::new(),
        MemoryQueue::new(),
        MemoryVisibility::default(),
        NoAction,
        ProcessSettings::default(),
    );
    let body = envelope_json("github", "g1");
    let records = [QueuedRecord {
        message_id: "m1",
        receipt_handle: "rh",
        body: &body,
        receive_count: 1,
        group_id: None,
        source: None,
        origin_message_id: None,
        routes: None,
    }];
    let clock = Deadline {
        now_ms: NOW_MS,
        deadline_ms: 600_000,
    };
    for _ in 0..3 {
        let result = process.handle_batch(&records, clock).await;
        assert!(result.failures().is_empty(), "{result:?}");
    }
    let warnings: Vec<_> = capture
        .lines()
        .into_iter()
        .filter(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("deadline is missing or impossible"))
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0]["level"], "WARN");
    assert_eq!(warnings[0]["fields"]["deadline_ms"], 600_000);
    assert_eq!(
        warnings[0]["fields"]["timeout_ms"],
        inlet_core::process::UNKNOWN_DEADLINE_TIMEOUT_MS
    );
}

/// Completes every event.
struct NoAction;

impl inlet_core::actions::Handler for NoAction {
    async fn handle(
        &self,
        _: &str,
        _: inlet_core::actions::Event<'_>,
    ) -> Result<(), inlet_core::actions::ActionError> {
        Ok(())
    }
}
