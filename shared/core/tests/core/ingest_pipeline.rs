//! The ingest pipeline over in-memory fakes: every answer architecture.md § Flow lists, and what
//! is queued.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use inlet_core::config::Config;
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Ingest, IngestRequest, Outcome, Reply};
use inlet_core::ports::SecretStore as _;
use inlet_core::ports::memory::{MemoryQueue, MemorySecrets};
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use inlet_signature::{Delivery, Scheme};
use inlet_testkit::providers::named;
use std::collections::HashMap;

const NOW: i64 = 1_795_352_400;
const NOW_MS: i64 = NOW * 1000 + 123;

const CONFIG: &str = r#"
[defaults]
max_body_bytes = 1048576

[sources.github]
scheme = "github"
secrets = ["env:GH_NEW", "env:GH_OLD"]
events = ["push"]

[sources.stripe]
scheme = "stripe"
secrets = ["env:STRIPE"]

[sources.slack]
scheme = "slack"
secrets = ["env:SLACK"]

[sources.twitch]
scheme = "twitch"
secrets = ["env:TWITCH"]

[sources.small]
scheme = "shopify"
secrets = ["env:SHOPIFY"]
max_body_bytes = 64

[sources.crm]
scheme = "hmac"
header = "X-Signature"
secrets = ["env:CRM"]
allow_ips = ["203.0.113.0/24"]

[sources.open]
scheme = "none"
allow_unsigned = true

[sources.meta]
scheme = "meta"
secrets = ["env:META"]
handshake_secret = "env:META_VERIFY"

[sources.asana]
scheme = "asana"
secrets = ["secretsmanager:inlet/asana"]
handshake_secret = "env:ASANA_ENROL"
"#;

