//! `inlet schema infer`: a schema inferred from a handful of GitHub pushes (sample payloads, or the
//! local stack's history) accepts every one of them and refuses an altered one, once the config
//! lines it prints are pasted into a config, exactly as ingest would check the body.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use inlet_core::config::Config;
use inlet_testkit::{Run, Scratch, repo_root, run};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// The GitHub source, before any schema.
const CONFIG: &str =
    "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_INFER_TEST\"]\n";

/// `inlet <args>` run in `dir`, where `--out`'s default and the history are relative to.
fn inlet_in(dir: &Path, args: &[&str]) -> Run {
    run(
        Command::new(env!("CARGO_BIN_EXE_inlet"))
            .args(args)
            .current_dir(dir),
        b"",
    )
}

/// The sample GitHub push (events/payloads/github-push.json), as a JSON value to vary.
fn push_payload() -> Value {
    let text =
        std::fs::read_to_string(repo_root().join("events/payloads/github-push.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A body as the sender fills the payload format's placeholders in, at a fixed time.
fn rendered(body: &Value) -> Vec<u8> {
    body.to_string()
        .replace("\"{{now}}\"", "1795352400")
        .replace("{{now_iso}}", "2026-11-22T13:00:00Z")
        .into_bytes()
}

/// Four pushes: the sample, one with two commits, one with fields the others lack, and one
/// (a branch deleted) with `head_commit` null and `base_ref` a string.
fn push_variants() -> Vec<(&'static str, Value)> {
    let plain = push_payload();

    let mut two_commits = plain.clone();
    let mut second = two_commits["body"]["commits"][0].clone();
    second["id"] = json!("9a3c2be4e0a1f2c3d4e5f60718293a4b5c6d7e8f");
    second["message"] = json!("Keep the raw body for the HMAC");
    second["modified"] = json!(["shared/signature/src/lib.rs", "README.md"]);
    second["added"] = json!(["docs/schemas.md"]);
    two_commits["body"]["commits"]
        .as_array_mut()
        .unwrap()
        .push(second);

    let mut extra = plain.clone();
    extra["body"]["organization"] = json!({"login": "example-org", "id": 9919});
    extra["body"]["repository"]["topics"] = json!(["webhooks", "aws"]);

    let mut deleted = plain.clone();
    deleted["body"]["deleted"] = json!(true);
    deleted["body"]["after"] = json!("0000000000000000000000000000000000000000");
    deleted["body"]["commits"] = json!([]);
    deleted["body"]["head_commit"] = Value::Null;
    deleted["body"]["base_ref"] = json!("refs/heads/main");

    vec![
        ("github-push.json", plain),
        ("push-two-commits.json", two_commits),
        ("push-extra-fields.json", extra),
        ("push-branch-deleted.json", deleted),
    ]
}

/// Writes [`CONFIG`] plus the config lines `infer` printed (from its `#` line on) to
/// `dir/inlet.toml`, loads it as ingest does, and returns a check of a body against the GitHub
/// source's schema for `event_type`: the errors ingest would report, none when it conforms.
fn pasted_schema(
    dir: &Path,
    infer: &Run,
    event_type: Option<&str>,
) -> impl Fn(&Value) -> Vec<String> {
    let lines = &infer.stdout[infer.stdout.find("\n#").expect("config lines")..];
    std::fs::write(dir.join("inlet.toml"), format!("{CONFIG}{lines}")).unwrap();
    let config = Config::load(&dir.join("inlet.toml")).unwrap();
    let schemas = &config.source("github").unwrap().schemas;
    let file = schemas.for_type(event_type).expect("a schema for the type");
    let validator = file.validator.clone().unwrap();
    move |body| {
        inlet_core::schema::check(&validator, &rendered(body))
            .into_iter()
            .map(|e| format!("{}: {}", e.place(), e.message))
            .collect()
    }
}

#[test]
fn a_schema_inferred_from_samples_accepts_them_and_refuses_an_altered_one() {
    let scratch = Scratch::with_prefix("inlet-cli-schema-infer");
    let dir = scratch.path();
    std::fs::write(dir.join("inlet.toml"), CONFIG).unwrap();
    std::fs::create_dir_all(dir.join("samples")).unwrap();
    let variants = push_variants();
    for (name, payload) in &variants {
        std::fs::write(dir.join("samples").join(name), payload.to_string()).unwrap();
    }
    // A form post is no JSON: skipped, and counted.
    std::fs::write(
        dir.join("samples/form.json"),
        r#"{"source": "github", "headers": {"X-GitHub-Event": "push"}, "body": "a=1&b=2"}"#,
    )
    .unwrap();

    let infer = inlet_in(dir, &["schema", "infer", "--from", "samples"]);
    assert_eq!(infer.code, 0, "{infer:?}");
    assert!(
        infer
            .stdout
            .starts_with("wrote schemas/github/push.json from 4 deliveries\n"),
        "{infer:?}"
    );
    assert!(
        infer
            .stdout
            .contains("\n[sources.github.schemas]\npush = \"schemas/github/push.json\"\n"),
        "{infer:?}"
    );
    assert!(
        infer
            .stderr
            .contains("skipped 1 delivery whose body is not JSON"),
        "{infer:?}"
    );

    let written: Value =
        serde_json::from_slice(&std::fs::read(dir.join("schemas/github/push.json")).unwrap())
            .unwrap();
    assert_eq!(
        written["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(written["title"], "github push");
    assert!(
        written["description"]
            .as_str()
            .unwrap()
            .contains("from 4 deliveries"),
        "{written}"
    );
    let properties = &written["properties"];
    // Placeholders are filled in as the sender's would be: `"{{now}}"` is a number.
    assert_eq!(
        properties["repository"]["properties"]["pushed_at"]["type"],
        "integer"
    );
    assert_eq!(properties["head_commit"]["type"], json!(["object", "null"]));
    assert_eq!(properties["base_ref"]["type"], json!(["string", "null"]));
    let required = written["required"].as_array().unwrap();
    assert!(required.contains(&json!("pusher")), "{written}");
    assert!(
        !required.contains(&json!("organization")),
        "only one sample has it: {written}"
    );

    let errors = pasted_schema(dir, &infer, Some("push"));
    for (name, payload) in &variants {
        assert_eq!(errors(&payload["body"]), Vec::<String>::new(), "{name}");
    }
    // Altered: a field every sample has, removed; a field's type changed; a commit's.
    let sample = &variants[0].1["body"];
    let mut no_pusher = sample.clone();
    no_pusher.as_object_mut().unwrap().remove("pusher");
    let mut id_as_text = sample.clone();
    id_as_text["repository"]["id"] = json!("79929171");
    let mut commit_without_id = sample.clone();
    commit_without_id["commits"][0]
        .as_object_mut()
        .unwrap()
        .remove("id");
    for (what, body, place) in [
        ("pusher removed", &no_pusher, "(the body)"),
        ("repository.id a string", &id_as_text, "/repository/id"),
        ("a commit without an id", &commit_without_id, "/commits/0"),
    ] {
        let found = errors(body);
        assert!(
            found.iter().any(|e| e.starts_with(&format!("{place}: "))),
            "{what}: {found:?}"
        );
    }

    // The pasted config passes `inlet check` too.
    std::fs::write(dir.join("test.env"), "INLET_INFER_TEST=infer-test-secret\n").unwrap();
    let check = inlet_in(dir, &["--env-file", "test.env", "check"]);
    assert_eq!(check.code, 0, "{check:?}");
}

#[test]
fn existing_schemas_are_kept_unless_forced() {
    let scratch = Scratch::with_prefix("inlet-cli-schema-infer-force");
    let dir = scratch.path();
    let sample = dir.join("push.json");
    std::fs::write(&sample, push_payload().to_string()).unwrap();
    let sample = sample.to_str().unwrap();
    let first = inlet_in(dir, &["schema", "infer", "--from", sample, "--out", "out"]);
    assert_eq!(first.code, 0, "{first:?}");
    let target = dir.join("out/github/push.json");
    std::fs::write(&target, "{\"mine\": true}\n").unwrap();

    let again = inlet_in(dir, &["schema", "infer", "--from", sample, "--out", "out"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(
        again.stderr.contains("out/github/push.json already exists")
            && again.stderr.contains("--force"),
        "{again:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "{\"mine\": true}\n"
    );

    let forced = inlet_in(
        dir,
        &[
            "schema", "infer", "--from", sample, "--out", "out", "--force",
        ],
    );
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("\"title\": \"github push\""),
        "{forced:?}"
    );
}

#[test]
fn plain_bodies_need_a_source_and_take_the_type_given() {
    let scratch = Scratch::with_prefix("inlet-cli-schema-infer-plain");
    let dir = scratch.path();
    let body = dir.join("body.json");
    // A body as a provider sent it: placeholders filled in.
    std::fs::write(&body, rendered(&push_payload()["body"])).unwrap();
    let body = body.to_str().unwrap();

    let refused = inlet_in(dir, &["schema", "infer", "--from", body]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("give --source NAME"), "{refused:?}");

    let untyped = inlet_in(
        dir,
        &["schema", "infer", "--from", body, "--source", "github"],
    );
    assert_eq!(untyped.code, 0, "{untyped:?}");
    assert!(
        untyped
            .stdout
            .contains("\"*\" = \"schemas/github/any.json\"\n"),
        "{untyped:?}"
    );
    let typed = inlet_in(
        dir,
        &[
            "schema",
            "infer",
            "--from",
            body,
            "--source",
            "github",
            "--event-type",
            "push",
        ],
    );
    assert_eq!(typed.code, 0, "{typed:?}");
    let errors = pasted_schema(dir, &typed, Some("push"));
    assert!(errors(&push_payload()["body"]).is_empty());
}

/// A line of `.inlet/history.jsonl` in the shape `inlet dev`'s inspector writes it (the store's
/// `Delivery`, cli/src/dev/inspector/store/records.rs).
fn history_line(seq: u64, key: Option<&str>, state: &str, body: &Value) -> String {
    let status = if key.is_some() { 202 } else { 422 };
    json!({
        "id": format!("d-{seq:06}"),
        "seq": seq,
        "received_at": "2026-11-28T13:00:00.000Z",
        "source": "github",
        "event_type": "push",
        "event_id": key.map(|k| k.trim_start_matches("github#")),
        "key": key,
        "status": status,
        "code": if key.is_some() { Value::Null } else { json!("schema_invalid") },
        "state": state,
        "state_detail": "",
        "next_try_at": null,
        "dead_letter_at": null,
        "attempts": 1,
        "message_id": null,
        "last_message_id": null,
        "gone": false,
        "replay_of": null,
        "request": {
            "method": "POST",
            "path": "/webhooks/github",
            "query": null,
            "headers": [["x-github-event", "push"]],
            "body": STANDARD.encode(rendered(body)),
            "body_truncated_from": null
        },
        "verdict": {"status": status, "code": null, "message": "", "verified": true},
        "envelope": null,
        "action_attempts": [],
        "routes": []
    })
    .to_string()
}

#[test]
fn the_local_stacks_history_is_read_without_from() {
    let scratch = Scratch::with_prefix("inlet-cli-schema-infer-history");
    let dir = scratch.path();

    let none = inlet_in(dir, &["schema", "infer"]);
    assert_eq!(none.code, 1, "{none:?}");
    assert!(
        none.stderr.contains("no usable deliveries") && none.stderr.contains("--from"),
        "{none:?}"
    );

    let variants = push_variants();
    let bodies: Vec<&Value> = variants.iter().map(|(_, p)| &p["body"]).collect();
    let refused = json!({"zen": "Keep it logically awesome."});
    let lines = [
        history_line(1, Some("github#a"), "queued", bodies[0]),
        history_line(1, Some("github#a"), "processed", bodies[0]),
        history_line(2, Some("github#b"), "processed", bodies[1]),
        history_line(3, Some("github#c"), "dead_lettered", bodies[2]),
        history_line(4, None, "rejected", &refused),
        history_line(5, Some("github#d"), "queued", bodies[3]),
    ];
    std::fs::create_dir_all(dir.join(".inlet")).unwrap();
    std::fs::write(dir.join(".inlet/history.jsonl"), lines.join("\n") + "\n").unwrap();

    let other = inlet_in(dir, &["schema", "infer", "--source", "stripe"]);
    assert_eq!(other.code, 1, "{other:?}");

    let infer = inlet_in(dir, &["schema", "infer"]);
    assert_eq!(infer.code, 0, "{infer:?}");
    assert!(
        infer
            .stdout
            .starts_with("wrote schemas/github/push.json from 4 deliveries\n"),
        "the rejected one is no sample, and a delivery's later line replaces its first: {infer:?}"
    );
    let errors = pasted_schema(dir, &infer, Some("push"));
    for body in &bodies {
        assert_eq!(errors(body), Vec::<String>::new());
    }
    assert!(!errors(&refused).is_empty());
}
