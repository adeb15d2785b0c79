//! The AWS route destinations against mocked AWS answers: the exact request each delivery makes
//! (one per delivery), and how every answer maps to transient or permanent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_sdk_sqs::operation::send_message::SendMessageOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use base64::Engine as _;
use inlet_aws::destinations::AwsDestinations;
use inlet_core::actions::destination::{CloudDestinations, Delivery, Destination};
use inlet_core::actions::{ActionError, Event};
use inlet_core::config::Action;
use inlet_core::envelope::Envelope;
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::Arc;

const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/orders";
const FIFO_QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:events";
const FIFO_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:events.fifo";
const BUS: &str = "audit";
/// A body no error message may repeat.
const BODY: &[u8] = br#"{"action":"opened","issue":{"number":7},"secret":"BODY-MARKER"}"#;

fn envelope(event_type: Option<&str>, replay: Option<&str>) -> Envelope {
    let mut fields = serde_json::json!({
        "v": 1,
        "key": "github#d-1",
        "source": "github",
        "scheme": "github",
        "event_id": "d-1",
        "received_at": "2026-01-02T03:04:05.678Z",
        "headers": {"content-type": "application/json", "x-github-event": "issues"},
        "body": std::str::from_utf8(BODY).unwrap(),
    });
    if let Some(event_type) = event_type {
        fields["event_type"] = event_type.into();
    }
    if let Some(replay) = replay {
        fields["replay"] = replay.into();
    }
    Envelope::from_json(&fields.to_string()).unwrap()
}

/// The `traceparent` every destination sends for [`delivery`]: process's span (for message
/// `m-1`) of the trace the envelope's key gives it, as it carries none.
fn traceparent() -> String {
    envelope(None, None)
        .trace()
        .for_message("m-1")
        .traceparent()
}

