//! A delivery's body against its source's JSON Schema for the event type: what ingest checks
//! after the signature, and the errors it reports (in a 422, or carried by the envelope to a
//! `schema_invalid` dead letter).
//!
//! Only sources with `schemas` pay for this: the body is parsed into a `serde_json::Value` once,
//! and only when a schema applies.

use serde::{Deserialize, Serialize};

/// At most this many errors are reported per delivery: the first ones are what a sender needs to
/// fix it, and they travel in a message attribute and a response body, both bounded.
pub const MAX_SCHEMA_ERRORS: usize = 10;

/// At most this many bytes of each error's message.
const MAX_MESSAGE_BYTES: usize = 200;

/// The dead-letter reason, the 422's error code and the refusal metric's reason.
pub const SCHEMA_INVALID: &str = "schema_invalid";

/// One way the body breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaError {
    /// Where in the body, as a JSON pointer (RFC 6901): `""` is the whole body, `/commits/0/id`
    /// a field.
    pub pointer: String,
    /// What is wrong there, as the validator says it (cut to a bounded length).
    pub message: String,
}

/// A compiled schema. Without the `schemas` feature there is none to have: a config that names
/// schemas is refused at start-up instead ([`compile`]).
#[cfg(feature = "schemas")]
pub struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

/// Uninhabited: this build checks no schema.
#[cfg(not(feature = "schemas"))]
pub enum Validator {}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Validator")
    }
}

/// Where a compiled schema says it lives: the document is registered under this name, so a
/// relative `$ref` resolves against it and can name nothing outside the document.
#[cfg(feature = "schemas")]
const SCHEMA_URL: &str = "urn:inlet:schema";

/// Refuses every URL: `$ref` resolves within the document only, never from the network or the
/// file system (a schema is configuration, and reading other files would make it depend on what
/// the package happens to hold).
#[cfg(feature = "schemas")]
struct NoLoader;

#[cfg(feature = "schemas")]
impl boon::UrlLoader for NoLoader {
    fn load(&self, url: &str) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        Err(format!("{url}: a schema's $ref resolves within its own file only").into())
    }
}

/// The drafts a schema may name in `$schema`; without one it is read as 2020-12.
const DRAFTS: [&str; 2] = [
    "https://json-schema.org/draft/2020-12/schema",
    "http://json-schema.org/draft-07/schema",
];

/// Compiles `document`: draft 2020-12 or 7, checked against its meta-schema. The error says
/// what is wrong, to follow the file's name in the config's refusal ("… is not a valid schema:
/// …").
pub fn compile(document: serde_json::Value) -> Result<Validator, String> {
    if let Some(named) = document.get("$schema") {
        let named = named.as_str().unwrap_or_default();
        let plain = named
            .trim_end_matches('#')
            .replacen("https://", "http://", 1);
        if !DRAFTS
            .iter()
            .any(|draft| draft.replacen("https://", "http://", 1) == plain)
        {
            return Err(format!(
                "names another draft: `$schema` must be draft 2020-12 or draft 7 (or absent, for \
                 2020-12), not {named:?}"
            ));
        }
    }
    compile_supported(document)
}

#[cfg(feature = "schemas")]
fn compile_supported(document: serde_json::Value) -> Result<Validator, String> {
    let mut compiler = boon::Compiler::new();
    compiler.set_default_draft(boon::Draft::V2020_12);
    compiler.use_loader(Box::new(NoLoader));
    let mut schemas = boon::Schemas::new();
    let invalid = |error: boon::CompileError| format!("is not a valid schema: {error:#}");
    compiler
        .add_resource(SCHEMA_URL, document)
        .map_err(invalid)?;
    let index = compiler
        .compile(SCHEMA_URL, &mut schemas)
        .map_err(invalid)?;
    Ok(Validator { schemas, index })
}

#[cfg(not(feature = "schemas"))]
fn compile_supported(_: serde_json::Value) -> Result<Validator, String> {
    Err(
        "cannot be checked by this build: it was built without the `schemas` feature \
         (`make build` builds ingest with it when the packaged config names schemas)"
            .to_owned(),
    )
}

/// The errors of `body` against `validator`, the first [`MAX_SCHEMA_ERRORS`] of them; empty when
/// it conforms. A body that is not JSON is one error at `""`.
pub fn check(validator: &Validator, body: &[u8]) -> Vec<SchemaError> {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => {
            return vec![SchemaError {
                pointer: String::new(),
                message: cut(&format!("the body is not JSON: {error}")),
            }];
        }
    };
    errors_of(validator, &value)
}

