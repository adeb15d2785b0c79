//! The forward action and the router against a real HTTP target on loopback: what goes over the
//! wire (body byte for byte, content type, a Standard Webhooks signature any receiver can check),
//! and how every kind of answer — or no answer — becomes done, retry or dead letter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use inlet_core::actions::answers;
use inlet_core::actions::destination::{Delivery as RouteDelivery, NoCloud};
use inlet_core::actions::forward::{Forwarder, classify};
use inlet_core::actions::router::Router;
use inlet_core::actions::router::RouterError;
use inlet_core::actions::{ActionError, Event, Handler};
use inlet_core::config::Config;
use inlet_core::envelope::{Envelope, VERSION, idempotency_key};
use inlet_core::ports::memory::MemorySecrets;
use inlet_core::secrets::{Env, SecretError, SecretResolver};

use inlet_signature::clock;
use inlet_signature::{Delivery, Key, Window};
use inlet_testkit::providers::named;
use inlet_testkit::target::{Hit, Script, Target};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;

/// The example secret from the Standard Webhooks specification.
const AGENT_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_c2Vjb25kIGFnZW50J3Mgc2lnbmluZyBrZXk=";
/// Bytes that are not UTF-8 and hold a blank line, so neither a text round trip nor a naive
/// header parser could pass them through unchanged.
const RAW_BODY: &[u8] = b"\xffid=42\r\n\r\nname=J\xe9r\xf4me&x=\x00\x01";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=ISO-8859-1";

// ---- the target (inlet_testkit::target), answering in the order requests arrive ----

/// Every request the target got, each checked to have come with a content-length.
fn received(target: &Target) -> Vec<Hit> {
    let hits = target.all_hits();
    for hit in &hits {
        assert!(
            hit.headers.get("transfer-encoding").is_none(),
            "the forwarder should send a content-length"
        );
    }
    hits
}

fn only_request(target: &Target) -> Hit {
    let hits = received(target);
    assert_eq!(hits.len(), 1, "expected one request, got {hits:#?}");
    hits[0].clone()
}

// ---- events ----

fn envelope(source: &str, event_id: &str, event_type: Option<&str>, body: &[u8]) -> Envelope {
    let mut envelope = Envelope {
        v: VERSION,
        key: idempotency_key(source, event_id),
        source: source.into(),
        scheme: "github".into(),
        event_type: event_type.map(str::to_owned),
        event_id: event_id.into(),
        received_at: "2026-11-22T13:00:00.123Z".into(),
        headers: BTreeMap::from([("content-type".to_owned(), CONTENT_TYPE.to_owned())]),
        body: None,
        body_b64: None,
        replay: None,
        body_ref: None,
        schema_errors: None,
        traceparent: None,
        tracestate: None,
    };
    envelope.set_body(body);
    envelope
}

fn key(secret: &str) -> Key {
    named("standard-webhooks").key(secret).unwrap()
}

fn now() -> i64 {
    clock::epoch_millis(SystemTime::now()).div_euclid(1000)
}

/// Checks the signature twice: with the crate's Standard Webhooks verifier, and by recomputing
/// the HMAC from the specification with nothing of the crate's signing code.
fn assert_signed(request: &Hit, secret: &str, id: &str) {
    assert_eq!(request.header("webhook-id"), Some(id));
    let delivery = Delivery {
        headers: &request.headers,
        body: &request.body,
        url: None,
        method: "POST",
        query: None,
    };
    let window = Window {
        now: now(),
        tolerance_secs: 300,
    };
    let verified = named("standard-webhooks")
        .verify(&delivery, &[key(secret)], window)
        .unwrap_or_else(|e| panic!("the signature does not verify: {e}"));
    assert_eq!(verified.event_id.as_deref(), Some(id));

    let timestamp = request.header("webhook-timestamp").unwrap();
    let raw_key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&raw_key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&request.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let signatures: Vec<_> = request
        .header("webhook-signature")
        .unwrap()
        .split(' ')
        .collect();
    assert_eq!(signatures, [expected.as_str()]);
}

async fn forward(
    url: &str,
    secret: &str,
    timeout: Duration,
    envelope: &Envelope,
) -> Result<(), ActionError> {
    let body = envelope.body_bytes().unwrap();
    let event = Event {
        envelope,
        body: &body,
        message_id: "m-1",
    };
    let delivery = RouteDelivery {
        event,
        route: "agent",
        body: &body,
        transformed: false,
    };
    let forwarder = Forwarder::new().unwrap();
    let key = key(secret);
    // A guard against a hung test, not a timing assertion.
    tokio::time::timeout(
        Duration::from_secs(60),
        forwarder.forward(url, &key, timeout, &delivery),
    )
    .await
    .expect("the forward never returned")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Ok,
    Transient,
    /// Transient too, and the target asked for less (429, 503).
    Throttled,
    Permanent,
}

