//! The one wiring: how the pipelines are put together on AWS, used by both functions, by custom
//! process functions, and by `inlet dev` (which takes the resources from its local stack instead
//! of the environment). Nothing else assembles a pipeline, so no copy can drift from the
//! functions — a custom function gets the same metrics, secrets and deadline handling.

use crate::destinations::AwsDestinations;
use crate::lambda;
use crate::{DynamoStore, LambdaSdkError, S3Objects, SecretsManager, SqsQueue};
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use inlet_core::actions::Handler;
use inlet_core::actions::forward::Forwarder;
use inlet_core::actions::router::{Router, RouterError};
use inlet_core::archive::Archive;
use inlet_core::claims::{ClaimChecks, PayloadStore};
use inlet_core::config::{Config, ConfigError};
use inlet_core::ingest::Ingest;
use inlet_core::metrics::Metrics;
use inlet_core::ports::{DeliveryGuards, SecretStore};
use inlet_core::process::{Deadline, Process};
use inlet_core::secrets::{Env, KeyRing, SecretError, SecretResolver};
use inlet_core::telemetry;
use inlet_signature::clock;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;
use std::time::SystemTime;

/// The ingest pipeline as deployed.
pub type IngestPipeline = Ingest<SqsQueue, SecretsManager>;
/// The process pipeline as deployed, around the user's handler.
pub type ProcessPipeline<H> = Process<DynamoStore, SqsQueue, SqsQueue, H>;

/// Why a function could not start. Each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sdk(#[from] LambdaSdkError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("{0} is not set")]
    MissingVariable(&'static str),
    #[error("cannot build the forward client: {0}")]
    Forwarder(String),
    #[error(transparent)]
    Routes(#[from] RouterError),
}

/// Where the pipelines' AWS resources are: `INLET_QUEUE_URL`, `INLET_DLQ_URL`, `INLET_TABLE` and
/// `INLET_BUCKET` in Lambda (template.yaml sets them), the provisioned stack in `inlet dev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub table_name: String,
    /// The payload bucket: claim checks under `claims/`, the archive (by default) under
    /// `archive/`.
    pub bucket_name: String,
}

/// One SDK client per service, built once from one SDK config and shared by the pipelines.
#[derive(Debug, Clone)]
pub struct Clients {
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub secrets: SecretsManager,
    /// The config every client here was built from. Route destinations
    /// ([`crate::destinations::AwsDestinations`]) build their SNS and EventBridge clients from
    /// it, the same HTTPS client, timeouts and credentials, and only when a route needs one: ingest
    /// and a forward-only process never build them.
    pub sdk: aws_config::SdkConfig,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            s3: crate::s3_client(sdk),
            secrets: SecretsManager::from_config(sdk),
            sdk: sdk.clone(),
        }
    }
}

/// The ingest pipeline over the queue at `queue_url`, with every source's keys in `keys`;
/// bodies too large for the queue go to `bucket` (claim checks).
pub fn ingest_pipeline(
    config: Config,
    keys: KeyRing<SecretsManager>,
    clients: &Clients,
    queue_url: &str,
    bucket: &str,
    metrics: Metrics,
) -> IngestPipeline {
    let queue = SqsQueue::new(clients.sqs.clone(), queue_url);
    let fifo = queue.is_fifo();
    Ingest::new(config, keys, queue, fifo)
        .with_metrics(metrics)
        .with_payloads(payloads(clients, bucket))
}

/// The claim checks in `bucket`, as both pipelines hold them.
pub fn payloads(clients: &Clients, bucket: &str) -> Arc<dyn PayloadStore> {
    Arc::new(ClaimChecks(S3Objects::new(clients.s3.clone(), bucket)))
}

/// The config's `[[routes]]`, every forward secret resolved and every transform compiled now: a
/// missing secret or a bad program stops start-up. AWS destinations use `clients`' SDK config.
pub async fn config_router<S: SecretStore>(
    config: &Config,
    resolver: &SecretResolver<S>,
    clients: &Clients,
) -> Result<Router, WiringError> {
    let forwarder = Forwarder::new().map_err(|e| WiringError::Forwarder(e.to_string()))?;
    // The pipelines' SQS client; SNS and EventBridge clients from the same SDK config, built
    // only when a route needs one.
    let destinations = AwsDestinations::from_sdk_config(&clients.sdk).with_sqs(clients.sqs.clone());
    Ok(Router::load(config, resolver, forwarder, &destinations).await?)
}

