//! Validation of `[[routes]]`: each route's source, filters (`events`, `when`), `transform` and
//! action ([`RawRoute::validate`]), and across the list, each route's name ([`route_names`]):
//! unique, and required once a source has several routes.

use super::error::{Problem, invalid};
use super::event_filter::EventFilter;
use super::raw::{RawAction, RawCondition, RawRoute};
use super::route::{Action, Condition, Route, Subject, Test};
use super::secret_ref::SecretRef;
use super::url::validate_url;
use crate::actions::transform::MAX_PROGRAM_BYTES;
use http::HeaderName;
use inlet_signature::Scheme;
use std::collections::{BTreeMap, HashMap};

/// A forward must end well within the process function's 30 s timeout; a minute is the ceiling
/// anyone has a reason to ask for.
const MAX_TIMEOUT_MS: u64 = 60_000;
const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// What route validation knows of the source a route names.
#[derive(Debug, Clone, Copy)]
pub(super) enum Known<'a> {
    /// No source of that name.
    Missing,
    /// A source of that name that did not validate (`inlet check` reports it on its own): what
    /// depends on its scheme is not checked.
    Unchecked,
    /// A valid source, with its scheme.
    Valid(&'a Scheme),
}

/// What the name pass needs of one route: its own `name`, if any, and its source.
#[derive(Debug, Clone, Copy)]
pub(super) struct Naming<'a> {
    pub(super) name: Option<&'a str>,
    pub(super) source: &'a str,
}

