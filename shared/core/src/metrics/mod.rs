//! Metrics as CloudWatch Embedded Metric Format (EMF): JSON log lines that CloudWatch Logs turns
//! into metrics, so no API call and no agent sits on the request path.
//!
//! Namespace `Inlet`, dimension `source`. Ingest writes one line per request; process writes one
//! line per batch and source, with forward latencies as an array of values. The lines are built
//! by hand: this runs on every webhook, and a `serde_json::Value` tree per request would cost
//! more than the rest of the line's work together.
//!
//! | function | metric | unit | when |
//! |---|---|---|---|
//! | ingest | `received` | Count | every request |
//! | ingest | `queued`, `ignored`, `handshake` | Count | by outcome |
//! | ingest | `rejected`, `failed` | Count | a 4xx / 5xx refusal; also under `[source, reason]` |
//! | process | `processed`, `unrouted`, `duplicate`, `failed_transient`, `dead_lettered`, `skipped`, `held` | Count | by record outcome (`held`: routes held back, none failed) |
//! | process | `conflict` | Count | a record dead-lettered for a payload conflict (also in `dead_lettered`) |
//! | process | `forward_latency` | Milliseconds | each forward the target answered |
//! | process | `route_delivered`, `route_failed_transient`, `route_dead_lettered`, `route_held` | Count | by route run, under `[source, route]` |
//! | process | `breaker_opened`, `breaker_reopened`, `breaker_closed` | Count | a destination's circuit breaker changing, under `[destination]` |
//! | process | `breaker_held` | Count | records held back by an open breaker, no dimensions (the alarm's) |
//!
//! The line format is `emf`; `ingest` and `batch` build each pipeline's lines from what it
//! counts; `sink` is where lines go; `latency` collects forward latencies for the record being
//! processed.

mod batch;
mod breakers;
mod emf;
mod ingest;
mod latency;
mod routes;
mod sink;

pub(crate) use batch::{RecordCount, batch_metrics};
pub(crate) use breakers::breaker_metrics;
pub use emf::{NAMESPACE, UNKNOWN_SOURCE};
pub(crate) use ingest::{IngestCount, ingest_metrics};
pub(crate) use latency::{collect_forward_latencies, observe_forward_latency};
pub(crate) use routes::{RouteCount, route_metrics};
pub use sink::{MemoryMetrics, Metrics};

/// A metric the pipelines emit, with each dimension set it is emitted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emitted {
    pub name: &'static str,
    pub dimensions: &'static [&'static [&'static str]],
}

const BY_SOURCE: &[&[&str]] = &[&["source"]];
const BY_SOURCE_AND_REASON: &[&[&str]] = &[&["source"], &["source", "reason"]];
const BY_SOURCE_AND_ROUTE: &[&[&str]] = &[&["source", "route"]];
const BY_DESTINATION: &[&[&str]] = &[&["destination"]];
const NO_DIMENSIONS: &[&[&str]] = &[&[]];

/// Every metric either pipeline emits under [`NAMESPACE`]: all a dashboard or alarm can chart.
/// template.yaml's dashboard is checked against it (tests/tests/stack/template.rs), and it against
/// the lines themselves (the tests below).
pub const EMITTED: &[Emitted] = &[
    Emitted {
        name: "received",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "queued",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "ignored",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "handshake",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "rejected",
        dimensions: BY_SOURCE_AND_REASON,
    },
    Emitted {
        name: "failed",
        dimensions: BY_SOURCE_AND_REASON,
    },
    Emitted {
        name: "processed",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "unrouted",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "duplicate",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "conflict",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "failed_transient",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "dead_lettered",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "skipped",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "held",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "forward_latency",
        dimensions: BY_SOURCE,
    },
    Emitted {
        name: "route_delivered",
        dimensions: BY_SOURCE_AND_ROUTE,
    },
    Emitted {
        name: "route_failed_transient",
        dimensions: BY_SOURCE_AND_ROUTE,
    },
    Emitted {
        name: "route_dead_lettered",
        dimensions: BY_SOURCE_AND_ROUTE,
    },
    Emitted {
        name: "route_held",
        dimensions: BY_SOURCE_AND_ROUTE,
    },
    Emitted {
        name: "breaker_opened",
        dimensions: BY_DESTINATION,
    },
    Emitted {
        name: "breaker_reopened",
        dimensions: BY_DESTINATION,
    },
    Emitted {
        name: "breaker_closed",
        dimensions: BY_DESTINATION,
    },
    Emitted {
        name: "breaker_held",
        dimensions: NO_DIMENSIONS,
    },
];

