//! The archive and `inlet replay` on the emulator's S3, through `inlet dev` as a user runs it:
//! deliveries are archived in batched objects before they are acknowledged, a replay of a window
//! forwards each of its events exactly once more (and none outside it), a second run of the same
//! replay id forwards nothing new, unreadable objects are reported and skipped, an archive
//! that cannot be written holds the records back until it can, and a delivery too large for the
//! queue is archived as a copy of its claim check and replayed byte for byte from it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::bucket;
use http::{HeaderMap, HeaderValue};
use inlet_core::archive;
use inlet_core::envelope::Envelope;
use inlet_signature::clock;
use inlet_testkit::providers::named;
use inlet_testkit::target::Target;
use inlet_testkit::{Dev, Emulator, Scratch, inlet_command, repo_root};
use std::time::{Duration, Instant, SystemTime};

const GITHUB_SECRET: &str = "replay-github-secret";
const AGENT_SECRET: &str = "whsec_cmVwbGF5LWFnZW50LWZvcndhcmQtc2VjcmV0";
const SECRET_VARIABLES: [&str; 2] = ["INLET_REPLAY_GITHUB", "INLET_REPLAY_AGENT"];
/// The local stack's bucket, where the archive goes when `[archive]` names none.
const BUCKET: &str = "inlet-payloads";

/// The config, with `archive` as the `[archive]` section's body.
fn config(target: std::net::SocketAddr, archive: &str) -> String {
    format!(
        "[process]\nretry_base_secs = 1\nretry_max_secs = 1\n\n\
         [archive]\n{archive}\n\
         [sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_REPLAY_GITHUB\"]\n\n\
         [[routes]]\nsource = \"github\"\naction = {{ type = \"forward\", \
         url = \"http://{target}/ok\", secret = \"env:INLET_REPLAY_AGENT\", \
         timeout_ms = 30000 }}\n"
    )
}

struct Rig {
    target: Target,
    dev: Dev,
    emulator: Emulator,
    s3: aws_sdk_s3::Client,
    /// Where the archive goes.
    bucket: &'static str,
    http: reqwest::Client,
    scratch: Scratch,
}

