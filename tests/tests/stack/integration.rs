//! Tier 4: the pipelines against the emulator over real SDK calls — queue, redrive, conditional
//! writes, leases, a route's attempts kept in its claim, dead letters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_aws::{DynamoStore, SqsQueue};
use inlet_core::actions::{ActionError, Event, Handler};
use inlet_core::config::Config;
use inlet_core::config::{ProcessSettings, RetrySchedule};
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Ingest, IngestRequest};
use inlet_core::ports::memory::MemorySecrets;
use inlet_core::ports::{Claim, ClaimOutcome, IdempotencyStore, Progress, StoreError};
use inlet_core::process::{Process, RecordOutcome};
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use inlet_local::{self as local, StackSettings};
use inlet_signature::Delivery;
use inlet_testkit::providers::named;
use inlet_testkit::{Emulator, unique};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// A failing route's attempts, kept in its claim, and its `retries_exhausted` dead letter.
mod route_retries;
// One trace from the provider (or X-Ray) through the queue to the forward target.
mod traces;

struct Stack {
    _emulator: Emulator,
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    stack: local::Stack,
    settings: StackSettings,
}

async fn stack(max_receive_count: u32) -> Stack {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let s3 = inlet_aws::s3_client(&sdk);
    let settings = StackSettings {
        queue_name: unique("events"),
        dead_letter_queue_name: unique("dlq"),
        table_name: unique("claims"),
        // Short, so redrive tests do not wait minutes for a record to come back.
        visibility_timeout_secs: 1,
        max_receive_count,
        ..StackSettings::default()
    };
    let stack = local::provision(&sqs, &dynamodb, &s3, &settings)
        .await
        .unwrap();
    Stack {
        _emulator: emulator,
        sqs,
        dynamodb,
        stack,
        settings,
    }
}

/// Records every key it runs; fails as scripted.
#[derive(Default)]
struct Recorder {
    ran: Mutex<Vec<String>>,
    fail: Option<ActionError>,
}

