//! The inspector's view of each destination: its circuit breaker as the shared store has it
//! (closed, open until a time, half-open, or a probe out), and how often routes to it were held
//! back since `inlet dev` started.

use super::progress::rfc3339;
use inlet_core::actions::destination::destination_id;
use inlet_core::config::Route;
use inlet_core::ports::{BreakerState, DestinationId, StoreError};
use inlet_core::process::{Hold, RouteOutcome, RouteRun};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Routes held back per destination, by why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct HeldCounts {
    pub breaker_open: u64,
    pub rate_limited: u64,
    pub not_due: u64,
}

impl HeldCounts {
    fn count(&mut self, hold: Hold) {
        let count = match hold {
            Hold::BreakerOpen => &mut self.breaker_open,
            Hold::RateLimited => &mut self.rate_limited,
            Hold::NotDue => &mut self.not_due,
        };
        *count = count.saturating_add(1);
    }

    fn to_json(self) -> Value {
        json!({
            "total": self.breaker_open + self.rate_limited + self.not_due,
            "breaker_open": self.breaker_open,
            "rate_limited": self.rate_limited,
            "not_due": self.not_due,
        })
    }
}

/// Each route's destination, and the holds counted against each destination (in memory: since
/// this `inlet dev` started).
#[derive(Debug, Default)]
pub(super) struct Destinations {
    /// Route name to its destination; a `log` route has none.
    by_route: BTreeMap<String, DestinationId>,
    /// Destination key to its holds.
    held: BTreeMap<String, HeldCounts>,
}

impl Destinations {
    /// The destinations of the config's `routes`.
    pub(super) fn of_routes(routes: &[Route]) -> Self {
        Self {
            by_route: routes
                .iter()
                .filter_map(|route| Some((route.name.clone(), destination_id(&route.action)?)))
                .collect(),
            held: BTreeMap::new(),
        }
    }

    /// Counts the holds among one record's route runs against their destinations. A route the
    /// config does not have (a handler's own) has no destination known here.
    pub(super) fn count_holds(&mut self, runs: &[RouteRun]) {
        for run in runs {
            if let RouteOutcome::Held { hold, .. } = run.outcome
                && let Some(destination) = self.by_route.get(&run.route)
            {
                self.held
                    .entry(destination.key.clone())
                    .or_default()
                    .count(hold);
            }
        }
    }

    /// `GET /api/destinations`: every destination the config's routes have and every breaker the
    /// store records (one of a route since removed, too), by label; `breakers` as the store gave
    /// them (`None`: no store to ask), at `now_ms`.
    pub(super) fn report(
        &self,
        breakers: Option<Result<Vec<BreakerState>, StoreError>>,
        now_ms: i64,
    ) -> Value {
        let (breakers, error) = match breakers {
            Some(Ok(breakers)) => (breakers, None),
            Some(Err(error)) => (
                Vec::new(),
                Some(format!("cannot read the breakers: {error}")),
            ),
            None => (
                Vec::new(),
                Some("no breaker store: every breaker is shown closed".to_owned()),
            ),
        };
        let mut rows: BTreeMap<String, Row> = BTreeMap::new();
        for (route, destination) in &self.by_route {
            rows.entry(destination.key.clone())
                .or_insert_with(|| Row::closed(destination))
                .routes
                .push(route.clone());
        }
        for breaker in breakers {
            let row = rows.entry(breaker.key.clone()).or_insert_with(|| {
                Row::closed(&DestinationId {
                    key: breaker.key.clone(),
                    label: breaker.label.clone(),
                })
            });
            row.breaker = breaker;
        }
        let mut list: Vec<Value> = rows
            .into_values()
            .map(|row| row.to_json(self.held.get(&row.breaker.key), now_ms))
            .collect();
        list.sort_by(|a, b| a["label"].as_str().cmp(&b["label"].as_str()));
        json!({ "destinations": list, "error": error })
    }
}

/// One destination of the report.
struct Row {
    breaker: BreakerState,
    routes: Vec<String>,
}

impl Row {
    /// A destination whose breaker the store does not record: closed, never failed.
    fn closed(destination: &DestinationId) -> Self {
        Self {
            breaker: BreakerState {
                key: destination.key.clone(),
                label: destination.label.clone(),
                ..BreakerState::default()
            },
            routes: Vec::new(),
        }
    }