/// Route names go into the idempotency record (a DynamoDB set), message attributes (`routes`, a
/// comma-separated list) and metric dimensions: the rule of source names, which keeps all three
/// plain.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Every route's name, by its place in the list: its own, or, for a source's only route, the
/// source's name. `None` entries (routes that could not be read, or name no source) take no
/// part and get `None`. A refusal names `routes[i].name`.
pub(super) fn route_names(routes: &[Option<Naming<'_>>]) -> Vec<Option<Result<String, Problem>>> {
    let mut per_source: HashMap<&str, usize> = HashMap::new();
    for route in routes.iter().flatten() {
        *per_source.entry(route.source).or_default() += 1;
    }
    // Each name given so far: the route it is on, and whether it was given by default.
    let mut taken: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    routes
        .iter()
        .enumerate()
        .map(|(i, route)| {
            let route = route.as_ref()?;
            let key = format!("routes[{i}].name");
            let (name, by_default) = match route.name {
                Some(name) if !valid_name(name) => {
                    return Some(Err(invalid(
                        key,
                        "a route name is 1 to 64 of a-z, 0-9, `-` and `_` (it is kept in the \
                         idempotency record and named in dead letters and metrics)",
                    )));
                }
                Some(name) => (name, false),
                None => {
                    let routes = per_source.get(route.source).copied().unwrap_or(0);
                    if routes > 1 {
                        return Some(Err(invalid(
                            key,
                            format!(
                                "source `{}` has {routes} routes, and every route that matches an \
                                 event now runs (not only the first), each remembered by its \
                                 name: give each of them a `name`",
                                route.source
                            ),
                        )));
                    }
                    (route.source, true)
                }
            };
            if let Some(&(first, first_by_default)) = taken.get(name) {
                let why = match (first_by_default, by_default) {
                    (false, false) => format!(
                        "`{name}` is already the name of routes[{first}]; route names are unique"
                    ),
                    (true, _) => format!(
                        "`{name}` is already the name of routes[{first}], by default (a source's \
                         only route takes the source's name); route names are unique: name one \
                         of them otherwise"
                    ),
                    (false, true) => format!(
                        "this route would be named `{name}` by default (a source's only route \
                         takes the source's name), which routes[{first}] is named; route names \
                         are unique: give this one a `name`"
                    ),
                };
                return Some(Err(invalid(key, why)));
            }
            taken.insert(name.to_owned(), (i, by_default));
            Some(Ok(name.to_owned()))
        })
        .collect()
}

impl RawRoute {
    /// `key` is the route's place in the list, `routes[i]`; `name` is the one [`route_names`]
    /// gave it; `source` is what is known of the source it names.
    pub(super) fn validate(
        self,
        key: &str,
        name: String,
        source: Known<'_>,
    ) -> Result<Route, Problem> {
        let scheme = match source {
            Known::Missing => {
                return Err(invalid(
                    format!("{key}.source"),
                    format!("no source named `{}`", self.source),
                ));
            }
            Known::Unchecked => None,
            Known::Valid(scheme) => Some(scheme),
        };
        let events = self
            .events
            .map(|e| EventFilter::parse(&format!("{key}.events"), e))
            .transpose()?;
        let when = match self.when {
            None => Vec::new(),
            Some(conditions) if conditions.is_empty() => {
                return Err(invalid(
                    format!("{key}.when"),
                    "an empty list: leave `when` out for a route that takes every event",
                ));
            }
            Some(conditions) => conditions
                .into_iter()
                .enumerate()
                .map(|(j, raw)| raw.validate(&format!("{key}.when[{j}]"), scheme))
                .collect::<Result<_, _>>()?,
        };
        let transform = self
            .transform
            .map(|program| check_transform(&format!("{key}.transform"), program))
            .transpose()?;
        let action = self.action.validate(&format!("{key}.action"))?;
        Ok(Route {
            name,
            source: self.source,
            events,
            when,
            transform,
            action,
        })
    }
}

/// A transform's text: not empty, not too long. Whether it compiles is checked after validation
/// (`transforms::compile_all`), by every loader but ingest's, which never runs a route and so
/// does not link the jq interpreter.
fn check_transform(key: &str, program: String) -> Result<String, Problem> {
    if program.trim().is_empty() {
        return Err(invalid(
            key,
            "an empty program: leave `transform` out to deliver the body as it came",
        ));
    }
    if program.len() > MAX_PROGRAM_BYTES {
        return Err(invalid(
            key,
            format!(
                "the program is {} bytes, more than {MAX_PROGRAM_BYTES}",
                program.len()
            ),
        ));
    }
    Ok(program)
}

impl RawCondition {
    /// `key` is `routes[i].when[j]`; `scheme` is the route's source's, when it is known.
    fn validate(self, key: &str, scheme: Option<&Scheme>) -> Result<Condition, Problem> {
        let subject = match (self.pointer, self.header) {
            (None, None) => {
                return Err(invalid(
                    key,
                    "a condition needs a subject: `pointer` (into the JSON body) or `header`",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(invalid(
                    key,
                    "a condition has one subject: `pointer` or `header`, not both",
                ));
            }
            (Some(pointer), None) => {
                let key = format!("{key}.pointer");
                let Some(pointer) = pointer.as_str() else {
                    return Err(invalid(
                        key,
                        "must be a string: a JSON pointer such as \"/action\"",
                    ));
                };
                check_pointer(&key, pointer)?;
                Subject::Pointer(pointer.to_owned())
            }
            (None, Some(header)) => {
                Subject::Header(check_header(&format!("{key}.header"), &header, scheme)?)
            }
        };
        let tests: Vec<(&str, toml::Value)> = [
            ("in", self.any_of),
            ("equals", self.equals),
            ("exists", self.exists),
            ("prefix", self.prefix),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect();
        let (operator, value) = match <[_; 1]>::try_from(tests) {
            Ok([test]) => test,
            Err(tests) if tests.is_empty() => {
                return Err(invalid(
                    key,
                    "a condition needs a test: `in`, `equals`, `exists` or `prefix`",
                ));
            }
            Err(tests) => {
                let names: Vec<String> =
                    tests.iter().map(|(name, _)| format!("`{name}`")).collect();
                return Err(invalid(
                    key,
                    format!("a condition has one test, not {}", names.join(" and ")),
                ));
            }
        };
        let header = matches!(subject, Subject::Header(_));
        let key = format!("{key}.{operator}");
        let scalars = if header {
            "strings (a header is text)"
        } else {
            "strings, numbers or booleans"
        };
        let test = match operator {
            "in" => {
                let values = match value {
                    toml::Value::Array(values) if !values.is_empty() => values,
                    _ => {
                        return Err(invalid(
                            key,
                            format!("must be a non-empty list of {scalars}"),
                        ));
                    }
                };
                let values = values
                    .into_iter()
                    .map(|value| scalar(value, header))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        invalid(&key, format!("must be a non-empty list of {scalars}"))
                    })?;
                Test::In(values)
            }
            "equals" => Test::Equals(scalar(value, header).ok_or_else(|| {
                let one = if header {
                    "a string (a header is text)"
                } else {
                    "a string, a number or a boolean"
                };
                invalid(&key, format!("must be {one}"))
            })?),
            "exists" => match value {
                toml::Value::Boolean(exists) => Test::Exists(exists),
                _ => return Err(invalid(key, "must be `true` or `false`")),
            },
            _ => match value {
                toml::Value::String(prefix) => Test::Prefix(prefix),
                _ => return Err(invalid(key, "must be a string")),
            },
        };
        Ok(Condition { subject, test })
    }
}

/// A TOML scalar as the JSON value it is compared with; `None` for any other type (a header
/// takes only strings), and for a float that is not finite.
fn scalar(value: toml::Value, header: bool) -> Option<serde_json::Value> {
    match value {
        toml::Value::String(text) => Some(serde_json::Value::String(text)),
        _ if header => None,
        toml::Value::Integer(i) => Some(i.into()),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map(serde_json::Value::Number),
        toml::Value::Boolean(b) => Some(b.into()),
        _ => None,
    }
}

/// RFC 6901: empty (the whole body), or `/`-separated tokens where `~` is only `~0` or `~1`.
pub(super) fn check_pointer(key: &str, pointer: &str) -> Result<(), Problem> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(invalid(
            key,
            "a JSON pointer is empty or starts with `/`, as in \"/pull_request/user/login\"",
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(invalid(
                key,
                "in a JSON pointer `~` is written `~0` and `/` inside a key `~1`",
            ));
        }
    }
    Ok(())
}

/// A header condition's name, lower-cased: one the envelope keeps for the route's source
/// (`content-type` and its scheme's informative headers), or it could never match.
fn check_header(
    key: &str,
    header: &toml::Value,
    scheme: Option<&Scheme>,
) -> Result<String, Problem> {
    let Some(name) = header.as_str() else {
        return Err(invalid(key, "must be a string: a header name"));
    };
    let name = HeaderName::try_from(name.to_ascii_lowercase())
        .map_err(|_| invalid(key, "not a valid header name"))?;
    if let Some(scheme) = scheme {
        let kept: Vec<&str> = std::iter::once("content-type")
            .chain(scheme.informative_headers().iter().copied())
            .collect();
        if !kept.contains(&name.as_str()) {
            let list: Vec<String> = kept.iter().map(|h| format!("`{h}`")).collect();
            return Err(invalid(
                key,
                format!(
                    "`{name}` is not kept for this route's source, so it never matches: a \
                     delivery keeps only {} (the {} scheme's informative headers, never one \
                     that authenticates)",
                    list.join(", "),
                    scheme.name()
                ),
            ));
        }
    }
    Ok(name.as_str().to_owned())
}

impl RawAction {
    /// `key` is `routes[i].action`.
    fn validate(self, key: &str) -> Result<Action, Problem> {
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
#[path = "validate_route_tests.rs"]
mod tests;
