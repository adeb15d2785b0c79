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
//! | process | `processed`, `unrouted`, `duplicate`, `failed_transient`, `dead_lettered`, `skipped` | Count | by record outcome |
//! | process | `conflict` | Count | a record dead-lettered for a payload conflict (also in `dead_lettered`) |
//! | process | `forward_latency` | Milliseconds | each forward the target answered |

use std::cell::RefCell;
use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The CloudWatch namespace of every metric here.
pub const NAMESPACE: &str = "Inlet";

/// A metric the pipelines emit, with each dimension set it is emitted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emitted {
    pub name: &'static str,
    pub dimensions: &'static [&'static [&'static str]],
}

const BY_SOURCE: &[&[&str]] = &[&["source"]];
const BY_SOURCE_AND_REASON: &[&[&str]] = &[&["source"], &["source", "reason"]];

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
        name: "forward_latency",
        dimensions: BY_SOURCE,
    },
];

/// The `source` dimension of requests for no configured source. Not a valid source name, so it
/// never collides with one; and one value for all of them, so a scanner posting to random paths
/// cannot mint a custom metric per path.
pub const UNKNOWN_SOURCE: &str = "(unknown)";

/// EMF takes at most 100 values per metric in one line.
const MAX_VALUES: usize = 100;

const INGEST_COUNTS: [&str; 6] = [
    "received",
    "queued",
    "ignored",
    "handshake",
    "rejected",
    "failed",
];

const PROCESS_COUNTS: [&str; 7] = [
    "processed",
    "unrouted",
    "duplicate",
    "conflict",
    "failed_transient",
    "dead_lettered",
    "skipped",
];

/// Where metric lines go. The pipelines default to `Off`; the Lambda functions choose `Stdout`.
#[derive(Debug, Clone, Default)]
pub enum Metrics {
    /// Nothing is built or written: tests, benchmarks, tools.
    #[default]
    Off,
    /// Each line on stdout, which Lambda ships to CloudWatch Logs.
    Stdout,
    /// Lines kept in memory, for tests.
    Memory(MemoryMetrics),
}

impl Metrics {
    /// A sink that keeps lines in memory, and the handle to read them.
    pub fn memory() -> (Self, MemoryMetrics) {
        let lines = MemoryMetrics::default();
        (Self::Memory(lines.clone()), lines)
    }

    /// Whether a line would go anywhere: callers skip building it when not.
    pub(crate) fn enabled(&self) -> bool {
        !matches!(self, Self::Off)
    }

    pub(crate) fn emit(&self, line: &str) {
        match self {
            Self::Off => {}
            Self::Stdout => {
                let mut line = with_level(line, stdout_level());
                line.push('\n');
                // One write under the lock, so a log line from another thread cannot split it.
                // Nowhere to report a closed stdout, and a metric is not worth failing a request.
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            Self::Memory(lines) => lines.push(line.to_owned()),
        }
    }
}

/// The lines a [`Metrics::Memory`] sink received.
#[derive(Debug, Clone, Default)]
pub struct MemoryMetrics(Arc<Mutex<Vec<String>>>);

impl MemoryMetrics {
    fn push(&self, line: String) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The lines so far, leaving none.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// With the JSON log format, Lambda drops application lines below the function's log level and
/// treats a line without `level` as INFO: at WARN, metrics would silently vanish. So metric lines
/// carry the configured level when it is above INFO.
fn stdout_level() -> &'static str {
    static LEVEL: OnceLock<&'static str> = OnceLock::new();
    LEVEL.get_or_init(|| {
        let configured = std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_default();
        match configured.to_ascii_uppercase().as_str() {
            "WARN" => "WARN",
            "ERROR" => "ERROR",
            "FATAL" => "FATAL",
            _ => "INFO",
        }
    })
}

/// `line` with a `level` member first.
pub(crate) fn with_level(line: &str, level: &str) -> String {
    match line.strip_prefix('{') {
        Some(rest) => {
            let mut out = String::with_capacity(line.len() + level.len() + 12);
            out.push_str("{\"level\":");
            push_json_str(&mut out, level);
            if rest != "}" {
                out.push(',');
            }
            out.push_str(rest);
            out
        }
        None => line.to_owned(),
    }
}

/// What one ingest request came to, in the terms the metrics count. The ingest pipeline maps its
/// outcome onto this; the metrics know nothing else of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IngestCount<'a> {
    Queued {
        key: &'a str,
    },
    Ignored,
    Handshake,
    /// A 4xx refusal, with its error code.
    Rejected {
        reason: &'a str,
    },
    /// A 5xx, with its error code.
    Failed {
        reason: &'a str,
    },
}

