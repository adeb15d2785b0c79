//! The deliveries a schema is inferred from: sample files given with `--from` (payloads in the
//! events/payloads format, or plain JSON bodies), or the local stack's history.

use crate::error::CliError;
use crate::event_type;
use crate::payload::Payload;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use inlet_core::config::Config;
use inlet_signature::Scheme;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One delivery's body, parsed, with what it is.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sample {
    pub(super) source: String,
    pub(super) event_type: Option<String>,
    pub(super) body: Value,
}

/// Deliveries that were not used, by why: said on stderr so a short count is explained.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Skipped {
    /// A body that is not JSON (a form post, bytes).
    pub(super) not_json: usize,
    /// A handshake, which carries no event.
    pub(super) handshakes: usize,
    /// A body the history kept only the start of.
    pub(super) truncated: usize,
}

impl Skipped {
    /// One line per reason that counted, for stderr.
    pub(super) fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let plural = |n: usize| if n == 1 { "delivery" } else { "deliveries" };
        if self.not_json > 0 {
            lines.push(format!(
                "skipped {} {} whose body is not JSON",
                self.not_json,
                plural(self.not_json)
            ));
        }
        if self.handshakes > 0 {
            lines.push(format!(
                "skipped {} {} that {} a handshake, not an event",
                self.handshakes,
                plural(self.handshakes),
                if self.handshakes == 1 { "is" } else { "are" }
            ));
        }
        if self.truncated > 0 {
            lines.push(format!(
                "skipped {} {} whose body the history keeps only the start of",
                self.truncated,
                plural(self.truncated)
            ));
        }
        lines
    }
}

/// What `--from` files are read with.
#[derive(Debug)]
pub(super) struct FromFiles<'a> {
    /// Only this source's; plain bodies are this source's.
    pub(super) source: Option<&'a str>,
    /// The event type of every sample, instead of the one read from it.
    pub(super) event_type: Option<&'a str>,
    /// The config, when there is one: its sources' schemes read the samples' event types.
    pub(super) config: Option<&'a Config>,
}

/// The files `paths` name: each file, and each directory's `*.json` files, in name order.
pub(super) fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(crate::payload::files(path)?);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// The samples in `files`.
pub(super) fn from_files(
    files: &[PathBuf],
    with: &FromFiles<'_>,
) -> Result<(Vec<Sample>, Skipped), CliError> {
    let mut samples = Vec::new();
    let mut skipped = Skipped::default();
    for path in files {
        let text = std::fs::read(path).map_err(CliError::io(path))?;
        let Ok(value) = serde_json::from_slice::<Value>(&text) else {
            // A plain body that is not JSON: still a usage error without --source, so that a
            // mistyped payload file is not silently counted as a form post.
            plain_source(path, with)?;
            skipped.not_json += 1;
            continue;
        };
        if is_payload(&value) {
            from_payload(path, with, &mut samples, &mut skipped)?;
        } else {
            samples.push(Sample {
                source: plain_source(path, with)?.to_owned(),
                event_type: with.event_type.map(str::to_owned),
                body: value,
            });
        }
    }
    Ok((samples, skipped))
}

/// Whether `value` is a sample payload (events/README.md) rather than a plain body: an object
/// with a `source`, a `body` or `body_b64`, and no key the format does not have.
fn is_payload(value: &Value) -> bool {
    const KEYS: [&str; 6] = [
        "source",
        "description",
        "headers",
        "body",
        "body_b64",
        "pretty",
    ];
    value.as_object().is_some_and(|fields| {
        fields.get("source").is_some_and(Value::is_string)
            && (fields.contains_key("body") || fields.contains_key("body_b64"))
            && fields.keys().all(|key| KEYS.contains(&key.as_str()))
    })
}

/// The source a plain body belongs to: `--source`'s.
fn plain_source<'a>(path: &Path, with: &FromFiles<'a>) -> Result<&'a str, CliError> {
    with.source.ok_or_else(|| {
        CliError::Usage(format!(
            "{}: a plain body, not a sample payload: give --source NAME (and --event-type \
             TYPE) to say what it is",
            path.display()
        ))
    })
}

/// A sample payload rendered now, its event type read by its source's scheme.
fn from_payload(
    path: &Path,
    with: &FromFiles<'_>,
    samples: &mut Vec<Sample>,
    skipped: &mut Skipped,
) -> Result<(), CliError> {
    let payload = Payload::load(path)?;
    if with.source.is_some_and(|wanted| wanted != payload.source) {
        return Ok(());
    }
    let rendered = payload
        .render(crate::sending::now_secs())
        .map_err(|why| CliError::fixture(path, why))?;
    let headers = header_map(path, &rendered.headers)?;
    // The config's source says how its deliveries name their type; without one, a source named
    // after a provider is read as that provider's.
    let configured = with.config.and_then(|c| c.source(&payload.source));
    let scheme = configured
        .map(|s| s.scheme.clone())
        .or_else(|| Scheme::named(&payload.source))
        .unwrap_or(Scheme::None);
    let url = configured.and_then(|s| s.url.as_deref());
    let read = event_type::read(&scheme, url, &headers, &rendered.body)
        .map_err(|why| CliError::fixture(path, format!("cannot read its event type: {why}")))?;
    if read.handshake {
        skipped.handshakes += 1;
        return Ok(());
    }
    let Ok(body) = serde_json::from_slice::<Value>(&rendered.body) else {
        skipped.not_json += 1;
        return Ok(());
    };
    samples.push(Sample {
        source: payload.source,
        event_type: with.event_type.map(str::to_owned).or(read.event_type),
        body,
    });
    Ok(())
}

