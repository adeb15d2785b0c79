//! Inlet on AWS: SDK adapters for the core's ports, the Lambda event edges ([`lambda`]) and the
//! functions' one wiring ([`wiring`]). Clients are built once at start-up and shared.
//!
//! `AWS_ENDPOINT_URL` (and the per-service `AWS_ENDPOINT_URL_SQS` and so on) are honoured by the
//! SDK's own config loading, which is how the local stack and the tests reach the emulator.

pub mod destinations;
pub mod lambda;
pub mod wiring;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_sqs::config::{
    Credentials, SharedCredentialsProvider, SharedHttpClient, StalledStreamProtectionConfig,
};
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_smithy_http_client::tls;
use inlet_core::ports::{
    Claim, ClaimOutcome, IdempotencyStore, ObjectStore, ObjectStoreError, OutgoingMessage,
    Progress, Queue, QueueError, SecretStore, SecretStoreError, StoreError, Visibility,
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

/// The idempotency table (architecture.md § Idempotency record): key `pk`, one item per event
/// key.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

const IN_PROGRESS: &str = "IN_PROGRESS";
/// Released with some routes settled (`done_routes`, `dead_routes`): claimable at once.
const PARTIAL: &str = "PARTIAL";
const COMPLETED: &str = "COMPLETED";
/// New, released with progress, or an abandoned claim whose lease has run out: for the same
/// payload only.
const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR (payload_sha256 = :sha AND (#status = :partial OR (#status = :in_progress AND lease_until < :now)))";
/// An update, not a put: the routes earlier tries settled stay in the item, and come back in
/// the old item (`ReturnValues = ALL_OLD`), so the claim costs one write whatever it finds.
const CLAIM_UPDATE: &str = "SET #status = :in_progress, #token = :token, lease_until = :lease, payload_sha256 = :sha, attempts = :attempts, first_seen = if_not_exists(first_seen, :first_seen), expires_at = :expires";
const DONE_ROUTES: &str = "done_routes";
const DEAD_ROUTES: &str = "dead_routes";
const COMPLETE_UPDATE: &str =
    "SET #status = :completed, completed_at = :now, expires_at = :expires REMOVE lease_until";
const OWNED_CONDITION: &str = "#token = :token";

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Any DynamoDB failure other than a failed condition: throttling, outages and timeouts may pass
/// on a later try, so they are all transient to the pipeline.
fn store_unavailable<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}

/// The answer to a write conditioned on our claim token: a failed condition means the claim is no
/// longer ours.
fn owned_write<O, E: ProvideErrorMetadata + std::error::Error + 'static>(
    result: Result<
        O,
        aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
    condition_failed: impl FnOnce(&E) -> bool,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.as_service_error().is_some_and(condition_failed) => {
            Err(StoreError::ClaimLost)
        }
        Err(error) => Err(store_unavailable(&error)),
    }
}

