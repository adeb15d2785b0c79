//! Tier 5 for routing: the built `inlet dev` on free loopback ports against its own emulator,
//! with a config of several `[[routes]]` on one GitHub source. One delivery fans out to every
//! route that matches (two HTTP targets, an SQS queue, an SNS topic read through a subscribed
//! queue, an EventBridge bus read through a rule's queue), each exactly once, byte-exact or as
//! transformed; a failing route is retried alone; `when` skips routes; a route that fails for
//! good is dead-lettered by name and a redrive runs only it; hostile route configs are refused
//! naming their key, by `inlet check` and by `inlet dev` before it serves.
//!
//! Nothing here measures time: every wait polls with a generous deadline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::dev_rig::*;
use inlet_testkit::target::{Hit, Script, Target};
use inlet_testkit::{Run, Scratch, free_port, inlet_command, run, unique};
use std::path::Path;
use std::time::{Duration, Instant};

// ---- the cases ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_github_delivery_fans_out_to_every_destination_once() {
    let triage = Target::start(&[("triage", Script::Ok)]).await;
    let audit = Target::start(&[("audit", Script::Ok)]).await;
    let queue = unique("orders");
    let topic = unique("issues");
    let bus = unique("audit-bus");
    let routes = [
        route(
            "triage",
            "when = [{ pointer = \"/action\", in = [\"opened\", \"reopened\"] }]\n\
             transform = '{action: .action, title: .issue.title}'\n",
            &forward(&triage, "triage"),
        ),
        route("audit", "", &forward(&audit, "audit")),
        // As a deployed config names them; `inlet dev` creates them in its emulator.
        route(
            "queue",
            "",
            &format!(
                "type = \"sqs\", queue_url = \"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue}\""
            ),
        ),
        route(
            "topic",
            "",
            &format!("type = \"sns\", topic_arn = \"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}\""),
        ),
        route("bus", "", &format!("type = \"eventbridge\", bus = \"{bus}\"")),
    ]
    .concat();
    let mut rig = Rig::start(&config(&routes)).await;

    // `inlet dev` created the queue, the topic and the bus. The topic's subscriber and the
    // bus's rule are the reader's, as in a deployment: the test adds them.
    let queue_url = rig.queue_url(&queue).await;
    let sns = aws_sdk_sns::Client::new(&rig.sdk);
    let topic_arn = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{topic}");
    let (topic_reader, topic_reader_arn) = rig.subscriber_queue(&unique("topic-reader")).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(topic_reader_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap_or_else(|e| panic!("the topic {topic_arn} is not there: {e:?}"));
    let events = aws_sdk_eventbridge::Client::new(&rig.sdk);
    let (bus_reader, bus_reader_arn) = rig.subscriber_queue(&unique("bus-reader")).await;
    let rule = unique("github-issues");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(r#"{"source":["inlet.github"],"detail-type":["issues"]}"#)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the bus {bus} is not there: {e:?}"));
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("reader")
                .arn(bus_reader_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let delivery = issue("fan-1", "opened");
    rig.post_queued(&delivery).await;

    let mut inboxes = [
        Inbox::new("the route's queue", queue_url),
        Inbox::new("the topic's subscriber", topic_reader),
        Inbox::new("the bus rule's queue", bus_reader),
    ];
    let wait = Wait::until("every destination got the event and the queue is empty");
    loop {
        let mut all = triage.count(|_| true) > 0 && audit.count(|_| true) > 0;
        for inbox in &mut inboxes {
            all &= inbox.collect(&rig.sqs).await > 0;
        }
        if all && rig.idle().await {
            break;
        }
        let got: Vec<(&str, usize)> = inboxes.iter().map(|i| (i.name, i.got.len())).collect();
        wait.tick(&mut rig, || {
            format!(
                "triage {:?}, audit {:?}, {got:?}",
                statuses(&triage, &delivery.key),
                statuses(&audit, &delivery.key)
            )
        })
        .await;
    }
    // Exactly once: GitHub redelivering the event changes nothing (a duplicate), and a second
    // round brings nothing more anywhere.
    rig.post_queued(&delivery).await;
    let wait = Wait::until("the redelivery was processed");
    while !rig.idle().await {
        wait.tick(&mut rig, String::new).await;
    }
    settle(&mut rig).await;
    for inbox in &mut inboxes {
        inbox.collect(&rig.sqs).await;
    }

    // The triage agent gets the transform's output, compact, and nothing else.
    let expected = serde_json::json!({
        "action": "opened",
        "title": "Caf\u{e9} crashes on \"start\"",
    });
    assert_forward(
        &triage.only_hit(),
        &delivery.key,
        "triage",
        &serde_json::to_vec(&expected).unwrap(),
    );
    // The audit target gets the delivery as it came.
    assert_forward(&audit.only_hit(), &delivery.key, "audit", &delivery.body);
    let body = std::str::from_utf8(&delivery.body).unwrap();
    let [queued, published, put] = &inboxes;
    for (inbox, route) in [(queued, "queue"), (published, "topic")] {
        let message = inbox.only();
        assert_eq!(message.body(), Some(body), "{} is byte-exact", inbox.name);
        assert_eq!(attribute(message, "route"), Some(route), "{message:#?}");
        assert_eq!(
            attribute(message, "event_key"),
            Some(delivery.key.as_str()),
            "{message:#?}"
        );
        assert_eq!(attribute(message, "source"), Some("github"));
        assert_eq!(attribute(message, "type"), Some("issues"));
    }
    let event: serde_json::Value = serde_json::from_str(put.only().body().unwrap()).unwrap();
    assert_eq!(event["source"], "inlet.github", "{event}");
    assert_eq!(event["detail-type"], "issues", "{event}");
    let sent: serde_json::Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(event["detail"], sent, "{event}");

    assert_eq!(rig.depth(DEAD_LETTER_QUEUE).await, (0, 0));
    let record = rig.record(&delivery.key).await;
    assert_eq!(
        record.get("status").map(String::as_str),
        Some("COMPLETED"),
        "{record:?}"
    );
    let log = rig.dev.log();
    assert!(
        log.contains(&format!("{}: duplicate", delivery.key)),
        "the redelivery was a duplicate:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_route_is_retried_alone_and_delivered_once_when_it_recovers() {
    let target = Target::start(&[("steady", Script::Ok), ("flaky", Script::FailFirst(2))]).await;
    let routes = [
        route("steady", "", &forward(&target, "steady")),
        route("flaky", "", &forward(&target, "flaky")),
    ]
    .concat();
    let mut rig = Rig::start(&config(&routes)).await;
    let delivery = issue("retry-1", "opened");
    rig.post_queued(&delivery).await;

    let on = |path: &'static str| move |hit: &Hit| hit.path == format!("/{path}");
    let wait = Wait::until("the flaky route delivered and the queue is empty");
    while !(target.count(|h| on("flaky")(h) && h.succeeded()) > 0 && rig.idle().await) {
        wait.tick(&mut rig, || format!("{:#?}", target.all_hits()))
            .await;
    }
    settle(&mut rig).await;

    // The steady route ran once, on the first try; the flaky one on each try until it passed.
    let steady: Vec<Hit> = target.all_hits().into_iter().filter(on("steady")).collect();
    let flaky: Vec<Hit> = target.all_hits().into_iter().filter(on("flaky")).collect();
    assert_eq!(steady.len(), 1, "{steady:#?}");
    assert_forward(&steady[0], &delivery.key, "steady", &delivery.body);
    assert_eq!(
        flaky.iter().map(|h| h.status).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    for hit in &flaky {
        assert_forward(hit, &delivery.key, "flaky", &delivery.body);
    }
    let peek = rig.inlet(&["dlq", "peek"]).await;
    assert_eq!(peek.code, 0, "{peek:?}");
    assert_eq!(peek.stdout, "no dead letters\n", "{peek:?}");
    let record = rig.record(&delivery.key).await;
    assert_eq!(
        record.get("status").map(String::as_str),
        Some("COMPLETED"),
        "{record:?}"
    );
    let log = rig.dev.log();
    assert!(
        log.lines()
            .any(|line| line.contains(&format!("{}: ", delivery.key))
                && line.contains("route steady delivered")
                && line.contains("route flaky failed (attempt 1 of 5, next at ")),
        "the first try says how each route ended, and which attempt failed:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_skipped_by_when_run_nothing() {
    let target = Target::start(&[
        ("triage", Script::Ok),
        ("pushes", Script::Ok),
        ("audit", Script::Ok),
    ])
    .await;
    let routes = [
        route(
            "triage",
            "when = [{ pointer = \"/action\", in = [\"opened\", \"reopened\"] }]\n",
            &forward(&target, "triage"),
        ),
        route(
            "pushes",
            "when = [{ header = \"x-github-event\", equals = \"push\" }, \
             { pointer = \"/ref\", prefix = \"refs/heads/\" }]\n",
            &forward(&target, "pushes"),
        ),
        route("audit", "", &forward(&target, "audit")),
    ]
    .concat();
    let mut rig = Rig::start(&config(&routes)).await;

    let closed = issue("closed-1", "closed");
    // "opened" is there, but not as JSON: a pointer finds nothing in a form body.
    let form = github(
        "issues",
        "form-1",
        "application/x-www-form-urlencoded",
        "payload=%7B%22action%22%3A%22opened%22%7D&action=opened",
    );
    let tag = github(
        "push",
        "tag-1",
        "application/json",
        r#"{"ref":"refs/tags/v1.0.0","after":"abc"}"#,
    );
    let branch = github(
        "push",
        "branch-1",
        "application/json",
        r#"{"ref":"refs/heads/main","after":"def"}"#,
    );
    let reopened = issue("reopened-1", "reopened");
    // Which routes take each, in the config's order.
    let expected: [(&Signed, &[&str]); 5] = [
        (&closed, &["audit"]),
        (&form, &["audit"]),
        (&tag, &["audit"]),
        (&branch, &["pushes", "audit"]),
        (&reopened, &["triage", "audit"]),
    ];
    for (delivery, _) in &expected {
        rig.post_queued(delivery).await;
    }
    let wait = Wait::until("the audit route took every event and the queue is empty");
    while !(expected.iter().all(|(d, _)| target.succeeded(&d.key)) && rig.idle().await) {
        wait.tick(&mut rig, || format!("{:#?}", target.all_hits()))
            .await;
    }
    settle(&mut rig).await;

    for (delivery, routes) in expected {
        let hits = target.hits_for(&delivery.key);
        let mut got: Vec<&str> = hits
            .iter()
            .filter_map(|h| h.header("inlet-route"))
            .collect();
        got.sort_unstable();
        let mut want = routes.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "the routes {} reached", delivery.key);
        for hit in &hits {
            let route = hit.header("inlet-route").unwrap();
            assert_eq!(hit.path, format!("/{route}"));
            assert_forward(hit, &delivery.key, route, &delivery.body);
        }
        let record = rig.record(&delivery.key).await;
        assert_eq!(
            record.get("status").map(String::as_str),
            Some("COMPLETED"),
            "{}: {record:?}",
            delivery.key
        );
    }
    assert_eq!(target.count(|_| true), 7, "nothing else was delivered");
    assert_eq!(rig.depth(DEAD_LETTER_QUEUE).await, (0, 0));
}

/// The letters now in the dead-letter queue that name `key`.
fn letters_of<'a>(letters: &'a [serde_json::Value], key: &str) -> Vec<&'a serde_json::Value> {
    letters.iter().filter(|l| l["key"] == key).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transform_error_is_dead_lettered_with_its_route_and_reason_and_its_redrive_runs_only_that_route()
 {
    let target = Target::start(&[("reshape", Script::Ok), ("audit", Script::Ok)]).await;
    let routes = [
        // Compiles; fails on this body, whose title is a string.
        route(
            "reshape",
            "transform = '{title: (.issue.title | ascii_downcase | .x)}'\n",
            &forward(&target, "reshape"),
        ),
        route("audit", "", &forward(&target, "audit")),
    ]
    .concat();
    let mut rig = Rig::start(&config(&routes)).await;
    let delivery = issue("reshape-1", "opened");
    rig.post_queued(&delivery).await;

    let wait = Wait::until("the audit route delivered and the reshape route is a dead letter");
    let first = loop {
        if target.succeeded(&delivery.key) && rig.idle().await {
            let letters = rig.dead_letters().await;
            if let [letter] = &letters_of(&letters, &delivery.key)[..] {
                break (*letter).clone();
            }
        }
        wait.tick(&mut rig, || format!("{:#?}", target.all_hits()))
            .await;
    };
    assert_eq!(first["reason"], "transform_failed", "{first:#}");
    assert_eq!(first["routes"], serde_json::json!(["reshape"]), "{first:#}");
    assert_eq!(first["attributes"]["routes"], "reshape", "{first:#}");
    assert_eq!(
        first["route_errors"]["reshape"]["reason"], "transform_failed",
        "{first:#}"
    );
    let message = first["route_errors"]["reshape"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{first:#}"));
    assert!(!message.is_empty(), "{first:#}");
    assert!(
        first["route_errors"].get("audit").is_none(),
        "only the failed route is named: {first:#}"
    );
    assert_eq!(
        first["body"].as_str().map(str::as_bytes),
        Some(&delivery.body[..])
    );
    let peek = rig.inlet(&["dlq", "peek"]).await;
    assert!(
        peek.stdout.contains("  reason:    transform_failed") && peek.stdout.contains("reshape"),
        "{peek:?}"
    );
    // The audit route is done; the reshape route is settled as dead-lettered.
    let record = rig.record(&delivery.key).await;
    assert_eq!(
        record.get("done_routes").map(String::as_str),
        Some("audit"),
        "{record:?}"
    );
    assert_eq!(
        record.get("dead_routes").map(String::as_str),
        Some("reshape"),
        "{record:?}"
    );
    let audit = |t: &Target| t.count(|h| h.path == "/audit");
    assert_eq!(audit(&target), 1);
    assert_eq!(target.count(|h| h.path == "/reshape"), 0);

    // Nothing fixed: the redriven record runs the reshape route alone, which fails again and is
    // dead-lettered again, by name.
    let moved = rig.inlet(&["dlq", "redrive", "--key", &delivery.key]).await;
    assert_eq!(moved.code, 0, "{moved:?}");
    assert!(
        moved
            .stdout
            .contains(&format!("moved 1 dead letter(s) of {}", delivery.key)),
        "{moved:?}"
    );
    let first_id = first["message_id"].as_str().unwrap().to_owned();
    let wait = Wait::until("the redriven record is a dead letter again");
    let second = loop {
        if rig.idle().await {
            let letters = rig.dead_letters().await;
            let of_key = letters_of(&letters, &delivery.key);
            if let [letter] = &of_key[..]
                && letter["message_id"] != first_id.as_str()
            {
                break (*letter).clone();
            }
            assert!(of_key.len() <= 1, "{of_key:#?}");
        }
        wait.tick(&mut rig, || format!("{:#?}", target.all_hits()))
            .await;
    };
    assert_eq!(second["reason"], "transform_failed", "{second:#}");
    assert_eq!(
        second["routes"],
        serde_json::json!(["reshape"]),
        "{second:#}"
    );
    assert_eq!(
        second["route_errors"]["reshape"]["reason"], "transform_failed",
        "{second:#}"
    );
    settle(&mut rig).await;
    assert_eq!(audit(&target), 1, "the redrive did not run the audit route");
    assert_eq!(target.count(|h| h.path == "/reshape"), 0);
    assert_forward(
        &target.hits_for(&delivery.key)[0],
        &delivery.key,
        "audit",
        &delivery.body,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_that_failed_for_good_is_redriven_alone_and_delivered_once() {
    // 410 until the test says otherwise: a permanent failure, dead-lettered on the first try.
    let target = Target::start(&[("gone", Script::Always(410)), ("audit", Script::Ok)]).await;
    let routes = [
        route("audit", "", &forward(&target, "audit")),
        route("gone", "", &forward(&target, "gone")),
    ]
    .concat();
    let mut rig = Rig::start(&config(&routes)).await;
    let delivery = issue("gone-1", "opened");
    rig.post_queued(&delivery).await;

    let wait = Wait::until("the audit route delivered and the gone route is a dead letter");
    let letter = loop {
        if target.succeeded(&delivery.key) && rig.idle().await {
            let letters = rig.dead_letters().await;
            if let [letter] = &letters_of(&letters, &delivery.key)[..] {
                break (*letter).clone();
            }
        }
        wait.tick(&mut rig, || format!("{:#?}", target.all_hits()))
            .await;
    };
    assert_eq!(letter["reason"], "action_failed", "{letter:#}");
    assert_eq!(letter["routes"], serde_json::json!(["gone"]), "{letter:#}");
    assert_eq!(
        letter["route_errors"]["gone"]["reason"], "action_failed",
        "{letter:#}"
    );
    assert!(
        letter["route_errors"]["gone"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("410")),
        "{letter:#}"
    );
    // The routes run side by side: the audit route delivered, the gone one was refused once.
    let mut first = statuses(&target, &delivery.key);
    first.sort_unstable();
    assert_eq!(first, [200, 410]);

    // The receiver is back: the redrive runs the failed route, once, and not the audit route.
    target.script("gone", Script::Ok);
    let moved = rig.inlet(&["dlq", "redrive", "--key", &delivery.key]).await;
    assert_eq!(moved.code, 0, "{moved:?}");
    let wait = Wait::until("the redriven record reached the gone route");
    while !(target.count(|h| h.path == "/gone" && h.succeeded()) > 0 && rig.idle().await) {
        wait.tick(&mut rig, || format!("{:#?}", target.all_hits()))
            .await;
    }
    settle(&mut rig).await;

    let gone: Vec<Hit> = target
        .all_hits()
        .into_iter()
        .filter(|h| h.path == "/gone")
        .collect();
    assert_eq!(
        gone.iter().map(|h| h.status).collect::<Vec<_>>(),
        [410, 200]
    );
    for hit in &gone {
        assert_forward(hit, &delivery.key, "gone", &delivery.body);
    }
    let audit: Vec<Hit> = target
        .all_hits()
        .into_iter()
        .filter(|h| h.path == "/audit")
        .collect();
    assert_eq!(audit.len(), 1, "the audit route ran once: {audit:#?}");
    assert_forward(&audit[0], &delivery.key, "audit", &delivery.body);
    let peek = rig.inlet(&["dlq", "peek"]).await;
    assert_eq!(peek.stdout, "no dead letters\n", "{peek:?}");
    let record = rig.record(&delivery.key).await;
    assert_eq!(
        record.get("status").map(String::as_str),
        Some("COMPLETED"),
        "{record:?}"
    );
}

// ---- hostile configs ----

/// `inlet dev` on `dir`'s config, pointed at an endpoint nothing listens on (a config it
/// refuses stops it before it talks to the emulator): how it exited, within a deadline.
fn dev_refusing(dir: &Path) -> Run {
    let listen = free_port();
    let mut command = inlet_command(
        &format!("http://127.0.0.1:{}", free_port()),
        dir,
        &SECRET_VARIABLES,
    );
    command
        .args([
            "dev",
            "--no-samples",
            "--inspect",
            "127.0.0.1:0",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{listen}"))
        .current_dir(dir)
        .stdout(std::fs::File::create(dir.join("dev.out")).unwrap())
        .stderr(std::fs::File::create(dir.join("dev.err")).unwrap());
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "inlet dev did not stop on a refused config:\n{}",
                std::fs::read_to_string(dir.join("dev.err")).unwrap_or_default()
            );
        }
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", listen)).is_err(),
            "inlet dev serves a config it must refuse"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        code: status.code().expect("killed by a signal"),
        stdout: std::fs::read_to_string(dir.join("dev.out")).unwrap(),
        stderr: std::fs::read_to_string(dir.join("dev.err")).unwrap(),
    }
}

#[test]
fn hostile_route_configs_are_refused_with_their_key() {
    let log = "type = \"log\"";
    let named = |name: &str, lines: &str| route(name, lines, log);
    let unnamed =
        |lines: &str| format!("[[routes]]\nsource = \"github\"\n{lines}action = {{ {log} }}\n\n");
    let when = |condition: &str| unnamed(&format!("when = [{{ {condition} }}]\n"));
    let action =
        |fields: &str| format!("[[routes]]\nsource = \"github\"\naction = {{ {fields} }}\n\n");
    // (what, the routes, the key `inlet check` names first, what else it must say)
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "two routes on one source without names",
            [unnamed(""), unnamed("")].concat(),
            "routes[0].name",
            "give each of them a `name`",
        ),
        (
            "a name given twice",
            [named("audit", ""), named("audit", "")].concat(),
            "routes[1].name",
            "route names are unique",
        ),
        (
            "a name that is not plain",
            named("Audit,Triage", ""),
            "routes[0].name",
            "a-z",
        ),
        (
            "a pointer that is not a JSON pointer",
            when("pointer = \"action\", equals = \"opened\""),
            "routes[0].when[0].pointer",
            "starts with `/`",
        ),
        (
            "`in` that is not a list, on the third route",
            [
                named("first", ""),
                named("second", ""),
                named(
                    "third",
                    "when = [{ pointer = \"/action\", in = \"opened\" }]\n",
                ),
            ]
            .concat(),
            "routes[2].when[0].in",
            "non-empty list",
        ),
        (
            "an unknown operator",
            when("pointer = \"/action\", contains = \"open\""),
            "routes[0]",
            "unknown field `contains`",
        ),
        (
            "two tests in one condition",
            when("pointer = \"/action\", equals = \"opened\", prefix = \"op\""),
            "routes[0].when[0]",
            "one test",
        ),
        (
            "a header test that is not text",
            when("header = \"x-github-event\", equals = 5"),
            "routes[0].when[0].equals",
            "a string",
        ),
        (
            "a header the source never keeps (its signature)",
            when("header = \"x-hub-signature-256\", exists = true"),
            "routes[0].when[0].header",
            "is not kept",
        ),
        (
            "a transform with a syntax error",
            unnamed("transform = '{title: '\n"),
            "routes[0].transform",
            "does not compile",
        ),
        (
            "a transform reading the environment, where secrets live",
            unnamed("transform = '$ENV.INLET_ROUTING_GITHUB'\n"),
            "routes[0].transform",
            "does not compile",
        ),
        (
            "an sqs action with a URL that is no queue",
            action("type = \"sqs\", queue_url = \"https://example.com/queue\""),
            "routes[0].action.queue_url",
            "SQS queue URL",
        ),
        (
            "a group pointer on a standard queue",
            action(&format!(
                "type = \"sqs\", queue_url = \"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q\", \
                 group_pointer = \"/repository/id\""
            )),
            "routes[0].action.group_pointer",
            "",
        ),
        (
            "an sns topic_arn that is not an ARN",
            action("type = \"sns\", topic_arn = \"billing\""),
            "routes[0].action.topic_arn",
            "SNS topic ARN",
        ),
        (
            "an eventbridge bus that is no bus",
            action(&format!(
                "type = \"eventbridge\", bus = \"arn:aws:events:{REGION}:{ACCOUNT}:rule/x\""
            )),
            "routes[0].action.bus",
            "",
        ),
    ];
    for (what, routes, key, says) in cases {
        let scratch = Scratch::with_prefix("inlet-routing-hostile");
        let dir = scratch.path();
        std::fs::write(dir.join("inlet.toml"), config(&routes)).unwrap();
        std::fs::write(dir.join("local.env"), env_file()).unwrap();

        let mut check = inlet_command("http://127.0.0.1:9", dir, &SECRET_VARIABLES);
        check.arg("check").current_dir(dir);
        let checked = run(&mut check, b"");
        assert_eq!(checked.code, 2, "{what}: {checked:?}\n{routes}");
        assert!(
            checked
                .stdout
                .lines()
                .any(|line| line.starts_with(&format!("{key}: ")) && line.contains(says)),
            "{what}: `inlet check` names {key:?} (saying {says:?}):\n{}\n{routes}",
            checked.stdout
        );

        let dev = dev_refusing(dir);
        assert_eq!(dev.code, 2, "{what}: {dev:?}\n{routes}");
        // Start-up stops at the first problem, as ``<origin>: `<key>`: <why>``; an unknown key is
        // the TOML parser's to report, with its line and the key's own name.
        let origin = dir.join("inlet.toml");
        let named = if says.starts_with("unknown field") {
            "TOML parse error at line".to_owned()
        } else {
            format!("`{key}`: ")
        };
        assert!(
            dev.stderr
                .starts_with(&format!("inlet: {}: ", origin.display()))
                && dev.stderr.contains(&named)
                && dev.stderr.contains(says),
            "{what}: `inlet dev` names {named:?} (saying {says:?}):\n{}\n{routes}",
            dev.stderr
        );
        assert!(
            !dev.stdout.contains("listening"),
            "{what}: nothing served: {dev:?}"
        );
    }
}
