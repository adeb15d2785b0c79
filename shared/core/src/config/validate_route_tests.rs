//! Route validation: every refusal names its key; names, `when`, transforms and actions.
use super::*;
use crate::config::validate::{assert_refused, validated};
use serde_json::json;

const GITHUB: &str = "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n";
const STRIPE: &str = "[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"env:ST\"]\n";
const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/agents";

/// A config with the two sources and `routes`, each a `[[routes]]` body.
fn config(routes: &[&str]) -> String {
    let mut text = format!("{GITHUB}{STRIPE}");
    for route in routes {
        text.push_str("[[routes]]\n");
        text.push_str(route);
        text.push('\n');
    }
    text
}

#[test]
fn an_existing_config_keeps_working_with_its_routes_named_by_source() {
    let config = validated(&config(&[
        "source = \"github\"\naction = { type = \"log\" }",
        "source = \"stripe\"\naction = { type = \"log\" }",
    ]))
    .unwrap();
    let names: Vec<_> = config.routes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["github", "stripe"]);
    assert!(
        config
            .routes
            .iter()
            .all(|r| r.when.is_empty() && r.transform.is_none())
    );
}

#[test]
fn routes_are_typed() {
    let config = validated(&config(&[
        "name = \"triage\"
source = \"github\"
events = [\"issues\"]
when = [
  { pointer = \"/action\", in = [\"opened\", \"reopened\"] },
  { header = \"X-GitHub-Event\", equals = \"issues\" },
  { pointer = \"/issue/number\", equals = 5 },
  { pointer = \"/ratio\", in = [0.5, true] },
  { pointer = \"/a~1b\", exists = false },
  { pointer = \"/sender/login\", prefix = \"octo\" },
]
transform = '{action: .action, repo: .repository.full_name}'
action = { type = \"sqs\", queue_url = \"https://sqs.eu-west-1.amazonaws.com/123456789012/triage.fifo\", group_pointer = \"/repository/id\" }",
        "name = \"audit\"\nsource = \"github\"\naction = { type = \"eventbridge\", bus = \"arn:aws:events:eu-west-1:123456789012:event-bus/audit\" }",
        "source = \"stripe\"\naction = { type = \"sns\", topic_arn = \"arn:aws:sns:eu-west-1:123456789012:billing\" }",
    ]))
    .unwrap();
    let triage = &config.routes[0];
    assert_eq!(triage.name, "triage");
    assert_eq!(
        triage.when,
        [
            Condition {
                subject: Subject::Pointer("/action".into()),
                test: Test::In(vec![json!("opened"), json!("reopened")]),
            },
            Condition {
                subject: Subject::Header("x-github-event".into()),
                test: Test::Equals(json!("issues")),
            },
            Condition {
                subject: Subject::Pointer("/issue/number".into()),
                test: Test::Equals(json!(5)),
            },
            Condition {
                subject: Subject::Pointer("/ratio".into()),
                test: Test::In(vec![json!(0.5), json!(true)]),
            },
            Condition {
                subject: Subject::Pointer("/a~1b".into()),
                test: Test::Exists(false),
            },
            Condition {
                subject: Subject::Pointer("/sender/login".into()),
                test: Test::Prefix("octo".into()),
            },
        ]
    );
    assert_eq!(
        triage.transform.as_deref(),
        Some("{action: .action, repo: .repository.full_name}")
    );
    assert_eq!(
        triage.action,
        Action::Sqs {
            queue_url: "https://sqs.eu-west-1.amazonaws.com/123456789012/triage.fifo".into(),
            group_pointer: Some("/repository/id".into()),
        }
    );
    assert_eq!(config.routes[1].name, "audit");
    assert_eq!(
        config.routes[1].action,
        Action::EventBridge {
            bus: "arn:aws:events:eu-west-1:123456789012:event-bus/audit".into()
        }
    );
    assert_eq!(config.routes[2].name, "stripe");
    assert_eq!(
        config.routes[2].action,
        Action::Sns {
            topic_arn: "arn:aws:sns:eu-west-1:123456789012:billing".into()
        }
    );
}

#[test]
fn destinations_take_their_usual_forms() {
    for action in [
        format!("type = \"sqs\", queue_url = \"{QUEUE}\""),
        "type = \"sqs\", queue_url = \"http://localhost:5000/123456789012/a_b-c\"".to_owned(),
        "type = \"sqs\", queue_url = \"https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo\""
            .to_owned(),
        "type = \"sns\", topic_arn = \"arn:aws-cn:sns:cn-north-1:123456789012:t.fifo\"".to_owned(),
        "type = \"eventbridge\", bus = \"default\"".to_owned(),
        "type = \"eventbridge\", bus = \"aws.partner/example.com/123/bus\"".to_owned(),
    ] {
        let text = config(&[&format!("source = \"github\"\naction = {{ {action} }}")]);
        validated(&text).unwrap_or_else(|e| panic!("{action}: {e}"));
    }
}

#[test]
fn headers_a_source_keeps_are_accepted() {
    for header in [
        "content-type",
        "Content-Type",
        "x-github-delivery",
        "x-github-hook-id",
    ] {
        let text = config(&[&format!(
            "source = \"github\"\nwhen = [{{ header = \"{header}\", exists = true }}]\naction = {{ type = \"log\" }}"
        )]);
        if let Err(e) = validated(&text) {
            // Only what the GitHub preset keeps.
            let github = Scheme::named("github").unwrap();
            assert!(
                !github
                    .informative_headers()
                    .contains(&header.to_ascii_lowercase().as_str())
                    && header != "content-type"
                    && header != "Content-Type",
                "{header}: {e}"
            );
        }
    }
}

#[test]
fn every_refusal_in_a_route_names_the_offending_key() {
    let route = |lines: &str| config(&[&format!("source = \"github\"\n{lines}")]);
    let logged = |lines: &str| route(&format!("{lines}\naction = {{ type = \"log\" }}"));
    let when = |condition: &str| logged(&format!("when = [{{ {condition} }}]"));
    let action = |fields: &str| route(&format!("action = {{ {fields} }}"));
    let sqs = |url: &str| action(&format!("type = \"sqs\", queue_url = \"{url}\""));
    let sns = |arn: &str| action(&format!("type = \"sns\", topic_arn = \"{arn}\""));
    let bus = |bus: &str| action(&format!("type = \"eventbridge\", bus = \"{bus}\""));
    let log = "action = { type = \"log\" }";
    let cases = [
        // name
        (logged("name = \"Triage\""), "routes[0].name"),
        (logged("name = \"\""), "routes[0].name"),
        (
            logged(&format!("name = \"{}\"", "a".repeat(65))),
            "routes[0].name",
        ),
        (logged("name = \"a,b\""), "routes[0].name"),
        (
            config(&[
                &format!("source = \"github\"\n{log}"),
                &format!("name = \"b\"\nsource = \"github\"\n{log}"),
            ]),
            "routes[0].name",
        ),
        (
            config(&[
                &format!("name = \"a\"\nsource = \"github\"\n{log}"),
                &format!("source = \"github\"\n{log}"),
            ]),
            "routes[1].name",
        ),
        (
            config(&[
                &format!("name = \"a\"\nsource = \"github\"\n{log}"),
                &format!("name = \"a\"\nsource = \"stripe\"\n{log}"),
            ]),
            "routes[1].name",
        ),
        // A default colliding with an explicit name, either way round.
        (
            config(&[
                &format!("name = \"stripe\"\nsource = \"github\"\n{log}"),
                &format!("source = \"stripe\"\n{log}"),
            ]),
            "routes[1].name",
        ),
        (
            config(&[
                &format!("source = \"stripe\"\n{log}"),
                &format!("name = \"stripe\"\nsource = \"github\"\n{log}"),
            ]),
            "routes[1].name",
        ),
        // when
        (logged("when = []"), "routes[0].when"),
        (when("equals = \"x\""), "routes[0].when[0]"),
        (when("pointer = \"/a\""), "routes[0].when[0]"),
        (
            when("pointer = \"/a\", header = \"content-type\", exists = true"),
            "routes[0].when[0]",
        ),
        (
            when("pointer = \"/a\", equals = \"x\", in = [\"y\"]"),
            "routes[0].when[0]",
        ),
        (when("pointer = \"/a\", contains = \"x\""), "contains"),
        (
            when("pointer = \"a\", exists = true"),
            "routes[0].when[0].pointer",
        ),
        (
            when("pointer = \"/a~2\", exists = true"),
            "routes[0].when[0].pointer",
        ),
        (
            when("pointer = \"/a~\", exists = true"),
            "routes[0].when[0].pointer",
        ),
        (
            when("pointer = 5, exists = true"),
            "routes[0].when[0].pointer",
        ),
        (when("pointer = \"/a\", in = []"), "routes[0].when[0].in"),
        (when("pointer = \"/a\", in = \"x\""), "routes[0].when[0].in"),
        (
            when("pointer = \"/a\", in = [{ a = 1 }]"),
            "routes[0].when[0].in",
        ),
        (when("pointer = \"/a\", in = [[1]]"), "routes[0].when[0].in"),
        (
            when("pointer = \"/a\", equals = [1]"),
            "routes[0].when[0].equals",
        ),
        (
            when("pointer = \"/a\", equals = { a = 1 }"),
            "routes[0].when[0].equals",
        ),
        (
            when("pointer = \"/a\", equals = nan"),
            "routes[0].when[0].equals",
        ),
        (
            when("pointer = \"/a\", equals = 1979-05-27"),
            "routes[0].when[0].equals",
        ),
        (
            when("pointer = \"/a\", exists = \"yes\""),
            "routes[0].when[0].exists",
        ),
        (
            when("pointer = \"/a\", prefix = 5"),
            "routes[0].when[0].prefix",
        ),
        (
            when("header = 5, exists = true"),
            "routes[0].when[0].header",
        ),
        (
            when("header = \"bad header\", exists = true"),
            "routes[0].when[0].header",
        ),
        // Never kept: signature headers, and headers of other providers.
        (
            when("header = \"x-hub-signature-256\", exists = true"),
            "routes[0].when[0].header",
        ),
        (
            when("header = \"stripe-signature\", exists = true"),
            "routes[0].when[0].header",
        ),
        (
            when("header = \"x-github-event\", equals = 5"),
            "routes[0].when[0].equals",
        ),
        (
            when("header = \"x-github-event\", in = [\"push\", true]"),
            "routes[0].when[0].in",
        ),
        (
            logged("when = [{ pointer = \"/a\", exists = true }, { pointer = \"/b\" }]"),
            "routes[0].when[1]",
        ),
        // transform
        (logged("transform = \"\""), "routes[0].transform"),
        (logged("transform = \"  \""), "routes[0].transform"),
        (logged("transform = '{a: '"), "routes[0].transform"),
        (logged("transform = 'nosuch'"), "routes[0].transform"),
        (
            logged(&format!("transform = '{}'", ". ".repeat(9000))),
            "routes[0].transform",
        ),
        // forward
        (
            action("type = \"forward\", url = \"ftp://x\", secret = \"env:S\""),
            "routes[0].action.url",
        ),
        // sqs
        (
            sqs("ftp://sqs.example/123456789012/q"),
            "routes[0].action.queue_url",
        ),
        (sqs("not a url"), "routes[0].action.queue_url"),
        (
            sqs("https://sqs.eu-west-1.amazonaws.com/q"),
            "routes[0].action.queue_url",
        ),
        (
            sqs("https://sqs.eu-west-1.amazonaws.com/12345678901/q"),
            "routes[0].action.queue_url",
        ),
        (
            sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/a.b"),
            "routes[0].action.queue_url",
        ),
        (
            sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/q/extra"),
            "routes[0].action.queue_url",
        ),
        (
            sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/q?x=1"),
            "routes[0].action.queue_url",
        ),
        (
            sqs(&format!(
                "https://sqs.eu-west-1.amazonaws.com/123456789012/{}",
                "q".repeat(81)
            )),
            "routes[0].action.queue_url",
        ),
        (
            sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/.fifo"),
            "routes[0].action.queue_url",
        ),
        (
            action(&format!(
                "type = \"sqs\", queue_url = \"{QUEUE}\", group_pointer = \"/a\""
            )),
            "routes[0].action.group_pointer",
        ),
        (
            action(&format!(
                "type = \"sqs\", queue_url = \"{QUEUE}.fifo\", group_pointer = \"a\""
            )),
            "routes[0].action.group_pointer",
        ),
        (
            action(&format!(
                "type = \"sqs\", queue_url = \"{QUEUE}.fifo\", group_pointer = \"\""
            )),
            "routes[0].action.group_pointer",
        ),
        (action("type = \"sqs\""), "queue_url"),
        (
            action(&format!(
                "type = \"sqs\", queue_url = \"{QUEUE}\", topic_arn = \"x\""
            )),
            "topic_arn",
        ),
        // sns
        (
            sns("arn:aws:sqs:eu-west-1:123456789012:t"),
            "routes[0].action.topic_arn",
        ),
        (
            sns("arn:aws:sns:eu-west-1:1234:t"),
            "routes[0].action.topic_arn",
        ),
        (
            sns("arn:aws:sns::123456789012:t"),
            "routes[0].action.topic_arn",
        ),
        (
            sns("arn:aws:sns:eu-west-1:123456789012:"),
            "routes[0].action.topic_arn",
        ),
        (
            sns("arn:aws:sns:eu-west-1:123456789012:a:b"),
            "routes[0].action.topic_arn",
        ),
        (sns("billing"), "routes[0].action.topic_arn"),
        (action("type = \"sns\""), "topic_arn"),
        // eventbridge
        (bus(""), "routes[0].action.bus"),
        (bus("a bus"), "routes[0].action.bus"),
        (bus(&"b".repeat(257)), "routes[0].action.bus"),
        (
            bus("arn:aws:events:eu-west-1:123456789012:rule/x"),
            "routes[0].action.bus",
        ),
        (
            bus("arn:aws:sns:eu-west-1:123456789012:event-bus/x"),
            "routes[0].action.bus",
        ),
        (
            action("type = \"eventbridge\", bus = \"a\", url = \"x\""),
            "url",
        ),
        (action("type = \"lambda\""), "lambda"),
    ];
    for (text, key) in cases {
        assert_refused(&text, key);
    }
}

#[test]
fn refusals_say_what_to_do() {
    let why = |text: &str| match validated(text) {
        Err(Problem::Invalid { why, .. }) => why,
        other => panic!("{other:?}"),
    };
    let log = "action = { type = \"log\" }";
    let two = config(&[
        &format!("source = \"github\"\n{log}"),
        &format!("source = \"github\"\n{log}"),
        &format!("name = \"c\"\nsource = \"github\"\n{log}"),
    ]);
    let message = why(&two);
    assert!(message.contains("has 3 routes"), "{message}");
    assert!(message.contains("every route that matches"), "{message}");
    assert!(message.contains("`name`"), "{message}");

    let header = config(&[&format!(
        "source = \"github\"\nwhen = [{{ header = \"x-hub-signature-256\", exists = true }}]\n{log}"
    )]);
    let message = why(&header);
    assert!(message.contains("`x-github-event`"), "{message}");
    assert!(message.contains("`content-type`"), "{message}");

    let transform = config(&[&format!("source = \"github\"\ntransform = '{{a: '\n{log}")]);
    let message = why(&transform);
    assert!(message.contains("does not compile"), "{message}");
    assert!(message.contains("closing brace"), "{message}");
}

#[test]
fn names_are_given_in_one_pass_over_the_list() {
    let naming = |name, source| Some(Naming { name, source });
    let names = route_names(&[
        naming(None, "github"),
        None,
        naming(Some("a"), "stripe"),
        naming(Some("b"), "stripe"),
    ]);
    let names: Vec<_> = names
        .into_iter()
        .map(|n| n.map(|n| n.map_err(|p| p.to_string())))
        .collect();
    assert_eq!(
        names,
        [
            Some(Ok("github".to_owned())),
            None,
            Some(Ok("a".to_owned())),
            Some(Ok("b".to_owned())),
        ]
    );
}
