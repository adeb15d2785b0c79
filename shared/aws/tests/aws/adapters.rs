//! SDK adapters against mocked AWS responses: request shapes and error mapping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_sdk_sqs::operation::send_message::{SendMessageError, SendMessageOutput};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use inlet_aws::{SecretsManager, SqsQueue};
use inlet_core::config::Config;
use inlet_core::ports::{
    FifoIds, OutgoingMessage, Queue, QueueError, SecretStore, SecretStoreError,
};
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use std::time::Duration;

const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/inlet-events";

fn message(fifo: Option<FifoIds>) -> OutgoingMessage {
    OutgoingMessage {
        body: r#"{"v":1}"#.into(),
        attributes: vec![("source", "github".into()), ("event_type", "push".into())],
        fifo,
        xray_trace: None,
    }
}

#[tokio::test]
async fn send_message_carries_body_attributes_and_fifo_ids() {
    let rule = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(|req| {
            let attributes = req.message_attributes().unwrap();
            let attribute = |name: &str| {
                let value = &attributes[name];
                (value.data_type(), value.string_value())
            };
            req.queue_url() == Some(QUEUE)
                && req.message_body() == Some(r#"{"v":1}"#)
                && attributes.len() == 2
                && attribute("source") == ("String", Some("github"))
                && attribute("event_type") == ("String", Some("push"))
                && req.message_group_id() == Some("github")
                && req.message_deduplication_id() == Some("abc")
        })
        .then_output(|| SendMessageOutput::builder().message_id("m-1").build());
    let client = mock_client!(aws_sdk_sqs, [&rule]);
    let queue = SqsQueue::new(client, QUEUE);
    let fifo = FifoIds {
        group_id: "github".into(),
        deduplication_id: "abc".into(),
    };
    assert_eq!(queue.send(message(Some(fifo))).await, Ok("m-1".to_owned()));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn standard_queues_send_no_fifo_ids() {
    let rule = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(|req| {
            req.message_group_id().is_none() && req.message_deduplication_id().is_none()
        })
        .then_output(|| SendMessageOutput::builder().message_id("m-2").build());
    let client = mock_client!(aws_sdk_sqs, [&rule]);
    assert_eq!(
        SqsQueue::new(client, QUEUE).send(message(None)).await,
        Ok("m-2".to_owned())
    );
}

#[tokio::test]
async fn outages_and_throttling_are_unavailable_and_refusals_are_rejected() {
    let throttled = mock!(aws_sdk_sqs::Client::send_message).then_error(|| {
        SendMessageError::RequestThrottled(
            aws_sdk_sqs::types::error::RequestThrottled::builder().build(),
        )
    });
    let missing = mock!(aws_sdk_sqs::Client::send_message).then_error(|| {
        SendMessageError::QueueDoesNotExist(
            aws_sdk_sqs::types::error::QueueDoesNotExist::builder().build(),
        )
    });
    let server = mock!(aws_sdk_sqs::Client::send_message).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap(),
            aws_smithy_types::body::SdkBody::from("{}"),
        )
    });
    let refused = mock!(aws_sdk_sqs::Client::send_message).then_error(|| {
        SendMessageError::InvalidMessageContents(
            aws_sdk_sqs::types::error::InvalidMessageContents::builder().build(),
        )
    });
    let client = mock_client!(
        aws_sdk_sqs,
        RuleMode::Sequential,
        [&throttled, &missing, &server, &refused],
        |c| { c.retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled()) }
    );
    let queue = SqsQueue::new(client, QUEUE);
    for _ in 0..3 {
        let result = queue.send(message(None)).await;
        assert!(
            matches!(result, Err(QueueError::Unavailable(_))),
            "{result:?}"
        );
    }
    let result = queue.send(message(None)).await;
    assert!(matches!(result, Err(QueueError::Rejected(_))), "{result:?}");
}

#[tokio::test]
async fn secrets_manager_reads_the_string_and_maps_not_found() {
    let found = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(|req| req.secret_id() == Some("inlet/stripe"))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"signing_secret":"whsec_from_the_store"}"#)
                .build()
        });
    let missing = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_error(|| {
        GetSecretValueError::ResourceNotFoundException(
            aws_sdk_secretsmanager::types::error::ResourceNotFoundException::builder().build(),
        )
    });
    let binary_only = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .then_output(|| GetSecretValueOutput::builder().build());
    let client = mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::Sequential,
        [&found, &missing, &binary_only]
    );
    let store = SecretsManager::new(client);
    assert_eq!(
        store.secret_string("inlet/stripe").await,
        Ok(r#"{"signing_secret":"whsec_from_the_store"}"#.to_owned())
    );
    assert_eq!(
        store.secret_string("gone").await,
        Err(SecretStoreError::NotFound("gone".into()))
    );
    assert!(matches!(
        store.secret_string("binary").await,
        Err(SecretStoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_key_ring_over_secrets_manager_resolves_json_keys_and_picks_up_rotation() {
    let first = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(|req| req.secret_id() == Some("inlet/stripe"))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"signing_secret":"whsec_one"}"#)
                .build()
        });
    let rotated = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(|req| req.secret_id() == Some("inlet/stripe"))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"signing_secret":"whsec_two"}"#)
                .build()
        });
    let client = mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::Sequential,
        [&first, &rotated]
    );
    let config = Config::parse(
        "[sources.billing]\nscheme = \"stripe\"\nsecrets = [\"secretsmanager:inlet/stripe#signing_secret\"]\n",
    )
    .unwrap();
    let resolver = SecretResolver::new(Env::Map(Default::default()), SecretsManager::new(client));
    let ring = KeyRing::load(&config, resolver)
        .await
        .unwrap()
        .with_refresh_every(Duration::ZERO);
    let source = config.source("billing").unwrap();
    assert_eq!(ring.keys(source).await[0].as_bytes(), b"whsec_two");
    assert_eq!((first.num_calls(), rotated.num_calls()), (1, 1));
}