fn secrets() -> HashMap<String, String> {
    [
        ("GH_NEW", "gh-new"),
        ("GH_OLD", "gh-old"),
        ("STRIPE", "whsec_stripe"),
        ("SLACK", "slack-secret"),
        ("TWITCH", "twitch-secret"),
        ("SHOPIFY", "shopify-secret"),
        ("CRM", "crm-secret"),
        ("META", "meta-app-secret"),
        ("META_VERIFY", "meta-verify-token"),
        ("ASANA_ENROL", "asana-enrol"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The pipeline, and a handle to its queue.
async fn pipeline(fifo: bool) -> (Ingest<MemoryQueue, MemorySecrets>, MemoryQueue) {
    let (ingest, queue, _) = pipeline_with_store(fifo).await;
    (ingest, queue)
}

/// The pipeline, its queue and its secret store (which holds Asana's enrolled secret).
async fn pipeline_with_store(
    fifo: bool,
) -> (
    Ingest<MemoryQueue, MemorySecrets>,
    MemoryQueue,
    MemorySecrets,
) {
    let config = Config::parse(CONFIG).unwrap();
    let store = MemorySecrets::new([("inlet/asana".to_owned(), "asana-secret".to_owned())]);
    let resolver = SecretResolver::new(Env::Map(secrets()), store.clone());
    let keys = KeyRing::load(&config, resolver).await.unwrap();
    let queue = MemoryQueue::new();
    (Ingest::new(config, keys, queue.clone(), fifo), queue, store)
}

/// A delivery for `source`, signed with `secret` (or unsigned when `None`) at `signed_at`.
struct Post {
    method: Method,
    source: Option<String>,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
    ip: Option<std::net::IpAddr>,
}

impl Post {
    fn new(source: &str, body: &[u8]) -> Self {
        Self {
            method: Method::POST,
            source: Some(source.to_owned()),
            query: None,
            headers: HeaderMap::new(),
            body: body.to_vec(),
            ip: Some("198.51.100.7".parse().unwrap()),
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }

    fn signed(mut self, scheme: &Scheme, secret: &str, at: i64) -> Self {
        let key = scheme.key(secret).unwrap();
        let delivery = Delivery {
            headers: &self.headers,
            body: &self.body,
            url: None,
            method: "POST",
            query: None,
        };
        for (name, value) in scheme.sign(&delivery, &key, at).unwrap() {
            self.headers.insert(name, value);
        }
        self
    }

    async fn send(&self, ingest: &Ingest<MemoryQueue, MemorySecrets>) -> Reply {
        let request = IngestRequest {
            method: &self.method,
            source: self.source.as_deref(),
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
            source_ip: self.ip,
            xray_trace: None,
        };
        ingest.handle(&request, NOW_MS).await
    }
}

fn json(reply: &Reply) -> serde_json::Value {
    serde_json::from_str(&reply.body).unwrap()
}

fn assert_refused(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.content_type, "application/json");
    let body = json(reply);
    assert_eq!(body["error"], code, "{}", reply.body);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

fn github_push(body: &[u8]) -> Post {
    Post::new("github", body)
        .header("x-github-event", "push")
        .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .header("content-type", "application/json")
        .header("user-agent", "GitHub-Hookshot/abc")
}

#[tokio::test]
async fn a_valid_delivery_is_queued_in_the_designed_envelope() {
    let (ingest, queue) = pipeline(false).await;
    let body = br#"{"ref":"refs/heads/main","after":"\u00e9"}"#;
    let reply = github_push(body)
        .signed(&named("github"), "gh-new", NOW)
        .send(&ingest)
        .await;

    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let key = "github#72d3162e-cc78-11e3-81ab-4c9367dc0958";
    assert_eq!(
        json(&reply),
        serde_json::json!({"status": "queued", "id": key})
    );
    assert!(
        matches!(&reply.outcome, Outcome::Queued { key: queued, .. } if queued == key),
        "{reply:?}"
    );

    let sent = queue.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].attributes,
        vec![
            ("source", "github".to_owned()),
            ("event_type", "push".to_owned())
        ]
    );
    assert!(sent[0].fifo.is_none());
    let envelope = Envelope::from_json(&sent[0].body).unwrap();
    assert_eq!(envelope.key, key);
    assert_eq!(envelope.source, "github");
    assert_eq!(envelope.scheme, "github");
    assert_eq!(envelope.event_type.as_deref(), Some("push"));
    assert_eq!(envelope.received_at, "2026-11-22T13:00:00.123Z");
    assert_eq!(envelope.body_bytes().unwrap(), body);
    // What an action needs, and never what authenticates the delivery.
    assert_eq!(
        envelope
            .headers
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        vec!["content-type", "x-github-delivery", "x-github-event"]
    );
}

#[tokio::test]
async fn the_previous_secret_still_verifies_during_a_rotation() {
    let (ingest, _) = pipeline(false).await;
    let reply = github_push(b"{}")
        .signed(&named("github"), "gh-old", NOW)
        .send(&ingest)
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
}

#[tokio::test]
async fn signature_failures_are_401_with_their_reason_and_queue_nothing() {
    let (ingest, queue) = pipeline(false).await;
    let missing = github_push(b"{}").send(&ingest).await;
    assert_refused(&missing, StatusCode::UNAUTHORIZED, "signature_missing");

    let wrong_secret = github_push(b"{}")
        .signed(&named("github"), "guess", NOW)
        .send(&ingest)
        .await;
    assert_refused(
        &wrong_secret,
        StatusCode::UNAUTHORIZED,
        "signature_mismatch",
    );

    let mut tampered = github_push(b"{\"amount\":1}").signed(&named("github"), "gh-new", NOW);
    tampered.body = b"{\"amount\":9}".to_vec();
    assert_refused(
        &tampered.send(&ingest).await,
        StatusCode::UNAUTHORIZED,
        "signature_mismatch",
    );

    let stale = Post::new("stripe", br#"{"id":"evt_1","type":"charge.succeeded"}"#).signed(
        &named("stripe"),
        "whsec_stripe",
        NOW - 301,
    );
    let reply = stale.send(&ingest).await;
    assert_refused(
        &reply,
        StatusCode::UNAUTHORIZED,
        "timestamp_out_of_tolerance",
    );
    assert!(json(&reply)["message"].as_str().unwrap().contains("old"));

    let future = Post::new("stripe", br#"{"id":"evt_1","type":"charge.succeeded"}"#).signed(
        &named("stripe"),
        "whsec_stripe",
        NOW + 301,
    );
    let reply = future.send(&ingest).await;
    assert_refused(
        &reply,
        StatusCode::UNAUTHORIZED,
        "timestamp_out_of_tolerance",
    );
    assert!(json(&reply)["message"].as_str().unwrap().contains("future"));

    let malformed = github_push(b"{}")
        .header("x-hub-signature-256", "sha256=zz")
        .send(&ingest)
        .await;
    assert_refused(&malformed, StatusCode::UNAUTHORIZED, "signature_malformed");

    assert!(queue.is_empty());
}

#[tokio::test]
async fn events_the_source_does_not_want_are_acknowledged_and_dropped() {
    let (ingest, queue) = pipeline(false).await;
    let reply = Post::new("github", b"{}")
        .header("x-github-event", "star")
        .signed(&named("github"), "gh-new", NOW)
        .send(&ingest)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        json(&reply),
        serde_json::json!({"status": "ignored", "event_type": "star"})
    );
    assert!(queue.is_empty());
}

#[tokio::test]
async fn a_forged_delivery_of_an_ignored_type_is_still_refused() {
    // The filter runs after verification: an attacker learns nothing from which types are wanted.
    let (ingest, _) = pipeline(false).await;
    let reply = Post::new("github", b"{}")
        .header("x-github-event", "star")
        .signed(&named("github"), "guess", NOW)
        .send(&ingest)
        .await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "signature_mismatch");
}

