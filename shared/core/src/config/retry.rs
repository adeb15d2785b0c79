//! How a failing route is tried again, and how hard a destination may be called: the retry
//! schedule (`retry_schedule`), the circuit breaker (`breaker_threshold`, `breaker_cooldown`),
//! a route's `rate_limit`, and what the queue must hold for them (its retention and
//! `maxReceiveCount`).

/// SQS refuses a visibility timeout over 12 hours.
pub const MAX_VISIBILITY_SECS: u32 = 43_200;

/// The delays between a route's attempts, in seconds: after the first failed attempt the route
/// waits `steps[0]`, after the second `steps[1]`, and after a failure with no step left it is
/// dead-lettered as `retries_exhausted`. Attempts are `steps.len() + 1` in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<u32>);

/// Svix's published schedule without its first, immediate retry (SQS already delivers the first
/// attempt at once): about 27.6 hours from the first failure to the last attempt.
pub const DEFAULT_RETRY_SCHEDULE: [u32; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// A step may be at most a week: the queue keeps a message at most 14 days, and a schedule must
/// fit in it.
pub const MAX_RETRY_STEP_SECS: u32 = 7 * 24 * 3600;

/// The longest a breaker stays open before a probe: each failed probe doubles the cool-down up
/// to this (or to `breaker_cooldown`, when that is longer).
pub const MAX_BREAKER_COOLDOWN_SECS: u32 = 600;

impl RetrySchedule {
    /// A schedule of `steps` (seconds); `None` when empty or a step is 0 or over a week.
    pub fn new(steps: Vec<u32>) -> Option<Self> {
        (!steps.is_empty()
            && steps
                .iter()
                .all(|step| (1..=MAX_RETRY_STEP_SECS).contains(step)))
        .then_some(Self(steps))
    }

    pub fn steps(&self) -> &[u32] {
        &self.0
    }

    /// The delay after failed attempt `attempt` (1 for the first), or `None` when that was the
    /// last attempt the schedule allows.
    pub fn delay_after(&self, attempt: u32) -> Option<u32> {
        let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
        self.0.get(index).copied()
    }

    /// Attempts in all: the first and one per step.
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.0.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    /// The longest step: a `Retry-After` is obeyed up to this.
    pub fn longest(&self) -> u32 {
        self.0.iter().copied().max().unwrap_or(0)
    }

    /// From the first failure to the last attempt, in seconds.
    pub fn span_secs(&self) -> u64 {
        self.0.iter().map(|step| u64::from(*step)).sum()
    }

    /// Receives a record takes to run the whole schedule: one per attempt, one more per 12 hours
    /// of a step past the first (SQS caps a visibility timeout at 12 hours, so a longer step is
    /// taken in parts), and one per longest breaker cool-down over the schedule's span (a record
    /// held back by an open breaker comes back once per cool-down).
    pub fn receives_needed(&self) -> u64 {
        let parts: u64 = self
            .0
            .iter()
            .map(|step| u64::from(step.div_ceil(MAX_VISIBILITY_SECS)).saturating_sub(1))
            .sum();
        u64::from(self.attempts()) + parts + self.span_secs() / u64::from(MAX_BREAKER_COOLDOWN_SECS)
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self(DEFAULT_RETRY_SCHEDULE.to_vec())
    }
}

/// `rate_limit = "50/s"` (or `"600/m"`): at most `calls` calls to the route's destination in any
/// window of `per_secs`, across every process function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub calls: u32,
    pub per_secs: u32,
}

impl RateLimit {
    /// The spacing between two calls, in milliseconds: the window over the calls, rounded up,
    /// plus 5 % (at least 1 ms). Calls are spaced when they leave; the guard keeps a receiver
    /// from counting one too many in a window when the network delays one call more than the
    /// next (at 2/s, 50 ms over any three calls).
    pub fn interval_ms(&self) -> i64 {
        let window = i64::from(self.per_secs) * 1000;
        let calls = i64::from(self.calls.max(1));
        let spacing = (window + calls - 1) / calls;
        spacing + ((spacing + 19) / 20).max(1)
    }
}

/// The circuit breaker every destination has (`[process] breaker_threshold`,
/// `breaker_cooldown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failed calls to one destination that open its breaker.
    pub threshold: u32,
    /// How long an open breaker holds records back before letting one probe through, seconds;
    /// doubled after each failed probe, up to [`MAX_BREAKER_COOLDOWN_SECS`].
    pub cooldown_secs: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            threshold: 5,
            cooldown_secs: 30,
        }
    }
}

impl BreakerSettings {
    /// The cool-down after `failed_probes` failed probes in a row (0 when it first opens), ms.
    pub fn cooldown_ms(&self, failed_probes: u32) -> i64 {
        let base = i64::from(self.cooldown_secs) * 1000;
        let cap = base.max(i64::from(MAX_BREAKER_COOLDOWN_SECS) * 1000);
        base.saturating_mul(1_i64 << failed_probes.min(20)).min(cap)
    }
}

