//! The EMF line format (specification, "The _aws member"), written by hand: the namespace and
//! the `source` of no configured source, the opening with its timestamp, a metric directive,
//! latencies as an array of values, and JSON strings.

use std::fmt::Write as _;

/// The CloudWatch namespace of every metric here.
pub const NAMESPACE: &str = "Inlet";

/// The `source` dimension of requests for no configured source. Not a valid source name, so it
/// never collides with one; and one value for all of them, so a scanner posting to random paths
/// cannot mint a custom metric per path.
pub const UNKNOWN_SOURCE: &str = "(unknown)";

/// EMF takes at most 100 values per metric in one line.
pub(super) const MAX_VALUES: usize = 100;

pub(super) fn count(name: &&'static str) -> (&'static str, &'static str) {
    (name, "Count")
}

pub(super) fn open(out: &mut String, timestamp_ms: i64) {
    let _ = write!(
        out,
        "{{\"_aws\":{{\"Timestamp\":{timestamp_ms},\"CloudWatchMetrics\":["
    );
}

pub(super) fn directive<'a>(
    out: &mut String,
    dimensions: &[&str],
    metrics: impl Iterator<Item = (&'a str, &'a str)>,
) {
    out.push_str("{\"Namespace\":\"");
    out.push_str(NAMESPACE);
    out.push_str("\",\"Dimensions\":[[");
    for (i, dimension) in dimensions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, dimension);
    }
    out.push_str("]],\"Metrics\":[");
    for (i, (name, unit)) in metrics.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"Name\":\"{name}\",\"Unit\":\"{unit}\"}}");
    }
    out.push_str("]}");
}

pub(super) fn push_latencies(out: &mut String, values: &[f64]) {
    if values.is_empty() {
        return;
    }
    out.push_str(",\"forward_latency\":[");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Durations are finite and non-negative: always a valid JSON number.
        let _ = write!(out, "{value:.3}");
    }
    out.push(']');
}

/// A JSON string literal. Source names and codes never need escaping, but keys hold provider
/// ids, which may.
pub(super) fn push_json_str(out: &mut String, value: &str) {
    out.push('"');
    if !value.chars().any(|c| c == '"' || c == '\\' || c < ' ') {
        out.push_str(value);
    } else {
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c < ' ' => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// Reading the lines back, for the tests of each line.
#[cfg(test)]
pub(super) mod check {
    use super::NAMESPACE;
    use serde_json::Value;

    pub(crate) fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Checks the EMF structure (specification, "The _aws member") and returns the directives.
    pub(crate) fn emf_directives(doc: &Value, timestamp: i64) -> Vec<Value> {
        assert_eq!(doc["_aws"]["Timestamp"], timestamp);
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap().clone();
        assert!(!directives.is_empty());
        for directive in &directives {
            assert_eq!(directive["Namespace"], NAMESPACE);
            let sets = directive["Dimensions"].as_array().unwrap();
            for set in sets {
                let set = set.as_array().unwrap();
                assert!(set.iter().any(|d| d == "source"));
                // Every dimension is a top-level string member.
                for dimension in set {
                    assert!(doc[dimension.as_str().unwrap()].is_string());
                }
            }
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                let unit = metric["Unit"].as_str().unwrap();
                assert!(["Count", "Milliseconds"].contains(&unit), "{unit}");
                // Every metric's value is at the top level: a number or an array of numbers.
                let value = &doc[name];
                assert!(
                    value.is_number()
                        || value
                            .as_array()
                            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_number)),
                    "{name}: {value}"
                );
            }
        }
        directives
    }

    pub(crate) fn metric_names(directive: &Value) -> Vec<String> {
        directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap().to_owned())
            .collect()
    }
}
