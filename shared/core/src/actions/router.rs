//! The config's `[[routes]]` as a [`Handler`]: the first route whose source and event filter
//! match an event runs its action.

use crate::actions::forward::Forwarder;
use crate::actions::{ActionError, Event, Handled, Handler};
use crate::config::{Action, Config, EventFilter};
use crate::ports::SecretStore;
use crate::secrets::{SecretError, SecretResolver};
use inlet_signature::Key;
use std::time::Duration;

#[derive(Debug)]
enum Target {
    Forward {
        url: String,
        key: Key,
        timeout: Duration,
    },
    Log,
}

#[derive(Debug)]
struct CompiledRoute {
    source: String,
    events: Option<EventFilter>,
    target: Target,
}

/// Routes events to forward or log actions.
#[derive(Debug)]
pub struct Router {
    routes: Vec<CompiledRoute>,
    forwarder: Forwarder,
}

impl Router {
    /// Resolves every forward secret now: a missing one is a start-up error.
    pub async fn load<S: SecretStore>(
        config: &Config,
        resolver: &SecretResolver<S>,
        forwarder: Forwarder,
    ) -> Result<Self, SecretError> {
        let mut routes = Vec::with_capacity(config.routes.len());
        for (index, route) in config.routes.iter().enumerate() {
            let target = match &route.action {
                Action::Forward {
                    url,
                    secret,
                    timeout_ms,
                } => {
                    let value = resolver.resolve(secret).await?;
                    // Outbound deliveries are signed the Standard Webhooks way, so the receiver
                    // can verify them with any of that scheme's libraries.
                    let key = inlet_signature::providers::standard_webhooks::PROVIDER
                        .key(&value)
                        .map_err(|error| SecretError::Key {
                            source_name: format!("routes[{index}]"),
                            index: 0,
                            error,
                        })?;
                    Target::Forward {
                        url: url.clone(),
                        key,
                        timeout: Duration::from_millis(*timeout_ms),
                    }
                }
                Action::Log => Target::Log,
            };
            routes.push(CompiledRoute {
                source: route.source.clone(),
                events: route.events.clone(),
                target,
            });
        }
        Ok(Self { routes, forwarder })
    }

    fn route_for(&self, event: &Event<'_>) -> Option<&CompiledRoute> {
        let envelope = event.envelope;
        self.routes.iter().find(|route| {
            route.source == envelope.source
                && route
                    .events
                    .as_ref()
                    .is_none_or(|filter| filter.allows(envelope.event_type.as_deref()))
        })
    }
}

impl Handler for Router {
    async fn handle(&self, event: Event<'_>) -> Result<Handled, ActionError> {
        let envelope = event.envelope;
        match self.route_for(&event).map(|route| &route.target) {
            Some(Target::Forward { url, key, timeout }) => {
                self.forwarder.forward(url, key, *timeout, &event).await?;
                Ok(Handled::Done)
            }
            Some(Target::Log) => {
                tracing::info!(
                    key = %envelope.key,
                    source = %envelope.source,
                    event_type = envelope.event_type.as_deref().unwrap_or(""),
                    bytes = event.body.len(),
                    "event"
                );
                Ok(Handled::Done)
            }
            None => {
                tracing::info!(key = %envelope.key, source = %envelope.source, "no route: completed");
                Ok(Handled::Unrouted)
            }
        }
    }
}
