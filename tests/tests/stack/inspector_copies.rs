//! The inspector when things fail, through its API against a running `inlet dev` (the rig of
//! `inspector.rs`): copies of one event tracked each by its own queue message, the dead-letter
//! queue and the page agreeing whoever changes it (`inlet dlq` or the page), and a second
//! `inlet dev` in the same directory refused before it touches the first one's history.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::inspector::{Rig, SECRET_VARIABLES, forwarding_config, github, text};
use inlet_testkit::inlet_command;
use inlet_testkit::target::{Script, Target};
use serde_json::Value;
use std::process::Output;

/// `copies` forwards to `fail` (500 until told otherwise): its route is tried five times, a
/// second apart, and no breaker holds it back, so a failing event dead-letters in seconds, not
/// minutes. `broken` answers 410, dead-lettered at once.
fn config(target: &Target) -> String {
    forwarding_config(
        target,
        4,
        &[("copies", "fail"), ("broken", "gone"), ("github", "ok")],
    )
}

impl Rig {
    /// `inlet ARGS` run in the rig's directory the way a user in another terminal runs it: no
    /// endpoint in the environment, so it finds the running `inlet dev` through
    /// `.inlet/stack.json`.
    fn inlet(&self, args: &[&str]) -> Output {
        inlet_command(
            &self.emulator.endpoint(),
            self.scratch.path(),
            &SECRET_VARIABLES,
        )
        .env_remove("AWS_ENDPOINT_URL")
        .current_dir(self.scratch.path())
        .args(args)
        .output()
        .unwrap()
    }

    /// The deliveries of `key`, oldest first.
    fn copies_of(&self, key: &str) -> Vec<Value> {
        let mut copies: Vec<Value> = self
            .deliveries()
            .into_iter()
            .filter(|d| text(d, "key") == key)
            .collect();
        copies.reverse();
        copies
    }

