//! Tier 3 (architecture.md § Tests): every file in events/ingest/ (API Gateway's HTTP API events,
//! and `function-url-*`, a Lambda function URL's) is read as the Lambda runtime reads it (serde into
//! the payload 2.0 struct both share), goes through the ingest handler, and its answer is
//! checked as the JSON API Gateway receives — the sample config, the local.env secrets, an
//! in-memory queue — and must get the answer events/ingest.toml states for it.
//!
//! The clock is each event's requestContext.timeEpoch, as in Lambda, so the fixtures never rot.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use inlet_aws::lambda;
use inlet_core::claims::{self, ClaimChecks};
use inlet_core::config::Config;
use inlet_core::envelope::Envelope;
use inlet_core::ingest::Ingest;
use inlet_core::ports::memory::{MemoryObjects, MemoryQueue, MemorySecrets};
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use inlet_core::trace::TraceContext;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The repository root: this crate lives in functions/ingest.
fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).unwrap_or(here).to_path_buf()
}

fn events_dir() -> PathBuf {
    root().join("events/ingest")
}

#[derive(Deserialize)]
struct Manifest {
    case: Vec<Case>,
}

/// A case as the tests see it; its other keys tell the generator how to build the file.
#[derive(Deserialize)]
struct Case {
    name: String,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: u16,
    error: Option<String>,
    event_id: Option<String>,
    event_type: Option<String>,
    challenge: Option<String>,
    #[serde(default)]
    ignored: bool,
    /// 202 only: the trace id the queued envelope carries.
    trace_id: Option<String>,
}

/// What an expectation amounts to, once checked for completeness.
enum Answer<'a> {
    Refused(&'a str),
    Queued {
        event_id: &'a str,
        event_type: Option<&'a str>,
        trace_id: Option<&'a str>,
    },
    Handshake(&'a str),
    Ignored,
}

impl Expect {
    fn answer(&self) -> Result<Answer<'_>, String> {
        let extra = |what: &str| Err(format!("{what} does not go with status {}", self.status));
        match self.status {
            400..=599 => {
                if self.event_id.is_some() || self.event_type.is_some() || self.trace_id.is_some() {
                    return extra("event_id/event_type/trace_id");
                }
                if self.challenge.is_some() || self.ignored {
                    return extra("challenge/ignored");
                }
                let code = self.error.as_deref().ok_or("a refusal needs `error`")?;
                Ok(Answer::Refused(code))
            }
            202 => {
                if self.error.is_some() || self.challenge.is_some() || self.ignored {
                    return extra("error/challenge/ignored");
                }
                let event_id = self
                    .event_id
                    .as_deref()
                    .ok_or("a queued event needs `event_id`")?;
                Ok(Answer::Queued {
                    event_id,
                    event_type: self.event_type.as_deref(),
                    trace_id: self.trace_id.as_deref(),
                })
            }
            200 => {
                if self.error.is_some()
                    || self.event_id.is_some()
                    || self.event_type.is_some()
                    || self.trace_id.is_some()
                {
                    return extra("error/event_id/event_type/trace_id");
                }
                match (&self.challenge, self.ignored) {
                    (Some(challenge), false) => Ok(Answer::Handshake(challenge)),
                    (None, true) => Ok(Answer::Ignored),
                    _ => Err("a 200 needs exactly one of `challenge` and `ignored = true`".into()),
                }
            }
            other => Err(format!("status {other} is not one ingest answers with")),
        }
    }
}