/// BatchGetItem takes at most 100 keys per call.
const BATCH_GET_KEYS: usize = 100;
/// Calls for one batch's keys, when DynamoDB leaves some unprocessed (throttling).
const BATCH_GET_ATTEMPTS: u32 = 5;

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The store for `table`, with a client of its own built from `sdk`.
    pub fn from_config(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(aws_sdk_dynamodb::Client::new(sdk), table)
    }

    /// Which of `keys` the table records as completed. Not a pipeline step (the pipelines never
    /// read the table): `inlet replay --id` asks it which of its run's claim keys
    /// (`replay:<id>:<key>`) are already done, so as not to send them again. Strongly
    /// consistent `BatchGetItem`s of `pk` and `status` only, 100 keys each; keys DynamoDB leaves
    /// unprocessed are asked again, a few times.
    pub async fn completed(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        use std::collections::HashMap;
        let mut done = std::collections::HashSet::new();
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let mut pending: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|key| HashMap::from([("pk".to_owned(), s(key))]))
                .collect();
            for attempt in 1..=BATCH_GET_ATTEMPTS {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .projection_expression("pk, #status")
                    .expression_attribute_names("#status", "status")
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|error| store_unavailable(&error))?;
                let items = output
                    .responses
                    .and_then(|mut tables| tables.remove(&self.table))
                    .unwrap_or_default();
                for item in items {
                    let field = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
                    if field("status").is_some_and(|status| status == COMPLETED)
                        && let Some(key) = field("pk")
                    {
                        done.insert(key.clone());
                    }
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(&self.table))
                    .map(|left| left.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == BATCH_GET_ATTEMPTS {
                    return Err(StoreError::Unavailable(format!(
                        "DynamoDB left {} key(s) unprocessed {BATCH_GET_ATTEMPTS} times",
                        pending.len()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
        Ok(done)
    }

    /// The routes an item records as settled (string sets; absent when empty).
    fn progress(old: Option<&std::collections::HashMap<String, AttributeValue>>) -> Progress {
        let set = |name: &str| {
            old.and_then(|item| item.get(name)?.as_ss().ok())
                .map(|values| values.iter().cloned().collect())
                .unwrap_or_default()
        };
        Progress {
            done: set(DONE_ROUTES),
            dead: set(DEAD_ROUTES),
        }
    }

    /// What a failed claim condition found, from the old item DynamoDB returned.
    fn classify(
        old: Option<&std::collections::HashMap<String, AttributeValue>>,
        sha: &str,
    ) -> ClaimOutcome {
        let field = |name: &str| old.and_then(|item| item.get(name)?.as_s().ok().cloned());
        match (field("status").as_deref(), field("payload_sha256")) {
            (_, Some(recorded)) if recorded != sha => ClaimOutcome::Conflict {
                recorded_sha256: recorded,
            },
            (Some(COMPLETED), _) => ClaimOutcome::Duplicate,
            _ => ClaimOutcome::Busy,
        }
    }
}

impl IdempotencyStore for DynamoStore {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&claim.key))
            .update_expression(CLAIM_UPDATE)
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":partial", s(PARTIAL))
            .expression_attribute_values(":token", s(&claim.token))
            .expression_attribute_values(":lease", n(claim.lease_until))
            .expression_attribute_values(":sha", s(&claim.payload_sha256))
            .expression_attribute_values(":attempts", n(claim.attempts))
            .expression_attribute_values(":first_seen", s(&claim.first_seen))
            .expression_attribute_values(":expires", n(claim.expires_at))
            .expression_attribute_values(":now", n(claim.now))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(ClaimOutcome::New {
                progress: Self::progress(output.attributes()),
            }),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(Self::classify(failed.item(), &claim.payload_sha256))
                }
                _ => Err(store_unavailable(&error)),
            },
        }
    }

    async fn complete(
        &self,
        key: &str,
        token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression(COMPLETE_UPDATE)
            .condition_expression(OWNED_CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        owned_write(
            result,
            UpdateItemError::is_conditional_check_failed_exception,
        )
    }

    async fn release(&self, key: &str, token: &str, progress: &Progress) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        if progress.is_empty() {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(key))
                .condition_expression(OWNED_CONDITION)
                .expression_attribute_names("#token", "token")
                .expression_attribute_values(":token", s(token))
                .send()
                .await;
            return owned_write(
                result,
                DeleteItemError::is_conditional_check_failed_exception,
            );
        }
        // Kept, unleased, with what is settled. A string set cannot be empty: an empty one is
        // removed instead.
        let mut set = vec!["#status = :partial"];
        let mut remove = vec!["lease_until"];
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .condition_expression(OWNED_CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":partial", s(PARTIAL))
            .expression_attribute_values(":token", s(token));
        for (attribute, assignment, placeholder, routes) in [
            (DONE_ROUTES, "done_routes = :done", ":done", &progress.done),
            (DEAD_ROUTES, "dead_routes = :dead", ":dead", &progress.dead),
        ] {
            if routes.is_empty() {
                remove.push(attribute);
            } else {
                set.push(assignment);
                request = request.expression_attribute_values(
                    placeholder,
                    AttributeValue::Ss(routes.iter().cloned().collect()),
                );
            }
        }
        let result = request
            .update_expression(format!(
                "SET {} REMOVE {}",
                set.join(", "),
                remove.join(", ")
            ))
            .send()
            .await;
        owned_write(
            result,
            UpdateItemError::is_conditional_check_failed_exception,
        )
    }
}

/// An S3 client for `sdk`. An emulator (`AWS_ENDPOINT_URL`) gets path-style addressing: it
/// serves every bucket on its one host, where the default `bucket.host` names would not resolve.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// One S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Objects {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

/// Any S3 failure but a missing key: throttling, outages, timeouts and refusals (a missing
/// bucket, a denied permission) alike may pass once someone fixes them, so none is final here.
fn objects_unavailable<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> ObjectStoreError {
    // A service error's code and message say it all (`NoSuchBucket: The specified bucket does
    // not exist`); the SDK's full context repeats the raw response, headers and body included.
    let detail = match error.as_service_error() {
        Some(service) if service.code().is_some() => format!(
            "{}: {}",
            service.code().unwrap_or_default(),
            service.message().unwrap_or("no message")
        ),
        _ => aws_sdk_s3::error::DisplayErrorContext(error).to_string(),
    };
    ObjectStoreError::Unavailable(detail)
}

impl ObjectStore for S3Objects {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> Result<(), ObjectStoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| objects_unavailable(&e))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Err(ObjectStoreError::NotFound(key.to_owned()));
            }
            Err(error) => return Err(objects_unavailable(&error)),
        };
        // A body cut off mid-stream is a failed read like any other, worth another try.
        let body = output.body.collect().await.map_err(|e| {
            ObjectStoreError::Unavailable(format!("reading `{key}` failed part way: {e}"))
        })?;
        Ok(body.into_bytes().to_vec())
    }

    async fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        key: &str,
    ) -> Result<(), ObjectStoreError> {
        // `CopySource` is `bucket/key` with the key URL-encoded; its slashes stay.
        const KEY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'/')
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        let source = format!(
            "{source_bucket}/{}",
            percent_encoding::utf8_percent_encode(source_key, KEY)
        );
        match self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(key)
            .copy_source(source)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.code() == Some("NoSuchKey")) =>
            {
                Err(ObjectStoreError::NotFound(source_key.to_owned()))
            }
            Err(error) => Err(objects_unavailable(&error)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| objects_unavailable(&e))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError> {
        let mut keys = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let output = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(continuation.take())
                .send()
                .await
                .map_err(|e| objects_unavailable(&e))?;
            keys.extend(
                output
                    .contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|object| object.key),
            );
            match output.next_continuation_token {
                Some(token) if output.is_truncated == Some(true) => continuation = Some(token),
                _ => break,
            }
        }
        // S3 lists in UTF-8 binary order already; sorting keeps the promise for any emulator.
        keys.sort();
        Ok(keys)
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
