//! Tier 5: `inlet dev` as a user runs it — the built binary on free loopback ports against its
//! own emulator — with deliveries over HTTP and their effects checked at a local forward target.
//!
//! The binary is `target/debug/inlet` (or `$INLET_BIN`): `make test` builds it before the tests,
//! since Cargo gives tests only the binaries of their own package.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_core::envelope::Envelope;
use inlet_local as local;
use inlet_signature::{Delivery, Scheme, Window};
use inlet_testkit::providers::named;
use inlet_testkit::target::{Hit, Script, Target, header};
use inlet_testkit::{Dev, Emulator, Scratch, inlet_command, repo_root};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

// ---- secrets and config ----

const GITHUB_SECRET: &str = "e2e-github-secret";
const STRIPE_SECRET: &str = "whsec_e2e_stripe_secret";
const SVIX_SECRET: &str = "whsec_ZTJlLXN2aXgtc2lnbmluZy1zZWNyZXQh";
const SHOPIFY_SECRET: &str = "e2e-shopify-secret";
/// What the forward action signs with (Standard Webhooks), so the target can verify.
const AGENT_SECRET: &str = "whsec_ZTJlLWFnZW50LWZvcndhcmQtc2VjcmV0";

/// A failing route's attempts in all: the first and one per step of the config's
/// `retry_schedule`.
const ATTEMPTS: usize = 5;

/// The names the config refers to; `inlet` prefers the process environment to --env-file, so
/// the tests' commands run without them in their environment.
const SECRET_VARIABLES: [&str; 5] = [
    "INLET_E2E_GITHUB",
    "INLET_E2E_STRIPE",
    "INLET_E2E_SVIX",
    "INLET_E2E_SHOPIFY",
    "INLET_E2E_AGENT",
];

fn env_file() -> String {
    let values = [
        GITHUB_SECRET,
        STRIPE_SECRET,
        SVIX_SECRET,
        SHOPIFY_SECRET,
        AGENT_SECRET,
    ];
    SECRET_VARIABLES
        .iter()
        .zip(values)
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect()
}

/// Every source forwards to its own path on the target, whose answers the test scripts.
fn config(target: SocketAddr) -> String {
    let mut text = String::from(
        "# A failing route is tried five times, a second apart (the queue's visibility timeout is\n\
         # 180 s); a fault of the pipeline's own comes back after a second too. No breaker holds\n\
         # the always-failing target back: every attempt reaches it.\n\
         [process]\nretry_schedule = [\"1s\", \"1s\", \"1s\", \"1s\"]\nbreaker_threshold = 1000\n\
         retry_base_secs = 1\nretry_max_secs = 1\n\n\
         [sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_E2E_GITHUB\"]\n\n\
         [sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"env:INLET_E2E_STRIPE\"]\n\n\
         [sources.svix]\nscheme = \"standard-webhooks\"\nsecrets = [\"env:INLET_E2E_SVIX\"]\n\n\
         [sources.shopify]\nscheme = \"shopify\"\nsecrets = [\"env:INLET_E2E_SHOPIFY\"]\n\n",
    );
    for name in ["flaky", "broken", "gone"] {
        text.push_str(&format!(
            "[sources.{name}]\nscheme = \"github\"\nsecrets = [\"env:INLET_E2E_GITHUB\"]\n\n"
        ));
    }
    for (source, path) in [
        ("github", "ok"),
        ("stripe", "ok"),
        ("svix", "ok"),
        ("shopify", "ok"),
        ("flaky", "flaky"),
        ("broken", "broken"),
        ("gone", "gone"),
    ] {
        text.push_str(&format!(
            "[[routes]]\nsource = \"{source}\"\naction = {{ type = \"forward\", \
             url = \"http://{target}/{path}\", secret = \"env:INLET_E2E_AGENT\", timeout_ms = 5000 }}\n\n"
        ));
    }
    text
}

// ---- checking what the forward target (inlet_testkit::target) received ----

/// Checks a forwarded request the way a receiver would: the Standard Webhooks signature with
/// the route's secret, over the original body, with the event key as its id.
fn assert_signed_forward(hit: &Hit, key: &str, body: &[u8]) {
    let agent = named("standard-webhooks").key(AGENT_SECRET).unwrap();
    let verified = named("standard-webhooks")
        .verify(
            &Delivery {
                headers: &hit.headers,
                body: &hit.body,
                url: None,
                method: "POST",
                query: None,
            },
            &[agent],
            Window {
                now: now_secs(),
                tolerance_secs: 600,
            },
        )
        .unwrap_or_else(|e| panic!("the forward of {key} does not verify: {e}"));
    assert_eq!(verified.event_id.as_deref(), Some(key));
    assert_eq!(hit.body, body, "the target gets the original body of {key}");
}

