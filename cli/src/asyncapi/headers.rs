//! A message's headers as a schema: the headers the source's scheme reads (signature, timestamp,
//! event id, event type), the informative ones Inlet keeps for routes, and the W3C trace
//! headers. Header names are lower case, as HTTP/2 writes them; HTTP treats them without regard
//! to case.

use super::events::Types;
use inlet_core::trace::{TRACEPARENT, TRACESTATE};
use inlet_signature::Scheme;
use serde_json::{Map, Value, json};

/// The header schema for a message of `types` on a source verified by `scheme`.
pub(super) fn schema(scheme: &Scheme, types: &Types) -> Value {
    let mut properties = Map::new();
    let signed: Vec<String> = scheme
        .authenticating_headers()
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect();
    if let Some(header) = scheme.signature_header() {
        let what = if super::security::is_token(scheme) {
            "The shared token that authenticates the delivery."
        } else {
            "The signature that authenticates the delivery (see the channel's security scheme)."
        };
        properties.insert(header.as_str().to_owned(), Value::Object(described(what)));
    }
    if let Some(header) = scheme.timestamp_header() {
        properties.insert(
            header.as_str().to_owned(),
            Value::Object(described(
                "When the delivery was signed; outside the source's window it is refused.",
            )),
        );
    }
    if let Some(header) = scheme.id_header() {
        properties.insert(
            header.as_str().to_owned(),
            Value::Object(described(
                "The event's id: Inlet runs each event's routes once per id.",
            )),
        );
    }
    if let Some(header) = scheme.type_header() {
        let mut property = described("The event type.");
        match types {
            Types::Exact(name) => {
                property.insert("const".to_owned(), json!(name));
            }
            Types::Prefix(prefix) => {
                property.insert(
                    "pattern".to_owned(),
                    json!(format!("^{}", regex_escape(prefix))),
                );
            }
            Types::Any => {}
        }
        properties.insert(header.as_str().to_owned(), Value::Object(property));
    }
    for header in scheme.informative_headers() {
        properties.entry((*header).to_owned()).or_insert_with(|| {
            Value::Object(described("Kept with the event for its routes (`when`)."))
        });
    }
    // Optional on every source: a verified delivery's trace is continued (README § Traces).
    properties.insert(
        TRACEPARENT.to_owned(),
        Value::Object(described(
            "Optional W3C Trace Context: the provider's trace, continued through Inlet to every \
             destination.",
        )),
    );
    properties.insert(
        TRACESTATE.to_owned(),
        Value::Object(described(
            "Optional, with `traceparent`: passed on as it came (at most 512 characters).",
        )),
    );
    let mut schema = Map::new();
    schema.insert("type".to_owned(), json!("object"));
    schema.insert("properties".to_owned(), Value::Object(properties));
    if !signed.is_empty() {
        schema.insert("required".to_owned(), json!(signed));
    }
    Value::Object(schema)
}

/// A string header with a description.
fn described(text: &str) -> Map<String, Value> {
    let mut property = Map::new();
    property.insert("type".to_owned(), json!("string"));
    property.insert("description".to_owned(), json!(text));
    property
}

/// `text` matched literally in an ECMA-262 regular expression.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_headers_name_the_signature_and_the_type() {
        let github = Scheme::named("github").unwrap();
        let schema = schema(&github, &Types::Exact("push".into()));
        let properties = schema["properties"].as_object().unwrap();
        assert!(properties.contains_key("x-hub-signature-256"), "{schema}");
        assert_eq!(properties["x-github-event"]["const"], "push");
        assert_eq!(schema["required"], json!(["x-hub-signature-256"]));
    }

    #[test]
    fn an_unsigned_source_has_only_the_optional_trace_headers() {
        let schema = schema(&Scheme::None, &Types::Any);
        let names: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["traceparent", "tracestate"], "{schema}");
        assert!(schema.get("required").is_none(), "{schema}");
    }

    #[test]
    fn a_prefix_is_matched_literally() {
        assert_eq!(regex_escape("invoice.pay"), "invoice\\.pay");
    }
}
