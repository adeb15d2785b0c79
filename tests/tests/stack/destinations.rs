//! Tier 4: the AWS route destinations against the emulator over real SDK calls. Each kind's
//! destination, created as `inlet dev` creates it (`provision_destinations`), delivers one event,
//! read back from a queue: byte-exact for SQS and SNS (raw delivery); for EventBridge, which
//! re-serialises `detail` inside its own event, the same JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use inlet_aws::destinations::AwsDestinations;
use inlet_core::actions::Event;
use inlet_core::actions::destination::{CloudDestinations, Delivery};
use inlet_core::config::{Action, Route};
use inlet_core::envelope::Envelope;
use inlet_local::ProvisionedDestination;
use inlet_testkit::{Emulator, unique};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Text with what JSON and XML escape, and characters beyond ASCII: it must arrive as sent.
const BODY: &str = "{\"action\":\"opened\",\"note\":\"caf\u{e9} <b>&amp;</b> \\\"q\\\"\",\"issue\":{\"number\":7}}\n";
const ACCOUNT: &str = "123456789012";

struct Setup {
    _emulator: Emulator,
    sdk: aws_config::SdkConfig,
    sqs: aws_sdk_sqs::Client,
}

async fn setup() -> Setup {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    Setup {
        _emulator: emulator,
        sdk,
        sqs,
    }
}

fn route(name: &str, action: Action) -> Route {
    Route {
        name: name.into(),
        source: "github".into(),
        events: None,
        when: Vec::new(),
        transform: None,
        action,
        retry_schedule: None,
        rate_limit: None,
    }
}

/// Ingest's span of a provider's trace (W3C Trace Context's example trace id).
const INGEST_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn envelope() -> Envelope {
    let fields = serde_json::json!({
        "v": 1,
        "key": "github#d-1",
        "source": "github",
        "scheme": "github",
        "event_type": "issues",
        "event_id": "d-1",
        "received_at": "2026-01-02T03:04:05.678Z",
        "headers": {"content-type": "application/json"},
        "body": BODY,
        "traceparent": INGEST_TRACEPARENT,
    });
    Envelope::from_json(&fields.to_string()).unwrap()
}

fn delivery<'a>(envelope: &'a Envelope, route: &'a str) -> Delivery<'a> {
    Delivery {
        event: Event {
            envelope,
            body: BODY.as_bytes(),
            message_id: "m-1",
        },
        route,
        body: BODY.as_bytes(),
        transformed: false,
    }
}

/// Creates the routes' destinations; twice, as every `inlet dev` start does.
async fn provision(setup: &Setup, routes: &[Route]) -> Vec<ProvisionedDestination> {
    let first = inlet_local::provision_destinations(routes, &setup.sdk)
        .await
        .unwrap();
    let again = inlet_local::provision_destinations(routes, &setup.sdk)
        .await
        .unwrap();
    assert_eq!(first, again, "creating what exists changes nothing");
    first
}

/// Runs `route`'s destination once for the event.
async fn deliver(setup: &Setup, route: &Route, envelope: &Envelope) {
    AwsDestinations::from_sdk_config(&setup.sdk)
        .build(&route.action)
        .unwrap()
        .deliver(delivery(envelope, &route.name))
        .await
        .unwrap();
}

async fn queue(setup: &Setup, name: &str) -> (String, String) {
    let url = setup
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = setup
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

/// Every message `url` holds, waiting up to a few seconds for the first.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut messages = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        let got = !received.is_empty();
        messages.extend(received);
        if (!got && !messages.is_empty()) || Instant::now() > deadline {
            return messages;
        }
    }
}

