//! A target's `Retry-After` (RFC 9110, section 10.2.3): delta-seconds or an HTTP date, as the
//! seconds to wait from now.

use std::time::SystemTime;

/// The seconds `value` asks to wait, counted from `now`: the number itself for delta-seconds
/// (one too large for a `u64` is as good as forever, and the pipeline bounds it by the schedule
/// anyway), the time left until an HTTP date (rounded up, so a retry never comes before it; a
/// date already past is 0), and `None` for anything else.
pub fn retry_after_secs(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse().unwrap_or(u64::MAX));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(match at.duration_since(now) {
        Ok(left) => left
            .as_secs()
            .saturating_add(u64::from(left.subsec_nanos() > 0)),
        Err(_) => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example date.
    fn example() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn delta_seconds_are_taken_as_they_are() {
        let now = example();
        assert_eq!(retry_after_secs("7", now), Some(7));
        assert_eq!(retry_after_secs(" 120 ", now), Some(120));
        assert_eq!(retry_after_secs("0", now), Some(0));
        assert_eq!(
            retry_after_secs("99999999999999999999999", now),
            Some(u64::MAX)
        );
    }

    #[test]
    fn each_http_date_format_is_the_time_left_until_it() {
        let now = example() - Duration::from_secs(10);
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(retry_after_secs(date, now), Some(10), "{date}");
        }
    }

    #[test]
    fn a_part_of_a_second_left_waits_the_whole_second() {
        let now = example() - Duration::from_millis(9_250);
        assert_eq!(
            retry_after_secs("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(10)
        );
    }

    #[test]
    fn a_date_already_past_is_now() {
        let now = example() + Duration::from_secs(3_600);
        assert_eq!(
            retry_after_secs("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(0)
        );
        assert_eq!(
            retry_after_secs("Sun, 06 Nov 1994 08:49:37 GMT", example()),
            Some(0)
        );
    }

    #[test]
    fn anything_else_says_nothing() {
        for value in [
            "",
            "  ",
            "-5",
            "1.5",
            "+3",
            "7s",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "2026-11-22T13:00:00Z",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(retry_after_secs(value, example()), None, "{value:?}");
        }
    }
}
