//! `inlet asyncapi` through the built binary: the document it prints validates against the
//! AsyncAPI 3.0.0 JSON Schema (vendored in `asyncapi/`, see its README), and says what the config
//! says: a channel per source, a message per event type with its schema, the routes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::bare;
use inlet_core::schema::{SchemaError, Validator, check, compile};
use inlet_testkit::{Run, Scratch, repo_root};
use serde_json::{Value, json};
use std::path::Path;

/// The official schema of AsyncAPI 3.0.0 documents (draft 7, every definition inline).
const ASYNCAPI_SCHEMA: &str = include_str!("asyncapi/asyncapi-3.0.0.schema.json");

/// Compiled as ingest compiles a source's schema: boon, no remote `$ref`.
fn asyncapi_validator() -> Validator {
    compile(serde_json::from_str(ASYNCAPI_SCHEMA).unwrap()).unwrap()
}

fn errors(validator: &Validator, document: &Value) -> Vec<SchemaError> {
    check(validator, document.to_string().as_bytes())
}

/// A draft 7 schema, for Stripe's `charge.succeeded`.
const CHARGE_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["id", "type"],
  "properties": {"id": {"type": "string"}, "type": {"const": "charge.succeeded"}}
}"#;

/// A schema without `$schema` (draft 2020-12, as Inlet reads it), for any CRM event.
const CRM_SCHEMA: &str = r##"{
  "type": "object",
  "required": ["event"],
  "$defs": {"id": {"type": "string"}},
  "properties": {"event": {"type": "string"}, "id": {"$ref": "#/$defs/id"}}
}"##;

/// Sources of every kind (a provider with a 2020-12 schema, one with an `events` list and a draft
/// 7 schema, an `hmac` source with a `"*"` schema, a token provider, an unsigned source) and a
/// route to each kind of destination.
const CONFIG: &str = r#"
[sources.github]
scheme = "github"
secrets = ["env:GH"]
[sources.github.schemas]
push = "schemas/github/push.json"

[sources.stripe]
scheme = "stripe"
secrets = ["env:ST", "env:ST_PREVIOUS"]
events = ["charge.succeeded", "invoice.*"]
on_invalid = "reject"
[sources.stripe.schemas]
"charge.succeeded" = "schemas/stripe/charge.json"

[sources.crm]
scheme = "hmac"
header = "X-Signature"
algorithm = "sha256"
encoding = "hex"
prefix = "sha256="
timestamp_header = "X-Timestamp"
type_pointer = "/event"
secrets = ["env:CRM"]
allow_ips = ["203.0.113.0/24"]
[sources.crm.schemas]
"*" = "schemas/crm/any.json"

[sources.gitlab]
scheme = "gitlab"
secrets = ["env:GL"]

[sources.open]
scheme = "none"
allow_unsigned = true

[[routes]]
name = "agent"
source = "github"
events = ["push"]
action = { type = "forward", url = "https://bot:hunter2@agent.example.com/hooks?token=s3cret", secret = "env:FW" }

[[routes]]
name = "audit"
source = "github"
transform = '{kind: .action}'
action = { type = "eventbridge", bus = "audit" }