// ---- `inlet dev`, owned by the test ----

/// The emulator, the target, `inlet dev` and clients for all three.
struct Rig {
    target: Target,
    dev: Dev,
    emulator: Emulator,
    sqs: aws_sdk_sqs::Client,
    http: reqwest::Client,
    scratch: Scratch,
}

impl Rig {
    async fn start(scripts: &[(&str, Script)]) -> Self {
        let scratch = Scratch::new();
        let target = Target::start(scripts).await;
        std::fs::write(scratch.0.join("inlet.toml"), config(target.addr)).unwrap();
        std::fs::write(scratch.0.join("local.env"), env_file()).unwrap();
        let emulator = Emulator::start();
        let dev = Dev::start(&emulator, &scratch.0, &SECRET_VARIABLES);
        let sqs = aws_sdk_sqs::Client::new(&emulator.sdk_config().await);
        let http = inlet_core::actions::forward::http_client_builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            target,
            dev,
            emulator,
            sqs,
            http,
            scratch,
        }
    }

    async fn post(&self, delivery: &Signed) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(self.dev.url(&delivery.source))
            .headers(delivery.headers.clone())
            .body(delivery.body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    /// Posts a delivery that must be queued under its key.
    async fn post_queued(&self, delivery: &Signed) {
        let (status, json) = self.post(delivery).await;
        assert_eq!(status, 202, "{}: {json}", delivery.key);
        assert_eq!(json["id"], delivery.key.as_str());
    }

    async fn queue_url(&self, name: &str) -> String {
        self.sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap()
    }

    async fn depth(&self, name: &str) -> (u64, u64) {
        local::depth(&self.sqs, &self.queue_url(name).await)
            .await
            .unwrap()
    }

    /// Runs `inlet <args>` against this rig's emulator and config.
    async fn inlet(&self, args: &[&str]) -> (i32, String) {
        let mut command = inlet_command(
            &self.emulator.endpoint(),
            &self.scratch.0,
            &SECRET_VARIABLES,
        );
        command.args(args).current_dir(repo_root());
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        (
            output.status.code().unwrap_or(-1),
            format!("{stdout}{stderr}"),
        )
    }
}

/// A bounded wait: each `tick` checks that `inlet dev` still runs and the deadline has not
/// passed, then pauses briefly.
struct Wait {
    what: &'static str,
    deadline: Instant,
}

impl Wait {
    fn until(what: &'static str) -> Self {
        Self {
            what,
            deadline: Instant::now() + Duration::from_secs(90),
        }
    }

