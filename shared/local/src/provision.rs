//! Creating the queue, dead-letter queue, table and payload bucket as `template.yaml` declares
//! them.

use crate::{StackError, failed};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use inlet_aws::wiring::Resources;
use inlet_core::config::{Action, QueueLimits, Route};

/// The resource settings `template.yaml` declares; a test keeps the two in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettings {
    pub queue_name: String,
    pub dead_letter_queue_name: String,
    pub table_name: String,
    /// The process function's timeout, which the queue's visibility timeout must cover 6 times.
    pub process_timeout_secs: u32,
    pub visibility_timeout_secs: u32,
    /// The queue's safety net, sized (as the template's `MaxReceiveCount`) so that it never cuts
    /// a retry schedule short.
    pub max_receive_count: u32,
    /// The queue's `MessageRetentionPeriod` (the template's `QueueRetentionSeconds`).
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
        // What the config is checked against when nothing says otherwise (`inlet dev` loads it
        // with the defaults): the local queue must hold what that check let through.
        let queue = QueueLimits::default();
        Self {
            queue_name: "inlet-events".into(),
            dead_letter_queue_name: "inlet-events-dlq".into(),
            table_name: "inlet-idempotency".into(),
            process_timeout_secs: 30,
            visibility_timeout_secs: 180,
            max_receive_count: queue.max_receive_count,
            queue_retention_secs: queue.retention_secs,
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

// ---- the routes' destinations ----

/// The account every resource of the emulator (moto) is created in.
pub const EMULATOR_ACCOUNT: &str = "123456789012";

/// One route's AWS destination as created in the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedDestination {
    /// The route's name.
    pub route: String,
    /// `sqs`, `sns` or `eventbridge`.
    pub kind: &'static str,
    /// The queue URL, topic ARN or bus (name or ARN) as the config names it.
    pub configured: String,
    /// The queue URL, topic ARN or bus ARN the emulator has.
    pub created: String,
}

impl ProvisionedDestination {
    /// Whether the configured address names the created resource in the emulator: a queue's
    /// account and name (the emulator's host is never the configured one), a topic's whole ARN,
    /// a bus's ARN when the config gives one (a name is found in any account).
    pub fn matches_config(&self) -> bool {
        match self.kind {
            "sqs" => account_and_name(&self.configured) == account_and_name(&self.created),
            _ if self.configured.starts_with("arn:") => self.configured == self.created,
            _ => true,
        }
    }

    /// One line for the user when the config names another account or region than the
    /// emulator's: what was created instead, and whether deliveries still arrive.
    pub fn warning(&self) -> Option<String> {
        if self.matches_config() {
            return None;
        }
        let effect = match self.kind {
            // moto finds queues and buses by name, topics only by their whole ARN.
            "sns" => {
                "publishing to the configured ARN fails locally (NotFound): use the created ARN in \
                 the config `inlet dev` runs"
            }
            _ => "the emulator finds it by name, so deliveries still arrive",
        };
        Some(format!(
            "route `{}`: the {} `{}` names another account or region than the emulator's \
             (account {EMULATOR_ACCOUNT}); created `{}` instead; {effect}",
            self.route, self.kind, self.configured, self.created
        ))
    }
}

/// A queue URL's last two path segments: the account and the queue name.
fn account_and_name(queue_url: &str) -> Option<(String, String)> {
    let url = url::Url::parse(queue_url).ok()?;
    let mut segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let name = segments.pop()?.to_owned();
    let account = segments.pop()?.to_owned();
    Some((account, name))
}

/// The clients [`provision_destinations`] creates with.
#[derive(Debug, Clone)]
pub struct DestinationClients {
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
}

impl DestinationClients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            eventbridge: aws_sdk_eventbridge::Client::new(sdk),
        }
    }
}

/// Creates every AWS destination `routes` deliver to, in the emulator `sdk` points at: for
/// `sqs` the queue the URL names (its last path segment; FIFO when it ends `.fifo`), for `sns`
/// the topic the ARN names (FIFO likewise), for `eventbridge` the bus (a name, or the name in
/// an ARN; `default` always exists). Creating what exists is harmless, so every `inlet dev`
/// start calls it. One entry per route with an AWS destination, in the routes' order: compare
/// [`ProvisionedDestination::created`] with what the config names ([`ProvisionedDestination::warning`]).
pub async fn provision_destinations(
    routes: &[Route],
    sdk: &aws_config::SdkConfig,
) -> Result<Vec<ProvisionedDestination>, StackError> {
    create_destinations(routes, &DestinationClients::new(sdk)).await
}

