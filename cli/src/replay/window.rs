//! The window's ends as the command line gives them: RFC 3339, or an age.

use inlet_core::archive;

/// A time as the command line gives it: RFC 3339, or an age before `now_ms`.
pub fn parse_time(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(now_ms);
    }
    if let Some(ms) = archive::received_at_ms(text) {
        return Ok(ms);
    }
    let unit_ms = match text.chars().last() {
        Some('s') => 1_000,
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        _ => return Err(time_error(text)),
    };
    let amount: i64 = text[..text.len() - 1]
        .parse()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| time_error(text))?;
    amount
        .checked_mul(unit_ms)
        .and_then(|ago| now_ms.checked_sub(ago))
        .ok_or_else(|| time_error(text))
}

fn time_error(text: &str) -> String {
    format!(
        "`{text}` is not a time: give RFC 3339 (2026-11-28T14:00:00Z) or an age such as 90m, 2h \
         or 1d"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::tests::NOW_MS;

    #[test]
    fn times_are_rfc_3339_or_an_age() {
        assert_eq!(parse_time("2026-11-28T14:03:20.123Z", 0), Ok(NOW_MS));
        assert_eq!(parse_time("2026-11-28T15:03:20.123+01:00", 0), Ok(NOW_MS));
        assert_eq!(parse_time("now", NOW_MS), Ok(NOW_MS));
        assert_eq!(parse_time("90s", NOW_MS), Ok(NOW_MS - 90_000));
        assert_eq!(parse_time("15m", NOW_MS), Ok(NOW_MS - 900_000));
        assert_eq!(parse_time("2h", NOW_MS), Ok(NOW_MS - 7_200_000));
        assert_eq!(parse_time("1d", NOW_MS), Ok(NOW_MS - 86_400_000));
        for bad in ["", "h", "-2h", "2w", "yesterday", "2026-11-28"] {
            assert!(parse_time(bad, NOW_MS).is_err(), "{bad:?}");
        }
    }
}
