//! Sample deliveries (`events/payloads/*.json`): what a provider sends, minus the signature.
//!
//! The format is described in events/README.md. A payload is rendered at a time, which fills in
//! the `{{now…}}` placeholders, and with an event id, which fills in `{{id}}` and `{{uuid}}`, so
//! the same file serves fixtures (a fixed epoch, an id derived from it) and live sends (the
//! current time, a new id each time: a new event, not a changed copy of an old one).

use crate::error::CliError;
use crate::json;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayload {
    source: String,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<Box<RawValue>>,
    body_b64: Option<String>,
    #[serde(default)]
    pretty: bool,
}

#[derive(Debug, Clone)]
enum BodyTemplate {
    /// Text that may hold placeholders.
    Text(String),
    /// Bytes sent as they are.
    Bytes(Vec<u8>),
}

/// A sample delivery, ready to render.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The source in the config whose secrets sign it.
    pub source: String,
    headers: Vec<(String, String)>,
    body: BodyTemplate,
}

/// A payload at a given time: the headers a provider sends besides the signature, and the body.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The provider's id for one event, as `{{id}}` (32 hex digits) and `{{uuid}}` (the same digits
/// grouped 8-4-4-4-12) fill it in. The signed copies of one event share it, so they dedupe;
/// another event needs another id, or the pipeline sees one key with two bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventId(u128);

impl EventId {
    /// An id for a fixture: a function of the payload's name and the time it is rendered for, so
    /// regenerating reproduces it, while fixtures for another time are other events.
    pub fn derived(name: &str, now: i64) -> Self {
        let digest = inlet_signature::sha256(format!("{name}\n{now}").as_bytes());
        let mut high = [0u8; 16];
        high.copy_from_slice(&digest[..16]);
        Self(u128::from_be_bytes(high))
    }

    /// A new id for a live send: the current time in nanoseconds, the process id and a count of
    /// the ids this process made, so no two are alike.
    pub fn fresh() -> Self {
        static MADE: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let count = MADE.fetch_add(1, Ordering::Relaxed);
        // 64 bits of nanoseconds last until the year 2554.
        let nanos = nanos & u128::from(u64::MAX);
        Self(nanos << 64 | u128::from(std::process::id()) << 32 | u128::from(count))
    }

    /// `{{id}}`: 32 lower-case hex digits.
    pub fn hex(self) -> String {
        format!("{:032x}", self.0)
    }

