//! `inlet routes test` through the built binary: a config with two routes of one source, one of
//! them picked by `when` and reshaped by `transform`. No emulator, AWS or secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::bare;
use inlet_testkit::{Run, Scratch};
use serde_json::{Value, json};

const CONFIG: &str = r#"
[sources.github]
scheme = "github"
secrets = ["env:INLET_ROUTES_TEST_UNSET"]

[[routes]]
name = "triage"
source = "github"
events = ["issues"]
when = [{ pointer = "/action", in = ["opened", "reopened"] }]
transform = '{title: .issue.title, by: .issue.user.login}'
action = { type = "forward", url = "https://agent.example/triage", secret = "env:INLET_ROUTES_TEST_UNSET" }

[[routes]]
name = "audit"
source = "github"
action = { type = "log" }
"#;

/// `inlet --config <the config above> routes test --source github --body <body> <args>`.
fn routes_test(scratch: &Scratch, body: &str, args: &[&str]) -> Run {
    let config = scratch.path().join("inlet.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let body_file = scratch.path().join("body.json");
    std::fs::write(&body_file, body).unwrap();
    let mut all = vec![
        "--config",
        config.to_str().unwrap(),
        "routes",
        "test",
        "--source",
        "github",
        "--body",
        body_file.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    bare(&all, b"")
}

const OPENED: &str =
    r#"{"action":"opened","issue":{"title":"Crash on start","user":{"login":"octocat"}}}"#;
const CLOSED: &str =
    r#"{"action":"closed","issue":{"title":"Crash on start","user":{"login":"octocat"}}}"#;

#[test]
fn an_opened_issue_goes_to_both_routes_the_first_reshaped() {
    let scratch = Scratch::with_prefix("routes_test_opened");
    let run = routes_test(
        &scratch,
        OPENED,
        &["--header", "X-GitHub-Event: issues", "-H", "X-Trace: 1"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(
        out.contains("event type: issues (read from the delivery, as ingest reads it)"),
        "{run:?}"
    );
    assert!(out.contains("as key github#test"), "{run:?}");
    assert!(out.contains("headers kept: x-github-event\n"), "{run:?}");
    assert!(out.contains("note: --header x-trace: ignored"), "{run:?}");
    assert!(
        out.contains(
            "route triage (routes[0]): matches → forward https://agent.example/triage\n  \
             transformed ("
        ),
        "{run:?}"
    );
    assert!(
        out.contains(
            "    {\n      \"title\": \"Crash on start\",\n      \"by\": \"octocat\"\n    }\n"
        ),
        "{run:?}"
    );
    assert!(
        out.contains(&format!(
            "route audit (routes[1]): matches → log\n  body unchanged ({} bytes)\n",
            OPENED.len()
        )),
        "{run:?}"
    );
    assert!(out.ends_with("2 of 2 routes of github match\n"), "{run:?}");
}

#[test]
fn a_closed_issue_is_refused_by_the_when_and_the_other_route_still_takes_it() {
    let scratch = Scratch::with_prefix("routes_test_closed");
    let run = routes_test(&scratch, CLOSED, &["--event-type", "issues"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "route triage (routes[0]): does not match\n  routes[0].when[0]: /action is \
             \"closed\", not one of [\"opened\",\"reopened\"]\n"
        ),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("event type: issues (--event-type)"),
        "{run:?}"
    );
    assert!(
        run.stdout.ends_with("1 of 2 routes of github matches\n"),
        "{run:?}"
    );
}

#[test]
fn json_gives_one_object_per_route() {
    let scratch = Scratch::with_prefix("routes_test_json");
    let run = routes_test(
        &scratch,
        OPENED,
        &["-H", "X-GitHub-Event: issues", "-H", "X-Trace: 1", "--json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let routes: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let routes = routes.as_array().unwrap();
    assert_eq!(routes.len(), 2, "{run:?}");
    assert_eq!(routes[0]["route"], "triage");
    assert_eq!(routes[0]["matches"], true);
    assert_eq!(
        routes[0]["output"],
        json!({"title": "Crash on start", "by": "octocat"})
    );
    assert_eq!(routes[0]["kind"], "forward");
    assert_eq!(routes[0]["target"], "https://agent.example/triage");
    assert_eq!(routes[1]["route"], "audit");
    assert_eq!(routes[1]["body_unchanged"], true);
    assert_eq!(routes[1]["bytes"], OPENED.len());
    // The output as the destination gets it: the transform's key order, not sorted.
    assert!(
        run.stdout
            .contains(r#""output": {"title":"Crash on start","by":"octocat"}"#),
        "{run:?}"
    );
    // Notes go to stderr, so stdout stays JSON.
    assert!(run.stderr.contains("x-trace: ignored"), "{run:?}");
    // Not matching: why, by key.
    let run = routes_test(
        &scratch,
        CLOSED,
        &["-H", "X-GitHub-Event: issues", "--json"],
    );
    let routes: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(routes[0]["matches"], false);
    assert_eq!(
        routes[0]["why_not"],
        json!([r#"routes[0].when[0]: /action is "closed", not one of ["opened","reopened"]"#])
    );
}

#[test]
fn usage_and_config_errors_exit_2() {
    let scratch = Scratch::with_prefix("routes_test_errors");
    let run = routes_test(&scratch, OPENED, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    // An unknown source names the ones there are.
    let config = scratch.path().join("inlet.toml");
    let body = scratch.path().join("body.json");
    let run = bare(
        &[
            "--config",
            config.to_str().unwrap(),
            "routes",
            "test",
            "--source",
            "gitlab",
            "--body",
            body.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("unknown source `gitlab`"), "{run:?}");
    assert!(run.stderr.contains("github"), "{run:?}");
    // A body that cannot be read.
    let missing = scratch.path().join("missing.json");
    let run = bare(
        &[
            "--config",
            config.to_str().unwrap(),
            "routes",
            "test",
            "--source",
            "github",
            "--body",
            missing.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("missing.json"), "{run:?}");
    // A config with problems: each by its key, as `inlet check` lists them.
    let bad = scratch.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:X\"]\n\n\
         [[routes]]\nsource = \"github\"\naction = { type = \"forward\", url = \"ftp://x\", secret = \"env:X\" }\n",
    )
    .unwrap();
    let run = bare(
        &[
            "--config",
            bad.to_str().unwrap(),
            "routes",
            "test",
            "--source",
            "github",
            "--body",
            body.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.starts_with("routes[0].action.url: "), "{run:?}");
    // No --source: clap's usage error.
    let run = bare(&["routes", "test", "--body", "x"], b"");
    assert_eq!(run.code, 2, "{run:?}");
}
