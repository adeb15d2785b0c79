//! The EMF lines both pipelines write: one per ingest request, one per process batch and source,
//! with the counts each outcome adds and the forward latencies the router measured.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use inlet_core::actions::forward::Forwarder;
use inlet_core::actions::router::Router;
use inlet_core::config::Config;
use inlet_core::config::ProcessSettings;
use inlet_core::envelope::{self, Envelope};
use inlet_core::ingest::{Ingest, IngestRequest, Outcome};
use inlet_core::metrics::{MemoryMetrics, Metrics, UNKNOWN_SOURCE};
use inlet_core::ports::memory::{MemoryQueue, MemorySecrets, MemoryStore, MemoryVisibility};
use inlet_core::process::{Deadline, Process, QueuedRecord, RecordOutcome};
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use inlet_signature::{Delivery, Scheme};
use inlet_testkit::providers::named;
use inlet_testkit::target::Target;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

const NOW: i64 = 1_795_352_400;
const NOW_MS: i64 = NOW * 1000 + 123;
const AGENT_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// The metric names and units of a line's directive with exactly these dimensions.
fn metrics_under(doc: &Value, dimensions: &[&str]) -> Vec<(String, String)> {
    let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    let directive = directives
        .iter()
        .find(|d| d["Dimensions"] == serde_json::json!([dimensions]))
        .unwrap_or_else(|| panic!("no directive for {dimensions:?} in {doc}"));
    assert_eq!(directive["Namespace"], "Inlet");
    directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Name"].as_str().unwrap().to_owned(),
                m["Unit"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---- ingest ----

const INGEST_CONFIG: &str = r#"
[sources.github]
scheme = "github"
secrets = ["env:GH"]
events = ["push"]

[sources.slack]
scheme = "slack"
secrets = ["env:SLACK"]
"#;

/// The pipeline, the lines it writes, and a handle to its queue.
async fn ingest() -> (
    Ingest<MemoryQueue, MemorySecrets>,
    MemoryMetrics,
    MemoryQueue,
) {
    let config = Config::parse(INGEST_CONFIG).unwrap();
    let env = Env::Map(HashMap::from([
        ("GH".to_owned(), "gh-secret".to_owned()),
        ("SLACK".to_owned(), "slack-secret".to_owned()),
    ]));
    let keys = KeyRing::load(&config, SecretResolver::new(env, MemorySecrets::default()))
        .await
        .unwrap();
    let (sink, lines) = Metrics::memory();
    let queue = MemoryQueue::new();
    let ingest = Ingest::new(config, keys, queue.clone(), false).with_metrics(sink);
    (ingest, lines, queue)
}

fn signed(scheme: &Scheme, secret: &str, mut headers: HeaderMap, body: &[u8]) -> HeaderMap {
    let key = scheme.key(secret).unwrap();
    let delivery = Delivery {
        headers: &headers,
        body,
        url: None,
        method: "POST",
        query: None,
    };
    for (name, value) in scheme.sign(&delivery, &key, NOW).unwrap() {
        headers.insert(name, value);
    }
    headers
}

fn github(event: &str, delivery: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [("x-github-event", event), ("x-github-delivery", delivery)] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

async fn post(
    ingest: &Ingest<MemoryQueue, MemorySecrets>,
    source: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Outcome {
    let request = IngestRequest {
        method: &Method::POST,
        source,
        query: None,
        headers,
        body,
        source_ip: None,
        xray_trace: None,
    };
    ingest.handle(&request, NOW_MS).await.outcome
}

/// Posts, and returns the one line that request wrote.
async fn line_for(
    ingest: &Ingest<MemoryQueue, MemorySecrets>,
    lines: &MemoryMetrics,
    source: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> (Outcome, Value) {
    let outcome = post(ingest, source, headers, body).await;
    let written = lines.take();
    assert_eq!(written.len(), 1, "one line per request: {written:?}");
    assert!(!written[0].contains('\n'));
    (outcome, parse(&written[0]))
}

fn assert_counts(doc: &Value, expected: &[(&str, u64)]) {
    for (name, value) in expected {
        assert_eq!(doc[*name], *value, "{name} in {doc}");
    }
}

#[tokio::test]
async fn every_ingest_request_writes_one_line_with_its_outcome() {
    let (ingest, lines, queue) = ingest().await;
    let body = br#"{"ref":"refs/heads/main"}"#;

    let headers = signed(&named("github"), "gh-secret", github("push", "d-1"), body);
    let (outcome, doc) = line_for(&ingest, &lines, Some("github"), &headers, body).await;
    assert!(matches!(outcome, Outcome::Queued { .. }));
    assert_eq!(doc["_aws"]["Timestamp"], NOW_MS);
    assert_eq!(doc["source"], "github");
    assert_eq!(doc["key"], "github#d-1");
    assert_counts(
        &doc,
        &[
            ("received", 1),
            ("queued", 1),
            ("ignored", 0),
            ("handshake", 0),
            ("rejected", 0),
            ("failed", 0),
        ],
    );
    let counts = metrics_under(&doc, &["source"]);
    assert_eq!(counts.len(), 6);
    assert!(counts.iter().all(|(_, unit)| unit == "Count"));

    let headers = signed(&named("github"), "guess", github("push", "d-2"), body);
    let (_, doc) = line_for(&ingest, &lines, Some("github"), &headers, body).await;
    assert_counts(&doc, &[("received", 1), ("rejected", 1), ("queued", 0)]);
    assert_eq!(doc["reason"], "signature_mismatch");
    assert_eq!(
        metrics_under(&doc, &["source", "reason"]),
        [("rejected".to_owned(), "Count".to_owned())]
    );
    assert!(doc.get("key").is_none());

    let headers = signed(&named("github"), "gh-secret", github("issues", "d-3"), body);
    let (outcome, doc) = line_for(&ingest, &lines, Some("github"), &headers, body).await;
    assert_eq!(outcome, Outcome::Ignored);
    assert_counts(&doc, &[("received", 1), ("ignored", 1)]);

    let challenge = br#"{"type":"url_verification","challenge":"c-1"}"#;
    let headers = signed(&named("slack"), "slack-secret", HeaderMap::new(), challenge);
    let (outcome, doc) = line_for(&ingest, &lines, Some("slack"), &headers, challenge).await;
    assert_eq!(outcome, Outcome::Handshake);
    assert_counts(&doc, &[("received", 1), ("handshake", 1)]);
    assert_eq!(doc["source"], "slack");

    queue.set_down(true);
    let headers = signed(&named("github"), "gh-secret", github("push", "d-4"), body);
    let (_, doc) = line_for(&ingest, &lines, Some("github"), &headers, body).await;
    assert_counts(&doc, &[("received", 1), ("failed", 1), ("queued", 0)]);
    assert_eq!(doc["reason"], "queue_unavailable");
    assert_eq!(
        metrics_under(&doc, &["source", "reason"]),
        [("failed".to_owned(), "Count".to_owned())]
    );
}

#[tokio::test]
async fn unknown_sources_share_one_dimension_value_whatever_the_path() {
    let (ingest, lines, _) = ingest().await;
    for source in [Some("scanner-probe-1"), Some("wp-login"), None] {
        let (_, doc) = line_for(&ingest, &lines, source, &HeaderMap::new(), b"{}").await;
        assert_eq!(doc["source"], UNKNOWN_SOURCE);
        assert_counts(&doc, &[("received", 1), ("rejected", 1)]);
    }
}

// ---- process ----

fn process_config(forward_url: &str, failing_url: &str) -> Config {
    Config::parse(&format!(
        r#"
[sources.github]
scheme = "github"
secrets = ["env:GH"]

[sources.billing]
scheme = "stripe"
secrets = ["env:STRIPE"]

[sources.crm]
scheme = "hmac"
header = "X-Signature"
secrets = ["env:CRM"]

[[routes]]
source = "github"
action = {{ type = "forward", url = "{forward_url}", secret = "env:AGENT" }}

[[routes]]
source = "crm"
action = {{ type = "forward", url = "{failing_url}", secret = "env:AGENT" }}

[[routes]]
source = "billing"
action = {{ type = "log" }}
"#
    ))
    .unwrap()
}

async fn router(config: &Config) -> Router {
    let env = Env::Map(HashMap::from([(
        "AGENT".to_owned(),
        AGENT_SECRET.to_owned(),
    )]));
    let resolver = SecretResolver::new(env, MemorySecrets::default());
    Router::load(
        config,
        &resolver,
        Forwarder::new().unwrap(),
        &inlet_core::actions::destination::NoCloud,
    )
    .await
    .unwrap()
}

fn envelope_json(source: &str, event_id: &str, body: &str) -> String {
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
    envelope.set_body(body.as_bytes());
    envelope.to_json()
}

fn record<'a>(message_id: &'a str, body: &'a str, source: Option<&'a str>) -> QueuedRecord<'a> {
    QueuedRecord {
        message_id,
        receipt_handle: message_id,
        body,
        receive_count: 1,
        group_id: None,
        source,
        origin_message_id: None,
        routes: None,
    }
}

const CLOCK: Deadline = Deadline {
    now_ms: NOW_MS,
    deadline_ms: NOW_MS + 30_000,
};

#[tokio::test]
async fn a_batch_writes_one_line_per_source_with_its_forward_latencies() {
    let ok = Target::answering(200).await;
    let busy = Target::answering(503).await;
    let config = process_config(&ok.url("/hook"), &busy.url("/hook"));
    let (sink, lines) = Metrics::memory();
    let process = Process::new(
        MemoryStore::new(),
        MemoryQueue::new(),
        MemoryVisibility::default(),
        router(&config).await,
        ProcessSettings::default(),
    )
    .with_metrics(sink);

    let bodies = [
        envelope_json("github", "g1", r#"{"n":1}"#),
        envelope_json("github", "g2", r#"{"n":2}"#),
        // The same key as g1, with another payload: a conflict once g1 is done.
        envelope_json("github", "g1", r#"{"n":"forged"}"#),
        envelope_json("billing", "evt_1", "{}"),
        envelope_json("crm", "c1", "{}"),
    ];
    let batch = [
        record("m1", &bodies[0], None),
        record("m2", &bodies[1], None),
        record("m3", &bodies[2], None),
        record("m4", &bodies[3], None),
        record("m5", &bodies[4], None),
        record("m6", "not an envelope", Some("crm")),
        record("m7", "not an envelope either", None),
    ];
    let result = process.handle_batch(&batch, CLOCK).await;
    let outcomes: HashMap<_, _> = result.outcomes.iter().cloned().collect();
    assert_eq!(outcomes["m1"], RecordOutcome::Processed);
    assert_eq!(outcomes["m2"], RecordOutcome::Processed);
    assert!(matches!(
        outcomes["m3"],
        RecordOutcome::DeadLettered {
            reason: "payload_conflict"
        }
    ));
    assert!(matches!(outcomes["m5"], RecordOutcome::Retry { .. }));

    // Per-route lines (`[source, route]`) are checked in the metrics module's own tests.
    let docs: Vec<Value> = lines
        .take()
        .iter()
        .map(|l| parse(l))
        .filter(|d| d.get("route").is_none())
        .collect();
    let by_source: HashMap<&str, &Value> = docs
        .iter()
        .map(|d| (d["source"].as_str().unwrap(), d))
        .collect();
    assert_eq!(docs.len(), 4, "one line per source: {docs:#?}");
    for doc in &docs {
        assert_eq!(doc["_aws"]["Timestamp"], NOW_MS);
    }

    let github = by_source["github"];
    assert_counts(
        github,
        &[
            ("records", 3),
            ("processed", 2),
            ("conflict", 1),
            ("dead_lettered", 1),
            ("duplicate", 0),
            ("failed_transient", 0),
        ],
    );
    let units = metrics_under(github, &["source"]);
    assert!(units.contains(&("forward_latency".to_owned(), "Milliseconds".to_owned())));
    assert!(units.contains(&("processed".to_owned(), "Count".to_owned())));
    // One value per forward: the conflicting copy never reached the target.
    let latencies = github["forward_latency"].as_array().unwrap();
    assert_eq!(latencies.len(), 2);
    assert!(
        latencies
            .iter()
            .all(|v| v.as_f64().is_some_and(|ms| ms >= 0.0))
    );
    assert_eq!(ok.received().len(), 2);

    // Logged, not forwarded: counted, with no latency metric at all.
    let billing = by_source["billing"];
    assert_counts(billing, &[("records", 1), ("processed", 1)]);
    assert!(billing.get("forward_latency").is_none());
    assert!(
        !metrics_under(billing, &["source"])
            .iter()
            .any(|(n, _)| n == "forward_latency")
    );

    // A 503 is an answer: timed, and counted as a transient failure. The unreadable envelope
    // counts under the source ingest put on the message.
    let crm = by_source["crm"];
    assert_counts(
        crm,
        &[
            ("records", 2),
            ("failed_transient", 1),
            ("dead_lettered", 1),
        ],
    );
    assert_eq!(crm["forward_latency"].as_array().unwrap().len(), 1);

    let unknown = by_source[UNKNOWN_SOURCE];
    assert_counts(
        unknown,
        &[("records", 1), ("dead_lettered", 1), ("conflict", 0)],
    );

    // The same events again: duplicates, and nothing forwarded or timed.
    let again = [
        record("m8", &bodies[0], None),
        record("m9", &bodies[1], None),
    ];
    process.handle_batch(&again, CLOCK).await;
    let docs: Vec<Value> = lines.take().iter().map(|l| parse(l)).collect();
    assert_eq!(docs.len(), 1);
    assert_counts(
        &docs[0],
        &[("records", 2), ("duplicate", 2), ("processed", 0)],
    );
    assert!(docs[0].get("forward_latency").is_none());
    assert_eq!(ok.received().len(), 2);
}
