//! Forward latencies, collected for the record being processed however deep inside its handler
//! the forward ran.

use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

tokio::task_local! {
    static FORWARD_MS: RefCell<Vec<f64>>;
}

/// Records how long a forward took to answer, for the event being processed. Outside the
/// process pipeline (a test, a tool) it does nothing.
///
/// The forward action calls this; a custom [`crate::actions::Handler`] that makes its own calls
/// may too, and its latencies join the batch's `forward_latency`.
pub(crate) fn observe_forward_latency(elapsed: Duration) {
    let _ = FORWARD_MS.try_with(|values| {
        values.borrow_mut().push(elapsed.as_secs_f64() * 1000.0);
    });
}

/// Runs `work` with a slot for [`observe_forward_latency`], and returns what it recorded.
///
/// A task-local slot, not a field on `Handled` or `Event`: those are public API that users'
/// handlers construct, and the latency belongs to whichever forward ran, however deep inside a
/// custom handler. The slot travels with this future only, so concurrent records of a batch
/// each see their own.
pub(crate) async fn collect_forward_latencies<F: Future>(work: F) -> (F::Output, Vec<f64>) {
    FORWARD_MS
        .scope(RefCell::new(Vec::new()), async {
            let output = work.await;
            let values = FORWARD_MS
                .try_with(|values| values.take())
                .unwrap_or_default();
            (output, values)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn latencies_are_collected_per_scope_and_ignored_outside_one() {
        observe_forward_latency(Duration::from_millis(5));
        let ((), values) = collect_forward_latencies(async {
            observe_forward_latency(Duration::from_millis(12));
            let ((), inner) = collect_forward_latencies(async {
                observe_forward_latency(Duration::from_millis(1));
            })
            .await;
            assert_eq!(inner, [1.0]);
            observe_forward_latency(Duration::from_micros(30_500));
        })
        .await;
        assert_eq!(values, [12.0, 30.5]);
    }
}
