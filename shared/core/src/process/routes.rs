//! One event's routes for one try: each route gated (its schedule's next step, its
//! destination's circuit breaker and rate limit), the ones let through run side by side, and
//! what each came to folded into the event's progress: done, waiting for its next step,
//! dead-lettered, or held back.

use super::breakers::Admission;
use super::dead_letter::{RETRIES_EXHAUSTED, RouteFailure, cut};
use super::deadline::{ACTION_DEADLINE_MARGIN_MS, Budget, Deadline};
use super::{BreakerChange, Hold, Process, RouteOutcome, RouteRun};
use crate::actions::{ActionError, Event, Handler};
use crate::ports::{IdempotencyStore, Progress, Queue, RouteRetry, Visibility};
use inlet_signature::clock;

/// The longest a route waits inside the function for its rate-limit slot. A later slot holds
/// the record back instead: the slot stays the route's (in its progress), and the record comes
/// back [`SLOT_EARLY_MS`] before it, to wait for it here.
const SLOT_WAIT_MAX_MS: i64 = 2_000;

/// How long before its slot a held record is due back. SQS counts a delay in whole seconds
/// (rounded up here), so it comes back between this and 1 s less before the slot: in time to
/// wait for the slot in the function. A record that comes back after its slot has lost it (a
/// call then could be closer to the next slot's than the limit allows) and takes a new one.
const SLOT_EARLY_MS: i64 = 1_500;

/// How much of a failed attempt's error the progress keeps for the dead letter.
const LAST_ERROR_BYTES: usize = 300;

/// What one route's turn came to.
pub(super) enum Turn {
    /// It called its destination (or its action ran).
    Ran {
        result: Result<(), ActionError>,
        /// The breaker change this call made, if any.
        change: Option<BreakerChange>,
    },
    /// Not run, and not an attempt.
    Held {
        hold: Hold,
        until_ms: i64,
        /// A rate-limit slot the route now holds (0: none).
        slot_ms: i64,
    },
}

/// The routes' turns folded together, for the record's outcome.
#[derive(Default)]
pub(super) struct Settled {
    pub(super) runs: Vec<RouteRun>,
    /// Routes to dead-letter: failed for good, or out of retries.
    pub(super) failed_for_good: Vec<RouteFailure>,
    /// Routes that failed and wait for their next step, each reason named by route.
    pub(super) retry_reasons: Vec<String>,
    /// Routes held back, each named with why.
    pub(super) held_reasons: Vec<String>,
    /// When the earliest waiting or held route may run (epoch ms): the record comes back then.
    pub(super) wake_at_ms: Option<i64>,
    pub(super) changes: Vec<BreakerChange>,
}

impl Settled {
    fn wake_at(&mut self, at_ms: i64) {
        self.wake_at_ms = Some(self.wake_at_ms.map_or(at_ms, |wake| wake.min(at_ms)));
    }
}

/// A route's reason as the record's: with one route, the reason is its own, as with a single
/// action; with several (`several`), each says whose it is.
pub(super) fn whose(several: bool, route: &str, why: &str) -> String {
    if several {
        format!("route {route}: {why}")
    } else {
        why.to_owned()
    }
}

