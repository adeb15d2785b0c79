//! Every route of the source against the tested delivery: whether it matches, why not, and
//! what a matching one delivers.

use super::delivery::{TEST_EVENT_ID, Tested};
use super::explain::{explain, filter_names, quoted};
use super::outcome::{Delivers, RouteResult};
use inlet_core::actions::Event;
use inlet_core::actions::matching::Matcher;
use inlet_core::actions::route_table::{CompiledRoute, RouteTable};
use serde_json::Value;

impl Tested<'_> {
    fn event(&self) -> Event<'_> {
        Event {
            envelope: &self.envelope,
            body: &self.body,
            message_id: TEST_EVENT_ID,
        }
    }

    /// Every route of the source, in the config's order.
    pub(super) async fn run(&self, table: &RouteTable) -> Vec<RouteResult> {
        let event = self.event();
        let matching: Vec<&str> = table
            .matching(&event)
            .into_iter()
            .map(CompiledRoute::name)
            .collect();
        let matcher = Matcher::new(&self.envelope, &self.body);
        let mut results = Vec::new();
        for (index, compiled) in table.routes().iter().enumerate() {
            let route = &compiled.route;
            if route.source != self.source.name {
                continue;
            }
            let matches = self.not_queued.is_none() && matching.contains(&compiled.name());
            let why_not = if matches {
                Vec::new()
            } else if let Some(why) = &self.not_queued {
                vec![why.clone()]
            } else {
                self.why_not(index, compiled, &matcher)
            };
            let delivers = if matches {
                Some(match compiled.reshape(&event).await {
                    Ok(None) => Delivers::Unchanged {
                        bytes: self.body.len(),
                    },
                    Ok(Some(output)) => Delivers::Transformed(output),
                    Err(error) => Delivers::Failed {
                        reason: error
                            .reason()
                            .unwrap_or(inlet_core::actions::TRANSFORM_FAILED)
                            .to_owned(),
                        message: error.message().to_owned(),
                    },
                })
            } else {
                None
            };
            results.push(RouteResult {
                name: compiled.name().to_owned(),
                index,
                kind: route.action.kind(),
                target: route.action.target().to_owned(),
                why_not,
                delivers,
            });
        }
        results
    }

    /// Why a route of this source does not take the event: its `events` filter, and each `when`
    /// condition that does not hold, each by its key.
    fn why_not(
        &self,
        index: usize,
        compiled: &CompiledRoute,
        matcher: &Matcher<'_>,
    ) -> Vec<String> {
        let route = &compiled.route;
        let mut why = Vec::new();
        if let Some(filter) = &route.events {
            let event_type = self.envelope.event_type.as_deref();
            if !filter.allows(event_type) {
                let names = filter_names(filter);
                why.push(match event_type {
                    Some(t) => format!(
                        "routes[{index}].events: the type {} is not in {names}",
                        quoted(t)
                    ),
                    None => format!(
                        "routes[{index}].events: the event has no type, and {names} takes only \
                         typed events"
                    ),
                });
            }
        }
        let body = serde_json::from_slice::<Value>(&self.body).ok();
        for (i, condition) in compiled.when().iter().enumerate() {
            if !matcher.holds(std::slice::from_ref(condition)) {
                why.push(format!(
                    "routes[{index}].when[{i}]: {}",
                    explain(condition, &self.envelope, body.as_ref())
                ));
            }
        }
        if why.is_empty() {
            // The table said no and no part of the route says why: say so rather than nothing.
            why.push(format!("routes[{index}]: does not match"));
        }
        why
    }
}
