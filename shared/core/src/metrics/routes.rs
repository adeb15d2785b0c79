//! Process's per-route lines: one per batch, source and route, each route's runs counted by how
//! they ended. Routes come from the config (or a custom handler's code), never from a message,
//! so the `route` dimension stays as bounded as the config.

use super::emf::{UNKNOWN_SOURCE, count, directive, open, push_json_str};
use std::fmt::Write as _;

pub(super) const ROUTE_COUNTS: [&str; 4] = [
    "route_delivered",
    "route_failed_transient",
    "route_dead_lettered",
    "route_held",
];

/// How one route's run ended, in the terms the metrics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteCount {
    Delivered,
    FailedTransient,
    DeadLettered,
    /// Held back, not run: an open breaker, a rate limit, a step not yet due.
    Held,
}

/// The lines for a batch's route runs, given as (source, route, outcome); pairs keep the order
/// they first appear in.
pub(crate) fn route_metrics<'a>(
    runs: impl IntoIterator<Item = (&'a str, &'a str, RouteCount)>,
    timestamp_ms: i64,
) -> Vec<String> {
    let mut pairs: Vec<((&str, &str), [u32; 4])> = Vec::new();
    for (source, route, outcome) in runs {
        let source = if source.is_empty() {
            UNKNOWN_SOURCE
        } else {
            source
        };
        let slot = match outcome {
            RouteCount::Delivered => 0,
            RouteCount::FailedTransient => 1,
            RouteCount::DeadLettered => 2,
            RouteCount::Held => 3,
        };
        match pairs.iter_mut().find(|(pair, _)| *pair == (source, route)) {
            Some((_, counts)) => counts[slot] += 1,
            None => {
                let mut counts = [0; 4];
                counts[slot] = 1;
                pairs.push(((source, route), counts));
            }
        }
    }
    pairs
        .into_iter()
        .map(|((source, route), counts)| {
            let mut out = String::with_capacity(360);
            open(&mut out, timestamp_ms);
            directive(
                &mut out,
                &["source", "route"],
                ROUTE_COUNTS.iter().map(count),
            );
            out.push_str("]},\"source\":");
            push_json_str(&mut out, source);
            out.push_str(",\"route\":");
            push_json_str(&mut out, route);
            for (name, value) in ROUTE_COUNTS.iter().zip(counts) {
                let _ = write!(out, ",\"{name}\":{value}");
            }
            out.push('}');
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::emf::check::{emf_directives, parse};

    #[test]
    fn a_line_per_source_and_route_with_its_counts() {
        let lines = route_metrics(
            [
                ("github", "triage", RouteCount::Delivered),
                ("github", "audit", RouteCount::FailedTransient),
                ("github", "triage", RouteCount::Delivered),
                ("", "audit", RouteCount::DeadLettered),
            ],
            1_795_352_400_000,
        );
        assert_eq!(lines.len(), 3);
        let first = parse(&lines[0]);
        assert_eq!(first["source"], "github");
        assert_eq!(first["route"], "triage");
        assert_eq!(first["route_delivered"], 2);
        assert_eq!(first["route_failed_transient"], 0);
        let directives = emf_directives(&first, 1_795_352_400_000);
        assert_eq!(
            directives[0]["Dimensions"][0],
            serde_json::json!(["source", "route"])
        );
        let second = parse(&lines[1]);
        assert_eq!(second["route"], "audit");
        assert_eq!(second["route_failed_transient"], 1);
        let third = parse(&lines[2]);
        assert_eq!(third["source"], UNKNOWN_SOURCE);
        assert_eq!(third["route_dead_lettered"], 1);
    }
}
