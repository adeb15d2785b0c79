//! One message of a source's channel: its name and words, its headers, and its payload, which is
//! the source's JSON Schema file for the type, embedded as it is.
//!
//! AsyncAPI 3.0's own schema format is a superset of JSON Schema draft 7, and other formats are
//! named by a Multi Format Schema Object's `schemaFormat`. A draft 7 file is given as
//! `application/schema+json;version=draft-07`, a format every AsyncAPI tool must read. Inlet reads
//! a file without `$schema` as draft 2020-12, which AsyncAPI 3.0 does not list: such files, and
//! those naming 2020-12, are given as `application/schema+json;version=draft-2020-12`, the same
//! media type with the draft they are, rather than passed off as draft 7.

use super::catalogue::Entry;
use super::events::Types;
use super::headers;
use crate::error::CliError;
use inlet_core::config::{ANY_TYPE, OnInvalid, SchemaFile, Source};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// The format of a draft 7 schema file.
pub(super) const DRAFT_07: &str = "application/schema+json;version=draft-07";
/// The format of a draft 2020-12 schema file (or one without `$schema`).
pub(super) const DRAFT_2020_12: &str = "application/schema+json;version=draft-2020-12";

/// Schema files read so far, by their path in the config, each read once.
#[derive(Debug)]
pub(super) struct SchemaFiles<'a> {
    /// The config's directory, which the paths are relative to.
    dir: &'a Path,
    read: BTreeMap<String, Value>,
}

impl<'a> SchemaFiles<'a> {
    pub(super) fn new(dir: &'a Path) -> Self {
        Self {
            dir,
            read: BTreeMap::new(),
        }
    }

    /// The schema file's JSON. The loader has read and compiled it already; reading it again
    /// can only fail if it changed since.
    fn document(&mut self, file: &SchemaFile) -> Result<Value, CliError> {
        if let Some(document) = self.read.get(&file.path) {
            return Ok(document.clone());
        }
        let path = self.dir.join(&file.path);
        let text = std::fs::read(&path).map_err(CliError::io(&path))?;
        let document: Value = serde_json::from_slice(&text)
            .map_err(|e| CliError::Failed(format!("{}: not JSON: {e}", path.display())))?;
        self.read.insert(file.path.clone(), document.clone());
        Ok(document)
    }
}

/// The message `entry` stands for on `source`'s channel.
pub(super) fn build(
    source: &Source,
    entry: &Entry,
    files: &mut SchemaFiles<'_>,
) -> Result<Value, CliError> {
    let schema = match &entry.types {
        Types::Exact(name) => source.schemas.for_type(Some(name)),
        Types::Prefix(_) | Types::Any => source.schemas.by_type.get(ANY_TYPE),
    };
    let provider = source
        .scheme
        .provider()
        .map_or_else(|| source.name.clone(), |p| p.title.to_owned());
    let mut message = Map::new();
    message.insert("name".to_owned(), json!(entry.types.entry()));
    let (title, summary) = match &entry.types {
        Types::Exact(name) => (
            format!("{} {name}", source.name),
            format!("A `{name}` event from {provider}."),
        ),
        Types::Prefix(prefix) => (
            format!("{} {prefix}*", source.name),
            format!("Any event from {provider} whose type starts with `{prefix}`."),
        ),
        Types::Any => (
            format!("{} (any type)", source.name),
            format!("Any event from {provider} without a message of its own here."),
        ),
    };
    message.insert("title".to_owned(), json!(title));
    message.insert("summary".to_owned(), json!(summary));
    message.insert(
        "description".to_owned(),
        json!(description(source, entry, schema)),
    );
    if schema.is_some() || source.scheme.posts_json_object() {
        message.insert("contentType".to_owned(), json!("application/json"));
    }
    message.insert(
        "headers".to_owned(),
        headers::schema(&source.scheme, &entry.types),
    );
    let payload = match schema {
        Some(file) => {
            let document = files.document(file)?;
            message.insert("x-inlet-schema-file".to_owned(), json!(file.path));
            json!({"schemaFormat": format_of(&document), "schema": document})
        }
        // No schema: anything the provider may send, a JSON object where it always sends one.
        None if source.scheme.posts_json_object() => json!({"type": "object"}),
        None => json!({}),
    };
    message.insert("payload".to_owned(), payload);
    Ok(Value::Object(message))
}

/// The schema format a schema file is in: draft 7 when its `$schema` says so, else 2020-12 (as
/// Inlet reads it; the loader accepts no other draft).
pub(super) fn format_of(document: &Value) -> &'static str {
    let named = document
        .get("$schema")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if named.contains("json-schema.org/draft-07/schema") {
        DRAFT_07
    } else {
        DRAFT_2020_12
    }
}

/// What a reader should know about the message beyond its summary: which types, the schema, and
/// whether the source takes it at all.
fn description(source: &Source, entry: &Entry, schema: Option<&SchemaFile>) -> String {
    let mut words = match &entry.types {
        Types::Exact(_) => String::new(),
        Types::Prefix(_) => {
            "Types with a message of their own here are described there. ".to_owned()
        }
        Types::Any => "The source takes every type. ".to_owned(),
    };
    if !entry.accepted {
        words.push_str(
            "The source's `events` filter does not take this type: ingest answers `200 ignored` \
             and queues nothing. ",
        );
    }
    match schema {
        Some(file) => {
            let verdict = match source.schemas.on_invalid {
                OnInvalid::Reject => "refused with `422 schema_invalid`",
                OnInvalid::DeadLetter => {
                    "accepted, then dead-lettered with reason `schema_invalid` before any route runs"
                }
            };
            words.push_str(&format!(
                "Ingest checks the body against `{}` after the signature; a body that breaks it \
                 is {verdict}.",
                file.path
            ));
        }
        None => {
            words.push_str("No schema is configured: the body is not checked beyond the signature.")
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_7_is_told_from_2020_12() {
        let seven = json!({"$schema": "http://json-schema.org/draft-07/schema#"});
        assert_eq!(format_of(&seven), DRAFT_07);
        let twelve = json!({"$schema": "https://json-schema.org/draft/2020-12/schema"});
        assert_eq!(format_of(&twelve), DRAFT_2020_12);
        assert_eq!(format_of(&json!({"type": "object"})), DRAFT_2020_12);
    }
}