/// The process pipeline around `handler`, over the stack's table and queues; with `[archive]`,
/// every batch is archived (in `[archive] bucket`, else the stack's bucket) before it runs.
pub fn process_pipeline<H: Handler>(
    config: &Config,
    clients: &Clients,
    resources: &Resources,
    handler: H,
    metrics: Metrics,
) -> ProcessPipeline<H> {
    let store = DynamoStore::new(clients.dynamodb.clone(), &resources.table_name);
    // The same table keeps every destination's breaker and rate-limit slots, shared by every
    // process function.
    let guards: Arc<dyn DeliveryGuards> = Arc::new(store.clone());
    let pipeline = Process::new(
        store,
        SqsQueue::new(clients.sqs.clone(), &resources.dead_letter_queue_url),
        SqsQueue::new(clients.sqs.clone(), &resources.queue_url),
        handler,
        config.process.clone(),
    )
    .with_metrics(metrics)
    .with_payloads(payloads(clients, &resources.bucket_name))
    .with_guards(guards);
    match &config.archive {
        Some(settings) => {
            let bucket = settings
                .bucket
                .clone()
                .unwrap_or_else(|| resources.bucket_name.clone());
            let objects = S3Objects::new(clients.s3.clone(), bucket);
            pipeline.with_archive(Arc::new(Archive::new(objects, settings.prefix.clone())))
        }
        None => pipeline,
    }
}

fn required(name: &'static str) -> Result<String, WiringError> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .ok_or(WiringError::MissingVariable(name))
}

/// What both functions read at start-up: the config (`load`: [`Config::from_env_for_ingest`] or
/// [`Config::from_env_for_process`]), the SDK config and the secret resolver. Any problem stops
/// the function before it serves anything: fail closed.
fn start(
    load: fn() -> Result<Config, ConfigError>,
) -> Result<(Config, Clients, SecretResolver<SecretsManager>), WiringError> {
    telemetry::init();
    let config = load()?;
    let sdk = crate::lambda_sdk_config(|name| std::env::var(name).ok())?;
    let clients = Clients::new(&sdk);
    let resolver = SecretResolver::new(Env::Process, clients.secrets.clone());
    Ok((config, clients, resolver))
}

/// The ingest Lambda: builds the pipeline from the environment and serves API Gateway's
/// HTTP API events until the runtime stops the process.
pub async fn run_ingest() -> Result<(), lambda_runtime::Error> {
    let (config, clients, resolver) = start(Config::from_env_for_ingest)?;
    let queue_url = required("INLET_QUEUE_URL")?;
    let bucket = required("INLET_BUCKET")?;
    let keys = KeyRing::load(&config, resolver).await?;
    // Lives as long as the process; leaking it lets every invocation borrow it without a lock.
    let ingest: &'static IngestPipeline = Box::leak(Box::new(ingest_pipeline(
        config,
        keys,
        &clients,
        &queue_url,
        &bucket,
        Metrics::Stdout,
    )));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            // The replay window runs from when API Gateway received the request, which is also
            // what lets `sam local invoke` replay the committed fixtures; our clock is the
            // fallback.
            let now_ms = lambda::received_at_ms(&event.payload)
                .unwrap_or_else(|| clock::epoch_millis(SystemTime::now()));
            let xray = event.context.xray_trace_id.as_deref();
            Ok::<_, lambda_runtime::Error>(
                lambda::handle(ingest, &event.payload, now_ms, xray).await,
            )
        },
    ))
    .await
}

/// The process Lambda around the handler `handler_for` makes from the config's routes: pass
/// `|routes| routes` for the routes alone, or wrap them to run your own code for some events.
pub async fn run_process<H, F>(handler_for: F) -> Result<(), lambda_runtime::Error>
where
    H: Handler + 'static,
    F: FnOnce(Router) -> H,
{
    let (config, clients, resolver) = start(Config::from_env_for_process)?;
    let resources = Resources {
        queue_url: required("INLET_QUEUE_URL")?,
        dead_letter_queue_url: required("INLET_DLQ_URL")?,
        table_name: required("INLET_TABLE")?,
        bucket_name: required("INLET_BUCKET")?,
    };
    let routes = config_router(&config, &resolver, &clients).await?;
    // Lives as long as the process; leaking it lets every invocation borrow it without a lock.
    let process: &'static ProcessPipeline<H> = Box::leak(Box::new(process_pipeline(
        &config,
        &clients,
        &resources,
        handler_for(routes),
        Metrics::Stdout,
    )));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        // Lambda-Runtime-Deadline-Ms as the runtime read it. Not every Runtime API sends a real
        // one (`cargo lambda watch` sends 600000): the pipeline judges it and falls back to a
        // default timeout, so an out-of-range value only has to stay out of range here.
        let deadline = Deadline {
            now_ms: clock::epoch_millis(SystemTime::now()),
            deadline_ms: i64::try_from(event.context.deadline).unwrap_or(i64::MAX),
        };
        Ok::<_, lambda_runtime::Error>(lambda::handle_sqs(process, &event.payload, deadline).await)
    }))
    .await
}
