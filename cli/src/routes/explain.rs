//! Words for why a route does not match: its filter's names and each failing condition.

use inlet_core::config::{Condition, Subject, Test};
use inlet_core::envelope::Envelope;
use serde_json::Value;

/// A string as JSON writes it, quotes and escapes included.
pub(super) fn quoted(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// An event filter's names as a list, `["push", "issues*"]`.
pub(crate) fn filter_names(filter: &inlet_core::config::EventFilter) -> String {
    // The filter keeps its names private; its Debug form is `EventFilter([…])`, the list as Rust
    // writes a list of strings.
    let debug = format!("{filter:?}");
    debug
        .strip_prefix("EventFilter(")
        .and_then(|rest| rest.strip_suffix(')'))
        .map_or_else(|| debug.clone(), str::to_owned)
}

/// How long a value may be in a reason before it is cut.
const SHOWN_VALUE_CHARS: usize = 80;

/// A value as the reason shows it: compact JSON, cut when long.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= SHOWN_VALUE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(SHOWN_VALUE_CHARS).collect();
    format!("{cut}…")
}

/// Why `condition` does not hold for the event, in words: `/action is "closed", not one of
/// ["opened","reopened"]`. `body` is the body as JSON, if it is JSON.
pub(super) fn explain(condition: &Condition, envelope: &Envelope, body: Option<&Value>) -> String {
    let (label, value) = match &condition.subject {
        Subject::Pointer(pointer) => {
            let Some(body) = body else {
                return format!("{pointer}: the body is not JSON, so it has nothing there");
            };
            (pointer.clone(), body.pointer(pointer).cloned())
        }
        Subject::Header(name) => (
            format!("header {name}"),
            envelope.headers.get(name).cloned().map(Value::String),
        ),
    };
    let is = value.as_ref().map_or_else(|| "absent".to_owned(), shown);
    match &condition.test {
        Test::In(list) => format!(
            "{label} is {is}, not one of {}",
            shown(&Value::Array(list.clone()))
        ),
        Test::Equals(wanted) => format!("{label} is {is}, not {}", shown(wanted)),
        Test::Exists(true) => format!("{label} is absent"),
        Test::Exists(false) => format!("{label} is {is}, and must be absent"),
        Test::Prefix(prefix) => match &value {
            Some(Value::String(_)) => format!(
                "{label} is {is}, which does not start with {}",
                quoted(prefix)
            ),
            _ => format!(
                "{label} is {is}, not a string starting with {}",
                quoted(prefix)
            ),
        },
    }
}
