//! Validation of the outage keys: `retry_schedule` (in `[process]` and on a route),
//! `breaker_threshold`, `breaker_cooldown` and a route's `rate_limit`; what the event queue holds
//! (`INLET_QUEUE_RETENTION_SECONDS`, `INLET_MAX_RECEIVE_COUNT`); and whether it can hold every
//! schedule the config sets ([`queue_problems`]). A schedule the queue cannot hold would be cut
//! short by SQS (the message expires, or is dead-lettered for its receives) before its last
//! attempt, so it is refused at start-up instead.

use super::error::{Problem, invalid};
use super::process_settings::ProcessSettings;
use super::retry::MAX_VISIBILITY_SECS;
use super::retry::{
    BreakerSettings, MAX_BREAKER_COOLDOWN_SECS, MAX_RETRY_STEP_SECS, QueueLimits, RateLimit,
    RetrySchedule, parse_duration_secs, parse_rate_limit,
};

/// The variable the template sets from the event queue's `MessageRetentionPeriod`.
pub const QUEUE_RETENTION_VARIABLE: &str = "INLET_QUEUE_RETENTION_SECONDS";
/// The variable the template sets from the event queue's redrive `maxReceiveCount`.
pub const MAX_RECEIVE_COUNT_VARIABLE: &str = "INLET_MAX_RECEIVE_COUNT";

/// SQS keeps a message 60 s to 14 days.
const RETENTION_RANGE: std::ops::RangeInclusive<u32> = 60..=1_209_600;
/// SQS's redrive policy takes a `maxReceiveCount` of 1 to 1000.
const RECEIVE_COUNT_RANGE: std::ops::RangeInclusive<u32> = 1..=1000;
/// What a schedule's span must leave of the queue's retention: the first attempt may itself wait
/// in the queue (a backlog, a busy claim), and the last one must still find its message.
const RETENTION_MARGIN_SECS: u64 = 3600;

const BREAKER_THRESHOLD_RANGE: std::ops::RangeInclusive<u32> = 1..=1000;
const BREAKER_COOLDOWN_RANGE: std::ops::RangeInclusive<u32> = 1..=3600;

/// A queue variable that is set but not a number SQS accepts, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {why}")]
pub struct QueueVariableError {
    pub variable: &'static str,
    pub why: String,
}

impl QueueLimits {
    /// What the deployment says its queue holds: `INLET_QUEUE_RETENTION_SECONDS` and
    /// `INLET_MAX_RECEIVE_COUNT` through `var`, each the default when unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, QueueVariableError> {
        let base = Self::default();
        Ok(Self {
            retention_secs: queue_number(
                &var,
                QUEUE_RETENTION_VARIABLE,
                RETENTION_RANGE,
                "a whole number of seconds",
            )?
            .unwrap_or(base.retention_secs),
            max_receive_count: queue_number(
                &var,
                MAX_RECEIVE_COUNT_VARIABLE,
                RECEIVE_COUNT_RANGE,
                "a whole number of receives",
            )?
            .unwrap_or(base.max_receive_count),
        })
    }
}

fn queue_number(
    var: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    range: std::ops::RangeInclusive<u32>,
    what: &str,
) -> Result<Option<u32>, QueueVariableError> {
    let Some(text) = var(variable) else {
        return Ok(None);
    };
    match text.trim().parse::<u32>() {
        Ok(value) if range.contains(&value) => Ok(Some(value)),
        _ => Err(QueueVariableError {
            variable,
            why: format!(
                "`{text}` is not {what} from {} to {} (what SQS accepts)",
                range.start(),
                range.end()
            ),
        }),
    }
}

