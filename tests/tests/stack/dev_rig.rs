//! What the `inlet dev` suites share: a GitHub source signed as GitHub signs, forward routes
//! to test targets signed with an agent secret, and a rig that owns the emulator, `inlet dev`
//! and clients for both, with bounded waits. Routing and outages build their cases on it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_sqs::types::{Message, QueueAttributeName};
use http::{HeaderMap, HeaderValue};
use inlet_signature::{Delivery, Window};
use inlet_testkit::providers::named;
use inlet_testkit::serial::OneAtATime;
use inlet_testkit::target::{Hit, Target};
use inlet_testkit::{Dev, Emulator, Run, Scratch, inlet_command, run};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

// ---- secrets and config ----

pub(crate) const GITHUB_SECRET: &str = "routing-github-secret";
/// What the forward routes sign with (Standard Webhooks), so the targets can verify.
pub(crate) const AGENT_SECRET: &str = "whsec_cm91dGluZy1hZ2VudC1mb3J3YXJkLXNlY3JldA==";
/// The names the config reads; `inlet` prefers the process environment to --env-file, so the
/// commands run without them in their environment.
pub(crate) const SECRET_VARIABLES: [&str; 2] = ["INLET_ROUTING_GITHUB", "INLET_ROUTING_AGENT"];

/// The emulator's account and the region `inlet dev` and the test kit use.
pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const REGION: &str = "us-east-1";
pub(crate) const QUEUE: &str = "inlet-events";
pub(crate) const DEAD_LETTER_QUEUE: &str = "inlet-events-dlq";
pub(crate) const TABLE: &str = "inlet-idempotency";

/// An issue as GitHub sends it, with what JSON escapes and characters beyond ASCII: every
/// destination that takes it untransformed must get these bytes.
pub(crate) fn issue_body(action: &str, number: u32) -> String {
    format!(
        "{{\"action\":\"{action}\",\"issue\":{{\"number\":{number},\"title\":\"Caf\u{e9} \
         crashes on \\\"start\\\"\",\"body\":\"<b>&amp;</b> \u{2603}\"}},\
         \"repository\":{{\"full_name\":\"octo/inlet\"}}}}\n"
    )
}

/// The source, and retries that come back after a second (the queue's visibility timeout is
/// 180 s): a route's steps are a second each, as are the pipeline's own retries. Followed by
/// `routes`.
pub(crate) fn config(routes: &str) -> String {
    config_with(
        "retry_schedule = [\"1s\", \"1s\", \"1s\", \"1s\"]\nretry_base_secs = 1\nretry_max_secs = 1\n",
        routes,
    )
}

/// The source with `process` as its `[process]` section's lines, followed by `routes`.
pub(crate) fn config_with(process: &str, routes: &str) -> String {
    format!(
        "[process]\n{process}\n\
         [sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_ROUTING_GITHUB\"]\n\n\
         {routes}"
    )
}

/// A `[[routes]]` entry on the GitHub source; `lines` hold `when`, `transform` and the like.
pub(crate) fn route(name: &str, lines: &str, action: &str) -> String {
    format!(
        "[[routes]]\nname = \"{name}\"\nsource = \"github\"\n{lines}action = {{ {action} }}\n\n"
    )
}

/// A forward action to `path` on `target`, signed with the agent secret.
pub(crate) fn forward(target: &Target, path: &str) -> String {
    format!(
        "type = \"forward\", url = \"{}\", secret = \"env:INLET_ROUTING_AGENT\", timeout_ms = 5000",
        target.url(&format!("/{path}"))
    )
}

pub(crate) fn env_file() -> String {
    format!(
        "{}={GITHUB_SECRET}\n{}={AGENT_SECRET}\n",
        SECRET_VARIABLES[0], SECRET_VARIABLES[1]
    )
}

// ---- deliveries ----

pub(crate) fn now_secs() -> i64 {
    inlet_signature::clock::epoch_millis(SystemTime::now()).div_euclid(1000)
}

/// A GitHub delivery as GitHub sends it, and the key ingest gives it.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    pub(crate) key: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

