//! What `inlet dev` knows of when the process pipeline tries things again: each route's retry
//! schedule, the record's own backoff (for a fault of the pipeline's, not of a route), and the
//! queue's `maxReceiveCount` (SQS's safety net, not a retry count). The console's lines and the
//! inspector both say from it when a record comes back, and in the same words.

use inlet_core::config::{MAX_VISIBILITY_SECS, ProcessSettings, Route};
use inlet_core::process::{Hold, RecordOutcome, RouteOutcome, RouteRun};
use inlet_local::{Poll, Received};

/// The config's retry settings, as the pipeline applies them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Retries<'a> {
    pub settings: &'a ProcessSettings,
    /// The config's routes: each may have a schedule of its own.
    pub routes: &'a [Route],
    /// The queue's redrive limit: a record received this often and given back again is moved to
    /// the dead-letter queue by SQS, whatever its routes' schedules say.
    pub max_receive_count: u32,
}

/// When a record the pipeline gave back comes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ComesBack {
    /// Epoch milliseconds.
    pub at_ms: i64,
    /// Whether that is the record's backoff (a fault of the pipeline's own, counted from when the
    /// batch was answered, so only about then) rather than a route's exact next step or hold.
    pub about: bool,
}

impl Retries<'_> {
    /// Attempts in all that the route's schedule allows; `None` for a route the config does not
    /// have (one a handler of the user's own adds), whose schedule is not known here.
    pub(super) fn attempts_of(&self, route: &str) -> Option<u32> {
        let route = self.routes.iter().find(|r| r.name == route)?;
        let schedule = route
            .retry_schedule
            .as_ref()
            .unwrap_or(&self.settings.retry_schedule);
        Some(schedule.attempts())
    }

    /// The record's own backoff after `receive_count` receives, from `now_ms`: for a fault of
    /// the pipeline's (the store, a claim held elsewhere, the dead-letter queue), not a route's.
    pub(super) fn backoff_at_ms(&self, receive_count: u32, now_ms: i64) -> i64 {
        now_ms + i64::from(self.settings.backoff_secs(receive_count)) * 1000
    }

    /// When a record given back with these route runs comes again, as the pipeline sets it: at
    /// its earliest route's next step or end of hold, or on its backoff when no route set one or
    /// the dead-letter queue failed (a route retried with no step of its own). SQS holds a
    /// record back at most 12 hours: one due later comes back then, to be held again.
    pub(super) fn comes_back(
        &self,
        runs: &[RouteRun],
        receive_count: u32,
        now_ms: i64,
    ) -> ComesBack {
        let mut earliest: Option<i64> = None;
        for run in runs {
            let at = match run.outcome {
                RouteOutcome::Retry { next_at_ms: 0, .. } => {
                    return self.backoff(receive_count, now_ms);
                }
                RouteOutcome::Retry { next_at_ms, .. } => next_at_ms,
                RouteOutcome::Held { until_ms, .. } => until_ms,
                RouteOutcome::Delivered | RouteOutcome::DeadLettered { .. } => continue,
            };
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
        match earliest {
            Some(at_ms) => ComesBack {
                at_ms: at_ms.clamp(
                    now_ms + 1000,
                    now_ms + i64::from(MAX_VISIBILITY_SECS) * 1000,
                ),
                about: false,
            },
            None => self.backoff(receive_count, now_ms),
        }
    }

    fn backoff(&self, receive_count: u32, now_ms: i64) -> ComesBack {
        ComesBack {
            at_ms: self.backoff_at_ms(receive_count, now_ms),
            about: true,
        }
    }
}

/// One poll's batch, for when each of its records comes back.
#[derive(Debug, Clone, Copy)]
pub(super) struct PolledBatch<'a> {
    pub poll: &'a Poll,
    pub retries: &'a Retries<'a>,
    /// When the batch was answered (epoch ms).
    pub now_ms: i64,
}

