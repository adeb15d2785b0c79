//! `inlet dlq` against moto over real SQS calls: peek with headers, copies and filters, JSON for
//! tools, redrive and delete by key with dry runs; and finding the stack `inlet dev` recorded in
//! `.inlet/stack.json`, or saying in one line that there is none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_sqs::types::MessageAttributeValue;
use inlet_local::{self as local, StackSettings};
use inlet_testkit::{Dev, Emulator, Run, Scratch, inlet_command, run};
use std::path::Path;
use std::process::Command;

const SECRET_VARIABLES: [&str; 1] = ["INLET_DLQ_TEST_GITHUB"];

/// A stack provisioned in its own emulator, with a config and env file in `scratch`.
struct Rig {
    emulator: Emulator,
    sqs: aws_sdk_sqs::Client,
    stack: local::Stack,
    scratch: Scratch,
}

impl Rig {
    async fn start() -> Self {
        let scratch = Scratch::new();
        std::fs::write(
            scratch.0.join("inlet.toml"),
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_DLQ_TEST_GITHUB\"]\n\n\
             [sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"env:INLET_DLQ_TEST_GITHUB\"]\n",
        )
        .unwrap();
        std::fs::write(
            scratch.0.join("local.env"),
            "INLET_DLQ_TEST_GITHUB=whsec_dlq_test_secret\n",
        )
        .unwrap();
        let emulator = Emulator::start();
        let config = emulator.sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let s3 = inlet_aws::s3_client(&config);
        let stack = local::provision(&sqs, &dynamodb, &s3, &StackSettings::default())
            .await
            .unwrap();
        Self {
            emulator,
            sqs,
            stack,
            scratch,
        }
    }

    /// Puts a dead letter in the dead-letter queue, as process or the redrive policy would.
    async fn dead_letter(&self, body: &str, attributes: &[(&str, &str)]) {
        let mut send = self
            .sqs
            .send_message()
            .queue_url(&self.stack.dead_letter_queue_url)
            .message_body(body);
        for (name, value) in attributes {
            send = send.message_attributes(
                *name,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(*value)
                    .build()
                    .unwrap(),
            );
        }
        send.send().await.unwrap();
    }

    /// `inlet <args>` against this emulator, from the scratch directory.
    async fn inlet(&self, args: &[&str]) -> Run {
        let mut command = inlet_command(
            &self.emulator.endpoint(),
            &self.scratch.0,
            &SECRET_VARIABLES,
        );
        command.args(args).current_dir(&self.scratch.0);
        tokio::task::spawn_blocking(move || run(&mut command, b""))
            .await
            .unwrap()
    }

    async fn depths(&self) -> (u64, u64) {
        let queue = local::depth(&self.sqs, &self.stack.queue_url)
            .await
            .unwrap();
        let dlq = local::depth(&self.sqs, &self.stack.dead_letter_queue_url)
            .await
            .unwrap();
        (queue.0 + queue.1, dlq.0 + dlq.1)
    }
}

fn envelope(source: &str, id: &str) -> String {
    serde_json::json!({
        "v": 1,
        "key": format!("{source}#{id}"),
        "source": source,
        "scheme": source,
        "event_type": "push",
        "event_id": id,
        "received_at": "2026-11-28T12:00:00.000Z",
        "headers": {"x-github-event": "push", "content-type": "application/json"},
        "body": "{\"zen\":\"hi\"}",
        "traceparent": format!("00-{}-00f067aa0ba902b7-01", trace_id(source)),
    })
    .to_string()
}

/// The trace each source's letters were queued with.
fn trace_id(source: &str) -> String {
    let hex: String = source.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{hex:0>32}")
}

