//! The config's routes compiled for matching and reshaping: which routes take an event (source,
//! `events`, `when`) and what each one's transform makes of it. No destinations, so `inlet
//! routes test` and `inlet check` use it without secrets or a cloud.

use crate::actions::destination::destination_id;
use crate::actions::matching::Matcher;
use crate::actions::transform::Transform;
use crate::actions::{ActionError, Event};
use crate::config::{Condition, Config, EventFilter, Route};
use crate::ports::DestinationId;

/// One compiled route.
#[derive(Debug)]
pub struct CompiledRoute {
    pub route: Route,
    transform: Option<Transform>,
    /// Where the action delivers, for its breaker and rate limit: hashed once here, not per
    /// event. `None` for a log line.
    destination: Option<DestinationId>,
}

impl CompiledRoute {
    pub fn name(&self) -> &str {
        &self.route.name
    }

    /// Whether the route takes `event`: its source, its `events` filter and every `when`.
    fn takes(&self, event: &Event<'_>, matcher: &Matcher<'_>) -> bool {
        let envelope = event.envelope;
        self.route.source == envelope.source
            && self
                .route
                .events
                .as_ref()
                .is_none_or(|filter: &EventFilter| filter.allows(envelope.event_type.as_deref()))
            && matcher.holds(&self.route.when)
    }

    /// The body this route delivers: the transform's output, or `None` for the event's own body.
    pub async fn reshape(&self, event: &Event<'_>) -> Result<Option<Vec<u8>>, ActionError> {
        match &self.transform {
            None => Ok(None),
            Some(transform) => transform
                .apply(event.body)
                .await
                .map(Some)
                .map_err(ActionError::TransformFailed),
        }
    }

    pub fn when(&self) -> &[Condition] {
        &self.route.when
    }

    /// The destination its breaker and rate limit go by; `None` for a log line.
    pub fn destination(&self) -> Option<&DestinationId> {
        self.destination.as_ref()
    }
}

/// A transform that does not compile: a config error, naming the route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TransformError {
    /// `routes[i].transform`.
    pub key: String,
    pub message: String,
}

/// Every route, in the config's order.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<CompiledRoute>,
}

impl RouteTable {
    /// Compiles every route's transform; the first that does not compile is the error.
    pub fn compile(config: &Config) -> Result<Self, TransformError> {
        let routes = config
            .routes
            .iter()
            .enumerate()
            .map(|(index, route)| {
                let transform = route
                    .transform
                    .as_deref()
                    .map(Transform::compile)
                    .transpose()
                    .map_err(|message| TransformError {
                        key: format!("routes[{index}].transform"),
                        message,
                    })?;
                Ok(CompiledRoute {
                    route: route.clone(),
                    transform,
                    destination: destination_id(&route.action),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { routes })
    }

    /// Every route, in order.
    pub fn routes(&self) -> &[CompiledRoute] {
        &self.routes
    }

    /// The routes that take `event`, in order.
    pub fn matching<'s>(&'s self, event: &Event<'_>) -> Vec<&'s CompiledRoute> {
        let matcher = Matcher::new(event.envelope, event.body);
        self.routes
            .iter()
            .filter(|route| route.takes(event, &matcher))
            .collect()
    }

    /// The route named `name`, with its place in the list.
    pub fn named(&self, name: &str) -> Option<(usize, &CompiledRoute)> {
        self.routes
            .iter()
            .enumerate()
            .find(|(_, route)| route.route.name == name)
    }
}
