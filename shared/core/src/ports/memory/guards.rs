//! The delivery guards (circuit breakers and rate-limit slots) in memory, with the DynamoDB
//! adapter's semantics: one shared state however many pipelines hold a clone, as every process
//! function shares the table. Counts its requests, so tests can hold the guards to "a few
//! requests per state change, not per delivery".

use super::lock;
use crate::ports::{
    BreakerFailure, BreakerState, DeliveryGuards, DestinationId, Guarding, ProbeOutcome, StoreError,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct MemoryGuards(Arc<GuardsState>);

#[derive(Debug, Default)]
struct GuardsState {
    breakers: Mutex<HashMap<String, BreakerState>>,
    /// Per destination key: the next free call slot (epoch ms).
    slots: Mutex<HashMap<String, i64>>,
    requests: AtomicUsize,
    down: AtomicBool,
}

impl MemoryGuards {
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests made so far (a DynamoDB adapter makes one write for each, two when a failure
    /// opens a breaker or a slot is reserved ahead).
    pub fn requests(&self) -> usize {
        self.0.requests.load(Ordering::SeqCst)
    }

    pub fn set_down(&self, down: bool) {
        self.0.down.store(down, Ordering::SeqCst);
    }

    /// The breaker of the destination keyed `key`, as stored.
    pub fn breaker(&self, key: &str) -> Option<BreakerState> {
        lock(&self.0.breakers).get(key).cloned()
    }

    fn request(&self, count: usize) -> Result<(), StoreError> {
        self.0.requests.fetch_add(count, Ordering::SeqCst);
        if self.0.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "the in-memory guards are down".into(),
            ));
        }
        Ok(())
    }

    fn with_breaker<T>(
        &self,
        destination: &DestinationId,
        change: impl FnOnce(&mut BreakerState) -> T,
    ) -> T {
        let mut breakers = lock(&self.0.breakers);
        let state = breakers
            .entry(destination.key.clone())
            .or_insert_with(|| BreakerState {
                key: destination.key.clone(),
                label: destination.label.clone(),
                ..BreakerState::default()
            });
        change(state)
    }
}

impl DeliveryGuards for MemoryGuards {
    fn breaker_failed<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        threshold: u32,
        cooldown_ms: i64,
    ) -> Guarding<'a, BreakerFailure> {
        Box::pin(async move {
            self.request(1)?;
            let opens = self.with_breaker(destination, |state| {
                state.failures = state.failures.saturating_add(1);
                !state.open && state.failures >= threshold
            });
            if opens {
                self.request(1)?;
            }
            Ok(self.with_breaker(destination, |state| {
                let opened = opens && !state.open;
                if opened {
                    state.open = true;
                    state.open_until_ms = now_ms + cooldown_ms;
                    state.failed_probes = 0;
                    state.probe_until_ms = 0;
                    state.changed_at_ms = now_ms;
                }
                BreakerFailure {
                    state: state.clone(),
                    opened,
                }
            }))
        })
    }

    fn breaker_reopen<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        cooldown_ms: i64,
    ) -> Guarding<'a, BreakerState> {
        Box::pin(async move {
            self.request(1)?;
            Ok(self.with_breaker(destination, |state| {
                state.open = true;
                state.open_until_ms = now_ms + cooldown_ms;
                state.failed_probes = state.failed_probes.saturating_add(1);
                state.probe_until_ms = 0;
                state.changed_at_ms = now_ms;
                state.clone()
            }))
        })
    }

    fn breaker_succeeded<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
    ) -> Guarding<'a, bool> {
        Box::pin(async move {
            self.request(1)?;
            Ok(self.with_breaker(destination, |state| {
                let was_open = state.open;
                *state = BreakerState {
                    key: state.key.clone(),
                    label: state.label.clone(),
                    changed_at_ms: if was_open {
                        now_ms
                    } else {
                        state.changed_at_ms
                    },
                    ..BreakerState::default()
                };
                was_open
            }))
        })
    }

    fn breaker_probe<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Guarding<'a, ProbeOutcome> {
        Box::pin(async move {
            self.request(1)?;
            Ok(self.with_breaker(destination, |state| {
                if state.half_open(now_ms) {
                    state.probe_until_ms = lease_until_ms;
                    ProbeOutcome::Granted
                } else {
                    ProbeOutcome::Denied(state.clone())
                }
            }))
        })
    }

    fn rate_slot<'a>(
        &'a self,
        destination: &'a DestinationId,
        now_ms: i64,
        interval_ms: i64,
    ) -> Guarding<'a, i64> {
        Box::pin(async move {
            self.request(1)?;
            let mut slots = lock(&self.0.slots);
            let next = slots.entry(destination.key.clone()).or_insert(0);
            if *next <= now_ms {
                *next = now_ms + interval_ms;
                return Ok(now_ms);
            }
            // Reserved ahead: the adapter's second write.
            self.0.requests.fetch_add(1, Ordering::SeqCst);
            let slot = *next;
            *next += interval_ms;
            Ok(slot)
        })
    }

    fn breakers(&self) -> Guarding<'_, Vec<BreakerState>> {
        Box::pin(async move {
            self.request(1)?;
            let mut all: Vec<BreakerState> = lock(&self.0.breakers).values().cloned().collect();
            all.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(all)
        })
    }
}