#[cfg(test)]
mod tests {
    use super::batch::PROCESS_COUNTS;
    use super::breakers::{BREAKER_COUNTS, BREAKER_HELD};
    use super::emf::check::{metric_names, parse};
    use super::ingest::INGEST_COUNTS;
    use super::routes::ROUTE_COUNTS;
    use super::*;

    /// Every (metric, dimension set) in `lines`' EMF directives.
    fn emitted_in(lines: &[String]) -> std::collections::BTreeSet<(String, Vec<String>)> {
        let mut seen = std::collections::BTreeSet::new();
        for line in lines {
            let doc = parse(line);
            for directive in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
                for set in directive["Dimensions"].as_array().unwrap() {
                    let set: Vec<String> = set
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d.as_str().unwrap().to_owned())
                        .collect();
                    for name in metric_names(directive) {
                        seen.insert((name, set.clone()));
                    }
                }
            }
        }
        seen
    }

    #[test]
    fn emitted_lists_exactly_what_the_lines_carry() {
        let mut lines: Vec<String> = [
            IngestCount::Queued { key: "github#1" },
            IngestCount::Ignored,
            IngestCount::Handshake,
            IngestCount::Rejected {
                reason: "signature_mismatch",
            },
            IngestCount::Failed {
                reason: "queue_unavailable",
            },
        ]
        .into_iter()
        .map(|outcome| ingest_metrics("github", outcome, 1))
        .collect();
        lines.extend(batch_metrics(
            [
                ("github", RecordCount::Processed, &[12.5][..]),
                ("github", RecordCount::Unrouted, &[][..]),
                ("github", RecordCount::Duplicate, &[][..]),
                ("github", RecordCount::FailedTransient, &[][..]),
                (
                    "github",
                    RecordCount::DeadLettered { conflict: true },
                    &[][..],
                ),
                ("github", RecordCount::Skipped, &[][..]),
                ("github", RecordCount::Held, &[][..]),
            ],
            1,
        ));
        lines.extend(route_metrics(
            [
                ("github", "triage", RouteCount::Delivered),
                ("github", "triage", RouteCount::FailedTransient),
                ("github", "triage", RouteCount::DeadLettered),
                ("github", "triage", RouteCount::Held),
            ],
            1,
        ));
        let destination = crate::ports::DestinationId {
            key: "forward:00".into(),
            label: "forward https://agent.example/hook".into(),
        };
        let changes: Vec<crate::process::BreakerChange> = [
            crate::process::BreakerTransition::Opened,
            crate::process::BreakerTransition::Reopened,
            crate::process::BreakerTransition::Closed,
        ]
        .into_iter()
        .map(|change| crate::process::BreakerChange {
            destination: destination.clone(),
            change,
            open_until_ms: 0,
            failures: 5,
        })
        .collect();
        lines.extend(breaker_metrics(&changes, 3, 1));
        let listed: std::collections::BTreeSet<(String, Vec<String>)> = EMITTED
            .iter()
            .flat_map(|metric| {
                metric.dimensions.iter().map(|set| {
                    (
                        metric.name.to_owned(),
                        set.iter().map(|d| (*d).to_owned()).collect(),
                    )
                })
            })
            .collect();
        assert_eq!(listed, emitted_in(&lines));
        assert_eq!(
            EMITTED.len(),
            INGEST_COUNTS.len()
                + PROCESS_COUNTS.len()
                + 1
                + ROUTE_COUNTS.len()
                + BREAKER_COUNTS.len()
                + [BREAKER_HELD].len(),
            "a metric listed twice"
        );
    }
}