#[cfg(feature = "schemas")]
fn errors_of(validator: &Validator, value: &serde_json::Value) -> Vec<SchemaError> {
    let Err(error) = validator.schemas.validate(value, validator.index) else {
        return Vec::new();
    };
    // The validator nests errors by the keyword that found them: the leaves say what is wrong.
    let mut leaves = Vec::new();
    let mut pending = vec![&error];
    while let Some(error) = pending.pop() {
        if error.causes.is_empty() {
            leaves.push(SchemaError {
                pointer: error.instance_location.to_string(),
                message: cut(&error.kind.to_string()),
            });
            if leaves.len() == MAX_SCHEMA_ERRORS {
                break;
            }
        }
        // Reversed, so that they come off the stack in the validator's order.
        pending.extend(error.causes.iter().rev());
    }
    leaves
}

#[cfg(not(feature = "schemas"))]
fn errors_of(validator: &Validator, _: &serde_json::Value) -> Vec<SchemaError> {
    match *validator {}
}

impl SchemaError {
    /// Where, for people: the pointer, or `(the body)` for the whole of it.
    pub fn place(&self) -> &str {
        if self.pointer.is_empty() {
            "(the body)"
        } else {
            &self.pointer
        }
    }
}

/// The errors on one line: `/repository: "id" is a required property; /commits/1: …`.
pub fn describe(errors: &[SchemaError]) -> String {
    errors
        .iter()
        .map(|error| format!("{}: {}", error.place(), error.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn cut(text: &str) -> String {
    if text.len() <= MAX_MESSAGE_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(all(test, feature = "schemas"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn validator(schema: serde_json::Value) -> Validator {
        compile(schema).unwrap()
    }

    #[test]
    fn drafts_other_than_2020_12_and_7_are_refused() {
        for draft in [
            "https://json-schema.org/draft/2020-12/schema",
            "http://json-schema.org/draft-07/schema#",
        ] {
            assert!(
                compile(json!({"$schema": draft, "type": "object"})).is_ok(),
                "{draft}"
            );
        }
        let old = compile(json!({"$schema": "http://json-schema.org/draft-04/schema#"}));
        assert!(old.unwrap_err().contains("draft 2020-12 or draft 7"));
    }

    #[test]
    fn a_ref_outside_the_document_is_refused_and_never_read() {
        let remote = compile(json!({"$ref": "https://example.com/schema.json"}));
        assert!(remote.is_err());
        let file = compile(json!({"$ref": "other.json"}));
        assert!(file.is_err());
        let inside = compile(json!({"$defs": {"a": {"type": "string"}}, "$ref": "#/$defs/a"}));
        assert!(inside.is_ok());
    }

    #[test]
    fn a_conforming_body_has_no_errors() {
        let v = validator(json!({"type": "object", "required": ["ref"]}));
        assert!(check(&v, br#"{"ref": "refs/heads/main"}"#).is_empty());
    }

    #[test]
    fn each_error_points_at_the_field_at_fault() {
        let v = validator(json!({
            "type": "object",
            "required": ["ref", "repository"],
            "properties": {"commits": {"type": "array", "items": {"type": "object", "required": ["id"]}}}
        }));
        let errors = check(
            &v,
            br#"{"ref": "x", "commits": [{"id": "a"}, {"message": "m"}]}"#,
        );
        let root = errors.iter().find(|e| e.pointer.is_empty()).unwrap();
        assert!(root.message.contains("repository"), "{errors:?}");
        let commit = errors.iter().find(|e| e.pointer == "/commits/1").unwrap();
        assert!(commit.message.contains("id"), "{errors:?}");
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn a_body_that_is_not_json_is_one_error_at_the_root() {
        let v = validator(json!({"type": "object"}));
        let errors = check(&v, b"payload=%7B%7D");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "");
        assert!(
            errors[0].message.starts_with("the body is not JSON"),
            "{errors:?}"
        );
    }

    #[test]
    fn errors_and_their_messages_are_bounded() {
        let v = validator(json!({"type": "array", "items": {"type": "string", "maxLength": 1}}));
        let long = "é".repeat(500);
        let body = serde_json::to_vec(&vec![long; 50]).unwrap();
        let errors = check(&v, &body);
        assert_eq!(errors.len(), MAX_SCHEMA_ERRORS);
        for error in &errors {
            assert!(
                error.message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8(),
                "{error:?}"
            );
        }
    }
}
