//! `inlet verify` and `inlet check` on a source with JSON Schemas: the body's verdict beside the
//! signature's, and a schema that does not compile refused naming its key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::bare;
use inlet_testkit::{Run, Scratch, repo_root};
use std::path::Path;

const GOOD: &str = r#"{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","repository":{"id":1,"name":"inlet","full_name":"example-org/inlet"},"pusher":{"name":"octocat"},"sender":{"login":"octocat"},"commits":[]}"#;
/// `GOOD` without `pusher`, and with a `before` that is no commit id.
const BAD: &str = r#"{"ref":"refs/heads/main","before":"main","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","repository":{"id":1,"name":"inlet","full_name":"example-org/inlet"},"sender":{"login":"octocat"},"commits":[]}"#;

/// A config whose GitHub source checks pushes against the sample schema, `on_invalid` as given.
fn setup(dir: &Path, on_invalid: &str) -> (String, String) {
    std::fs::create_dir_all(dir.join("schemas")).unwrap();
    std::fs::copy(
        repo_root().join("events/schemas/github/push.json"),
        dir.join("schemas/push.json"),
    )
    .unwrap();
    let config = dir.join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_SCHEMA_TEST\"]\n\
             on_invalid = \"{on_invalid}\"\n[sources.github.schemas]\npush = \"schemas/push.json\"\n"
        ),
    )
    .unwrap();
    let env = dir.join("test.env");
    std::fs::write(&env, "INLET_SCHEMA_TEST=schema-test-secret\n").unwrap();
    (
        config.to_str().unwrap().to_owned(),
        env.to_str().unwrap().to_owned(),
    )
}

/// `inlet sign`, then `inlet verify`, of `body` as a push to the GitHub source.
fn sign_and_verify(dir: &Path, config: &str, env: &str, body: &str) -> Run {
    let body_file = dir.join("body.json");
    std::fs::write(&body_file, body).unwrap();
    let body_file = body_file.to_str().unwrap();
    let common = ["--config", config, "--env-file", env];
    let delivery = [
        "--source",
        "github",
        "--body-file",
        body_file,
        "--header",
        "X-GitHub-Event: push",
        "--header",
        "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958",
    ];
    let sign = bare(&[&common[..], &["sign"], &delivery[..]].concat(), b"");
    assert_eq!(sign.code, 0, "{sign:?}");
    let mut args: Vec<&str> = [&common[..], &["verify"], &delivery[..]].concat();
    for line in sign.stdout.lines() {
        args.extend(["--header", line]);
    }
    bare(&args, b"")
}

#[test]
fn verify_reports_the_body_against_its_schema() {
    let scratch = Scratch::with_prefix("inlet-cli-schemas");
    let dir = scratch.path();
    let (config, env) = setup(dir, "reject");

    let good = sign_and_verify(dir, &config, &env, GOOD);
    assert_eq!(good.code, 0, "{good:?}");
    assert!(good.stdout.starts_with("valid\n"), "{good:?}");
    assert!(
        good.stdout
            .contains("schema: conforms to schemas/push.json"),
        "{good:?}"
    );

    let bad = sign_and_verify(dir, &config, &env, BAD);
    assert_eq!(
        bad.code, 1,
        "the signature is fine, the body is not: {bad:?}"
    );
    assert!(bad.stdout.starts_with("valid\n"), "{bad:?}");
    assert!(
        bad.stdout.contains(
            "schema_invalid: breaks schemas/push.json (ingest answers 422: on_invalid = \"reject\")"
        ),
        "{bad:?}"
    );
    assert!(
        bad.stdout.contains("\n  (the body): "),
        "pusher is missing: {bad:?}"
    );
    assert!(bad.stdout.contains("\n  /before: "), "{bad:?}");
}

#[test]
fn check_refuses_a_schema_that_does_not_compile_naming_its_key() {
    let scratch = Scratch::with_prefix("inlet-cli-schemas-check");
    let dir = scratch.path();
    let (config, env) = setup(dir, "dead_letter");
    let ok = bare(&["--config", &config, "--env-file", &env, "check"], b"");
    assert_eq!(ok.code, 0, "{ok:?}");

    std::fs::write(dir.join("schemas/push.json"), r#"{"type": 12}"#).unwrap();
    let refused = bare(&["--config", &config, "--env-file", &env, "check"], b"");
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stdout.starts_with("sources.github.schemas.push: ")
            && refused.stdout.contains("not a valid schema"),
        "{refused:?}"
    );
}