    fn to_json(&self, held: Option<&HeldCounts>, now_ms: i64) -> Value {
        let breaker = &self.breaker;
        let time = |ms: i64| (ms > 0).then(|| rfc3339(ms));
        json!({
            "key": breaker.key,
            "label": breaker.label,
            "routes": self.routes,
            "state": breaker_state(breaker, now_ms),
            "open_until": time(breaker.open_until_ms).filter(|_| breaker.open),
            "probe_until": time(breaker.probe_until_ms)
                .filter(|_| breaker.open && breaker.probe_until_ms > now_ms),
            "failures": breaker.failures,
            "failed_probes": breaker.failed_probes,
            "changed_at": time(breaker.changed_at_ms),
            "held": held.copied().unwrap_or_default().to_json(),
        })
    }
}

/// `closed`; `open` (cooling down until `open_until`); `probing` (its cool-down over, one call
/// out to see whether the destination answers again, until `probe_until`); `half_open` (its
/// cool-down over, the next call will probe).
fn breaker_state(breaker: &BreakerState, now_ms: i64) -> &'static str {
    if !breaker.open {
        "closed"
    } else if breaker.open_until_ms > now_ms {
        "open"
    } else if breaker.probe_until_ms > now_ms {
        "probing"
    } else {
        "half_open"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_352_400_000;

    fn breaker(open: bool, open_until_ms: i64, probe_until_ms: i64) -> BreakerState {
        BreakerState {
            key: "forward:00".into(),
            label: "forward https://a.example/hook".into(),
            open,
            failures: 5,
            open_until_ms,
            failed_probes: 1,
            probe_until_ms,
            changed_at_ms: NOW - 60_000,
        }
    }

    #[test]
    fn a_breaker_reads_closed_open_probing_or_half_open() {
        assert_eq!(breaker_state(&breaker(false, 0, 0), NOW), "closed");
        assert_eq!(breaker_state(&breaker(true, NOW + 1, 0), NOW), "open");
        assert_eq!(
            breaker_state(&breaker(true, NOW - 1, NOW + 5_000), NOW),
            "probing"
        );
        assert_eq!(
            breaker_state(&breaker(true, NOW - 1, NOW - 1), NOW),
            "half_open"
        );
    }

    #[test]
    fn holds_are_counted_against_each_route_s_destination() {
        let config = inlet_core::config::Config::parse(
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n\n\
             [[routes]]\nname = \"agent\"\nsource = \"github\"\n\
             action = { type = \"forward\", url = \"https://a.example/hook?token=s3cret\", secret = \"env:GH\" }\n\n\
             [[routes]]\nname = \"audit\"\nsource = \"github\"\naction = { type = \"log\" }\n",
        )
        .unwrap();
        let mut destinations = Destinations::of_routes(&config.routes);
        let held = |route: &str, hold| RouteRun {
            route: route.into(),
            outcome: RouteOutcome::Held {
                hold,
                until_ms: NOW,
            },
        };
        destinations.count_holds(&[
            held("agent", Hold::BreakerOpen),
            held("agent", Hold::RateLimited),
            held("audit", Hold::NotDue),
            held("elsewhere", Hold::BreakerOpen),
        ]);
        destinations.count_holds(&[held("agent", Hold::BreakerOpen)]);
        let report = destinations.report(Some(Ok(Vec::new())), NOW);
        assert_eq!(report["error"], Value::Null);
        let list = report["destinations"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{report}");
        let agent = &list[0];
        // The label has no query: a URL's token stays out of the page.
        assert_eq!(agent["label"], "forward https://a.example/hook");
        assert_eq!(agent["routes"], json!(["agent"]));
        assert_eq!(agent["state"], "closed");
        assert_eq!(
            agent["held"],
            json!({"total": 3, "breaker_open": 2, "rate_limited": 1, "not_due": 0})
        );
    }

    #[test]
    fn the_store_s_breakers_are_shown_and_a_failing_store_says_so() {
        let destinations = Destinations::default();
        let report = destinations.report(Some(Ok(vec![breaker(true, NOW + 30_000, 0)])), NOW);
        assert_eq!(
            report["destinations"],
            json!([{
                "key": "forward:00",
                "label": "forward https://a.example/hook",
                "routes": [],
                "state": "open",
                "open_until": "2026-11-22T13:00:30Z",
                "probe_until": null,
                "failures": 5,
                "failed_probes": 1,
                "changed_at": "2026-11-22T12:59:00Z",
                "held": {"total": 0, "breaker_open": 0, "rate_limited": 0, "not_due": 0},
            }])
        );
        let failed =
            destinations.report(Some(Err(StoreError::Unavailable("throttled".into()))), NOW);
        assert_eq!(failed["destinations"], json!([]));
        assert!(
            failed["error"]
                .as_str()
                .unwrap()
                .starts_with("cannot read the breakers: "),
            "{failed}"
        );
        assert!(destinations.report(None, NOW)["error"].is_string());
    }
}