fn class<T>(result: &Result<T, ActionError>) -> Class {
    match result {
        Ok(_) => Class::Ok,
        Err(ActionError::Transient(_)) => Class::Transient,
        Err(ActionError::Throttled { .. }) => Class::Throttled,
        Err(ActionError::Permanent(_) | ActionError::TransformFailed(_)) => Class::Permanent,
    }
}

// ---- the forward action ----

#[tokio::test]
async fn the_original_bytes_go_out_signed_with_the_event_key_as_webhook_id() {
    let target = Target::in_order(&[]).await;
    let envelope = envelope("crm", "evt_crm_7f3b9c21", Some("contact.created"), RAW_BODY);
    assert!(
        envelope.body_b64.is_some(),
        "the body should need base64 in the envelope"
    );

    let result = forward(
        &target.url("/hooks?tenant=7"),
        AGENT_SECRET,
        Duration::from_secs(5),
        &envelope,
    )
    .await;

    assert_eq!(result, Ok(()));
    let request = only_request(&target);
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/hooks?tenant=7");
    assert_eq!(request.body, RAW_BODY);
    assert_eq!(request.header("content-type"), Some(CONTENT_TYPE));
    assert_eq!(request.header("inlet-source"), Some("crm"));
    assert_eq!(request.header("inlet-event-type"), Some("contact.created"));
    assert_eq!(request.header("inlet-replay"), None);
    assert_signed(&request, AGENT_SECRET, "crm#evt_crm_7f3b9c21");
}

#[tokio::test]
async fn a_replayed_event_says_so_and_is_signed_under_its_replay_key() {
    let target = Target::in_order(&[]).await;
    let mut envelope = envelope("crm", "evt_1", Some("contact.created"), b"{}");
    envelope.replay = Some("r-20261128T1400-5f2c".into());

    let result = forward(
        &target.url("/"),
        AGENT_SECRET,
        Duration::from_secs(5),
        &envelope,
    )
    .await;

    assert_eq!(result, Ok(()));
    let request = only_request(&target);
    assert_eq!(request.header("inlet-replay"), Some("r-20261128T1400-5f2c"));
    assert_signed(
        &request,
        AGENT_SECRET,
        "replay:r-20261128T1400-5f2c:crm#evt_1",
    );
}