impl<'a> PolledBatch<'a> {
    /// The routes record `index` ran.
    pub(super) fn routes(&self, index: usize) -> &'a [RouteRun] {
        self.poll
            .outcome
            .as_ref()
            .and_then(|o| o.routes.get(index))
            .map_or(&[][..], Vec::as_slice)
    }

    /// Record `index` as it was received.
    pub(super) fn received(&self, index: usize) -> Option<&'a Received> {
        let (message_id, _) = self.poll.outcome.as_ref()?.outcomes.get(index)?;
        self.poll
            .received
            .iter()
            .find(|r| &r.message_id == message_id)
    }

    fn outcome_of(&self, index: usize) -> Option<&'a RecordOutcome> {
        Some(&self.poll.outcome.as_ref()?.outcomes.get(index)?.1)
    }

    /// The record that stopped the lane of skipped record `index`: the last earlier copy of its
    /// event in the batch that failed or was held back.
    pub(super) fn lane_stopper(&self, index: usize) -> Option<(usize, &'a RecordOutcome)> {
        let key = self.received(index)?.key.as_deref()?;
        (0..index).rev().find_map(|earlier| {
            let outcome = self.outcome_of(earlier)?;
            (self.received(earlier)?.key.as_deref() == Some(key)
                && matches!(
                    outcome,
                    RecordOutcome::Retry { .. } | RecordOutcome::Held { .. }
                ))
            .then_some((earlier, outcome))
        })
    }

    /// When record `index`, given back, comes again. A skipped record is given the delay of the
    /// copy that stopped its lane.
    pub(super) fn comes_back(&self, index: usize) -> ComesBack {
        let receives = self.received(index).map_or(1, |r| r.receive_count);
        if let Some(RecordOutcome::Skipped) = self.outcome_of(index)
            && let Some((stopper, _)) = self.lane_stopper(index)
        {
            return self.comes_back(stopper);
        }
        self.retries
            .comes_back(self.routes(index), receives, self.now_ms)
    }
}

/// How one route ended, in words, each time as `time` shows epoch milliseconds: `delivered`,
/// `failed (attempt 2 of 8, next at 13:05:00): …`, `held: breaker open until 13:00:30`,
/// `dead-lettered (retries_exhausted): …`. `backoff_ms`: when the record comes back on its own
/// backoff (a route whose dead letter could not be sent has no step of its own).
pub(super) fn route_words(
    run: &RouteRun,
    retries: &Retries<'_>,
    backoff_ms: i64,
    time: fn(i64) -> String,
) -> String {
    match &run.outcome {
        RouteOutcome::Delivered => "delivered".to_owned(),
        RouteOutcome::Retry {
            reason,
            attempts,
            next_at_ms,
        } => {
            let attempt = attempt_words(*attempts, retries.attempts_of(&run.route));
            if *next_at_ms > 0 {
                format!(
                    "failed ({attempt}, next at {}): {reason}",
                    time(*next_at_ms)
                )
            } else {
                format!(
                    "failed ({attempt}, next try at about {}): {reason}",
                    time(backoff_ms)
                )
            }
        }
        RouteOutcome::DeadLettered {
            reason,
            message,
            attempts,
        } => {
            let reason = dead_letter_reason(reason, *attempts);
            if message.is_empty() {
                format!("dead-lettered ({reason})")
            } else {
                format!("dead-lettered ({reason}): {message}")
            }
        }
        RouteOutcome::Held { hold, until_ms } => hold_words(*hold, &time(*until_ms)),
    }
}

/// `attempt 2 of 8`, or `attempt 2` when the route's schedule is not known.
pub(super) fn attempt_words(attempts: u32, of: Option<u32>) -> String {
    match of {
        Some(all) => format!("attempt {attempts} of {all}"),
        None => format!("attempt {attempts}"),
    }
}

/// Why a route did not run, and until when (`until`, as the caller shows times). Not a
/// failure: nothing was called.
pub(super) fn hold_words(hold: Hold, until: &str) -> String {
    match hold {
        Hold::NotDue => format!("waiting for its next attempt at {until}"),
        Hold::BreakerOpen => format!("held: breaker open until {until}"),
        Hold::RateLimited => format!("held: rate limited until {until}"),
    }
}

