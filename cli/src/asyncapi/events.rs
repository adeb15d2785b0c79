//! The names in the config's `events` filters, of sources and of routes (`EventFilter::names`),
//! read as types and compared by the loader's rule: a name ending in `*` is a prefix, any other
//! is exact.

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
    use inlet_core::config::EventFilter;

    fn names(filter: Option<&EventFilter>) -> Option<&[String]> {
        filter.map(EventFilter::names)
    }

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
        let config = inlet_core::config::Config::parse(text).unwrap();
        assert_eq!(
            names(config.sources["a"].events.as_ref()),
            Some(&["push".to_owned()][..])
        );
        assert_eq!(names(config.sources["b"].events.as_ref()), None);
        assert_eq!(names(config.routes[0].events.as_ref()), None);
        assert_eq!(
            names(config.routes[1].events.as_ref()),
            Some(&["issues".to_owned()][..])
        );
    }
}