#[tokio::test]
async fn an_envelope_without_content_type_or_event_type_goes_out_as_octets() {
    let target = Target::in_order(&[]).await;
    let mut envelope = envelope(
        "github",
        "d-1",
        None,
        b"{\"zen\":\"Keep it logically awesome.\"}",
    );
    envelope.headers.clear();

    let result = forward(
        &target.url("/"),
        AGENT_SECRET,
        Duration::from_secs(5),
        &envelope,
    )
    .await;

    assert_eq!(result, Ok(()));
    let request = only_request(&target);
    assert_eq!(
        request.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(request.header("inlet-event-type"), None);
    assert_eq!(request.body, b"{\"zen\":\"Keep it logically awesome.\"}");
    assert_signed(&request, AGENT_SECRET, "github#d-1");
}

#[tokio::test]
async fn every_answer_is_done_retried_or_dead_lettered_by_its_status() {
    let expectations = [
        (200, Class::Ok),
        (201, Class::Ok),
        (202, Class::Ok),
        (204, Class::Ok),
        (408, Class::Transient),
        (429, Class::Throttled),
        (500, Class::Transient),
        (502, Class::Transient),
        (503, Class::Throttled),
        (504, Class::Transient),
        (400, Class::Permanent),
        (401, Class::Permanent),
        (403, Class::Permanent),
        (404, Class::Permanent),
        (409, Class::Permanent),
        (410, Class::Permanent),
        (422, Class::Permanent),
    ];
    let script: Vec<_> = expectations
        .iter()
        .map(|(code, _)| Script::Always(*code))
        .collect();
    let target = Target::in_order(&script).await;
    let envelope = envelope("github", "d-2", Some("push"), b"{}");
    for (code, expected) in expectations {
        let result = forward(
            &target.url("/hooks"),
            AGENT_SECRET,
            Duration::from_secs(5),
            &envelope,
        )
        .await;
        assert_eq!(class(&result), expected, "status {code}: {result:?}");
        if let Err(error) = &result {
            assert!(error.message().contains(&code.to_string()), "{error}");
        }
    }
    // Every retry of the same event carries the same id, so the receiver can deduplicate.
    let received = received(&target);
    assert_eq!(received.len(), expectations.len());
    assert!(
        received
            .iter()
            .all(|r| r.header("webhook-id") == Some("github#d-2"))
    );
}

#[tokio::test]
async fn a_redirect_is_an_answer_and_never_followed() {
    let codes = [301, 302, 303, 307, 308];
    let script: Vec<_> = codes.iter().map(|code| Script::Redirect(*code)).collect();
    let target = Target::in_order(&script).await;
    let envelope = envelope("github", "d-3", Some("push"), b"{}");
    for code in codes {
        let result = forward(
            &target.url("/hooks"),
            AGENT_SECRET,
            Duration::from_secs(5),
            &envelope,
        )
        .await;
        assert_eq!(
            class(&result),
            Class::Permanent,
            "status {code}: {result:?}"
        );
    }
    let received = received(&target);
    assert_eq!(
        received.len(),
        codes.len(),
        "a redirect was followed: {received:#?}"
    );
    assert!(received.iter().all(|r| r.target == "/hooks"));
}

#[tokio::test]
async fn a_target_that_never_answers_is_transient() {
    let target = Target::in_order(&[Script::Hang]).await;
    let envelope = envelope("github", "d-4", Some("push"), b"{}");
    let result = forward(
        &target.url("/slow"),
        AGENT_SECRET,
        Duration::from_millis(300),
        &envelope,
    )
    .await;
    match result {
        Err(ActionError::Transient(reason)) => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("expected a transient timeout, got {other:?}"),
    }
    assert_eq!(received(&target).len(), 1);
}

#[tokio::test]
async fn a_closed_port_is_transient_and_the_url_stays_out_of_the_error() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let envelope = envelope("github", "d-5", Some("push"), b"{}");
    let url = format!("http://{addr}/hooks?token=s3cr3t-in-the-query");
    let result = forward(&url, AGENT_SECRET, Duration::from_secs(5), &envelope).await;
    match result {
        Err(ActionError::Transient(reason)) => {
            assert!(!reason.contains("s3cr3t"), "the URL leaked into {reason}");
            assert!(
                !reason.contains(&addr.port().to_string()),
                "the URL leaked into {reason}"
            );
        }
        other => panic!("expected a transient error, got {other:?}"),
    }
}

/// A target on loopback that answers each connection with `status` and `body`, then closes it.
async fn answering(status: &'static str, body: Vec<u8>) -> std::net::SocketAddr {
    answering_with(status, String::new(), body).await
}

/// [`answering`], with `headers` (each line ending in CRLF) in the answer's head.
async fn answering_with(
    status: &'static str,
    headers: String,
    body: Vec<u8>,
) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            // The request is small: one read takes its headers and body.
            let mut request = vec![0; 64 * 1024];
            let _ = stream.read(&mut request).await;
            let head = format!(
                "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
        }
    });
    addr
}

/// [`forward`] to `addr` inside [`answers::capture`]: its result, and the answers it kept.
async fn forward_captured(
    addr: std::net::SocketAddr,
    envelope: &Envelope,
) -> (Result<(), ActionError>, Vec<answers::TargetAnswer>) {
    let url = format!("http://{addr}/hook");
    answers::capture(forward(
        &url,
        AGENT_SECRET,
        Duration::from_secs(5),
        envelope,
    ))
    .await
}

#[tokio::test]
async fn a_targets_answer_is_kept_for_a_caller_that_captures_it() {
    let envelope = envelope("github", "d-6", Some("push"), b"{}");
    let down = answering(
        "503 Service Unavailable",
        br#"{"error":"db down"}"#.to_vec(),
    )
    .await;
    let (result, kept) = forward_captured(down, &envelope).await;
    assert_eq!(class(&result), Class::Throttled);
    assert_eq!(
        kept,
        [answers::TargetAnswer {
            status: 503,
            body: r#"{"error":"db down"}"#.into(),
            truncated: false,
        }]
    );
    // A long answer is cut at the bound, and says so.
    let long = answering("200 OK", vec![b'x'; answers::ANSWER_BODY_BYTES * 3]).await;
    let (result, kept) = forward_captured(long, &envelope).await;
    assert_eq!(class(&result), Class::Ok);
    assert_eq!(kept[0].status, 200);
    assert_eq!(kept[0].body.len(), answers::ANSWER_BODY_BYTES);
    assert!(kept[0].truncated);
}

