//! Claim checks through `inlet dev` as a user runs it, on the emulator's SQS, S3 and DynamoDB:
//! a delivery too large for the queue is stored under `claims/` in the payload bucket, queued as
//! a `body_ref`, forwarded byte for byte and its object deleted once done; kept while its event
//! is a dead letter, for a redrive; a 503 and nothing queued while the bucket cannot take it; a
//! reference someone else queued that points outside `claims/` or the bucket is dead-lettered
//! unread; and a body over the limit is refused with the limit in the message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::bucket;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue};
use inlet_core::claims::BodyRef;
use inlet_core::config::MAX_BODY_BYTES;
use inlet_local::{self as local, StackSettings};
use inlet_signature::clock;
use inlet_testkit::providers::{self, named};
use inlet_testkit::target::{Hit, Script, Target};
use inlet_testkit::{Dev, Emulator, Scratch, inlet_command, run};
use std::time::{Duration, Instant, SystemTime};

const GITHUB_SECRET: &str = "claims-github-secret";
const AGENT_SECRET: &str = "whsec_Y2xhaW1zLWFnZW50LWZvcndhcmQtc2VjcmV0";
const SECRET_VARIABLES: [&str; 2] = ["INLET_CLAIMS_GITHUB", "INLET_CLAIMS_AGENT"];

/// Over the queue's 1 MiB message limit, well under the body limit.
const LARGE: usize = 3_000_000;

fn config(target: std::net::SocketAddr) -> String {
    format!(
        "[process]\nretry_base_secs = 1\nretry_max_secs = 1\n\n\
         [sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_CLAIMS_GITHUB\"]\n\n\
         [[routes]]\nsource = \"github\"\naction = {{ type = \"forward\", \
         url = \"http://{target}/ok\", secret = \"env:INLET_CLAIMS_AGENT\", timeout_ms = 30000 }}\n"
    )
}

