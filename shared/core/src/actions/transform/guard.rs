//! The meter every run carries: the interpreter asks it for the program table at each step, where
//! steps are counted, the clock read and the stack measured; past a bound the run is stopped.

use super::bounds::{CLOCK_EVERY, STACK_LIMIT, Stop};
use jaq_core::{DataT, data};
use jaq_json::Val;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tokio::sync::oneshot;

/// Where a run's answer goes: taken by whoever answers first.
pub(super) type Reply = oneshot::Sender<Result<Vec<u8>, String>>;

/// The data kind of a metered run: jaq's values, and a [`Guard`] as the run's global data.
#[derive(Debug)]
pub(super) struct Bounded;

impl DataT for Bounded {
    type V<'a> = Val;
    type Data<'a> = &'a Guard<'a>;
}

/// One run's meter. The interpreter asks it for the program table at every step
/// ([`data::HasLut::lut`]), which is where the run is counted, timed and measured.
pub(super) struct Guard<'a> {
    pub(super) lut: &'a jaq_core::Lut<Bounded>,
    pub(super) deadline: Instant,
    /// The address of a local at the top of the run's thread: the stack in use is the
    /// distance from it.
    pub(super) stack_base: usize,
    pub(super) steps: Cell<u32>,
    pub(super) stopped: Cell<Option<Stop>>,
    /// Taken by whoever answers first: the end of the run, or [`Guard::halt`].
    pub(super) reply: Cell<Option<Reply>>,
    pub(super) stuck: &'a AtomicUsize,
}

impl<'a> data::HasLut<'a, Bounded> for &'a Guard<'a> {
    fn lut(&self) -> &'a jaq_core::Lut<Bounded> {
        if let Err(stop) = self.pace() {
            self.halt(stop);
        }
        self.lut
    }
}

impl Guard<'_> {
    /// Counts a step; `Err` once the run must stop.
    pub(super) fn pace(&self) -> Result<(), Stop> {
        if let Some(stop) = self.stopped.get() {
            return Err(stop);
        }
        let stop = if stack_address().abs_diff(self.stack_base) > STACK_LIMIT {
            Some(Stop::Depth)
        } else {
            let steps = self.steps.get().wrapping_add(1);
            self.steps.set(steps);
            (steps.is_multiple_of(CLOCK_EVERY) && Instant::now() >= self.deadline)
                .then_some(Stop::Time)
        };
        match stop {
            Some(stop) => {
                self.stopped.set(Some(stop));
                Err(stop)
            }
            None => Ok(()),
        }
    }

    /// Stops the run where it is: an interpreter step cannot fail, and a thread cannot be
    /// killed, so it answers and parks for good (see the module's bounds).
    pub(super) fn halt(&self, stop: Stop) -> ! {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(Err(stop.message()));
        }
        let stuck = self.stuck.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            reason = stop.message(),
            stuck,
            "a transform was stopped past its bound; its thread stays parked"
        );
        loop {
            std::thread::park();
        }
    }
}

/// Where this thread's stack is now.
#[inline(always)]
pub(super) fn stack_address() -> usize {
    let probe = 0u8;
    std::ptr::from_ref(std::hint::black_box(&probe)).addr()
}