/// `retry_schedule` at `key`: a non-empty list of durations, each 1 s to a week.
pub(super) fn retry_schedule(key: &str, value: &toml::Value) -> Result<RetrySchedule, Problem> {
    let toml::Value::Array(items) = value else {
        return Err(invalid(
            key,
            "must be a list of durations, each a whole number and s, m, h or d, as in \
             [\"5s\", \"5m\", \"2h\"]",
        ));
    };
    if items.is_empty() {
        return Err(invalid(
            key,
            "an empty list: a route that failed would never be tried again; leave \
             `retry_schedule` out for the default",
        ));
    }
    let steps = items
        .iter()
        .enumerate()
        .map(|(i, item)| schedule_step(&format!("{key}[{i}]"), item))
        .collect::<Result<Vec<_>, _>>()?;
    // Every step was checked above; this only keeps the type's own rule in one place.
    RetrySchedule::new(steps).ok_or_else(|| invalid(key, "not a valid retry schedule"))
}

fn schedule_step(key: &str, value: &toml::Value) -> Result<u32, Problem> {
    let secs = duration(key, value)?;
    if secs == 0 {
        return Err(invalid(key, "must be at least 1s"));
    }
    if secs > MAX_RETRY_STEP_SECS {
        return Err(invalid(
            key,
            format!(
                "must be at most 7d ({MAX_RETRY_STEP_SECS} s): the queue keeps a message at \
                 most 14 days, and the whole schedule must fit in it"
            ),
        ));
    }
    Ok(secs)
}

/// A duration string (`"30s"`, `"5m"`, `"2h"`, `"1d"`), in seconds.
fn duration(key: &str, value: &toml::Value) -> Result<u32, Problem> {
    value.as_str().and_then(parse_duration_secs).ok_or_else(|| {
        invalid(
            key,
            format!(
                "{} is not a duration: write a whole number and s, m, h or d, as in \
                     \"30s\", \"5m\" or \"2h\"",
                shown(value)
            ),
        )
    })
}

/// `[process] breaker_threshold` and `breaker_cooldown`, each the default when absent.
pub(super) fn breaker(
    threshold: Option<i64>,
    cooldown: Option<&toml::Value>,
) -> Result<BreakerSettings, Problem> {
    let base = BreakerSettings::default();
    let threshold = match threshold {
        None => Some(base.threshold),
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| BREAKER_THRESHOLD_RANGE.contains(n)),
    };
    let Some(threshold) = threshold else {
        return Err(invalid(
            "process.breaker_threshold",
            format!(
                "must be between {} and {} (failed calls in a row that open a destination's \
                 breaker)",
                BREAKER_THRESHOLD_RANGE.start(),
                BREAKER_THRESHOLD_RANGE.end()
            ),
        ));
    };
    let cooldown_secs = match cooldown {
        None => base.cooldown_secs,
        Some(value) => duration("process.breaker_cooldown", value)?,
    };
    if !BREAKER_COOLDOWN_RANGE.contains(&cooldown_secs) {
        return Err(invalid(
            "process.breaker_cooldown",
            "must be between 1s and 1h (how long an open breaker holds records back before a \
             probe)",
        ));
    }
    Ok(BreakerSettings {
        threshold,
        cooldown_secs,
    })
}

/// A route's `rate_limit` at `key`: `"50/s"` or `"600/m"`.
pub(super) fn rate_limit(key: &str, value: &toml::Value) -> Result<RateLimit, Problem> {
    value.as_str().and_then(parse_rate_limit).ok_or_else(|| {
        invalid(
            key,
            format!(
                "{} is not a rate: write a whole number of calls (at least 1) per second or \
                 minute, as in \"50/s\" or \"600/m\"",
                shown(value)
            ),
        )
    })
}

