//! How a signed timestamp is written: epoch seconds, epoch milliseconds, or an ISO 8601 date-time.
//! The text is signed as written, so it is read for the window and kept as sent.

use super::clock;
use super::delivery::Window;
use super::error::SignatureError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    Seconds,
    Millis,
    /// RFC 3339 / ISO 8601 (`2025-11-22T13:00:00Z`), as Box and Orb send it.
    Iso8601,
}

impl TimeFormat {
    /// The config names: `seconds`, `milliseconds`, `iso8601`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "seconds" => Some(Self::Seconds),
            "milliseconds" => Some(Self::Millis),
            "iso8601" => Some(Self::Iso8601),
            _ => None,
        }
    }

    /// The instant `text` names, in epoch seconds.
    pub(crate) fn read(self, field: &'static str, text: &str) -> Result<i64, SignatureError> {
        match self {
            Self::Seconds => epoch_secs(field, text),
            Self::Millis => Ok(epoch_millis(field, text)?.div_euclid(1000)),
            // A date-time without a zone is UTC, as the providers that send one (Orb) mean it
            // and their SDKs read it.
            Self::Iso8601 => clock::parse_rfc3339(text)
                .or_else(|| {
                    let zoneless = text.len() >= 19
                        && !text[10..].contains(['Z', 'z', '+'])
                        && !text[19..].contains('-');
                    zoneless
                        .then(|| clock::parse_rfc3339(&format!("{text}Z")))
                        .flatten()
                })
                .ok_or(SignatureError::Malformed {
                    field,
                    why: "not an ISO 8601 date-time",
                }),
        }
    }

    /// `now` written this way, for signing.
    pub(crate) fn write(self, now: i64) -> String {
        match self {
            Self::Seconds => now.to_string(),
            Self::Millis => now.saturating_mul(1000).to_string(),
            Self::Iso8601 => clock::format_rfc3339_secs(now),
        }
    }

    /// A few words for `inlet providers`; seconds go unsaid.
    pub(crate) fn note(self) -> &'static str {
        match self {
            Self::Seconds => "",
            Self::Millis => " (timestamp in ms)",
            Self::Iso8601 => " (timestamp in ISO 8601)",
        }
    }
}

/// Parses an epoch-seconds timestamp field.
pub(crate) fn epoch_secs(field: &'static str, text: &str) -> Result<i64, SignatureError> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed {
            field,
            why: "not a number of seconds",
        });
    }
    text.parse().map_err(|_| SignatureError::Malformed {
        field,
        why: "not a number of seconds",
    })
}

/// Parses an epoch-milliseconds timestamp field.
pub(crate) fn epoch_millis(field: &'static str, text: &str) -> Result<i64, SignatureError> {
    if text.is_empty() || text.len() > 15 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed {
            field,
            why: "not a number of milliseconds",
        });
    }
    text.parse().map_err(|_| SignatureError::Malformed {
        field,
        why: "not a number of milliseconds",
    })
}

/// Rejects a timestamp outside the replay window.
pub(crate) fn check_window(timestamp: i64, window: Window) -> Result<(), SignatureError> {
    let tolerance = i64::try_from(window.tolerance_secs).unwrap_or(i64::MAX);
    let age = window.now.saturating_sub(timestamp);
    if age > tolerance {
        return Err(SignatureError::Stale {
            age_secs: age,
            tolerance_secs: window.tolerance_secs,
        });
    }
    // Not `-age`: a saturated age of i64::MIN has no negation (a panic in debug builds, and in
    // release it wraps to i64::MIN and lets the timestamp through).
    let ahead = timestamp.saturating_sub(window.now);
    if ahead > tolerance {
        return Err(SignatureError::Future {
            ahead_secs: ahead,
            tolerance_secs: window.tolerance_secs,
        });
    }
    Ok(())
}
