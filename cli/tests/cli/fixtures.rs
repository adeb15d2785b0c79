//! `inlet fixtures`: the committed fixtures are exactly what the generator makes, so the two never
//! drift apart (a change to a payload, a case, a secret or a scheme shows up here).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::inlet;
use inlet_testkit::{Scratch, repo_root};
use std::collections::BTreeMap;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().into_string().unwrap(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn regenerating_reproduces_the_committed_fixtures() {
    let scratch = Scratch::with_prefix("regenerating_reproduces_the_committed_fixtures");
    let out = scratch.path();
    // A leftover from a case that no longer exists must go.
    std::fs::create_dir_all(out.join("ingest")).unwrap();
    std::fs::write(out.join("ingest/retired-case.json"), "{}").unwrap();

    let from = repo_root().join("events");
    let run = inlet(&[
        "fixtures",
        "--from",
        from.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("removed"), "{run:?}");

    let committed = files(&from.join("ingest"));
    let generated = files(&out.join("ingest"));
    assert!(!committed.is_empty());
    let names = |files: &BTreeMap<String, Vec<u8>>| files.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&generated),
        names(&committed),
        "run `inlet --env-file local.env fixtures` and commit the result"
    );
    for (name, bytes) in &committed {
        assert!(
            generated[name] == *bytes,
            "events/ingest/{name} differs from what `inlet --env-file local.env fixtures` makes"
        );
    }
}

#[test]
fn now_moves_every_timestamp_and_signature() {
    let from = repo_root().join("events");
    let scratch = Scratch::with_prefix("now_moves_every_timestamp_and_signature");
    let out = scratch.path();
    let run = inlet(&[
        "fixtures",
        "--from",
        from.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--now",
        "1800000000",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let event: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("ingest/stripe-invoice-paid.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(event["requestContext"]["timeEpoch"], 1_800_000_000_000i64);
    let signature = event["headers"]["stripe-signature"].as_str().unwrap();
    assert!(signature.starts_with("t=1800000000,v1="), "{signature}");
    let committed = std::fs::read_to_string(from.join("ingest/stripe-invoice-paid.json")).unwrap();
    assert!(!committed.contains(signature));
    // The event id ({{id}}) comes from the payload name and --now: at another time, another event.
    let body: serde_json::Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("evt_") && id.len() == 36, "{id}");
    assert!(!committed.contains(id), "{id}");
}

#[test]
fn the_generator_needs_the_secrets_and_names_the_missing_one() {
    let scratch = Scratch::with_prefix("the_generator_needs_the_secrets_and_names_the_missing_one");
    let dir = scratch.path();
    let config = dir.join("inlet.toml");
    std::fs::write(
        &config,
        "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_TEST_UNSET_SECRET\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("events/payloads")).unwrap();
    std::fs::write(
        dir.join("events/payloads/ping.json"),
        r#"{"source": "github", "headers": {"X-GitHub-Event": "ping"}, "body": {"zen": "hi"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("events/ingest.toml"),
        "[[case]]\nname = \"ping\"\npayload = \"ping\"\nexpect = { status = 202 }\n",
    )
    .unwrap();
    let events = dir.join("events");
    let args = |env_file: &Path| {
        vec![
            "--config".to_owned(),
            config.to_str().unwrap().to_owned(),
            "--env-file".to_owned(),
            env_file.to_str().unwrap().to_owned(),
            "fixtures".to_owned(),
            "--from".to_owned(),
            events.to_str().unwrap().to_owned(),
        ]
    };
    let empty = dir.join("empty.env");
    std::fs::write(&empty, "").unwrap();
    let run = crate::common::bare(
        &args(&empty).iter().map(String::as_str).collect::<Vec<_>>(),
        b"",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("INLET_TEST_UNSET_SECRET"), "{run:?}");
    assert!(!events.join("ingest/ping.json").exists());

    let env = dir.join("test.env");
    std::fs::write(&env, "INLET_TEST_UNSET_SECRET=s3cret\n").unwrap();
    let run = crate::common::bare(
        &args(&env).iter().map(String::as_str).collect::<Vec<_>>(),
        b"",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let event = std::fs::read_to_string(events.join("ingest/ping.json")).unwrap();
    assert!(
        event.contains("\"x-hub-signature-256\": \"sha256="),
        "{event}"
    );
}
