//! Validation of `[[routes]]`: each route's source, filters (`events`, `when`), `transform` and
//! action ([`RawRoute::validate`]), and across the list, each route's name ([`route_names`]):
//! unique, and required once a source has several routes. Conditions are checked in
//! `validate_when`, actions in `validate_action`.

use super::error::{Problem, invalid};
use super::event_filter::EventFilter;
use super::raw::RawRoute;
use super::route::{Action, Route};
use super::validate_retry::{rate_limit, retry_schedule};
use crate::actions::transform::MAX_PROGRAM_BYTES;
use inlet_signature::Scheme;
use std::collections::{BTreeMap, HashMap};

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
        let retry_schedule = self
            .retry_schedule
            .map(|value| retry_schedule(&format!("{key}.retry_schedule"), &value))
            .transpose()?;
        let rate_limit = match self.rate_limit {
            None => None,
            Some(_) if action == Action::Log => {
                return Err(invalid(
                    format!("{key}.rate_limit"),
                    "a `log` route calls no destination, so there is nothing to limit: leave \
                     `rate_limit` out",
                ));
            }
            Some(value) => Some(rate_limit(&format!("{key}.rate_limit"), &value)?),
        };
        Ok(Route {
            name,
            source: self.source,
            events,
            when,
            transform,
            action,
            retry_schedule,
            rate_limit,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::retry::{RateLimit, RetrySchedule};
    use crate::config::route::{Action, Condition, Subject, Test};
    use crate::config::test_support::{assert_refused, config, validated};
    use serde_json::json;

    #[test]
    fn an_existing_config_keeps_working_with_its_routes_named_by_source() {
        let config = validated(&config(&[
            "source = \"github\"\naction = { type = \"log\" }",
            "source = \"stripe\"\naction = { type = \"log\" }",
        ]))
        .unwrap();
        let names: Vec<_> = config.routes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["github", "stripe"]);
        assert!(
            config
                .routes
                .iter()
                .all(|r| r.when.is_empty() && r.transform.is_none())
        );
    }

    #[test]
    fn routes_are_typed() {
        let config = validated(&config(&[
            "name = \"triage\"
    source = \"github\"
    events = [\"issues\"]
    when = [
      { pointer = \"/action\", in = [\"opened\", \"reopened\"] },
      { header = \"X-GitHub-Event\", equals = \"issues\" },
      { pointer = \"/issue/number\", equals = 5 },
      { pointer = \"/ratio\", in = [0.5, true] },
      { pointer = \"/a~1b\", exists = false },
      { pointer = \"/sender/login\", prefix = \"octo\" },
    ]
    transform = '{action: .action, repo: .repository.full_name}'
    action = { type = \"sqs\", queue_url = \"https://sqs.eu-west-1.amazonaws.com/123456789012/triage.fifo\", group_pointer = \"/repository/id\" }",
            "name = \"audit\"\nsource = \"github\"\naction = { type = \"eventbridge\", bus = \"arn:aws:events:eu-west-1:123456789012:event-bus/audit\" }",
            "source = \"stripe\"\naction = { type = \"sns\", topic_arn = \"arn:aws:sns:eu-west-1:123456789012:billing\" }",
        ]))
        .unwrap();
        let triage = &config.routes[0];
        assert_eq!(triage.name, "triage");
        assert_eq!(
            triage.when,
            [
                Condition {
                    subject: Subject::Pointer("/action".into()),
                    test: Test::In(vec![json!("opened"), json!("reopened")]),
                },
                Condition {
                    subject: Subject::Header("x-github-event".into()),
                    test: Test::Equals(json!("issues")),
                },
                Condition {
                    subject: Subject::Pointer("/issue/number".into()),
                    test: Test::Equals(json!(5)),
                },
                Condition {
                    subject: Subject::Pointer("/ratio".into()),
                    test: Test::In(vec![json!(0.5), json!(true)]),
                },
                Condition {
                    subject: Subject::Pointer("/a~1b".into()),
                    test: Test::Exists(false),
                },
                Condition {
                    subject: Subject::Pointer("/sender/login".into()),
                    test: Test::Prefix("octo".into()),
                },
            ]
        );
        assert_eq!(
            triage.transform.as_deref(),
            Some("{action: .action, repo: .repository.full_name}")
        );
        assert_eq!(
            triage.action,
            Action::Sqs {
                queue_url: "https://sqs.eu-west-1.amazonaws.com/123456789012/triage.fifo".into(),
                group_pointer: Some("/repository/id".into()),
            }
        );
        assert_eq!(config.routes[1].name, "audit");
        assert_eq!(
            config.routes[1].action,
            Action::EventBridge {
                bus: "arn:aws:events:eu-west-1:123456789012:event-bus/audit".into()
            }
        );
        assert_eq!(config.routes[2].name, "stripe");
        assert_eq!(
            config.routes[2].action,
            Action::Sns {
                topic_arn: "arn:aws:sns:eu-west-1:123456789012:billing".into()
            }
        );
    }
    #[test]
    fn every_refusal_in_a_route_names_the_offending_key() {
        let route = |lines: &str| config(&[&format!("source = \"github\"\n{lines}")]);
        let logged = |lines: &str| route(&format!("{lines}\naction = {{ type = \"log\" }}"));
        let log = "action = { type = \"log\" }";
        let forward =
            "action = { type = \"forward\", url = \"https://x.example\", secret = \"env:S\" }";
        let forwarded = |lines: &str| route(&format!("{lines}\n{forward}"));
        let cases = [
            // name
            (logged("name = \"Triage\""), "routes[0].name"),
            (logged("name = \"\""), "routes[0].name"),
            (
                logged(&format!("name = \"{}\"", "a".repeat(65))),
                "routes[0].name",
            ),
            (logged("name = \"a,b\""), "routes[0].name"),
            (
                config(&[
                    &format!("source = \"github\"\n{log}"),
                    &format!("name = \"b\"\nsource = \"github\"\n{log}"),
                ]),
                "routes[0].name",
            ),
            (
                config(&[
                    &format!("name = \"a\"\nsource = \"github\"\n{log}"),
                    &format!("source = \"github\"\n{log}"),
                ]),
                "routes[1].name",
            ),
            (
                config(&[
                    &format!("name = \"a\"\nsource = \"github\"\n{log}"),
                    &format!("name = \"a\"\nsource = \"stripe\"\n{log}"),
                ]),
                "routes[1].name",
            ),
            // A default colliding with an explicit name, either way round.
            (
                config(&[
                    &format!("name = \"stripe\"\nsource = \"github\"\n{log}"),
                    &format!("source = \"stripe\"\n{log}"),
                ]),
                "routes[1].name",
            ),
            (
                config(&[
                    &format!("source = \"stripe\"\n{log}"),
                    &format!("name = \"stripe\"\nsource = \"github\"\n{log}"),
                ]),
                "routes[1].name",
            ),
            // transform
            (logged("transform = \"\""), "routes[0].transform"),
            (logged("transform = \"  \""), "routes[0].transform"),
            (logged("transform = '{a: '"), "routes[0].transform"),
            (logged("transform = 'nosuch'"), "routes[0].transform"),
            (
                logged(&format!("transform = '{}'", ". ".repeat(9000))),
                "routes[0].transform",
            ),
            // retry_schedule: as `[process]`'s, by the route's key.
            (logged("retry_schedule = []"), "routes[0].retry_schedule"),
            (logged("retry_schedule = 5"), "routes[0].retry_schedule"),
            (
                logged("retry_schedule = [\"1s\", \"soon\"]"),
                "routes[0].retry_schedule[1]",
            ),
            (
                logged("retry_schedule = [\"0m\"]"),
                "routes[0].retry_schedule[0]",
            ),
            (
                logged("retry_schedule = [\"8d\"]"),
                "routes[0].retry_schedule[0]",
            ),
            (
                config(&[
                    &format!("name = \"a\"\nsource = \"github\"\n{forward}"),
                    &format!(
                        "name = \"b\"\nsource = \"github\"\nretry_schedule = [\"s\"]\n{forward}"
                    ),
                ]),
                "routes[1].retry_schedule[0]",
            ),
            // A schedule the default queue cannot hold (four days and more).
            (
                forwarded("retry_schedule = [\"3d\", \"3d\"]"),
                "routes[0].retry_schedule",
            ),
            // rate_limit: calls per second or minute, never on a `log` route.
            (forwarded("rate_limit = \"50/h\""), "routes[0].rate_limit"),
            (forwarded("rate_limit = \"0/s\""), "routes[0].rate_limit"),
            (forwarded("rate_limit = \"50\""), "routes[0].rate_limit"),
            (forwarded("rate_limit = 50"), "routes[0].rate_limit"),
            (forwarded("rate_limit = \"1.5/s\""), "routes[0].rate_limit"),
            (logged("rate_limit = \"50/s\""), "routes[0].rate_limit"),
        ];
        for (text, key) in cases {
            assert_refused(&text, key);
        }
    }

    #[test]
    fn a_route_may_set_its_own_schedule_and_rate_limit() {
        let config = validated(&config(&[
            "name = \"agent\"\nsource = \"github\"\nretry_schedule = [\"1s\", \"1m\", \"1h\"]\n\
             rate_limit = \"50/s\"\n\
             action = { type = \"forward\", url = \"https://x.example\", secret = \"env:S\" }",
            "name = \"audit\"\nsource = \"github\"\nrate_limit = \"600/m\"\n\
             action = { type = \"eventbridge\", bus = \"default\" }",
            "source = \"stripe\"\nretry_schedule = [\"10s\"]\naction = { type = \"log\" }",
        ]))
        .unwrap();
        let agent = &config.routes[0];
        assert_eq!(
            agent.retry_schedule.as_ref().map(RetrySchedule::steps),
            Some([1, 60, 3600].as_slice())
        );
        assert_eq!(
            agent.rate_limit,
            Some(RateLimit {
                calls: 50,
                per_secs: 1
            })
        );
        let audit = &config.routes[1];
        assert_eq!(audit.retry_schedule, None);
        assert_eq!(
            audit.rate_limit,
            Some(RateLimit {
                calls: 600,
                per_secs: 60
            })
        );
        // A log route may have a schedule of its own (it may fail like any route), not a limit.
        assert_eq!(
            config.routes[2]
                .retry_schedule
                .as_ref()
                .map(RetrySchedule::steps),
            Some([10].as_slice())
        );
        assert_eq!(config.routes[2].rate_limit, None);
    }

    #[test]
    fn refusals_say_what_to_do() {
        let why = |text: &str| match validated(text) {
            Err(Problem::Invalid { why, .. }) => why,
            other => panic!("{other:?}"),
        };
        let log = "action = { type = \"log\" }";
        let two = config(&[
            &format!("source = \"github\"\n{log}"),
            &format!("source = \"github\"\n{log}"),
            &format!("name = \"c\"\nsource = \"github\"\n{log}"),
        ]);
        let message = why(&two);
        assert!(message.contains("has 3 routes"), "{message}");
        assert!(message.contains("every route that matches"), "{message}");
        assert!(message.contains("`name`"), "{message}");

        let transform = config(&[&format!("source = \"github\"\ntransform = '{{a: '\n{log}")]);
        let message = why(&transform);
        assert!(message.contains("does not compile"), "{message}");
        assert!(message.contains("closing brace"), "{message}");
    }

    #[test]
    fn names_are_given_in_one_pass_over_the_list() {
        let naming = |name, source| Some(Naming { name, source });
        let names = route_names(&[
            naming(None, "github"),
            None,
            naming(Some("a"), "stripe"),
            naming(Some("b"), "stripe"),
        ]);
        let names: Vec<_> = names
            .into_iter()
            .map(|n| n.map(|n| n.map_err(|p| p.to_string())))
            .collect();
        assert_eq!(
            names,
            [
                Some(Ok("github".to_owned())),
                None,
                Some(Ok("a".to_owned())),
                Some(Ok("b".to_owned())),
            ]
        );
    }
}
