//! Checking a config for every problem at once, for `inlet check`.
//!
//! [`Config::parse`] stops at the first refusal, which is right for a function starting up: it
//! must not run on a config it cannot trust. A person editing the file wants the whole list, so
//! here each part (defaults, every source, every route, process) is read and validated on its
//! own, with the same validation, and every refusal kept, each by its key. A config with no
//! problems here is one `Config::parse` accepts.

use super::Config;
use super::Defaults;
use super::error::Problem;
use super::process_settings::ProcessSettings;
use super::raw::{RawAction, RawArchive, RawDefaults, RawProcess, RawRoute, RawSource};
use super::retry::{QueueLimits, RetrySchedule};
use super::schemas;
use super::secret_ref::SecretRef;
use super::validate_retry::queue_problems;
use super::validate_route::{Known, Naming, route_names};
use inlet_signature::Scheme;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::Path;

/// One thing wrong, by the dotted key at fault (`sources.github.scheme`, `routes[1].action.url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub key: String,
    pub problem: String,
}

/// What [`Config::check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Every problem, in the config's order of parts.
    pub problems: Vec<Finding>,
    /// How many sources and routes the config declares.
    pub sources: usize,
    pub routes: usize,
    /// Every well-formed secret reference, by the key it is written at: the caller checks what
    /// it can reach (variables), and says what it cannot (Secrets Manager without AWS).
    pub secrets: Vec<(String, SecretRef)>,
    /// The scheme whose key format each source secret must be in, by the secret's key, for the
    /// sources that validated: a value in another format would fail the functions' start-up.
    pub key_formats: BTreeMap<String, Scheme>,
}

impl Config {
    /// Every problem in config `text`, each by its key, and the secret references it makes; its
    /// retry schedules checked against the template's default queue, its schema files read
    /// relative to `base` (the config's directory).
    pub fn check(text: &str, base: &Path) -> Checked {
        Self::check_against(text, base, QueueLimits::default())
    }