impl<St, Dl, Vi, H> Process<St, Dl, Vi, H>
where
    St: IdempotencyStore,
    Dl: Queue,
    Vi: Visibility,
    H: Handler,
{
    /// Takes each of `routes`' turn for `event`, side by side.
    pub(super) async fn run_routes<'r>(
        &self,
        routes: &[&'r str],
        event: Event<'_>,
        budget: Budget,
        clock: Deadline,
        progress: &Progress,
    ) -> Vec<(&'r str, Turn)> {
        let turns = routes.iter().map(|route| async move {
            let waiting = progress.waiting.get(*route);
            (
                *route,
                self.route_turn(route, event, budget, clock, waiting).await,
            )
        });
        futures_util::future::join_all(turns).await
    }

    /// One route's turn: held back if its next step is not due, its destination's breaker is
    /// open or its rate limit has no slot soon; else run, cut off in time to report it (an
    /// action still running when Lambda's deadline hits would be killed with the whole batch,
    /// every record's answer lost with it).
    async fn route_turn(
        &self,
        route: &str,
        event: Event<'_>,
        budget: Budget,
        clock: Deadline,
        waiting: Option<&RouteRetry>,
    ) -> Turn {
        let now = budget.now_ms();
        let held_slot = waiting.map_or(0, |w| w.slot_ms);
        if let Some(waiting) = waiting
            && held_slot == 0
            && waiting.next_at_ms > now
        {
            return Turn::Held {
                hold: Hold::NotDue,
                until_ms: waiting.next_at_ms,
                slot_ms: 0,
            };
        }
        let policy = self.handler.policy(route);
        let guarded = policy.destination.zip(self.guards.as_deref());
        let mut admission = Admission::Go;
        if let Some((destination, guards)) = guarded {
            // A probe holds the half-open breaker as long as a claim holds its key.
            let lease_until_ms = clock.deadline_ms + self.settings.lease_margin_secs * 1000;
            admission = self
                .breakers
                .admit(guards, destination, now, lease_until_ms)
                .await;
            if let Admission::Hold(until_ms) = admission {
                return Turn::Held {
                    hold: Hold::BreakerOpen,
                    until_ms,
                    slot_ms: 0,
                };
            }
            if let Some(limit) = policy.rate_limit {
                let interval = limit.interval_ms();
                // The clock now, after the breaker's request: a call must leave at its slot, not
                // after it, or it crowds the next slot's call at the destination.
                let now = budget.now_ms();
                // A slot taken on an earlier try is used, if it is still ahead: the call must be at
                // the slot, not after it.
                let slot = if held_slot >= now {
                    Ok(held_slot)
                } else {
                    guards.rate_slot(destination, now, interval).await
                };
                let slot = match slot {
                    Ok(slot) => slot,
                    Err(error) => {
                        // Not calling is the safe side of a limit the store cannot keep.
                        tracing::warn!(route, destination = %destination.label, %error, "could not take a rate-limit slot; held back");
                        return Turn::Held {
                            hold: Hold::RateLimited,
                            until_ms: now + 1000,
                            slot_ms: 0,
                        };
                    }
                };
                let wait = slot - budget.now_ms();
                let room = (budget.left_ms() - ACTION_DEADLINE_MARGIN_MS * 2).min(SLOT_WAIT_MAX_MS);
                if wait > room {
                    return Turn::Held {
                        hold: Hold::RateLimited,
                        until_ms: slot - SLOT_EARLY_MS,
                        slot_ms: slot,
                    };
                }
                if wait > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(
                        u64::try_from(wait).unwrap_or(0),
                    ))
                    .await;
                }
            }
        }
        let action_ms = (budget.left_ms() - ACTION_DEADLINE_MARGIN_MS).max(0);
        let result =
            tokio::time::timeout_at(budget.actions_end(), self.handler.handle(route, event))
                .await
                .unwrap_or_else(|_| {
                    Err(ActionError::Transient(format!(
                        "the action did not finish in the {action_ms} ms it had before the \
                     function's deadline (margin {ACTION_DEADLINE_MARGIN_MS} ms): cut off"
                    )))
                });
        let change = match guarded {
            Some((destination, guards)) => {
                let breaker = &self.settings.breaker;
                self.breakers
                    .after(
                        guards,
                        destination,
                        breaker,
                        admission,
                        &result,
                        budget.now_ms(),
                    )
                    .await
            }
            None => None,
        };
        Turn::Ran { result, change }
    }

    /// Folds the routes' turns into `progress` (done, waiting with their attempts, holding a
    /// slot) and says what each came to. `several`: whether the event has more than one route,
    /// so each reason says whose it is.
    pub(super) fn settle(
        &self,
        turns: Vec<(&str, Turn)>,
        progress: &mut Progress,
        several: bool,
        budget: Budget,
    ) -> Settled {
        let named = |route: &str, why: &str| whose(several, route, why);
        let mut settled = Settled::default();
        let now = budget.now_ms();
        for (route, turn) in turns {
            let (result, change) = match turn {
                Turn::Ran { result, change } => (result, change),
                Turn::Held {
                    hold,
                    until_ms,
                    slot_ms,
                } => {
                    let waiting = progress.waiting.entry(route.to_owned()).or_default();
                    waiting.slot_ms = slot_ms;
                    settled.wake_at(until_ms);
                    settled.held_reasons.push(named(
                        route,
                        &format!(
                            "held back ({}) until {}",
                            hold.as_str(),
                            clock::format_rfc3339_millis(until_ms)
                        ),
                    ));
                    settled.runs.push(RouteRun {
                        route: route.to_owned(),
                        outcome: RouteOutcome::Held { hold, until_ms },
                    });
                    continue;
                }
            };
            settled.changes.extend(change);
            let attempts = progress
                .waiting
                .get(route)
                .map_or(0, |w| w.attempts)
                .saturating_add(1);
            let error = match result {
                Ok(()) => {
                    progress.done.insert(route.to_owned());
                    progress.dead.remove(route);
                    progress.waiting.remove(route);
                    settled.runs.push(RouteRun {
                        route: route.to_owned(),
                        outcome: RouteOutcome::Delivered,
                    });
                    continue;
                }
                Err(error) => error,
            };
            if let Some(reason) = error.reason() {
                tracing::warn!(
                    route,
                    reason,
                    attempts,
                    error = error.message(),
                    "route failed for good"
                );
                settled.failed_for_good.push(RouteFailure {
                    route: route.to_owned(),
                    reason,
                    message: error.message().to_owned(),
                    attempts,
                });
                continue;
            }
            let policy = self.handler.policy(route);
            let schedule = policy.schedule.unwrap_or(&self.settings.retry_schedule);
            let Some(step) = schedule.delay_after(attempts) else {
                tracing::warn!(
                    route,
                    attempts,
                    error = error.message(),
                    "route out of retries"
                );
                settled.failed_for_good.push(RouteFailure {
                    route: route.to_owned(),
                    reason: RETRIES_EXHAUSTED,
                    message: format!("{attempts} attempts; the last: {}", error.message()),
                    attempts,
                });
                continue;
            };
            // The destination's own word on when to come back, within the schedule's reach.
            let delay_secs = match &error {
                ActionError::Throttled {
                    retry_after_secs: Some(after),
                    ..
                } => u32::try_from(*after)
                    .unwrap_or(u32::MAX)
                    .min(schedule.longest()),
                _ => step,
            };
            let next_at_ms = now + i64::from(delay_secs) * 1000;
            progress.waiting.insert(
                route.to_owned(),
                RouteRetry {
                    attempts,
                    next_at_ms,
                    last_error: cut(error.message(), LAST_ERROR_BYTES),
                    slot_ms: 0,
                },
            );
            settled.wake_at(next_at_ms);
            settled.retry_reasons.push(named(route, error.message()));
            settled.runs.push(RouteRun {
                route: route.to_owned(),
                outcome: RouteOutcome::Retry {
                    reason: error.message().to_owned(),
                    attempts,
                    next_at_ms,
                },
            });
        }
        settled
    }
}
