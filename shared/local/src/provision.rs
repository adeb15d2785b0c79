//! Creating the queue, dead-letter queue, table and payload bucket as `template.yaml` declares
//! them.

use crate::{StackError, failed};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use inlet_aws::wiring::Resources;

/// The resource settings `template.yaml` declares; a test keeps the two in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettings {
    pub queue_name: String,
    pub dead_letter_queue_name: String,
    pub table_name: String,
    /// The process function's timeout, which the queue's visibility timeout must cover 6 times.
    pub process_timeout_secs: u32,
    pub visibility_timeout_secs: u32,
    pub max_receive_count: u32,
    pub queue_retention_secs: u32,
    pub dead_letter_retention_secs: u32,
    pub table_key: String,
    pub ttl_attribute: String,
    pub batch_size: i32,
    /// Claim checks under `claims/`, the archive under `archive/`.
    pub bucket_name: String,
}

impl Default for StackSettings {
    fn default() -> Self {
        Self {
            queue_name: "inlet-events".into(),
            dead_letter_queue_name: "inlet-events-dlq".into(),
            table_name: "inlet-idempotency".into(),
            process_timeout_secs: 30,
            visibility_timeout_secs: 180,
            max_receive_count: 5,
            queue_retention_secs: 345_600,
            dead_letter_retention_secs: 1_209_600,
            table_key: "pk".into(),
            ttl_attribute: "expires_at".into(),
            batch_size: 10,
            bucket_name: "inlet-payloads".into(),
        }
    }
}

/// Where the created resources are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub table_name: String,
    pub bucket_name: String,
    /// What the emulator would not set up as the template declares, though the stack works
    /// without it: one line each, for the user to read.
    pub warnings: Vec<String>,
}

impl Stack {
    /// The stack as the pipelines' wiring takes it.
    pub fn resources(&self) -> Resources {
        Resources {
            queue_url: self.queue_url.clone(),
            dead_letter_queue_url: self.dead_letter_queue_url.clone(),
            table_name: self.table_name.clone(),
            bucket_name: self.bucket_name.clone(),
        }
    }
}

/// Creates (or finds) the queue, dead-letter queue, table and bucket. Creating what exists is
/// harmless.
pub async fn provision(
    sqs: &aws_sdk_sqs::Client,
    dynamodb: &aws_sdk_dynamodb::Client,
    s3: &aws_sdk_s3::Client,
    settings: &StackSettings,
) -> Result<Stack, StackError> {
    let dead_letter_queue_url = sqs
        .create_queue()
        .queue_name(&settings.dead_letter_queue_name)
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            settings.dead_letter_retention_secs.to_string(),
        )
        .send()
        .await
        .map_err(failed("create the dead-letter queue"))?
        .queue_url
        .unwrap_or_default();
    let dead_letter_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letter_queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(failed("read the dead-letter queue's ARN"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default();
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead_letter_arn,
        "maxReceiveCount": settings.max_receive_count,
    });
    let queue_url = sqs
        .create_queue()
        .queue_name(&settings.queue_name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            settings.visibility_timeout_secs.to_string(),
        )
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            settings.queue_retention_secs.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(failed("create the queue"))?
        .queue_url
        .unwrap_or_default();

    let created = dynamodb
        .create_table()
        .table_name(&settings.table_name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&settings.table_key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(failed("describe the table key"))?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(&settings.table_key)
                .key_type(KeyType::Hash)
                .build()
                .map_err(failed("describe the table key"))?,
        )
        .send()
        .await;
    if let Err(error) = created {
        let exists = error
            .as_service_error()
            .is_some_and(|e| e.is_resource_in_use_exception());
        if !exists {
            return Err(failed("create the table")(error));
        }
    }
    let warnings = enable_ttl(dynamodb, settings).await?.into_iter().collect();
    create_bucket(s3, &settings.bucket_name).await?;
    Ok(Stack {
        queue_url,
        dead_letter_queue_url,
        table_name: settings.table_name.clone(),
        bucket_name: settings.bucket_name.clone(),
        warnings,
    })
}

/// Creates the bucket, or finds it made by an earlier run.
pub async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Result<(), StackError> {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let mut request = s3.create_bucket().bucket(name);
    // S3 takes a bucket outside us-east-1 only with its region as the location constraint.
    if let Some(region) = s3.config().region().map(|r| r.as_ref().to_owned())
        && region != "us-east-1"
    {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        // In the emulator's one account, a bucket of that name can only be ours.
        Err(error)
            if error.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(error) => Err(failed("create the bucket")(error)),
    }
}

