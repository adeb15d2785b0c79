//! Ingest's line: one per request, counted by outcome, a refusal counted again under its reason.

use super::emf::{count, directive, open, push_json_str};
use std::fmt::Write as _;

pub(super) const INGEST_COUNTS: [&str; 6] = [
    "received",
    "queued",
    "ignored",
    "handshake",
    "rejected",
    "failed",
];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::emf::UNKNOWN_SOURCE;
    use crate::metrics::emf::check::{emf_directives, metric_names, parse};

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
}