/// What the event queue holds: how long it keeps a message and how many receives it allows
/// before SQS moves it to the dead-letter queue. From the deployment (`INLET_QUEUE_RETENTION_SECONDS`,
/// `INLET_MAX_RECEIVE_COUNT`, which the template sets from the queue's own settings); the
/// defaults are the template's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    pub retention_secs: u32,
    pub max_receive_count: u32,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self {
            retention_secs: 345_600,
            max_receive_count: 500,
        }
    }
}

/// Parses a duration as the config writes it: a whole number and a unit, `s`, `m`, `h` or `d`
/// (`"30s"`, `"5m"`, `"2h"`, `"1d"`). `None` for anything else or for more than `u32` seconds.
pub fn parse_duration_secs(text: &str) -> Option<u32> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let scale: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    let digits = &text[..text.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    u32::try_from(value.checked_mul(scale)?).ok()
}

/// Parses `"50/s"` or `"600/m"`: at least one call per window.
pub fn parse_rate_limit(text: &str) -> Option<RateLimit> {
    let (calls, per) = text.trim().split_once('/')?;
    if calls.is_empty() || !calls.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let calls: u32 = calls.parse().ok().filter(|calls| *calls > 0)?;
    let per_secs = match per {
        "s" => 1,
        "m" => 60,
        _ => return None,
    };
    Some(RateLimit { calls, per_secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_svix_s_without_the_immediate_retry() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.attempts(), 8);
        assert_eq!(schedule.delay_after(1), Some(5));
        assert_eq!(schedule.delay_after(7), Some(36_000));
        assert_eq!(schedule.delay_after(8), None);
        assert_eq!(schedule.delay_after(0), None);
        assert_eq!(schedule.span_secs(), 99_305);
        assert_eq!(schedule.longest(), 36_000);
        // 8 attempts, no step over 12 h, 165 cool-downs of 10 minutes in 27.6 hours.
        assert_eq!(schedule.receives_needed(), 8 + 165);
    }

    #[test]
    fn steps_longer_than_sqs_allows_are_taken_in_parts() {
        let schedule = RetrySchedule::new(vec![86_400, 60]).unwrap();
        // 3 attempts, a 24 h step in two 12 h parts (one more receive), 144 cool-downs.
        assert_eq!(schedule.receives_needed(), 3 + 1 + 144);
    }

    #[test]
    fn empty_zero_and_over_long_schedules_are_refused() {
        assert_eq!(RetrySchedule::new(vec![]), None);
        assert_eq!(RetrySchedule::new(vec![5, 0]), None);
        assert_eq!(RetrySchedule::new(vec![MAX_RETRY_STEP_SECS + 1]), None);
        assert!(RetrySchedule::new(vec![1, MAX_RETRY_STEP_SECS]).is_some());
    }

    #[test]
    fn durations_take_a_whole_number_and_a_unit() {
        assert_eq!(parse_duration_secs("5s"), Some(5));
        assert_eq!(parse_duration_secs("5m"), Some(300));
        assert_eq!(parse_duration_secs("10h"), Some(36_000));
        assert_eq!(parse_duration_secs("1d"), Some(86_400));
        for bad in ["", "s", "5", "5ms", "-5s", "1.5h", "5 s", "99999999999d"] {
            assert_eq!(parse_duration_secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn rate_limits_are_calls_per_second_or_minute() {
        let limit = parse_rate_limit("50/s").unwrap();
        assert_eq!(
            limit,
            RateLimit {
                calls: 50,
                per_secs: 1
            }
        );
        // 20 ms, and 5 % for the network's jitter.
        assert_eq!(limit.interval_ms(), 21);
        assert_eq!(parse_rate_limit("600/m").unwrap().interval_ms(), 105);
        assert_eq!(parse_rate_limit("1/m").unwrap().interval_ms(), 63_000);
        // Rounded up: three calls a second are never closer than a third of it.
        assert_eq!(parse_rate_limit("3/s").unwrap().interval_ms(), 351);
        for bad in ["", "0/s", "50", "50/h", "/s", "-1/s", "5.5/s"] {
            assert_eq!(parse_rate_limit(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_breaker_cools_down_longer_after_each_failed_probe_up_to_the_cap() {
        let breaker = BreakerSettings::default();
        let cooldowns: Vec<i64> = (0..6).map(|n| breaker.cooldown_ms(n)).collect();
        assert_eq!(
            cooldowns,
            [30_000, 60_000, 120_000, 240_000, 480_000, 600_000]
        );
        let long = BreakerSettings {
            threshold: 5,
            cooldown_secs: 3600,
        };
        assert_eq!(long.cooldown_ms(3), 3_600_000);
        assert_eq!(
            BreakerSettings {
                threshold: 1,
                cooldown_secs: 1
            }
            .cooldown_ms(40),
            600_000
        );
    }
}
