//! The report: the text a person reads and the `--json` array for tools.

use super::delivery::{Tested, TypeFrom};
use super::outcome::{Delivers, RouteResult};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt::Write as _;

impl Tested<'_> {
    /// The report a person reads.
    pub(super) fn describe(&self, results: &[RouteResult]) -> String {
        let mut out = String::new();
        let envelope = &self.envelope;
        let event_type = match (&envelope.event_type, &self.type_from) {
            (Some(t), TypeFrom::Given) => format!("{t} (--event-type)"),
            (Some(t), _) => format!("{t} (read from the delivery, as ingest reads it)"),
            (None, TypeFrom::Absent(why)) => format!("none: {why}"),
            (None, _) => "none".to_owned(),
        };
        let _ = writeln!(
            out,
            "delivery to {} ({} scheme) as key {}, {} bytes",
            self.source.name,
            self.source.scheme.name(),
            envelope.key,
            self.body.len()
        );
        let _ = writeln!(out, "event type: {event_type}");
        let kept = if self.kept.is_empty() {
            "none".to_owned()
        } else {
            self.kept.join(", ")
        };
        let _ = writeln!(out, "headers kept: {kept}");
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if let Some(why) = &self.not_queued {
            let _ = writeln!(out, "not queued: {why}");
        }
        let _ = writeln!(out);
        if results.is_empty() {
            let _ = writeln!(
                out,
                "no route has source {}: process would complete the event as unrouted",
                self.source.name
            );
            return out;
        }
        for result in results {
            result.describe(&mut out);
        }
        let matched = results.iter().filter(|r| r.why_not.is_empty()).count();
        let _ = writeln!(
            out,
            "{matched} of {} route{} of {} {}{}",
            results.len(),
            if results.len() == 1 { "" } else { "s" },
            self.source.name,
            if matched == 1 { "matches" } else { "match" },
            if matched == 0 {
                ": process would complete the event as unrouted"
            } else {
                ""
            }
        );
        out
    }
}

impl RouteResult {
    fn destination(&self) -> String {
        if self.kind == "log" {
            "log".to_owned()
        } else {
            format!("{} {}", self.kind, self.target)
        }
    }

    fn describe(&self, out: &mut String) {
        let head = format!("route {} (routes[{}])", self.name, self.index);
        let Some(delivers) = &self.delivers else {
            let _ = writeln!(out, "{head}: does not match");
            for why in &self.why_not {
                let _ = writeln!(out, "  {why}");
            }
            let _ = writeln!(out);
            return;
        };
        let _ = writeln!(out, "{head}: matches → {}", self.destination());
        match delivers {
            Delivers::Unchanged { bytes } => {
                let _ = writeln!(out, "  body unchanged ({bytes} bytes)");
            }
            Delivers::Transformed(output) => {
                let _ = writeln!(out, "  transformed ({} bytes):", output.len());
                for line in pretty(output).lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            Delivers::Failed { reason, message } => {
                let _ = writeln!(out, "  {reason}: {message}");
            }
        }
        let _ = writeln!(out);
    }

    /// The route as `--json` gives it; the transform's output as it is delivered (its keys in
    /// the order the transform wrote them).
    pub(super) fn to_json(&self) -> RouteJson<'_> {
        let (output, body_unchanged, bytes, error) = match &self.delivers {
            None => (None, None, None, None),
            Some(Delivers::Unchanged { bytes }) => (None, Some(true), Some(*bytes), None),
            Some(Delivers::Transformed(output)) => {
                let text = String::from_utf8_lossy(output).into_owned();
                let raw = RawValue::from_string(text.clone())
                    .or_else(|_| RawValue::from_string(Value::String(text).to_string()))
                    .ok();
                (raw, Some(false), Some(output.len()), None)
            }
            Some(Delivers::Failed { reason, message }) => (
                None,
                None,
                None,
                Some(RouteError {
                    reason: reason.as_str(),
                    message: message.as_str(),
                }),
            ),
        };
        RouteJson {
            route: &self.name,
            index: self.index,
            matches: self.delivers.is_some(),
            why_not: &self.why_not,
            kind: self.kind,
            target: &self.target,
            body_unchanged,
            bytes,
            output,
            error,
        }
    }
}

/// One route in `--json`'s array.
#[derive(Debug, Serialize)]
pub(super) struct RouteJson<'a> {
    route: &'a str,
    /// Its place in the config's `[[routes]]`.
    index: usize,
    matches: bool,
    /// Why not, each by its key; empty when it matches.
    why_not: &'a [String],
    kind: &'static str,
    target: &'a str,
    /// For a matching route: whether it delivers the body as it came, and how many bytes.
    body_unchanged: Option<bool>,
    bytes: Option<usize>,
    /// The transform's output, when it has one.
    output: Option<Box<RawValue>>,
    /// The transform's failure: `transform_failed` and its message.
    error: Option<RouteError<'a>>,
}

#[derive(Debug, Serialize)]
struct RouteError<'a> {
    reason: &'a str,
    message: &'a str,
}

/// A transform's output indented two spaces a level, its keys in the order it wrote them
/// (`inlet sign`'s printer); as text when it is not JSON.
pub(super) fn pretty(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err() {
        return text.into_owned();
    }
    crate::json::pretty(&text)
}
