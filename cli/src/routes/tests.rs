use super::delivery::{TypeFrom, test_delivery};
use super::explain::explain;
use super::outcome::{Delivers, RouteResult};
use super::report::pretty;
use crate::delivery::parse_headers;
use http::HeaderMap;
use inlet_core::actions::route_table::RouteTable;
use inlet_core::config::{Action, Condition, Config, Subject, Test};
use inlet_core::envelope::Envelope;
use serde_json::{Value, json};

const CONFIG: &str = "\
[sources.github]
scheme = \"github\"
secrets = [\"env:GH\"]

[sources.stripe]
scheme = \"stripe\"
secrets = [\"env:ST\"]

[[routes]]
source = \"github\"
events = [\"issues\", \"pull_request*\"]
action = { type = \"forward\", url = \"https://agent.example/triage\", secret = \"env:GH\" }

[[routes]]
source = \"stripe\"
action = { type = \"log\" }
";

/// The config above, with the GitHub route made into three: `triage` (issues opened or
/// reopened, reshaped), `audit` (everything, to a queue) and `labels` (a header condition).
fn config() -> Config {
    let mut config = Config::parse(CONFIG).unwrap();
    let mut triage = config.routes[0].clone();
    triage.name = "triage".into();
    triage.when = vec![Condition {
        subject: Subject::Pointer("/action".into()),
        test: Test::In(vec![json!("opened"), json!("reopened")]),
    }];
    triage.transform = Some("{title: .issue.title}".into());
    let mut audit = config.routes[0].clone();
    audit.name = "audit".into();
    audit.events = None;
    audit.action = Action::Sqs {
        queue_url: "http://127.0.0.1:5055/000000000000/audit".into(),
        group_pointer: None,
    };
    let mut labels = audit.clone();
    labels.name = "labels".into();
    labels.when = vec![Condition {
        subject: Subject::Header("x-github-event".into()),
        test: Test::Equals(json!("label")),
    }];
    labels.action = Action::Log;
    let stripe = config.routes[1].clone();
    config.routes = vec![triage, audit, stripe, labels];
    config
}

fn headers(lines: &[&str]) -> HeaderMap {
    parse_headers(&lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>()).unwrap()
}

async fn results(
    config: &Config,
    source: &str,
    headers: &HeaderMap,
    body: &str,
    event_type: Option<&str>,
) -> (Vec<RouteResult>, String) {
    let table = RouteTable::compile(config).unwrap();
    let source = config.source(source).unwrap();
    let tested = test_delivery(
        source,
        headers,
        body.as_bytes(),
        event_type.map(str::to_owned),
    );
    let results = tested.run(&table).await;
    let text = tested.describe(&results);
    (results, text)
}

#[tokio::test(flavor = "current_thread")]
async fn the_type_is_read_as_ingest_reads_it_and_only_kept_headers_count() {
    let config = config();
    let github = config.source("github").unwrap();
    let tested = test_delivery(
        github,
        &headers(&[
            "X-GitHub-Event: issues",
            "Content-Type: application/json",
            "X-Custom: 1",
            "X-Hub-Signature-256: sha256=00",
        ]),
        br#"{"action":"opened"}"#,
        None,
    );
    assert_eq!(tested.envelope.key, "github#test");
    assert_eq!(tested.envelope.event_type.as_deref(), Some("issues"));
    assert_eq!(tested.type_from, TypeFrom::Delivery);
    assert_eq!(tested.kept, ["content-type", "x-github-event"]);
    assert!(
        tested.notes[0].starts_with(
            "--header x-custom, x-hub-signature-256: ignored: the envelope keeps only \
                 content-type, x-github-event, "
        ),
        "{:?}",
        tested.notes
    );
    // A type in the body: Stripe's `type`.
    let stripe = config.source("stripe").unwrap();
    let tested = test_delivery(
        stripe,
        &HeaderMap::new(),
        br#"{"id":"evt_1","type":"invoice.paid"}"#,
        None,
    );
    assert_eq!(tested.envelope.event_type.as_deref(), Some("invoice.paid"));
    // --event-type wins.
    let tested = test_delivery(
        stripe,
        &HeaderMap::new(),
        br#"{"id":"evt_1","type":"invoice.paid"}"#,
        Some("charge.failed".into()),
    );
    assert_eq!(tested.envelope.event_type.as_deref(), Some("charge.failed"));
    assert_eq!(tested.type_from, TypeFrom::Given);
    // No type header: none, and why.
    let tested = test_delivery(github, &HeaderMap::new(), b"{}", None);
    assert_eq!(tested.envelope.event_type, None);
    assert!(
        matches!(&tested.type_from, TypeFrom::Absent(why) if why.contains("x-github-event")),
        "{:?}",
        tested.type_from
    );
}

#[tokio::test(flavor = "current_thread")]
async fn each_route_of_the_source_says_whether_it_matches_and_why_not() {
    let config = config();
    let (results, text) = results(
        &config,
        "github",
        &headers(&["X-GitHub-Event: issues"]),
        r#"{"action":"closed","issue":{"title":"Crash"}}"#,
        None,
    )
    .await;
    // The stripe route is not listed; the others in the config's order.
    let names: Vec<_> = results.iter().map(|r| (r.name.as_str(), r.index)).collect();
    assert_eq!(names, [("triage", 0), ("audit", 1), ("labels", 3)]);
    assert_eq!(
        results[0].why_not,
        [r#"routes[0].when[0]: /action is "closed", not one of ["opened","reopened"]"#]
    );
    assert_eq!(results[0].delivers, None);
    assert_eq!(results[1].why_not, Vec::<String>::new());
    assert_eq!(results[1].delivers, Some(Delivers::Unchanged { bytes: 45 }));
    assert_eq!(
        results[2].why_not,
        [r#"routes[3].when[0]: header x-github-event is "issues", not "label""#]
    );
    assert!(
        text.contains(
            "route triage (routes[0]): does not match\n  routes[0].when[0]: /action is \
                 \"closed\", not one of [\"opened\",\"reopened\"]\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "route audit (routes[1]): matches → sqs \
                 http://127.0.0.1:5055/000000000000/audit\n  body unchanged (45 bytes)\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("1 of 3 routes of github matches\n"),
        "{text}"
    );
    // The route's own filter, for another type.
    let (results, _) = results_of_type(&config, "push").await;
    assert_eq!(
        results[0].why_not,
        [
            r#"routes[0].events: the type "push" is not in ["issues", "pull_request*"]"#,
            r#"routes[0].when[0]: /action is absent, not one of ["opened","reopened"]"#,
        ]
    );
}

async fn results_of_type(config: &Config, event_type: &str) -> (Vec<RouteResult>, String) {
    results(config, "github", &HeaderMap::new(), "{}", Some(event_type)).await
}

#[tokio::test(flavor = "current_thread")]
async fn a_matching_route_shows_its_transformed_output() {
    let config = config();
    let (results, text) = results(
        &config,
        "github",
        &headers(&["X-GitHub-Event: issues"]),
        r#"{"action":"opened","issue":{"title":"Crash","body":"…"}}"#,
        None,
    )
    .await;
    assert_eq!(
        results[0].delivers,
        Some(Delivers::Transformed(br#"{"title":"Crash"}"#.to_vec()))
    );
    assert!(
        text.contains(
            "route triage (routes[0]): matches → forward https://agent.example/triage\n  \
                 transformed (17 bytes):\n    {\n      \"title\": \"Crash\"\n    }\n"
        ),
        "{text}"
    );
    let json: Value = serde_json::to_value(results[0].to_json()).unwrap();
    assert_eq!(json["output"], json!({"title": "Crash"}));
    assert_eq!(json["matches"], true);
    assert_eq!(json["body_unchanged"], false);
    assert_eq!(json["kind"], "forward");
    assert!(text.ends_with("2 of 3 routes of github match\n"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_transform_error_is_shown_as_the_dead_letter_would_say_it() {
    let mut config = config();
    config.routes[0].transform = Some("{title: (.issue.title + 1)}".into());
    let (results, text) = results(
        &config,
        "github",
        &headers(&["X-GitHub-Event: issues"]),
        r#"{"action":"opened","issue":{"title":"Crash"}}"#,
        None,
    )
    .await;
    let Some(Delivers::Failed { reason, message }) = &results[0].delivers else {
        panic!("{results:?}");
    };
    assert_eq!(reason, "transform_failed");
    assert!(!message.is_empty());
    assert!(text.contains("\n  transform_failed: "), "{text}");
    let json: Value = serde_json::to_value(results[0].to_json()).unwrap();
    assert_eq!(json["error"]["reason"], "transform_failed");
    assert_eq!(json["output"], Value::Null);
}

#[tokio::test(flavor = "current_thread")]
async fn a_type_the_source_filters_out_reaches_no_route() {
    let mut config = config();
    let filtered = Config::parse(
        "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\nevents = [\"issues\"]\n",
    )
    .unwrap();
    config.sources = filtered.sources;
    let (results, text) = results_of_type(&config, "push").await;
    assert!(results.iter().all(|r| r.delivers.is_none()));
    assert_eq!(
        results[1].why_not,
        [
            "sources.github.events: the source does not take type \"push\" (ingest answers \
                 200 ignored): no route runs"
        ]
    );
    assert!(
        text.contains("\nnot queued: sources.github.events"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "0 of 3 routes of github match: process would complete the event as unrouted\n"
        ),
        "{text}"
    );
}

#[test]
fn an_output_is_indented_with_its_keys_in_its_own_order() {
    assert_eq!(
        pretty(br#"{"z":[1,{"a":"x,\"{y}"}],"e":{},"l":[],"b":null}"#),
        "{\n  \"z\": [\n    1,\n    {\n      \"a\": \"x,\\\"{y}\"\n    }\n  ],\n  \
             \"e\": {},\n  \"l\": [],\n  \"b\": null\n}"
    );
    assert_eq!(pretty(b"7"), "7");
    assert_eq!(pretty(b"not json"), "not json");
}

#[test]
fn a_handshake_reaches_no_route() {
    let config =
        Config::parse("[sources.slack]\nscheme = \"slack\"\nsecrets = [\"env:SL\"]\n").unwrap();
    let slack = config.source("slack").unwrap();
    let tested = test_delivery(
        slack,
        &HeaderMap::new(),
        br#"{"token":"t","challenge":"c","type":"url_verification"}"#,
        None,
    );
    assert!(
        tested
            .not_queued
            .as_deref()
            .is_some_and(|why| why.starts_with("this is a slack handshake")),
        "{tested:?}"
    );
}

#[test]
fn each_kind_of_condition_says_why_it_fails() {
    let envelope = Envelope::from_json(
        r#"{"v":1,"key":"github#1","source":"github","scheme":"github","event_id":"1",
                "received_at":"2026-11-28T13:00:00.000Z","headers":{"x-github-event":"push"},
                "body":"{}"}"#,
    )
    .unwrap();
    let body = json!({"ref": "refs/tags/v1", "size": 3, "action": "closed"});
    let why = |subject: Subject, test: Test| {
        explain(&Condition { subject, test }, &envelope, Some(&body))
    };
    let pointer = |p: &str| Subject::Pointer(p.into());
    assert_eq!(
        why(pointer("/ref"), Test::Prefix("refs/heads/".into())),
        r#"/ref is "refs/tags/v1", which does not start with "refs/heads/""#
    );
    assert_eq!(
        why(pointer("/size"), Test::Prefix("1".into())),
        r#"/size is 3, not a string starting with "1""#
    );
    assert_eq!(
        why(pointer("/action"), Test::Equals(json!("opened"))),
        r#"/action is "closed", not "opened""#
    );
    assert_eq!(
        why(pointer("/sender"), Test::Exists(true)),
        "/sender is absent"
    );
    assert_eq!(
        why(pointer("/size"), Test::Exists(false)),
        "/size is 3, and must be absent"
    );
    assert_eq!(
        why(
            Subject::Header("x-github-event".into()),
            Test::In(vec![json!("issues")])
        ),
        r#"header x-github-event is "push", not one of ["issues"]"#
    );
    assert_eq!(
        explain(
            &Condition {
                subject: pointer("/action"),
                test: Test::Exists(true)
            },
            &envelope,
            None
        ),
        "/action: the body is not JSON, so it has nothing there"
    );
}
