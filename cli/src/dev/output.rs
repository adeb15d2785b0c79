//! What `inlet dev` prints: one human line per step of each delivery, prefixed with the UTC time.

use super::inspector::ActionRun;
use crate::sending::now_secs;
use inlet_core::config::{Config, ProcessSettings, Route};
use inlet_core::envelope::Envelope;
use inlet_core::ingest::{Outcome, Reply};
use inlet_core::process::{RecordOutcome, RouteOutcome, RouteRun};
use inlet_local::{Poll, Received, Stack};
use std::io::Write as _;

/// `HH:MM:SS` (UTC) of a time in seconds since the epoch.
fn time_of_day(secs: i64) -> String {
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
        Outcome::Queued { key } => format!("queued ({status}) {key}"),
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

/// What process made of one poll's batch, a line per record, at `now` (seconds since the epoch)
/// when the batch was answered. `retry` is the backoff the pipeline set on the failed records;
/// `runs` the routes' runs in the batch, whose errors a dead letter's reason does not carry. A
/// record that ran more than one route says how each ended. The local queue is a standard one:
/// copies of one event share a lane, not a FIFO group.
pub(super) fn poll_lines(
    poll: &Poll,
    max_receive_count: u32,
    retry: &ProcessSettings,
    now: i64,
    runs: &[ActionRun],
) -> Vec<String> {
    let Some(outcome) = &poll.outcome else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for (index, (message_id, result)) in outcome.outcomes.iter().enumerate() {
        let received = poll.received.iter().find(|r| &r.message_id == message_id);
        let routes = outcome.routes.get(index).map_or(&[][..], Vec::as_slice);
        let label = label(poll, received, message_id);
        let attempt = received.map_or(1, |r| r.receive_count);
        let exhausted = poll.exhausted.contains(message_id);
        let last_error = runs
            .iter()
            .rev()
            .filter(|r| &r.message_id == message_id)
            .find_map(ActionRun::error);
        // The visibility delay the pipeline just set on a failed record.
        let next_try = time_of_day(now + i64::from(retry.backoff_secs(attempt)));
        let attempts = |exhausted: bool| {
            if exhausted {
                format!("attempt {attempt}/{max_receive_count}, the last")
            } else {
                format!("attempt {attempt}/{max_receive_count}, next try at about {next_try}")
            }
        };
        let step = match result {
            _ if routes.len() > 1 => routes
                .iter()
                .map(|run| route_step(run, &attempts(exhausted)))
                .collect::<Vec<_>>()
                .join("; "),
            RecordOutcome::Processed => "processed".to_owned(),
            RecordOutcome::Unrouted => "processed (no route wants it: completed)".to_owned(),
            RecordOutcome::Duplicate => "duplicate (processed before: acknowledged)".to_owned(),
            RecordOutcome::Retry { reason } => {
                format!("failed ({}): {reason}", attempts(exhausted))
            }
            RecordOutcome::DeadLettered { reason } => match last_error {
                Some(answer) => format!("dead-lettered ({reason}): {answer}"),
                None => format!("dead-lettered ({reason})"),
            },
            RecordOutcome::Skipped if exhausted => format!(
                "held back, not tried (receive {attempt}/{max_receive_count}, the last): an \
                 earlier copy of this event in the batch failed"
            ),
            RecordOutcome::Skipped => format!(
                "held back, not tried (an earlier copy of this event in the batch failed: next \
                 try at about {next_try})"
            ),
        };
        lines.push(format!("{label}: {step}"));
        if exhausted {
            // SQS applies the redrive policy only when it would deliver the record again, which
            // is once the visibility delay the pipeline just set has run out.
            let why = match result {
                RecordOutcome::Retry { reason } => {
                    format!("failed {attempt} times, the last after {reason}")
                }
                _ => format!("its {attempt} receives ran out while held back"),
            };
            lines.push(format!(
                "{label}: dead-lettered ({why}): SQS moves it to the dead-letter queue when its \
                 retry delay ends, at about {next_try}; `inlet dlq peek` shows it from then"
            ));
        }
    }
    lines
}

/// How one route of a record ended, for a record that ran several: `route audit delivered`,
/// `route triage failed (attempt 1/5, next try at about 13:00:05): …`, `route x dead-lettered
/// (transform_failed): …`.
fn route_step(run: &RouteRun, attempts: &str) -> String {
    let route = &run.route;
    match &run.outcome {
        RouteOutcome::Delivered => format!("route {route} delivered"),
        RouteOutcome::Retry { reason } => format!("route {route} failed ({attempts}): {reason}"),
        RouteOutcome::DeadLettered { reason, message } => {
            format!("route {route} dead-lettered ({reason}): {message}")
        }
    }
}

/// How a record is named in its lines: its key; the message too when the batch holds other
/// copies of the event, so each copy's lines can be told apart; and the replay run it belongs to.
fn label(poll: &Poll, received: Option<&Received>, message_id: &str) -> String {
    let Some(key) = received.and_then(|r| r.key.as_deref()) else {
        return format!("message {message_id}");
    };
    let copies = poll
        .received
        .iter()
        .filter(|r| r.key.as_deref() == Some(key))
        .count();
    let mut label = key.to_owned();
    if let Some(run) = received
        .and_then(|r| r.envelope.as_ref())
        .and_then(|e| e.replay.as_deref())
    {
        label.push_str(&format!(" (replay {run})"));
    }
    if copies > 1 {
        // The start of a UUID tells copies apart, and finds the message in `inlet dlq peek`.
        let short: String = message_id.chars().take(8).collect();
        label.push_str(&format!(" [message {short}]"));
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_core::process::BatchOutcome;
    use inlet_local::Received;

    /// 2026-11-22T13:00:00Z
    const NOON: i64 = 1_795_352_400;

    fn failed_poll(receive_count: u32, exhausted: bool) -> Poll {
        Poll {
            outcome: Some(BatchOutcome {
                outcomes: vec![(
                    "m-1".into(),
                    RecordOutcome::Retry {
                        reason: "the target answered 500".into(),
                    },
                )],
                routes: Vec::new(),
            }),
            received: vec![Received {
                message_id: "m-1".into(),
                key: Some("broken#b-1".into()),
                envelope: None,
                origin_message_id: "m-1".into(),
                receive_count,
            }],
            exhausted: if exhausted {
                vec!["m-1".into()]
            } else {
                Vec::new()
            },
        }
    }

    fn no_errors() -> Vec<ActionRun> {
        Vec::new()
    }

    #[test]
    fn an_exhausted_record_says_when_sqs_will_dead_letter_it() {
        // The fifth receive fails with the default backoff: 5 s × 2⁴ = 80 s.
        let lines = poll_lines(
            &failed_poll(5, true),
            5,
            &ProcessSettings::default(),
            NOON,
            &no_errors(),
        );
        assert_eq!(
            lines,
            [
                "broken#b-1: failed (attempt 5/5, the last): the target answered 500",
                "broken#b-1: dead-lettered (failed 5 times, the last after the target answered \
                 500): SQS moves it to the dead-letter queue when its retry delay ends, at about \
                 13:01:20; `inlet dlq peek` shows it from then",
            ]
        );
        // The delay is the one the pipeline set, cap included.
        let capped = ProcessSettings {
            retry_base_secs: 30,
            retry_max_secs: 60,
            ..ProcessSettings::default()
        };
        let lines = poll_lines(&failed_poll(5, true), 5, &capped, NOON, &no_errors());
        assert!(lines[1].contains("at about 13:01:00;"), "{}", lines[1]);
    }

    #[test]
    fn a_record_with_retries_left_says_when_its_next_try_is() {
        // The second receive failed: 5 s × 2¹ = 10 s.
        let lines = poll_lines(
            &failed_poll(2, false),
            5,
            &ProcessSettings::default(),
            NOON,
            &no_errors(),
        );
        assert_eq!(
            lines,
            [
                "broken#b-1: failed (attempt 2/5, next try at about 13:00:10): the target \
                 answered 500"
            ]
        );
    }

    fn poll_of(outcome: RecordOutcome) -> Poll {
        let mut poll = failed_poll(1, false);
        poll.outcome = Some(BatchOutcome {
            outcomes: vec![("m-1".into(), outcome)],
            routes: Vec::new(),
        });
        poll
    }

    #[test]
    fn a_dead_letter_says_what_the_target_answered() {
        let errors = vec![ActionRun {
            message_id: "m-1".into(),
            route: "broken".into(),
            at_ms: 0,
            latency: std::time::Duration::ZERO,
            result: Err(inlet_core::actions::ActionError::Permanent(
                "the target answered 404".into(),
            )),
            answer: "the target answered 404".into(),
            response: None,
        }];
        let poll = poll_of(RecordOutcome::DeadLettered {
            reason: "action_failed",
        });
        let lines = poll_lines(&poll, 5, &ProcessSettings::default(), NOON, &errors);
        assert_eq!(
            lines,
            ["broken#b-1: dead-lettered (action_failed): the target answered 404"]
        );
    }

    #[test]
    fn a_skipped_copy_is_not_said_to_be_in_a_group() {
        let lines = poll_lines(
            &poll_of(RecordOutcome::Skipped),
            5,
            &ProcessSettings::default(),
            NOON,
            &no_errors(),
        );
        assert_eq!(
            lines,
            [
                "broken#b-1: held back, not tried (an earlier copy of this event in the batch \
                 failed: next try at about 13:00:05)"
            ]
        );
        assert!(!lines[0].contains("group"));
    }

    #[test]
    fn copies_in_one_batch_are_told_apart_and_a_held_back_one_never_failed() {
        let mut poll = failed_poll(5, true);
        let mut second = poll.received[0].clone();
        second.message_id = "m-2".into();
        second.origin_message_id = "m-2".into();
        poll.received.push(second);
        poll.exhausted.push("m-2".into());
        if let Some(outcome) = &mut poll.outcome {
            outcome
                .outcomes
                .push(("m-2".into(), RecordOutcome::Skipped));
        }
        let lines = poll_lines(&poll, 5, &ProcessSettings::default(), NOON, &no_errors());
        assert!(
            lines[0].starts_with("broken#b-1 [message m-1]: failed"),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("broken#b-1 [message m-2]: held back, not tried (receive 5/5"),
            "{lines:?}"
        );
        assert!(
            lines[3].contains("dead-lettered (its 5 receives ran out while held back)"),
            "{lines:?}"
        );
        assert!(!lines[3].contains("failed"), "{lines:?}");
    }

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

    fn run(route: &str, outcome: RouteOutcome) -> RouteRun {
        RouteRun {
            route: route.into(),
            outcome,
        }
    }

    #[test]
    fn a_record_that_ran_several_routes_says_how_each_ended() {
        let mut poll = failed_poll(1, false);
        poll.outcome = Some(BatchOutcome {
            outcomes: vec![(
                "m-1".into(),
                RecordOutcome::Retry {
                    reason: "route audit: the target answered 500".into(),
                },
            )],
            routes: vec![vec![
                run("triage", RouteOutcome::Delivered),
                run(
                    "audit",
                    RouteOutcome::Retry {
                        reason: "the target answered 500".into(),
                    },
                ),
                run(
                    "billing",
                    RouteOutcome::DeadLettered {
                        reason: "transform_failed",
                        message: "the body is not JSON".into(),
                    },
                ),
            ]],
        });
        let lines = poll_lines(&poll, 5, &ProcessSettings::default(), NOON, &no_errors());
        assert_eq!(
            lines,
            [
                "broken#b-1: route triage delivered; route audit failed (attempt 1/5, next try \
                 at about 13:00:05): the target answered 500; route billing dead-lettered \
                 (transform_failed): the body is not JSON"
            ]
        );
        // A record that ran one route of several (a retry of the one that failed) reads as
        // before.
        poll.outcome = Some(BatchOutcome {
            outcomes: vec![("m-1".into(), RecordOutcome::Processed)],
            routes: vec![vec![run("audit", RouteOutcome::Delivered)]],
        });
        let lines = poll_lines(&poll, 5, &ProcessSettings::default(), NOON, &no_errors());
        assert_eq!(lines, ["broken#b-1: processed"]);
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