    async fn tick(&self, rig: &mut Rig) {
        rig.dev.assert_running();
        if Instant::now() >= self.deadline {
            let seen: Vec<_> = rig
                .target
                .all_hits()
                .iter()
                .map(|h| {
                    let id = header(&h.headers, "webhook-id").unwrap_or("").to_owned();
                    (h.path.clone(), id, h.status)
                })
                .collect();
            panic!(
                "timed out waiting until {}; the target saw {seen:?}",
                self.what
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---- deliveries ----

fn now_secs() -> i64 {
    inlet_signature::clock::epoch_millis(SystemTime::now()).div_euclid(1000)
}

/// A delivery as its provider sends it, and the key ingest must give it.
#[derive(Debug, Clone)]
struct Signed {
    source: String,
    key: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn signed(
    source: &str,
    scheme: &Scheme,
    secret: &str,
    headers: &[(&str, &str)],
    body: &str,
    signed_at: i64,
    key: String,
) -> Signed {
    let mut map = HeaderMap::new();
    map.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        map.insert(
            HeaderName::try_from(*name).unwrap(),
            HeaderValue::try_from(*value).unwrap(),
        );
    }
    let key_bytes = scheme.key(secret).unwrap();
    let added = scheme
        .sign(
            &Delivery {
                headers: &map,
                body: body.as_bytes(),
                url: None,
                method: "POST",
                query: None,
            },
            &key_bytes,
            signed_at,
        )
        .unwrap();
    for (name, value) in added {
        map.insert(name, value);
    }
    Signed {
        source: source.to_owned(),
        key,
        headers: map,
        body: body.as_bytes().to_vec(),
    }
}

fn github(source: &str, id: &str) -> Signed {
    signed(
        source,
        &named("github"),
        GITHUB_SECRET,
        &[("x-github-event", "push"), ("x-github-delivery", id)],
        &format!(r#"{{"ref":"refs/heads/main","delivery":"{id}"}}"#),
        now_secs(),
        format!("{source}#{id}"),
    )
}

fn stripe_at(id: &str, signed_at: i64) -> Signed {
    signed(
        "stripe",
        &named("stripe"),
        STRIPE_SECRET,
        &[],
        &format!(r#"{{"id":"{id}","object":"event","type":"invoice.paid","amount":4200}}"#),
        signed_at,
        format!("stripe#{id}"),
    )
}

fn svix(id: &str) -> Signed {
    signed(
        "svix",
        &named("standard-webhooks"),
        SVIX_SECRET,
        &[("webhook-id", id)],
        &format!(r#"{{"type":"user.created","data":{{"id":"{id}"}}}}"#),
        now_secs(),
        format!("svix#{id}"),
    )
}

fn shopify(id: &str) -> Signed {
    signed(
        "shopify",
        &named("shopify"),
        SHOPIFY_SECRET,
        &[
            ("x-shopify-topic", "orders/create"),
            ("x-shopify-webhook-id", id),
        ],
        &format!(r#"{{"id":820982911946154508,"note":"{id}"}}"#),
        now_secs(),
        format!("shopify#{id}"),
    )
}

/// The keys in `inlet send`'s answers (`[1/2] 202 Accepted {"id": KEY, …}`), one a post.
fn sent_keys(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| {
            let json: serde_json::Value = serde_json::from_str(&line[line.find('{')?..]).ok()?;
            json["id"].as_str().map(str::to_owned)
        })
        .collect()
}

// ---- the cases ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_deliveries_reach_the_target_exactly_once_and_forged_ones_never() {
    let mut rig = Rig::start(&[("ok", Script::Ok)]).await;
    let good = vec![
        github("github", "gh-1"),
        github("github", "gh-2"),
        stripe_at("evt_1", now_secs()),
        stripe_at("evt_2", now_secs()),
        svix("msg_1"),
        svix("msg_2"),
        shopify("shop-1"),
        shopify("shop-2"),
    ];
    // Providers redeliver: every delivery arrives twice, and each must be queued both times.
    for delivery in good.iter().chain(good.iter()) {
        rig.post_queued(delivery).await;
    }
    // `inlet send` signs a sample with the config's secret and posts it, here twice.
    let url = rig.dev.url("github");
    let (code, output) = rig
        .inlet(&[
            "send",
            "github",
            "--event",
            "github-push",
            "--times",
            "2",
            "--url",
            &url,
        ])
        .await;
    assert_eq!(code, 0, "{output}");
    assert_eq!(output.matches(" 202 Accepted ").count(), 2, "{output}");
    // The sample's {{id}} is shared by the run's copies (one event), and new for each run: sent
    // again, its body rendered at another time is another event, not a payload conflict.
    let sample_keys = {
        let keys = sent_keys(&output);
        assert_eq!(keys.len(), 2, "{output}");
        assert_eq!(keys[0], keys[1], "{output}");
        assert!(keys[0].starts_with("github#"), "{output}");
        let (code, again) = rig
            .inlet(&["send", "github", "--event", "github-push", "--url", &url])
            .await;
        assert_eq!(code, 0, "{again}");
        let next = sent_keys(&again);
        assert_eq!(next.len(), 1, "{again}");
        assert_ne!(next[0], keys[0], "a second run is a new event");
        [keys[0].clone(), next[0].clone()]
    };

    // Forgeries and replays: refused with the reason, never queued.
    let mut forged = github("github", "gh-forged");
    forged.headers.insert(
        "x-hub-signature-256",
        HeaderValue::from_static(
            "sha256=0000000000000000000000000000000000000000000000000000000000000000",
        ),
    );
    let mut tampered = stripe_at("evt_tampered", now_secs());
    tampered.body = tampered
        .body
        .iter()
        .map(|&b| if b == b'2' { b'9' } else { b })
        .collect();
    let replayed = stripe_at("evt_replayed", now_secs() - 3600);
    let mut unsigned = svix("msg_unsigned");
    unsigned.headers.remove("webhook-signature");
    let other_secret = signed(
        "shopify",
        &named("shopify"),
        "not-the-shopify-secret",
        &[("x-shopify-webhook-id", "shop-forged")],
        "{}",
        now_secs(),
        "shopify#shop-forged".into(),
    );
    let refused = [
        (&forged, "signature_mismatch"),
        (&tampered, "signature_mismatch"),
        (&replayed, "timestamp_out_of_tolerance"),
        (&unsigned, "signature_missing"),
        (&other_secret, "signature_mismatch"),
    ];
    for (delivery, code) in refused {
        let (status, json) = rig.post(delivery).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (401, Some(code)),
            "{}",
            delivery.key
        );
    }
    let (status, json) = rig
        .post(&Signed {
            source: "nobody".into(),
            ..github("github", "gh-nowhere")
        })
        .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (404, Some("unknown_source"))
    );

    let keys: Vec<String> = good
        .iter()
        .map(|d| d.key.clone())
        .chain(sample_keys.iter().cloned())
        .collect();
    let wait = Wait::until("every event reached the target");
    while !keys.iter().all(|key| rig.target.succeeded(key)) {
        wait.tick(&mut rig).await;
    }
    // The copies are processed too (as duplicates): wait for the queue to empty.
    let wait = Wait::until("the queue is empty");
    while rig.depth("inlet-events").await != (0, 0) {
        wait.tick(&mut rig).await;
    }

    for delivery in &good {
        let hits = rig.target.hits_for(&delivery.key);
        assert_eq!(hits.len(), 1, "{} reached the target once", delivery.key);
        assert_signed_forward(&hits[0], &delivery.key, &delivery.body);
    }
    for key in &sample_keys {
        assert_eq!(rig.target.hits_for(key).len(), 1, "{key}");
    }
    for (delivery, _) in refused {
        assert!(
            rig.target.hits_for(&delivery.key).is_empty(),
            "{}",
            delivery.key
        );
    }
    assert_eq!(
        rig.target.all_hits().len(),
        keys.len(),
        "nothing else reached the target"
    );
    assert_eq!(rig.depth("inlet-events-dlq").await, (0, 0));
    let log = rig.dev.log();
    for line in [
        "github: received → queued (202) github#gh-1",
        "github#gh-1: processed",
        "github#gh-1: duplicate",
        "stripe: received → rejected 401 timestamp_out_of_tolerance",
    ] {
        assert!(log.contains(line), "the output says {line:?}:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_targets_are_retried_and_what_cannot_succeed_is_dead_lettered() {
    let mut rig = Rig::start(&[
        ("flaky", Script::FailFirst(2)),
        ("broken", Script::Always(500)),
        ("gone", Script::Always(410)),
    ])
    .await;
    let flaky = github("flaky", "f-1");
    let broken = github("broken", "b-1");
    let gone = github("gone", "g-1");
    for delivery in [&flaky, &broken, &gone] {
        rig.post_queued(delivery).await;
    }
    let wait = Wait::until("the flaky target took the event and two records are dead letters");
    while !(rig.target.succeeded(&flaky.key) && rig.depth("inlet-events-dlq").await.0 == 2) {
        wait.tick(&mut rig).await;
    }

    // 500, 500, then 200: the event arrives after retries, and only once successfully.
    let statuses: Vec<u16> = rig
        .target
        .hits_for(&flaky.key)
        .iter()
        .map(|h| h.status)
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    for hit in rig.target.hits_for(&flaky.key) {
        assert_signed_forward(&hit, &flaky.key, &flaky.body);
    }
    // Transient failures are tried by the route's schedule; a 410 will never pass, so once.
    assert_eq!(rig.target.hits_for(&broken.key).len(), ATTEMPTS);
    assert_eq!(rig.target.hits_for(&gone.key).len(), 1);

    let dlq_url = rig.queue_url("inlet-events-dlq").await;
    let letters = local::peek(&rig.sqs, &dlq_url, 10).await.unwrap();
    let by_key: HashMap<String, &local::DeadLetter> = letters
        .iter()
        .map(|l| (Envelope::from_json(&l.body).unwrap().key, l))
        .collect();
    assert_eq!(by_key.len(), 2);
    let gone_letter = by_key[&gone.key];
    assert_eq!(gone_letter.attributes["reason"], "action_failed");
    assert_eq!(gone_letter.source().as_deref(), Some("gone"));
    // Process dead-lettered this one itself after its schedule's last step, not the queue's
    // redrive policy: it says so, with the attempts.
    let broken_letter = by_key[&broken.key];
    assert_eq!(broken_letter.attributes["reason"], "retries_exhausted");
    assert_eq!(broken_letter.attributes["attempts"], ATTEMPTS.to_string());
    assert_eq!(broken_letter.source().as_deref(), Some("broken"));

    // `inlet dlq` sees the same, and a redrive after the target recovers delivers the event.
    let (code, stats) = rig.inlet(&["dlq", "stats"]).await;
    assert_eq!(code, 0, "{stats}");
    let dlq_line = stats
        .lines()
        .find(|l| l.starts_with("dead-letter queue"))
        .unwrap_or_else(|| panic!("{stats}"));
    assert!(dlq_line.contains(" 2 waiting"), "{stats}");
    let (code, peeked) = rig.inlet(&["dlq", "peek"]).await;
    assert_eq!(code, 0, "{peeked}");
    for text in [
        gone.key.as_str(),
        broken.key.as_str(),
        "action_failed",
        "retries_exhausted",
        "source:    gone",
    ] {
        assert!(peeked.contains(text), "peek shows {text:?}:\n{peeked}");
    }
    let (code, dry) = rig
        .inlet(&["dlq", "redrive", "--source", "broken", "--dry-run"])
        .await;
    assert_eq!(code, 0, "{dry}");
    assert!(dry.contains("would move 1 "), "{dry}");
    assert_eq!(
        rig.depth("inlet-events-dlq").await.0,
        2,
        "a dry run moves nothing"
    );

    rig.target.script("broken", Script::Ok);
    let (code, moved) = rig.inlet(&["dlq", "redrive", "--source", "broken"]).await;
    assert_eq!(code, 0, "{moved}");
    assert!(moved.contains("moved 1 "), "{moved}");
    let wait = Wait::until("the redriven event reached the target");
    while !rig.target.succeeded(&broken.key) {
        wait.tick(&mut rig).await;
    }
    assert_eq!(rig.target.hits_for(&broken.key).len(), ATTEMPTS + 1);
    assert_eq!(rig.depth("inlet-events-dlq").await.0, 1, "the 410 stays");

    let log = rig.dev.log();
    for line in [
        "flaky#f-1: processed",
        "gone#g-1: dead-lettered (action_failed): the target answered 410",
        "broken#b-1: dead-lettered (retries_exhausted): 5 attempts; the last: the target \
         answered 500",
    ] {
        assert!(log.contains(line), "the output says {line:?}:\n{log}");
    }
    // A retry line says which attempt of the schedule failed, when the next is, and what the
    // target answered.
    assert!(
        log.lines().any(
            |line| line.contains("flaky#f-1: failed (attempt 1 of 5, next at ")
                && line.ends_with("): the target answered 500")
        ),
        "the output says when flaky#f-1 is tried next:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulator_outage_is_answered_with_503_and_nothing_queued_is_lost() {
    let mut rig = Rig::start(&[("ok", Script::Ok)]).await;
    let before: Vec<Signed> = (1..=3)
        .map(|n| github("github", &format!("before-{n}")))
        .collect();
    for delivery in &before {
        rig.post_queued(delivery).await;
    }
    // The emulator keeps its state in memory, unlike SQS: what it holds when stopped is gone.
    // So the property checked is the ingest contract — a 202 only once the queue has stored the
    // delivery — by letting the accepted ones through before the outage.
    let wait = Wait::until("the deliveries before the outage were processed");
    while !before.iter().all(|d| rig.target.succeeded(&d.key)) {
        wait.tick(&mut rig).await;
    }

    rig.emulator.stop();
    let during: Vec<Signed> = (1..=3)
        .map(|n| github("github", &format!("during-{n}")))
        .collect();
    for delivery in &during {
        let (status, json) = rig.post(delivery).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (503, Some("queue_unavailable")),
            "{}",
            delivery.key
        );
    }

    // Back, empty: `inlet dev` re-creates the stack, and the providers' retries get through.
    rig.emulator.restart();
    let mut accepted = Vec::new();
    for delivery in &during {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, json) = rig.post(delivery).await;
            if status == 202 {
                assert_eq!(json["id"], delivery.key.as_str());
                accepted.push(delivery.key.clone());
                break;
            }
            assert_eq!(status, 503, "{}: {json}", delivery.key);
            assert!(
                Instant::now() < deadline,
                "{} was never accepted after the restart",
                delivery.key
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let wait = Wait::until("everything answered 202 reached the target");
    while !accepted.iter().all(|key| rig.target.succeeded(key)) {
        wait.tick(&mut rig).await;
    }
    for delivery in before.iter().chain(during.iter()) {
        let hits = rig.target.hits_for(&delivery.key);
        assert_eq!(hits.len(), 1, "{}", delivery.key);
        assert_signed_forward(&hits[0], &delivery.key, &delivery.body);
    }
    rig.dev.assert_running();
    let log = rig.dev.log();
    assert!(
        log.contains("received → not queued 503 queue_unavailable"),
        "{log}"
    );
}
