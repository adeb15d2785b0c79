//! `inlet dev`'s inspector page in a real browser (headless Chromium, `inlet_testkit::browser`)
//! and its JSON API, against a running `inlet dev` (the built binary, its own emulator and a
//! local forward target), as e2e.rs runs it. Each `inlet dev` runs in its own scratch directory,
//! which is where it keeps its history (`.inlet/history.jsonl`): nothing is written to the
//! repository.
//!
//! Waits poll with a generous bound ([`browser::WAIT`]): the page polls the API about once a
//! second, and the machine may be busy with other tests; nothing here is a timed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_signature::Delivery;
use inlet_testkit::browser::{self, Browser, leftovers};
use inlet_testkit::providers::named;
use inlet_testkit::target::{Script, Target};
use inlet_testkit::{Emulator, Scratch, free_port, inlet_command};
use serde_json::Value;
use std::collections::HashSet;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A config whose each `(source, path)` is a GitHub source forwarding to `target`'s `path`, with
/// `retries` one-second steps and no breaker in the way, so a failing route settles in seconds.
pub(crate) fn forwarding_config(
    target: &Target,
    retries: usize,
    sources: &[(&str, &str)],
) -> String {
    let schedule = vec!["\"1s\""; retries].join(", ");
    let mut text = format!(
        "[process]\nretry_schedule = [{schedule}]\nbreaker_threshold = 1000\n\
         retry_base_secs = 1\nretry_max_secs = 1\n\n"
    );
    for (source, path) in sources {
        text.push_str(&format!(
            "[sources.{source}]\nscheme = \"github\"\nsecrets = [\"env:INLET_INSPECT_GITHUB\"]\n\n\
             [[routes]]\nsource = \"{source}\"\naction = {{ type = \"forward\", url = \"{}\", \
             secret = \"env:INLET_INSPECT_AGENT\", timeout_ms = 5000 }}\n\n",
            target.url(&format!("/{path}"))
        ));
    }
    text
}

// ---- config ----

const GITHUB_SECRET: &str = "inspector-github-secret";
const STRIPE_SECRET: &str = "whsec_inspector_stripe_secret";
const AGENT_SECRET: &str = "whsec_aW5zcGVjdG9yLWFnZW50LWZvcndhcmQtc2VjcmV0";

/// The names the config reads; `inlet` prefers the process environment to --env-file.
pub(super) const SECRET_VARIABLES: [&str; 3] = [
    "INLET_INSPECT_GITHUB",
    "INLET_INSPECT_STRIPE",
    "INLET_INSPECT_AGENT",
];

fn env_file() -> String {
    SECRET_VARIABLES
        .iter()
        .zip([GITHUB_SECRET, STRIPE_SECRET, AGENT_SECRET])
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect()
}

/// `github` and `stripe` forward to a target that takes everything; `broken` to one that answers
/// 410 until told otherwise (a permanent failure: dead-lettered at once); `flaky` to one that
/// answers 500, whose route's schedule tries it again only after an hour, so it stays `retrying`
/// while a test looks at it. Each of `more` is a GitHub-signed source and the URL it forwards
/// to.
fn config(target: &Target, more: &[(&str, String)]) -> String {
    let mut text = String::from(
        "[process]\nretry_schedule = [\"1h\"]\nretry_base_secs = 60\nretry_max_secs = 60\n\n\
         [sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_INSPECT_GITHUB\"]\n\n\
         [sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"env:INLET_INSPECT_STRIPE\"]\n\n\
         [sources.broken]\nscheme = \"github\"\nsecrets = [\"env:INLET_INSPECT_GITHUB\"]\n\n\
         [sources.flaky]\nscheme = \"github\"\nsecrets = [\"env:INLET_INSPECT_GITHUB\"]\n\n",
    );
    for (source, path) in [
        ("github", "ok"),
        ("stripe", "ok"),
        ("broken", "gone"),
        ("flaky", "fail"),
    ] {
        text.push_str(&format!(
            "[[routes]]\nsource = \"{source}\"\naction = {{ type = \"forward\", url = \"{}\", \
             secret = \"env:INLET_INSPECT_AGENT\", timeout_ms = 5000 }}\n\n",
            target.url(&format!("/{path}"))
        ));
    }
    for (source, url) in more {
        text.push_str(&format!(
            "[sources.{source}]\nscheme = \"github\"\nsecrets = [\"env:INLET_INSPECT_GITHUB\"]\n\n\
             [[routes]]\nsource = \"{source}\"\naction = {{ type = \"forward\", url = \"{url}\", \
             secret = \"env:INLET_INSPECT_AGENT\", timeout_ms = 5000 }}\n\n"
        ));
    }
    text
}

// ---- deliveries ----

fn now_secs() -> i64 {
    inlet_signature::clock::epoch_millis(SystemTime::now()).div_euclid(1000)
}

/// A delivery as its provider would send it.
#[derive(Debug, Clone)]
pub(super) struct Signed {
    pub(super) source: String,
    /// The key ingest gives it (`source#event id`).
    pub(super) key: String,
    pub(super) headers: HeaderMap,
    body: Vec<u8>,
}