impl Rig {
    /// What the running `inlet dev`'s inspector lists (its address from `.inlet/stack.json`).
    async fn inspector_deliveries(&self) -> Vec<serde_json::Value> {
        let state: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.scratch.path().join(".inlet/stack.json")).unwrap(),
        )
        .unwrap();
        let url = format!("{}/api/deliveries", state["inspector"].as_str().unwrap());
        let text = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let list: serde_json::Value = serde_json::from_str(&text).unwrap();
        list["deliveries"].as_array().cloned().unwrap_or_default()
    }

    async fn start() -> Self {
        Self::start_archiving_to(BUCKET, "").await
    }

    /// With `archive` as the `[archive]` section's body, which sends the archive to `bucket`.
    async fn start_archiving_to(bucket: &'static str, archive: &str) -> Self {
        let scratch = Scratch::new();
        let target = Target::answering(200).await;
        std::fs::write(scratch.0.join("inlet.toml"), config(target.addr, archive)).unwrap();
        std::fs::write(
            scratch.0.join("local.env"),
            format!("INLET_REPLAY_GITHUB={GITHUB_SECRET}\nINLET_REPLAY_AGENT={AGENT_SECRET}\n"),
        )
        .unwrap();
        let emulator = Emulator::start();
        let dev = Dev::start(&emulator, &scratch.0, &SECRET_VARIABLES);
        let s3 = inlet_aws::s3_client(&emulator.sdk_config().await);
        let http = inlet_core::actions::forward::http_client_builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            target,
            dev,
            emulator,
            s3,
            bucket,
            http,
            scratch,
        }
    }

    /// Posts a signed GitHub delivery; it must be queued.
    async fn post(&self, id: &str) {
        let body = format!(r#"{{"ref":"refs/heads/main","delivery":"{id}"}}"#);
        self.post_body(id, body.into_bytes()).await;
    }

    /// Posts `body` as a signed GitHub delivery `id`; it must be queued.
    async fn post_body(&self, id: &str, body: Vec<u8>) {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("x-github-event", HeaderValue::from_static("push"));
        headers.insert("x-github-delivery", HeaderValue::from_str(id).unwrap());
        let scheme = named("github");
        let key = scheme.key(GITHUB_SECRET).unwrap();
        let added = scheme
            .sign(
                &inlet_signature::Delivery {
                    headers: &headers,
                    body: &body,
                    url: None,
                    method: "POST",
                    query: None,
                },
                &key,
                now_ms() / 1000,
            )
            .unwrap();
        for (name, value) in added {
            headers.insert(name, value);
        }
        let response = self
            .http
            .post(self.dev.url("github"))
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202, "{id}");
    }

    /// Forwards the target took for `key`: the original's and every replay's.
    fn forwards(&self, key: &str, replay: Option<&str>) -> usize {
        self.target.count(|hit| {
            hit.succeeded()
                && hit.header("inlet-replay") == replay
                && hit.key().is_some_and(|id| id.ends_with(key))
        })
    }

    async fn wait_until(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !done(self) {
            self.dev.assert_running();
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}; inlet dev said:\n{}",
                self.dev.tail(40)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every archived object's key.
    async fn objects(&self) -> Vec<String> {
        self.keys(self.bucket, "archive/").await
    }

    /// The keys under `prefix` in `bucket`.
    async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        bucket::keys(&self.s3, bucket, prefix).await
    }

    async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        bucket::get(&self.s3, bucket, key).await
    }

    /// Polls S3 until `claims/` in the payload bucket is empty; panics after 90 s.
    async fn wait_until_no_claims(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let claims = self.keys(BUCKET, "claims/").await;
            if claims.is_empty() {
                return;
            }
            self.dev.assert_running();
            assert!(
                Instant::now() < deadline,
                "timed out waiting until claims/ is empty {what}: {claims:?}; inlet dev \
                 said:\n{}",
                self.dev.tail(40)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        bucket::put(&self.s3, BUCKET, key, body).await;
    }

    /// `inlet replay <args>` against this rig's stack: exit code, stdout, stderr.
    async fn replay(&self, args: &[&str]) -> (i32, String, String) {
        let mut command = inlet_command(
            &self.emulator.endpoint(),
            &self.scratch.0,
            &SECRET_VARIABLES,
        );
        command.arg("replay").args(args).current_dir(repo_root());
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// Over the queue's 1 MiB message limit, so ingest stores it as a claim check.
const LARGE: usize = 2_000_000;

/// `{"ref":…,"delivery":"<id>","pad":"…"}` of exactly `len` bytes: JSON, with text outside ASCII
/// and no run that repeats evenly, so a shifted, cut or re-encoded copy has another hash.
fn large_json(id: &str, len: usize) -> Vec<u8> {
    let start = format!(r#"{{"ref":"refs/heads/main","delivery":"{id}","pad":""#);
    let end = r#""}"#;
    let mut body = start.into_bytes();
    let mut i: u32 = 0;
    while body.len() < len - end.len() {
        let room = len - end.len() - body.len();
        // "é" and "€" are 2 and 3 bytes: taken only when they fit.
        match i.wrapping_mul(2_654_435_761) >> 28 {
            0 if room >= 2 => body.extend_from_slice("é".as_bytes()),
            1 if room >= 3 => body.extend_from_slice("€".as_bytes()),
            n => body.push(b"abcdefghijklmnopqrstuvwxyz012345"[(n as usize + i as usize) % 32]),
        }
        i += 1;
    }
    body.extend_from_slice(end.as_bytes());
    assert_eq!(body.len(), len);
    body
}

fn sha256_hex(bytes: &[u8]) -> String {
    inlet_signature::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares bodies by length and hash: a failure must not print megabytes.
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(
        (got.len(), sha256_hex(got)),
        (want.len(), sha256_hex(want)),
        "{what}: not the original bytes (length, sha256)"
    );
}

fn now_ms() -> i64 {
    clock::epoch_millis(SystemTime::now())
}

fn rfc3339(ms: i64) -> String {
    clock::format_rfc3339_millis(ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_is_archived_in_batches_and_replayed_once_per_run() {
    let mut rig = Rig::start().await;
    // Before the window.
    rig.post("early").await;
    rig.wait_until("early is forwarded", |rig| {
        rig.forwards("github#early", None) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let since = now_ms();
    // The window: posted all at once, so that the poller takes them in batches.
    let ids: Vec<String> = (0..12).map(|i| format!("w-{i}")).collect();
    futures_util::future::join_all(ids.iter().map(|id| rig.post(id))).await;
    let until = now_ms() + 1;
    tokio::time::sleep(Duration::from_millis(20)).await;
    rig.post("late").await;
    rig.wait_until("every delivery is forwarded", |rig| {
        ids.iter()
            .all(|id| rig.forwards(&format!("github#{id}"), None) == 1)
            && rig.forwards("github#late", None) == 1
    })
    .await;

    // Archived: every delivery, in fewer objects than deliveries, each gzip JSON lines.
    let objects = rig.objects().await;
    assert!(
        objects.len() < ids.len() + 2,
        "{} objects for {} deliveries: not batched",
        objects.len(),
        ids.len() + 2
    );
    let mut archived: Vec<String> = Vec::new();
    for key in &objects {
        assert!(key.ends_with(".jsonl.gz"), "{key}");
        let body = rig.get(BUCKET, key).await;
        let decoded = archive::decode(&body).unwrap();
        let hour = archive::Layout::new("archive/")
            .hour_prefix(archive::received_at_ms(&decoded.envelopes[0].received_at).unwrap());
        assert!(key.starts_with(&hour), "{key} is not under {hour}");
        archived.extend(decoded.envelopes.iter().map(|e: &Envelope| e.key.clone()));
    }
    archived.sort();
    archived.dedup();
    assert_eq!(archived.len(), ids.len() + 2, "{archived:?}");

    // A dry run lists the window and sends nothing.
    let window = ["--since", &rfc3339(since), "--until", &rfc3339(until)];
    let (code, stdout, stderr) = rig.replay(&[&window[..], &["--dry-run"]].concat()).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("would send 12 event(s)"), "{stdout}");
    assert!(stdout.contains("github#w-0  github  push  "), "{stdout}");
    assert!(!stdout.contains("github#early") && !stdout.contains("github#late"));

    // The replay: each event of the window once more, marked, and nothing outside it.
    let (code, stdout, stderr) = rig
        .replay(&[&window[..], &["--id", "r-test-1"]].concat())
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("replay r-test-1 (resume with --id r-test-1)"),
        "{stderr}"
    );
    // Found: the window's 12 and, in the same hour's objects, early and late (filtered out).
    // Given --id, the run asks what it already did: nothing yet.
    assert!(
        stdout.contains("duplicates 0, already done 0, sent 12"),
        "{stdout}"
    );
    rig.wait_until("the window is forwarded again", |rig| {
        ids.iter()
            .all(|id| rig.forwards(&format!("github#{id}"), Some("r-test-1")) == 1)
    })
    .await;
    // `inlet dev` shows them as the replay they are: in its lines, and on the inspector as
    // deliveries of their own (they never came through the door), each processed once. A
    // target has a forward before its batch has ended, and the record is told each batch's
    // outcomes when it ends: wait for the last batch's.
    let recorded = Instant::now() + Duration::from_secs(90);
    loop {
        let processed = rig
            .inspector_deliveries()
            .await
            .iter()
            .filter(|d| d["replay_run"] == "r-test-1" && d["state"] == "processed")
            .count();
        if processed == ids.len() || Instant::now() > recorded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        rig.dev
            .log()
            .contains("github#w-0 (replay r-test-1): processed"),
        "{}",
        rig.dev.log()
    );
    let replayed = rig.inspector_deliveries().await;
    let replayed: Vec<&serde_json::Value> = replayed
        .iter()
        .filter(|d| d["replay_run"] == "r-test-1")
        .collect();
    assert_eq!(replayed.len(), ids.len(), "{replayed:#?}");
    assert!(
        replayed.iter().all(|d| d["state"] == "processed"),
        "{replayed:#?}"
    );

    // The same run again (as after an interruption): each event is found done in this run's
    // namespace of the table, counted, and not sent; the target gets nothing new.
    let (code, stdout, stderr) = rig
        .replay(&[&window[..], &["--id", "r-test-1", "--dry-run"]].concat())
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("already done 12, would send 0"), "{stdout}");
    let duplicates = || rig.dev.log().matches("duplicate (processed before").count();
    let before = duplicates();
    let (code, stdout, stderr) = rig
        .replay(&[&window[..], &["--id", "r-test-1"]].concat())
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("already done 12, sent 0"), "{stdout}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(duplicates(), before, "nothing of the run was queued again");
    for id in &ids {
        let key = format!("github#{id}");
        assert_eq!(rig.forwards(&key, None), 1, "{key}");
        assert_eq!(rig.forwards(&key, Some("r-test-1")), 1, "{key}");
    }
    for outside in ["github#early", "github#late"] {
        assert_eq!(
            rig.target
                .count(|hit| hit.key().is_some_and(|k| k.ends_with(outside))),
            1
        );
    }
    // Replayed events are not archived again.
    assert_eq!(rig.objects().await.len(), objects.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_objects_are_reported_and_skipped() {
    let mut rig = Rig::start().await;
    let since = now_ms();
    rig.post("good").await;
    rig.wait_until("good is forwarded", |rig| {
        rig.forwards("github#good", None) == 1
    })
    .await;
    let hour = archive::Layout::new("archive/").hour_prefix(since);
    // Not gzip at all; gzip of lines that are not envelopes among one that is.
    rig.put(&format!("{hour}1-corrupt.jsonl.gz"), b"not gzip".to_vec())
        .await;
    let stray = format!(
        r#"{{"v":1,"key":"github#stray","source":"github","scheme":"github","event_type":"push","event_id":"stray","received_at":"{}","body":"{{}}"}}"#,
        rfc3339(since + 1)
    );
    let mixed = format!("{stray}\n{{\"not\":\"an envelope\"}}\n");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, mixed.as_bytes()).unwrap();
    rig.put(
        &format!("{hour}2-mixed.jsonl.gz"),
        encoder.finish().unwrap(),
    )
    .await;

    let until = now_ms() + 1;
    let (code, stdout, stderr) = rig
        .replay(&["--since", &rfc3339(since), "--until", &rfc3339(until)])
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("1-corrupt.jsonl.gz: unreadable"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2-mixed.jsonl.gz line 2: not an envelope"),
        "{stderr}"
    );
    assert!(stdout.contains("sent 2"), "{stdout}");
    rig.wait_until("good and stray are forwarded as a replay", |rig| {
        rig.target
            .count(|hit| hit.header("inlet-replay").is_some() && hit.succeeded())
            == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_archive_cannot_be_written_records_wait_then_run_once() {
    let mut rig = Rig::start().await;
    // S3 "unavailable": the bucket is gone (every archive write fails), then back.
    rig.post("first").await;
    rig.wait_until("first is forwarded", |rig| {
        rig.forwards("github#first", None) == 1
    })
    .await;
    for key in rig.objects().await {
        rig.s3
            .delete_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
    }
    rig.s3.delete_bucket().bucket(BUCKET).send().await.unwrap();

    rig.post("held").await;
    rig.wait_until("the archive write fails and the record is retried", |rig| {
        rig.dev.log().contains("could not be archived")
    })
    .await;
    assert_eq!(rig.forwards("github#held", None), 0);

    rig.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    rig.wait_until("held is forwarded once the archive is back", |rig| {
        rig.forwards("github#held", None) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rig.forwards("github#held", None), 1);
    let objects = rig.objects().await;
    assert_eq!(objects.len(), 1, "{objects:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_bucket_of_its_own_is_created_by_inlet_dev_and_written() {
    const ELSEWHERE: &str = "inlet-archive-elsewhere";
    let mut rig = Rig::start_archiving_to(ELSEWHERE, &format!("bucket = \"{ELSEWHERE}\"")).await;
    rig.post("own-bucket").await;
    rig.wait_until("the delivery is forwarded", |rig| {
        rig.forwards("github#own-bucket", None) == 1
    })
    .await;
    let objects = rig.objects().await;
    assert_eq!(objects.len(), 1, "archived in {ELSEWHERE}: {objects:?}");
    // Not in the stack's payload bucket as well.
    assert!(rig.keys(BUCKET, "archive/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_checked_delivery_is_archived_as_a_copy_and_replayed_byte_for_byte() {
    let mut rig = Rig::start().await;
    let since = now_ms();
    let body = large_json("large", LARGE);
    rig.post_body("large", body.clone()).await;
    let until = now_ms() + 1;
    rig.wait_until("the large delivery is forwarded", |rig| {
        rig.forwards("github#large", None) == 1
    })
    .await;
    let original = rig.target.hits_for("github#large");
    assert_eq!(original.len(), 1, "forwarded once");
    assert_same_bytes(&original[0].body, &body, "the original forward");
    assert_eq!(original[0].header("inlet-replay"), None);
    rig.wait_until_no_claims("once the delivery is done").await;

    // The archive holds a copy of the body under bodies/, and its batch refers to the copy.
    let bodies = rig.keys(BUCKET, "archive/bodies/").await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(
        bodies[0].starts_with("archive/bodies/github/"),
        "{bodies:?}"
    );
    assert_same_bytes(
        &rig.get(BUCKET, &bodies[0]).await,
        &body,
        "the archived body",
    );
    let batches: Vec<String> = rig
        .objects()
        .await
        .into_iter()
        .filter(|key| !key.starts_with("archive/bodies/"))
        .collect();
    assert_eq!(batches.len(), 1, "{batches:?}");
    let batch = rig.get(BUCKET, &batches[0]).await;
    assert!(
        batch.len() < 64 * 1024,
        "the body is not in the batch: {} bytes",
        batch.len()
    );
    let decoded = archive::decode(&batch).unwrap();
    assert_eq!(decoded.envelopes.len(), 1);
    let archived = &decoded.envelopes[0];
    assert_eq!(archived.key, "github#large");
    assert!(archived.body.is_none() && archived.body_b64.is_none());
    let reference = archived
        .body_ref
        .as_ref()
        .expect("the archived envelope refers to its body");
    assert_eq!(
        (reference.bucket.as_str(), reference.key.as_str()),
        (BUCKET, bodies[0].as_str())
    );
    assert_eq!(reference.size, LARGE as u64);
    assert_eq!(reference.sha256, sha256_hex(&body));

    // The replay: the body is copied back to a new claim check, and forwarded once more.
    let window = ["--since", &rfc3339(since), "--until", &rfc3339(until)];
    let (code, stdout, stderr) = rig
        .replay(&[&window[..], &["--id", "r-large"]].concat())
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("sent 1"), "{stdout}{stderr}");
    assert!(
        !stdout.contains("not sent") && !stderr.contains("not sent"),
        "{stdout}{stderr}"
    );
    rig.wait_until("the large delivery is forwarded again", |rig| {
        rig.forwards("github#large", Some("r-large")) == 1
    })
    .await;
    rig.wait_until_no_claims("once the replay is done").await;
    let replayed: Vec<_> = rig
        .target
        .all_hits()
        .into_iter()
        .filter(|hit| hit.header("inlet-replay").is_some())
        .collect();
    assert_eq!(replayed.len(), 1, "replayed once");
    assert_eq!(replayed[0].header("inlet-replay"), Some("r-large"));
    assert_eq!(replayed[0].key(), Some("replay:r-large:github#large"));
    assert!(replayed[0].succeeded());
    assert_same_bytes(&replayed[0].body, &body, "the replayed forward");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rig.forwards("github#large", None), 1);
    assert_eq!(rig.forwards("github#large", Some("r-large")), 1);
    assert_eq!(rig.target.all_hits().len(), 2, "nothing else was forwarded");
    // The archive's copy stays for the next replay; the replay is not archived again.
    assert_eq!(rig.keys(BUCKET, "archive/bodies/").await, bodies);
    assert_same_bytes(
        &rig.get(BUCKET, &bodies[0]).await,
        &body,
        "the archived body after the replay",
    );
    assert_eq!(rig.objects().await.len(), batches.len() + bodies.len());
}
