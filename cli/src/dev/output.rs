//! What `inlet dev` prints: one human line per step of each delivery, prefixed with the UTC time.

use crate::sending::now_secs;
use inlet_core::config::{Config, Route};
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Outcome, Reply};
use inlet_local::Stack;
use std::io::Write as _;

/// `HH:MM:SS` (UTC) of a time in seconds since the epoch.
pub(super) fn time_of_day(secs: i64) -> String {
    let stamp = inlet_signature::clock::format_rfc3339_secs(secs);
    stamp.get(11..19).unwrap_or(&stamp).to_owned()
}

/// Prints one line, prefixed with the UTC time, as things happen.
pub(super) fn say(line: impl AsRef<str>) {
    let time = time_of_day(now_secs());
    // A closed stdout (`inlet dev | head`) must not take the server down with a panic.
    let _ = writeln!(std::io::stdout().lock(), "{time}  {}", line.as_ref());
}

pub(super) fn banner(
    config: &Config,
    stack: &Stack,
    endpoint: &str,
    base_url: &str,
    inspector_url: Option<&str>,
) {
    say(format!("inlet dev: listening on {base_url}"));
    if let Some(url) = inspector_url {
        say(format!("inspector: {url}"));
    }
    say(format!(
        "endpoint: POST {base_url}/webhooks/{{source}} for sources: {}",
        config
            .sources
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for route in &config.routes {
        say(route_line(route));
    }
    say(format!(
        "stack on {endpoint}: queue {}, dead letters {}, table {}",
        stack.queue_url, stack.dead_letter_queue_url, stack.table_name
    ));
    for warning in &stack.warnings {
        say(format!("warning: {warning}"));
    }
    say("Ctrl-C stops");
}

/// A route as the start-up lines list it: `route <name>: <source> [events …] [when N
/// conditions] [transform] → <kind> <target>`.
pub(crate) fn route_line(route: &Route) -> String {
    let mut line = format!("route {}: {}", route.name, route.source);
    if let Some(filter) = &route.events {
        line.push_str(&format!(" events {}", crate::routes::filter_names(filter)));
    }
    match route.when.len() {
        0 => {}
        1 => line.push_str(" when 1 condition"),
        n => line.push_str(&format!(" when {n} conditions")),
    }
    if route.transform.is_some() {
        line.push_str(" transform");
    }
    let action = &route.action;
    match action.kind() {
        "log" => line.push_str(" → log"),
        kind => line.push_str(&format!(" → {kind} {}", action.target())),
    }
    line
}

/// What ingest made of one request.
pub(super) fn ingest_line(label: &str, reply: &Reply) -> String {
    let status = reply.status.as_u16();
    let step = match &reply.outcome {
        Outcome::Queued { key, .. } => format!("queued ({status}) {key}"),
        Outcome::Ignored => {
            let event_type = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v.get("event_type")?.as_str().map(str::to_owned));
            match event_type {
                Some(t) => format!("ignored ({status}): the source does not want {t} events"),
                None => format!("ignored ({status}): the source's event filter drops it"),
            }
        }
        Outcome::Handshake => format!("handshake answered ({status})"),
        Outcome::Rejected { code } => format!("rejected {status} {code}"),
        Outcome::Failed { code } => format!("not queued {status} {code}: the sender should retry"),
    };
    format!("{label}: received → {step}")
}

/// A `log` route's line: the event and the size of its body, and the route when its source has
/// several.
pub(super) fn log_action_line(envelope: &Envelope, bytes: usize, route: Option<&str>) -> String {
    let what = envelope.event_type.as_deref().unwrap_or("untyped");
    let action = match route {
        Some(route) => format!("route {route}: log action"),
        None => "log action".to_owned(),
    };
    format!("{}: {action}: {what} event ({})", envelope.key, size(bytes))
}

/// A byte count as people read it: `812 B`, `1.2 KiB`, `3.4 MiB`.
fn size(bytes: usize) -> String {
    // Bodies are at most a few MiB: the conversion to f64 is exact enough to print.
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", value / 1024.0)
    } else {
        format!("{:.1} MiB", value / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_action_line_names_the_event_and_its_size() {
        let envelope = Envelope {
            v: 1,
            key: "github#123".into(),
            source: "github".into(),
            scheme: "github".into(),
            event_type: Some("push".into()),
            event_id: "123".into(),
            received_at: "2026-11-22T13:00:00.000Z".into(),
            headers: std::collections::BTreeMap::new(),
            body: None,
            body_b64: None,
            replay: None,
            body_ref: None,
            schema_errors: None,
            traceparent: None,
            tracestate: None,
        };
        assert_eq!(
            log_action_line(&envelope, 1229, None),
            "github#123: log action: push event (1.2 KiB)"
        );
        assert_eq!(
            log_action_line(&envelope, 1229, Some("audit")),
            "github#123: route audit: log action: push event (1.2 KiB)"
        );
        assert_eq!(size(812), "812 B");
    }

    #[test]
    fn the_start_up_lines_list_every_route() {
        // One route parsed for its event filter; the others made from it.
        let config = Config::parse(
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n\n\
             [[routes]]\nsource = \"github\"\nevents = [\"issues\", \"pull_request*\"]\n\
             action = { type = \"forward\", url = \"https://agent.example/hook\", secret = \"env:GH\" }\n",
        )
        .unwrap();
        let mut routes = [config.routes[0].clone(), config.routes[0].clone()];
        routes[1].events = None;
        routes[1].action = inlet_core::config::Action::Log;
        routes[0].name = "triage".into();
        routes[1].name = "audit".into();
        assert_eq!(
            route_line(&routes[0]),
            "route triage: github events [\"issues\", \"pull_request*\"] → forward \
             https://agent.example/hook"
        );
        assert_eq!(route_line(&routes[1]), "route audit: github → log");
        routes[1].transform = Some(".".into());
        routes[1].when = vec![
            inlet_core::config::Condition {
                subject: inlet_core::config::Subject::Pointer("/action".into()),
                test: inlet_core::config::Test::Exists(true),
            };
            2
        ];
        routes[1].action = inlet_core::config::Action::Sqs {
            queue_url: "http://127.0.0.1:5055/000000000000/audit".into(),
            group_pointer: None,
        };
        assert_eq!(
            route_line(&routes[1]),
            "route audit: github when 2 conditions transform → sqs \
             http://127.0.0.1:5055/000000000000/audit"
        );
    }
}
