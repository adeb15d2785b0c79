//! The dashboard against what the code emits: every charted metric is one Inlet emits (names
//! and dimension sets from `inlet_core::metrics::EMITTED`) or one of AWS's for this template's
//! queues and functions, and every Inlet metric is charted. Moved from template.rs unchanged.

use super::{FUNCTIONS, resource, template};
use yaml_rust2::Yaml;

/// What the dashboard may chart from AWS's own namespaces, and which of the template's resources
/// each names in its one dimension.
const AWS_METRICS: &[(&str, &[&str], &str, &[&str])] = &[
    (
        "AWS/SQS",
        &[
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateAgeOfOldestMessage",
            "NumberOfMessagesSent",
            "NumberOfMessagesReceived",
            "NumberOfMessagesDeleted",
        ],
        "QueueName",
        &["EventQueue.QueueName", "DeadLetterQueue.QueueName"],
    ),
    (
        "AWS/Lambda",
        &[
            "Invocations",
            "Errors",
            "Throttles",
            "Duration",
            "ConcurrentExecutions",
        ],
        "FunctionName",
        &["IngestFunction", "ProcessFunction"],
    ),
];

/// The pseudo-parameters a `!Sub` may name besides the template's resources.
const PSEUDO_PARAMETERS: &[&str] = &["AWS::Region", "AWS::StackName", "AWS::AccountId"];

/// The `${…}` references in a `!Sub` text, each checked to name a pseudo-parameter or a resource
/// (optionally with an attribute) of this template.
fn sub_references(template: &Yaml, text: &str) -> Vec<String> {
    let mut references = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("an unclosed ${") + start;
        let reference = &rest[start + 2..end];
        let resource = reference.split('.').next().unwrap();
        assert!(
            PSEUDO_PARAMETERS.contains(&reference)
                || !template["Resources"][resource].is_badvalue(),
            "the dashboard names ${{{reference}}}, which is no resource of the template"
        );
        references.push(reference.to_owned());
        rest = &rest[end + 1..];
    }
    references
}

/// Inlet's metrics a `SEARCH('{Inlet,dims…} MetricName="a"` (or `MetricName=("a" OR "b")`),
/// 'stat', period)` expression asks for, as (name, sorted dimension set, statistic).
fn searched_metrics(expression: &str) -> Vec<(String, Vec<String>, String)> {
    let mut found = Vec::new();
    let mut rest = expression;
    while let Some(start) = rest.find("SEARCH('") {
        let query_start = start + "SEARCH('".len();
        let query_end = rest[query_start..]
            .find('\'')
            .expect("an unclosed SEARCH query")
            + query_start;
        let query = &rest[query_start..query_end];
        rest = &rest[query_end + 1..];
        let stat = rest
            .trim_start()
            .strip_prefix(',')
            .and_then(|r| r.trim_start().strip_prefix('\''))
            .and_then(|r| r.split_once('\''))
            .map(|(stat, _)| stat.to_owned())
            .unwrap_or_else(|| panic!("SEARCH without a statistic: {expression}"));

        let schema = query
            .strip_prefix('{')
            .and_then(|q| q.split_once('}'))
            .unwrap_or_else(|| panic!("SEARCH without a {{namespace,dimensions}} schema: {query}"));
        let (schema, terms) = schema;
        let mut schema = schema.split(',').map(str::trim);
        assert_eq!(
            schema.next(),
            Some(inlet_core::metrics::NAMESPACE),
            "{query}"
        );
        let mut dimensions: Vec<String> = schema.map(str::to_owned).collect();
        dimensions.sort();

        // Only MetricName terms: anything else could select metrics no name here vouches for.
        let terms = terms
            .trim()
            .strip_prefix("MetricName=")
            .unwrap_or_else(|| panic!("SEARCH for something other than metric names: {query}"));
        let mut names = Vec::new();
        let mut outside_quotes = String::new();
        for (index, part) in terms.split('"').enumerate() {
            if index % 2 == 1 {
                names.push(part.to_owned());
            } else {
                outside_quotes.push_str(part);
            }
        }
        assert!(
            outside_quotes
                .split_whitespace()
                .all(|token| matches!(token, "(" | ")" | "OR")),
            "SEARCH terms other than metric names: {query}"
        );
        assert!(!names.is_empty(), "SEARCH names no metric: {query}");
        for name in names {
            found.push((name, dimensions.clone(), stat.clone()));
        }
    }
    found
}

/// Whether the code emits `name` under exactly `dimensions` (sorted).
fn emitted(name: &str, dimensions: &[String]) -> bool {
    inlet_core::metrics::EMITTED.iter().any(|metric| {
        metric.name == name
            && metric.dimensions.iter().any(|set| {
                let mut set: Vec<&str> = set.to_vec();
                set.sort_unstable();
                set == dimensions
            })
    })
}