#[test]
fn classify_covers_every_final_status() {
    for code in 200..=599u16 {
        let status = reqwest::StatusCode::from_u16(code).unwrap();
        let expected = match code {
            200..=299 => Class::Ok,
            429 | 503 => Class::Throttled,
            408 | 500..=599 => Class::Transient,
            _ => Class::Permanent,
        };
        assert_eq!(class(&classify(status, None)), expected, "status {code}");
        // A Retry-After counts only where the target asks for less.
        let with_retry_after = classify(status, Some(7));
        assert_eq!(class(&with_retry_after), expected, "status {code}");
        if let Err(ActionError::Throttled {
            retry_after_secs, ..
        }) = with_retry_after
        {
            assert_eq!(retry_after_secs, Some(7), "status {code}");
        }
    }
}

/// The throttling a forward met: its `Retry-After` in seconds, if any; panics on anything else.
fn throttled(result: Result<(), ActionError>) -> Option<u64> {
    match result {
        Err(ActionError::Throttled {
            message,
            retry_after_secs,
        }) => {
            assert!(message.len() < 100, "an unbounded message: {message}");
            retry_after_secs
        }
        other => panic!("expected throttling, got {other:?}"),
    }
}

#[tokio::test]
async fn a_429_with_retry_after_seconds_is_throttled_for_that_long() {
    let target = Target::in_order(&[Script::Throttle(429, 7)]).await;
    let envelope = envelope("github", "d-7", Some("push"), b"{}");
    let result = forward(
        &target.url("/hooks"),
        AGENT_SECRET,
        Duration::from_secs(5),
        &envelope,
    )
    .await;
    assert!(
        result.as_ref().is_err_and(|e| e.message().contains("429")),
        "{result:?}"
    );
    assert_eq!(throttled(result), Some(7));
}

#[tokio::test]
async fn a_503_with_an_http_date_is_throttled_until_that_date() {
    let ahead = SystemTime::now() + Duration::from_secs(10);
    let headers = format!("retry-after: {}\r\n", httpdate::fmt_http_date(ahead));
    let down = answering_with("503 Service Unavailable", headers, Vec::new()).await;
    let envelope = envelope("github", "d-8", Some("push"), b"{}");
    let (result, _) = forward_captured(down, &envelope).await;
    // The date has whole seconds and time has passed since it was written: at most the 10 s,
    // and some of them still left (the forward's own 5 s timeout bounds the time it took).
    let secs = throttled(result).expect("the date should give a delay");
    assert!((1..=10).contains(&secs), "{secs} s");
}

#[tokio::test]
async fn a_429_without_a_usable_retry_after_is_throttled_with_no_delay_of_its_own() {
    let envelope = envelope("github", "d-9", Some("push"), b"{}");
    let bare = answering("429 Too Many Requests", Vec::new()).await;
    let (result, _) = forward_captured(bare, &envelope).await;
    assert_eq!(throttled(result), None);

    let garbage = format!("retry-after: soon, {}\r\n", "x".repeat(500));
    let garbled = answering_with("429 Too Many Requests", garbage, Vec::new()).await;
    let (result, _) = forward_captured(garbled, &envelope).await;
    // The value stays out of the message too (`throttled` checks it is short).
    assert_eq!(throttled(result), None);
}

// ---- the router ----

fn router_config(first: &str, second: &str) -> Config {
    Config::parse(&format!(
        r#"
[sources.github]
scheme = "github"
secrets = ["env:GITHUB_SECRET"]

[sources.billing]
scheme = "stripe"
secrets = ["env:STRIPE_SECRET"]

[sources.crm]
scheme = "hmac"
header = "X-Signature"
secrets = ["env:CRM_SECRET"]

[[routes]]
name = "agent"
source = "github"
events = ["push"]
action = {{ type = "forward", url = "{first}", secret = "env:AGENT_SECRET", timeout_ms = 5000 }}

# Also takes pushes: every matching route runs.
[[routes]]
name = "other"
source = "github"
action = {{ type = "forward", url = "{second}", secret = "env:OTHER_SECRET" }}

[[routes]]
source = "billing"
events = ["invoice.*"]
action = {{ type = "log" }}
"#
    ))
    .unwrap()
}

fn resolver(pairs: &[(&str, &str)]) -> SecretResolver<MemorySecrets> {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    SecretResolver::new(Env::Map(env), MemorySecrets::default())
}

/// Runs every route that takes `envelope`, in order: their names and results.
async fn route(router: &Router, envelope: &Envelope) -> Vec<(String, Result<(), ActionError>)> {
    let body = envelope.body_bytes().unwrap();
    let event = Event {
        envelope,
        body: &body,
        message_id: "m-1",
    };
    let mut results = Vec::new();
    for name in router.routes(&event) {
        results.push((name.to_owned(), router.handle(name, event).await));
    }
    results
}

