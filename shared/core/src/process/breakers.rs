//! Circuit breakers, as one function sees them: the last state it read or wrote for each
//! destination, so that a closed breaker costs nothing per delivery. The shared truth is the
//! store's ([`DeliveryGuards`]); this view only decides when to ask it.
//!
//! - Closed (in the view): call. A failure is counted in the store, whose answer carries the
//!   breaker as all functions left it — so a function learns that another opened it from its own
//!   next failure, at the latest, and holds back from then on.
//! - Open and cooling down: hold the record back until the cool-down ends, without a request.
//! - Cool-down over: ask the store for the probe. One function gets it and calls; the others
//!   are told the breaker's state (closed again, or a probe out) and call or hold by it.

use super::{BreakerChange, BreakerTransition};
use crate::actions::ActionError;
use crate::config::BreakerSettings;
use crate::ports::{BreakerState, DeliveryGuards, DestinationId, ProbeOutcome};
use std::collections::HashMap;
use std::sync::Mutex;

/// Whether a route may call its destination now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// Closed: call.
    Go,
    /// Half-open, and this call is the probe: its result closes or reopens the breaker.
    Probe,
    /// Open: hold the record back until then (epoch ms); not an attempt.
    Hold(i64),
}

/// This function's view of every destination's breaker it has dealt with.
#[derive(Debug, Default)]
pub(super) struct Breakers {
    views: Mutex<HashMap<String, BreakerState>>,
}

impl Breakers {
    fn view(&self, key: &str) -> Option<BreakerState> {
        self.views.lock().ok()?.get(key).cloned()
    }

    fn keep(&self, key: &str, state: BreakerState) {
        if let Ok(mut views) = self.views.lock() {
            views.insert(key.to_owned(), state);
        }
    }

    /// Decides whether a call to `destination` may go now. A probe, once granted, holds the
    /// half-open breaker until `lease_until_ms` (a function that dies mid-probe frees it then).
    /// The store failing lets the call go: a breaker guards the destination, and must not stop
    /// deliveries of its own accord.
    pub(super) async fn admit(
        &self,
        guards: &dyn DeliveryGuards,
        destination: &DestinationId,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Admission {
        let Some(view) = self.view(&destination.key).filter(|view| view.open) else {
            return Admission::Go;
        };
        if !view.half_open(now_ms) {
            return Admission::Hold(view.open_until_ms.max(view.probe_until_ms));
        }
        match guards
            .breaker_probe(destination, now_ms, lease_until_ms)
            .await
        {
            Ok(ProbeOutcome::Granted) => {
                self.keep(
                    &destination.key,
                    BreakerState {
                        probe_until_ms: lease_until_ms,
                        ..view
                    },
                );
                Admission::Probe
            }
            Ok(ProbeOutcome::Denied(state)) => {
                let admission = if state.open {
                    // Cooling down again, or another function's probe is out: wait for either to
                    // end, and at least a moment, so a denied caller does not ask at once again.
                    Admission::Hold(
                        state
                            .open_until_ms
                            .max(state.probe_until_ms)
                            .max(now_ms + 1000),
                    )
                } else {
                    Admission::Go
                };
                self.keep(&destination.key, state);
                admission
            }
            Err(error) => {
                tracing::warn!(destination = %destination.label, %error, "could not ask for the breaker's probe; calling");
                Admission::Go
            }
        }
    }

    /// Counts a call's result, and returns the breaker's change if this call made one. Only a
    /// failure of the destination counts against it (a transient failure or throttling). A
    /// permanent failure is the request's fault: the destination answered, which counts for it
    /// like a success. A transform that failed never reached it.
    pub(super) async fn after(
        &self,
        guards: &dyn DeliveryGuards,
        destination: &DestinationId,
        settings: &BreakerSettings,
        admission: Admission,
        result: &Result<(), ActionError>,
        now_ms: i64,
    ) -> Option<BreakerChange> {
        let view = self.view(&destination.key).unwrap_or_default();
        let probe = admission == Admission::Probe;
        let answered = match result {
            Ok(()) | Err(ActionError::Permanent(_)) => true,
            Err(error) if error.is_destination_failure() => false,
            Err(_) => return None,
        };
        if answered {
            // A clean breaker stays clean without a request.
            if !probe && !view.open && view.failures == 0 {
                return None;
            }
            let was_open = match guards.breaker_succeeded(destination, now_ms).await {
                Ok(was_open) => was_open,
                Err(error) => {
                    tracing::warn!(destination = %destination.label, %error, "could not close the breaker in the store");
                    return None;
                }
            };
            self.keep(&destination.key, closed(destination));
            was_open.then(|| {
                    tracing::info!(destination = %destination.label, "breaker closed: the destination answers again");
                    BreakerChange {
                        destination: destination.clone(),
                        change: BreakerTransition::Closed,
                        open_until_ms: 0,
                        failures: 0,
                    }
                })
        } else if probe {
            let cooldown = settings.cooldown_ms(view.failed_probes.saturating_add(1));
            match guards.breaker_reopen(destination, now_ms, cooldown).await {
                Ok(state) => {
                    tracing::warn!(destination = %destination.label, failed_probes = state.failed_probes, open_until_ms = state.open_until_ms, "breaker reopened: the probe failed");
                    let change = BreakerChange {
                        destination: destination.clone(),
                        change: BreakerTransition::Reopened,
                        open_until_ms: state.open_until_ms,
                        failures: state.failures,
                    };
                    self.keep(&destination.key, state);
                    Some(change)
                }
                Err(error) => {
                    tracing::warn!(destination = %destination.label, %error, "could not reopen the breaker in the store");
                    None
                }
            }
        } else {
            let failed = guards
                .breaker_failed(
                    destination,
                    now_ms,
                    settings.threshold,
                    settings.cooldown_ms(0),
                )
                .await;
            match failed {
                Ok(failure) => {
                    let change = failure.opened.then(|| {
                                tracing::warn!(destination = %destination.label, failures = failure.state.failures, open_until_ms = failure.state.open_until_ms, "breaker opened: records for this destination are held back");
                                BreakerChange {
                                    destination: destination.clone(),
                                    change: BreakerTransition::Opened,
                                    open_until_ms: failure.state.open_until_ms,
                                    failures: failure.state.failures,
                                }
                            });
                    self.keep(&destination.key, failure.state);
                    change
                }
                Err(error) => {
                    tracing::warn!(destination = %destination.label, %error, "could not count the failure in the breaker");
                    None
                }
            }
        }
    }
}

fn closed(destination: &DestinationId) -> BreakerState {
    BreakerState {
        key: destination.key.clone(),
        label: destination.label.clone(),
        ..BreakerState::default()
    }
}
