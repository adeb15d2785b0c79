//! Process's lines: one per batch and source, the records counted by outcome, with the forward
//! latencies of the source's records.

use super::emf::{
    MAX_VALUES, UNKNOWN_SOURCE, count, directive, open, push_json_str, push_latencies,
};
use std::fmt::Write as _;

pub(super) const PROCESS_COUNTS: [&str; 8] = [
    "processed",
    "unrouted",
    "duplicate",
    "conflict",
    "failed_transient",
    "dead_lettered",
    "skipped",
    "held",
];

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
    /// Nothing failed, but routes were held back (breaker, rate limit, a step not yet due).
    Held,
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
    pub held: u32,
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
            RecordCount::Held => self.held += 1,
        }
    }

    pub fn records(&self) -> u32 {
        self.processed
            + self.unrouted
            + self.duplicate
            + self.failed_transient
            + self.dead_lettered
            + self.skipped
            + self.held
    }

    fn values(&self) -> [u32; 8] {
        [
            self.processed,
            self.unrouted,
            self.duplicate,
            self.conflict,
            self.failed_transient,
            self.dead_lettered,
            self.skipped,
            self.held,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::emf::check::{emf_directives, metric_names, parse};

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
}
