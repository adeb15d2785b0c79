//! Validation of a route's `action`: a forward's URL, secret and timeout, and the SQS queue URL,
//! SNS topic ARN or EventBridge bus a delivery goes to.

use super::error::{Problem, invalid};
use super::raw::RawAction;
use super::route::Action;
use super::secret_ref::SecretRef;
use super::url::validate_url;
use super::validate_when::check_pointer;

/// A forward must end well within the process function's 30 s timeout; a minute is the ceiling
/// anyone has a reason to ask for.
const MAX_TIMEOUT_MS: u64 = 60_000;
const DEFAULT_TIMEOUT_MS: u64 = 5000;

impl RawAction {
    /// `key` is `routes[i].action`.
    pub(super) fn validate(self, key: &str) -> Result<Action, Problem> {
        Ok(match self {
            Self::Forward {
                url,
                secret,
                timeout_ms,
            } => {
                validate_url(&format!("{key}.url"), &url)?;
                let secret = SecretRef::parse(&secret)
                    .map_err(|why| invalid(format!("{key}.secret"), why))?;
                let timeout_ms = timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
                if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
                    return Err(invalid(
                        format!("{key}.timeout_ms"),
                        format!("must be between 1 and {MAX_TIMEOUT_MS}"),
                    ));
                }
                Action::Forward {
                    url,
                    secret,
                    timeout_ms,
                }
            }
            Self::Log {} => Action::Log,
            Self::Sqs {
                queue_url,
                group_pointer,
            } => {
                let fifo = check_queue_url(&format!("{key}.queue_url"), &queue_url)?;
                if let Some(pointer) = &group_pointer {
                    let key = format!("{key}.group_pointer");
                    if !fifo {
                        return Err(invalid(
                            key,
                            "only for a FIFO queue (a queue URL ending `.fifo`): a standard \
                             queue has no message groups",
                        ));
                    }
                    if pointer.is_empty() {
                        return Err(invalid(
                            key,
                            "must point into the body, as in \"/repository/id\"; leave it out to \
                             group by the event key",
                        ));
                    }
                    check_pointer(&key, pointer)?;
                }
                Action::Sqs {
                    queue_url,
                    group_pointer,
                }
            }
            Self::Sns { topic_arn } => {
                check_topic_arn(&format!("{key}.topic_arn"), &topic_arn)?;
                Action::Sns { topic_arn }
            }
            Self::EventBridge { bus } => {
                check_bus(&format!("{key}.bus"), &bus)?;
                Action::EventBridge { bus }
            }
        })
    }
}

/// An SQS or SNS resource name: 1 to 80 (SQS) or 256 (SNS) of letters, digits, `-` and `_`,
/// the length counting an optional `.fifo`. Whether it is FIFO.
fn aws_name(name: &str, max: usize) -> Option<bool> {
    let (stem, fifo) = match name.strip_suffix(".fifo") {
        Some(stem) => (stem, true),
        None => (name, false),
    };
    let fits = !stem.is_empty()
        && name.len() <= max
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    fits.then_some(fifo)
}

fn account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `https://sqs.<region>.amazonaws.com/<12-digit account>/<queue name>`, or the same path on
/// an emulator's http URL. Whether the queue is FIFO.
fn check_queue_url(key: &str, text: &str) -> Result<bool, Problem> {
    validate_url(key, text)?;
    let shape = || {
        invalid(
            key,
            "must be an SQS queue URL, `https://sqs.<region>.amazonaws.com/<12-digit account>/\
             <queue name>` (the name 1 to 80 of letters, digits, `-` and `_`, with `.fifo` for \
             a FIFO queue)",
        )
    };
    let url = url::Url::parse(text).map_err(|_| shape())?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(shape());
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    match segments.as_slice() {
        [account, name] if account_id(account) => aws_name(name, 80).ok_or_else(shape),
        _ => Err(shape()),
    }
}

/// `arn:<partition>:<service>:<region>:<12-digit account>:<resource>`: the resource, if the
/// ARN is of `service` and well formed.
fn arn_resource<'t>(text: &'t str, service: &str) -> Option<&'t str> {
    let mut parts = text.splitn(6, ':');
    let word = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let ok = parts.next() == Some("arn")
        && parts.next().is_some_and(word)
        && parts.next() == Some(service)
        && parts.next().is_some_and(word)
        && parts.next().is_some_and(account_id);
    if ok { parts.next() } else { None }
}

fn check_topic_arn(key: &str, text: &str) -> Result<(), Problem> {
    match arn_resource(text, "sns").and_then(|name| aws_name(name, 256)) {
        Some(_) => Ok(()),
        None => Err(invalid(
            key,
            "must be an SNS topic ARN, `arn:aws:sns:<region>:<12-digit account>:<topic name>` \
             (the name 1 to 256 of letters, digits, `-` and `_`, with `.fifo` for a FIFO topic)",
        )),
    }
}

