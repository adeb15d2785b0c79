//! Sources' JSON Schemas: the config keys and their refusals, ingest's verdict (`on_invalid =
//! "reject"`: a 422 with the errors, nothing queued; `"dead_letter"`: queued with its errors),
//! and process dead-lettering such an event as `schema_invalid` before any route runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::process_pipeline::{Batch, CLOCK, Scripted, envelope_json, pipeline};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use inlet_core::config::{Config, OnInvalid};
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Ingest, IngestRequest, Outcome, Reply};
use inlet_core::ports::memory::{MemoryQueue, MemorySecrets};
use inlet_core::process::{RecordOutcome, SCHEMA_ERRORS};
use inlet_core::schema::SchemaError;
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use inlet_signature::Delivery;
use inlet_testkit::Scratch;
use inlet_testkit::providers::named;
use std::path::{Path, PathBuf};

const NOW: i64 = 1_795_352_400;

/// A push must name its ref and repository (an id and a name); commits must have ids.
const PUSH_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["ref", "repository"],
  "properties": {
    "ref": {"type": "string"},
    "repository": {
      "type": "object",
      "required": ["id", "full_name"],
      "properties": {"id": {"type": "integer"}, "full_name": {"type": "string"}}
    },
    "commits": {"type": "array", "items": {"type": "object", "required": ["id"]}}
  }
}"#;

/// Anything else from GitHub must at least be an object with a sender (draft 7).
const ANY_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["sender"]
}"#;

const GOOD_PUSH: &str = r#"{"ref":"refs/heads/main","repository":{"id":1296269,"full_name":"octo/hello"},"commits":[{"id":"a1"}]}"#;
/// The repository's id is missing, and the second commit has none.
const BAD_PUSH: &str = r#"{"ref":"refs/heads/main","repository":{"full_name":"octo/hello"},"commits":[{"id":"a1"},{"message":"m"}]}"#;

/// A config directory holding `inlet.toml` (GitHub, with `extra` appended to its source) and
/// the two schema files under `schemas/github/`.
fn config_dir(extra: &str) -> (Scratch, PathBuf) {
    let scratch = Scratch::with_prefix("inlet-core-schemas");
    let dir = scratch.path().to_owned();
    std::fs::create_dir_all(dir.join("schemas/github")).unwrap();
    std::fs::write(dir.join("schemas/github/push.json"), PUSH_SCHEMA).unwrap();
    std::fs::write(dir.join("schemas/github/any.json"), ANY_SCHEMA).unwrap();
    let config = format!(
        "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\nevents = [\"push\", \"issues\", \"ping\"]\n{extra}\n"
    );
    let path = dir.join("inlet.toml");
    std::fs::write(&path, config).unwrap();
    (scratch, path)
}

const BOTH: &str = "[sources.github.schemas]\npush = \"schemas/github/push.json\"\n\"*\" = \"./schemas/github/any.json\"\n";

