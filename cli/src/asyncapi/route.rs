//! A route as a `send` operation on its source's channel: which of the channel's messages it
//! takes, on what condition, reshaped how, and where it delivers them. A destination is named as
//! the breakers and the inspector name it: a URL without its credentials, query or fragment.

use super::catalogue::{self, Entry};
use super::channel;
use inlet_core::actions::destination::destination_id;
use inlet_core::config::{Action, Condition, EventFilter, Route, Source, Subject, Test};
use serde_json::{Map, Value, json};

/// The operation of `route`, from `source` whose channel has `entries`.
pub(super) fn build(route: &Route, source: &Source, entries: &[Entry]) -> Value {
    let filter = route.events.as_ref().map(EventFilter::names);
    let destination = destination(&route.action);
    let taken = catalogue::taken_by(entries, filter);
    let mut operation = Map::new();
    operation.insert("action".to_owned(), json!("send"));
    operation.insert(
        "channel".to_owned(),
        json!({"$ref": format!("#/channels/{}", source.name)}),
    );
    operation.insert("title".to_owned(), json!(format!("Route {}", route.name)));
    let types = match filter {
        Some(names) => names.join(", "),
        None => "every event".to_owned(),
    };
    operation.insert(
        "summary".to_owned(),
        json!(format!("{types} from {} to {destination}", source.name)),
    );
    operation.insert(
        "description".to_owned(),
        json!(description(route, &destination, taken.is_empty())),
    );
    if !taken.is_empty() {
        let messages: Vec<Value> = taken
            .iter()
            .map(|entry| channel::message_ref(source, &entry.key))
            .collect();
        operation.insert("messages".to_owned(), Value::Array(messages));
    }
    let mut facts = Map::new();
    facts.insert("source".to_owned(), json!(source.name));
    if let Some(names) = filter {
        facts.insert("events".to_owned(), json!(names));
    }
    if !route.when.is_empty() {
        let when: Vec<String> = route.when.iter().map(condition).collect();
        facts.insert("when".to_owned(), json!(when));
    }
    if let Some(transform) = &route.transform {
        facts.insert("transform".to_owned(), json!(transform));
    }
    facts.insert(
        "destination".to_owned(),
        json!({"type": route.action.kind(), "target": target(&route.action, &destination)}),
    );
    operation.insert("x-inlet-route".to_owned(), Value::Object(facts));
    Value::Object(operation)
}

/// Where the action delivers, in words: `forward https://…`, `sqs https://…`, `the log`.
fn destination(action: &Action) -> String {
    destination_id(action).map_or_else(|| "the log".to_owned(), |id| id.label)
}

/// The destination without its kind: the URL, queue URL, topic ARN or bus as shown.
fn target(action: &Action, destination: &str) -> String {
    destination
        .strip_prefix(action.kind())
        .map_or(destination, str::trim_start)
        .to_owned()
}

/// The route in words: the condition, the transform, what the destination receives.
fn description(route: &Route, destination: &str, nothing_taken: bool) -> String {
    let mut words = format!(
        "Inlet delivers each event it received on this channel that the route takes to \
         {destination}, once per event, retrying a failure by the route's schedule."
    );
    if nothing_taken {
        words.push_str(
            " None of the route's event types pass the source's `events` filter: it never runs.",
        );
    }
    if !route.when.is_empty() {
        let when: Vec<String> = route.when.iter().map(condition).collect();
        words.push_str(&format!(" Only when {}.", when.join(" and ")));
    }
    match &route.transform {
        Some(program) => words.push_str(&format!(
            " The body is reshaped by the jq program `{program}`; the destination receives its \
             output as JSON."
        )),
        None => words.push_str(" The destination receives the body as the provider sent it."),
    }
    words.push(' ');
    words.push_str(match &route.action {
        Action::Forward { .. } => {
            "Forwarded by POST, signed as Standard Webhooks with the route's secret \
             (`webhook-id`, `webhook-timestamp`, `webhook-signature`), with an `inlet-route` \
             header."
        }
        Action::Log => "Written as one structured log line.",
        Action::Sqs {
            group_pointer: Some(_),
            ..
        } => "Sent to the SQS queue; on a FIFO queue the message group is the value at the route's `group_pointer`.",
        Action::Sqs { .. } => "Sent to the SQS queue with `event_key` and `route` attributes.",
        Action::Sns { .. } => "Published to the SNS topic with `source`, `type`, `route` and `event_key` attributes.",
        Action::EventBridge { .. } => {
            "Put on the EventBridge bus: `source` is `inlet.<source>`, `detail-type` the event \
             type, `detail` the body."
        }
    });
    words
}

/// One `when` condition in words: `/action is one of ["opened","reopened"]`.
fn condition(condition: &Condition) -> String {
    let subject = match &condition.subject {
        Subject::Pointer(pointer) => format!("the body's `{pointer}`"),
        Subject::Header(name) => format!("the header `{name}`"),
    };
    match &condition.test {
        Test::In(values) => format!("{subject} is one of {}", Value::Array(values.clone())),
        Test::Equals(value) => format!("{subject} is {value}"),
        Test::Exists(true) => format!("{subject} is present"),
        Test::Exists(false) => format!("{subject} is absent"),
        Test::Prefix(prefix) => format!("{subject} starts with {}", json!(prefix)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forward_is_named_without_its_credentials_or_query() {
        let action = Action::Forward {
            url: "https://user:pw@agent.example.com/hooks?token=abc".to_owned(),
            secret: inlet_core::config::SecretRef::Env("X".to_owned()),
            timeout_ms: 1000,
        };
        let named = destination(&action);
        assert_eq!(named, "forward https://agent.example.com/hooks");
        assert_eq!(target(&action, &named), "https://agent.example.com/hooks");
        assert_eq!(destination(&Action::Log), "the log");
        assert_eq!(target(&Action::Log, "the log"), "the log");
    }

    #[test]
    fn conditions_read_as_words() {
        let when = Condition {
            subject: Subject::Pointer("/action".to_owned()),
            test: Test::In(vec![json!("opened"), json!("reopened")]),
        };
        assert_eq!(
            condition(&when),
            "the body's `/action` is one of [\"opened\",\"reopened\"]"
        );
        let exists = Condition {
            subject: Subject::Header("x-github-event".to_owned()),
            test: Test::Exists(false),
        };
        assert_eq!(condition(&exists), "the header `x-github-event` is absent");
    }
}
