//! How a data scheme lays its signatures out in their header: one, a list of several, `name=value`
//! items with the timestamp among them, or the timestamp first and the signatures after it.

use super::entries::Entries;
use super::{Algorithm, Encoding, SignatureError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One signature, after the scheme's prefix.
    Plain,
    /// Several entries separated by `separator`, each after the prefix (`v1,<b64> v1,<b64>`);
    /// an entry without the prefix is another version's and is set aside.
    List { separator: char },
    /// `name=value` items separated by `separator`: the timestamp under `timestamp`, one or more
    /// signatures under `signature` (`t=…,v1=…,v1=…`). Items of other names are other versions'.
    Stamped {
        separator: char,
        timestamp: &'static str,
        signature: &'static str,
    },
    /// The timestamp first, then the signatures, all separated by `separator` (`ts,sig,sig`).
    Leading { separator: char },
}

/// What a signature header holds: the timestamp as written, where the header carries one, and
/// every usable signature.
pub(crate) struct Parsed<'a> {
    pub timestamp: Option<&'a str>,
    pub signatures: Vec<Vec<u8>>,
}

/// How one scheme reads its header.
pub(crate) struct Reading {
    pub field: &'static str,
    pub prefix: &'static str,
    pub encoding: Encoding,
    pub algorithm: Algorithm,
}

impl Reading {
    fn offer(&self, entries: &mut Entries, text: &str) -> Result<(), SignatureError> {
        let length = (self.algorithm.output_len(), self.algorithm.wrong_length());
        entries.offer(self.encoding, text.trim(), Some(length))
    }
}

impl Layout {
    /// Stripe's `t=<timestamp>,v1=<signature>[,v1=…]`, which many providers copied.
    pub const T_V1: Self = Self::Stamped {
        separator: ',',
        timestamp: "t",
        signature: "v1",
    };

    /// Whether the header itself carries the timestamp.
    pub fn carries_timestamp(self) -> bool {
        matches!(self, Self::Stamped { .. } | Self::Leading { .. })
    }

    pub(crate) fn parse<'a>(
        self,
        how: &Reading,
        text: &'a str,
    ) -> Result<Parsed<'a>, SignatureError> {
        let malformed = |why| SignatureError::Malformed {
            field: how.field,
            why,
        };
        let mut entries = Entries::new(how.field);
        let mut timestamp = None;
        match self {
            Self::Plain => {
                let encoded = text
                    .strip_prefix(how.prefix)
                    .ok_or(malformed("the expected prefix is missing"))?;
                how.offer(&mut entries, encoded)?;
            }
            Self::List { separator } => {
                for item in text
                    .split(separator)
                    .map(str::trim)
                    .filter(|i| !i.is_empty())
                {
                    match item.strip_prefix(how.prefix) {
                        Some(encoded) => how.offer(&mut entries, encoded)?,
                        None => entries.set_aside("no entry has the expected prefix"),
                    }
                }
            }
            Self::Stamped {
                separator,
                timestamp: stamp_name,
                signature,
            } => {
                for item in stamped_items(text, separator) {
                    let Some((name, value)) = item.split_once('=') else {
                        entries.set_aside("expected `name=value` items");
                        continue;
                    };
                    if name == stamp_name {
                        // The same timestamp again (one per group) is no ambiguity; two that
                        // differ leave it open which one was signed, and are refused outright.
                        if timestamp
                            .replace(value)
                            .is_some_and(|before| before != value)
                        {
                            return Err(malformed("more than one timestamp"));
                        }
                    } else if name == signature {
                        how.offer(&mut entries, value)?;
                    }
                }
                if timestamp.is_none() {
                    return Err(malformed("no timestamp item"));
                }
            }
            Self::Leading { separator } => {
                let mut items = text.split(separator).map(str::trim);
                timestamp = items.next().filter(|t| !t.is_empty());
                if timestamp.is_none() {
                    return Err(malformed("no leading timestamp"));
                }
                for item in items.filter(|i| !i.is_empty()) {
                    how.offer(&mut entries, item)?;
                }
            }
        }
        Ok(Parsed {
            timestamp,
            signatures: entries.finish("no signature")?,
        })
    }

    /// The header text for one signature (already encoded, prefix included where it applies).
    pub(crate) fn render(self, timestamp: &str, signature: &str) -> String {
        match self {
            Self::Plain | Self::List { .. } => signature.to_owned(),
            Self::Stamped {
                separator,
                timestamp: stamp_name,
                signature: name,
            } => format!("{stamp_name}={timestamp}{separator}{name}={signature}"),
            Self::Leading { separator } => format!("{timestamp}{separator}{signature}"),
        }
    }

    /// A few words for `inlet providers`.
    pub(crate) fn describe(self, prefix: &str) -> String {
        match self {
            Self::Plain if prefix.is_empty() => String::new(),
            Self::Plain => format!(" after `{prefix}`"),
            Self::List { separator } => {
                format!(
                    " as `{prefix}…` entries separated by {separator:?} (several while rolling)"
                )
            }
            Self::Stamped {
                separator,
                timestamp,
                signature,
            } => format!(
                " as `{timestamp}=…{separator}{signature}=…` (several `{signature}` while rolling)"
            ),
            Self::Leading { separator } => {
                format!(" as `timestamp{separator}signature` (several signatures while rolling)")
            }
        }
    }
}

/// The `name=value` items of a stamped header. While rolling a secret some providers (Persona)
/// send a whole `t=…,v1=…` group per secret, separated by a space: an item that is several
/// `name=value` words is those words. Any other whitespace stays inside its item (`t=0 E` is a
/// malformed timestamp, not the timestamp `0`).
fn stamped_items(text: &str, separator: char) -> impl Iterator<Item = &str> {
    text.split(separator).flat_map(|item| {
        let item = item.trim();
        let words = || item.split_ascii_whitespace();
        let several = words().nth(1).is_some() && words().all(|word| word.contains('='));
        let (whole, split) = if several {
            (None, Some(words()))
        } else {
            (Some(item), None)
        };
        whole
            .into_iter()
            .chain(split.into_iter().flatten())
            .filter(|i| !i.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_per_secret_parts_on_whitespace_and_nothing_else_does() {
        let items: Vec<&str> = stamped_items("t=1,v1=aa t=1,v1=bb", ',').collect();
        assert_eq!(items, ["t=1", "v1=aa", "t=1", "v1=bb"]);
        let items: Vec<&str> = stamped_items("t=0 E, v1=aa", ',').collect();
        assert_eq!(items, ["t=0 E", "v1=aa"]);
    }
}