/// The EMF line for one ingest request: every count under `[source]`, and a refusal's count
/// again under `[source, reason]` so that alarms and dashboards can tell reasons apart.
pub(crate) fn ingest_metrics(source: &str, outcome: IngestCount<'_>, timestamp_ms: i64) -> String {
    let (hit, reason) = match outcome {
        IngestCount::Queued { .. } => ("queued", None),
        IngestCount::Ignored => ("ignored", None),
        IngestCount::Handshake => ("handshake", None),
        IngestCount::Rejected { reason } => ("rejected", Some(reason)),
        IngestCount::Failed { reason } => ("failed", Some(reason)),
    };
    let mut out = String::with_capacity(640);
    open(&mut out, timestamp_ms);
    directive(&mut out, &["source"], INGEST_COUNTS.iter().map(count));
    if reason.is_some() {
        out.push(',');
        directive(
            &mut out,
            &["source", "reason"],
            std::iter::once(count(&hit)),
        );
    }
    out.push_str("]},\"source\":");
    push_json_str(&mut out, source);
    if let Some(reason) = reason {
        out.push_str(",\"reason\":");
        push_json_str(&mut out, reason);
    }
    for name in INGEST_COUNTS {
        let value = u8::from(name == "received" || name == hit);
        let _ = write!(out, ",\"{name}\":{value}");
    }
    out.push_str(",\"outcome\":");
    push_json_str(&mut out, hit);
    if let IngestCount::Queued { key } = outcome {
        out.push_str(",\"key\":");
        push_json_str(&mut out, key);
    }
    out.push('}');
    out
}

/// How one record of a process batch ended, in the terms the metrics count. The process
/// pipeline maps its outcome onto this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordCount {
    Processed,
    Unrouted,
    Duplicate,
    /// To be retried by SQS.
    FailedTransient,
    /// Sent to the dead-letter queue; `conflict` when for a payload conflict.
    DeadLettered {
        conflict: bool,
    },
    Skipped,
}

/// One source's share of a process batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SourceCounts {
    pub processed: u32,
    pub unrouted: u32,
    pub duplicate: u32,
    pub conflict: u32,
    pub failed_transient: u32,
    pub dead_lettered: u32,
    pub skipped: u32,
    /// Milliseconds per forward the target answered.
    pub forward_ms: Vec<f64>,
}

impl SourceCounts {
    pub fn add(&mut self, outcome: RecordCount) {
        match outcome {
            RecordCount::Processed => self.processed += 1,
            RecordCount::Unrouted => self.unrouted += 1,
            RecordCount::Duplicate => self.duplicate += 1,
            RecordCount::FailedTransient => self.failed_transient += 1,
            RecordCount::DeadLettered { conflict } => {
                self.dead_lettered += 1;
                self.conflict += u32::from(conflict);
            }
            RecordCount::Skipped => self.skipped += 1,
        }
    }

    pub fn records(&self) -> u32 {
        self.processed
            + self.unrouted
            + self.duplicate
            + self.failed_transient
            + self.dead_lettered
            + self.skipped
    }

    fn values(&self) -> [u32; 7] {
        [
            self.processed,
            self.unrouted,
            self.duplicate,
            self.conflict,
            self.failed_transient,
            self.dead_lettered,
            self.skipped,
        ]
    }
}

