//! The process Lambda: wiring only. Everything it does lives in `inlet::process`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use inlet::aws::{self, DynamoStore, SecretsManager, SqsQueue};
use inlet::config::Config;
use inlet::forward::Forwarder;
use inlet::metrics::Metrics;
use inlet::process::{Deadline, Process};
use inlet::routes::Router;
use inlet::secrets::{Env, SecretResolver};
use inlet::{clock, lambda, telemetry};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::time::SystemTime;

fn required(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // Any problem here stops the function before it takes a batch: fail closed.
    let config = Config::from_env()?;
    let sdk = aws::lambda_sdk_config(|name| std::env::var(name).ok())?;
    let store = DynamoStore::from_config(&sdk, required("INLET_TABLE")?);
    let dead_letters = SqsQueue::from_config(&sdk, required("INLET_DLQ_URL")?);
    let queue = SqsQueue::from_config(&sdk, required("INLET_QUEUE_URL")?);
    let resolver = SecretResolver::new(Env::Process, SecretsManager::from_config(&sdk));
    let router = Router::load(&config, &resolver, Forwarder::new()?).await?;
    let settings = config.process.clone();
    // Lives as long as the process; leaking it lets every invocation borrow it without a lock.
    let process: &'static Process<_, _, _, _> = Box::leak(Box::new(
        Process::new(store, dead_letters, queue, router, settings).with_metrics(Metrics::Stdout),
    ));

    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let now_ms = clock::epoch_millis(SystemTime::now());
        let deadline_ms = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
        let response: SqsBatchResponse = lambda::handle_sqs(
            process,
            &event.payload,
            Deadline {
                now_ms,
                deadline_ms,
            },
        )
        .await;
        Ok::<_, Error>(response)
    }))
    .await
}