[[routes]]
name = "invoices"
source = "stripe"
events = ["invoice.*"]
action = { type = "sqs", queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/billing.fifo", group_pointer = "/data/object/customer" }

[[routes]]
name = "contacts"
source = "crm"
when = [{ pointer = "/event", prefix = "contact." }]
action = { type = "sns", topic_arn = "arn:aws:sns:us-east-1:123456789012:crm-contacts" }

[[routes]]
name = "open-log"
source = "open"
action = { type = "log" }
"#;

/// Writes the config and its schema files under `dir`; returns the config's path.
fn setup(dir: &Path) -> String {
    for sub in ["schemas/github", "schemas/stripe", "schemas/crm"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::copy(
        repo_root().join("events/schemas/github/push.json"),
        dir.join("schemas/github/push.json"),
    )
    .unwrap();
    std::fs::write(dir.join("schemas/stripe/charge.json"), CHARGE_SCHEMA).unwrap();
    std::fs::write(dir.join("schemas/crm/any.json"), CRM_SCHEMA).unwrap();
    let config = dir.join("inlet.toml");
    std::fs::write(&config, CONFIG).unwrap();
    config.to_str().unwrap().to_owned()
}

fn asyncapi(config: &str, args: &[&str]) -> Run {
    bare(&[&["--config", config, "asyncapi"], args].concat(), b"")
}

fn file_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_document_validates_and_describes_every_source_and_route() {
    let scratch = Scratch::with_prefix("inlet-cli-asyncapi");
    let dir = scratch.path();
    let config = setup(dir);
    let run = asyncapi(
        &config,
        &[
            "--server",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/",
            "--title",
            "Acme webhooks",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();

    let found = errors(&asyncapi_validator(), &doc);
    assert!(
        found.is_empty(),
        "not a valid AsyncAPI 3.0 document: {found:?}"
    );

    assert_eq!(doc["asyncapi"], "3.0.0");
    assert_eq!(doc["info"]["title"], "Acme webhooks");
    assert_eq!(doc["info"]["version"], "1.0.0");
    assert_eq!(
        doc["servers"]["webhooks"],
        json!({
            "host": "abc123.execute-api.eu-west-1.amazonaws.com",
            "pathname": "/prod",
            "protocol": "https",
            "description": doc["servers"]["webhooks"]["description"],
        })
    );

    // One channel per source, at its path.
    let channels = doc["channels"].as_object().unwrap();
    let names: Vec<&str> = channels.keys().map(String::as_str).collect();
    assert_eq!(names, ["crm", "github", "gitlab", "open", "stripe"]);
    for (name, channel) in channels {
        assert_eq!(channel["address"], format!("/webhooks/{name}"), "{name}");
        assert_eq!(
            doc["operations"][format!("receive.{name}")]["channel"]["$ref"],
            format!("#/channels/{name}")
        );
        assert_eq!(
            doc["operations"][format!("receive.{name}")]["bindings"]["http"]["method"],
            "POST"
        );
    }

    // Messages per type, each payload the schema file itself, in the format it is written in.
    let message = |source: &str, key: &str| channels[source]["messages"][key].clone();
    let keys = |source: &str| -> Vec<String> {
        channels[source]["messages"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let push = message("github", "push");
    assert_eq!(push["name"], "push");
    assert_eq!(
        push["payload"]["schemaFormat"],
        "application/schema+json;version=draft-2020-12"
    );
    assert_eq!(
        push["payload"]["schema"],
        file_json(&dir.join("schemas/github/push.json"))
    );
    assert_eq!(
        push["headers"]["properties"]["x-github-event"]["const"],
        "push"
    );
    assert!(
        push["headers"]["required"]
            .as_array()
            .unwrap()
            .contains(&json!("x-hub-signature-256"))
    );
    // GitHub takes any type: a message for the others, with no schema to check.
    assert_eq!(keys("github"), ["any", "push"]);
    assert_eq!(message("github", "any")["payload"], json!({}));

    // Stripe's list: no message for other types; the draft 7 schema as draft 7.
    assert_eq!(keys("stripe"), ["charge.succeeded", "invoice._"]);
    let charge = message("stripe", "charge.succeeded");
    assert_eq!(
        charge["payload"]["schemaFormat"],
        "application/schema+json;version=draft-07"
    );
    assert_eq!(
        charge["payload"]["schema"],
        serde_json::from_str::<Value>(CHARGE_SCHEMA).unwrap()
    );
    assert!(
        charge["description"].as_str().unwrap().contains("422"),
        "{charge}"
    );
    assert_eq!(message("stripe", "invoice._")["name"], "invoice.*");

    // The hmac source's `"*"` schema is its message for any type.
    assert_eq!(keys("crm"), ["any"]);
    let crm = message("crm", "any");
    assert_eq!(crm["name"], "*");
    assert_eq!(
        crm["payload"]["schema"],
        serde_json::from_str::<Value>(CRM_SCHEMA).unwrap()
    );
    assert_eq!(
        crm["payload"]["schemaFormat"],
        "application/schema+json;version=draft-2020-12"
    );
    assert!(
        channels["crm"]["description"]
            .as_str()
            .unwrap()
            .contains("203.0.113.0/24")
    );

    // Security: each signed source's scheme in words, named on its receive operation.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["github"]["type"], "httpApiKey");
    assert_eq!(schemes["github"]["in"], "header");
    assert_eq!(schemes["github"]["name"], "x-hub-signature-256");
    assert!(
        schemes["github"]["description"]
            .as_str()
            .unwrap()
            .contains("HMAC-SHA256")
    );
    assert_eq!(schemes["gitlab"]["name"], "x-gitlab-token");
    assert!(
        schemes["gitlab"]["description"]
            .as_str()
            .unwrap()
            .contains("token")
    );
    assert_eq!(schemes["hmac.crm"]["name"], "x-signature");
    assert_eq!(
        doc["operations"]["receive.github"]["security"],
        json!([{"$ref": "#/components/securitySchemes/github"}])
    );
    assert_eq!(
        doc["operations"]["receive.crm"]["security"],
        json!([{"$ref": "#/components/securitySchemes/hmac.crm"}])
    );
    assert!(doc["operations"]["receive.open"].get("security").is_none());
    assert!(schemes.get("open").is_none());

    // Routes: what goes where, the destination named without credentials or query.
    let ops = &doc["operations"];
    let agent = &ops["agent"];
    assert_eq!(agent["action"], "send");
    assert_eq!(agent["channel"]["$ref"], "#/channels/github");
    assert_eq!(
        agent["messages"],
        json!([{"$ref": "#/channels/github/messages/push"}])
    );
    assert_eq!(
        agent["x-inlet-route"]["destination"],
        json!({"type": "forward", "target": "https://agent.example.com/hooks"})
    );
    assert!(
        agent["summary"]
            .as_str()
            .unwrap()
            .contains("forward https://agent.example.com/hooks"),
        "{agent}"
    );
    assert!(!run.stdout.contains("hunter2") && !run.stdout.contains("s3cret"));
    assert_eq!(
        ops["audit"]["x-inlet-route"]["transform"],
        "{kind: .action}"
    );
    assert_eq!(
        ops["audit"]["messages"].as_array().unwrap().len(),
        2,
        "{}",
        ops["audit"]
    );
    assert_eq!(
        ops["invoices"]["x-inlet-route"]["destination"]["target"],
        "https://sqs.us-east-1.amazonaws.com/123456789012/billing.fifo"
    );
    assert_eq!(
        ops["invoices"]["messages"],
        json!([{"$ref": "#/channels/stripe/messages/invoice._"}])
    );
    assert_eq!(
        ops["contacts"]["x-inlet-route"]["when"],
        json!(["the body's `/event` starts with \"contact.\""])
    );
    assert!(
        ops["contacts"]["description"]
            .as_str()
            .unwrap()
            .contains("arn:aws:sns:us-east-1:123456789012:crm-contacts")
    );
    assert_eq!(
        ops["open-log"]["x-inlet-route"]["destination"]["type"],
        "log"
    );
    // Every message an operation lists is one of its channel's.
    for (name, op) in ops.as_object().unwrap() {
        let channel = op["channel"]["$ref"].as_str().unwrap();
        for reference in op["messages"].as_array().unwrap() {
            let reference = reference["$ref"].as_str().unwrap();
            assert!(
                reference.starts_with(&format!("{channel}/messages/")),
                "{name}"
            );
            assert!(
                doc.pointer(reference.trim_start_matches('#')).is_some(),
                "{name}: {reference}"
            );
        }
    }
}

#[test]
fn the_same_config_gives_the_same_document_and_output_writes_it() {
    let scratch = Scratch::with_prefix("inlet-cli-asyncapi-stable");
    let dir = scratch.path();
    let config = setup(dir);
    let first = asyncapi(&config, &[]);
    let second = asyncapi(&config, &[]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.stdout, second.stdout);
    let doc: Value = serde_json::from_str(&first.stdout).unwrap();
    assert!(doc.get("servers").is_none(), "no --server, no servers");
    assert_eq!(doc["info"]["title"], "Inlet webhooks");

    let out = dir.join("asyncapi.json");
    let written = asyncapi(&config, &["--output", out.to_str().unwrap()]);
    assert_eq!(written.code, 0, "{written:?}");
    assert!(
        written.stdout.contains("5 channels, 10 operations"),
        "{written:?}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), first.stdout);
}

/// A change that makes a good document invalid.
type Breaking = fn(&mut Value);

#[test]
fn the_validator_refuses_a_broken_document() {
    let scratch = Scratch::with_prefix("inlet-cli-asyncapi-broken");
    let config = setup(scratch.path());
    let run = asyncapi(&config, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let good: Value = serde_json::from_str(&run.stdout).unwrap();
    let validator = asyncapi_validator();
    assert!(errors(&validator, &good).is_empty());

    let broken: [(&str, Breaking); 4] = [
        ("another AsyncAPI version", |d| {
            d["asyncapi"] = json!("2.0.0")
        }),
        ("an address that is no string", |d| {
            d["channels"]["github"]["address"] = json!(42);
        }),
        ("an operation without its action", |d| {
            d["operations"]["agent"]
                .as_object_mut()
                .unwrap()
                .remove("action");
        }),
        ("a security scheme of no known type", |d| {
            d["components"]["securitySchemes"]["github"]["type"] = json!("signature");
        }),
    ];
    for (what, breaking) in broken {
        let mut doc = good.clone();
        breaking(&mut doc);
        assert!(!errors(&validator, &doc).is_empty(), "{what} passed");
    }
}

#[test]
fn a_config_error_exits_2_naming_the_key() {
    let scratch = Scratch::with_prefix("inlet-cli-asyncapi-bad");
    let dir = scratch.path();
    let config = setup(dir);
    std::fs::remove_file(dir.join("schemas/stripe/charge.json")).unwrap();
    let run = asyncapi(&config, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr
            .contains("sources.stripe.schemas.\"charge.succeeded\""),
        "{run:?}"
    );

    std::fs::write(
        dir.join("inlet.toml"),
        "[sources.open]\nscheme = \"none\"\nallow_unsigned = true\n\
         [[routes]]\nsource = \"nowhere\"\naction = { type = \"log\" }\n",
    )
    .unwrap();
    let run = asyncapi(&config, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("routes[0].source"), "{run:?}");

    let run = asyncapi(&setup(dir), &["--server", "ftp://example.com"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--server"), "{run:?}");
}

#[test]
fn the_sample_configs_give_valid_documents() {
    let validator = asyncapi_validator();
    let routes = repo_root().join("docs/examples/routes.toml");
    // Signatures in the body have no header to name: a security scheme of another type.
    let scratch = Scratch::with_prefix("inlet-cli-asyncapi-body");
    let in_body = scratch.path().join("inlet.toml");
    std::fs::write(
        &in_body,
        "[sources.mail]\nscheme = \"mailgun\"\nsecrets = [\"env:M\"]\n\
         [sources.discord]\nscheme = \"discord\"\nsecrets = [\"env:D\"]\n",
    )
    .unwrap();
    let body_run = bare(&["--config", in_body.to_str().unwrap(), "asyncapi"], b"");
    let body_doc: Value = serde_json::from_str(&body_run.stdout).unwrap();
    let mailgun = &body_doc["components"]["securitySchemes"]["mailgun"];
    assert_eq!(mailgun["type"], "symmetricEncryption", "{body_doc}");
    assert!(mailgun["x-inlet-description"].is_string(), "{body_doc}");
    for run in [
        crate::common::inlet(&["asyncapi"]),
        bare(&["--config", routes.to_str().unwrap(), "asyncapi"], b""),
        body_run,
    ] {
        assert_eq!(run.code, 0, "{run:?}");
        let doc: Value = serde_json::from_str(&run.stdout).unwrap();
        let found = errors(&validator, &doc);
        assert!(found.is_empty(), "{found:?}");
    }
}