pub(crate) fn github(event: &str, id: &str, content_type: &'static str, body: &str) -> Signed {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert("x-github-event", HeaderValue::try_from(event).unwrap());
    headers.insert("x-github-delivery", HeaderValue::try_from(id).unwrap());
    let scheme = named("github");
    let key = scheme.key(GITHUB_SECRET).unwrap();
    let added = scheme
        .sign(
            &Delivery {
                headers: &headers,
                body: body.as_bytes(),
                url: None,
                method: "POST",
                query: None,
            },
            &key,
            now_secs(),
        )
        .unwrap();
    for (name, value) in added {
        headers.insert(name, value);
    }
    Signed {
        key: format!("github#{id}"),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

pub(crate) fn issue(id: &str, action: &str) -> Signed {
    github("issues", id, "application/json", &issue_body(action, 7))
}

// ---- checking what a forward target received ----

/// Checks a forwarded request the way a receiver would: the Standard Webhooks signature with
/// the agent secret over what it got, the event key as its id, the route as `inlet-route`, and
/// the bytes it got.
pub(crate) fn assert_forward(hit: &Hit, key: &str, route: &str, body: &[u8]) {
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
        .unwrap_or_else(|e| panic!("the forward of {key} to route {route} does not verify: {e}"));
    assert_eq!(verified.event_id.as_deref(), Some(key));
    assert_eq!(hit.key(), Some(key), "webhook-id is the event key");
    assert_eq!(hit.header("inlet-route"), Some(route), "{hit:#?}");
    assert_eq!(
        String::from_utf8_lossy(&hit.body),
        String::from_utf8_lossy(body),
        "route {route} gets the bytes it should"
    );
    assert_eq!(hit.body, body);
}

/// What a target answered, request by request, for one event.
pub(crate) fn statuses(target: &Target, key: &str) -> Vec<u16> {
    target.hits_for(key).iter().map(|h| h.status).collect()
}

// ---- `inlet dev`, owned by the test ----

/// The emulator, `inlet dev` on `config`, and clients for the emulator and the server.
pub(crate) struct Rig {
    pub(crate) dev: Dev,
    pub(crate) emulator: Emulator,
    pub(crate) serial: OneAtATime,
    pub(crate) sdk: aws_config::SdkConfig,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) http: reqwest::Client,
    pub(crate) scratch: Scratch,
}

impl Rig {
    pub(crate) async fn start(config: &str) -> Self {
        Self::start_with(config, &[]).await
    }

    /// [`Rig::start`] with more arguments for `inlet dev` (`--pollers 2`).
    /// `inlet dev` reaches the emulator through a proxy that passes DynamoDB's requests one at
    /// a time, so its conditional writes race as on DynamoDB (see `serial`).
    pub(crate) async fn start_with(config: &str, dev_args: &[&str]) -> Self {
        Self::start_with_files(config, &[], dev_args).await
    }

    /// [`Rig::start_with`], with `files` (path relative to the config, text) written beside the
    /// config first: the schemas it names.
    pub(crate) async fn start_with_files(
        config: &str,
        files: &[(&str, &str)],
        dev_args: &[&str],
    ) -> Self {
        let scratch = Scratch::with_prefix("inlet-routing");
        std::fs::write(scratch.0.join("inlet.toml"), config).unwrap();
        for (path, text) in files {
            let path = scratch.0.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::write(scratch.0.join("local.env"), env_file()).unwrap();
        let emulator = Emulator::start();
        let serial = OneAtATime::start(emulator.endpoint()).await;
        let dev = Dev::start_via(&serial.endpoint(), &scratch.0, &SECRET_VARIABLES, dev_args);
        let sdk = emulator.sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let http = inlet_core::actions::forward::http_client_builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            dev,
            emulator,
            serial,
            sdk,
            sqs,
            http,
            scratch,
        }
    }

    /// Starts `inlet dev` again (after [`Dev::kill`]), as before.
    pub(crate) fn restart_dev(&mut self, dev_args: &[&str]) {
        self.dev = Dev::start_via(
            &self.serial.endpoint(),
            &self.scratch.0,
            &SECRET_VARIABLES,
            dev_args,
        );
    }

    /// Posts a delivery to `source`: the status and body of the answer.
    pub(crate) async fn post(&self, source: &str, delivery: &Signed) -> (u16, String) {
        let response = self
            .http
            .post(self.dev.url(source))
            .headers(delivery.headers.clone())
            .body(delivery.body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Posts a delivery that must be queued under its key.
    pub(crate) async fn post_queued(&self, delivery: &Signed) {
        let (status, text) = self.post("github", delivery).await;
        assert_eq!(status, 202, "{}: {text}", delivery.key);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["id"], delivery.key.as_str(), "{text}");
    }

    pub(crate) async fn queue_url(&self, name: &str) -> String {
        self.sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no queue {name}: {e:?}"))
            .queue_url
            .unwrap()
    }

    /// Messages visible and in flight.
    pub(crate) async fn depth(&self, name: &str) -> (u64, u64) {
        inlet_local::depth(&self.sqs, &self.queue_url(name).await)
            .await
            .unwrap()
    }

    /// Nothing left in the stack's queue: every record is settled, one way or the other.
    pub(crate) async fn idle(&self) -> bool {
        self.depth(QUEUE).await == (0, 0)
    }

    /// `inlet <args>` against this emulator, from the directory `inlet dev` runs in (so the
    /// commands find its stack).
    pub(crate) async fn inlet(&self, args: &[&str]) -> Run {
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

    /// The dead letters as `inlet dlq peek --json` shows them.
    pub(crate) async fn dead_letters(&self) -> Vec<serde_json::Value> {
        let peek = self.inlet(&["dlq", "peek", "--json"]).await;
        assert_eq!(peek.code, 0, "{peek:?}");
        serde_json::from_str(&peek.stdout).unwrap_or_else(|e| panic!("{e}: {peek:?}"))
    }

    /// The idempotency item of `key`: its attributes as text (sets joined, sorted, by `,`).
    pub(crate) async fn record(&self, key: &str) -> BTreeMap<String, String> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let item = aws_sdk_dynamodb::Client::new(&self.sdk)
            .get_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap_or_default();
        item.into_iter()
            .map(|(name, value)| {
                let text = match value {
                    AttributeValue::S(s) | AttributeValue::N(s) => s,
                    AttributeValue::Ss(mut set) => {
                        set.sort();
                        set.join(",")
                    }
                    other => format!("{other:?}"),
                };
                (name, text)
            })
            .collect()
    }

    /// A queue of the test's own (a subscriber), with its URL and ARN.
    pub(crate) async fn subscriber_queue(&self, name: &str) -> (String, String) {
        let url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()
            .remove(&QueueAttributeName::QueueArn)
            .unwrap();
        (url, arn)
    }
}

/// A bounded wait: each `tick` checks that `inlet dev` still runs and the deadline has not
/// passed, then pauses briefly. On a timeout the test fails, and `inlet dev`'s output is
/// printed (by `Dev`'s drop).
pub(crate) struct Wait {
    pub(crate) what: &'static str,
    pub(crate) deadline: Instant,
}

impl Wait {
    pub(crate) fn until(what: &'static str) -> Self {
        Self {
            what,
            deadline: Instant::now() + Duration::from_secs(120),
        }
    }

    pub(crate) async fn tick(&self, rig: &mut Rig, seen: impl FnOnce() -> String) {
        rig.dev.assert_running();
        assert!(
            Instant::now() < self.deadline,
            "timed out waiting until {}; so far: {}",
            self.what,
            seen()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A few more rounds once every record is settled, so that anything sent twice would have
/// arrived by the end of them: the queue must stay empty throughout.
pub(crate) async fn settle(rig: &mut Rig) {
    for _ in 0..10 {
        rig.dev.assert_running();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(rig.idle().await, "the queue holds a record again");
    }
}

/// A queue a destination delivers to, read (and emptied) by the test.
pub(crate) struct Inbox {
    pub(crate) name: &'static str,
    pub(crate) url: String,
    pub(crate) got: Vec<Message>,
}

impl Inbox {
    pub(crate) fn new(name: &'static str, url: String) -> Self {
        Self {
            name,
            url,
            got: Vec::new(),
        }
    }

    /// Takes what has arrived; how many messages it holds in all.
    pub(crate) async fn collect(&mut self, sqs: &aws_sdk_sqs::Client) -> usize {
        let received = sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        for message in &received {
            sqs.delete_message()
                .queue_url(&self.url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        self.got.extend(received);
        self.got.len()
    }

    /// The one message it got; fails unless there was exactly one.
    pub(crate) fn only(&self) -> &Message {
        let [message] = &self.got[..] else {
            panic!(
                "{} got {} messages, not one: {:#?}",
                self.name,
                self.got.len(),
                self.got
            )
        };
        message
    }
}

pub(crate) fn attribute<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message.message_attributes()?.get(name)?.string_value()
}
