//! SDK adapters for the ports. Clients are built once at start-up and shared.
//!
//! `AWS_ENDPOINT_URL` (and the per-service `AWS_ENDPOINT_URL_SQS` and so on) are honoured by the
//! SDK's own config loading, which is how the local stack and the tests reach the emulator.

use crate::ports::{OutgoingMessage, Queue, QueueError, SecretStore, SecretStoreError};
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::MessageAttributeValue;
use std::time::Duration;

/// Loads region and credentials the standard way, with timeouts short enough that a stuck call
/// fails (and the provider retries) well before API Gateway's 30 s limit.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(12))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

/// The SQS queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn from_config(sdk: &aws_config::SdkConfig, url: impl Into<String>) -> Self {
        Self::new(aws_sdk_sqs::Client::new(sdk), url)
    }

    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// FIFO queue URLs end in `.fifo`.
    pub fn is_fifo(&self) -> bool {
        self.url.ends_with(".fifo")
    }
}

fn string_attribute(value: String) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| QueueError::Rejected(e.to_string()))
}

impl Queue for SqsQueue {
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(message.body);
        for (name, value) in message.attributes {
            request = request.message_attributes(name, string_attribute(value)?);
        }
        if let Some(fifo) = message.fifo {
            request = request
                .message_group_id(fifo.group_id)
                .message_deduplication_id(fifo.deduplication_id);
        }
        match request.send().await {
            Ok(output) => Ok(output.message_id.unwrap_or_default()),
            Err(error) => {
                use aws_sdk_sqs::operation::send_message::SendMessageError;
                let detail = DisplayErrorContext(&error).to_string();
                // Refusals of the message itself would fail again; everything else may pass later.
                let refused = match error.as_service_error() {
                    Some(
                        SendMessageError::InvalidMessageContents(_)
                        | SendMessageError::UnsupportedOperation(_),
                    ) => true,
                    Some(other) => matches!(
                        other.code(),
                        Some("InvalidParameterValue" | "MessageTooLong")
                    ),
                    None => false,
                };
                if refused {
                    Err(QueueError::Rejected(detail))
                } else {
                    Err(QueueError::Unavailable(detail))
                }
            }
        }
    }
}

/// AWS Secrets Manager.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn from_config(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(aws_sdk_secretsmanager::Client::new(sdk))
    }

    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

impl SecretStore for SecretsManager {
    async fn secret_string(&self, id: &str) -> Result<String, SecretStoreError> {
        match self.client.get_secret_value().secret_id(id).send().await {
            Ok(output) => output.secret_string.ok_or_else(|| {
                SecretStoreError::NotFound(format!("{id} (it has no string value)"))
            }),
            Err(error) => {
                let not_found = error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception());
                if not_found {
                    Err(SecretStoreError::NotFound(id.to_owned()))
                } else {
                    Err(SecretStoreError::Unavailable(
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&error).to_string(),
                    ))
                }
            }
        }
    }
}