/// Three copies of github#a (dead-lettered by process), one stripe#b (moved by the redrive
/// policy, so no attributes), one unreadable message.
async fn fill(rig: &Rig) {
    let failed = [
        ("reason", "action_failed"),
        ("source", "github"),
        ("failed_at", "2026-11-28T12:00:01.000Z"),
    ];
    for _ in 0..3 {
        rig.dead_letter(&envelope("github", "a"), &failed).await;
    }
    rig.dead_letter(&envelope("stripe", "b"), &[]).await;
    rig.dead_letter("not an envelope", &[("reason", "unparseable_envelope")])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peek_shows_headers_reasons_and_copies() {
    let rig = Rig::start().await;
    fill(&rig).await;

    let peek = rig.inlet(&["dlq", "peek"]).await;
    assert_eq!(peek.code, 0, "{peek:?}");
    for text in [
        "copy 1 of 3 of github#a",
        "copy 3 of 3 of github#a",
        "  key:       stripe#b",
        &format!(
            "  key:       stripe#b\n  trace_id:  {}\n",
            trace_id("stripe")
        ),
        "  reason:    action_failed",
        "  reason:    receives exhausted (moved by the queue's redrive policy",
        "  reason:    unparseable_envelope",
        "  headers:\n    content-type: application/json\n    x-github-event: push\n",
        "5 of 5 shown",
    ] {
        assert!(peek.stdout.contains(text), "{text:?} in:\n{}", peek.stdout);
    }
    assert!(!peek.stdout.contains("copy 1 of 1"), "{}", peek.stdout);

    let json = rig.inlet(&["dlq", "peek", "--json"]).await;
    assert_eq!(json.code, 0, "{json:?}");
    let letters: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(letters.len(), 5);
    let github: Vec<_> = letters.iter().filter(|l| l["key"] == "github#a").collect();
    assert_eq!(github.len(), 3);
    let mut numbers: Vec<_> = github.iter().map(|l| l["copy"].as_u64().unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(github.iter().all(|l| l["copies"] == 3));
    assert_eq!(github[0]["headers"]["x-github-event"], "push");
    assert_eq!(github[0]["trace_id"], trace_id("github"));
    assert_eq!(github[0]["attributes"]["reason"], "action_failed");
    assert_eq!(github[0]["body"], "{\"zen\":\"hi\"}");

    let one = rig
        .inlet(&["dlq", "peek", "-n", "1", "--source", "stripe", "--json"])
        .await;
    assert_eq!(one.code, 0, "{one:?}");
    let letters: Vec<serde_json::Value> = serde_json::from_str(&one.stdout).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["key"], "stripe#b");
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .contains("receives exhausted")
    );

    // Peeking leaves everything where it was.
    assert_eq!(rig.depths().await, (0, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peek_shows_the_attempts_of_each_failed_route() {
    let rig = Rig::start().await;
    // As process dead-letters two routes: one out of retries, one refused on its third attempt.
    let errors = serde_json::json!({
        "audit": {"reason": "retries_exhausted",
                  "message": "8 attempts; the last: the target answered 503", "attempts": 8},
        "billing": {"reason": "action_failed", "message": "the target answered 404",
                    "attempts": 3},
    })
    .to_string();
    rig.dead_letter(
        &envelope("github", "r"),
        &[
            ("reason", "retries_exhausted"),
            ("source", "github"),
            ("failed_at", "2026-11-28T12:00:01.000Z"),
            ("routes", "audit,billing"),
            ("route_errors", &errors),
            ("attempts", "8"),
        ],
    )
    .await;

    let peek = rig.inlet(&["dlq", "peek"]).await;
    assert_eq!(peek.code, 0, "{peek:?}");
    for text in [
        "  reason:    retries_exhausted\n  attempts:  8\n",
        "    audit    retries_exhausted: 8 attempts; the last: the target answered 503\n",
        "    billing  action_failed on attempt 3: the target answered 404\n",
    ] {
        assert!(peek.stdout.contains(text), "{text:?} in:\n{}", peek.stdout);
    }
    // Said once, not again among the other attributes.
    assert!(!peek.stdout.contains("attempts=8"), "{}", peek.stdout);

    let json = rig.inlet(&["dlq", "peek", "--json"]).await;
    assert_eq!(json.code, 0, "{json:?}");
    let letters: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(letters[0]["attempts"], 8);
    assert_eq!(
        letters[0]["routes"],
        serde_json::json!(["audit", "billing"])
    );
    assert_eq!(letters[0]["route_errors"]["audit"]["attempts"], 8);
    assert_eq!(letters[0]["route_errors"]["billing"]["attempts"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_and_delete_take_one_event_by_key() {
    let rig = Rig::start().await;
    fill(&rig).await;

    let dry = rig
        .inlet(&["dlq", "redrive", "--key", "github#a", "--dry-run"])
        .await;
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(
        dry.stdout
            .contains("would move 3 dead letter(s) of github#a back to the queue (dry run):\n  github#a (3 copies)\n"),
        "{dry:?}"
    );
    assert_eq!(rig.depths().await, (0, 5), "a dry run moves nothing");

    let moved = rig.inlet(&["dlq", "redrive", "--key", "github#a"]).await;
    assert_eq!(moved.code, 0, "{moved:?}");
    assert!(
        moved.stdout.contains("moved 3 dead letter(s) of github#a"),
        "{moved:?}"
    );
    // Not a terminal: progress is counted in lines.
    assert!(moved.stderr.contains("redriving 3/3"), "{moved:?}");
    assert_eq!(rig.depths().await, (3, 2));

    let refused = rig.inlet(&["dlq", "delete"]).await;
    assert_eq!(
        refused.code, 2,
        "delete needs --key, --source or --all: {refused:?}"
    );
    assert_eq!(rig.depths().await, (3, 2));

    let deleted = rig.inlet(&["dlq", "delete", "--key", "stripe#b"]).await;
    assert_eq!(deleted.code, 0, "{deleted:?}");
    assert!(
        deleted
            .stdout
            .contains("deleted 1 dead letter(s) of stripe#b"),
        "{deleted:?}"
    );
    assert_eq!(rig.depths().await, (3, 1));

    let dry = rig.inlet(&["dlq", "delete", "--all", "--dry-run"]).await;
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(
        dry.stdout
            .contains("would delete 1 dead letter(s) (dry run):\n  (unreadable envelope"),
        "{dry:?}"
    );
    assert_eq!(rig.depths().await, (3, 1));

    let all = rig.inlet(&["dlq", "delete", "--all"]).await;
    assert_eq!(all.code, 0, "{all:?}");
    assert_eq!(rig.depths().await, (3, 0));
    let empty = rig.inlet(&["dlq", "peek"]).await;
    assert_eq!(empty.stdout, "no dead letters\n", "{empty:?}");
}

/// `inlet` with no endpoint or queue in its environment, from `dir`.
fn bare_inlet(dir: &Path, args: &[&str]) -> Run {
    let mut command = inlet_command("", dir, &SECRET_VARIABLES);
    command
        .env_remove("AWS_ENDPOINT_URL")
        .args(args)
        .current_dir(dir);
    run(&mut command, b"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_find_the_running_stack_or_say_there_is_none() {
    let rig = Rig::start().await;
    fill(&rig).await;
    let dir = rig.scratch.0.clone();

    // No state file: one line saying what to do, exit 2.
    let none = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || bare_inlet(&dir, &["dlq", "stats"])
    })
    .await
    .unwrap();
    assert_eq!(none.code, 2, "{none:?}");
    assert_eq!(
        none.stderr,
        "inlet: no running stack: start one with `make dev` (or set AWS_ENDPOINT_URL / \
         INLET_QUEUE_URL for AWS)\n"
    );

    // A file a killed `inlet dev` left behind does not count, and the line says why.
    std::fs::create_dir_all(dir.join(".inlet")).unwrap();
    let left = serde_json::json!({
        "endpoint": rig.emulator.endpoint(),
        "region": "us-east-1",
        "queue_url": rig.stack.queue_url,
        "dead_letter_queue_url": rig.stack.dead_letter_queue_url,
        "table_name": "inlet-idempotency",
        "listen": "http://127.0.0.1:9",
        "inspector": null,
        // Above the kernel's pid_max: no such process.
        "pid": 4_194_305,
    });
    std::fs::write(dir.join(".inlet/stack.json"), left.to_string()).unwrap();
    let stale = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || bare_inlet(&dir, &["dlq", "peek", "--n", "1"])
    })
    .await
    .unwrap();
    assert_eq!(stale.code, 2, "{stale:?}");
    assert!(
        stale.stderr.starts_with(
            "inlet: no running stack (.inlet/stack.json is left from inlet dev 4194305, which has \
             stopped): start one with `make dev`"
        ) && stale.stderr.lines().count() == 1,
        "{stale:?}"
    );

    let dev = Dev::start(&rig.emulator, &dir, &SECRET_VARIABLES);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".inlet/stack.json")).unwrap())
            .unwrap();
    assert_eq!(state["endpoint"], rig.emulator.endpoint());
    assert_eq!(state["queue_url"], rig.stack.queue_url.as_str());
    assert_eq!(state["listen"], format!("http://127.0.0.1:{}", dev.port));
    assert_eq!(state["pid"], dev.pid());

    let (stats, sent) = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            let stats = bare_inlet(&dir, &["dlq", "stats"]);
            std::fs::write(dir.join("body.json"), "{\"zen\":\"hi\"}").unwrap();
            let sent = bare_inlet(
                &dir,
                &[
                    "send",
                    "github",
                    "--body",
                    "body.json",
                    "-H",
                    "X-GitHub-Event: ping",
                ],
            );
            (stats, sent)
        }
    })
    .await
    .unwrap();
    assert_eq!(stats.code, 0, "{stats:?}");
    assert!(
        stats.stdout.contains(&rig.stack.dead_letter_queue_url),
        "{stats:?}"
    );
    assert!(stats.stdout.contains("     5 waiting"), "{stats:?}");
    // `inlet send` posts to the address `inlet dev` recorded, not the default 3000.
    assert_eq!(sent.code, 0, "{sent:?}");
    assert!(sent.stdout.starts_with("202 "), "{sent:?}");

    // A clean stop removes the file; commands then say there is no stack.
    stop(dev);
    assert!(!dir.join(".inlet/stack.json").exists());
}

/// Stops `inlet dev` as Ctrl-C would, and waits for it to end.
fn stop(mut dev: Dev) {
    let pid = dev.pid().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while dev.exited().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "inlet dev did not stop"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
