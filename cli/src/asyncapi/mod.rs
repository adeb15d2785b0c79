//! `inlet asyncapi`: the deployment as an AsyncAPI 3.0 document, for people and tools that read
//! event-driven APIs. Every source is a channel (`POST /webhooks/{source}`) with one message per
//! event type it is configured for, its signature scheme a security scheme; Inlet receives on
//! each channel, and every route is an operation saying where the events go.
//!
//! The document is built from the config alone (no emulator, AWS or secret) and is the same for
//! the same config, byte for byte, so it can be committed and diffed.

mod catalogue;
mod channel;
mod document;
mod events;
mod headers;
mod message;
mod route;
mod security;
mod server;

use crate::Report;
use crate::error::CliError;
use crate::globals::Globals;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct AsyncApiArgs {
    /// The document's `info.title`.
    #[arg(long, value_name = "TEXT", default_value = "Inlet webhooks")]
    pub title: String,
    /// The document's `info.version`: the version of this API description, yours to bump.
    #[arg(long, value_name = "VERSION", default_value = "1.0.0")]
    pub api_version: String,
    /// The deployment's base URL (the API's invoke URL, such as
    /// https://abc123.execute-api.eu-west-1.amazonaws.com): written as the document's server.
    /// Without it, the document has no servers.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Write the document to FILE instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(globals: &Globals, args: &AsyncApiArgs) -> Result<Report, CliError> {
    let config = globals.load_config()?;
    let server = args.server.as_deref().map(server::parse).transpose()?;
    let base = inlet_core::config::config_dir(&globals.config);
    let document = sorted(document::build(&document::Input {
        config: &config,
        schema_dir: base,
        title: &args.title,
        version: &args.api_version,
        server: server.as_ref(),
    })?);
    let mut json = serde_json::to_string_pretty(&document)
        .map_err(|e| CliError::Failed(format!("the document as JSON: {e}")))?;
    json.push('\n');
    match &args.output {
        None => Ok(Report::ok(json)),
        Some(path) => {
            std::fs::write(path, json).map_err(CliError::io(path))?;
            Ok(Report::ok(format!(
                "wrote {}: {} channel{}, {} operation{}\n",
                path.display(),
                count(&document, "channels"),
                plural(count(&document, "channels")),
                count(&document, "operations"),
                plural(count(&document, "operations")),
            )))
        }
    }
}

/// How many entries the document's top-level object `key` has.
fn count(document: &serde_json::Value, key: &str) -> usize {
    document
        .get(key)
        .and_then(serde_json::Value::as_object)
        .map_or(0, serde_json::Map::len)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `value` with every object's keys in order. serde_json keeps insertion order when another crate
/// of the build turns on its `preserve_order`, and sorts otherwise: sorting here gives the same
/// text from every build of `inlet`, so a committed document diffs cleanly.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}
