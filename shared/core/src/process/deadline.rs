//! The batch's clock and the time its actions have: a deadline from Lambda taken at its word only
//! when an invocation can have it, and the margin before it at which an action is cut off.

/// How long before the function's deadline an unfinished action is cut off: time for releasing
/// its claim, delaying its retry and answering the batch.
pub const ACTION_DEADLINE_MARGIN_MS: i64 = 2_000;

/// How long a batch may run when its deadline is not known: the process function's `Timeout` in
/// template.yaml, well inside the queue's visibility timeout, so no record comes back while its
/// action may still be running.
pub const UNKNOWN_DEADLINE_TIMEOUT_MS: i64 = 30_000;

/// Lambda's longest function timeout (15 minutes): no invocation has a deadline further away, nor
/// one that passed longer ago than it could have been running.
const MAX_FUNCTION_TIMEOUT_MS: i64 = 900_000;

/// Disagreement allowed between Lambda's clock and the function's before a deadline further ahead
/// than the longest timeout is doubted.
const DEADLINE_CLOCK_SKEW_MS: i64 = 60_000;

/// The batch's clock: when it started and when the function must be done, both in milliseconds
/// since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub now_ms: i64,
    pub deadline_ms: i64,
}

impl Deadline {
    /// Whether `deadline_ms` is one a Lambda invocation can have. Runtime API emulators do not
    /// all send one: `cargo lambda watch` sends 600000 (ten minutes, as a duration, read as
    /// 00:10 on 1 January 1970), and a missing or unparseable value arrives as 0 or `i64::MAX`.
    /// Taken at its word, such a deadline would cut off every action before it started.
    pub fn is_known(&self) -> bool {
        let ahead = self.deadline_ms.saturating_sub(self.now_ms);
        self.deadline_ms > 0
            && ahead > -MAX_FUNCTION_TIMEOUT_MS
            && ahead <= MAX_FUNCTION_TIMEOUT_MS + DEADLINE_CLOCK_SKEW_MS
    }

    /// This clock if its deadline is known, else one that ends [`UNKNOWN_DEADLINE_TIMEOUT_MS`]
    /// after `now_ms`.
    pub fn known_or_default(self) -> Self {
        if self.is_known() {
            self
        } else {
            Self {
                now_ms: self.now_ms,
                deadline_ms: self.now_ms.saturating_add(UNKNOWN_DEADLINE_TIMEOUT_MS),
            }
        }
    }

    /// Milliseconds from `now_ms` to the deadline; negative once it has passed.
    pub fn left_ms(&self) -> i64 {
        self.deadline_ms.saturating_sub(self.now_ms)
    }
}

/// The time a batch's actions have, measured on tokio's clock from the batch's start, so that a
/// test's paused clock and a fake batch clock stay consistent.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    started: tokio::time::Instant,
    /// Milliseconds from the batch's start to the function's deadline.
    left_at_start_ms: i64,
    /// The batch's clock at its start (epoch ms).
    started_at_ms: i64,
}

impl Budget {
    pub(super) fn new(clock: Deadline) -> Self {
        Self {
            started: tokio::time::Instant::now(),
            left_at_start_ms: clock.left_ms(),
            started_at_ms: clock.now_ms,
        }
    }

    /// The batch's clock now (epoch ms): its start, plus the time since on tokio's clock. Route
    /// schedules, holds and breakers go by it, so a test's batch clock moves them.
    pub(super) fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.started_at_ms.saturating_add(elapsed)
    }

    /// Milliseconds left before the function's deadline now.
    pub(super) fn left_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.left_at_start_ms.saturating_sub(elapsed)
    }

    /// When an unfinished action is cut off: the margin before the deadline.
    pub(super) fn actions_end(&self) -> tokio::time::Instant {
        let budget_ms = (self.left_at_start_ms - ACTION_DEADLINE_MARGIN_MS).max(0);
        self.started + std::time::Duration::from_millis(u64::try_from(budget_ms).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline(now_ms: i64, deadline_ms: i64) -> Deadline {
        Deadline {
            now_ms,
            deadline_ms,
        }
    }

    const NOW_MS: i64 = 1_795_352_400_000;

    #[test]
    fn a_deadline_a_lambda_invocation_can_have_is_known() {
        for left_ms in [30_000, 1, 0, -5_000, MAX_FUNCTION_TIMEOUT_MS] {
            let clock = deadline(NOW_MS, NOW_MS + left_ms);
            assert!(clock.is_known(), "{left_ms} ms left");
            assert_eq!(clock.known_or_default().deadline_ms, NOW_MS + left_ms);
        }
    }

    #[test]
    fn a_missing_or_impossible_deadline_gets_the_default_timeout() {
        let cases = [
            ("cargo lambda watch's 600000", 600_000),
            ("zero", 0),
            ("negative", -1),
            ("unrepresentable", i64::MAX),
            ("an hour ago", NOW_MS - 3_600_000),
            ("a day ahead", NOW_MS + 86_400_000),
            ("in microseconds", NOW_MS * 1000),
            ("in seconds", NOW_MS / 1000 + 30),
        ];
        for (what, deadline_ms) in cases {
            let clock = deadline(NOW_MS, deadline_ms);
            assert!(!clock.is_known(), "{what}");
            let clock = clock.known_or_default();
            assert_eq!(clock.now_ms, NOW_MS, "{what}");
            assert_eq!(clock.left_ms(), UNKNOWN_DEADLINE_TIMEOUT_MS, "{what}");
        }
    }
}
