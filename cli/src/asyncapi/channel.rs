//! A source as a channel, `POST /webhooks/{source}`, with its messages; and the operation by
//! which Inlet receives on it, secured by the source's scheme.

use super::catalogue::Entry;
use super::message::{self, SchemaFiles};
use super::security::SecurityScheme;
use crate::error::CliError;
use inlet_core::config::Source;
use serde_json::{Map, Value, json};

/// The HTTP binding version the bindings here follow.
pub(super) const HTTP_BINDING: &str = "0.3.0";

/// The path a provider posts a source's deliveries to.
pub(super) fn address(source: &Source) -> String {
    format!("/webhooks/{}", source.name)
}

/// A reference to a channel's message, as operations list them.
pub(super) fn message_ref(source: &Source, key: &str) -> Value {
    json!({"$ref": format!("#/channels/{}/messages/{key}", source.name)})
}

/// The channel of `source`, its messages `entries`.
pub(super) fn build(
    source: &Source,
    entries: &[Entry],
    files: &mut SchemaFiles<'_>,
) -> Result<Value, CliError> {
    let mut messages = Map::new();
    for entry in entries {
        messages.insert(entry.key.clone(), message::build(source, entry, files)?);
    }
    let provider = source.scheme.provider().map_or("The provider", |p| p.title);
    Ok(json!({
        "address": address(source),
        "title": format!("{} webhooks", source.name),
        "summary": format!(
            "{provider} POSTs the `{}` source's webhook deliveries here.",
            source.name
        ),
        "description": description(source),
        "messages": Value::Object(messages),
        // The HTTP binding has nothing to say of a channel yet; naming it says the protocol.
        "bindings": {"http": {}},
    }))
}

/// Inlet's operation on the channel: it receives every delivery, verifies it and queues it.
pub(super) fn receive(
    source: &Source,
    entries: &[Entry],
    security: Option<&SecurityScheme>,
) -> Value {
    let mut operation = Map::new();
    operation.insert("action".to_owned(), json!("receive"));
    operation.insert(
        "channel".to_owned(),
        json!({"$ref": format!("#/channels/{}", source.name)}),
    );
    operation.insert(
        "title".to_owned(),
        json!(format!("Receive {} deliveries", source.name)),
    );
    operation.insert(
        "summary".to_owned(),
        json!(format!(
            "Inlet verifies each POST to {} and queues it: 202 once the queue has it.",
            address(source)
        )),
    );
    operation.insert(
        "description".to_owned(),
        json!(
            "In order: the source, POST, the body's size, the sender's address, the signature, a \
             handshake answered, the `events` filter (200 ignored), the schema; then the event is \
             queued and answered 202 `{\"status\":\"queued\",\"id\":\"<source>#<event id>\"}`. A \
             refusal is `{\"error\": \"<code>\", \"message\": \"…\"}` with a 4xx status; a 5xx \
             asks the provider to retry."
        ),
    );
    if let Some(security) = security {
        operation.insert(
            "security".to_owned(),
            json!([{"$ref": format!("#/components/securitySchemes/{}", security.key)}]),
        );
    }
    let messages: Vec<Value> = entries
        .iter()
        .map(|entry| message_ref(source, &entry.key))
        .collect();
    operation.insert("messages".to_owned(), Value::Array(messages));
    operation.insert(
        "bindings".to_owned(),
        json!({"http": {"method": "POST", "bindingVersion": HTTP_BINDING}}),
    );
    Value::Object(operation)
}

/// The source's settings a provider or reader should know, in words.
fn description(source: &Source) -> String {
    let mut words = format!(
        "Verified with the `{}` scheme{}.",
        source.scheme.name(),
        if source.secrets.len() > 1 {
            format!(
                " against any of {} secrets (a rotation)",
                source.secrets.len()
            )
        } else {
            String::new()
        }
    );
    if source.scheme.name() == "none" {
        words = "Unsigned: anyone who can reach the address may post (`allow_unsigned`).".into();
    }
    if source.scheme.has_timestamp() {
        words.push_str(&format!(
            " A delivery whose signed timestamp is more than {} s from its arrival is refused.",
            source.tolerance_secs
        ));
    }
    if source.scheme.signs_url()
        && let Some(url) = &source.url
    {
        words.push_str(&format!(" The signature covers the URL `{url}`."));
    }
    words.push_str(&format!(" Bodies up to {} bytes.", source.max_body_bytes));
    if !source.allow_ips.is_empty() {
        let nets: Vec<String> = source.allow_ips.iter().map(ToString::to_string).collect();
        words.push_str(&format!(" Only from {}.", nets.join(", ")));
    }
    if let Some(handshake) = source.scheme.provider().and_then(|p| p.handshake) {
        words.push_str(&format!(" Handshake: {handshake}."));
    }
    words
}
