//! `[process]`: the process pipeline's tunables, and the retry backoff they give.

use super::retry::MAX_VISIBILITY_SECS;

/// Tunables, from `[process]` in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    /// Records (or lanes) in flight at once.
    pub concurrency: usize,
    /// How long a completed key is remembered (the table's TTL).
    pub record_ttl_secs: i64,
    /// Backoff of a record retried for a fault of the pipeline's own (the store, the archive, a
    /// claim held elsewhere), not of a route: base × 2^(receive count − 1), at most the cap.
    pub retry_base_secs: u32,
    pub retry_max_secs: u32,
    /// `retry_schedule`: when a route that failed is tried again (a route may set its own).
    pub retry_schedule: super::retry::RetrySchedule,
    /// `breaker_threshold`, `breaker_cooldown`: every destination's circuit breaker.
    pub breaker: super::retry::BreakerSettings,
    /// Added to the function's deadline for the claim's lease. Not in the config: the tests
    /// shorten it to take over an abandoned claim without waiting.
    pub lease_margin_secs: i64,
}

impl Default for ProcessSettings {
    fn default() -> Self {
        Self {
            concurrency: 10,
            record_ttl_secs: 7 * 24 * 3600,
            retry_base_secs: 5,
            retry_max_secs: 900,
            retry_schedule: super::retry::RetrySchedule::default(),
            breaker: super::retry::BreakerSettings::default(),
            lease_margin_secs: 10,
        }
    }
}

impl ProcessSettings {
    /// The visibility timeout for a record's next try.
    pub fn backoff_secs(&self, receive_count: u32) -> u32 {
        // 2^20 times any base is past every cap, and a larger shift would overflow.
        let doublings = receive_count.saturating_sub(1).min(20);
        self.retry_base_secs
            .saturating_mul(1 << doublings)
            .min(self.retry_max_secs)
            .min(MAX_VISIBILITY_SECS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_receive_up_to_the_cap() {
        let settings = ProcessSettings::default();
        let delays: Vec<u32> = (0..=9).map(|n| settings.backoff_secs(n)).collect();
        assert_eq!(delays, [5, 5, 10, 20, 40, 80, 160, 320, 640, 900]);
        assert_eq!(settings.backoff_secs(u32::MAX), 900);
    }

    #[test]
    fn backoff_never_passes_the_queue_limit() {
        let settings = ProcessSettings {
            retry_base_secs: u32::MAX,
            retry_max_secs: u32::MAX,
            ..ProcessSettings::default()
        };
        assert_eq!(settings.backoff_secs(1), MAX_VISIBILITY_SECS);
    }
}
