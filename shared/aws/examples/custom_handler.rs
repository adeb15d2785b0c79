//! A process Lambda that adds a route of your own Rust code to the config's routes. Build it as
//! your `process` binary in place of `functions/process`.

use inlet_core::actions::router::Router;
use inlet_core::actions::{ActionError, Event, Handler, RoutePolicy};

/// Your route's name: the pipeline records it as done per event, puts it in dead letters and
/// metrics, so keep it stable.
const BILLING: &str = "billing-code";

/// Your processing beside the config's routes. Return `Transient` for what may pass on a retry
/// (tried again on the `[process] retry_schedule`) and `Permanent` for what never will (the
/// event goes to the dead-letter queue, naming this route; a redrive runs only it).
struct Billing {
    routes: Router,
}

impl Handler for Billing {
    fn routes<'s>(&'s self, event: &Event<'_>) -> Vec<&'s str> {
        let mut routes = self.routes.routes(event);
        let envelope = event.envelope;
        if envelope.source == "stripe" && envelope.event_type.as_deref() == Some("invoice.paid") {
            routes.push(BILLING);
        }
        routes
    }

    /// The config's routes keep their retry schedules, circuit breakers and rate limits; yours
    /// has the process schedule and no breaker (it calls nothing the pipeline can see).
    fn policy<'s>(&'s self, route: &str) -> RoutePolicy<'s> {
        self.routes.policy(route)
    }

    async fn handle(&self, route: &str, event: Event<'_>) -> Result<(), ActionError> {
        if route != BILLING {
            return self.routes.handle(route, event).await;
        }
        let payload: serde_json::Value = serde_json::from_slice(event.body)
            .map_err(|e| ActionError::Permanent(format!("not JSON: {e}")))?;
        // Runs once per event: Inlet has claimed it, and records this route done, before and
        // after calling you.
        tracing::info!(key = %event.envelope.key, amount = %payload["data"]["object"]["amount_paid"], "invoice paid");
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // The same wiring as the stock process function: config, secrets, metrics and deadline
    // handling come from there; only the handler is yours.
    inlet_aws::wiring::run_process(|routes| Billing { routes }).await
}