    /// [`Config::check`] against what a deployment's `queue` holds.
    pub fn check_against(text: &str, base: &Path, queue: QueueLimits) -> Checked {
        let mut checked = Checked::default();
        let table = match text.parse::<toml::Table>() {
            Ok(table) => table,
            Err(error) => {
                checked.problems.push(Finding {
                    key: "(toml)".to_owned(),
                    problem: one_line(&error.to_string()),
                });
                return checked;
            }
        };

        let mut defaults = Defaults::default();
        if let Some(value) = table.get("defaults")
            && let Some(raw) = read::<RawDefaults>(&mut checked, "defaults", value)
        {
            match raw.validate() {
                Ok(valid) => defaults = valid,
                Err(problem) => checked.note(problem, "defaults"),
            }
        }

        let mut source_names = Vec::new();
        // The sources that validated, with their schemes (a route's header conditions depend
        // on its source's scheme).
        let mut schemes: BTreeMap<String, Scheme> = BTreeMap::new();
        match table.get("sources") {
            Some(toml::Value::Table(sources)) if !sources.is_empty() => {
                for (name, value) in sources {
                    let key = format!("sources.{name}");
                    source_names.push(name.clone());
                    let Some(raw) = read::<RawSource>(&mut checked, &key, value) else {
                        continue;
                    };
                    checked.refs(&format!("{key}.secrets"), &raw.secrets);
                    if let Some(text) = &raw.handshake_secret
                        && let Ok(reference) = SecretRef::parse(text)
                    {
                        checked
                            .secrets
                            .push((format!("{key}.handshake_secret"), reference));
                    }
                    match raw.validate(name, &defaults) {
                        Ok(mut source) => {
                            for problem in schemas::compile_each(name, &mut source.schemas, base) {
                                checked.note(problem, &key);
                            }
                            for i in 0..source.secrets.len() {
                                checked
                                    .key_formats
                                    .insert(format!("{key}.secrets[{i}]"), source.scheme.clone());
                            }
                            schemes.insert(name.clone(), source.scheme);
                        }
                        Err(problem) => checked.note(problem, &key),
                    }
                }
            }
            Some(toml::Value::Table(_)) | None => checked.problems.push(Finding {
                key: "sources".to_owned(),
                problem: "at least one source is needed".to_owned(),
            }),
            Some(_) => checked.problems.push(Finding {
                key: "sources".to_owned(),
                problem: "expected a table of sources, `[sources.NAME]`".to_owned(),
            }),
        }
        checked.sources = source_names.len();

        // The routes' own retry schedules, by index, for the queue to hold.
        let mut route_schedules: Vec<(usize, RetrySchedule)> = Vec::new();
        match table.get("routes") {
            Some(toml::Value::Array(values)) => {
                checked.routes = values.len();
                let routes: Vec<Option<RawRoute>> = values
                    .iter()
                    .enumerate()
                    .map(|(i, value)| {
                        read::<RawRoute>(&mut checked, &format!("routes[{i}]"), value)
                    })
                    .collect();
                // Against every source named, valid or not: a source with a problem of its own
                // is reported once, under its own key, not again by each route.
                let known = |source: &str| {
                    if let Some(scheme) = schemes.get(source) {
                        Known::Valid(scheme)
                    } else if source_names.iter().any(|n| n == source) {
                        Known::Unchecked
                    } else {
                        Known::Missing
                    }
                };
                let naming: Vec<_> = routes
                    .iter()
                    .map(|raw| {
                        let raw = raw.as_ref()?;
                        let named = !matches!(known(&raw.source), Known::Missing);
                        named.then(|| Naming {
                            name: raw.name.as_deref(),
                            source: &raw.source,
                        })
                    })
                    .collect();
                let names = route_names(&naming);
                for (i, (raw, name)) in routes.into_iter().zip(names).enumerate() {
                    let Some(raw) = raw else {
                        continue;
                    };
                    let key = format!("routes[{i}]");
                    if let RawAction::Forward { secret, .. } = &raw.action
                        && let Ok(reference) = SecretRef::parse(secret)
                    {
                        checked
                            .secrets
                            .push((format!("{key}.action.secret"), reference));
                    }
                    let name = match name {
                        Some(Err(problem)) => {
                            checked.note(problem, &key);
                            String::new()
                        }
                        Some(Ok(name)) => name,
                        None => String::new(),
                    };
                    let known = known(&raw.source);
                    match raw.validate(&key, name, known) {
                        Err(problem) => checked.note(problem, &key),
                        Ok(route) => {
                            if let Some(schedule) = &route.retry_schedule {
                                route_schedules.push((i, schedule.clone()));
                            }
                            if let Some(program) = &route.transform
                                && let Err(problem) =
                                    super::transforms::compile(&format!("{key}.transform"), program)
                            {
                                checked.note(problem, &key);
                            }
                        }
                    }
                }
            }
            Some(_) => checked.problems.push(Finding {
                key: "routes".to_owned(),
                problem: "expected a list of routes, `[[routes]]`".to_owned(),
            }),
            None => {}
        }

        // `[process]` as validated, the defaults when absent, or unknown when it has problems of
        // its own (reported under its keys, not again for the queue).
        let process = match table.get("process") {
            None => Some(ProcessSettings::default()),
            Some(value) => read::<RawProcess>(&mut checked, "process", value).and_then(|raw| {
                raw.validate()
                    .map_err(|problem| checked.note(problem, "process"))
                    .ok()
            }),
        };
        let route_schedules: Vec<(usize, &RetrySchedule)> = route_schedules
            .iter()
            .map(|(i, schedule)| (*i, schedule))
            .collect();
        for problem in queue_problems(process.as_ref(), &route_schedules, queue) {
            checked.note(problem, "process");
        }

        if let Some(value) = table.get("archive")
            && let Some(raw) = read::<RawArchive>(&mut checked, "archive", value)
            && let Err(problem) = raw.validate()
        {
            checked.note(problem, "archive");
        }

        for key in table.keys() {
            if !matches!(
                key.as_str(),
                "defaults" | "sources" | "routes" | "process" | "archive"
            ) {
                checked.problems.push(Finding {
                    key: key.clone(),
                    problem: "unknown key; expected defaults, sources, routes, process or archive"
                        .to_owned(),
                });
            }
        }
        checked
    }
}

impl Checked {
    /// Keeps a validation refusal; one without a key of its own is put under `at`.
    fn note(&mut self, problem: Problem, at: &str) {
        let finding = match problem {
            Problem::Invalid { key, why } => Finding { key, problem: why },
            other => Finding {
                key: at.to_owned(),
                problem: one_line(&other.to_string()),
            },
        };
        self.problems.push(finding);
    }

    /// The well-formed references of a `secrets` list (a malformed one is validation's to report).
    fn refs(&mut self, key: &str, texts: &[String]) {
        for (i, text) in texts.iter().enumerate() {
            if let Ok(reference) = SecretRef::parse(text) {
                self.secrets.push((format!("{key}[{i}]"), reference));
            }
        }
    }
}

/// The part at `key` read into its raw shape; a wrong type or an unknown key is kept as a
/// problem of that part.
fn read<T: DeserializeOwned>(checked: &mut Checked, key: &str, value: &toml::Value) -> Option<T> {
    match value.clone().try_into::<T>() {
        Ok(raw) => Some(raw),
        Err(error) => {
            checked.problems.push(Finding {
                key: key.to_owned(),
                problem: one_line(&error.to_string()),
            });
            None
        }
    }
}