/// [`provision_destinations`] with the clients given.
pub async fn create_destinations(
    routes: &[Route],
    clients: &DestinationClients,
) -> Result<Vec<ProvisionedDestination>, StackError> {
    let mut created = Vec::new();
    for route in routes {
        let address = match &route.action {
            Action::Sqs { queue_url, .. } => create_queue(&clients.sqs, queue_url).await?,
            Action::Sns { topic_arn } => create_topic(&clients.sns, topic_arn).await?,
            Action::EventBridge { bus } => create_event_bus(&clients.eventbridge, bus).await?,
            _ => continue,
        };
        created.push(ProvisionedDestination {
            route: route.name.clone(),
            kind: route.action.kind(),
            configured: route.action.target().to_owned(),
            created: address,
        });
    }
    Ok(created)
}

fn destination_failed<E: std::error::Error>(
    step: &'static str,
    name: &str,
) -> impl FnOnce(E) -> StackError {
    move |error| StackError {
        step,
        detail: format!("`{name}`: {}", crate::one_line(&error)),
    }
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<String, StackError> {
    let name = account_and_name(queue_url)
        .map(|(_, name)| name)
        .or_else(|| {
            url::Url::parse(queue_url)
                .ok()?
                .path_segments()?
                .rfind(|s| !s.is_empty())
                .map(str::to_owned)
        })
        .ok_or_else(|| StackError {
            step: "create a route's queue",
            detail: format!("`{queue_url}` names no queue (its last path segment)"),
        })?;
    let mut request = sqs.create_queue().queue_name(&name);
    if name.ends_with(".fifo") {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    Ok(request
        .send()
        .await
        .map_err(destination_failed("create a route's queue", &name))?
        .queue_url
        .unwrap_or_default())
}

async fn create_topic(sns: &aws_sdk_sns::Client, topic_arn: &str) -> Result<String, StackError> {
    let name = topic_arn.rsplit(':').next().unwrap_or(topic_arn);
    let mut request = sns.create_topic().name(name);
    if name.ends_with(".fifo") {
        request = request.attributes("FifoTopic", "true");
    }
    Ok(request
        .send()
        .await
        .map_err(destination_failed("create a route's topic", name))?
        .topic_arn
        .unwrap_or_default())
}

/// The bus a route's `bus` names: the name itself, or the part of an ARN after `event-bus/`.
fn bus_name(bus: &str) -> &str {
    match bus.split_once(":event-bus/") {
        Some((_, name)) if bus.starts_with("arn:") => name,
        _ => bus,
    }
}

async fn create_event_bus(
    eventbridge: &aws_sdk_eventbridge::Client,
    bus: &str,
) -> Result<String, StackError> {
    let name = bus_name(bus);
    if name != "default" {
        match eventbridge.create_event_bus().name(name).send().await {
            Ok(output) => {
                if let Some(arn) = output.event_bus_arn {
                    return Ok(arn);
                }
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
            Err(error) => {
                return Err(destination_failed("create a route's event bus", name)(
                    error,
                ));
            }
        }
    }
    Ok(eventbridge
        .describe_event_bus()
        .name(name)
        .send()
        .await
        .map_err(destination_failed("read a route's event bus", name))?
        .arn
        .unwrap_or_default())
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

    // ---- the routes' destinations ----

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

    fn destination_routes() -> Vec<Route> {
        vec![
            route(
                "orders",
                Action::Sqs {
                    queue_url: "https://sqs.eu-west-1.amazonaws.com/111111111111/orders.fifo"
                        .into(),
                    group_pointer: None,
                },
            ),
            route("audit", Action::Log),
            route(
                "fanout",
                Action::Sns {
                    topic_arn: "arn:aws:sns:us-east-1:123456789012:events".into(),
                },
            ),
            route(
                "bus",
                Action::EventBridge {
                    bus: "arn:aws:events:us-east-1:123456789012:event-bus/audit".into(),
                },
            ),
            route(
                "default-bus",
                Action::EventBridge {
                    bus: "default".into(),
                },
            ),
        ]
    }

    #[tokio::test]
    async fn each_route_destination_is_created_by_name_and_fifo_stays_fifo() {
        use aws_sdk_eventbridge::operation::create_event_bus::CreateEventBusError;
        use aws_sdk_eventbridge::operation::describe_event_bus::DescribeEventBusOutput;
        use aws_sdk_sns::operation::create_topic::CreateTopicOutput;
        let queue = mock!(aws_sdk_sqs::Client::create_queue)
            .match_requests(|r| {
                r.queue_name() == Some("orders.fifo")
                    && r.attributes()
                        .and_then(|a| a.get(&QueueAttributeName::FifoQueue))
                        == Some(&"true".to_owned())
            })
            .then_output(|| {
                CreateQueueOutput::builder()
                    .queue_url("http://127.0.0.1:5000/123456789012/orders.fifo")
                    .build()
            });
        let topic = mock!(aws_sdk_sns::Client::create_topic)
            .match_requests(|r| r.name() == Some("events") && r.attributes().is_none())
            .then_output(|| {
                CreateTopicOutput::builder()
                    .topic_arn("arn:aws:sns:us-east-1:123456789012:events")
                    .build()
            });
        // The bus exists from an earlier run: its ARN is read back.
        let exists = mock!(aws_sdk_eventbridge::Client::create_event_bus)
            .match_requests(|r| r.name() == Some("audit"))
            .then_error(|| {
                CreateEventBusError::ResourceAlreadyExistsException(
                    aws_sdk_eventbridge::types::error::ResourceAlreadyExistsException::builder()
                        .build(),
                )
            });
        let describe = |name: &'static str| {
            mock!(aws_sdk_eventbridge::Client::describe_event_bus)
                .match_requests(move |r| r.name() == Some(name))
                .then_output(move || {
                    DescribeEventBusOutput::builder()
                        .arn(format!(
                            "arn:aws:events:us-east-1:123456789012:event-bus/{name}"
                        ))
                        .build()
                })
        };
        let (audit, default) = (describe("audit"), describe("default"));
        let clients = DestinationClients {
            sqs: mock_client!(aws_sdk_sqs, [&queue]),
            sns: mock_client!(aws_sdk_sns, [&topic]),
            eventbridge: mock_client!(aws_sdk_eventbridge, [&exists, &audit, &default]),
        };
        let created = create_destinations(&destination_routes(), &clients)
            .await
            .unwrap();
        let summary: Vec<(&str, &str, &str)> = created
            .iter()
            .map(|d| (d.route.as_str(), d.kind, d.created.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "orders",
                    "sqs",
                    "http://127.0.0.1:5000/123456789012/orders.fifo"
                ),
                ("fanout", "sns", "arn:aws:sns:us-east-1:123456789012:events"),
                (
                    "bus",
                    "eventbridge",
                    "arn:aws:events:us-east-1:123456789012:event-bus/audit"
                ),
                (
                    "default-bus",
                    "eventbridge",
                    "arn:aws:events:us-east-1:123456789012:event-bus/default"
                ),
            ]
        );
        // The queue's configured account is not the emulator's: said, though moto finds it.
        let warning = created[0].warning().unwrap();
        assert!(
            warning.contains("orders") && warning.contains("by name"),
            "{warning}"
        );
        assert!(created[1..].iter().all(|d| d.warning().is_none()));
        assert_eq!(
            (queue.num_calls(), topic.num_calls(), exists.num_calls()),
            (1, 1, 1)
        );
    }

    #[test]
    fn a_topic_in_another_account_or_region_is_warned_about() {
        let topic = ProvisionedDestination {
            route: "fanout".into(),
            kind: "sns",
            configured: "arn:aws:sns:eu-west-1:111111111111:events".into(),
            created: "arn:aws:sns:us-east-1:123456789012:events".into(),
        };
        let warning = topic.warning().unwrap();
        assert!(warning.contains("NotFound"), "{warning}");
        assert!(warning.contains(&topic.created), "{warning}");
        let queue = ProvisionedDestination {
            route: "q".into(),
            kind: "sqs",
            configured: "https://sqs.us-east-1.amazonaws.com/123456789012/orders".into(),
            created: "http://127.0.0.1:5055/123456789012/orders".into(),
        };
        assert_eq!(queue.warning(), None);
        assert_eq!(
            bus_name("arn:aws:events:eu-west-1:1:event-bus/audit"),
            "audit"
        );
        assert_eq!(bus_name("audit"), "audit");
    }

    #[tokio::test]
    async fn a_refused_destination_stops_naming_it() {
        use aws_sdk_sqs::operation::create_queue::CreateQueueError;
        let denied = mock!(aws_sdk_sqs::Client::create_queue).then_error(|| {
            CreateQueueError::generic(
                aws_sdk_sqs::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("no")
                    .build(),
            )
        });
        let clients = DestinationClients {
            sqs: mock_client!(aws_sdk_sqs, [&denied]),
            sns: mock_client!(aws_sdk_sns, []),
            eventbridge: mock_client!(aws_sdk_eventbridge, []),
        };
        let error = create_destinations(&destination_routes()[..1], &clients)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("create a route's queue") && error.contains("orders.fifo"),
            "{error}"
        );
    }
}