impl Handler for Recorder {
    async fn handle(&self, _route: &str, event: Event<'_>) -> Result<(), ActionError> {
        self.ran.lock().unwrap().push(event.envelope.key.clone());
        match &self.fail {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }
}

const GITHUB: &str = "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n";

async fn ingest(stack: &Stack) -> Ingest<SqsQueue, MemorySecrets> {
    let config = Config::parse(GITHUB).unwrap();
    let env = Env::Map([("GH".to_owned(), "s3cret".to_owned())].into());
    let keys = KeyRing::load(&config, SecretResolver::new(env, MemorySecrets::default()))
        .await
        .unwrap();
    Ingest::new(
        config,
        keys,
        SqsQueue::new(stack.sqs.clone(), &stack.stack.queue_url),
        false,
    )
}

async fn deliver(ingest: &Ingest<SqsQueue, MemorySecrets>, delivery_id: &str, body: &[u8]) -> u16 {
    deliver_with(ingest, delivery_id, body, http::HeaderMap::new(), None).await
}

/// A signed GitHub push with `headers` of its own beside the signature, received by an
/// invocation whose X-Ray trace header is `xray_trace`.
async fn deliver_with(
    ingest: &Ingest<SqsQueue, MemorySecrets>,
    delivery_id: &str,
    body: &[u8],
    mut headers: http::HeaderMap,
    xray_trace: Option<&str>,
) -> u16 {
    headers.insert("x-github-event", "push".parse().unwrap());
    headers.insert("x-github-delivery", delivery_id.parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let key = named("github").key("s3cret").unwrap();
    for (name, value) in named("github")
        .sign(
            &Delivery {
                headers: &headers,
                body,
                url: None,
                method: "POST",
                query: None,
            },
            &key,
            0,
        )
        .unwrap()
    {
        headers.insert(name, value);
    }
    let request = IngestRequest {
        method: &http::Method::POST,
        source: Some("github"),
        query: None,
        headers: &headers,
        body,
        source_ip: None,
        xray_trace,
    };
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    ingest.handle(&request, now_ms).await.status.as_u16()
}

/// A failing route is tried three times, a second apart; a fault of the pipeline's own comes
/// back after a second too.
fn process<H: Handler>(stack: &Stack, handler: H) -> Process<DynamoStore, SqsQueue, SqsQueue, H> {
    let settings = ProcessSettings {
        retry_base_secs: 1,
        retry_max_secs: 1,
        retry_schedule: RetrySchedule::new(vec![1, 1]).unwrap(),
        ..ProcessSettings::default()
    };
    Process::new(
        DynamoStore::new(stack.dynamodb.clone(), &stack.stack.table_name),
        SqsQueue::new(stack.sqs.clone(), &stack.stack.dead_letter_queue_url),
        SqsQueue::new(stack.sqs.clone(), &stack.stack.queue_url),
        handler,
        settings,
    )
}

/// Polls until the queue is drained or `rounds` polls have passed.
async fn drain<H: Handler>(
    stack: &Stack,
    process: &Process<DynamoStore, SqsQueue, SqsQueue, H>,
    rounds: usize,
) {
    for _ in 0..rounds {
        local::poll_once(
            &stack.sqs,
            &stack.stack.queue_url,
            process,
            &stack.settings,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        if local::depth(&stack.sqs, &stack.stack.queue_url)
            .await
            .unwrap()
            == (0, 0)
        {
            return;
        }
    }
}

#[tokio::test]
async fn an_ingested_delivery_is_queued_as_an_envelope_with_attributes() {
    let stack = stack(5).await;
    let ingest = ingest(&stack).await;
    assert_eq!(deliver(&ingest, "d-1", br#"{"ref":"main"}"#).await, 202);
    let received = stack
        .sqs
        .receive_message()
        .queue_url(&stack.stack.queue_url)
        .message_attribute_names("All")
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let message = &received.messages.unwrap()[0];
    let envelope = Envelope::from_json(message.body.as_deref().unwrap()).unwrap();
    assert_eq!(envelope.key, "github#d-1");
    assert_eq!(envelope.body_bytes().unwrap(), br#"{"ref":"main"}"#);
    let attributes = message.message_attributes.as_ref().unwrap();
    assert_eq!(attributes["source"].string_value(), Some("github"));
    assert_eq!(attributes["event_type"].string_value(), Some("push"));
}

#[tokio::test]
async fn every_conditional_write_branch_against_the_emulator() {
    let stack = stack(5).await;
    let store = DynamoStore::new(stack.dynamodb.clone(), &stack.stack.table_name);
    let claim = |token: &str, sha: &str, now: i64| Claim {
        key: "github#k".into(),
        token: token.into(),
        payload_sha256: sha.into(),
        now,
        lease_until: now + 30,
        expires_at: now + 3600,
        attempts: 1,
        first_seen: "2026-11-22T13:00:00.000Z".into(),
    };
    assert_eq!(
        store.claim(&claim("a", "h1", 1000)).await,
        Ok(ClaimOutcome::New {
            progress: Progress::default()
        })
    );
    assert_eq!(
        store.claim(&claim("b", "h1", 1001)).await,
        Ok(ClaimOutcome::Busy)
    );
    assert_eq!(
        store.claim(&claim("b", "h2", 1001)).await,
        Ok(ClaimOutcome::Conflict {
            recorded_sha256: "h1".into()
        })
    );
    // The lease ran out (the claimer crashed): another claimer takes over, and the first has lost it.
    assert_eq!(
        store.claim(&claim("c", "h1", 1031)).await,
        Ok(ClaimOutcome::New {
            progress: Progress::default()
        })
    );
    assert_eq!(
        store.complete("github#k", "a", 1032, 5000).await,
        Err(StoreError::ClaimLost)
    );
    assert_eq!(store.complete("github#k", "c", 1032, 5000).await, Ok(()));
    assert_eq!(
        store.claim(&claim("d", "h1", 9999)).await,
        Ok(ClaimOutcome::Duplicate)
    );
    assert_eq!(
        store.release("github#k", "d", &Progress::default()).await,
        Err(StoreError::ClaimLost)
    );

    let item = stack
        .dynamodb
        .get_item()
        .table_name(&stack.stack.table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("github#k".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["status"].as_s().unwrap(), "COMPLETED");
    assert_eq!(item["expires_at"].as_n().unwrap(), "5000");
    assert!(!item.contains_key("lease_until"));

    assert_eq!(
        store
            .claim(&Claim {
                key: "github#r".into(),
                ..claim("e", "h1", 1000)
            })
            .await,
        Ok(ClaimOutcome::New {
            progress: Progress::default()
        })
    );
    assert_eq!(
        store.release("github#r", "e", &Progress::default()).await,
        Ok(())
    );
    assert_eq!(
        store
            .claim(&Claim {
                key: "github#r".into(),
                ..claim("f", "h1", 1000)
            })
            .await,
        Ok(ClaimOutcome::New {
            progress: Progress::default()
        })
    );
}

/// A string set of an item, sorted; `None` when the item has no such attribute.
fn set(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    name: &str,
) -> Option<Vec<String>> {
    item.get(name).map(|value| {
        let mut names = value.as_ss().unwrap().clone();
        names.sort();
        names
    })
}

/// Fan-out progress in the record (architecture.md § Idempotency record), on the emulator's
/// DynamoDB: a release with routes settled leaves the item `PARTIAL` with its string sets; the
/// next claim of the same payload takes it at once (no lease to wait out) and gets the sets back
/// from `ReturnValues = ALL_OLD`; another payload is a conflict; once completed, a duplicate. An
/// abandoned claim whose lease ran out is taken over with its sets; an empty set is removed.
#[tokio::test]
async fn route_progress_survives_a_release_and_comes_back_with_the_next_claim() {
    let stack = stack(5).await;
    let store = DynamoStore::new(stack.dynamodb.clone(), &stack.stack.table_name);
    let claim = |key: &str, token: &str, sha: &str, now: i64| Claim {
        key: key.into(),
        token: token.into(),
        payload_sha256: sha.into(),
        now,
        lease_until: now + 30,
        expires_at: now + 3600,
        attempts: 1,
        first_seen: format!("first seen by {token}"),
    };
    let routes = |names: &[&str]| names.iter().map(|&name| name.to_owned()).collect();
    let progress = |done: &[&str], dead: &[&str]| Progress {
        done: routes(done),
        dead: routes(dead),
        waiting: Default::default(),
    };
    let item = |key: &str| {
        let table = stack.stack.table_name.clone();
        let dynamodb = stack.dynamodb.clone();
        let key = key.to_owned();
        async move {
            dynamodb
                .get_item()
                .table_name(table)
                .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(key))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
                .unwrap()
        }
    };

    // Claimed, one route delivered and one dead-lettered, then released for the third's retry.
    assert_eq!(
        store.claim(&claim("github#p", "a", "h1", 1000)).await,
        Ok(ClaimOutcome::New {
            progress: Progress::default()
        })
    );
    let settled = progress(&["a"], &["b"]);
    assert_eq!(store.release("github#p", "a", &settled).await, Ok(()));
    let released = item("github#p").await;
    assert_eq!(released["status"].as_s().unwrap(), "PARTIAL");
    assert!(!released.contains_key("lease_until"));
    assert_eq!(set(&released, "done_routes"), Some(vec!["a".to_owned()]));
    assert_eq!(set(&released, "dead_routes"), Some(vec!["b".to_owned()]));

    // Another payload under the key: a conflict, and the record is left as it was.
    assert_eq!(
        store.claim(&claim("github#p", "x", "h2", 1001)).await,
        Ok(ClaimOutcome::Conflict {
            recorded_sha256: "h1".into()
        })
    );
    // The same payload, well inside the first claim's lease (1030): claimed at once, with the
    // settled routes. The update keeps the first `first_seen`.
    assert_eq!(
        store.claim(&claim("github#p", "b", "h1", 1001)).await,
        Ok(ClaimOutcome::New {
            progress: settled.clone()
        })
    );
    let claimed = item("github#p").await;
    assert_eq!(claimed["status"].as_s().unwrap(), "IN_PROGRESS");
    assert_eq!(claimed["token"].as_s().unwrap(), "b");
    assert_eq!(claimed["lease_until"].as_n().unwrap(), "1031");
    assert_eq!(claimed["first_seen"].as_s().unwrap(), "first seen by a");
    assert_eq!(set(&claimed, "done_routes"), Some(vec!["a".to_owned()]));
    // Now the live lease is b's; the first claimer has lost it.
    assert_eq!(
        store.claim(&claim("github#p", "c", "h1", 1002)).await,
        Ok(ClaimOutcome::Busy)
    );
    assert_eq!(
        store.release("github#p", "a", &settled).await,
        Err(StoreError::ClaimLost)
    );
    assert_eq!(store.complete("github#p", "b", 1003, 5000).await, Ok(()));
    assert_eq!(
        store.claim(&claim("github#p", "d", "h1", 1004)).await,
        Ok(ClaimOutcome::Duplicate)
    );
    assert_eq!(
        store.claim(&claim("github#p", "d", "h2", 1004)).await,
        Ok(ClaimOutcome::Conflict {
            recorded_sha256: "h1".into()
        })
    );

    // A claimer that released with progress, then a claimer that crashed: the item is
    // IN_PROGRESS with a lease and the sets. Busy until the lease runs out, then taken over with
    // the sets.
    assert_eq!(
        store.claim(&claim("github#q", "e", "h1", 1000)).await,
        Ok(ClaimOutcome::New {
            progress: Progress::default()
        })
    );
    let both = progress(&["a", "c"], &["b"]);
    assert_eq!(store.release("github#q", "e", &both).await, Ok(()));
    assert_eq!(
        store.claim(&claim("github#q", "f", "h1", 1001)).await,
        Ok(ClaimOutcome::New {
            progress: both.clone()
        })
    );
    assert_eq!(
        store.claim(&claim("github#q", "g", "h1", 1030)).await,
        Ok(ClaimOutcome::Busy)
    );
    assert_eq!(
        store.claim(&claim("github#q", "g", "h1", 1032)).await,
        Ok(ClaimOutcome::New {
            progress: both.clone()
        })
    );
    // g settles more, and `b` is no longer dead (say a redrive ran it): the emptied set goes.
    let more = progress(&["a", "b", "c"], &[]);
    assert_eq!(store.release("github#q", "g", &more).await, Ok(()));
    let released = item("github#q").await;
    assert_eq!(released["status"].as_s().unwrap(), "PARTIAL");
    assert_eq!(
        set(&released, "done_routes"),
        Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
    );
    assert_eq!(set(&released, "dead_routes"), None);
    assert_eq!(
        store.claim(&claim("github#q", "h", "h1", 1033)).await,
        Ok(ClaimOutcome::New { progress: more })
    );
    // Released with nothing settled: the record goes.
    assert_eq!(
        store.release("github#q", "h", &Progress::default()).await,
        Ok(())
    );
    let gone = stack
        .dynamodb
        .get_item()
        .table_name(&stack.stack.table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("github#q".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(gone.item.is_none());
}

#[tokio::test]
async fn queued_deliveries_are_processed_once_even_when_sent_twice() {
    let stack = stack(5).await;
    let ingest = ingest(&stack).await;
    for _ in 0..3 {
        assert_eq!(deliver(&ingest, "d-twice", b"{}").await, 202);
    }
    let recorder = Arc::new(Recorder::default());
    let process = process(&stack, Arc::clone(&recorder));
    drain(&stack, &process, 10).await;
    assert_eq!(*recorder.ran.lock().unwrap(), vec!["github#d-twice"]);
}

#[tokio::test]
async fn permanent_failures_are_dead_lettered_at_once_and_redrive_brings_them_back_once() {
    let stack = stack(5).await;
    let ingest = ingest(&stack).await;
    assert_eq!(deliver(&ingest, "d-perm", b"{}").await, 202);
    stack
        .sqs
        .send_message()
        .queue_url(&stack.stack.queue_url)
        .message_body("not an envelope")
        .send()
        .await
        .unwrap();
    let failing = process(
        &stack,
        Recorder {
            fail: Some(ActionError::Permanent("404".into())),
            ..Recorder::default()
        },
    );
    let poll = local::poll_once(
        &stack.sqs,
        &stack.stack.queue_url,
        &failing,
        &stack.settings,
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    let outcomes: Vec<_> = poll
        .outcome
        .unwrap()
        .outcomes
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    assert!(outcomes.contains(&RecordOutcome::DeadLettered {
        reason: "action_failed"
    }));
    assert!(outcomes.contains(&RecordOutcome::DeadLettered {
        reason: "unparseable_envelope"
    }));
    assert_eq!(
        local::depth(&stack.sqs, &stack.stack.queue_url)
            .await
            .unwrap(),
        (0, 0)
    );

    let letters = local::peek(&stack.sqs, &stack.stack.dead_letter_queue_url, 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 2);
    let github = letters
        .iter()
        .find(|l| l.source().as_deref() == Some("github"))
        .unwrap();
    assert_eq!(github.attributes["reason"], "action_failed");
    assert!(github.attributes.contains_key("failed_at"));

    let would = local::redrive(
        &stack.sqs,
        &stack.stack.dead_letter_queue_url,
        &stack.stack.queue_url,
        Some("github"),
        true,
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(would, 1);
    assert_eq!(
        local::depth(&stack.sqs, &stack.stack.queue_url)
            .await
            .unwrap(),
        (0, 0),
        "a dry run moves nothing"
    );

    let moved = local::redrive(
        &stack.sqs,
        &stack.stack.dead_letter_queue_url,
        &stack.stack.queue_url,
        Some("github"),
        false,
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(moved, 1);
    let recorder = Arc::new(Recorder::default());
    let fixed = process(&stack, Arc::clone(&recorder));
    drain(&stack, &fixed, 5).await;
    assert_eq!(*recorder.ran.lock().unwrap(), vec!["github#d-perm"]);
    // The unreadable one is still there: it was not the chosen source.
    assert_eq!(
        local::peek(&stack.sqs, &stack.stack.dead_letter_queue_url, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Asana's handshake hands its signing secret over: with the enrolment token it is written to
/// Secrets Manager (a real PutSecretValue on the emulator) and verifies the next delivery;
/// without the token nothing is written.
#[tokio::test]
async fn an_enrolled_secret_is_kept_in_secrets_manager() {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let id = unique("inlet-asana");
    secrets
        .create_secret()
        .name(&id)
        .secret_string("pending-enrolment")
        .send()
        .await
        .unwrap();
    let config = Config::parse(&format!(
        "[sources.asana]\nscheme = \"asana\"\nsecrets = [\"secretsmanager:{id}\"]\n\
         handshake_secret = \"env:ENROL\"\n"
    ))
    .unwrap();
    let env = Env::Map([("ENROL".to_owned(), "enrol-7c1".to_owned())].into());
    let store = inlet_aws::SecretsManager::new(secrets.clone());
    let keys = KeyRing::load(&config, SecretResolver::new(env, store))
        .await
        .unwrap();
    let queue = inlet_core::ports::memory::MemoryQueue::new();
    let ingest = Ingest::new(config, keys, queue.clone(), false);
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    let send = |headers: http::HeaderMap, query: Option<&'static str>, body: &'static [u8]| {
        let ingest = &ingest;
        async move {
            let request = IngestRequest {
                method: &http::Method::POST,
                source: Some("asana"),
                query,
                headers: &headers,
                body,
                source_ip: None,
                xray_trace: None,
            };
            ingest.handle(&request, now_ms).await
        }
    };
    let handshake = || {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-hook-secret", "asana-handed-over".parse().unwrap());
        headers
    };
    let stored = || async {
        secrets
            .get_secret_value()
            .secret_id(&id)
            .send()
            .await
            .unwrap()
            .secret_string
            .unwrap()
    };

    let refused = send(handshake(), Some("inlet_enrol=guess"), b"").await;
    assert_eq!(refused.status.as_u16(), 401);
    assert_eq!(stored().await, "pending-enrolment");

    let enrolled = send(handshake(), Some("inlet_enrol=enrol-7c1"), b"").await;
    assert_eq!(enrolled.status.as_u16(), 200, "{}", enrolled.body);
    assert_eq!(stored().await, "asana-handed-over");

    let body: &'static [u8] = br#"{"events":[{"action":"changed"}]}"#;
    let mut headers = http::HeaderMap::new();
    let key = named("asana").key("asana-handed-over").unwrap();
    for (name, value) in named("asana")
        .sign(&Delivery::post(&headers, body), &key, 0)
        .unwrap()
    {
        headers.insert(name, value);
    }
    assert_eq!(send(headers, None, body).await.status.as_u16(), 202);
    assert_eq!(queue.len(), 1);
}