fn sign(
    source: &str,
    scheme: &str,
    secret: &str,
    headers: &[(&str, &str)],
    body: String,
    key: String,
) -> Signed {
    let scheme = named(scheme);
    let mut map = HeaderMap::new();
    map.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        map.insert(
            HeaderName::try_from(*name).unwrap(),
            HeaderValue::try_from(*value).unwrap(),
        );
    }
    let added = scheme
        .sign(
            &Delivery {
                headers: &map,
                body: body.as_bytes(),
                url: None,
                method: "POST",
                query: None,
            },
            &scheme.key(secret).unwrap(),
            now_secs(),
        )
        .unwrap();
    for (name, value) in added {
        map.insert(name, value);
    }
    Signed {
        source: source.to_owned(),
        key,
        headers: map,
        body: body.into_bytes(),
    }
}

/// A GitHub push to `source`; its delivery id is in the body too, so that "replay as new" can
/// give the copy a fresh one.
pub(super) fn github(source: &str, id: &str) -> Signed {
    sign(
        source,
        "github",
        GITHUB_SECRET,
        &[("x-github-event", "push"), ("x-github-delivery", id)],
        format!(r#"{{"ref":"refs/heads/main","delivery":"{id}"}}"#),
        format!("{source}#{id}"),
    )
}

fn stripe(id: &str) -> Signed {
    sign(
        "stripe",
        "stripe",
        STRIPE_SECRET,
        &[],
        format!(r#"{{"id":"{id}","object":"event","type":"invoice.paid"}}"#),
        format!("stripe#{id}"),
    )
}

// ---- `inlet dev` with its inspector ----

/// A running `inlet dev --no-samples` with the inspector on a free port, in `dir`; killed when
/// dropped (its output printed if the test is failing), or stopped with [`Dev::interrupt`].
#[derive(Debug)]
pub(super) struct Dev {
    child: Child,
    pub(super) port: u16,
    inspect_port: u16,
    output: PathBuf,
}

impl Dev {
    /// `run` numbers the output file, so that a restarted `inlet dev` does not overwrite it.
    pub(super) fn start(emulator: &Emulator, dir: &Path, run: u32) -> Self {
        let (port, inspect_port) = (free_port(), free_port());
        let output = dir.join(format!("dev-{run}.log"));
        let log = std::fs::File::create(&output).unwrap();
        let child = inlet_command(&emulator.endpoint(), dir, &SECRET_VARIABLES)
            .args(["dev", "--no-samples", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--inspect")
            .arg(format!("127.0.0.1:{inspect_port}"))
            .current_dir(dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start inlet dev: {e}"));
        let mut dev = Self {
            child,
            port,
            inspect_port,
            output,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        for port in [port, inspect_port] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Some(status) = dev.exited() {
                    panic!("inlet dev exited ({status}) before serving:\n{}", dev.log());
                }
                assert!(
                    Instant::now() < deadline,
                    "inlet dev did not listen on {port} in time:\n{}",
                    dev.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        dev
    }

    fn url(&self, source: &str) -> String {
        format!("http://127.0.0.1:{}/webhooks/{source}", self.port)
    }

    pub(super) fn inspector(&self) -> String {
        format!("http://127.0.0.1:{}", self.inspect_port)
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub(super) fn log(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    pub(super) fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!("inlet dev exited ({status}):\n{}", self.log());
        }
    }

    /// Stops it as Ctrl-C does (SIGINT) and waits for it to finish; how it exited.
    pub(super) fn interrupt(&mut self) -> ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-s", "INT", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "inlet dev did not stop on SIGINT:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- inlet dev output ({}) ----\n{}",
                self.output.display(),
                self.log()
            );
        }
    }
}

/// The target, the emulator, `inlet dev` and an HTTP client; the tests are plain threads that
/// block on `runtime` where they need async (the target runs on it).
pub(super) struct Rig {
    pub(super) dev: Dev,
    pub(super) emulator: Emulator,
    pub(super) target: Target,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    pub(super) scratch: Scratch,
}

impl Rig {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// With more sources, as [`config`] takes them.
    fn start_with(more: &[(&str, String)]) -> Self {
        Self::start_from(|target| config(target, more))
    }

    /// With the config `config` writes for the forward target (its paths are `ok`, `gone` and
    /// `fail`, scripted as [`config`] describes).
    pub(super) fn start_from(config: impl FnOnce(&Target) -> String) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let target = runtime.block_on(Target::start(&[
            ("ok", Script::Ok),
            ("gone", Script::Always(410)),
            ("fail", Script::Always(500)),
        ]));
        let scratch = Scratch::with_prefix("inlet-inspector");
        std::fs::write(scratch.path().join("inlet.toml"), config(&target)).unwrap();
        std::fs::write(scratch.path().join("local.env"), env_file()).unwrap();
        let emulator = Emulator::start();
        let dev = Dev::start(&emulator, scratch.path(), 1);
        let http = inlet_core::actions::forward::http_client_builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            dev,
            emulator,
            target,
            http,
            runtime,
            scratch,
        }
    }

    /// Posts a delivery: the status and body ingest answered.
    fn send(&self, delivery: &Signed) -> (u16, String) {
        self.runtime.block_on(async {
            let response = self
                .http
                .post(self.dev.url(&delivery.source))
                .headers(delivery.headers.clone())
                .body(delivery.body.clone())
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    }

    /// Posts a delivery that ingest must queue.
    pub(super) fn post(&self, delivery: &Signed) {
        let (status, body) = self.send(delivery);
        assert_eq!(status, 202, "{}: {body}", delivery.key);
    }

    /// A request to the inspector's API: the status and the JSON answered.
    pub(super) fn api(&self, method: &str, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.dev.inspector());
        self.runtime.block_on(async {
            let request = match method {
                "GET" => self.http.get(&url),
                _ => self.http.post(&url),
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            let json = serde_json::from_str(&text).unwrap_or_else(|e| {
                panic!("{method} {path} answered {status} with no JSON ({e}): {text}")
            });
            (status, json)
        })
    }

    /// `GET /api/deliveries`, newest first.
    pub(super) fn deliveries(&self) -> Vec<Value> {
        let (status, json) = self.api("GET", "/api/deliveries");
        assert_eq!(status, 200, "{json}");
        json["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("{json}"))
    }

    /// The first listed delivery `test` accepts, once there is one.
    pub(super) fn wait_for_delivery(&mut self, what: &str, test: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + browser::WAIT;
        loop {
            self.dev.assert_running();
            let list = self.deliveries();
            if let Some(found) = list.iter().find(|d| test(d)) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}; the inspector lists {list:#?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A delivery's field as text ("" if absent).
pub(super) fn text<'a>(delivery: &'a Value, field: &str) -> &'a str {
    delivery[field].as_str().unwrap_or_default()
}

// ---- the page ----

/// A row of the deliveries table as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    id: String,
    state: String,
    source: String,
}

/// The rows a person sees: filtered-out rows may be hidden rather than removed.
fn visible_rows(browser: &mut Browser) -> Vec<Row> {
    let rows = browser.value(
        "[...document.querySelectorAll('table#deliveries tbody tr[data-delivery-id]')]\
         .filter(r => r.getClientRects().length > 0)\
         .map(r => [r.dataset.deliveryId, r.dataset.state || '', r.dataset.source || ''])",
    );
    rows.as_array()
        .into_iter()
        .flatten()
        .map(|row| Row {
            id: row[0].as_str().unwrap_or_default().to_owned(),
            state: row[1].as_str().unwrap_or_default().to_owned(),
            source: row[2].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Waits until the visible rows pass `test`; gives them.
fn wait_for_rows(browser: &mut Browser, what: &str, test: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    browser.wait_until(what, browser::WAIT, |browser| {
        let rows = visible_rows(browser);
        test(&rows).then_some(rows)
    })
}

/// The text of the element `selector` matches, once it has some.
fn wait_for_text(browser: &mut Browser, selector: &str) -> String {
    let selector_json = Value::String(selector.to_owned());
    let value = browser.wait_for_js(
        &format!("{selector} shows something"),
        &format!("document.querySelector({selector_json})?.textContent.trim()"),
    );
    value.as_str().unwrap_or_default().to_owned()
}

/// Picks the first option of a filter, which is "everything".
fn select_first(browser: &mut Browser, selector: &str) {
    let selector_json = Value::String(selector.to_owned());
    let first = browser.value(&format!(
        "document.querySelector({selector_json}).options[0].value"
    ));
    browser.select(selector, first.as_str().unwrap_or_default());
}

fn row_selector(id: &str) -> String {
    format!(
        "table#deliveries tbody tr[data-delivery-id={}]",
        Value::String(id.to_owned())
    )
}

/// Opens a delivery's detail by clicking its row. A row can move between finding it and the
/// click, when the poll inserts a newer delivery above it: then the click is made again.
fn open_detail(browser: &mut Browser, id: &str) {
    let id_json = Value::String(id.to_owned());
    let opened = format!("document.querySelector('#detail')?.dataset.detailId === {id_json}");
    let deadline = Instant::now() + browser::WAIT;
    while Instant::now() < deadline {
        browser.click(&row_selector(id));
        let clicked = Instant::now();
        while clicked.elapsed() < Duration::from_secs(5) {
            if browser.eval(&opened).is_ok_and(|open| open == true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("the detail of {id} did not open\n{}", browser.diagnostics());
}

/// Clicks an action button of the open detail and waits for the row of the delivery it made.
fn act_from_page(browser: &mut Browser, action: &str, state: &str) -> Row {
    let before: HashSet<String> = visible_rows(browser).into_iter().map(|r| r.id).collect();
    browser.click(&format!("#detail button[data-action=\"{action}\"]"));
    let rows = wait_for_rows(
        browser,
        &format!("the delivery {action} made is listed as {state}"),
        |rows| {
            rows.iter()
                .any(|r| !before.contains(&r.id) && r.state == state)
        },
    );
    rows.into_iter()
        .find(|r| !before.contains(&r.id) && r.state == state)
        .unwrap()
}

#[test]
fn the_page_fills_filters_shows_and_replays_deliveries_as_they_happen() {
    let mut rig = Rig::start();
    let mut browser = Browser::launch();
    browser.goto(&rig.dev.inspector());
    browser.wait_for_js(
        "the page shows its deliveries table",
        "document.querySelector('table#deliveries tbody') !== null",
    );
    assert_eq!(visible_rows(&mut browser), [], "nothing has arrived yet");
    // Lost if the page reloads: the list must fill by itself.
    browser.value("window.inletTestLoad = 'first'");

    // (a) Deliveries to two sources, sent after the page is open.
    let sent = [
        github("github", "gh-insp-1"),
        stripe("evt_insp_1"),
        github("github", "gh-insp-2"),
        stripe("evt_insp_2"),
        github("github", "gh-insp-3"),
    ];
    rig.post(&sent[0]);
    wait_for_rows(&mut browser, "the first delivery is listed", |rows| {
        rows.len() == 1 && rows[0].source == "github"
    });
    for delivery in &sent[1..] {
        rig.post(delivery);
    }
    let rows = wait_for_rows(&mut browser, "all five are listed as processed", |rows| {
        rows.len() == 5 && rows.iter().all(|r| r.state == "processed")
    });
    assert_eq!(
        browser.value("window.inletTestLoad"),
        "first",
        "the page reloaded"
    );
    let listed = rig.deliveries();
    let id_of = |key: &str| -> String {
        let found = listed.iter().find(|d| text(d, "key") == key);
        text(
            found.unwrap_or_else(|| panic!("{key} is not listed: {listed:#?}")),
            "id",
        )
        .to_owned()
    };
    let row_ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let api_ids: Vec<&str> = listed.iter().map(|d| text(d, "id")).collect();
    assert_eq!(
        row_ids, api_ids,
        "the page lists what the API does, newest first"
    );
    for row in &rows {
        let key = text(
            listed.iter().find(|d| text(d, "id") == row.id).unwrap(),
            "key",
        );
        assert!(
            key.starts_with(&format!("{}#", row.source)),
            "{row:?} has key {key}"
        );
    }

    // (b) Filters narrow the list where it stands.
    browser.select("select#filter-source", "stripe");
    wait_for_rows(&mut browser, "only stripe's two rows are visible", |rows| {
        rows.len() == 2 && rows.iter().all(|r| r.source == "stripe")
    });
    select_first(&mut browser, "select#filter-source");
    wait_for_rows(&mut browser, "every row is back", |rows| rows.len() == 5);
    browser.type_text("input#filter-text", "gh-insp-2");
    let chosen = id_of("github#gh-insp-2");
    wait_for_rows(
        &mut browser,
        "the text filter leaves gh-insp-2 alone",
        |rows| rows.len() == 1 && rows[0].id == chosen,
    );
    browser.type_text("input#filter-text", "");
    wait_for_rows(&mut browser, "every row is back", |rows| rows.len() == 5);
    browser.select("select#filter-state", "processed");
    wait_for_rows(&mut browser, "the five processed rows stay", |rows| {
        rows.len() == 5
    });
    browser.select("select#filter-state", "duplicate");
    wait_for_rows(&mut browser, "no row is a duplicate", <[Row]>::is_empty);
    select_first(&mut browser, "select#filter-state");
    wait_for_rows(&mut browser, "every row is back", |rows| rows.len() == 5);

    // (c) A click on a row shows the delivery whole.
    open_detail(&mut browser, &chosen);
    let headers = wait_for_text(&mut browser, "#detail-headers").to_lowercase();
    for expected in ["x-github-delivery", "gh-insp-2", "x-hub-signature-256"] {
        assert!(
            headers.contains(expected),
            "the headers show {expected}: {headers}"
        );
    }
    let body = wait_for_text(&mut browser, "#detail-body");
    assert!(
        body.contains("refs/heads/main") && body.contains("gh-insp-2"),
        "{body}"
    );
    let verdict = wait_for_text(&mut browser, "#detail-verdict");
    assert!(
        verdict.contains("202"),
        "the verdict shows ingest's 202: {verdict}"
    );
    let envelope = wait_for_text(&mut browser, "#detail-envelope");
    assert!(envelope.contains("github#gh-insp-2"), "{envelope}");
    wait_for_text(&mut browser, "#detail-attempts");
    let timeline = wait_for_text(&mut browser, "#detail-timeline");
    for step in [
        "received",
        "queued",
        "claimed",
        "attempt",
        "delivered",
        "done",
        "+0 ms",
    ] {
        assert!(
            timeline.contains(step),
            "the timeline shows {step}: {timeline}"
        );
    }
    let trace = wait_for_text(&mut browser, "#detail-trace-id");
    assert_eq!(trace.len(), 32, "the trace id is shown: {trace}");

    // (d) Replay as new: another event, forwarded again.
    let replayed = act_from_page(&mut browser, "replay-new", "processed");
    let (status, copy) = rig.api("GET", &format!("/api/deliveries/{}", replayed.id));
    assert_eq!(status, 200, "{copy}");
    assert_eq!(copy["replay_of"], chosen.as_str(), "{copy}");
    assert_eq!(copy["source"], "github");
    let new_key = text(&copy, "key").to_owned();
    assert!(
        new_key.starts_with("github#") && new_key != "github#gh-insp-2",
        "{copy}"
    );
    assert!(
        rig.target.succeeded(&new_key),
        "the copy reached the target"
    );
    assert_replay_marked(&mut browser, &replayed.id);
    assert_eq!(rig.target.hits_for("github#gh-insp-2").len(), 1);

    // Replay as received: the same event again, which process acknowledges as a duplicate.
    open_detail(&mut browser, &chosen);
    let again = act_from_page(&mut browser, "replay", "duplicate");
    let (_, copy) = rig.api("GET", &format!("/api/deliveries/{}", again.id));
    assert_eq!(copy["replay_of"], chosen.as_str(), "{copy}");
    assert_eq!(copy["key"], "github#gh-insp-2", "{copy}");
    assert_replay_marked(&mut browser, &again.id);
    assert_eq!(
        rig.target.hits_for("github#gh-insp-2").len(),
        1,
        "a duplicate is not forwarded"
    );

    assert_eq!(
        browser.page_errors(),
        [] as [String; 0],
        "the page reported errors"
    );
    rig.dev.assert_running();
}

/// That the row of `id`, a copy the page's Replay button made, reads as a replay.
fn assert_replay_marked(browser: &mut Browser, id: &str) {
    let row = row_selector(id);
    let row_json = Value::String(row.clone());
    let mark = browser.wait_for_js(
        &format!("the row of {id} is marked as a replay"),
        &format!(
            "(() => {{ const r = document.querySelector({row_json}); \
             return r && r.dataset.replay && [r.dataset.replay, r.querySelector('.tag')?.textContent]; }})()"
        ),
    );
    assert_eq!(mark, serde_json::json!(["page", "replay"]), "{row}");
}

/// The fields every listed delivery has.
const SUMMARY_FIELDS: [&str; 17] = [
    "id",
    "received_at",
    "source",
    "event_type",
    "event_id",
    "key",
    "status",
    "code",
    "state",
    "state_detail",
    "next_try_at",
    "attempts",
    "gone",
    "replay_of",
    "replay_run",
    "message_id",
    "dead_letter_at",
];

#[test]
fn the_api_shows_redrives_deletes_and_keeps_the_history_across_a_restart() {
    let mut rig = Rig::start();
    // `inlet dev` binds its ports before it prints the banner: the line may follow them.
    let banner = format!("inspector: {}", rig.dev.inspector());
    let deadline = Instant::now() + browser::WAIT;
    while !rig.dev.log().contains(&banner) {
        rig.dev.assert_running();
        assert!(
            Instant::now() < deadline,
            "the banner names the inspector:\n{}",
            rig.dev.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = github("github", "api-1");
    let paid = stripe("evt_api_1");
    let redriven = github("broken", "api-dead-1");
    let deleted = github("broken", "api-dead-2");
    let stuck = github("flaky", "api-stuck-1");
    for delivery in [&ok, &paid, &redriven, &deleted, &stuck] {
        rig.post(delivery);
    }
    let mut forged = github("github", "api-forged");
    forged.body = br#"{"ref":"refs/heads/evil"}"#.to_vec();
    let (status, body) = rig.send(&forged);
    assert_eq!(status, 401, "{body}");

    let expected = [
        (&ok.key, "processed"),
        (&paid.key, "processed"),
        (&redriven.key, "dead_lettered"),
        (&deleted.key, "dead_lettered"),
        (&stuck.key, "retrying"),
    ];
    for (key, state) in expected {
        rig.wait_for_delivery(&format!("{key} is {state}"), |d| {
            text(d, "key") == key.as_str() && text(d, "state") == state
        });
    }
    let rejected = rig.wait_for_delivery("the forgery is listed as rejected", |d| {
        text(d, "state") == "rejected"
    });
    assert_eq!(rejected["status"], 401, "{rejected}");
    assert_eq!(rejected["code"], "signature_mismatch", "{rejected}");
    assert_eq!(rejected["source"], "github", "{rejected}");

    // The list: every field, newest first, one entry per delivery.
    let list = rig.deliveries();
    assert_eq!(list.len(), 6, "{list:#?}");
    for delivery in &list {
        for field in SUMMARY_FIELDS {
            assert!(
                delivery.get(field).is_some(),
                "{field} is missing from {delivery}"
            );
        }
    }
    let received: Vec<&str> = list.iter().map(|d| text(d, "received_at")).collect();
    assert!(
        received.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {received:?}"
    );
    assert_eq!(list[0]["id"], rejected["id"], "the forgery came last");
    let ids: HashSet<&str> = list.iter().map(|d| text(d, "id")).collect();
    assert_eq!(ids.len(), list.len(), "ids are unique");
    let of = |key: &str| -> Value {
        list.iter()
            .find(|d| text(d, "key") == key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} is not listed"))
    };
    let stuck_summary = of(&stuck.key);
    assert!(stuck_summary["next_try_at"].is_string(), "{stuck_summary}");
    assert!(
        stuck_summary["attempts"].as_u64() >= Some(1),
        "{stuck_summary}"
    );
    assert_eq!(of(&ok.key)["event_id"], "api-1");
    assert_eq!(of(&ok.key)["event_type"], "push");
    assert_eq!(of(&ok.key)["gone"], false);
    assert!(of(&ok.key)["message_id"].is_string(), "{}", of(&ok.key));
    assert_eq!(
        of(&ok.key)["replay_run"],
        Value::Null,
        "not from `inlet replay`"
    );

    // One delivery whole.
    let ok_id = text(&of(&ok.key), "id").to_owned();
    let (status, detail) = rig.api("GET", &format!("/api/deliveries/{ok_id}"));
    assert_eq!(status, 200, "{detail}");
    let request = &detail["request"];
    assert_eq!(request["method"], "POST", "{detail}");
    assert_eq!(request["path"], "/webhooks/github", "{detail}");
    assert!(request.get("query").is_some(), "{detail}");
    let headers = request["headers"].to_string().to_lowercase();
    assert!(
        headers.contains("x-github-delivery") && headers.contains("api-1"),
        "{headers}"
    );
    assert_eq!(
        request["body"].as_str().map(str::as_bytes),
        Some(ok.body.as_slice())
    );
    assert!(
        request["body_base64"]
            .as_str()
            .is_some_and(|b| !b.is_empty()),
        "{detail}"
    );
    assert!(
        request["body_json"]
            .as_str()
            .is_some_and(|j| j.contains("refs/heads/main")),
        "{detail}"
    );
    assert_eq!(detail["verdict"]["status"], 202, "{detail}");
    assert_eq!(detail["envelope"]["key"], ok.key.as_str(), "{detail}");
    let attempts = detail["action_attempts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!attempts.is_empty(), "{detail}");
    assert_eq!(attempts[attempts.len() - 1]["outcome"], "done", "{detail}");

    // Unknown ids and actions that do not apply.
    let (status, missing) = rig.api("GET", "/api/deliveries/no-such-delivery");
    assert_eq!(status, 404, "{missing}");
    assert!(missing["error"].is_string(), "{missing}");
    let (status, _) = rig.api("POST", "/api/deliveries/no-such-delivery/replay");
    assert_eq!(status, 404);
    let (status, refused) = rig.api("POST", &format!("/api/deliveries/{ok_id}/redrive"));
    assert!(
        status >= 400,
        "a processed delivery has no dead letter to redrive: {refused}"
    );

    // A dead letter redriven once the target recovers is processed; another one deleted.
    let redriven_id = text(&of(&redriven.key), "id").to_owned();
    rig.target.script("gone", Script::Ok);
    let (status, done) = rig.api("POST", &format!("/api/deliveries/{redriven_id}/redrive"));
    assert_eq!((status, &done["ok"]), (200, &Value::Bool(true)), "{done}");
    assert_eq!(done["delivery"], redriven_id.as_str(), "{done}");
    rig.wait_for_delivery("the redriven delivery is processed", |d| {
        text(d, "id") == redriven_id && text(d, "state") == "processed"
    });
    assert!(rig.target.succeeded(&redriven.key));
    let deleted_id = text(&of(&deleted.key), "id").to_owned();
    let (status, done) = rig.api("POST", &format!("/api/deliveries/{deleted_id}/delete"));
    assert_eq!((status, &done["ok"]), (200, &Value::Bool(true)), "{done}");
    let (_, detail) = rig.api("GET", &format!("/api/deliveries/{deleted_id}"));
    assert_eq!(detail["state"], "deleted", "{detail}");
    let (status, refused) = rig.api("POST", &format!("/api/deliveries/{deleted_id}/redrive"));
    assert!(
        status >= 400,
        "a deleted dead letter cannot be redriven: {refused}"
    );
    assert!(
        !rig.target.succeeded(&deleted.key),
        "the deleted one never went through"
    );

    // Ctrl-C, then a fresh emulator: the history is still there, and what was still in the
    // old emulator's queues is marked gone.
    let before = rig.deliveries();
    let status = rig.dev.interrupt();
    assert!(
        status.success(),
        "inlet dev stops cleanly on SIGINT ({status}):\n{}",
        rig.dev.log()
    );
    assert!(
        rig.scratch.path().join(".inlet/history.jsonl").is_file(),
        "the history is kept in the cwd"
    );
    rig.emulator = Emulator::start();
    rig.dev = Dev::start(&rig.emulator, rig.scratch.path(), 2);
    let after = rig.deliveries();
    let ids =
        |list: &[Value]| -> Vec<String> { list.iter().map(|d| text(d, "id").to_owned()).collect() };
    assert_eq!(
        ids(&after),
        ids(&before),
        "every delivery is still listed, in order"
    );
    for (old, new) in before.iter().zip(&after) {
        let still_pending = matches!(text(old, "state"), "queued" | "retrying");
        assert_eq!(new["gone"], still_pending, "{new}");
        assert_eq!(new["key"], old["key"]);
    }
    assert_eq!(
        rig.deliveries()
            .iter()
            .filter(|d| d["gone"] == true)
            .count(),
        1
    );
}

// ---- at a laptop's width ----

/// A forward target that answers every request with one status and body (the testkit's target
/// answers with an empty body), so that an attempt has a target's answer to show. Plain blocking
/// I/O on a thread of its own: one request per connection, answered with `connection: close`.
#[derive(Debug)]
struct Talking {
    pub(super) port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Talking {
    fn start(status: u16, body: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Non-blocking accepts, so that the thread sees `stop` and the test can join it.
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => answer_with(stream, status, body),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(_) => break,
                }
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }
}

impl Drop for Talking {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (headers, then `content-length` bytes of body) and answers it.
fn answer_with(mut stream: TcpStream, status: u16, body: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Answer\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
}

/// What the page's list looks like, measured in the browser: the numbers the test judges.
const LAYOUT: &str = "(() => {
  const list = document.querySelector('.list');
  const box = list.getBoundingClientRect();
  const headers = [...document.querySelectorAll('table#deliveries thead th')];
  const head = headers.find(th => th.textContent.trim() === 'state');
  const headBox = head ? head.getBoundingClientRect() : { width: 0 };
  const rows = [...document.querySelectorAll('table#deliveries tbody tr[data-delivery-id]')]
    .filter(r => r.getClientRects().length > 0);
  const inside = (inner, outer) => inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5;
  return {
    viewport: innerWidth,
    page: [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth],
    list: [list.scrollWidth, list.clientWidth],
    first_header: headers[0].textContent.trim(),
    header_shown: headBox.width > 0 && headBox.left >= 0 && headBox.right <= Math.min(box.right, innerWidth),
    headers_cut: headers.filter(th => th.getClientRects().length > 0 && th.scrollWidth > th.clientWidth)
      .map(th => th.textContent.trim()),
    states: rows.map(r => r.cells[0].querySelector('.state')?.textContent || ''),
    expected_states: rows.map(r => r.dataset.state.replace('_', ' ')),
    states_cut: rows.filter(r => {
      const cell = r.cells[0], badge = cell.querySelector('.state');
      return !badge || cell.scrollWidth > cell.clientWidth
        || !inside(badge.getBoundingClientRect(), cell.getBoundingClientRect())
        || badge.getBoundingClientRect().right > Math.min(box.right, innerWidth);
    }).map(r => r.dataset.deliveryId),
    times_cut: rows.filter(r => {
      const cell = r.cells[1], time = cell.querySelector('time');
      return !time || time.getClientRects().length !== 1 || cell.scrollWidth > cell.clientWidth;
    }).map(r => r.dataset.deliveryId),
  };
})()";

/// `at` (RFC 3339 UTC, `…THH:MM:SS.mmmZ`) as a clock in a zone `offset_minutes` east of UTC.
fn clock_at(at: &str, offset_minutes: i64, with_ms: bool) -> String {
    let time = &at[11..];
    let field = |range: std::ops::Range<usize>| -> i64 { time[range].parse().unwrap() };
    let minutes = (field(0..2) * 60 + field(3..5) + offset_minutes).rem_euclid(24 * 60);
    let clock = format!("{:02}:{:02}:{}", minutes / 60, minutes % 60, &time[6..8]);
    if with_ms {
        format!("{clock}{}", &time[8..12])
    } else {
        clock
    }
}

/// Issue 19's "readable at a laptop's width": at 1400 × 900 the list fits without a sideways
/// scroll with the state first and whole, times on one line, and an attempt shows the target's
/// answer body once, its words once, and its time in the browser's zone in the past tense.
#[test]
fn at_1400_by_900_the_list_fits_with_the_state_first_and_attempts_show_the_answer() {
    const ANSWER: &str =
        r#"{"error":"schema_mismatch","detail":"repository.full_name is missing"}"#;
    let talking = Talking::start(422, ANSWER);
    let mut rig = Rig::start_with(&[("talking", talking.url())]);
    // A long event id and a long refusal code: the values that widened the old table.
    let wide = github("github", &format!("gh-wide-{}", "0123456789".repeat(8)));
    let answered = github("talking", "talk-1");
    let stuck = github("flaky", "wide-stuck-1");
    let dead = github("broken", "wide-dead-1");
    for delivery in [&wide, &answered, &stuck, &dead] {
        rig.post(delivery);
    }
    let mut forged = github("github", "wide-forged");
    forged.body = br#"{"ref":"refs/heads/evil"}"#.to_vec();
    assert_eq!(rig.send(&forged).0, 401);
    for (key, state) in [
        (&wide.key, "processed"),
        (&answered.key, "dead_lettered"),
        (&stuck.key, "retrying"),
        (&dead.key, "dead_lettered"),
    ] {
        rig.wait_for_delivery(&format!("{key} is {state}"), |d| {
            text(d, "key") == key.as_str() && text(d, "state") == state
        });
    }

    let mut browser = Browser::launch();
    browser.set_viewport(1400, 900);
    // Five and a half hours east of UTC: a time still shown in UTC would be off by 5:30.
    browser.set_time_zone("Asia/Kolkata");
    browser.goto(&rig.dev.inspector());
    wait_for_rows(&mut browser, "all five deliveries are listed", |rows| {
        rows.len() == 5
    });
    // Kept for a person to look at (the layout numbers below say what is wrong, not how it looks).
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let shot = shots.join("inspector-1400x900.png");
    browser.screenshot(&shot);
    let layout = browser.value(LAYOUT);
    let seen = format!("{layout:#}\n(screenshot: {})", shot.display());
    assert_eq!(layout["viewport"], 1400, "{seen}");
    let fits = |pair: &Value| pair[0].as_f64() <= pair[1].as_f64();
    assert!(fits(&layout["page"]), "the page scrolls sideways: {seen}");
    assert!(fits(&layout["list"]), "the list scrolls sideways: {seen}");
    assert_eq!(layout["first_header"], "state", "state comes first: {seen}");
    assert_eq!(
        layout["header_shown"], true,
        "the state header is in view: {seen}"
    );
    assert_eq!(layout["states"], layout["expected_states"], "{seen}");
    assert_eq!(
        layout["headers_cut"],
        serde_json::json!([]),
        "headers cut off: {seen}"
    );
    assert_eq!(
        layout["states_cut"],
        serde_json::json!([]),
        "states cut off: {seen}"
    );
    assert_eq!(
        layout["times_cut"],
        serde_json::json!([]),
        "times wrapped or cut: {seen}"
    );

    // The refused attempt: the target's body, the words once, the time where the browser is.
    let id = text(
        &rig.wait_for_delivery("the answered delivery is listed", |d| {
            text(d, "key") == answered.key
        }),
        "id",
    )
    .to_owned();
    let (_, detail) = rig.api("GET", &format!("/api/deliveries/{id}"));
    let attempt = detail["action_attempts"][0].clone();
    assert_eq!(attempt["response"]["status"], 422, "{detail}");
    open_detail(&mut browser, &id);
    let shown = wait_for_text(&mut browser, "#detail-attempts .attempt");
    assert!(
        shown.contains("schema_mismatch") && shown.contains("repository.full_name is missing"),
        "the target's answer body is shown: {shown}"
    );
    assert!(shown.contains("HTTP 422"), "{shown}");
    let words = text(&attempt, "answer");
    assert!(!words.is_empty(), "{attempt}");
    assert_eq!(
        shown.matches(words).count(),
        1,
        "the answer and the error say {words:?} once: {shown}"
    );
    let at = text(&attempt, "at");
    let zone = browser.value(&format!(
        "new Intl.DateTimeFormat(undefined, {{ timeZoneName: 'short' }})\
         .formatToParts(new Date({})).find(p => p.type === 'timeZoneName').value",
        Value::String(at.to_owned())
    ));
    let zone = zone.as_str().unwrap_or_default();
    assert!(
        !zone.is_empty() && zone != "UTC",
        "the page runs in Kolkata: {zone}"
    );
    let local = format!("{} {zone}", clock_at(at, 5 * 60 + 30, true));
    assert!(
        shown.contains(&local),
        "the attempt at {at} shows as {local}: {shown}"
    );
    assert!(
        shown.contains(" ago)"),
        "a past time in the past tense: {shown}"
    );
    browser.screenshot(&shots.join("inspector-1400x900-attempt.png"));

    // The retrying one: its next try is a time to come, in the browser's zone.
    let stuck_summary =
        rig.wait_for_delivery("the stuck one is listed", |d| text(d, "key") == stuck.key);
    open_detail(&mut browser, text(&stuck_summary, "id"));
    let next = text(&stuck_summary, "next_try_at");
    let facts = wait_for_text(&mut browser, "#detail .facts");
    let local = format!("{} {zone} (in ", clock_at(next, 5 * 60 + 30, false));
    assert!(
        facts.contains(&local),
        "the next try at {next} shows as {local}…: {facts}"
    );

    assert_eq!(
        browser.page_errors(),
        [] as [String; 0],
        "the page reported errors"
    );
    rig.dev.assert_running();
}

/// The harness itself, on a page of its own: load, click, type, select, wait — and no Chromium
/// process is left once the browser is dropped.
#[test]
fn the_browser_harness_drives_a_page_and_leaves_no_process_behind() {
    let mut browser = Browser::launch();
    let page = "<select id=s><option value=a>a</option><option value=b>b</option></select>\
                <input id=t><button id=b onclick=\"this.dataset.clicks=(+this.dataset.clicks||0)+1\">go</button>\
                <p id=out></p><script>\
                const show = () => out.textContent = s.value + ':' + t.value;\
                s.addEventListener('change', show); t.addEventListener('input', show);\
                setTimeout(() => document.body.dataset.later = 'yes', 300);</script>";
    browser.goto(&format!("data:text/html,{}", percent(page)));
    browser.wait_for_js("the timer ran", "document.body.dataset.later");
    browser.click("#b");
    browser.click("#b");
    assert_eq!(
        browser.value("document.querySelector('#b').dataset.clicks"),
        "2"
    );
    browser.select("#s", "b");
    assert_eq!(browser.value("out.textContent"), "b:");
    browser.type_text("#t", "hello");
    assert_eq!(browser.value("out.textContent"), "b:hello");
    browser.type_text("#t", "");
    assert_eq!(browser.value("out.textContent"), "b:");
    assert!(browser.eval("no_such_thing()").is_err());
    assert!(
        browser.page_errors().is_empty(),
        "{:?}",
        browser.page_errors()
    );

    let (group, dir) = (browser.process_group(), browser.scratch_dir());
    assert!(!leftovers(group, &dir).is_empty(), "Chromium runs");
    drop(browser);
    assert_eq!(
        leftovers(group, &dir),
        Vec::<u32>::new(),
        "a Chromium process outlived its Browser"
    );
    assert!(!dir.exists(), "the profile is removed");
}

/// `text` as it can stand in a data: URL.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