/// An event bus's name, or its ARN (`arn:aws:events:<region>:<account>:event-bus/<name>`).
fn check_bus(key: &str, text: &str) -> Result<(), Problem> {
    let bus_name = |name: &str| {
        !name.is_empty()
            && name.len() <= 256
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
    };
    let fits = if text.starts_with("arn:") {
        arn_resource(text, "events")
            .and_then(|resource| resource.strip_prefix("event-bus/"))
            .is_some_and(bus_name)
    } else {
        bus_name(text)
    };
    if fits {
        Ok(())
    } else {
        Err(invalid(
            key,
            "must be an event bus name (1 to 256 of letters, digits, `.`, `_`, `-` and `/`, as \
             in \"default\") or its ARN, `arn:aws:events:<region>:<12-digit account>:event-bus/\
             <name>`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{QUEUE, assert_refused, config, validated};

    #[test]
    fn destinations_take_their_usual_forms() {
        for action in [
            format!("type = \"sqs\", queue_url = \"{QUEUE}\""),
            "type = \"sqs\", queue_url = \"http://localhost:5000/123456789012/a_b-c\"".to_owned(),
            "type = \"sqs\", queue_url = \"https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo\""
                .to_owned(),
            "type = \"sns\", topic_arn = \"arn:aws-cn:sns:cn-north-1:123456789012:t.fifo\"".to_owned(),
            "type = \"eventbridge\", bus = \"default\"".to_owned(),
            "type = \"eventbridge\", bus = \"aws.partner/example.com/123/bus\"".to_owned(),
        ] {
            let text = config(&[&format!("source = \"github\"\naction = {{ {action} }}")]);
            validated(&text).unwrap_or_else(|e| panic!("{action}: {e}"));
        }
    }

    #[test]
    fn every_refusal_in_an_action_names_the_offending_key() {
        let route = |lines: &str| config(&[&format!("source = \"github\"\n{lines}")]);
        let action = |fields: &str| route(&format!("action = {{ {fields} }}"));
        let sqs = |url: &str| action(&format!("type = \"sqs\", queue_url = \"{url}\""));
        let sns = |arn: &str| action(&format!("type = \"sns\", topic_arn = \"{arn}\""));
        let bus = |bus: &str| action(&format!("type = \"eventbridge\", bus = \"{bus}\""));
        let cases = [
            // forward
            (
                action("type = \"forward\", url = \"ftp://x\", secret = \"env:S\""),
                "routes[0].action.url",
            ),
            // sqs
            (
                sqs("ftp://sqs.example/123456789012/q"),
                "routes[0].action.queue_url",
            ),
            (sqs("not a url"), "routes[0].action.queue_url"),
            (
                sqs("https://sqs.eu-west-1.amazonaws.com/q"),
                "routes[0].action.queue_url",
            ),
            (
                sqs("https://sqs.eu-west-1.amazonaws.com/12345678901/q"),
                "routes[0].action.queue_url",
            ),
            (
                sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/a.b"),
                "routes[0].action.queue_url",
            ),
            (
                sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/q/extra"),
                "routes[0].action.queue_url",
            ),
            (
                sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/q?x=1"),
                "routes[0].action.queue_url",
            ),
            (
                sqs(&format!(
                    "https://sqs.eu-west-1.amazonaws.com/123456789012/{}",
                    "q".repeat(81)
                )),
                "routes[0].action.queue_url",
            ),
            (
                sqs("https://sqs.eu-west-1.amazonaws.com/123456789012/.fifo"),
                "routes[0].action.queue_url",
            ),
            (
                action(&format!(
                    "type = \"sqs\", queue_url = \"{QUEUE}\", group_pointer = \"/a\""
                )),
                "routes[0].action.group_pointer",
            ),
            (
                action(&format!(
                    "type = \"sqs\", queue_url = \"{QUEUE}.fifo\", group_pointer = \"a\""
                )),
                "routes[0].action.group_pointer",
            ),
            (
                action(&format!(
                    "type = \"sqs\", queue_url = \"{QUEUE}.fifo\", group_pointer = \"\""
                )),
                "routes[0].action.group_pointer",
            ),
            (action("type = \"sqs\""), "queue_url"),
            (
                action(&format!(
                    "type = \"sqs\", queue_url = \"{QUEUE}\", topic_arn = \"x\""
                )),
                "topic_arn",
            ),
            // sns
            (
                sns("arn:aws:sqs:eu-west-1:123456789012:t"),
                "routes[0].action.topic_arn",
            ),
            (
                sns("arn:aws:sns:eu-west-1:1234:t"),
                "routes[0].action.topic_arn",
            ),
            (
                sns("arn:aws:sns::123456789012:t"),
                "routes[0].action.topic_arn",
            ),
            (
                sns("arn:aws:sns:eu-west-1:123456789012:"),
                "routes[0].action.topic_arn",
            ),
            (
                sns("arn:aws:sns:eu-west-1:123456789012:a:b"),
                "routes[0].action.topic_arn",
            ),
            (sns("billing"), "routes[0].action.topic_arn"),
            (action("type = \"sns\""), "topic_arn"),
            // eventbridge
            (bus(""), "routes[0].action.bus"),
            (bus("a bus"), "routes[0].action.bus"),
            (bus(&"b".repeat(257)), "routes[0].action.bus"),
            (
                bus("arn:aws:events:eu-west-1:123456789012:rule/x"),
                "routes[0].action.bus",
            ),
            (
                bus("arn:aws:sns:eu-west-1:123456789012:event-bus/x"),
                "routes[0].action.bus",
            ),
            (
                action("type = \"eventbridge\", bus = \"a\", url = \"x\""),
                "url",
            ),
            (action("type = \"lambda\""), "lambda"),
        ];
        for (text, key) in cases {
            assert_refused(&text, key);
        }
    }
}
