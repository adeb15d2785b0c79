//! Process's circuit-breaker lines, per batch: one per destination whose breaker this batch
//! opened, reopened or closed (dimension `destination`, its label), and one without dimensions
//! counting the records held back by open breakers, which the template's `BreakerOpenAlarm`
//! sums over every destination at once.

use super::emf::{count, directive, open, push_json_str};
use crate::process::{BreakerChange, BreakerTransition};
use std::fmt::Write as _;

pub(super) const BREAKER_COUNTS: [&str; 3] =
    ["breaker_opened", "breaker_reopened", "breaker_closed"];

/// The metric of records held back by an open breaker.
pub(super) const BREAKER_HELD: &str = "breaker_held";

/// CloudWatch refuses a dimension value over 1,024 characters, and with it the line's metrics. A
/// label is a target without its query, so only an absurd URL is that long; it is cut instead.
const DIMENSION_VALUE_MAX: usize = 1024;

/// The lines for a batch's breaker changes and the records its open breakers held back.
/// Destinations keep the order they first changed in.
pub(crate) fn breaker_metrics(
    changes: &[BreakerChange],
    held_by_breaker: u32,
    timestamp_ms: i64,
) -> Vec<String> {
    let mut destinations: Vec<(&str, [u32; 3])> = Vec::new();
    for change in changes {
        let label = change.destination.label.as_str();
        let slot = match change.change {
            BreakerTransition::Opened => 0,
            BreakerTransition::Reopened => 1,
            BreakerTransition::Closed => 2,
        };
        match destinations.iter_mut().find(|(seen, _)| *seen == label) {
            Some((_, counts)) => counts[slot] += 1,
            None => {
                let mut counts = [0; 3];
                counts[slot] = 1;
                destinations.push((label, counts));
            }
        }
    }
    let mut lines: Vec<String> = destinations
        .into_iter()
        .map(|(label, counts)| {
            let mut out = String::with_capacity(320 + label.len());
            open(&mut out, timestamp_ms);
            directive(&mut out, &["destination"], BREAKER_COUNTS.iter().map(count));
            out.push_str("]},\"destination\":");
            push_json_str(&mut out, dimension_value(label));
            for (name, value) in BREAKER_COUNTS.iter().zip(counts) {
                let _ = write!(out, ",\"{name}\":{value}");
            }
            out.push('}');
            out
        })
        .collect();
    if held_by_breaker > 0 {
        let mut out = String::with_capacity(200);
        open(&mut out, timestamp_ms);
        // No dimensions (`[[]]`): the alarm watches every destination in one metric.
        directive(&mut out, &[], [BREAKER_HELD].iter().map(count));
        let _ = write!(out, "]}},\"{BREAKER_HELD}\":{held_by_breaker}}}");
        lines.push(out);
    }
    lines
}

/// `label`, cut to what CloudWatch takes as a dimension value.
fn dimension_value(label: &str) -> &str {
    match label.char_indices().nth(DIMENSION_VALUE_MAX) {
        Some((end, _)) => &label[..end],
        None => label,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::emf::NAMESPACE;
    use crate::metrics::emf::check::{metric_names, parse};
    use crate::ports::DestinationId;
    use serde_json::{Value, json};

    const TIMESTAMP: i64 = 1_795_352_400_000;

    fn change(label: &str, transition: BreakerTransition) -> BreakerChange {
        BreakerChange {
            destination: DestinationId {
                key: format!("forward:{}", label.len()),
                label: label.to_owned(),
            },
            change: transition,
            open_until_ms: 0,
            failures: 5,
        }
    }

    /// The line's one directive, checked against the EMF structure (the shared check requires a
    /// `source` dimension, which these lines do not have).
    fn directive_of(doc: &Value) -> Value {
        assert_eq!(doc["_aws"]["Timestamp"], TIMESTAMP);
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1, "{doc}");
        let directive = directives[0].clone();
        assert_eq!(directive["Namespace"], NAMESPACE);
        for set in directive["Dimensions"].as_array().unwrap() {
            for dimension in set.as_array().unwrap() {
                assert!(doc[dimension.as_str().unwrap()].is_string(), "{doc}");
            }
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert_eq!(metric["Unit"], "Count");
            let name = metric["Name"].as_str().unwrap();
            assert!(doc[name].is_u64(), "{name} in {doc}");
        }
        directive
    }

    #[test]
    fn a_line_per_destination_that_changed_with_each_transition_counted() {
        let lines = breaker_metrics(
            &[
                change("forward https://a.example/hooks", BreakerTransition::Opened),
                change(
                    "sqs https://sqs.us-east-1.amazonaws.com/1/q",
                    BreakerTransition::Closed,
                ),
                change(
                    "forward https://a.example/hooks",
                    BreakerTransition::Reopened,
                ),
                change(
                    "forward https://a.example/hooks",
                    BreakerTransition::Reopened,
                ),
            ],
            0,
            TIMESTAMP,
        );
        assert_eq!(lines.len(), 2, "{lines:#?}");

        let first = parse(&lines[0]);
        let directive = directive_of(&first);
        assert_eq!(directive["Dimensions"], json!([["destination"]]));
        assert_eq!(metric_names(&directive), BREAKER_COUNTS);
        assert_eq!(first["destination"], "forward https://a.example/hooks");
        assert_eq!(first["breaker_opened"], 1);
        assert_eq!(first["breaker_reopened"], 2);
        assert_eq!(first["breaker_closed"], 0);

        let second = parse(&lines[1]);
        directive_of(&second);
        assert_eq!(
            second["destination"],
            "sqs https://sqs.us-east-1.amazonaws.com/1/q"
        );
        assert_eq!(second["breaker_opened"], 0);
        assert_eq!(second["breaker_reopened"], 0);
        assert_eq!(second["breaker_closed"], 1);
    }

    #[test]
    fn held_records_are_one_line_without_dimensions() {
        let lines = breaker_metrics(
            &[change(
                "forward https://a.example/",
                BreakerTransition::Opened,
            )],
            3,
            TIMESTAMP,
        );
        assert_eq!(lines.len(), 2, "{lines:#?}");
        let held = parse(&lines[1]);
        let directive = directive_of(&held);
        assert_eq!(directive["Dimensions"], json!([[]]));
        assert_eq!(metric_names(&directive), [BREAKER_HELD]);
        assert_eq!(held[BREAKER_HELD], 3);
        assert!(held.get("destination").is_none(), "{held}");

        let only_held = breaker_metrics(&[], 1, TIMESTAMP);
        assert_eq!(only_held.len(), 1);
        assert_eq!(parse(&only_held[0])[BREAKER_HELD], 1);
    }

    #[test]
    fn a_batch_without_changes_or_held_records_has_no_line() {
        assert!(breaker_metrics(&[], 0, TIMESTAMP).is_empty());
    }

    #[test]
    fn labels_are_escaped_and_cut_to_a_dimension_values_length() {
        let quoted = "forward https://a.example/\"x\"\\y";
        let long = format!("forward https://a.example/{}", "é".repeat(2_000));
        let lines = breaker_metrics(
            &[
                change(quoted, BreakerTransition::Opened),
                change(&long, BreakerTransition::Opened),
            ],
            0,
            TIMESTAMP,
        );
        assert_eq!(parse(&lines[0])["destination"], quoted);
        let cut = parse(&lines[1])["destination"].as_str().unwrap().to_owned();
        assert_eq!(cut.chars().count(), DIMENSION_VALUE_MAX);
        assert!(long.starts_with(&cut));
    }
}
