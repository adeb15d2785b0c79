//! A process Lambda that runs your own Rust code for some events and the config's routes for
//! the rest. Build it as your `process` binary in place of `functions/process`.

use aws_lambda_events::event::sqs::SqsEvent;
use inlet::aws::{self, DynamoStore, SecretsManager, SqsQueue};
use inlet::config::Config;
use inlet::forward::Forwarder;
use inlet::process::{ActionError, Deadline, Event, Handled, Handler, Process};
use inlet::routes::Router;
use inlet::secrets::{Env, SecretResolver};
use lambda_runtime::{Error, LambdaEvent, service_fn};

/// Your processing. Return `Transient` for what may pass on a retry (SQS redelivers with
/// backoff) and `Permanent` for what never will (the event goes to the dead-letter queue).
struct Billing {
    routes: Router,
}

impl Handler for Billing {
    async fn handle(&self, event: Event<'_>) -> Result<Handled, ActionError> {
        let envelope = event.envelope;
        if envelope.source != "stripe" {
            return self.routes.handle(event).await;
        }
        let payload: serde_json::Value = serde_json::from_slice(event.body)
            .map_err(|e| ActionError::Permanent(format!("not JSON: {e}")))?;
        match envelope.event_type.as_deref() {
            Some("invoice.paid") => {
                // Runs once per event key: Inlet has claimed it before calling you.
                tracing::info!(key = %envelope.key, amount = %payload["data"]["object"]["amount_paid"], "invoice paid");
                Ok(Handled::Done)
            }
            _ => Ok(Handled::Unrouted),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    inlet::telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws::lambda_sdk_config(|name| std::env::var(name).ok())?;
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let resolver = SecretResolver::new(Env::Process, SecretsManager::from_config(&sdk));
    let routes = Router::load(&config, &resolver, Forwarder::new()?).await?;
    let process: &'static Process<_, _, _, _> = Box::leak(Box::new(Process::new(
        DynamoStore::from_config(&sdk, env("INLET_TABLE")?),
        SqsQueue::from_config(&sdk, env("INLET_DLQ_URL")?),
        SqsQueue::from_config(&sdk, env("INLET_QUEUE_URL")?),
        Billing { routes },
        config.process.clone(),
    )));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let now_ms = inlet::clock::epoch_millis(std::time::SystemTime::now());
        let deadline_ms = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
        let clock = Deadline {
            now_ms,
            deadline_ms,
        };
        Ok::<_, Error>(inlet::lambda::handle_sqs(process, &event.payload, clock).await)
    }))
    .await
}