#[tokio::test]
async fn routing_method_size_and_address_checks() {
    let (ingest, _) = pipeline(false).await;

    let unknown = Post::new("gitlab", b"{}").send(&ingest).await;
    assert_refused(&unknown, StatusCode::NOT_FOUND, "unknown_source");

    let mut no_route = Post::new("github", b"{}");
    no_route.source = None;
    assert_refused(
        &no_route.send(&ingest).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let mut get = github_push(b"").signed(&named("github"), "gh-new", NOW);
    get.method = Method::GET;
    let reply = get.send(&ingest).await;
    assert_refused(&reply, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(
        reply.headers,
        vec![("allow", http::HeaderValue::from_static("POST"))]
    );

    let big = Post::new("small", &[b'a'; 65]).signed(&named("shopify"), "shopify-secret", NOW);
    assert_refused(
        &big.send(&ingest).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let fits = Post::new("small", &[b'a'; 64]).signed(&named("shopify"), "shopify-secret", NOW);
    assert_eq!(fits.send(&ingest).await.status, StatusCode::ACCEPTED);

    let crm = inlet_core::config::Config::parse(CONFIG)
        .unwrap()
        .source("crm")
        .unwrap()
        .scheme
        .clone();
    let outsider = Post::new("crm", b"{}").signed(&crm, "crm-secret", NOW);
    assert_refused(
        &outsider.send(&ingest).await,
        StatusCode::FORBIDDEN,
        "ip_not_allowed",
    );
    let mut insider = Post::new("crm", b"{}").signed(&crm, "crm-secret", NOW);
    insider.ip = Some("203.0.113.50".parse().unwrap());
    assert_eq!(insider.send(&ingest).await.status, StatusCode::ACCEPTED);
    let mut unknown_address = Post::new("crm", b"{}").signed(&crm, "crm-secret", NOW);
    unknown_address.ip = None;
    assert_refused(
        &unknown_address.send(&ingest).await,
        StatusCode::FORBIDDEN,
        "ip_not_allowed",
    );
}

#[tokio::test]
async fn a_body_that_is_not_what_the_provider_sends_is_malformed() {
    let (ingest, queue) = pipeline(false).await;
    // Invalid UTF-8 inside a string: JSON must be UTF-8, however leniently the rest is read.
    for body in [
        &b"not json"[..],
        b"[1,2]",
        b"{\"id\":",
        b"{\"id\":\"\xff\xfe\"}",
        b"{\"data\":{\"note\":\"caf\xe9\"}}",
    ] {
        let reply = Post::new("stripe", body)
            .signed(&named("stripe"), "whsec_stripe", NOW)
            .send(&ingest)
            .await;
        assert_refused(&reply, StatusCode::BAD_REQUEST, "malformed_body");
    }
    assert!(queue.is_empty());
}

#[tokio::test]
async fn the_queue_being_down_is_a_503_and_nothing_is_acknowledged() {
    let (ingest, queue) = pipeline(false).await;
    queue.set_down(true);
    let reply = github_push(b"{}")
        .signed(&named("github"), "gh-new", NOW)
        .send(&ingest)
        .await;
    assert_refused(&reply, StatusCode::SERVICE_UNAVAILABLE, "queue_unavailable");
    assert_eq!(
        reply.outcome,
        Outcome::Failed {
            code: "queue_unavailable"
        }
    );
    queue.set_down(false);
    let retried = github_push(b"{}")
        .signed(&named("github"), "gh-new", NOW)
        .send(&ingest)
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED);
    assert_eq!(queue.len(), 1);
}

#[tokio::test]
async fn an_envelope_over_the_queue_limit_is_413_even_when_the_body_fits() {
    let (ingest, queue) = pipeline(false).await;
    // Quotes double in JSON escaping: a body just under the limit no longer fits once enveloped.
    let body = vec![b'"'; 1_000_000];
    let reply = Post::new("open", &body).send(&ingest).await;
    assert_refused(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(queue.is_empty());
}

#[tokio::test]
async fn without_a_provider_id_the_key_is_the_body_hash() {
    let (ingest, _) = pipeline(false).await;
    let body = b"{\"n\":1}";
    let reply = Post::new("open", body).send(&ingest).await;
    let expected = format!("open#sha256:{}", hex::encode(inlet_signature::sha256(body)));
    assert_eq!(json(&reply)["id"], expected.as_str());
    // The same body twice gives the same key, so process sees a duplicate.
    let again = Post::new("open", body).send(&ingest).await;
    assert_eq!(json(&again)["id"], expected.as_str());
}

#[tokio::test]
async fn binary_bodies_are_carried_as_base64() {
    let (ingest, queue) = pipeline(false).await;
    let body = [0xff, 0xfe, 0x00, 0x80];
    let reply = Post::new("open", &body).send(&ingest).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let envelope = Envelope::from_json(&queue.messages()[0].body).unwrap();
    assert!(envelope.body.is_none());
    assert_eq!(envelope.body_bytes().unwrap(), body);
}

#[tokio::test]
async fn handshakes_are_answered_after_verification_and_queue_nothing() {
    let (ingest, queue) = pipeline(false).await;
    let slack = Post::new(
        "slack",
        br#"{"type":"url_verification","challenge":"c-123","token":"t"}"#,
    )
    .signed(&named("slack"), "slack-secret", NOW)
    .send(&ingest)
    .await;
    assert_eq!(slack.status, StatusCode::OK);
    assert_eq!(json(&slack), serde_json::json!({"challenge": "c-123"}));

    let forged = Post::new(
        "slack",
        br#"{"type":"url_verification","challenge":"c-123"}"#,
    )
    .signed(&named("slack"), "guess", NOW)
    .send(&ingest)
    .await;
    assert_refused(&forged, StatusCode::UNAUTHORIZED, "signature_mismatch");

    let twitch = Post::new(
        "twitch",
        br#"{"challenge":"pogchamp-kappa-360noscope","subscription":{}}"#,
    )
    .header(
        "twitch-eventsub-message-type",
        "webhook_callback_verification",
    )
    .header(
        "twitch-eventsub-message-id",
        "e76c6bd4-55c9-4987-8304-da1588d8988b",
    )
    .signed(&named("twitch"), "twitch-secret", NOW)
    .send(&ingest)
    .await;
    assert_eq!(twitch.status, StatusCode::OK);
    assert_eq!(twitch.content_type, "text/plain");
    assert_eq!(twitch.body, "pogchamp-kappa-360noscope");

    // Signed, but a challenge message without its challenge: the body is what is wrong, so the
    // answer says so rather than blaming the signature.
    let empty = Post::new("twitch", br#"{"subscription":{}}"#)
        .header(
            "twitch-eventsub-message-type",
            "webhook_callback_verification",
        )
        .header("twitch-eventsub-message-id", "challenge-without-one")
        .signed(&named("twitch"), "twitch-secret", NOW)
        .send(&ingest)
        .await;
    assert_refused(&empty, StatusCode::BAD_REQUEST, "malformed_body");
    assert!(queue.is_empty());
}

#[tokio::test]
async fn fifo_queues_get_a_group_per_source_and_a_stable_deduplication_id() {
    let (ingest, queue) = pipeline(true).await;
    let post = github_push(b"{}").signed(&named("github"), "gh-new", NOW);
    post.send(&ingest).await;
    post.send(&ingest).await;
    let sent = queue.messages();
    let first = sent[0].fifo.clone().unwrap();
    assert_eq!(first.group_id, "github");
    assert!(first.deduplication_id.len() <= 128);
    assert_eq!(sent[1].fifo.as_ref(), Some(&first));
}

#[tokio::test]
async fn outlandish_event_ids_are_replaced_by_their_hash() {
    let (ingest, _) = pipeline(false).await;
    let long_id = "x".repeat(5000);
    let reply = Post::new("github", b"{}")
        .header("x-github-event", "push")
        .header("x-github-delivery", &long_id)
        .signed(&named("github"), "gh-new", NOW)
        .send(&ingest)
        .await;
    let id = json(&reply)["id"].as_str().unwrap().to_owned();
    assert_eq!(
        id,
        format!(
            "github#sha256:{}",
            hex::encode(inlet_signature::sha256(long_id.as_bytes()))
        )
    );
}

#[tokio::test]
async fn a_get_handshake_is_answered_only_with_the_configured_verify_token() {
    let (ingest, queue) = pipeline(false).await;
    let get = |query: &str| Post {
        method: Method::GET,
        query: Some(query.to_owned()),
        ..Post::new("meta", b"")
    };
    let answered =
        get("hub.mode=subscribe&hub.verify_token=meta-verify-token&hub.challenge=1158201444")
            .send(&ingest)
            .await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(answered.body, "1158201444");
    let forged = get("hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1")
        .send(&ingest)
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    // The app secret is not the verify token: one cannot stand in for the other.
    let app_secret = get("hub.mode=subscribe&hub.verify_token=meta-app-secret&hub.challenge=1")
        .send(&ingest)
        .await;
    assert_eq!(app_secret.status, StatusCode::UNAUTHORIZED);
    let bare = get("").send(&ingest).await;
    assert!(bare.status.is_client_error(), "{}", bare.status);
    // A signed POST is still a delivery.
    let delivery = Post::new("meta", br#"{"object":"page","entry":[]}"#)
        .signed(&named("meta"), "meta-app-secret", NOW)
        .send(&ingest)
        .await;
    assert_eq!(delivery.status, StatusCode::ACCEPTED);
    assert_eq!(queue.len(), 1);
}

#[tokio::test]
async fn only_an_enrolment_with_the_token_installs_the_secret_it_hands_over() {
    let (ingest, queue, store) = pipeline_with_store(false).await;
    let enrol = |query: Option<&str>, secret: &str| Post {
        query: query.map(str::to_owned),
        ..Post::new("asana", b"").header("x-hook-secret", secret)
    };
    let events =
        |secret: &str| Post::new("asana", br#"{"events":[]}"#).signed(&named("asana"), secret, NOW);
    // Without the enrolment token, or with a guess, nothing is installed.
    for query in [None, Some("inlet_enrol=guess")] {
        let refused = enrol(query, "attacker-chosen").send(&ingest).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.headers.is_empty());
    }
    assert_eq!(
        events("attacker-chosen").send(&ingest).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        events("asana-secret").send(&ingest).await.status,
        StatusCode::ACCEPTED
    );

    // The secret store down: a 503, so Asana tries again, and nothing changes.
    store.set_down(true);
    let down = enrol(Some("inlet_enrol=asana-enrol"), "asana-new")
        .send(&ingest)
        .await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    store.set_down(false);
    assert_eq!(
        events("asana-new").send(&ingest).await.status,
        StatusCode::UNAUTHORIZED
    );

    // With the token: echoed, kept in the store, and the only secret from then on.
    let enrolled = enrol(Some("inlet_enrol=asana-enrol"), "asana-new")
        .send(&ingest)
        .await;
    assert_eq!(enrolled.status, StatusCode::OK);
    assert_eq!(
        enrolled.headers,
        vec![("x-hook-secret", HeaderValue::from_static("asana-new"))]
    );
    assert_eq!(
        store.secret_string("inlet/asana").await.unwrap(),
        "asana-new"
    );
    assert_eq!(
        events("asana-new").send(&ingest).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        events("asana-secret").send(&ingest).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(queue.len(), 2);
}