fn string_attributes(message: &aws_sdk_sqs::types::Message) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = message
        .message_attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| {
            (
                name.clone(),
                value.string_value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// Every attribute of the delivery of [`envelope`] as queue message `m-1`; its `traceparent` is
/// process's span of the envelope's trace.
fn expected_attributes(route: &str) -> Vec<(String, String)> {
    let traceparent = envelope().trace().for_message("m-1").traceparent();
    assert!(traceparent.starts_with(&format!("00-{TRACE_ID}-")));
    assert_ne!(traceparent, INGEST_TRACEPARENT);
    let mut pairs: Vec<(String, String)> = [
        ("source", "github"),
        ("type", "issues"),
        ("route", route),
        ("event_key", "github#d-1"),
        ("content_type", "application/json"),
        ("traceparent", traceparent.as_str()),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn an_sqs_route_delivers_the_body_byte_exact_with_its_attributes() {
    let setup = setup().await;
    let name = unique("orders");
    // As a deployed config names it: the emulator finds the queue by its name.
    let configured = format!("https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{name}");
    let routes = [route(
        "orders",
        Action::Sqs {
            queue_url: configured.clone(),
            group_pointer: None,
        },
    )];
    let created = provision(&setup, &routes).await;
    let [queue] = &created[..] else {
        panic!("{created:?}")
    };
    assert_eq!(
        (queue.kind, queue.configured.as_str()),
        ("sqs", configured.as_str())
    );
    assert!(
        queue.created.ends_with(&format!("/{ACCOUNT}/{name}")),
        "{queue:?}"
    );
    assert_eq!(queue.warning(), None);

    let envelope = envelope();
    deliver(&setup, &routes[0], &envelope).await;
    let messages = drain(&setup.sqs, &queue.created).await;
    let [message] = &messages[..] else {
        panic!("{} messages", messages.len())
    };
    assert_eq!(message.body(), Some(BODY));
    assert_eq!(string_attributes(message), expected_attributes("orders"));
}

#[tokio::test]
async fn a_fifo_queue_route_groups_by_the_pointer_and_takes_one_message_per_event_and_route() {
    let setup = setup().await;
    let name = format!("{}.fifo", unique("ordered"));
    let url = format!("https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{name}");
    let fifo = |route_name: &str| {
        route(
            route_name,
            Action::Sqs {
                queue_url: url.clone(),
                group_pointer: Some("/issue/number".into()),
            },
        )
    };
    let routes = [fifo("first"), fifo("second")];
    let created = provision(&setup, &routes).await;
    let attributes = setup
        .sqs
        .get_queue_attributes()
        .queue_url(&created[0].created)
        .attribute_names(QueueAttributeName::FifoQueue)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        attributes
            .get(&QueueAttributeName::FifoQueue)
            .map(String::as_str),
        Some("true")
    );

    let envelope = envelope();
    // A retry of a delivery SQS already took is dropped; another route's is not.
    for route in [&routes[0], &routes[0], &routes[1]] {
        deliver(&setup, route, &envelope).await;
    }
    let messages = drain(&setup.sqs, &created[0].created).await;
    let seen: Vec<(String, String)> = messages
        .iter()
        .map(|m| {
            let system: HashMap<_, _> = m.attributes().cloned().unwrap_or_default();
            assert_eq!(
                system
                    .get(&MessageSystemAttributeName::MessageGroupId)
                    .map(String::as_str),
                Some("7")
            );
            assert_eq!(m.body(), Some(BODY));
            let route = string_attributes(m)
                .into_iter()
                .find(|(k, _)| k == "route")
                .unwrap()
                .1;
            let dedup = system
                .get(&MessageSystemAttributeName::MessageDeduplicationId)
                .cloned()
                .unwrap_or_default();
            (route, dedup)
        })
        .collect();
    let routes_seen: Vec<&str> = seen.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(routes_seen, ["first", "second"], "{seen:?}");
    assert_ne!(seen[0].1, seen[1].1);
}

#[tokio::test]
async fn an_sns_route_reaches_a_subscribed_queue_byte_exact() {
    let setup = setup().await;
    let sns = aws_sdk_sns::Client::new(&setup.sdk);
    let topic = unique("events");
    let routes = [route(
        "fanout",
        Action::Sns {
            topic_arn: format!("arn:aws:sns:us-east-1:{ACCOUNT}:{topic}"),
        },
    )];
    let created = provision(&setup, &routes).await;
    assert_eq!(created[0].created, created[0].configured);
    assert_eq!(created[0].warning(), None);
    let (url, arn) = queue(&setup, &unique("subscriber")).await;
    sns.subscribe()
        .topic_arn(&created[0].created)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();

    let envelope = envelope();
    deliver(&setup, &routes[0], &envelope).await;
    let messages = drain(&setup.sqs, &url).await;
    let [message] = &messages[..] else {
        panic!("{} messages", messages.len())
    };
    assert_eq!(message.body(), Some(BODY));
    assert_eq!(string_attributes(message), expected_attributes("fanout"));
}

#[tokio::test]
async fn an_eventbridge_route_reaches_a_rules_queue() {
    let setup = setup().await;
    let events = aws_sdk_eventbridge::Client::new(&setup.sdk);
    let bus = unique("audit");
    let routes = [route("audit", Action::EventBridge { bus: bus.clone() })];
    let created = provision(&setup, &routes).await;
    assert_eq!(
        created[0].created,
        format!("arn:aws:events:us-east-1:{ACCOUNT}:event-bus/{bus}")
    );
    let (url, arn) = queue(&setup, &unique("audit-target")).await;
    let rule = unique("inlet-events");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        // Matched on the trace, as a rule that follows one trace would be.
        .event_pattern(format!(
            r#"{{"source":[{{"prefix":"inlet."}}],"resources":["inlet:trace/{TRACE_ID}"]}}"#
        ))
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let envelope = envelope();
    deliver(&setup, &routes[0], &envelope).await;
    let messages = drain(&setup.sqs, &url).await;
    let [message] = &messages[..] else {
        panic!("{} messages", messages.len())
    };
    let event: serde_json::Value = serde_json::from_str(message.body().unwrap()).unwrap();
    assert_eq!(event["source"], "inlet.github");
    assert_eq!(event["detail-type"], "issues");
    assert_eq!(
        event["resources"],
        serde_json::json!([format!("inlet:trace/{TRACE_ID}")])
    );
    let sent: serde_json::Value = serde_json::from_str(BODY).unwrap();
    assert_eq!(event["detail"], sent);
}
