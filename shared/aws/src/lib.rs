//! Inlet on AWS: SDK adapters for the core's ports, the Lambda event edges ([`lambda`]) and the
//! functions' one wiring ([`wiring`]). Clients are built once at start-up and shared.
//!
//! `AWS_ENDPOINT_URL` (and the per-service `AWS_ENDPOINT_URL_SQS` and so on) are honoured by the
//! SDK's own config loading, which is how the local stack and the tests reach the emulator.

pub mod destinations;
mod dynamo;
mod guards;
pub mod lambda;
mod s3;
pub mod wiring;

pub use dynamo::DynamoStore;
pub use s3::{S3Objects, s3_client};

use aws_sdk_sqs::config::{
    Credentials, SharedCredentialsProvider, SharedHttpClient, StalledStreamProtectionConfig,
};
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue,
};
use aws_smithy_http_client::tls;
use inlet_core::ports::{
    OutgoingMessage, Queue, QueueError, SecretStore, SecretStoreError, Visibility,
};
use std::time::Duration;

/// Connect and per-attempt limits short enough that a stuck call fails (and the provider retries)
/// well before API Gateway's 30 s limit.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(12))
        .build()
}

/// The HTTPS client behind every SDK client: rustls on ring, the same TLS stack the forward
/// action's reqwest uses, so the packages carry one crypto library instead of two.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Loads region and credentials the standard way (environment, profile files, IMDS and the
/// rest of the default chains), for the CLI and for code that runs outside Lambda.
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_loader().load().await
}

/// The loader behind [`sdk_config`], for callers that settle region or credentials themselves
/// (the local stack, against an emulator) without the default chains' probing.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts())
}

/// Why the Lambda runtime's AWS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LambdaSdkError {
    #[error("AWS_REGION is not set: the Lambda runtime always sets it")]
    MissingRegion,
    #[error(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: the Lambda runtime sets them \
         from the function's role"
    )]
    MissingCredentials,
}

/// The SDK config inside Lambda, read from the environment the runtime sets: region, the
/// execution role's credentials, and `AWS_ENDPOINT_URL` where an emulator stands in.
///
/// The default chains would end at the same environment variables, but only after probing
/// profile files and carrying the code for IMDS, ECS, SSO and STS: start-up time and package
/// size paid on every cold start for providers a Lambda never uses.
pub(crate) fn lambda_sdk_config(
    env: impl Fn(&str) -> Option<String>,
) -> Result<aws_config::SdkConfig, LambdaSdkError> {
    let set = |name: &str| env(name).filter(|value| !value.is_empty());
    let region = set("AWS_REGION")
        .or_else(|| set("AWS_DEFAULT_REGION"))
        .ok_or(LambdaSdkError::MissingRegion)?;
    let (Some(access_key), Some(secret_key)) =
        (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY"))
    else {
        return Err(LambdaSdkError::MissingCredentials);
    };
    // Lambda's role credentials are refreshed by restarting the execution environment, never
    // under a running process, so reading them once is what the env provider would do too.
    let credentials = Credentials::new(
        access_key,
        secret_key,
        set("AWS_SESSION_TOKEN"),
        None,
        "LambdaEnvironment",
    );
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http_client())
        .timeout_config(timeouts())
        // Stalled-stream protection watches the throughput of large streamed bodies, polling a
        // clock on every read; the Lambdas' bodies are a few KB, and the attempt and operation
        // timeouts above already bound every call.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .retry_config(aws_config::retry::RetryConfig::standard());
    if let Some(endpoint) = set("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}

/// The SQS queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
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
        if let Some(header) = message.xray_trace {
            // SQS would also take it from the SDK's `X-Amzn-Trace-Id` header, which the SDK sets
            // only where `_X_AMZN_TRACE_ID` is in the environment; the attribute always works.
            let value = MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(header)
                .build()
                .map_err(|e| QueueError::Rejected(e.to_string()))?;
            request = request.message_system_attributes(
                MessageSystemAttributeNameForSends::AwsTraceHeader,
                value,
            );
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

    async fn put_secret_string(&self, id: &str, value: &str) -> Result<(), SecretStoreError> {
        self.client
            .put_secret_value()
            .secret_id(id)
            .secret_string(value)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| Self::store_error(id, error))
    }
}

impl SecretsManager {
    fn store_error(
        id: &str,
        error: aws_sdk_secretsmanager::error::SdkError<
            aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError,
        >,
    ) -> SecretStoreError {
        let not_found = error
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception());
        if not_found {
            SecretStoreError::NotFound(id.to_owned())
        } else {
            SecretStoreError::Unavailable(
                aws_sdk_secretsmanager::error::DisplayErrorContext(&error).to_string(),
            )
        }
    }
}

impl Visibility for SqsQueue {
    async fn delay(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(seconds).unwrap_or(i32::MAX))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError::Unavailable(DisplayErrorContext(&e).to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::config::ProvideCredentials as _;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    #[tokio::test]
    async fn the_lambda_environment_gives_region_role_credentials_and_no_endpoint() {
        let sdk = lambda_sdk_config(env(&LAMBDA)).unwrap();
        assert_eq!(sdk.region().unwrap().as_ref(), "eu-west-1");
        assert_eq!(sdk.endpoint_url(), None);
        assert!(sdk.http_client().is_some());
        let credentials = sdk
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));
    }

    #[test]
    fn an_emulator_endpoint_is_taken_from_aws_endpoint_url() {
        let mut pairs = LAMBDA.to_vec();
        pairs.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        let sdk = lambda_sdk_config(env(&pairs)).unwrap();
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn queue_urls_ending_in_fifo_are_fifo_queues() {
        let client = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::Config::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
        );
        let url = "https://sqs.eu-west-1.amazonaws.com/123456789012/inlet-events";
        assert!(!SqsQueue::new(client.clone(), url).is_fifo());
        assert!(SqsQueue::new(client, format!("{url}.fifo")).is_fifo());
    }

    #[test]
    fn missing_region_or_credentials_fail_at_start_up() {
        let without = |name: &str| -> Vec<(&str, &str)> {
            LAMBDA.iter().copied().filter(|(k, _)| *k != name).collect()
        };
        assert!(matches!(
            lambda_sdk_config(env(&without("AWS_REGION"))),
            Err(LambdaSdkError::MissingRegion)
        ));
        assert!(matches!(
            lambda_sdk_config(env(&without("AWS_SECRET_ACCESS_KEY"))),
            Err(LambdaSdkError::MissingCredentials)
        ));
        let mut empty = LAMBDA.to_vec();
        empty[1] = ("AWS_ACCESS_KEY_ID", "");
        assert!(matches!(
            lambda_sdk_config(env(&empty)),
            Err(LambdaSdkError::MissingCredentials)
        ));
    }
}