    /// `{{uuid}}`: the same digits in the shape of a UUID.
    pub fn uuid(self) -> String {
        let hex = self.hex();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

impl Payload {
    pub fn load(path: &Path) -> Result<Self, CliError> {
        let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
        Self::parse(&text).map_err(|why| CliError::fixture(path, why))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let raw: RawPayload = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let body = match (raw.body, raw.body_b64) {
            (Some(_), Some(_)) => return Err("give `body` or `body_b64`, not both".into()),
            (None, Some(encoded)) => BodyTemplate::Bytes(
                STANDARD
                    .decode(encoded.trim())
                    .map_err(|e| format!("body_b64: {e}"))?,
            ),
            (Some(value), None) => {
                let value = value.get();
                if value.starts_with('"') {
                    // A string body is sent as written (a form post, say), never re-encoded.
                    BodyTemplate::Text(serde_json::from_str(value).map_err(|e| e.to_string())?)
                } else if raw.pretty {
                    BodyTemplate::Text(json::pretty(value))
                } else {
                    BodyTemplate::Text(json::minify(value))
                }
            }
            (None, None) => BodyTemplate::Text(String::new()),
        };
        if raw.pretty && !matches!(&body, BodyTemplate::Text(t) if t.starts_with(['{', '['])) {
            return Err("`pretty` applies only to a JSON object or array body".into());
        }
        Ok(Self {
            source: raw.source,
            headers: raw.headers.into_iter().collect(),
            body,
        })
    }

    /// The delivery as sent at `now` (seconds since the epoch) as a new event, with a fresh id.
    /// Render once and send the result to make redeliveries of one event.
    pub fn render(&self, now: i64) -> Result<Rendered, String> {
        self.render_with(now, EventId::fresh())
    }

    /// The delivery as sent at `now` with the event id `id`.
    pub fn render_with(&self, now: i64, id: EventId) -> Result<Rendered, String> {
        let fill = Fill {
            now,
            id: id.hex(),
            uuid: id.uuid(),
        };
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| Ok((name.clone(), fill.expand(value)?)))
            .collect::<Result<_, String>>()?;
        let body = match &self.body {
            BodyTemplate::Text(text) => fill.expand(text)?.into_bytes(),
            BodyTemplate::Bytes(bytes) => bytes.clone(),
        };
        Ok(Rendered { headers, body })
    }
}

/// The payload files in `dir`, sorted by name.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(CliError::io(dir))? {
        let path = entry.map_err(CliError::io(dir))?.path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// What the placeholders stand for in one rendering.
#[derive(Debug)]
struct Fill {
    now: i64,
    id: String,
    uuid: String,
}

impl Fill {
    /// Fills in the placeholders: `"{{now}}"` and `"{{now_ms}}"`, quotes included, become JSON
    /// numbers (seconds, milliseconds); inside other text they and `{{now_iso}}` (RFC 3339)
    /// become text. `{{id}}` and `{{uuid}}` always become text.
    fn expand(&self, text: &str) -> Result<String, String> {
        if !text.contains("{{") {
            return Ok(text.to_owned());
        }
        let secs = self.now.to_string();
        let millis = self.now.saturating_mul(1000).to_string();
        let expanded = text
            .replace("\"{{now}}\"", &secs)
            .replace("\"{{now_ms}}\"", &millis)
            .replace("{{now}}", &secs)
            .replace("{{now_ms}}", &millis)
            .replace(
                "{{now_iso}}",
                &inlet_signature::clock::format_rfc3339_secs(self.now),
            )
            .replace("{{id}}", &self.id)
            .replace("{{uuid}}", &self.uuid);
        if ["{{now", "{{id", "{{uuid"]
            .iter()
            .any(|start| expanded.contains(start))
        {
            return Err(
                "unknown placeholder: expected {{now}}, {{now_ms}}, {{now_iso}}, \
                        {{id}} or {{uuid}}"
                    .into(),
            );
        }
        Ok(expanded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbers_or_text() {
        let payload = Payload::parse(
            r#"{"source": "linear", "headers": {"X-At": "{{now_iso}}"},
                "body": {"webhookTimestamp": "{{now_ms}}", "t": "{{now}}", "note": "at {{now}}"}}"#,
        )
        .unwrap();
        let rendered = payload.render(1_795_352_400).unwrap();
        assert_eq!(
            String::from_utf8(rendered.body).unwrap(),
            r#"{"webhookTimestamp":1795352400000,"t":1795352400,"note":"at 1795352400"}"#
        );
        assert_eq!(
            rendered.headers,
            vec![("X-At".to_owned(), "2026-11-22T13:00:00Z".to_owned())]
        );
    }

    #[test]
    fn string_and_binary_bodies_are_sent_as_written() {
        let form = Payload::parse(r#"{"source": "twilio", "body": "A=1&B=x+y"}"#).unwrap();
        assert_eq!(form.render(0).unwrap().body, b"A=1&B=x+y");
        let binary = Payload::parse(r#"{"source": "crm", "body_b64": "/wA="}"#).unwrap();
        assert_eq!(binary.render(0).unwrap().body, [0xff, 0x00]);
    }

    #[test]
    fn mistakes_are_refused() {
        for text in [
            r#"{"source": "a", "body": "x", "body_b64": "eA=="}"#,
            r#"{"source": "a", "body": "x", "pretty": true}"#,
            r#"{"source": "a", "bdy": {}}"#,
        ] {
            assert!(Payload::parse(text).is_err(), "{text}");
        }
        for typo in ["{{nowms}}", "{{ids}}", "{{uuid4}}"] {
            let payload =
                Payload::parse(&format!(r#"{{"source": "a", "body": {{"t": "{typo}"}}}}"#))
                    .unwrap();
            assert!(payload.render(0).is_err(), "{typo}");
        }
    }

    const WITH_IDS: &str = r#"{"source": "github", "headers": {"X-GitHub-Delivery": "{{uuid}}"},
                               "body": {"id": "evt_{{id}}", "at": "{{now}}"}}"#;

    /// The id `{{id}}` became, checking `{{uuid}}` became the same one.
    fn id_of(rendered: &Rendered) -> String {
        let body: serde_json::Value = serde_json::from_slice(&rendered.body).unwrap();
        let id = body["id"].as_str().unwrap().strip_prefix("evt_").unwrap();
        assert_eq!(id.len(), 32, "{id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let [(name, uuid)] = &rendered.headers[..] else {
            panic!("{:?}", rendered.headers)
        };
        assert_eq!(name, "X-GitHub-Delivery");
        assert_eq!(uuid.len(), 36, "{uuid}");
        assert_eq!(uuid.replace('-', ""), id);
        assert_eq!(
            uuid.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        id.to_owned()
    }

    #[test]
    fn every_send_is_a_new_event() {
        // What `inlet send` does, twice in one second: two events, not one with two bodies.
        let payload = Payload::parse(WITH_IDS).unwrap();
        let first = payload.render(1_795_352_400).unwrap();
        let second = payload.render(1_795_352_400).unwrap();
        assert_ne!(id_of(&first), id_of(&second));
        assert_ne!(EventId::fresh(), EventId::fresh());
    }

    #[test]
    fn fixture_ids_are_reproducible() {
        // What `inlet fixtures` does: the same payload at the same time is the same event.
        let payload = Payload::parse(WITH_IDS).unwrap();
        let render = |name: &str, now: i64| {
            payload
                .render_with(now, EventId::derived(name, now))
                .unwrap()
        };
        let first = render("github-push", 1_795_352_400);
        let again = render("github-push", 1_795_352_400);
        assert_eq!(first.body, again.body);
        assert_eq!(first.headers, again.headers);
        assert_eq!(id_of(&first), id_of(&again));
        // Another payload, or another time, is another event.
        assert_ne!(id_of(&first), id_of(&render("github-star", 1_795_352_400)));
        assert_ne!(id_of(&first), id_of(&render("github-push", 1_795_352_401)));
    }
}