    /// Waits until the deliveries of `key` are in `states`, in any order; they are returned
    /// oldest first.
    fn wait_for_copies(&mut self, key: &str, states: &[&str]) -> Vec<Value> {
        let mut wanted = states.to_vec();
        wanted.sort_unstable();
        let deadline = std::time::Instant::now() + inlet_testkit::browser::WAIT;
        loop {
            self.dev.assert_running();
            let copies = self.copies_of(key);
            let mut now: Vec<&str> = copies.iter().map(|d| text(d, "state")).collect();
            now.sort_unstable();
            if now == wanted {
                return copies;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting until the copies of {key} are {states:?}; they are \
                 {copies:#?}\n{}",
                self.dev.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// `GET /api/deliveries?state=…`: how many are listed.
    fn count_in(&self, state: &str) -> usize {
        let (status, json) = self.api("GET", &format!("/api/deliveries?state={state}"));
        assert_eq!(status, 200, "{json}");
        json["deliveries"].as_array().map_or(0, Vec::len)
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Three copies of one event with their target down: each is its own delivery, and they share
/// one schedule — a route's attempts are its event's, counted in the event's claim, so the route
/// is tried five times in all, whichever copy runs it. The copy whose attempt is the last is
/// dead-lettered (`retries_exhausted`, five attempts); the others then find the route settled
/// and are acknowledged as duplicates, not dead-lettered again. The page and `inlet dlq` count
/// the same one dead letter, and a redrive with `inlet dlq` shows on the page at once and ends
/// with the event processed once, none of the copies dropped.
#[test]
fn three_failing_copies_share_one_schedule_and_a_cli_redrive_shows_on_the_page() {
    let mut rig = Rig::start_from(config);
    let event = github("copies", "copies-1");
    for _ in 0..3 {
        rig.post(&event);
    }
    let copies = rig.wait_for_copies(&event.key, &["dead_lettered", "duplicate", "duplicate"]);
    // Each copy is the message ingest queued it as.
    let messages: std::collections::HashSet<&str> =
        copies.iter().map(|d| text(d, "message_id")).collect();
    assert_eq!(messages.len(), 3, "{copies:#?}");
    assert!(!messages.contains(""), "{copies:#?}");
    let details: Vec<Value> = copies
        .iter()
        .map(|d| {
            rig.api("GET", &format!("/api/deliveries/{}", text(d, "id")))
                .1
        })
        .collect();
    let runs = |d: &Value| d["action_attempts"].as_array().map_or(0, Vec::len);
    assert_eq!(
        details.iter().map(runs).sum::<usize>(),
        5,
        "five attempts in all, not five a copy: {details:#?}"
    );
    assert_eq!(rig.target.hits_for(&event.key).len(), 5);
    let dead: Vec<&Value> = details
        .iter()
        .filter(|d| text(d, "state") == "dead_lettered")
        .collect();
    assert_eq!(dead.len(), 1, "{details:#?}");
    let dead = dead[0];
    let words = text(dead, "state_detail");
    assert!(words.contains("retries_exhausted"), "{words}");
    assert!(
        !words.contains("receives ran out"),
        "not SQS's redrive: {words}"
    );
    assert_eq!(dead["routes"][0]["attempts"], 5, "{dead:#}");

    // The page and `inlet dlq` agree on what is dead-lettered: the one letter.
    let peek = |rig: &Rig| -> Vec<Value> {
        let output = rig.inlet(&["dlq", "peek", "--json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_str(&stdout(&output)).unwrap()
    };
    let letters = peek(&rig);
    assert_eq!(letters.len(), 1, "{letters:#?}");
    let letter = &letters[0];
    assert_eq!(letter["key"], event.key.as_str(), "{letter:#}");
    assert_eq!(letter["copies"], 1, "{letter:#}");
    assert_eq!(
        letter["attributes"]["reason"], "retries_exhausted",
        "{letter:#}"
    );
    assert_eq!(letter["attempts"], 5, "{letter:#}");
    assert_eq!(rig.count_in("dead_lettered"), letters.len());

    // A redrive from the command line: the page says so at once, not a Redrive button for a
    // letter that has gone.
    rig.target.script("fail", Script::Ok);
    let output = rig.inlet(&["dlq", "redrive", "--key", &event.key]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("moved 1 dead letter(s)"),
        "{}",
        stdout(&output)
    );
    assert!(
        !stderr(&output).contains("was not told"),
        "the inspector was told: {}",
        stderr(&output)
    );
    assert_eq!(
        rig.count_in("dead_lettered"),
        0,
        "told before the command ends, the page no longer lists it as a dead letter"
    );
    let dead_id = text(dead, "id").to_owned();
    let (status, refused) = rig.api("POST", &format!("/api/deliveries/{dead_id}/redrive"));
    if status != 200 {
        // Unless process has already taken it, the page says who moved it.
        let message = text(&refused, "message");
        assert!(
            message.contains("by inlet dlq") || message.contains("is processed"),
            "{refused}"
        );
    }
    let after = rig.wait_for_copies(&event.key, &["processed", "duplicate", "duplicate"]);
    let still: Vec<&str> = after.iter().map(|d| text(d, "message_id")).collect();
    assert_eq!(
        still,
        copies
            .iter()
            .map(|d| text(d, "message_id"))
            .collect::<Vec<_>>(),
        "each outcome landed on its own copy, none listed twice"
    );
    let processed: Vec<&str> = after
        .iter()
        .filter(|d| text(d, "state") == "processed")
        .map(|d| text(d, "id"))
        .collect();
    assert_eq!(processed, [dead_id.as_str()], "the redriven copy ran");
    let through = rig.target.hits_for(&event.key);
    assert_eq!(
        through.iter().filter(|h| h.succeeded()).count(),
        1,
        "{through:#?}"
    );
    assert_eq!(through.len(), 6, "{through:#?}");
    assert_eq!(rig.count_in("dead_lettered"), 0);
    assert!(peek(&rig).is_empty());

    // `--key` that matches nothing fails and says so.
    let output = rig.inlet(&["dlq", "delete", "--key", "copies#no-such-event"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no dead letter has the key copies#no-such-event"),
        "{}",
        stderr(&output)
    );
}

/// A dead letter deleted with `inlet dlq` shows as deleted on the page; one the page redrives is
/// gone from `inlet dlq peek`; after a restart against a fresh emulator, a dead letter the new
/// queue does not hold is shown as gone, and the page refuses to redrive it saying why.
#[test]
fn the_page_and_inlet_dlq_agree_on_dead_letters_across_a_restart() {
    let mut rig = Rig::start_from(config);
    let deleted = github("broken", "dlq-deleted");
    let redriven = github("broken", "dlq-redriven");
    let kept = github("broken", "dlq-kept");
    for delivery in [&deleted, &redriven, &kept] {
        rig.post(delivery);
        rig.wait_for_delivery(&format!("{} is dead-lettered", delivery.key), |d| {
            text(d, "key") == delivery.key && text(d, "state") == "dead_lettered"
        });
    }
    let id_of = |rig: &Rig, key: &str| text(&rig.copies_of(key)[0], "id").to_owned();

    let output = rig.inlet(&["dlq", "delete", "--key", &deleted.key]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (_, detail) = rig.api(
        "GET",
        &format!("/api/deliveries/{}", id_of(&rig, &deleted.key)),
    );
    assert_eq!(detail["state"], "deleted", "{detail:#}");
    assert!(
        text(&detail, "state_detail").contains("inlet dlq"),
        "{detail:#}"
    );

    rig.target.script("gone", Script::Ok);
    let redriven_id = id_of(&rig, &redriven.key);
    let (status, done) = rig.api("POST", &format!("/api/deliveries/{redriven_id}/redrive"));
    assert_eq!(status, 200, "{done}");
    rig.wait_for_delivery("the page's redrive is processed", |d| {
        text(d, "id") == redriven_id && text(d, "state") == "processed"
    });
    let output = rig.inlet(&["dlq", "peek", "--json"]);
    let letters: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    let keys: Vec<&str> = letters.iter().map(|l| text(l, "key")).collect();
    assert_eq!(keys, [kept.key.as_str()], "only the kept one is left");

    // A restart with a fresh emulator: the kept letter is not in its queue.
    let status = rig.dev.interrupt();
    assert!(status.success(), "{}", rig.dev.log());
    rig.emulator = inlet_testkit::Emulator::start();
    rig.dev = super::inspector::Dev::start(&rig.emulator, rig.scratch.path(), 2);
    let kept_id = id_of(&rig, &kept.key);
    let (_, detail) = rig.api("GET", &format!("/api/deliveries/{kept_id}"));
    assert_eq!(detail["state"], "dead_lettered", "{detail:#}");
    assert_eq!(detail["gone"], true, "{detail:#}");
    let (status, refused) = rig.api("POST", &format!("/api/deliveries/{kept_id}/redrive"));
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"], "gone", "{refused}");
    // What was done before the restart stays as it was.
    let (_, detail) = rig.api(
        "GET",
        &format!("/api/deliveries/{}", id_of(&rig, &deleted.key)),
    );
    assert_eq!(detail["state"], "deleted", "{detail:#}");
}

/// A second `inlet dev` in the directory of a running one refuses, naming the running one's pid,
/// and leaves its history alone: the first goes on recording deliveries to the same file.
#[test]
fn a_second_inlet_dev_refuses_and_leaves_the_running_ones_history_alone() {
    let mut rig = Rig::start_from(config);
    let before = github("github", "second-dev-1");
    rig.post(&before);
    rig.wait_for_delivery("the first delivery is processed", |d| {
        text(d, "key") == before.key && text(d, "state") == "processed"
    });
    let history = rig.scratch.path().join(".inlet/history.jsonl");
    let inode = |path: &std::path::Path| {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(path).unwrap().ino()
    };
    let (inode_before, text_before) = (inode(&history), std::fs::read_to_string(&history).unwrap());

    // The same ports as the running one, as a second `make dev` would use.
    let output = inlet_command(
        &rig.emulator.endpoint(),
        rig.scratch.path(),
        &SECRET_VARIABLES,
    )
    .current_dir(rig.scratch.path())
    .args(["dev", "--no-samples", "--listen"])
    .arg(format!("127.0.0.1:{}", rig.dev.port))
    .arg("--inspect")
    .arg(rig.dev.inspector().trim_start_matches("http://"))
    .output()
    .unwrap();
    assert!(!output.status.success(), "{}", stdout(&output));
    let said = stderr(&output);
    assert!(said.contains("inlet dev is already running"), "{said}");
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(rig.scratch.path().join(".inlet/stack.json")).unwrap(),
    )
    .unwrap();
    assert!(
        said.contains(&format!("pid {}", state["pid"])),
        "names the running pid: {said}"
    );
    assert_eq!(
        inode(&history),
        inode_before,
        "the history file was not replaced"
    );
    assert!(
        std::fs::read_to_string(&history)
            .unwrap()
            .starts_with(&text_before),
        "the history was not rewritten"
    );

    // The running one still records what comes in, in the file it has open.
    let after = github("github", "second-dev-2");
    rig.post(&after);
    rig.wait_for_delivery("the second delivery is processed", |d| {
        text(d, "key") == after.key && text(d, "state") == "processed"
    });
    let written = std::fs::read_to_string(&history).unwrap();
    assert!(
        written.contains("second-dev-2"),
        "the history on disk has it"
    );
}
