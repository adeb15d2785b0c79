//! The ingest Lambda: wiring only. Everything it does lives in `inlet::ingest`.

use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use inlet::aws::{self, SecretsManager, SqsQueue};
use inlet::config::Config;
use inlet::ingest::Ingest;
use inlet::metrics::Metrics;
use inlet::secrets::{Env, KeyRing, SecretResolver};
use inlet::{clock, lambda, telemetry};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::time::SystemTime;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // Any problem here stops the function before it serves a request: fail closed.
    let config = Config::from_env()?;
    let queue_url = std::env::var("INLET_QUEUE_URL").map_err(|_| "INLET_QUEUE_URL is not set")?;
    let sdk = aws::lambda_sdk_config(|name| std::env::var(name).ok())?;
    let queue = SqsQueue::from_config(&sdk, queue_url);
    let resolver = SecretResolver::new(Env::Process, SecretsManager::from_config(&sdk));
    let keys = KeyRing::load(&config, resolver).await?;
    let fifo = queue.is_fifo();
    // Lives as long as the process; leaking it lets every invocation borrow it without a lock.
    let ingest: &'static Ingest<_, _> = Box::leak(Box::new(
        Ingest::new(config, keys, queue, fifo).with_metrics(Metrics::Stdout),
    ));

    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            // The replay window runs from when API Gateway received the request, which is also what
            // lets `sam local invoke` replay the committed fixtures; the own clock is the fallback.
            let now_ms = lambda::received_at_ms(&event.payload)
                .unwrap_or_else(|| clock::epoch_millis(SystemTime::now()));
            let response: ApiGatewayV2httpResponse =
                lambda::handle(ingest, &event.payload, now_ms).await;
            Ok::<_, Error>(response)
        },
    ))
    .await
}
