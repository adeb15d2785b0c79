//! Breaker lines (placeholder until the metrics land).

pub(crate) fn breaker_metrics(
    changes: &[crate::process::BreakerChange],
    held_by_breaker: u32,
    timestamp_ms: i64,
) -> Vec<String> {
    let _ = (changes, held_by_breaker, timestamp_ms);
    Vec::new()
}