/// Every way the queue cannot hold the config's schedules, each a refusal naming the key at
/// fault: `[process]`'s (when `process` is known: validated, or the defaults), then each route's
/// own, `(index, schedule)`, for the queue's retention and receives; then a `record_ttl_secs` the
/// longest schedule outlives. Empty when all fit.
pub(super) fn queue_problems(
    process: Option<&ProcessSettings>,
    routes: &[(usize, &RetrySchedule)],
    queue: QueueLimits,
) -> Vec<Problem> {
    let keyed = process
        .map(|settings| {
            (
                "process.retry_schedule".to_owned(),
                &settings.retry_schedule,
            )
        })
        .into_iter()
        .chain(
            routes
                .iter()
                .map(|(i, schedule)| (format!("routes[{i}].retry_schedule"), *schedule)),
        );
    let mut problems = Vec::new();
    let mut longest: Option<(String, u64)> = None;
    for (key, schedule) in keyed {
        problems.extend(retention_problem(&key, schedule, queue));
        problems.extend(receives_problem(&key, schedule, queue));
        let span = schedule.span_secs();
        if longest.as_ref().is_none_or(|(_, most)| span > *most) {
            longest = Some((key, span));
        }
    }
    if let (Some(settings), Some((key, span))) = (process, longest)
        && u64::try_from(settings.record_ttl_secs).unwrap_or(0) <= span
    {
        problems.push(invalid(
            "process.record_ttl_secs",
            format!(
                "must be more than {span} (`{key}` spans {}): the event's record keeps each \
                 route's attempts, and must outlive the longest retry schedule",
                human(span)
            ),
        ));
    }
    problems
}

fn retention_problem(key: &str, schedule: &RetrySchedule, queue: QueueLimits) -> Option<Problem> {
    let span = schedule.span_secs();
    let needed = span + RETENTION_MARGIN_SECS;
    let has = u64::from(queue.retention_secs);
    if needed <= has {
        return None;
    }
    let remedy = if needed <= u64::from(*RETENTION_RANGE.end()) {
        format!(
            "raise {QUEUE_RETENTION_VARIABLE} (the template's QueueRetentionSeconds) to at least \
             {needed}, or shorten the schedule"
        )
    } else {
        format!(
            "SQS keeps a message at most {} s (14 days): shorten the schedule",
            RETENTION_RANGE.end()
        )
    };
    Some(invalid(
        key,
        format!(
            "the queue keeps a message {has} s ({}), and this schedule needs {needed} s: its \
             span, {span} s ({}) from the first failure to the last attempt, and an hour; {remedy}",
            human(has),
            human(span)
        ),
    ))
}

fn receives_problem(key: &str, schedule: &RetrySchedule, queue: QueueLimits) -> Option<Problem> {
    let needed = schedule.receives_needed();
    let has = u64::from(queue.max_receive_count);
    if needed <= has {
        return None;
    }
    let remedy = if needed <= u64::from(*RECEIVE_COUNT_RANGE.end()) {
        format!(
            "raise {MAX_RECEIVE_COUNT_VARIABLE} (the template's MaxReceiveCount) to at least \
             {needed}, or shorten the schedule"
        )
    } else {
        format!(
            "SQS allows at most {}: shorten the schedule",
            RECEIVE_COUNT_RANGE.end()
        )
    };
    Some(invalid(
        key,
        format!(
            "the queue dead-letters a message after {has} receives (maxReceiveCount), and this \
             schedule needs {needed}: one per attempt ({}), one more per {}-hour part of a longer \
             step, and one per {}-minute breaker cool-down over its span; {remedy}",
            schedule.attempts(),
            MAX_VISIBILITY_SECS / 3600,
            MAX_BREAKER_COOLDOWN_SECS / 60
        ),
    ))
}

/// A refused value as the config wrote it: a string quoted, a number as is, else its type.
fn shown(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => format!("{text:?}"),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(n) => n.to_string(),
        other => format!("this {}", other.type_str()),
    }
}

