//! The config's `[[routes]]` as a [`Handler`]: every route whose source, `events` and `when`
//! match an event runs, its transform applied, to its own destination.

use crate::actions::destination::{CloudDestinations, Delivery, Destination};
use crate::actions::forward::{ForwardTo, Forwarder};
use crate::actions::log::LogLine;
use crate::actions::route_table::{RouteTable, TransformError};
use crate::actions::{ActionError, Event, Handler, RoutePolicy};
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

    fn policy<'s>(&'s self, route: &str) -> RoutePolicy<'s> {
        // A route the config no longer has (a redriven dead letter's) has no policy of its own:
        // the process schedule, no breaker.
        let Some((_, compiled)) = self.table.named(route) else {
            return RoutePolicy::default();
        };
        RoutePolicy {
            schedule: compiled.route.retry_schedule.as_ref(),
            destination: compiled.destination(),
            rate_limit: compiled.route.rate_limit,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::destination::{NoCloud, destination_id};
    use crate::config::{RateLimit, RetrySchedule};
    use crate::ports::memory::MemorySecrets;
    use crate::secrets::Env;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    async fn router(config: &Config) -> Router {
        let env = Env::Map([("AGENT_SECRET".to_owned(), SECRET.to_owned())].into());
        let resolver = SecretResolver::new(env, MemorySecrets::default());
        Router::load(config, &resolver, Forwarder::new().unwrap(), &NoCloud)
            .await
            .unwrap()
    }

    fn config() -> Config {
        let mut config = Config::parse(
            r#"
[sources.github]
scheme = "github"
secrets = ["env:GITHUB_SECRET"]

[[routes]]
name = "agent"
source = "github"
action = { type = "forward", url = "https://agent.example/hooks?token=s3cr3t", secret = "env:AGENT_SECRET" }

# The same target as `agent`: one destination, one breaker.
[[routes]]
name = "mirror"
source = "github"
action = { type = "forward", url = "https://agent.example/hooks?token=s3cr3t", secret = "env:AGENT_SECRET" }

[[routes]]
name = "audit"
source = "github"
action = { type = "log" }
"#,
        )
        .unwrap();
        // Set here rather than in the TOML: the policy only passes on what the config holds.
        config.routes[0].retry_schedule = RetrySchedule::new(vec![10, 60]);
        config.routes[0].rate_limit = Some(RateLimit {
            calls: 5,
            per_secs: 1,
        });
        config
    }

    #[tokio::test]
    async fn a_routes_policy_is_its_schedule_destination_and_rate_limit() {
        let config = config();
        let router = router(&config).await;

        let agent = router.policy("agent");
        assert_eq!(agent.schedule, config.routes[0].retry_schedule.as_ref());
        assert_eq!(
            agent.schedule.map(RetrySchedule::steps),
            Some(&[10, 60][..])
        );
        assert_eq!(
            agent.rate_limit,
            Some(RateLimit {
                calls: 5,
                per_secs: 1
            })
        );
        let destination = agent.destination.unwrap();
        assert_eq!(
            Some(destination),
            destination_id(&config.routes[0].action).as_ref()
        );
        assert!(destination.key.starts_with("forward:"), "{destination:?}");
        assert!(!destination.label.contains("s3cr3t"), "{destination:?}");

        // A route without settings of its own takes the process schedule, unlimited.
        let mirror = router.policy("mirror");
        assert!(mirror.schedule.is_none() && mirror.rate_limit.is_none());
        assert_eq!(mirror.destination, Some(destination));

        // A log line has no destination to guard.
        let audit = router.policy("audit");
        assert!(audit.schedule.is_none() && audit.rate_limit.is_none());
        assert!(audit.destination.is_none());
    }

    #[tokio::test]
    async fn a_route_the_config_does_not_have_gets_the_default_policy() {
        let router = router(&config()).await;
        let gone = router.policy("gone");
        assert!(gone.schedule.is_none());
        assert!(gone.destination.is_none());
        assert!(gone.rate_limit.is_none());
    }
}
