//! From the raw TOML to the typed config: every refusal names the key at fault, as a dotted path
//! (`routes[1].action.timeout_ms`), so the message says what to change. Sources are validated in
//! `validate_source`, routes in `validate_route`; this puts the parts together.

use super::error::{Problem, invalid};
use super::process_settings::ProcessSettings;
use super::raw::{RawArchive, RawConfig, RawDefaults, RawProcess};
use super::retry::MAX_VISIBILITY_SECS;
use super::retry::QueueLimits;
use super::validate_retry::{breaker, queue_problems, retry_schedule};
use super::validate_route::{Known, Naming, route_names};
use super::{Config, Defaults, MAX_BODY_BYTES};
use std::collections::BTreeMap;

/// A replay window of more than a day would make one captured delivery good for too long.
const MAX_TOLERANCE_SECS: u64 = 24 * 3600;

impl RawConfig {
    /// Validated against the template's default queue.
    #[cfg(test)]
    pub(super) fn validate(self) -> Result<Config, Problem> {
        self.validate_with(QueueLimits::default())
    }

    /// Validated against what the deployment's `queue` holds: a retry schedule it cannot hold is
    /// refused.
    pub(super) fn validate_with(self, queue: QueueLimits) -> Result<Config, Problem> {
        let defaults = self.defaults.validate()?;
        if self.sources.is_empty() {
            return Err(invalid("sources", "at least one source is needed"));
        }
        let mut sources = BTreeMap::new();
        for (name, raw) in self.sources {
            let source = raw.validate(&name, &defaults)?;
            sources.insert(name, source);
        }
        // A route naming no source is refused for that, not for its name.
        let naming: Vec<_> = self
            .routes
            .iter()
            .map(|raw| {
                sources.contains_key(&raw.source).then(|| Naming {
                    name: raw.name.as_deref(),
                    source: &raw.source,
                })
            })
            .collect();
        let names = route_names(&naming);
        let mut routes = Vec::with_capacity(self.routes.len());
        for ((i, raw), name) in self.routes.into_iter().enumerate().zip(names) {
            let known = sources
                .get(&raw.source)
                .map_or(Known::Missing, |source| Known::Valid(&source.scheme));
            let name = name.transpose()?.unwrap_or_default();
            routes.push(raw.validate(&format!("routes[{i}]"), name, known)?);
        }
        let process = self.process.validate()?;
        let own_schedules: Vec<_> = routes
            .iter()
            .enumerate()
            .filter_map(|(i, route)| route.retry_schedule.as_ref().map(|s| (i, s)))
            .collect();
        if let Some(problem) = queue_problems(Some(&process), &own_schedules, queue)
            .into_iter()
            .next()
        {
            return Err(problem);
        }
        Ok(Config {
            defaults,
            sources,
            routes,
            process,
            archive: self.archive.map(RawArchive::validate).transpose()?,
            queue,
        })
    }
}

impl RawDefaults {
    pub(super) fn validate(self) -> Result<Defaults, Problem> {
        let base = Defaults::default();
        let defaults = Defaults {
            tolerance_secs: self.tolerance_secs.unwrap_or(base.tolerance_secs),
            max_body_bytes: self.max_body_bytes.unwrap_or(base.max_body_bytes),
            secret_refresh_secs: self.secret_refresh_secs.unwrap_or(base.secret_refresh_secs),
        };
        check_tolerance("defaults.tolerance_secs", defaults.tolerance_secs)?;
        check_body_limit("defaults.max_body_bytes", defaults.max_body_bytes)?;
        if defaults.secret_refresh_secs == 0 {
            return Err(invalid(
                "defaults.secret_refresh_secs",
                "must be at least 1",
            ));
        }
        Ok(defaults)
    }
}

impl RawProcess {
    pub(super) fn validate(self) -> Result<ProcessSettings, Problem> {
        let base = ProcessSettings::default();
        let settings = ProcessSettings {
            concurrency: self.concurrency.unwrap_or(base.concurrency),
            record_ttl_secs: self.record_ttl_secs.unwrap_or(base.record_ttl_secs),
            retry_base_secs: self.retry_base_secs.unwrap_or(base.retry_base_secs),
            retry_max_secs: self.retry_max_secs.unwrap_or(base.retry_max_secs),
            retry_schedule: match &self.retry_schedule {
                Some(value) => retry_schedule("process.retry_schedule", value)?,
                None => base.retry_schedule.clone(),
            },
            breaker: breaker(self.breaker_threshold, self.breaker_cooldown.as_ref())?,
            lease_margin_secs: base.lease_margin_secs,
        };
        if !(1..=100).contains(&settings.concurrency) {
            return Err(invalid("process.concurrency", "must be between 1 and 100"));
        }
        if settings.record_ttl_secs < 3600 {
            return Err(invalid(
                "process.record_ttl_secs",
                "must be at least 3600: keys must outlive every provider's retries",
            ));
        }
        if settings.retry_base_secs == 0 {
            return Err(invalid("process.retry_base_secs", "must be at least 1"));
        }
        if settings.retry_max_secs > MAX_VISIBILITY_SECS {
            return Err(invalid(
                "process.retry_max_secs",
                format!("must be at most {MAX_VISIBILITY_SECS} (SQS's longest visibility timeout)"),
            ));
        }
        if settings.retry_max_secs < settings.retry_base_secs {
            return Err(invalid(
                "process.retry_max_secs",
                "must be at least retry_base_secs",
            ));
        }
        Ok(settings)
    }
}