fn refusal(path: &Path) -> String {
    match Config::load(path) {
        Ok(_) => panic!("accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn schemas_are_read_relative_to_the_config_and_compiled_at_start_up() {
    let (_scratch, path) = config_dir(&format!("on_invalid = \"reject\"\n{BOTH}"));
    let config = Config::load(&path).unwrap();
    let schemas = &config.source("github").unwrap().schemas;
    assert_eq!(schemas.on_invalid, OnInvalid::Reject);
    assert_eq!(
        schemas.for_type(Some("push")).unwrap().path,
        "schemas/github/push.json"
    );
    assert_eq!(
        schemas.for_type(Some("issues")).unwrap().path,
        "./schemas/github/any.json"
    );
    assert_eq!(
        schemas.for_type(None).unwrap().path,
        "./schemas/github/any.json"
    );
    assert!(schemas.by_type.values().all(|s| s.validator.is_some()));
}

#[test]
fn each_bad_schema_is_refused_naming_its_key() {
    let cases = [
        // (the source's extra lines, the key named, what the refusal says)
        (
            "[sources.github.schemas]\npush = \"schemas/github/gone.json\"",
            "`sources.github.schemas.push`",
            "cannot read",
        ),
        (
            "[sources.github.schemas]\npush = \"inlet.toml\"",
            "`sources.github.schemas.push`",
            "is not JSON",
        ),
        (
            "[sources.github.schemas]\n\"*\" = \"bad.json\"",
            "`sources.github.schemas.\"*\"`",
            "not a valid schema",
        ),
        (
            "[sources.github.schemas]\npush = \"draft4.json\"",
            "`sources.github.schemas.push`",
            "draft 2020-12 or draft 7",
        ),
        (
            "[sources.github.schemas]\npush = \"../push.json\"",
            "`sources.github.schemas.push`",
            "without `..`",
        ),
        (
            "[sources.github.schemas]\npush = \"/etc/push.json\"",
            "`sources.github.schemas.push`",
            "relative to the config",
        ),
        (
            "[sources.github.schemas]\n\"\" = \"schemas/github/push.json\"",
            "`sources.github.schemas.\"\"`",
            "an event type",
        ),
        (
            "on_invalid = \"drop\"\n[sources.github.schemas]\npush = \"schemas/github/push.json\"",
            "`sources.github.on_invalid`",
            "\"dead_letter\" or \"reject\"",
        ),
        (
            "on_invalid = \"reject\"",
            "`sources.github.on_invalid`",
            "has none",
        ),
    ];
    for (extra, key, says) in cases {
        let (scratch, path) = config_dir(extra);
        std::fs::write(scratch.path().join("bad.json"), r#"{"type": 12}"#).unwrap();
        std::fs::write(
            scratch.path().join("draft4.json"),
            r#"{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}"#,
        )
        .unwrap();
        let message = refusal(&path);
        assert!(
            message.starts_with(&format!("{}: {key}: ", path.display())),
            "{extra}: {message}"
        );
        assert!(message.contains(says), "{extra}: {message}");
    }
}

fn secrets() -> Env {
    Env::Map([("GH".to_owned(), "gh-secret".to_owned())].into())
}

async fn ingest(extra: &str) -> (Ingest<MemoryQueue, MemorySecrets>, MemoryQueue, Scratch) {
    let (scratch, path) = config_dir(extra);
    let config = Config::load(&path).unwrap();
    let resolver = SecretResolver::new(secrets(), MemorySecrets::default());
    let keys = KeyRing::load(&config, resolver).await.unwrap();
    let queue = MemoryQueue::new();
    (
        Ingest::new(config, keys, queue.clone(), false),
        queue,
        scratch,
    )
}

async fn deliver(ingest: &Ingest<MemoryQueue, MemorySecrets>, event: &str, body: &str) -> Reply {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("x-github-event", event),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("content-type", "application/json"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let scheme = named("github");
    let key = scheme.key("gh-secret").unwrap();
    let delivery = Delivery {
        headers: &headers,
        body: body.as_bytes(),
        url: None,
        method: "POST",
        query: None,
    };
    for (name, value) in scheme.sign(&delivery, &key, NOW).unwrap() {
        headers.insert(name, value);
    }
    let request = IngestRequest {
        method: &Method::POST,
        source: Some("github"),
        query: None,
        headers: &headers,
        body: body.as_bytes(),
        source_ip: None,
        xray_trace: None,
    };
    ingest.handle(&request, NOW * 1000).await
}

fn queued(queue: &MemoryQueue) -> Vec<Envelope> {
    queue
        .messages()
        .iter()
        .map(|m| Envelope::from_json(&m.body).unwrap())
        .collect()
}

#[tokio::test]
async fn reject_answers_422_with_the_errors_as_json_pointers_and_queues_nothing() {
    let (ingest, queue, _scratch) = ingest(&format!("on_invalid = \"reject\"\n{BOTH}")).await;
    let reply = deliver(&ingest, "push", BAD_PUSH).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(
        reply.outcome,
        Outcome::Rejected {
            code: "schema_invalid"
        }
    );
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["error"], "schema_invalid");
    assert!(
        body["message"].as_str().unwrap().contains("`push`"),
        "{body}"
    );
    let mut errors: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap(),
                e["message"].as_str().unwrap(),
            )
        })
        .collect();
    errors.sort_unstable();
    assert_eq!(errors.len(), 2, "{body}");
    assert_eq!(
        (errors[0].0, errors[1].0),
        ("/commits/1", "/repository"),
        "{body}"
    );
    assert!(
        errors.iter().all(|(_, message)| message.contains("'id'")),
        "{body}"
    );
    assert!(queue.is_empty());

    // The same source takes a conforming push, and the "*" schema covers other types.
    let reply = deliver(&ingest, "push", GOOD_PUSH).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(queued(&queue)[0].schema_errors, None);
    let reply = deliver(&ingest, "issues", r#"{"action":"opened"}"#).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    let reply = deliver(
        &ingest,
        "issues",
        r#"{"action":"opened","sender":{"id":1}}"#,
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
}

#[tokio::test]
async fn dead_letter_is_the_default_the_delivery_queued_with_its_errors() {
    let (ingest, queue, _scratch) = ingest(BOTH).await;
    let reply = deliver(&ingest, "push", BAD_PUSH).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let envelopes = queued(&queue);
    let errors = envelopes[0]
        .schema_errors
        .as_ref()
        .expect("the errors travel with it");
    let mut pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
    pointers.sort_unstable();
    assert_eq!(pointers, ["/commits/1", "/repository"]);
    // The body is queued byte for byte all the same: nothing is lost.
    assert_eq!(envelopes[0].body.as_deref(), Some(BAD_PUSH));
}

#[tokio::test]
async fn a_type_without_a_schema_of_its_own_or_a_star_is_not_checked() {
    let (ingest, queue, _scratch) = ingest(
        "on_invalid = \"reject\"\n[sources.github.schemas]\npush = \"schemas/github/push.json\"\n",
    )
    .await;
    let reply = deliver(&ingest, "ping", r#"{"zen":"Keep it logically awesome."}"#).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(queued(&queue)[0].schema_errors, None);
}

/// The process suite's GitHub push envelope, as ingest queues it for a body that broke its schema.
fn invalid_envelope(errors: Vec<SchemaError>) -> String {
    let mut envelope = Envelope::from_json(&envelope_json("github", "d1", BAD_PUSH)).unwrap();
    envelope.schema_errors = Some(errors);
    envelope.to_json()
}

#[tokio::test]
async fn process_dead_letters_a_schema_invalid_event_before_any_route_runs() {
    let rig = pipeline(Scripted::default());
    let errors = vec![
        SchemaError {
            pointer: "/repository".into(),
            message: "\"id\" is a required property".into(),
        },
        SchemaError {
            pointer: "/commits/1".into(),
            message: "\"id\" is a required property".into(),
        },
    ];
    let batch = Batch::new().push("m1", invalid_envelope(errors.clone()));
    let result = rig.process.handle_batch(&batch.records(), CLOCK).await;
    assert_eq!(
        result.outcomes,
        vec![(
            "m1".into(),
            RecordOutcome::DeadLettered {
                reason: "schema_invalid"
            }
        )]
    );
    assert!(result.failures().is_empty(), "acknowledged");
    assert!(rig.handler.ran().is_empty(), "no route ran");
    assert_eq!(rig.store.calls(), 0, "nothing was claimed");
    let letters = rig.dead_letters.messages();
    assert_eq!(letters.len(), 1);
    let attribute = |name: &str| {
        letters[0]
            .attributes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(attribute("reason").as_deref(), Some("schema_invalid"));
    assert_eq!(attribute("source").as_deref(), Some("github"));
    let carried: Vec<SchemaError> =
        serde_json::from_str(&attribute(SCHEMA_ERRORS).unwrap()).unwrap();
    assert_eq!(carried, errors);
    assert_eq!(
        letters[0].body,
        batch.records()[0].body,
        "the record itself"
    );
}
