//! Sample deliveries (`events/payloads/*.json`): what a provider sends, minus the signature.
//!
//! The format is described in events/README.md. A payload is rendered at a time, which fills in
//! the `{{now…}}` placeholders, so the same file serves fixtures at a fixed epoch and live sends.

use crate::error::CliError;
use crate::json;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::path::Path;

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

    /// The delivery as sent at `now` (seconds since the epoch).
    pub fn render(&self, now: i64) -> Result<Rendered, String> {
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| Ok((name.clone(), expand(value, now)?)))
            .collect::<Result<_, String>>()?;
        let body = match &self.body {
            BodyTemplate::Text(text) => expand(text, now)?.into_bytes(),
            BodyTemplate::Bytes(bytes) => bytes.clone(),
        };
        Ok(Rendered { headers, body })
    }
}

/// Fills in the time placeholders: `"{{now}}"` and `"{{now_ms}}"`, quotes included, become JSON
/// numbers (seconds, milliseconds); inside other text they and `{{now_iso}}` (RFC 3339) become
/// text.
fn expand(text: &str, now: i64) -> Result<String, String> {
    if !text.contains("{{") {
        return Ok(text.to_owned());
    }
    let secs = now.to_string();
    let millis = now.saturating_mul(1000).to_string();
    let expanded = text
        .replace("\"{{now}}\"", &secs)
        .replace("\"{{now_ms}}\"", &millis)
        .replace("{{now}}", &secs)
        .replace("{{now_ms}}", &millis)
        .replace("{{now_iso}}", &inlet::clock::format_rfc3339_secs(now));
    if expanded.contains("{{now") {
        return Err("unknown placeholder: expected {{now}}, {{now_ms}} or {{now_iso}}".into());
    }
    Ok(expanded)
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
        let typo = Payload::parse(r#"{"source": "a", "body": {"t": "{{nowms}}"}}"#).unwrap();
        assert!(typo.render(0).is_err());
    }
}