/// A signed GitHub delivery and the key ingest gives it.
#[derive(Debug, Clone)]
struct Delivery {
    key: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// `{"delivery":"<id>","pad":"aaa…"}` of exactly `len` bytes, signed as GitHub sends it.
fn github(id: &str, len: usize) -> Delivery {
    let start = format!(r#"{{"delivery":"{id}","pad":""#);
    let end = r#""}"#;
    let pad = len
        .checked_sub(start.len() + end.len())
        .expect("room for the JSON around the padding");
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(start.as_bytes());
    body.resize(start.len() + pad, b'a');
    body.extend_from_slice(end.as_bytes());
    assert_eq!(body.len(), len);

    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-github-event", HeaderValue::from_static("push"));
    headers.insert("x-github-delivery", HeaderValue::from_str(id).unwrap());
    let scheme = named("github");
    let key = scheme.key(GITHUB_SECRET).unwrap();
    let signed = providers::sign(&scheme, headers, body, None, &key, now_secs());
    Delivery {
        key: format!("github#{id}"),
        headers: signed.headers,
        body: signed.body,
    }
}

fn now_secs() -> i64 {
    clock::epoch_millis(SystemTime::now()).div_euclid(1000)
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

struct Rig {
    target: Target,
    dev: Dev,
    // Last: `inlet dev` is stopped before its emulator.
    emulator: Emulator,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    http: reqwest::Client,
    settings: StackSettings,
    scratch: Scratch,
}

impl Rig {
    /// The target answers `replies` in turn, then 200 to everything.
    async fn start(replies: &[Script]) -> Self {
        let scratch = Scratch::with_prefix("inlet-claims");
        let target = Target::in_order(replies).await;
        std::fs::write(scratch.0.join("inlet.toml"), config(target.addr)).unwrap();
        std::fs::write(
            scratch.0.join("local.env"),
            format!("INLET_CLAIMS_GITHUB={GITHUB_SECRET}\nINLET_CLAIMS_AGENT={AGENT_SECRET}\n"),
        )
        .unwrap();
        let emulator = Emulator::start();
        let dev = Dev::start(&emulator, &scratch.0, &SECRET_VARIABLES);
        let sdk = emulator.sdk_config().await;
        let http = inlet_core::actions::forward::http_client_builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            target,
            dev,
            emulator,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            s3: inlet_aws::s3_client(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            http,
            settings: StackSettings::default(),
            scratch,
        }
    }

    /// `inlet ARGS` in the stack's directory, as a user runs it beside `inlet dev`.
    async fn inlet(&self, args: &[&str]) -> inlet_testkit::Run {
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

    fn bucket(&self) -> &str {
        &self.settings.bucket_name
    }

    /// The status and the JSON answer.
    async fn post(&self, delivery: &Delivery) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(self.dev.url("github"))
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
    async fn post_queued(&self, delivery: &Delivery) {
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

    /// Messages waiting and in flight in the queue.
    async fn queued(&self) -> (u64, u64) {
        let url = self.queue_url(&self.settings.queue_name).await;
        local::depth(&self.sqs, &url).await.unwrap()
    }

    async fn dead_letters(&self) -> Vec<local::DeadLetter> {
        let url = self.queue_url(&self.settings.dead_letter_queue_name).await;
        local::peek(&self.sqs, &url, 10).await.unwrap()
    }

    /// The keys under `claims/` in the payload bucket.
    async fn claims(&self) -> Vec<String> {
        self.keys(self.bucket(), "claims/").await
    }

    async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        bucket::keys(&self.s3, bucket, prefix).await
    }

    async fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        bucket::put(&self.s3, bucket, key, body.to_vec()).await;
    }

    async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        bucket::get(&self.s3, bucket, key).await
    }

    /// The idempotency record of `key`, if any: attribute name → string or number.
    async fn record(&self, key: &str) -> Option<std::collections::HashMap<String, String>> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.settings.table_name)
            .key(&self.settings.table_key, AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item?;
        Some(
            item.into_iter()
                .filter_map(|(name, value)| match value {
                    AttributeValue::S(text) | AttributeValue::N(text) => Some((name, text)),
                    _ => None,
                })
                .collect(),
        )
    }

    /// The requests the target took for `key` that it answered with 2xx.
    fn forwarded(&self, key: &str) -> Vec<Hit> {
        self.target
            .hits_for(key)
            .into_iter()
            .filter(Hit::succeeded)
            .collect()
    }

    /// Polls `done` until it holds; panics after 90 s, or if `inlet dev` exits.
    async fn wait_until<F>(&mut self, what: &str, mut done: F)
    where
        F: for<'a> FnMut(&'a Self) -> BoxFuture<'a, bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !done(self).await {
            self.dev.assert_running();
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}; inlet dev said:\n{}",
                self.dev.tail(40)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the event is forwarded, then until its claim check is gone.
    async fn wait_forwarded_and_cleaned(&mut self, key: &str) {
        self.wait_until(&format!("{key} is forwarded"), |rig| {
            let done = !rig.forwarded(key).is_empty();
            Box::pin(async move { done })
        })
        .await;
        self.wait_until("claims/ is empty once the event is done", |rig| {
            Box::pin(async move { rig.claims().await.is_empty() })
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_mb_delivery_is_forwarded_byte_for_byte_and_its_claim_check_removed() {
    let mut rig = Rig::start(&[]).await;
    let large = github("large-1", LARGE);
    rig.post_queued(&large).await;
    rig.wait_forwarded_and_cleaned(&large.key).await;

    let forwarded = rig.forwarded(&large.key);
    assert_eq!(forwarded.len(), 1, "{} forwarded once", large.key);
    assert_same_bytes(&forwarded[0].body, &large.body, &large.key);
    assert_eq!(rig.target.all_hits().len(), 1, "nothing else was forwarded");
    // Claimed with the body's hash, as a queued body would be, and completed.
    let record = rig
        .record(&large.key)
        .await
        .unwrap_or_else(|| panic!("{} has no idempotency record", large.key));
    assert_eq!(record["status"], "COMPLETED", "{record:?}");
    assert_eq!(record["payload_sha256"], sha256_hex(&large.body));
    assert!(rig.dead_letters().await.is_empty());
    let log = rig.dev.log();
    assert!(
        log.contains("github#large-1: processed"),
        "the output says it was processed:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_large_delivery_keeps_its_body_for_the_redrive() {
    // The target refuses the first forward for good: the queued message is dead-lettered as it
    // was queued, which shows what ingest queued.
    let mut rig = Rig::start(&[Script::Always(410)]).await;
    let large = github("large-dl", LARGE);
    rig.post_queued(&large).await;
    rig.wait_until("the delivery is a dead letter", |rig| {
        Box::pin(async move { !rig.dead_letters().await.is_empty() })
    })
    .await;

    let letters = rig.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attributes["reason"], "action_failed");
    assert!(
        letters[0].body.len() < 4096,
        "a reference is queued, not the body: {} bytes",
        letters[0].body.len()
    );
    let envelope = letters[0]
        .envelope()
        .unwrap_or_else(|| panic!("not an envelope: {}", letters[0].body));
    assert_eq!(envelope.key, large.key);
    assert!(envelope.body.is_none() && envelope.body_b64.is_none());
    let reference = envelope.body_ref.expect("the envelope carries a body_ref");
    assert_eq!(reference.bucket, rig.bucket());
    assert!(
        reference.key.starts_with("claims/github/"),
        "{}",
        reference.key
    );
    assert_eq!(reference.size, LARGE as u64);
    assert_eq!(reference.sha256, sha256_hex(&large.body));
    // The 410 got the original bytes too; the body stays while the event is a dead letter.
    let refused = rig.target.hits_for(&large.key);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].status, 410);
    assert_same_bytes(&refused[0].body, &large.body, "the refused forward");
    assert_eq!(rig.claims().await, std::slice::from_ref(&reference.key));
    assert_same_bytes(
        &rig.get(rig.bucket(), &reference.key).await,
        &large.body,
        "the stored claim check",
    );
    // `inlet dlq peek` says where the body is, without reading megabytes into the terminal.
    let peek = rig.inlet(&["dlq", "peek"]).await;
    assert_eq!(peek.code, 0, "{peek:?}");
    let line = format!(
        "body:      in s3://{}/{} ({LARGE} bytes, too large for the queue)",
        reference.bucket, reference.key
    );
    assert!(peek.stdout.contains(&line), "{}", peek.stdout);
    let json = rig.inlet(&["dlq", "peek", "--json"]).await;
    let letters: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(letters[0]["body"], serde_json::Value::Null);
    assert_eq!(letters[0]["body_bytes"], LARGE);
    assert_eq!(letters[0]["body_ref"]["key"], reference.key.as_str());

    // The redrive: the target now answers 200, and the object goes once the event is done.
    let dead_letter_queue = rig.queue_url(&rig.settings.dead_letter_queue_name).await;
    let queue = rig.queue_url(&rig.settings.queue_name).await;
    let moved = local::redrive(&rig.sqs, &dead_letter_queue, &queue, None, false, |_, _| {})
        .await
        .unwrap();
    assert_eq!(moved, 1);
    rig.wait_forwarded_and_cleaned(&large.key).await;
    let forwarded = rig.forwarded(&large.key);
    assert_eq!(forwarded.len(), 1);
    assert_same_bytes(&forwarded[0].body, &large.body, "the redriven forward");
    assert!(rig.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_payload_bucket_a_large_delivery_is_503_and_its_retry_gets_through() {
    let mut rig = Rig::start(&[]).await;
    // The bucket goes: every put into it fails (NoSuchBucket), which S3Objects calls unavailable.
    let bucket = rig.bucket().to_owned();
    for key in rig.keys(&bucket, "").await {
        rig.s3
            .delete_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }
    rig.s3.delete_bucket().bucket(&bucket).send().await.unwrap();

    let large = github("large-503", LARGE);
    let (status, json) = rig.post(&large).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (503, Some("payload_store_unavailable")),
        "{json}"
    );
    assert_eq!(rig.queued().await, (0, 0), "nothing was queued");

    // Small deliveries do not need the bucket.
    let small = github("small-meanwhile", 200);
    rig.post_queued(&small).await;
    rig.wait_until("the small delivery is forwarded", |rig| {
        let done = !rig.forwarded(&small.key).is_empty();
        Box::pin(async move { done })
    })
    .await;
    assert_same_bytes(&rig.forwarded(&small.key)[0].body, &small.body, &small.key);
    assert!(rig.target.hits_for(&large.key).is_empty());

    // The bucket is back; the provider sends the same delivery again.
    local::create_bucket(&rig.s3, &bucket).await.unwrap();
    rig.post_queued(&large).await;
    rig.wait_forwarded_and_cleaned(&large.key).await;
    let hits = rig.target.hits_for(&large.key);
    assert_eq!(hits.len(), 1, "{} forwarded once", large.key);
    assert!(hits[0].succeeded());
    assert_same_bytes(&hits[0].body, &large.body, &large.key);
    assert_eq!(rig.target.all_hits().len(), 2);
    assert!(rig.dead_letters().await.is_empty());
    let log = rig.dev.log();
    assert!(
        log.contains("not queued 503 payload_store_unavailable"),
        "the output says why it was not queued:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_reference_outside_claims_or_the_bucket_is_dead_lettered_unread() {
    const ELSEWHERE: &str = "someone-elses-bucket";
    const ARCHIVED: &str = "archive/2026/11/28/16/1-batch.jsonl.gz";
    let mut rig = Rig::start(&[]).await;
    let secret = b"{\"not\":\"yours\"}".to_vec();
    local::create_bucket(&rig.s3, ELSEWHERE).await.unwrap();
    rig.put(ELSEWHERE, "claims/github/x", &secret).await;
    let bucket = rig.bucket().to_owned();
    rig.put(&bucket, ARCHIVED, &secret).await;

    // Right size and hash: only the reference's place can refuse them.
    let hostile = [
        ("hostile-bucket", ELSEWHERE, "claims/github/x"),
        ("hostile-archive", bucket.as_str(), ARCHIVED),
    ];
    let queue = rig.queue_url(&rig.settings.queue_name).await;
    for (id, in_bucket, key) in hostile {
        let reference = BodyRef {
            bucket: in_bucket.to_owned(),
            key: key.to_owned(),
            size: secret.len() as u64,
            sha256: sha256_hex(&secret),
        };
        let envelope = serde_json::json!({
            "v": 1,
            "key": format!("github#{id}"),
            "source": "github",
            "scheme": "github",
            "event_id": id,
            "received_at": clock::format_rfc3339_millis(clock::epoch_millis(SystemTime::now())),
            "headers": {},
            "body_ref": reference,
        });
        rig.sqs
            .send_message()
            .queue_url(&queue)
            .message_body(envelope.to_string())
            .message_attributes(
                "source",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("github")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    rig.wait_until("both are dead letters", |rig| {
        Box::pin(async move { rig.dead_letters().await.len() >= 2 })
    })
    .await;
    let letters = rig.dead_letters().await;
    assert_eq!(letters.len(), 2, "{letters:?}");
    for (id, _, _) in hostile {
        let key = format!("github#{id}");
        let letter = letters
            .iter()
            .find(|l| l.key().as_deref() == Some(key.as_str()))
            .unwrap_or_else(|| panic!("{key} is not among the dead letters: {letters:?}"));
        assert_eq!(
            letter.attributes.get("reason").map(String::as_str),
            Some("payload_ref_refused"),
            "{key}: {:?}",
            letter.attributes
        );
        assert_eq!(letter.source().as_deref(), Some("github"));
        // Nothing claimed: a genuine delivery of that key would still run.
        assert_eq!(rig.record(&key).await, None, "{key} was claimed");
    }
    assert!(
        rig.target.all_hits().is_empty(),
        "nothing was forwarded: {:?}",
        rig.target
            .all_hits()
            .iter()
            .map(|h| (h.key().map(str::to_owned), h.status))
            .collect::<Vec<_>>()
    );
    // Neither object was deleted, nor a copy made under claims/.
    assert_eq!(rig.get(ELSEWHERE, "claims/github/x").await, secret);
    assert_eq!(rig.get(&bucket, ARCHIVED).await, secret);
    assert!(rig.claims().await.is_empty());
    let log = rig.dev.log();
    for id in ["hostile-bucket", "hostile-archive"] {
        let line = format!("github#{id}: dead-lettered (payload_ref_refused)");
        assert!(log.contains(&line), "the output says {line:?}:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_body_limit_is_413_with_the_limit_and_the_limit_itself_gets_through() {
    let mut rig = Rig::start(&[]).await;
    assert_eq!(MAX_BODY_BYTES, 4_669_440, "the limit this test names");
    let over = github("over-limit", MAX_BODY_BYTES + 1);
    let (status, json) = rig.post(&over).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (413, Some("payload_too_large")),
        "{json}"
    );
    let message = json["message"].as_str().unwrap_or_default();
    assert!(message.contains("4669440"), "{json}");
    assert_eq!(rig.queued().await, (0, 0), "nothing was queued");
    assert!(rig.claims().await.is_empty(), "nothing was stored");

    // One byte less is the largest delivery taken: stored, forwarded byte for byte, removed.
    let at_limit = github("at-limit", MAX_BODY_BYTES);
    rig.post_queued(&at_limit).await;
    rig.wait_forwarded_and_cleaned(&at_limit.key).await;
    let forwarded = rig.forwarded(&at_limit.key);
    assert_eq!(forwarded.len(), 1);
    assert_same_bytes(&forwarded[0].body, &at_limit.body, &at_limit.key);
    assert!(rig.target.hits_for(&over.key).is_empty());
}
