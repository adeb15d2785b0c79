//! The config's `[[routes]]` as a [`Handler`]: every route whose source, `events` and `when`
//! match an event runs, its transform applied, to its own destination.

use crate::actions::destination::{CloudDestinations, Delivery, Destination};
use crate::actions::forward::{ForwardTo, Forwarder};
use crate::actions::log::LogLine;
use crate::actions::route_table::{RouteTable, TransformError};
use crate::actions::{ActionError, Event, Handler};
use crate::config::{Action, Config};
use crate::ports::SecretStore;
use crate::secrets::{SecretError, SecretResolver};
use std::sync::Arc;
use std::time::Duration;

/// Why the routes could not be built: a start-up error naming the route's key.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("routes[{index}].action.secret: {source}")]
    Secret {
        index: usize,
        #[source]
        source: SecretError,
    },
    #[error("routes[{index}].action.secret: {error}")]
    ForwardKey {
        index: usize,
        error: inlet_signature::KeyError,
    },
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error("routes[{index}].action.type: this build has no `{kind}` destination")]
    NoDestination { index: usize, kind: &'static str },
}

/// Routes events to their destinations.
#[derive(Debug)]
pub struct Router {
    table: RouteTable,
    /// Per route, in the table's order.
    destinations: Vec<Arc<dyn Destination>>,
}

impl Router {
    /// Compiles every transform and builds every destination now: a forward secret that does
    /// not resolve, a transform that does not compile, or a destination this build cannot make
    /// is a start-up error.
    pub async fn load<S: SecretStore>(
        config: &Config,
        resolver: &SecretResolver<S>,
        forwarder: Forwarder,
        cloud: &dyn CloudDestinations,
    ) -> Result<Self, RouterError> {
        let table = RouteTable::compile(config)?;
        let mut destinations: Vec<Arc<dyn Destination>> = Vec::with_capacity(config.routes.len());
        for (index, route) in config.routes.iter().enumerate() {
            let destination: Arc<dyn Destination> = match &route.action {
                Action::Forward {
                    url,
                    secret,
                    timeout_ms,
                } => {
                    let value = resolver
                        .resolve(secret)
                        .await
                        .map_err(|source| RouterError::Secret { index, source })?;
                    // Outbound deliveries are signed the Standard Webhooks way, so the receiver
                    // can verify them with any of that scheme's libraries.
                    let key = inlet_signature::providers::standard_webhooks::PROVIDER
                        .key(&value)
                        .map_err(|error| RouterError::ForwardKey { index, error })?;
                    Arc::new(ForwardTo {
                        forwarder: forwarder.clone(),
                        url: url.clone(),
                        key,
                        timeout: Duration::from_millis(*timeout_ms),
                    })
                }
                Action::Log => Arc::new(LogLine),
                other => cloud.build(other).ok_or(RouterError::NoDestination {
                    index,
                    kind: other.kind(),
                })?,
            };
            destinations.push(destination);
        }
        Ok(Self {
            table,
            destinations,
        })
    }

    /// The compiled routes, for tools that show them.
    pub fn table(&self) -> &RouteTable {
        &self.table
    }
}

impl Handler for Router {
    fn routes<'s>(&'s self, event: &Event<'_>) -> Vec<&'s str> {
        let names: Vec<&'s str> = self
            .table
            .matching(event)
            .into_iter()
            .map(|route| route.name())
            .collect();
        if names.is_empty() {
            tracing::info!(key = %event.envelope.key, source = %event.envelope.source, "no route: completed");
        }
        names
    }

    async fn handle(&self, route: &str, event: Event<'_>) -> Result<(), ActionError> {
        let Some((index, compiled)) = self.table.named(route) else {
            // Only a redriven dead letter can name a route the config no longer has; the
            // pipeline runs only routes `routes` gave, so this is a caller's mistake.
            return Err(ActionError::Permanent(format!("no route named `{route}`")));
        };
        let reshaped = compiled.reshape(&event).await?;
        let delivery = Delivery {
            event,
            route: compiled.name(),
            body: reshaped.as_deref().unwrap_or(event.body),
            transformed: reshaped.is_some(),
        };
        match self.destinations.get(index) {
            Some(destination) => destination.deliver(delivery).await,
            None => Err(ActionError::Permanent(format!(
                "no destination for `{route}`"
            ))),
        }
    }
}
