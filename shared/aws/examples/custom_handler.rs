//! A process Lambda that runs your own Rust code for some events and the config's routes for
//! the rest. Build it as your `process` binary in place of `functions/process`.

use inlet_core::actions::router::Router;
use inlet_core::actions::{ActionError, Event, Handled, Handler};

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
async fn main() -> Result<(), lambda_runtime::Error> {
    // The same wiring as the stock process function: config, secrets, metrics and deadline
    // handling come from there; only the handler is yours.
    inlet_aws::wiring::run_process(|routes| Billing { routes }).await
}