async fn load(
    config: &Config,
    secrets: &SecretResolver<MemorySecrets>,
) -> Result<Router, RouterError> {
    Router::load(config, secrets, Forwarder::new().unwrap(), &NoCloud).await
}

#[tokio::test]
async fn every_matching_route_runs_and_unrouted_events_run_none() {
    let target = Target::in_order(&[]).await;
    let config = router_config(&target.url("/first"), &target.url("/second"));
    let secrets = resolver(&[
        ("AGENT_SECRET", AGENT_SECRET),
        ("OTHER_SECRET", OTHER_SECRET),
    ]);
    let router = load(&config, &secrets).await.unwrap();

    let cases: [(Envelope, &[&str]); 7] = [
        (
            envelope("github", "push-1", Some("push"), b"{\"ref\":\"main\"}"),
            &["agent", "other"],
        ),
        (
            envelope(
                "github",
                "issue-1",
                Some("issues"),
                b"{\"action\":\"opened\"}",
            ),
            &["other"],
        ),
        // No type passes only a filter-less route.
        (envelope("github", "untyped-1", None, b"{}"), &["other"]),
        (
            envelope("billing", "evt_1", Some("invoice.paid"), b"{}"),
            &["billing"],
        ),
        (
            envelope("billing", "evt_2", Some("customer.created"), b"{}"),
            &[],
        ),
        (envelope("billing", "evt_3", None, b"{}"), &[]),
        (
            envelope("crm", "evt_crm_1", Some("contact.created"), b"{}"),
            &[],
        ),
    ];
    for (envelope, expected) in &cases {
        let results = route(&router, envelope).await;
        let names: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, *expected, "{}", envelope.key);
        assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    }

    let received = received(&target);
    let seen: Vec<_> = received
        .iter()
        .map(|r| {
            (
                r.target.as_str(),
                r.header("webhook-id").unwrap(),
                r.header("inlet-route").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("/first", "github#push-1", "agent"),
            ("/second", "github#push-1", "other"),
            ("/second", "github#issue-1", "other"),
            ("/second", "github#untyped-1", "other"),
        ]
    );
    // Each route signs with its own secret.
    assert_signed(&received[0], AGENT_SECRET, "github#push-1");
    assert_signed(&received[1], OTHER_SECRET, "github#push-1");
    assert_eq!(received[0].body, b"{\"ref\":\"main\"}");
    assert_eq!(received[1].body, b"{\"ref\":\"main\"}");
}

#[tokio::test]
async fn a_failed_forward_reaches_the_pipeline_as_the_same_error() {
    let target = Target::in_order(&[Script::Always(503), Script::Always(410)]).await;
    let config = router_config(&target.url("/first"), &target.url("/second"));
    let secrets = resolver(&[
        ("AGENT_SECRET", AGENT_SECRET),
        ("OTHER_SECRET", OTHER_SECRET),
    ]);
    let router = load(&config, &secrets).await.unwrap();
    let issue = envelope("github", "issue-2", Some("issues"), b"{}");
    let only = |mut results: Vec<(String, Result<(), ActionError>)>| {
        assert_eq!(results.len(), 1);
        results.remove(0).1
    };
    assert_eq!(class(&only(route(&router, &issue).await)), Class::Throttled);
    assert_eq!(class(&only(route(&router, &issue).await)), Class::Permanent);
    assert_eq!(only(route(&router, &issue).await), Ok(()));
}

#[tokio::test]
async fn a_forward_secret_that_is_missing_or_not_a_key_stops_start_up() {
    let config = router_config("http://127.0.0.1:9/first", "http://127.0.0.1:9/second");
    let missing = resolver(&[("AGENT_SECRET", AGENT_SECRET)]);
    let error = load(&config, &missing).await.unwrap_err();
    assert!(
        matches!(&error, RouterError::Secret { index: 1, source: SecretError::EnvMissing(name) } if name == "OTHER_SECRET"),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("routes[1].action.secret: "),
        "{error}"
    );

    let not_base64 = resolver(&[
        ("AGENT_SECRET", "whsec_not base64!"),
        ("OTHER_SECRET", OTHER_SECRET),
    ]);
    let error = load(&config, &not_base64).await.unwrap_err();
    assert!(
        matches!(&error, RouterError::ForwardKey { index: 0, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("routes[0].action.secret: "),
        "{error}"
    );
}