fn header_map(path: &Path, headers: &[(String, String)]) -> Result<HeaderMap, CliError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| CliError::fixture(path, format!("header {name:?}: not a valid name")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| CliError::fixture(path, format!("header {name}: not a valid value")))?;
        map.append(name, value);
    }
    Ok(map)
}

/// What the history says of a delivery (`.inlet/history.jsonl`, written by `inlet dev`'s
/// inspector): only the fields read here; the rest is the inspector's business.
#[derive(Debug, Deserialize)]
struct HistoryLine {
    id: String,
    seq: u64,
    source: String,
    event_type: Option<String>,
    /// The idempotency key ingest queued it under; none when it was not queued.
    key: Option<String>,
    state: String,
    request: HistoryRequest,
}

#[derive(Debug, Deserialize)]
struct HistoryRequest {
    /// Base64, as the inspector writes bodies.
    body: String,
    #[serde(default)]
    body_truncated_from: Option<usize>,
}

/// The deliveries ingest queued, from the history at `path`, `source`'s only when given; `None`
/// when there is no history.
pub(super) fn from_history(
    path: &Path,
    source: Option<&str>,
) -> Result<Option<(Vec<Sample>, Skipped)>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(CliError::io(path)(error)),
    };
    Ok(Some(history_samples(&text, source)))
}

/// The samples in the history's `text`: the last line for each id wins (as the inspector loads
/// it), only deliveries ingest queued count, and one per idempotency key (the newest), so
/// redeliveries and replays of one event count once.
fn history_samples(text: &str, source: Option<&str>) -> (Vec<Sample>, Skipped) {
    let mut by_id: HashMap<String, HistoryLine> = HashMap::new();
    for line in text.lines() {
        // A line cut short by a crash, or from another version, is skipped, as the inspector
        // skips it.
        if let Ok(parsed) = serde_json::from_str::<HistoryLine>(line) {
            by_id.insert(parsed.id.clone(), parsed);
        }
    }
    let mut by_key: HashMap<String, HistoryLine> = HashMap::new();
    for line in by_id.into_values() {
        // Queued, whatever became of it since; a refusal after the signature (a body that broke
        // its schema, say) was never queued.
        let Some(key) = line.key.clone() else {
            continue;
        };
        if line.state == "rejected" || source.is_some_and(|wanted| wanted != line.source) {
            continue;
        }
        match by_key.get(&key) {
            Some(kept) if kept.seq >= line.seq => {}
            _ => {
                by_key.insert(key, line);
            }
        }
    }
    let mut lines: Vec<HistoryLine> = by_key.into_values().collect();
    lines.sort_by_key(|line| line.seq);
    let mut samples = Vec::new();
    let mut skipped = Skipped::default();
    for line in lines {
        if line.request.body_truncated_from.is_some() {
            skipped.truncated += 1;
            continue;
        }
        let body = STANDARD
            .decode(&line.request.body)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        match body {
            Some(body) => samples.push(Sample {
                source: line.source,
                event_type: line.event_type,
                body,
            }),
            None => skipped.not_json += 1,
        }
    }
    (samples, skipped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    /// A history line in the shape the inspector's store writes (store/records.rs `Delivery`).
    fn line(id: &str, seq: u64, key: Option<&str>, state: &str, body: &[u8]) -> String {
        json!({
            "id": id, "seq": seq, "received_at": "2026-11-28T13:00:00Z", "source": "github",
            "event_type": "push", "event_id": null, "key": key, "status": 202, "code": null,
            "state": state, "state_detail": "", "next_try_at": null, "attempts": 0,
            "replay_of": null,
            "request": {"method": "POST", "path": "/webhooks/github", "query": null,
                        "headers": [["x-github-event", "push"]], "body": STANDARD.encode(body)},
            "verdict": {"status": 202, "code": null, "message": "queued", "verified": true},
            "envelope": null
        })
        .to_string()
    }

    #[test]
    fn the_history_gives_each_queued_event_once() {
        let text = [
            line("d-000001", 1, Some("github#a"), "queued", b"{\"n\":1}"),
            // Its later state wins, and it stays a sample.
            line("d-000001", 1, Some("github#a"), "processed", b"{\"n\":1}"),
            // A redelivery of the same event: the newer copy is the sample.
            line("d-000002", 2, Some("github#a"), "duplicate", b"{\"n\":2}"),
            // Refused before queueing: no key.
            line("d-000003", 3, None, "rejected", b"{\"bad\":true}"),
            line(
                "d-000004",
                4,
                Some("github#b"),
                "dead_lettered",
                b"not json",
            ),
            "{\"cut short".to_owned(),
            line("d-000005", 5, Some("github#c"), "queued", b"[1]"),
        ]
        .join("\n");
        let (samples, skipped) = history_samples(&text, None);
        let bodies: Vec<&Value> = samples.iter().map(|s| &s.body).collect();
        assert_eq!(bodies, [&json!({"n": 2}), &json!([1])]);
        assert_eq!(samples[0].event_type.as_deref(), Some("push"));
        assert_eq!(skipped.not_json, 1);
        let (none, _) = history_samples(&text, Some("stripe"));
        assert!(none.is_empty());
    }

    #[test]
    fn payloads_are_told_from_plain_bodies() {
        assert!(is_payload(&json!({"source": "github", "body": {}})));
        assert!(is_payload(
            &json!({"source": "crm", "body_b64": "", "description": "x"})
        ));
        assert!(!is_payload(&json!({"source": "github"})));
        assert!(!is_payload(
            &json!({"source": "github", "body": {}, "sender": {}})
        ));
        assert!(!is_payload(&json!([{"source": "github", "body": {}}])));
    }
}
