//! The names in the config's `events` filters, of sources and of routes. The validated config
//! keeps a filter's names private (it only answers whether a type passes), so they are read from
//! the config's text, after the loader has accepted it; and matched here by the same rule: a
//! name ending in `*` is a prefix, any other is exact.

use crate::error::CliError;
use inlet_core::config::Config;
use std::collections::BTreeMap;

/// Every `events` list of the config, as written.
#[derive(Debug, Default)]
pub(super) struct EventNames {
    /// By source name; a source without `events` is absent.
    sources: BTreeMap<String, Vec<String>>,
    /// In the config's order, one per route: `None` for a route without `events`.
    routes: Vec<Option<Vec<String>>>,
}

impl EventNames {
    /// The lists in `text`, the TOML `config` was loaded from.
    pub(super) fn read(text: &str, config: &Config) -> Result<Self, CliError> {
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| CliError::Failed(format!("reading the config's `events` lists: {e}")))?;
        let mut names = Self::default();
        if let Some(sources) = table.get("sources").and_then(toml::Value::as_table) {
            for (name, source) in sources {
                if let Some(list) = source.get("events").and_then(strings) {
                    names.sources.insert(name.clone(), list);
                }
            }
        }
        if let Some(routes) = table.get("routes").and_then(toml::Value::as_array) {
            names.routes = routes
                .iter()
                .map(|route| route.get("events").and_then(strings))
                .collect();
        }
        // The text is what the loader read: any other shape means it changed in between.
        if names.routes.len() != config.routes.len() {
            return Err(CliError::Failed(
                "the config changed while it was read: run the command again".to_owned(),
            ));
        }
        Ok(names)
    }

    /// The source's `events`, if it has them.
    pub(super) fn source(&self, name: &str) -> Option<&[String]> {
        self.sources.get(name).map(Vec::as_slice)
    }

    /// The `index`th route's `events`, if it has them.
    pub(super) fn route(&self, index: usize) -> Option<&[String]> {
        self.routes.get(index).and_then(|r| r.as_deref())
    }
}

/// A TOML array of strings.
fn strings(value: &toml::Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// What one event filter entry, or one message of a channel, stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Types {
    /// One event type.
    Exact(String),
    /// Every type starting with this (the entry without its `*`; never empty).
    Prefix(String),
    /// Every type: a bare `*`, or a source without a filter.
    Any,
}

impl Types {
    /// An entry of an `events` list.
    pub(super) fn of_entry(entry: &str) -> Self {
        match entry.strip_suffix('*') {
            Some("") => Self::Any,
            Some(prefix) => Self::Prefix(prefix.to_owned()),
            None => Self::Exact(entry.to_owned()),
        }
    }

    /// As an `events` list writes it.
    pub(super) fn entry(&self) -> String {
        match self {
            Self::Exact(name) => name.clone(),
            Self::Prefix(prefix) => format!("{prefix}*"),
            Self::Any => "*".to_owned(),
        }
    }

    /// Whether every type this stands for is also one of `other`'s.
    fn within(&self, other: &Self) -> bool {
        match (self, other) {
            (_, Self::Any) => true,
            (Self::Exact(name), Self::Exact(wanted)) => name == wanted,
            (Self::Exact(name) | Self::Prefix(name), Self::Prefix(wanted)) => {
                name.starts_with(wanted.as_str())
            }
            _ => false,
        }
    }
}

/// Whether a filter (`None`: no filter) takes every type `types` stands for.
pub(super) fn takes(filter: Option<&[String]>, types: &Types) -> bool {
    filter.is_none_or(|entries| {
        entries
            .iter()
            .any(|entry| types.within(&Types::of_entry(entry)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_filter_takes_what_its_entries_cover() {
        let filter = list(&["push", "invoice.*"]);
        let filter = Some(filter.as_slice());
        assert!(takes(filter, &Types::Exact("push".into())));
        assert!(takes(filter, &Types::Exact("invoice.paid".into())));
        assert!(takes(filter, &Types::Prefix("invoice.payment_".into())));
        assert!(!takes(filter, &Types::Prefix("inv".into())));
        assert!(!takes(filter, &Types::Exact("issues".into())));
        assert!(!takes(filter, &Types::Any));
        assert!(takes(None, &Types::Any));
        let star = list(&["*"]);
        assert!(takes(Some(star.as_slice()), &Types::Any));
    }

    #[test]
    fn entries_round_trip() {
        for entry in ["push", "contact.*", "*"] {
            assert_eq!(Types::of_entry(entry).entry(), entry);
        }
    }

    #[test]
    fn the_lists_are_read_for_sources_and_routes_in_order() {
        let text = "[sources.a]\nscheme = \"github\"\nsecrets = [\"env:A\"]\nevents = [\"push\"]\n\
                    [sources.b]\nscheme = \"github\"\nsecrets = [\"env:A\"]\n\
                    [[routes]]\nname = \"one\"\nsource = \"a\"\naction = { type = \"log\" }\n\
                    [[routes]]\nname = \"two\"\nsource = \"b\"\nevents = [\"issues\"]\n\
                    action = { type = \"log\" }\n";
        let config = Config::parse(text).unwrap();
        let names = EventNames::read(text, &config).unwrap();
        assert_eq!(names.source("a"), Some(&["push".to_owned()][..]));
        assert_eq!(names.source("b"), None);
        assert_eq!(names.route(0), None);
        assert_eq!(names.route(1), Some(&["issues".to_owned()][..]));
    }
}