fn manifest() -> Vec<Case> {
    let path = root().join("events/ingest.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let manifest: Manifest = toml::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    manifest.case
}

/// Every file in events/ingest/, whatever its extension: each must be accounted for.
fn event_files() -> BTreeSet<String> {
    std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect()
}

type TestIngest = Ingest<MemoryQueue, MemorySecrets>;

/// The pipeline, handles to its queue and its payload bucket, and the config it runs.
async fn ingest() -> (TestIngest, MemoryQueue, MemoryObjects, Config) {
    let config = Config::load(&root().join("inlet.toml")).unwrap();
    let env = std::fs::read_to_string(root().join("local.env")).unwrap();
    let resolver = SecretResolver::new(Env::Map(Env::parse_file(&env)), MemorySecrets::default());
    let keys = KeyRing::load(&config, resolver).await.unwrap();
    let queue = MemoryQueue::new();
    let objects = MemoryObjects::new("inlet-payloads");
    (
        Ingest::new(config.clone(), keys, queue.clone(), false)
            .with_payloads(std::sync::Arc::new(ClaimChecks(objects.clone()))),
        queue,
        objects,
        config,
    )
}

/// The event as the runtime reads an invocation's payload.
fn parse(text: &str) -> Result<ApiGatewayV2httpRequest, String> {
    serde_json::from_slice(text.as_bytes())
        .map_err(|e| format!("not readable as an HTTP API event: {e}"))
}

/// What API Gateway receives back: the response as the runtime serialises it.
struct Answered(Value);

impl Answered {
    async fn of(ingest: &TestIngest, event: &ApiGatewayV2httpRequest, now_ms: i64) -> Self {
        let response = lambda::handle(ingest, event, now_ms, None).await;
        Self(serde_json::to_value(&response).unwrap())
    }

    fn status(&self) -> u16 {
        u16::try_from(self.0["statusCode"].as_u64().unwrap()).unwrap()
    }

    fn text(&self) -> String {
        assert_ne!(self.0["isBase64Encoded"], json!(true), "a text answer");
        self.0["body"].as_str().unwrap_or_default().to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.0["headers"][name].as_str()
    }
}

/// The body bytes the provider sent, decoded here independently of the handler.
fn sent_body(event: &Value) -> Result<Vec<u8>, String> {
    let Some(body) = event.get("body").and_then(Value::as_str) else {
        return Ok(Vec::new());
    };
    if event["isBase64Encoded"] == json!(true) {
        STANDARD
            .decode(body)
            .map_err(|e| format!("body is not base64: {e}"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

fn ensure(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why()) }
}

async fn check(
    ingest: &TestIngest,
    queue: &MemoryQueue,
    objects: &MemoryObjects,
    case: &Case,
) -> Result<(), String> {
    let answer = case.expect.answer()?;
    let text = std::fs::read_to_string(events_dir().join(format!("{}.json", case.name)))
        .map_err(|e| format!("cannot read the file: {e}"))?;
    let event: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let request = parse(&text)?;
    let now_ms = lambda::received_at_ms(&request).ok_or("no requestContext.timeEpoch")?;
    let source = event["rawPath"]
        .as_str()
        .and_then(|path| path.strip_prefix("/webhooks/"))
        .ok_or("rawPath is not /webhooks/{source}")?;
    let body = sent_body(&event)?;

    queue.clear();
    let response = Answered::of(ingest, &request, now_ms).await;
    let status = response.status();
    let reply = response.text();
    ensure(status == case.expect.status, || {
        format!("status {status}, expected {}: {reply}", case.expect.status)
    })?;
    let messages = queue.messages();
    let json_reply = || -> Result<Value, String> {
        ensure(
            response.header("content-type") == Some("application/json"),
            || format!("content-type {:?}", response.header("content-type")),
        )?;
        serde_json::from_str(&reply).map_err(|e| format!("reply {reply:?} is not JSON: {e}"))
    };
    if !matches!(answer, Answer::Queued { .. }) {
        ensure(messages.is_empty(), || {
            format!("{} message(s) queued", messages.len())
        })?;
    }

    match answer {
        Answer::Refused(code) => {
            let reply = json_reply()?;
            ensure(reply["error"] == json!(code), || {
                format!("error {}, expected {code}", reply["error"])
            })?;
            ensure(
                reply["message"].as_str().is_some_and(|m| !m.is_empty()),
                || format!("no message in {reply}"),
            )?;
            if status == 405 {
                ensure(response.header("allow") == Some("POST"), || {
                    "a 405 without `Allow: POST`".into()
                })?;
            }
        }
        Answer::Handshake(challenge) => {
            // Slack wants JSON back, Twitch the bare challenge.
            if response.header("content-type") == Some("text/plain") {
                ensure(reply == challenge, || format!("answered {reply:?}"))?;
            } else {
                let reply = json_reply()?;
                ensure(reply == json!({ "challenge": challenge }), || {
                    format!("answered {reply}")
                })?;
            }
        }
        Answer::Ignored => {
            let reply = json_reply()?;
            ensure(reply["status"] == json!("ignored"), || {
                format!("answered {reply}")
            })?;
        }
        Answer::Queued {
            event_id,
            event_type,
            trace_id,
        } => {
            let key = format!("{source}#{event_id}");
            let reply = json_reply()?;
            ensure(reply == json!({ "status": "queued", "id": key }), || {
                format!("answered {reply}")
            })?;
            let [message] = messages.as_slice() else {
                return Err(format!("{} messages queued, expected 1", messages.len()));
            };
            let envelope = Envelope::from_json(&message.body).map_err(|e| e.to_string())?;
            ensure(envelope.key == key, || format!("key {}", envelope.key))?;
            ensure(envelope.source == source, || {
                format!("source {}", envelope.source)
            })?;
            ensure(envelope.event_id == event_id, || {
                format!("event_id {}", envelope.event_id)
            })?;
            ensure(envelope.event_type.as_deref() == event_type, || {
                format!("event_type {:?}", envelope.event_type)
            })?;
            // Every queued envelope carries a trace: the case's when it names one.
            let carried = envelope
                .traceparent
                .as_deref()
                .and_then(TraceContext::parse)
                .ok_or_else(|| format!("traceparent {:?}", envelope.traceparent))?;
            if let Some(trace_id) = trace_id {
                ensure(carried.trace_id.to_string() == trace_id, || {
                    format!("trace id {}, expected {trace_id}", carried.trace_id)
                })?;
            }
            ensure(
                envelope.received_at == inlet_signature::clock::format_rfc3339_millis(now_ms),
                || format!("received_at {}", envelope.received_at),
            )?;
            // A body too large to go inline is in the payload bucket, and only then.
            let mut inline = envelope.clone();
            inline.body_ref = None;
            inline.set_body(&body);
            ensure(
                claims::fits_queue(&inline) == envelope.body_ref.is_none(),
                || {
                    format!(
                        "body_ref {:?} for a {}-byte body",
                        envelope.body_ref,
                        body.len()
                    )
                },
            )?;
            let queued = match &envelope.body_ref {
                Some(reference) => {
                    objects
                        .object(&reference.key)
                        .ok_or_else(|| format!("{} is not in the bucket", reference.key))?
                        .body
                }
                None => envelope.body_bytes().map_err(|e| e.to_string())?,
            };
            ensure(queued == body, || {
                "the queued body differs from the bytes sent".into()
            })?;
            let attributes: BTreeMap<&str, &str> = message
                .attributes
                .iter()
                .map(|(name, value)| (*name, value.as_str()))
                .collect();
            let mut wanted = BTreeMap::from([("source", source)]);
            if let Some(event_type) = event_type {
                wanted.insert("event_type", event_type);
            }
            ensure(attributes == wanted, || {
                format!("attributes {attributes:?}")
            })?;
            let leaked: Vec<&String> = envelope
                .headers
                .keys()
                .filter(|name| name.contains("signature") || name.contains("hmac"))
                .collect();
            ensure(leaked.is_empty(), || {
                format!("signature headers in the envelope: {leaked:?}")
            })?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_event_gets_the_answer_its_case_states() {
    let cases = manifest();
    let files = event_files();
    let stated: BTreeSet<String> = cases.iter().map(|c| format!("{}.json", c.name)).collect();
    let unexplained: Vec<_> = files.difference(&stated).collect();
    assert!(
        unexplained.is_empty(),
        "files in events/ingest/ with no case in events/ingest.toml: {unexplained:?}"
    );
    let missing: Vec<_> = stated.difference(&files).collect();
    assert!(
        missing.is_empty(),
        "cases with no file (run `inlet --env-file local.env fixtures`): {missing:?}"
    );

    let (ingest, queue, objects, _) = ingest().await;
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = check(&ingest, &queue, &objects, case).await {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} events got the wrong answer:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_configured_source_has_a_queued_event() {
    let (_, _, _, config) = ingest().await;
    let cases = manifest();
    for name in config.sources.keys() {
        let path = format!("/webhooks/{name}");
        let queued = cases
            .iter()
            .filter(|case| case.expect.status == 202)
            .any(|case| {
                let file = events_dir().join(format!("{}.json", case.name));
                std::fs::read_to_string(file)
                    .ok()
                    .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                    .is_some_and(|event| event["rawPath"] == json!(path))
            });
        assert!(
            queued,
            "no event in events/ingest/ is queued for source {name}"
        );
    }
}

#[test]
fn every_event_is_a_payload_2_0_event() {
    for file in event_files() {
        let path = events_dir().join(&file);
        let text = std::fs::read_to_string(&path).unwrap();
        let event: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
        let parsed = parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            parsed.request_context.http.method.as_str(),
            event["requestContext"]["http"]["method"].as_str().unwrap(),
            "{file}: requestContext.http.method"
        );
        assert_eq!(event["version"], "2.0", "{file}");
        assert_eq!(event["requestContext"]["stage"], "$default", "{file}");
        assert!(
            event["requestContext"]["timeEpoch"].as_i64().unwrap() > 0,
            "{file}"
        );
        assert!(event["isBase64Encoded"].is_boolean(), "{file}");
        let headers = event["headers"].as_object().unwrap();
        for name in headers.keys() {
            assert_eq!(
                *name,
                name.to_ascii_lowercase(),
                "{file}: API Gateway lower-cases header names"
            );
        }
        let body = sent_body(&event).unwrap();
        if let Some(length) = headers.get("content-length") {
            assert_eq!(
                length.as_str().unwrap(),
                body.len().to_string(),
                "{file}: content-length"
            );
        }
        let seen = lambda::body_bytes(&parsed).unwrap();
        assert_eq!(*seen, body, "{file}: the handler decodes a different body");
    }
}

/// The `function-url-*` events are what a Lambda function URL sends: no route and no path
/// parameters (the handler reads the source from the raw path), the URL's own domain, and the
/// anonymous caller of `AuthType NONE`. Their cases expect what the HTTP API twins get.
#[test]
fn function_url_events_have_the_function_url_shape() {
    let files: Vec<String> = event_files()
        .into_iter()
        .filter(|f| f.starts_with("function-url-"))
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(events_dir().join(&file)).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        let context = &event["requestContext"];
        assert_eq!(event["routeKey"], "$default", "{file}");
        assert_eq!(context["routeKey"], "$default", "{file}");
        assert!(event.get("pathParameters").is_none(), "{file}");
        assert_eq!(context["accountId"], "anonymous", "{file}");
        let domain = context["domainName"].as_str().unwrap();
        assert!(
            domain.ends_with(".on.aws") && domain.contains(".lambda-url."),
            "{file}: {domain}"
        );
        assert_eq!(event["headers"]["host"], domain, "{file}");
    }
}

/// API Gateway only ever sends valid base64, but the handler must not trust that: a body marked
/// base64 that is not is refused before any verification, and nothing is queued.
#[tokio::test]
async fn a_body_marked_base64_that_is_not_is_refused_and_nothing_is_queued() {
    let (ingest, queue, _, _) = ingest().await;
    let text = std::fs::read_to_string(events_dir().join("github-push.json")).unwrap();
    for bad in ["%%% not base64 %%%", "YWJj=ZGVm", "a"] {
        let mut event: Value = serde_json::from_str(&text).unwrap();
        event["isBase64Encoded"] = json!(true);
        event["body"] = json!(bad);
        let event = parse(&event.to_string()).unwrap();
        let now_ms = lambda::received_at_ms(&event).unwrap();
        let response = Answered::of(&ingest, &event, now_ms).await;
        assert_eq!(response.status(), 400, "{bad:?}");
        let reply: Value = serde_json::from_str(&response.text()).unwrap();
        assert_eq!(reply["error"], "malformed_request", "{bad:?}");
        assert!(queue.messages().is_empty(), "{bad:?}");
    }
    // The same delivery, correctly encoded, still goes through.
    let mut event: Value = serde_json::from_str(&text).unwrap();
    let body = sent_body(&event).unwrap();
    event["isBase64Encoded"] = json!(true);
    event["body"] = json!(STANDARD.encode(&body));
    let event = parse(&event.to_string()).unwrap();
    let now_ms = lambda::received_at_ms(&event).unwrap();
    let response = Answered::of(&ingest, &event, now_ms).await;
    assert_eq!(response.status(), 202, "{}", response.text());
    assert_eq!(queue.messages().len(), 1);
}