/// The TOML parser quotes the line at fault over several lines; a finding is one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        Config::check(text, Path::new("."))
            .problems
            .into_iter()
            .map(|f| f.key)
            .collect()
    }

    #[test]
    fn the_sample_config_has_no_problems() {
        let text = include_str!("../../../../inlet.toml");
        let checked = Config::check(text, Path::new("."));
        assert_eq!(checked.problems, [], "{checked:?}");
        let config = Config::parse(text).unwrap();
        assert_eq!(checked.sources, config.sources.len());
        assert_eq!(checked.routes, config.routes.len());
        assert!(
            checked
                .secrets
                .iter()
                .any(|(key, r)| key == "sources.github.secrets[0]"
                    && *r == SecretRef::Env("GITHUB_WEBHOOK_SECRET".into())),
            "{:?}",
            checked.secrets
        );
    }

    #[test]
    fn every_problem_is_named_not_only_the_first() {
        let text = "\
colour = \"red\"

[defaults]
tolerance_secs = 0

[sources.github]
scheme = \"gitlub\"
secrets = [\"env:GH\"]

[sources.stripe]
scheme = \"stripe\"
secrets = [\"hunter2\"]

[sources.shop]
scheme = \"shopify\"
secrets = [\"env:SHOP\"]
retries = 3

[[routes]]
source = \"nobody\"
action = { type = \"log\" }

[[routes]]
source = \"github\"
action = { type = \"forward\", url = \"ftp://x\", secret = \"env:AGENT\" }

[process]
concurrency = 0
";
        let found = keys(text);
        assert_eq!(
            found,
            [
                "defaults.tolerance_secs",
                "sources.github.scheme",
                "sources.shop",
                "sources.stripe.secrets[0]",
                "routes[0].source",
                "routes[1].action.url",
                "process.concurrency",
                "colour",
            ],
            "{:?}",
            Config::check(text, Path::new(".")).problems
        );
        let checked = Config::check(text, Path::new("."));
        assert_eq!((checked.sources, checked.routes), (3, 2));
        assert!(
            checked.problems[2].problem.contains("retries"),
            "{:?}",
            checked.problems[2]
        );
        // A route naming a source with problems of its own is not refused again for it.
        assert!(!found.contains(&"routes[1].source".to_owned()));
        let secrets: Vec<_> = checked.secrets.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            secrets,
            ["sources.github.secrets[0]", "routes[1].action.secret"]
        );
    }

    #[test]
    fn schedules_the_queue_cannot_hold_are_problems_by_their_keys() {
        let text = "\
[sources.github]
scheme = \"github\"
secrets = [\"env:GH\"]

[[routes]]
name = \"agent\"
source = \"github\"
action = { type = \"forward\", url = \"https://x.example\", secret = \"env:S\" }

[[routes]]
name = \"audit\"
source = \"github\"
retry_schedule = [\"1d\", \"5d\"]
action = { type = \"forward\", url = \"https://y.example\", secret = \"env:S\" }

[process]
record_ttl_secs = 86400
";
        let checked = Config::check(text, Path::new("."));
        let found: Vec<_> = checked.problems.iter().map(|f| f.key.as_str()).collect();
        // Six days: over the default queue's 4 days and 500 receives, and longer than the
        // record's one day.
        assert_eq!(
            found,
            [
                "routes[1].retry_schedule",
                "routes[1].retry_schedule",
                "process.record_ttl_secs"
            ],
            "{checked:?}"
        );
        let said = |i: usize, text: &str| {
            assert!(
                checked.problems[i].problem.contains(text),
                "{text} not in {:?}",
                checked.problems[i]
            );
        };
        said(0, "raise INLET_QUEUE_RETENTION_SECONDS");
        said(1, "raise INLET_MAX_RECEIVE_COUNT");
        said(2, "routes[1].retry_schedule");
        assert!(Config::parse(text).is_err());

        // A queue that holds it, and a record that outlives it: no problems.
        let roomy = QueueLimits {
            retention_secs: 1_209_600,
            max_receive_count: 1000,
        };
        let fixed = text.replace("record_ttl_secs = 86400", "record_ttl_secs = 604800");
        assert_eq!(
            Config::check_against(&fixed, Path::new("."), roomy).problems,
            []
        );
        // The default queue still cannot hold it.
        assert_eq!(
            keys(&fixed),
            ["routes[1].retry_schedule", "routes[1].retry_schedule"]
        );
        // A `[process]` with problems of its own is not checked against the queue again.
        let bad_process = fixed.replace("record_ttl_secs = 604800", "concurrency = 0");
        assert_eq!(
            keys(&bad_process),
            [
                "process.concurrency",
                "routes[1].retry_schedule",
                "routes[1].retry_schedule"
            ]
        );
    }

    #[test]
    fn each_kind_of_refusal_parse_makes_is_a_problem_here() {
        let github = "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n";
        for text in [
            String::new(),
            "[sources.x\n".to_owned(),
            format!("{github}[defaults]\nmax_body_bytes = 0\n"),
            format!("{github}[process]\nbatch = 1\n"),
            format!("{github}routes = 5\n"),
            "sources = 5\n".to_owned(),
        ] {
            assert!(Config::parse(&text).is_err(), "{text}");
            assert!(
                !Config::check(&text, Path::new(".")).problems.is_empty(),
                "{text}"
            );
        }
        assert_eq!(Config::check(github, Path::new(".")).problems, []);
    }
}
