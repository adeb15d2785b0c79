//! The archive and `inlet replay` on the emulator's S3, through `inlet dev` as a user runs it:
//! deliveries are archived in batched objects before they are acknowledged, a replay of a window
//! forwards each of its events exactly once more (and none outside it), a second run of the same
//! replay id forwards nothing new, unreadable objects are reported and skipped, and an archive
//! that cannot be written holds the records back until it can.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
         url = \"http://{target}/ok\", secret = \"env:INLET_REPLAY_AGENT\" }}\n"
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
                    body: body.as_bytes(),
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
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(self.bucket)
            .prefix("archive/")
            .send()
            .await
            .unwrap();
        listed
            .contents
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| o.key)
            .collect()
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
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
        let body = rig
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
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
    assert!(stdout.contains("duplicates 0, sent 12"), "{stdout}");
    rig.wait_until("the window is forwarded again", |rig| {
        ids.iter()
            .all(|id| rig.forwards(&format!("github#{id}"), Some("r-test-1")) == 1)
    })
    .await;

    // The same run again (as after an interruption): process finds each event done in this
    // run's namespace, and the target gets nothing new.
    let (code, stdout, stderr) = rig
        .replay(&[&window[..], &["--id", "r-test-1"]].concat())
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("sent 12"), "{stdout}");
    rig.wait_until("the second run's copies are seen as duplicates", |rig| {
        rig.dev.log().matches("duplicate (processed before").count() >= 12
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
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
    let stack = rig
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("archive/")
        .send()
        .await
        .unwrap();
    assert!(stack.contents.unwrap_or_default().is_empty());
}