pub(super) fn check_tolerance(key: &str, secs: u64) -> Result<(), Problem> {
    if secs == 0 || secs > MAX_TOLERANCE_SECS {
        return Err(invalid(
            key,
            format!("must be between 1 and {MAX_TOLERANCE_SECS} seconds"),
        ));
    }
    Ok(())
}

/// A body over what API Gateway hands Lambda could never arrive: a limit above it would only
/// mislead.
pub(super) fn check_body_limit(key: &str, bytes: usize) -> Result<(), Problem> {
    if bytes == 0 || bytes > MAX_BODY_BYTES {
        return Err(invalid(
            key,
            format!(
                "must be between 1 and {MAX_BODY_BYTES} (the largest body API Gateway can hand \
                 Lambda in its 6 MB invocation payload, base64-encoded)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{assert_refused, validated};
    use crate::config::{Action, BreakerSettings, RetrySchedule, SecretRef};

    const GITHUB: &str = "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n";

    #[test]
    fn a_minimal_config_takes_the_defaults() {
        let config = validated(GITHUB).unwrap();
        assert_eq!(config.defaults, Defaults::default());
        assert_eq!(config.process, ProcessSettings::default());
        assert!(config.routes.is_empty());
        let source = config.source("github").unwrap();
        assert_eq!(source.tolerance_secs, 300);
        assert_eq!(source.max_body_bytes, MAX_BODY_BYTES);
    }

    #[test]
    fn the_outage_keys_take_their_defaults_and_their_limits() {
        let config = validated(GITHUB).unwrap();
        assert_eq!(config.process.retry_schedule, RetrySchedule::default());
        assert_eq!(
            config.process.retry_schedule.steps(),
            [5, 300, 1800, 7200, 18_000, 36_000, 36_000]
        );
        assert_eq!(
            config.process.breaker,
            BreakerSettings {
                threshold: 5,
                cooldown_secs: 30
            }
        );
        assert_eq!(config.queue, QueueLimits::default());

        let config = validated(&format!(
            "{GITHUB}[process]\nretry_schedule = [\"1s\", \" 2m \", \"3h\"]\n\
             breaker_threshold = 1000\nbreaker_cooldown = \"1h\"\n"
        ))
        .unwrap();
        assert_eq!(config.process.retry_schedule.steps(), [1, 120, 10_800]);
        assert_eq!(
            config.process.breaker,
            BreakerSettings {
                threshold: 1000,
                cooldown_secs: 3600
            }
        );
        let config = validated(&format!(
            "{GITHUB}[process]\nretry_schedule = [\"7d\"]\nbreaker_threshold = 1\n\
             breaker_cooldown = \"1s\"\n"
        ));
        // A week-long step is a step, but the default queue keeps a message 4 days.
        assert!(
            matches!(&config, Err(Problem::Invalid { key, .. }) if key == "process.retry_schedule"),
            "{config:?}"
        );
        let config = validated(&format!(
            "{GITHUB}[process]\nretry_schedule = [\"1d\"]\nbreaker_threshold = 1\n\
             breaker_cooldown = \"1s\"\n"
        ))
        .unwrap();
        assert_eq!(config.process.retry_schedule.steps(), [86_400]);
        assert_eq!(
            config.process.breaker,
            BreakerSettings {
                threshold: 1,
                cooldown_secs: 1
            }
        );
    }

    #[test]
    fn routes_are_typed() {
        let config = validated(&format!(
            "{GITHUB}
[[routes]]
name = \"agent\"
source = \"github\"
events = [\"push\"]
action = {{ type = \"forward\", url = \"https://agent.example.com/hooks\", secret = \"env:AGENT\", timeout_ms = 2500 }}

[[routes]]
name = \"audit\"
source = \"github\"
action = {{ type = \"log\" }}
"
        ))
        .unwrap();
        assert_eq!(config.routes[0].name, "agent");
        assert_eq!(config.routes[1].name, "audit");
        assert_eq!(
            config.routes[0].action,
            Action::Forward {
                url: "https://agent.example.com/hooks".into(),
                secret: SecretRef::Env("AGENT".into()),
                timeout_ms: 2500
            }
        );
        assert!(
            config.routes[0]
                .events
                .as_ref()
                .unwrap()
                .allows(Some("push"))
        );
        assert_eq!(config.routes[1].action, Action::Log);
        assert!(config.routes[1].events.is_none());
    }

    #[test]
    fn every_refusal_outside_sources_names_the_offending_key() {
        let defaults = |line: &str| format!("[defaults]\n{line}\n{GITHUB}");
        let route = |lines: &str| format!("{GITHUB}[[routes]]\nsource = \"github\"\n{lines}\n");
        let action = |fields: &str| route(&format!("action = {{ {fields} }}"));
        let forward = |fields: &str| {
            action(&format!(
                "type = \"forward\", url = \"https://x.example\", secret = \"env:S\"{fields}"
            ))
        };
        let process = |lines: &str| format!("{GITHUB}[process]\n{lines}\n");
        let cases = [
            (format!("{GITHUB}colour = \"red\"\n"), "colour"),
            (defaults("tolerance = 5"), "tolerance"),
            (
                defaults("tolerance_secs = 86401"),
                "defaults.tolerance_secs",
            ),
            (defaults("max_body_bytes = 0"), "defaults.max_body_bytes"),
            (
                defaults("secret_refresh_secs = 0"),
                "defaults.secret_refresh_secs",
            ),
            (String::new(), "sources"),
            (
                format!("{GITHUB}[[routes]]\nsource = \"gitlab\"\naction = {{ type = \"log\" }}\n"),
                "routes[0].source",
            ),
            (
                route("events = []\naction = { type = \"log\" }"),
                "routes[0].events",
            ),
            (route("action = { type = \"log\" }\nretries = 3"), "retries"),
            (
                action("type = \"forward\", url = \"ftp://x\", secret = \"env:S\""),
                "routes[0].action.url",
            ),
            (
                action("type = \"forward\", url = \"https://x.example\", secret = \"s3cret\""),
                "routes[0].action.secret",
            ),
            (forward(", timeout_ms = 0"), "routes[0].action.timeout_ms"),
            (
                forward(", timeout_ms = 60001"),
                "routes[0].action.timeout_ms",
            ),
            (forward(", retries = 3"), "retries"),
            (action("type = \"log\", url = \"https://x.example\""), "url"),
            (action("type = \"mail\""), "mail"),
            (action("url = \"https://x.example\""), "type"),
            (process("concurrency = 0"), "process.concurrency"),
            (process("concurrency = 101"), "process.concurrency"),
            (process("retry_base_secs = 0"), "process.retry_base_secs"),
            (process("retry_max_secs = 43201"), "process.retry_max_secs"),
            (
                process("retry_base_secs = 60\nretry_max_secs = 5"),
                "process.retry_max_secs",
            ),
            (process("record_ttl_secs = 60"), "process.record_ttl_secs"),
            (process("batch = 1"), "batch"),
            // retry_schedule: a list of durations, each 1 s to a week.
            (process("retry_schedule = []"), "process.retry_schedule"),
            (process("retry_schedule = \"5s\""), "process.retry_schedule"),
            (
                process("retry_schedule = [\"5s\", \"5m\", \"5x\"]"),
                "process.retry_schedule[2]",
            ),
            (
                process("retry_schedule = [\"5s\", \"0s\"]"),
                "process.retry_schedule[1]",
            ),
            (
                process("retry_schedule = [\"8d\"]"),
                "process.retry_schedule[0]",
            ),
            (
                process("retry_schedule = [\"169h\"]"),
                "process.retry_schedule[0]",
            ),
            (process("retry_schedule = [5]"), "process.retry_schedule[0]"),
            (
                process("retry_schedule = [\"1.5h\"]"),
                "process.retry_schedule[0]",
            ),
            // A schedule the default queue cannot hold: over 4 days, or over 500 receives.
            (
                process("retry_schedule = [\"2d\", \"2d\"]"),
                "process.retry_schedule",
            ),
            (
                process(&format!(
                    "retry_schedule = [{}]",
                    ["\"1s\""; 500].join(", ")
                )),
                "process.retry_schedule",
            ),
            // The record must outlive the schedule (the default's span is 99 305 s).
            (
                process("record_ttl_secs = 99305"),
                "process.record_ttl_secs",
            ),
            (
                process("record_ttl_secs = 3600\nretry_schedule = [\"1m\", \"2h\"]"),
                "process.record_ttl_secs",
            ),
            // breaker_threshold: 1 to 1000; breaker_cooldown: a duration, 1 s to 1 h.
            (
                process("breaker_threshold = 0"),
                "process.breaker_threshold",
            ),
            (
                process("breaker_threshold = 1001"),
                "process.breaker_threshold",
            ),
            (
                process("breaker_threshold = -1"),
                "process.breaker_threshold",
            ),
            (
                process("breaker_cooldown = \"0s\""),
                "process.breaker_cooldown",
            ),
            (
                process("breaker_cooldown = \"61m\""),
                "process.breaker_cooldown",
            ),
            (process("breaker_cooldown = 30"), "process.breaker_cooldown"),
            (
                process("breaker_cooldown = \"30\""),
                "process.breaker_cooldown",
            ),
        ];
        for (text, key) in cases {
            assert_refused(&text, key);
        }
    }
}