/// Seconds as a person reads them: `4 days`, `27.6 hours`, `30 minutes`.
fn human(secs: u64) -> String {
    // Precision is irrelevant here: the figure only helps a reader place the seconds beside it.
    #[allow(clippy::cast_precision_loss)]
    let secs_f = secs as f64;
    if secs >= 2 * 86_400 {
        format!("{:.1} days", secs_f / 86_400.0)
    } else if secs >= 2 * 3600 {
        format!("{:.1} hours", secs_f / 3600.0)
    } else {
        format!("{:.1} minutes", secs_f / 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawConfig;
    use crate::config::retry::DEFAULT_RETRY_SCHEDULE;
    use crate::config::test_support::GITHUB;

    fn schedule(steps: &[u32]) -> RetrySchedule {
        RetrySchedule::new(steps.to_vec()).unwrap()
    }

    fn keys(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|problem| match problem {
                Problem::Invalid { key, .. } => key.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_default_schedule_fits_the_default_queue() {
        let settings = ProcessSettings::default();
        assert_eq!(
            settings.retry_schedule.steps(),
            DEFAULT_RETRY_SCHEDULE.as_slice()
        );
        assert_eq!(
            queue_problems(Some(&settings), &[], QueueLimits::default()),
            []
        );
    }

    #[test]
    fn a_schedule_longer_than_the_queue_keeps_a_message_is_refused_saying_what_to_raise() {
        let settings = ProcessSettings {
            record_ttl_secs: 400_000,
            ..ProcessSettings::default()
        };
        // Five days and an hour: 435 600 s, 738 receives.
        let long = schedule(&[5 * 86_400, 3600]);
        let queue = QueueLimits {
            retention_secs: 345_600,
            max_receive_count: 1000,
        };
        let problems = queue_problems(Some(&settings), &[(2, &long)], queue);
        assert_eq!(
            keys(&problems),
            ["routes[2].retry_schedule", "process.record_ttl_secs"]
        );
        let Problem::Invalid { why, .. } = &problems[0] else {
            unreachable!()
        };
        // What the queue has, what the schedule needs, and what to raise.
        assert!(why.contains("keeps a message 345600 s (4.0 days)"), "{why}");
        assert!(why.contains("needs 439200 s"), "{why}");
        assert!(why.contains("INLET_QUEUE_RETENTION_SECONDS"), "{why}");
        assert!(why.contains("QueueRetentionSeconds"), "{why}");
        assert!(why.contains("at least 439200"), "{why}");
        let Problem::Invalid { why, .. } = &problems[1] else {
            unreachable!()
        };
        assert!(why.contains("more than 435600"), "{why}");
        assert!(why.contains("routes[2].retry_schedule"), "{why}");
    }

    #[test]
    fn a_schedule_needing_more_receives_than_the_queue_allows_is_refused_saying_what_to_raise() {
        let settings = ProcessSettings::default();
        let queue = QueueLimits {
            retention_secs: 345_600,
            max_receive_count: 100,
        };
        let problems = queue_problems(Some(&settings), &[], queue);
        assert_eq!(keys(&problems), ["process.retry_schedule"]);
        let Problem::Invalid { why, .. } = &problems[0] else {
            unreachable!()
        };
        assert!(why.contains("after 100 receives"), "{why}");
        assert!(why.contains("needs 173"), "{why}");
        assert!(why.contains("INLET_MAX_RECEIVE_COUNT"), "{why}");
        assert!(why.contains("MaxReceiveCount"), "{why}");
        assert!(why.contains("at least 173"), "{why}");

        // Exactly enough is enough.
        let queue = QueueLimits {
            max_receive_count: 173,
            ..queue
        };
        assert_eq!(queue_problems(Some(&settings), &[], queue), []);
        // And exactly the span plus an hour.
        let queue = QueueLimits {
            retention_secs: 99_305 + 3600,
            ..queue
        };
        assert_eq!(queue_problems(Some(&settings), &[], queue), []);
        let queue = QueueLimits {
            retention_secs: 99_305 + 3599,
            ..queue
        };
        assert_eq!(
            keys(&queue_problems(Some(&settings), &[], queue)),
            ["process.retry_schedule"]
        );
    }

    #[test]
    fn beyond_what_sqs_allows_the_refusal_says_to_shorten_the_schedule() {
        // Two one-week steps: more than the 14 days SQS keeps a message, with the margin.
        let two_weeks = schedule(&[MAX_RETRY_STEP_SECS, MAX_RETRY_STEP_SECS]);
        let queue = QueueLimits {
            retention_secs: 1_209_600,
            max_receive_count: 1000,
        };
        let problems = queue_problems(None, &[(0, &two_weeks)], queue);
        // Over the retention and, at a receive per 10 minutes, over 1000 receives too.
        assert_eq!(
            keys(&problems),
            ["routes[0].retry_schedule", "routes[0].retry_schedule"]
        );
        for problem in &problems {
            let Problem::Invalid { why, .. } = problem else {
                unreachable!()
            };
            assert!(why.contains("shorten the schedule"), "{why}");
            assert!(!why.contains("raise"), "{why}");
        }
    }

    #[test]
    fn the_record_must_outlive_the_longest_schedule() {
        let settings = ProcessSettings {
            record_ttl_secs: 99_305,
            ..ProcessSettings::default()
        };
        let queue = QueueLimits::default();
        assert_eq!(
            keys(&queue_problems(Some(&settings), &[], queue)),
            ["process.record_ttl_secs"]
        );
        let settings = ProcessSettings {
            record_ttl_secs: 99_306,
            ..settings
        };
        assert_eq!(queue_problems(Some(&settings), &[], queue), []);
        // A route's longer schedule counts too.
        let longer = schedule(&[99_306]);
        assert_eq!(
            keys(&queue_problems(Some(&settings), &[(1, &longer)], queue)),
            ["process.record_ttl_secs"]
        );
    }

    #[test]
    fn the_queue_variables_default_to_the_templates_and_refuse_bad_numbers_by_name() {
        assert_eq!(QueueLimits::from_vars(|_| None), Ok(QueueLimits::default()));
        let set = |retention: &'static str, receives: &'static str| {
            move |name: &str| match name {
                QUEUE_RETENTION_VARIABLE => Some(retention.to_owned()),
                MAX_RECEIVE_COUNT_VARIABLE => Some(receives.to_owned()),
                _ => None,
            }
        };
        assert_eq!(
            QueueLimits::from_vars(set("1209600", " 1000 ")),
            Ok(QueueLimits {
                retention_secs: 1_209_600,
                max_receive_count: 1000
            })
        );
        for (retention, receives, variable) in [
            ("4d", "500", QUEUE_RETENTION_VARIABLE),
            ("59", "500", QUEUE_RETENTION_VARIABLE),
            ("1209601", "500", QUEUE_RETENTION_VARIABLE),
            ("", "500", QUEUE_RETENTION_VARIABLE),
            ("345600", "0", MAX_RECEIVE_COUNT_VARIABLE),
            ("345600", "1001", MAX_RECEIVE_COUNT_VARIABLE),
            ("345600", "-5", MAX_RECEIVE_COUNT_VARIABLE),
        ] {
            let error = QueueLimits::from_vars(set(retention, receives)).unwrap_err();
            assert_eq!(error.variable, variable, "{retention} {receives}");
            assert!(
                error.to_string().starts_with(&format!("{variable}: `")),
                "{error}"
            );
        }
    }

    #[test]
    fn validation_refuses_a_schedule_the_given_queue_cannot_hold() {
        // The process's schedule fits (15 s and an hour; 3 receives), the route's does not.
        let small = QueueLimits {
            retention_secs: 3700,
            max_receive_count: 5,
        };
        let validated_with = |text: &str, queue| {
            toml::from_str::<RawConfig>(text)
                .unwrap()
                .validate_with(queue)
        };
        let text = format!(
            "{GITHUB}[process]\nretry_schedule = [\"5s\", \"10s\"]\n\
             [[routes]]\nsource = \"github\"\nretry_schedule = [\"1h\"]\n\
             action = {{ type = \"log\" }}\n"
        );
        match validated_with(&text, small) {
            Err(Problem::Invalid { key, .. }) => assert_eq!(key, "routes[0].retry_schedule"),
            other => panic!("{other:?}"),
        }
        let config = validated_with(&text, QueueLimits::default()).unwrap();
        assert_eq!(config.queue, QueueLimits::default());
        assert_eq!(config.process.retry_schedule.steps(), [5, 10]);
        assert_eq!(
            config.routes[0]
                .retry_schedule
                .as_ref()
                .map(RetrySchedule::steps),
            Some([3600].as_slice())
        );
    }
}