/// The EMF lines for one source of a process batch: usually one; more only when there are over
/// 100 latencies, the further lines carrying latencies alone.
pub(crate) fn process_metrics(
    source: &str,
    counts: &SourceCounts,
    timestamp_ms: i64,
) -> Vec<String> {
    let mut chunks = counts.forward_ms.chunks(MAX_VALUES);
    let first = chunks.next().unwrap_or(&[]);
    let mut lines = Vec::with_capacity(1 + counts.forward_ms.len() / MAX_VALUES);

    let mut out = String::with_capacity(760 + first.len() * 10);
    open(&mut out, timestamp_ms);
    let latency = (!first.is_empty()).then_some(("forward_latency", "Milliseconds"));
    directive(
        &mut out,
        &["source"],
        PROCESS_COUNTS.iter().map(count).chain(latency),
    );
    out.push_str("]},\"source\":");
    push_json_str(&mut out, source);
    let _ = write!(out, ",\"records\":{}", counts.records());
    for (name, value) in PROCESS_COUNTS.iter().zip(counts.values()) {
        let _ = write!(out, ",\"{name}\":{value}");
    }
    push_latencies(&mut out, first);
    out.push('}');
    lines.push(out);

    for chunk in chunks {
        let mut out = String::with_capacity(240 + chunk.len() * 10);
        open(&mut out, timestamp_ms);
        directive(
            &mut out,
            &["source"],
            std::iter::once(("forward_latency", "Milliseconds")),
        );
        out.push_str("]},\"source\":");
        push_json_str(&mut out, source);
        push_latencies(&mut out, chunk);
        out.push('}');
        lines.push(out);
    }
    lines
}

/// The lines for a whole batch: `records` gives each record's source, outcome and forward
/// latencies; sources keep the order they first appear in.
pub(crate) fn batch_metrics<'a>(
    records: impl IntoIterator<Item = (&'a str, RecordCount, &'a [f64])>,
    timestamp_ms: i64,
) -> Vec<String> {
    // A batch holds few sources: a list beats a map here.
    let mut sources: Vec<(&str, SourceCounts)> = Vec::new();
    for (source, outcome, forward_ms) in records {
        let source = if source.is_empty() {
            UNKNOWN_SOURCE
        } else {
            source
        };
        let index = match sources.iter().position(|(s, _)| *s == source) {
            Some(index) => index,
            None => {
                sources.push((source, SourceCounts::default()));
                sources.len() - 1
            }
        };
        let counts = &mut sources[index].1;
        counts.add(outcome);
        counts.forward_ms.extend_from_slice(forward_ms);
    }
    sources
        .iter()
        .flat_map(|(source, counts)| process_metrics(source, counts, timestamp_ms))
        .collect()
}

fn count(name: &&'static str) -> (&'static str, &'static str) {
    (name, "Count")
}

fn open(out: &mut String, timestamp_ms: i64) {
    let _ = write!(
        out,
        "{{\"_aws\":{{\"Timestamp\":{timestamp_ms},\"CloudWatchMetrics\":["
    );
}

fn directive<'a>(
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