/// Turns on the table's TTL; what to tell the user when the emulator cannot. Some emulators do
/// not implement TTL, and without it records only outlive their `expires_at` locally, so that is
/// no reason to stop.
async fn enable_ttl(
    dynamodb: &aws_sdk_dynamodb::Client,
    settings: &StackSettings,
) -> Result<Option<String>, StackError> {
    let specification = TimeToLiveSpecification::builder()
        .attribute_name(&settings.ttl_attribute)
        .enabled(true)
        .build()
        .map_err(failed("describe the TTL"))?;
    let result = dynamodb
        .update_time_to_live()
        .table_name(&settings.table_name)
        .time_to_live_specification(specification)
        .send()
        .await;
    let Err(error) = result else {
        return Ok(None);
    };
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string();
    // Enabling TTL twice is refused with "already enabled": that is the state we want.
    if detail.contains("already enabled") {
        return Ok(None);
    }
    Ok(Some(format!(
        "the emulator did not enable TTL on the table's `{}` ({detail}); going on without it: \
         idempotency records are not expired locally",
        settings.ttl_attribute
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::create_table::CreateTableOutput;
    use aws_sdk_dynamodb::operation::update_time_to_live::{
        UpdateTimeToLiveError, UpdateTimeToLiveOutput,
    };
    use aws_sdk_s3::operation::create_bucket::{CreateBucketError, CreateBucketOutput};
    use aws_sdk_sqs::operation::create_queue::CreateQueueOutput;
    use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
    use aws_smithy_mocks::{Rule, mock, mock_client};

    const QUEUE: &str = "http://127.0.0.1:5000/123456789012/inlet-events";
    const DLQ: &str = "http://127.0.0.1:5000/123456789012/inlet-events-dlq";

    /// Provisions against an emulator that answers everything but TTL as AWS would, and TTL
    /// with `ttl`.
    async fn provision_with_ttl(ttl: &Rule) -> Result<Stack, StackError> {
        let settings = StackSettings::default();
        let dlq = mock!(aws_sdk_sqs::Client::create_queue)
            .match_requests(|r| r.queue_name() == Some("inlet-events-dlq"))
            .then_output(|| CreateQueueOutput::builder().queue_url(DLQ).build());
        let arn = mock!(aws_sdk_sqs::Client::get_queue_attributes).then_output(|| {
            GetQueueAttributesOutput::builder()
                .attributes(
                    QueueAttributeName::QueueArn,
                    "arn:aws:sqs:us-east-1:123456789012:inlet-events-dlq",
                )
                .build()
        });
        let queue = mock!(aws_sdk_sqs::Client::create_queue)
            .match_requests(|r| r.queue_name() == Some("inlet-events"))
            .then_output(|| CreateQueueOutput::builder().queue_url(QUEUE).build());
        let table = mock!(aws_sdk_dynamodb::Client::create_table)
            .then_output(|| CreateTableOutput::builder().build());
        let bucket = mock!(aws_sdk_s3::Client::create_bucket)
            .then_output(|| CreateBucketOutput::builder().build());
        let sqs = mock_client!(aws_sdk_sqs, [&dlq, &arn, &queue]);
        let dynamodb = mock_client!(aws_sdk_dynamodb, [&table, ttl]);
        let s3 = mock_client!(aws_sdk_s3, [&bucket]);
        provision(&sqs, &dynamodb, &s3, &settings).await
    }

    fn ttl_refused(code: &'static str, message: &'static str) -> Rule {
        mock!(aws_sdk_dynamodb::Client::update_time_to_live).then_error(move || {
            UpdateTimeToLiveError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            )
        })
    }

    #[tokio::test]
    async fn an_emulator_without_ttl_gives_a_warning_not_an_error() {
        let ttl = ttl_refused(
            "UnknownOperationException",
            "UpdateTimeToLive is not implemented",
        );
        let stack = provision_with_ttl(&ttl).await.unwrap();
        assert_eq!(stack.queue_url, QUEUE);
        assert_eq!(stack.dead_letter_queue_url, DLQ);
        assert_eq!(stack.table_name, "inlet-idempotency");
        assert_eq!(stack.bucket_name, "inlet-payloads");
        let [warning] = &stack.warnings[..] else {
            panic!("{:?}", stack.warnings)
        };
        assert!(warning.contains("TTL"), "{warning}");
        assert!(warning.contains("not implemented"), "{warning}");
    }

    #[tokio::test]
    async fn ttl_enabled_now_or_before_gives_no_warning() {
        let enabled = mock!(aws_sdk_dynamodb::Client::update_time_to_live)
            .then_output(|| UpdateTimeToLiveOutput::builder().build());
        let again = ttl_refused("ValidationException", "TimeToLive is already enabled");
        for ttl in [enabled, again] {
            let stack = provision_with_ttl(&ttl).await.unwrap();
            assert_eq!(stack.warnings, Vec::<String>::new());
        }
    }

    #[tokio::test]
    async fn a_bucket_left_by_an_earlier_run_is_used_and_other_failures_stop() {
        use aws_sdk_s3::types::error::{BucketAlreadyExists, BucketAlreadyOwnedByYou};
        let owned = mock!(aws_sdk_s3::Client::create_bucket).then_error(|| {
            CreateBucketError::BucketAlreadyOwnedByYou(BucketAlreadyOwnedByYou::builder().build())
        });
        let exists = mock!(aws_sdk_s3::Client::create_bucket).then_error(|| {
            CreateBucketError::BucketAlreadyExists(BucketAlreadyExists::builder().build())
        });
        for rule in [owned, exists] {
            let s3 = mock_client!(aws_sdk_s3, [&rule]);
            create_bucket(&s3, "inlet-payloads").await.unwrap();
        }
        let denied = mock!(aws_sdk_s3::Client::create_bucket).then_error(|| {
            CreateBucketError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("no")
                    .build(),
            )
        });
        let s3 = mock_client!(aws_sdk_s3, [&denied]);
        let error = create_bucket(&s3, "inlet-payloads").await.unwrap_err();
        assert!(error.to_string().contains("create the bucket"), "{error}");
    }
}