/// Every metric the dashboard charts is one the code emits (names and dimension sets from
/// `inlet_core::metrics::EMITTED`) or one of AWS's for this template's queues and functions; and
/// it charts what an operator needs: every Inlet metric, refusals by code, queue depth and age,
/// dead-letter depth, forward latency p50 and p99, both functions' errors and throttles.
#[test]
fn the_dashboard_charts_only_emitted_metrics_of_this_stacks_resources() {
    let template = template();
    let dashboard = resource(&template, "Dashboard");
    let body = dashboard["DashboardBody"]
        .as_str()
        .expect("DashboardBody is a !Sub text");
    let references = sub_references(&template, body);
    // Placeholders parse as JSON strings and still say what they stand for.
    let mut resolved = body.to_owned();
    for reference in &references {
        resolved = resolved.replace(&format!("${{{reference}}}"), &format!("<{reference}>"));
    }
    let body: serde_json::Value = serde_json::from_str(&resolved)
        .unwrap_or_else(|e| panic!("DashboardBody is not JSON once substituted: {e}"));

    let mut charted: std::collections::BTreeSet<(String, String, String)> = Default::default();
    let widgets = body["widgets"].as_array().expect("no widgets");
    assert!(!widgets.is_empty());
    for widget in widgets {
        let properties = &widget["properties"];
        let title = properties["title"].as_str().unwrap_or("(untitled)");
        if widget["type"] != "metric" {
            continue;
        }
        assert_eq!(
            properties["region"], "<AWS::Region>",
            "{title}: the stack's region"
        );
        let metrics = properties["metrics"]
            .as_array()
            .expect("a metric widget without metrics");
        assert!(!metrics.is_empty(), "{title}");
        for metric in metrics {
            let metric = metric
                .as_array()
                .unwrap_or_else(|| panic!("{title}: {metric}"));
            if let Some(expression) = metric[0]["expression"].as_str() {
                // An expression without SEARCH only combines the widget's other metrics.
                for (name, dimensions, stat) in searched_metrics(expression) {
                    assert!(
                        emitted(&name, &dimensions),
                        "{title}: Inlet emits no `{name}` under {dimensions:?}"
                    );
                    charted.insert((
                        "Inlet".into(),
                        name,
                        format!("{}|{stat}", dimensions.join(",")),
                    ));
                }
                continue;
            }
            let strings: Vec<&str> = metric.iter().filter_map(|v| v.as_str()).collect();
            let (namespace, name) = (strings[0], strings[1]);
            let dimensions = &strings[2..];
            assert!(dimensions.len().is_multiple_of(2), "{title}: {metric:?}");
            if namespace == inlet_core::metrics::NAMESPACE {
                let mut names: Vec<String> = dimensions
                    .chunks(2)
                    .map(|pair| pair[0].to_owned())
                    .collect();
                names.sort();
                assert!(
                    emitted(name, &names),
                    "{title}: Inlet emits no `{name}` under {names:?}"
                );
                charted.insert(("Inlet".into(), name.into(), names.join(",")));
                continue;
            }
            let (_, allowed, dimension, resources) = AWS_METRICS
                .iter()
                .find(|(ns, ..)| *ns == namespace)
                .unwrap_or_else(|| panic!("{title}: namespace {namespace} is not charted here"));
            assert!(allowed.contains(&name), "{title}: {namespace} {name}");
            assert_eq!(
                dimensions.len(),
                2,
                "{title}: {namespace} {name} {dimensions:?}"
            );
            assert_eq!(dimensions[0], *dimension, "{title}: {namespace} {name}");
            let target = dimensions[1]
                .strip_prefix('<')
                .and_then(|d| d.strip_suffix('>'))
                .unwrap_or_else(|| panic!("{title}: {name} names {} literally", dimensions[1]));
            assert!(
                resources.contains(&target),
                "{title}: {namespace} {name} for {target}, not one of {resources:?}"
            );
            charted.insert((namespace.into(), name.into(), target.into()));
        }
    }

    let has = |namespace: &str, name: &str, what: &str| {
        charted.contains(&(namespace.to_owned(), name.to_owned(), what.to_owned()))
    };
    for metric in inlet_core::metrics::EMITTED {
        assert!(
            charted
                .iter()
                .any(|(ns, name, _)| ns == "Inlet" && name == metric.name),
            "the dashboard does not chart `{}`",
            metric.name
        );
    }
    assert!(
        has("Inlet", "rejected", "reason,source|Sum"),
        "rejections by code"
    );
    assert!(has("Inlet", "forward_latency", "source|p50"), "latency p50");
    assert!(has("Inlet", "forward_latency", "source|p99"), "latency p99");
    let queue_depth = "ApproximateNumberOfMessagesVisible";
    assert!(has("AWS/SQS", queue_depth, "EventQueue.QueueName"));
    assert!(has(
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "EventQueue.QueueName"
    ));
    assert!(has("AWS/SQS", queue_depth, "DeadLetterQueue.QueueName"));
    for (function, _) in FUNCTIONS {
        for name in ["Errors", "Throttles"] {
            assert!(has("AWS/Lambda", name, function), "{function} {name}");
        }
    }

    let url = template["Outputs"]["DashboardUrl"]["Value"]
        .as_str()
        .expect("no DashboardUrl output");
    assert!(
        sub_references(&template, url).contains(&"Dashboard".to_owned()),
        "{url}"
    );
}