fn push_latencies(out: &mut String, values: &[f64]) {
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
fn push_json_str(out: &mut String, value: &str) {
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

tokio::task_local! {
    static FORWARD_MS: RefCell<Vec<f64>>;
}

/// Records how long a forward took to answer, for the event being processed. Outside the
/// process pipeline (a test, a tool) it does nothing.
///
/// The forward action calls this; a custom [`crate::actions::Handler`] that makes its own calls
/// may too, and its latencies join the batch's `forward_latency`.
pub(crate) fn observe_forward_latency(elapsed: Duration) {
    let _ = FORWARD_MS.try_with(|values| {
        values.borrow_mut().push(elapsed.as_secs_f64() * 1000.0);
    });
}

/// Runs `work` with a slot for [`observe_forward_latency`], and returns what it recorded.
///
/// A task-local slot, not a field on `Handled` or `Event`: those are public API that users'
/// handlers construct, and the latency belongs to whichever forward ran, however deep inside a
/// custom handler. The slot travels with this future only, so concurrent records of a batch
/// each see their own.
pub(crate) async fn collect_forward_latencies<F: Future>(work: F) -> (F::Output, Vec<f64>) {
    FORWARD_MS
        .scope(RefCell::new(Vec::new()), async {
            let output = work.await;
            let values = FORWARD_MS
                .try_with(|values| values.take())
                .unwrap_or_default();
            (output, values)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Checks the EMF structure (specification, "The _aws member") and returns the directives.
    fn emf_directives(doc: &Value, timestamp: i64) -> Vec<Value> {
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

    fn metric_names(directive: &Value) -> Vec<String> {
        directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap().to_owned())
            .collect()
    }

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
            ],
            1,
        ));
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
            INGEST_COUNTS.len() + PROCESS_COUNTS.len() + 1,
            "a metric listed twice"
        );
    }

    #[test]
    fn a_queued_request_counts_received_and_queued_and_carries_its_key() {
        let outcome = IngestCount::Queued {
            key: "github#72d3162e",
        };
        let line = ingest_metrics("github", outcome, 1_795_352_400_123);
        assert!(!line.contains('\n'));
        let doc = parse(&line);
        let directives = emf_directives(&doc, 1_795_352_400_123);
        assert_eq!(directives.len(), 1);
        assert_eq!(directives[0]["Dimensions"], serde_json::json!([["source"]]));
        assert_eq!(metric_names(&directives[0]), INGEST_COUNTS);
        assert_eq!(doc["source"], "github");
        assert_eq!(doc["key"], "github#72d3162e");
        assert_eq!(doc["outcome"], "queued");
        assert_eq!(doc["received"], 1);
        assert_eq!(doc["queued"], 1);
        for zero in ["ignored", "handshake", "rejected", "failed"] {
            assert_eq!(doc[zero], 0, "{zero}");
        }
        assert!(doc.get("reason").is_none());
    }

    #[test]
    fn a_refusal_is_counted_again_under_its_reason() {
        for (outcome, metric, reason) in [
            (
                IngestCount::Rejected {
                    reason: "signature_mismatch",
                },
                "rejected",
                "signature_mismatch",
            ),
            (
                IngestCount::Failed {
                    reason: "queue_unavailable",
                },
                "failed",
                "queue_unavailable",
            ),
        ] {
            let doc = parse(&ingest_metrics("billing", outcome, 5));
            let directives = emf_directives(&doc, 5);
            assert_eq!(directives.len(), 2);
            assert_eq!(
                directives[1]["Dimensions"],
                serde_json::json!([["source", "reason"]])
            );
            assert_eq!(metric_names(&directives[1]), [metric]);
            assert_eq!(doc[metric], 1);
            assert_eq!(doc["received"], 1);
            assert_eq!(doc["queued"], 0);
            assert_eq!(doc["reason"], reason);
            assert!(doc.get("key").is_none());
        }
    }

    #[test]
    fn ignored_and_handshakes_have_their_own_counts() {
        for (outcome, metric) in [
            (IngestCount::Ignored, "ignored"),
            (IngestCount::Handshake, "handshake"),
        ] {
            let doc = parse(&ingest_metrics(UNKNOWN_SOURCE, outcome, 7));
            emf_directives(&doc, 7);
            assert_eq!(doc[metric], 1);
            assert_eq!(doc["outcome"], metric);
            assert_eq!(doc["source"], UNKNOWN_SOURCE);
        }
    }

    #[test]
    fn keys_that_need_escaping_stay_valid_json() {
        let key = "crm#a\"b\\c\u{1}d\u{e9}";
        let line = ingest_metrics("crm", IngestCount::Queued { key }, 1);
        assert_eq!(parse(&line)["key"], key);
    }

    #[test]
    fn a_batch_line_per_source_with_counts_and_latencies() {
        let conflict = RecordCount::DeadLettered { conflict: true };
        let lines = batch_metrics(
            [
                ("github", RecordCount::Processed, &[12.5][..]),
                ("billing", RecordCount::FailedTransient, &[250.0][..]),
                ("github", RecordCount::Processed, &[30.25][..]),
                ("github", RecordCount::Duplicate, &[][..]),
                ("", conflict, &[][..]),
            ],
            1_795_352_400_000,
        );
        assert_eq!(lines.len(), 3);
        let github = parse(&lines[0]);
        let directives = emf_directives(&github, 1_795_352_400_000);
        assert_eq!(directives.len(), 1);
        assert_eq!(directives[0]["Dimensions"], serde_json::json!([["source"]]));
        let names = metric_names(&directives[0]);
        assert_eq!(names.last().map(String::as_str), Some("forward_latency"));
        let units: Vec<_> = directives[0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["Name"].as_str().unwrap(), m["Unit"].as_str().unwrap()))
            .collect();
        assert!(units.contains(&("forward_latency", "Milliseconds")));
        assert!(units.contains(&("processed", "Count")));
        assert_eq!(github["source"], "github");
        assert_eq!(github["records"], 3);
        assert_eq!(github["processed"], 2);
        assert_eq!(github["duplicate"], 1);
        assert_eq!(github["failed_transient"], 0);
        assert_eq!(github["forward_latency"], serde_json::json!([12.5, 30.25]));

        let billing = parse(&lines[1]);
        assert_eq!(billing["failed_transient"], 1);
        assert_eq!(billing["forward_latency"], serde_json::json!([250.0]));

        let unknown = parse(&lines[2]);
        emf_directives(&unknown, 1_795_352_400_000);
        assert_eq!(unknown["source"], UNKNOWN_SOURCE);
        assert_eq!(unknown["dead_lettered"], 1);
        assert_eq!(unknown["conflict"], 1);
        // No forward ran: no latency metric at all, rather than an empty array EMF would refuse.
        assert!(unknown.get("forward_latency").is_none());
        assert!(!lines[2].contains("forward_latency"));
    }

    #[test]
    fn over_a_hundred_latencies_spill_into_further_lines() {
        let counts = SourceCounts {
            processed: 250,
            forward_ms: (0..250).map(f64::from).collect(),
            ..SourceCounts::default()
        };
        let lines = process_metrics("github", &counts, 9);
        assert_eq!(lines.len(), 3);
        let docs: Vec<_> = lines.iter().map(|l| parse(l)).collect();
        let mut values = Vec::new();
        for doc in &docs {
            emf_directives(doc, 9);
            let chunk = doc["forward_latency"].as_array().unwrap();
            assert!(chunk.len() <= MAX_VALUES);
            values.extend(chunk.iter().map(|v| v.as_f64().unwrap()));
        }
        assert_eq!(values, counts.forward_ms);
        // Counts are in the first line only, so they are not added up three times.
        assert_eq!(docs[0]["processed"], 250);
        assert!(docs[1].get("processed").is_none());
        assert!(docs[2].get("processed").is_none());
    }

    #[test]
    fn lambda_sees_a_level_on_every_metric_line() {
        let line = ingest_metrics("github", IngestCount::Ignored, 1);
        let leveled = with_level(&line, "WARN");
        let doc = parse(&leveled);
        assert_eq!(doc["level"], "WARN");
        emf_directives(&doc, 1);
        assert_eq!(with_level("{}", "INFO"), r#"{"level":"INFO"}"#);
    }

    #[test]
    fn the_memory_sink_keeps_lines_and_off_keeps_nothing() {
        let (sink, lines) = Metrics::memory();
        assert!(sink.enabled());
        sink.emit("{\"a\":1}");
        assert_eq!(lines.lines(), ["{\"a\":1}"]);
        assert_eq!(lines.take().len(), 1);
        assert!(lines.lines().is_empty());
        assert!(!Metrics::Off.enabled());
        Metrics::Off.emit("{}");
    }

    #[tokio::test]
    async fn latencies_are_collected_per_scope_and_ignored_outside_one() {
        observe_forward_latency(Duration::from_millis(5));
        let ((), values) = collect_forward_latencies(async {
            observe_forward_latency(Duration::from_millis(12));
            let ((), inner) = collect_forward_latencies(async {
                observe_forward_latency(Duration::from_millis(1));
            })
            .await;
            assert_eq!(inner, [1.0]);
            observe_forward_latency(Duration::from_micros(30_500));
        })
        .await;
        assert_eq!(values, [12.0, 30.5]);
    }
}