/// How a dead-lettered route's reason reads: `retries_exhausted` (its message counts the
/// attempts), `action_failed`, or `action_failed on attempt 3` when it failed for good after
/// retries.
pub(super) fn dead_letter_reason(reason: &str, attempts: u32) -> String {
    if attempts > 1 && reason != inlet_core::process::RETRIES_EXHAUSTED {
        format!("{reason} on attempt {attempts}")
    } else {
        reason.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_core::config::RetrySchedule;

    fn run(route: &str, outcome: RouteOutcome) -> RouteRun {
        RouteRun {
            route: route.into(),
            outcome,
        }
    }

    fn routes() -> Vec<Route> {
        let config = inlet_core::config::Config::parse(
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n\n\
             [[routes]]\nname = \"triage\"\nsource = \"github\"\naction = { type = \"log\" }\n",
        )
        .unwrap();
        let mut routes = config.routes;
        let mut own = routes[0].clone();
        own.name = "audit".into();
        own.retry_schedule = RetrySchedule::new(vec![10, 20]);
        routes.push(own);
        routes
    }

    #[test]
    fn a_route_s_attempts_come_from_its_own_schedule_or_the_default() {
        let routes = routes();
        let settings = ProcessSettings::default();
        let retries = Retries {
            settings: &settings,
            routes: &routes,
            max_receive_count: 500,
        };
        assert_eq!(retries.attempts_of("triage"), Some(8));
        assert_eq!(retries.attempts_of("audit"), Some(3));
        assert_eq!(retries.attempts_of("custom"), None);
        assert_eq!(attempt_words(2, Some(8)), "attempt 2 of 8");
        assert_eq!(attempt_words(2, None), "attempt 2");
    }

    #[test]
    fn a_record_comes_back_for_its_earliest_route_or_on_its_backoff() {
        let settings = ProcessSettings::default();
        let retries = Retries {
            settings: &settings,
            routes: &[],
            max_receive_count: 500,
        };
        let now = 1_000_000;
        let retry = |next_at_ms| RouteOutcome::Retry {
            reason: "500".into(),
            attempts: 1,
            next_at_ms,
        };
        let held = RouteOutcome::Held {
            hold: Hold::BreakerOpen,
            until_ms: now + 30_000,
        };
        let runs = [
            run("a", RouteOutcome::Delivered),
            run("b", retry(now + 300_000)),
            run("c", held),
        ];
        assert_eq!(
            retries.comes_back(&runs, 1, now),
            ComesBack {
                at_ms: now + 30_000,
                about: false
            }
        );
        // The dead-letter queue failed: the record's backoff (5 s × 2¹ on the second receive).
        let failed = [run("b", retry(now + 300_000)), run("d", retry(0))];
        assert_eq!(
            retries.comes_back(&failed, 2, now),
            ComesBack {
                at_ms: now + 10_000,
                about: true
            }
        );
        // No route ran: the pipeline's own fault.
        assert!(retries.comes_back(&[], 1, now).about);
        // Past SQS's 12 hours: back then, to be held again.
        let far = [run("b", retry(now + 100_000_000))];
        assert_eq!(retries.comes_back(&far, 1, now).at_ms, now + 43_200_000);
    }

    #[test]
    fn holds_and_dead_letters_read_as_people_say_them() {
        assert_eq!(
            hold_words(Hold::BreakerOpen, "13:00:30"),
            "held: breaker open until 13:00:30"
        );
        assert_eq!(
            hold_words(Hold::RateLimited, "13:00:01"),
            "held: rate limited until 13:00:01"
        );
        assert_eq!(
            hold_words(Hold::NotDue, "13:05:00"),
            "waiting for its next attempt at 13:05:00"
        );
        assert_eq!(dead_letter_reason("action_failed", 1), "action_failed");
        assert_eq!(
            dead_letter_reason("action_failed", 3),
            "action_failed on attempt 3"
        );
        assert_eq!(
            dead_letter_reason("retries_exhausted", 8),
            "retries_exhausted"
        );
    }
}