fn delivery<'a>(envelope: &'a Envelope, body: &'a [u8]) -> Delivery<'a> {
    Delivery {
        event: Event {
            envelope,
            body: BODY,
            message_id: "m-1",
        },
        route: "triage",
        body,
        transformed: false,
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A client's answers without retries: every error is seen as AWS sent it, once.
fn sqs_client(rules: &[&Rule]) -> aws_sdk_sqs::Client {
    mock_client!(
        aws_sdk_sqs,
        RuleMode::Sequential,
        rules.iter().copied(),
        |c| c.retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
    )
}

fn sns_client(rules: &[&Rule]) -> aws_sdk_sns::Client {
    mock_client!(
        aws_sdk_sns,
        RuleMode::Sequential,
        rules.iter().copied(),
        |c| c.retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
    )
}

fn eventbridge_client(rules: &[&Rule]) -> aws_sdk_eventbridge::Client {
    mock_client!(
        aws_sdk_eventbridge,
        RuleMode::Sequential,
        rules.iter().copied(),
        |c| c.retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::disabled())
    )
}

fn sqs(
    client: aws_sdk_sqs::Client,
    queue_url: &str,
    pointer: Option<&str>,
) -> Arc<dyn Destination> {
    AwsDestinations::default()
        .with_sqs(client)
        .build(&Action::Sqs {
            queue_url: queue_url.to_owned(),
            group_pointer: pointer.map(str::to_owned),
        })
        .unwrap()
}

fn sns(client: aws_sdk_sns::Client, topic_arn: &str) -> Arc<dyn Destination> {
    AwsDestinations::default()
        .with_sns(client)
        .build(&Action::Sns {
            topic_arn: topic_arn.to_owned(),
        })
        .unwrap()
}

fn eventbridge(client: aws_sdk_eventbridge::Client, bus: &str) -> Arc<dyn Destination> {
    AwsDestinations::default()
        .with_eventbridge(client)
        .build(&Action::EventBridge {
            bus: bus.to_owned(),
        })
        .unwrap()
}

/// String attributes as (name → value), each checked to be of type String.
fn strings<'a, V>(
    attributes: Option<&'a HashMap<String, V>>,
    read: impl Fn(&'a V) -> (&'a str, Option<&'a str>),
) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = attributes
        .into_iter()
        .flatten()
        .map(|(name, value)| {
            let (data_type, text) = read(value);
            assert_eq!(data_type, "String", "{name}");
            (name.clone(), text.unwrap_or_default().to_owned())
        })
        .collect();
    pairs.sort();
    pairs
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn sqs_attributes(
    input: &aws_sdk_sqs::operation::send_message::SendMessageInput,
) -> Vec<(String, String)> {
    strings(input.message_attributes(), |v| {
        (v.data_type(), v.string_value())
    })
}

fn sns_attributes(input: &aws_sdk_sns::operation::publish::PublishInput) -> Vec<(String, String)> {
    strings(input.message_attributes(), |v| {
        (v.data_type(), v.string_value())
    })
}

/// An AWS answer on the wire, so the SDK's own error parsing runs.
fn http(status: u16, content_type: &str, body: &str, headers: &[(&'static str, &str)]) -> Response {
    let mut response = Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    );
    response
        .headers_mut()
        .insert("content-type", content_type.to_owned());
    for (name, value) in headers {
        response.headers_mut().insert(*name, (*value).to_owned());
    }
    response
}

fn assert_transient(result: Result<(), ActionError>, target: &str, code: &str) {
    match result {
        Err(ActionError::Transient(message)) => assert_names(&message, target, code),
        other => panic!("{code}: expected transient, got {other:?}"),
    }
}

/// Throttled, with no delay of AWS's own: the route's schedule decides when to try again.
fn assert_throttled(result: Result<(), ActionError>, target: &str, code: &str) {
    match result {
        Err(ActionError::Throttled {
            message,
            retry_after_secs: None,
        }) => assert_names(&message, target, code),
        other => panic!("{code}: expected throttled, got {other:?}"),
    }
}

fn assert_permanent(result: Result<(), ActionError>, target: &str, code: &str) {
    match result {
        Err(ActionError::Permanent(message)) => assert_names(&message, target, code),
        other => panic!("{code}: expected permanent, got {other:?}"),
    }
}

fn assert_names(message: &str, target: &str, code: &str) {
    assert!(message.contains(target), "{message} does not name {target}");
    assert!(message.contains(code), "{message} does not name {code}");
    assert!(
        !message.contains("BODY-MARKER"),
        "{message} repeats the body"
    );
}

// ---- sqs ----

#[tokio::test]
async fn sqs_sends_the_body_as_it_is_with_the_event_attributes_once() {
    let rule = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(|req| {
            req.queue_url() == Some(QUEUE)
                && req.message_body() == Some(std::str::from_utf8(BODY).unwrap())
                && sqs_attributes(req)
                    == pairs(&[
                        ("source", "github"),
                        ("type", "issues"),
                        ("route", "triage"),
                        ("event_key", "github#d-1"),
                        ("content_type", "application/json"),
                        ("traceparent", &traceparent()),
                    ])
                && req.message_group_id().is_none()
                && req.message_deduplication_id().is_none()
        })
        .then_output(|| SendMessageOutput::builder().message_id("m-2").build());
    let destination = sqs(sqs_client(&[&rule]), QUEUE, None);
    let envelope = envelope(Some("issues"), None);
    destination
        .deliver(delivery(&envelope, BODY))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn sqs_sends_bodies_it_would_refuse_as_text_in_base64_and_says_so() {
    let binary: &[u8] = b"\x00\x01\xff GIF89a";
    let control: &[u8] = b"line\x07bell";
    let expected_binary = base64::engine::general_purpose::STANDARD.encode(binary);
    let expected_control = base64::engine::general_purpose::STANDARD.encode(control);
    let rule = |expected: String| {
        mock!(aws_sdk_sqs::Client::send_message)
            .match_requests(move |req| {
                let attributes = sqs_attributes(req);
                req.message_body() == Some(expected.as_str())
                    && attributes.contains(&(
                        "content_transfer_encoding".to_owned(),
                        "base64".to_owned(),
                    ))
                    // No event type: no `type` attribute at all.
                    && !attributes.iter().any(|(name, _)| name == "type")
            })
            .then_output(|| SendMessageOutput::builder().message_id("m").build())
    };
    let (first, second) = (rule(expected_binary), rule(expected_control));
    let destination = sqs(sqs_client(&[&first, &second]), QUEUE, None);
    let envelope = envelope(None, None);
    destination
        .deliver(delivery(&envelope, binary))
        .await
        .unwrap();
    destination
        .deliver(delivery(&envelope, control))
        .await
        .unwrap();
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn sqs_fifo_groups_by_the_event_key_and_deduplicates_per_event_and_route() {
    let replayed = sha256_hex("replay:run-1:github#d-1\ntriage");
    let rule = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(move |req| {
            let attributes = sqs_attributes(req);
            req.queue_url() == Some(FIFO_QUEUE)
                && req.message_group_id() == Some("github#d-1")
                && req.message_deduplication_id() == Some(replayed.as_str())
                && attributes.contains(&("event_key".into(), "replay:run-1:github#d-1".into()))
                && attributes.contains(&("replay".into(), "run-1".into()))
        })
        .then_output(|| SendMessageOutput::builder().message_id("m").build());
    let first = sha256_hex("github#d-1\ntriage");
    let original = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(move |req| {
            req.message_group_id() == Some("github#d-1")
                && req.message_deduplication_id() == Some(first.as_str())
        })
        .then_output(|| SendMessageOutput::builder().message_id("m").build());
    let destination = sqs(sqs_client(&[&original, &rule]), FIFO_QUEUE, None);
    let plain = envelope(Some("issues"), None);
    destination.deliver(delivery(&plain, BODY)).await.unwrap();
    let replay = envelope(Some("issues"), Some("run-1"));
    destination.deliver(delivery(&replay, BODY)).await.unwrap();
    assert_eq!((original.num_calls(), rule.num_calls()), (1, 1));
}

#[tokio::test]
async fn sqs_fifo_groups_by_the_value_at_the_pointer_or_refuses_naming_it() {
    let by_string = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(|req| req.message_group_id() == Some("opened"))
        .then_output(|| SendMessageOutput::builder().message_id("m").build());
    let by_number = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(|req| req.message_group_id() == Some("7"))
        .then_output(|| SendMessageOutput::builder().message_id("m").build());
    let client = sqs_client(&[&by_string, &by_number]);
    let envelope = envelope(Some("issues"), None);
    sqs(client.clone(), FIFO_QUEUE, Some("/action"))
        .deliver(delivery(&envelope, BODY))
        .await
        .unwrap();
    sqs(client.clone(), FIFO_QUEUE, Some("/issue/number"))
        .deliver(delivery(&envelope, BODY))
        .await
        .unwrap();
    assert_eq!((by_string.num_calls(), by_number.num_calls()), (1, 1));

    // Nothing is sent for these: the mock has no rule left to answer.
    for (pointer, body) in [
        ("/missing", BODY),
        ("/issue", BODY),
        ("/action", &b"not json"[..]),
        ("/action", br#"{"action":"has space"}"#),
    ] {
        let result = sqs(client.clone(), FIFO_QUEUE, Some(pointer))
            .deliver(delivery(&envelope, body))
            .await;
        match result {
            Err(ActionError::Permanent(message)) => {
                assert!(message.contains(pointer), "{message}");
                assert!(message.contains(FIFO_QUEUE), "{message}");
            }
            other => panic!("{pointer}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_transformed_body_is_sent_as_json() {
    let rule = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(|req| {
            req.message_body() == Some(r#"{"n":7}"#)
                && sqs_attributes(req).contains(&("content_type".into(), "application/json".into()))
        })
        .then_output(|| SendMessageOutput::builder().message_id("m").build());
    let destination = sqs(sqs_client(&[&rule]), QUEUE, None);
    let envelope = envelope(None, None);
    let mut transformed = delivery(&envelope, br#"{"n":7}"#);
    transformed.transformed = true;
    destination.deliver(transformed).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

const SQS_JSON: &str = "application/x-amz-json-1.0";

/// SQS's JSON answer for `code` (the query-compatible code in its header, as SQS sends it).
fn sqs_error(status: u16, json_type: &str, query_code: &str) -> Rule {
    let body = format!(r#"{{"__type":"com.amazonaws.sqs#{json_type}","message":"refused"}}"#);
    let header = format!("{query_code};Sender");
    mock!(aws_sdk_sqs::Client::send_message).then_http_response(move || {
        http(status, SQS_JSON, &body, &[("x-amzn-query-error", &header)])
    })
}

#[tokio::test]
async fn sqs_throttling_is_throttled_outages_transient_and_refusals_permanent() {
    let throttled = [
        (
            sqs_error(400, "RequestThrottled", "RequestThrottled"),
            "RequestThrottled",
        ),
        (
            sqs_error(400, "ThrottlingException", "ThrottlingException"),
            "ThrottlingException",
        ),
        (
            sqs_error(400, "KmsThrottled", "KMS.ThrottlingException"),
            "KMS.ThrottlingException",
        ),
        (
            mock!(aws_sdk_sqs::Client::send_message)
                .then_http_response(|| http(429, SQS_JSON, "", &[])),
            "HTTP 429",
        ),
    ];
    let transient = [
        (
            sqs_error(500, "InternalError", "InternalError"),
            "InternalError",
        ),
        (
            mock!(aws_sdk_sqs::Client::send_message)
                .then_http_response(|| http(503, SQS_JSON, "", &[])),
            "HTTP 503",
        ),
    ];
    let permanent = [
        (
            sqs_error(
                400,
                "QueueDoesNotExist",
                "AWS.SimpleQueueService.NonExistentQueue",
            ),
            "NonExistentQueue",
        ),
        (
            sqs_error(403, "AccessDeniedException", "AccessDenied"),
            "AccessDenied",
        ),
        (
            sqs_error(
                400,
                "InvalidParameterValueException",
                "InvalidParameterValue",
            ),
            "InvalidParameterValue",
        ),
        (
            sqs_error(400, "KmsDisabled", "KMS.DisabledException"),
            "KMS.DisabledException",
        ),
        (
            sqs_error(400, "KmsAccessDenied", "KMS.AccessDeniedException"),
            "KMS.AccessDeniedException",
        ),
    ];
    let envelope = envelope(Some("issues"), None);
    for (rule, code) in &throttled {
        let result = sqs(sqs_client(&[rule]), QUEUE, None)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_throttled(result, QUEUE, code);
        assert_eq!(rule.num_calls(), 1, "{code}");
    }
    for (rule, code) in &transient {
        let result = sqs(sqs_client(&[rule]), QUEUE, None)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_transient(result, QUEUE, code);
        assert_eq!(rule.num_calls(), 1, "{code}");
    }
    for (rule, code) in &permanent {
        let result = sqs(sqs_client(&[rule]), QUEUE, None)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_permanent(result, QUEUE, code);
    }
}

/// A connection refused and an answer that never comes are transient, through the clients the
/// wiring builds (the real HTTPS client, no mock).
#[tokio::test]
async fn unreachable_and_silent_endpoints_are_transient() {
    use aws_sdk_sqs::config::Credentials;
    use std::time::Duration;
    async fn sdk(endpoint: String) -> aws_config::SdkConfig {
        inlet_aws::sdk_loader()
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(300))
                    .build(),
            )
            .load()
            .await
    }
    // Bound, then closed: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    // Accepts, then says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let envelope = envelope(Some("issues"), None);
    for port in [closed_port, silent_port] {
        let sdk = sdk(format!("http://127.0.0.1:{port}")).await;
        let aws = AwsDestinations::from_sdk_config(&sdk);
        for action in [
            Action::Sqs {
                queue_url: QUEUE.to_owned(),
                group_pointer: None,
            },
            Action::Sns {
                topic_arn: TOPIC.to_owned(),
            },
            Action::EventBridge {
                bus: BUS.to_owned(),
            },
        ] {
            let result = aws
                .build(&action)
                .unwrap()
                .deliver(delivery(&envelope, BODY))
                .await;
            match result {
                Err(ActionError::Transient(message)) => {
                    assert!(message.contains(action.target()), "{message}");
                    assert!(!message.contains("BODY-MARKER"), "{message}");
                }
                other => panic!("port {port}, {}: {other:?}", action.kind()),
            }
        }
    }
}

// ---- sns ----

#[tokio::test]
async fn sns_publishes_the_body_with_source_type_route_and_key_once() {
    let rule = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|req| {
            req.topic_arn() == Some(TOPIC)
                && req.message() == Some(std::str::from_utf8(BODY).unwrap())
                && sns_attributes(req)
                    == pairs(&[
                        ("source", "github"),
                        ("type", "issues"),
                        ("route", "triage"),
                        ("event_key", "github#d-1"),
                        ("content_type", "application/json"),
                        ("traceparent", &traceparent()),
                    ])
                && req.message_group_id().is_none()
                && req.message_deduplication_id().is_none()
                && req.subject().is_none()
        })
        .then_output(|| PublishOutput::builder().message_id("p-1").build());
    let destination = sns(sns_client(&[&rule]), TOPIC);
    let envelope = envelope(Some("issues"), None);
    destination
        .deliver(delivery(&envelope, BODY))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn sns_leaves_out_a_missing_type_and_base64s_binary_bodies() {
    let binary: &[u8] = b"\xff\xfe\x00";
    let expected = base64::engine::general_purpose::STANDARD.encode(binary);
    let rule = mock!(aws_sdk_sns::Client::publish)
        .match_requests(move |req| {
            req.message() == Some(expected.as_str())
                && sns_attributes(req)
                    == pairs(&[
                        ("source", "github"),
                        ("route", "triage"),
                        ("event_key", "github#d-1"),
                        ("content_type", "application/json"),
                        ("traceparent", &traceparent()),
                        ("content_transfer_encoding", "base64"),
                    ])
        })
        .then_output(|| PublishOutput::builder().message_id("p").build());
    let destination = sns(sns_client(&[&rule]), TOPIC);
    let envelope = envelope(None, None);
    destination
        .deliver(delivery(&envelope, binary))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn sns_fifo_groups_by_the_event_key_and_deduplicates_per_event_and_route() {
    let expected = sha256_hex("github#d-1\ntriage");
    let rule = mock!(aws_sdk_sns::Client::publish)
        .match_requests(move |req| {
            req.topic_arn() == Some(FIFO_TOPIC)
                && req.message_group_id() == Some("github#d-1")
                && req.message_deduplication_id() == Some(expected.as_str())
        })
        .then_output(|| PublishOutput::builder().message_id("p").build());
    let destination = sns(sns_client(&[&rule]), FIFO_TOPIC);
    let envelope = envelope(Some("issues"), None);
    destination
        .deliver(delivery(&envelope, BODY))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

/// SNS's query-protocol (XML) error answer.
fn sns_error(status: u16, code: &str) -> Rule {
    let body = format!(
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>refused</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    );
    mock!(aws_sdk_sns::Client::publish)
        .then_http_response(move || http(status, "text/xml", &body, &[]))
}

#[tokio::test]
async fn sns_throttling_is_throttled_outages_transient_and_refusals_permanent() {
    let envelope = envelope(Some("issues"), None);
    for (status, code) in [
        (400, "Throttling"),
        (400, "Throttled"),
        (400, "ThrottledException"),
        (400, "KMSThrottling"),
        (429, "TooManyRequests"),
    ] {
        let rule = sns_error(status, code);
        let result = sns(sns_client(&[&rule]), TOPIC)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_throttled(result, TOPIC, code);
        assert_eq!(rule.num_calls(), 1);
    }
    for (status, code) in [(500, "InternalError"), (503, "ServiceUnavailable")] {
        let rule = sns_error(status, code);
        let result = sns(sns_client(&[&rule]), TOPIC)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_transient(result, TOPIC, code);
        assert_eq!(rule.num_calls(), 1);
    }
    for (status, code) in [
        (403, "AuthorizationError"),
        (404, "NotFound"),
        (400, "InvalidParameter"),
        (400, "ParameterValueInvalid"),
        (400, "KMSDisabled"),
        (400, "KMSNotFound"),
        (400, "KMSAccessDenied"),
        (400, "ValidationException"),
    ] {
        let rule = sns_error(status, code);
        let result = sns(sns_client(&[&rule]), TOPIC)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_permanent(result, TOPIC, code);
    }
}

mod eventbridge;

// ---- building ----

#[test]
fn only_kinds_with_a_client_are_built_and_forward_and_log_never() {
    let sqs = sqs_client(&[]);
    let destinations = AwsDestinations::default().with_sqs(sqs);
    let built = |action: Action| destinations.build(&action).is_some();
    assert!(built(Action::Sqs {
        queue_url: QUEUE.into(),
        group_pointer: None
    }));
    assert!(!built(Action::Sns {
        topic_arn: TOPIC.into()
    }));
    assert!(!built(Action::EventBridge { bus: BUS.into() }));
    assert!(!built(Action::Log));
}
