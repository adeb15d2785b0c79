//! Event filters: which event types a source queues or a route takes.

use super::error::{Problem, invalid};

/// Event types a source or route wants: exact names, or prefixes ending in `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter(Vec<String>);

impl EventFilter {
    /// `key` is where the list sits in the config, for the refusal.
    pub(super) fn parse(key: &str, names: Vec<String>) -> Result<Self, Problem> {
        if names.is_empty() {
            return Err(invalid(
                key,
                "an empty list would drop every event: omit the key instead",
            ));
        }
        for (i, name) in names.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(invalid(format!("{key}[{i}]"), "empty event name"));
            }
        }
        Ok(Self(names))
    }

    /// The list as the config wrote it: exact types, and prefixes ending in `*`.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Whether an event of this type passes. An event with no type passes no filter: a prefix
    /// cannot match what is not there, and the provider said nothing of what it is.
    pub fn allows(&self, event_type: Option<&str>) -> bool {
        self.0.iter().any(|wanted| match wanted.strip_suffix('*') {
            Some(prefix) => event_type.is_some_and(|t| t.starts_with(prefix)),
            None => event_type == Some(wanted.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(names: &[&str]) -> EventFilter {
        EventFilter::parse("events", names.iter().map(|n| (*n).to_owned()).collect()).unwrap()
    }

    #[test]
    fn exact_names_and_prefixes() {
        let filter = filter(&["push", "contact.*"]);
        assert!(filter.allows(Some("push")));
        assert!(!filter.allows(Some("push.extra")));
        assert!(filter.allows(Some("contact.created")));
        assert!(!filter.allows(Some("deal.created")));
        assert!(!filter.allows(None));
    }

    #[test]
    fn a_bare_star_takes_every_typed_event_but_not_an_untyped_one() {
        let filter = filter(&["*"]);
        assert!(filter.allows(Some("anything")));
        assert!(!filter.allows(None));
    }

    #[test]
    fn empty_lists_and_names_are_refused_by_key() {
        assert_eq!(
            EventFilter::parse("routes[0].events", Vec::new()),
            Err(invalid(
                "routes[0].events",
                "an empty list would drop every event: omit the key instead"
            ))
        );
        let Err(Problem::Invalid { key, .. }) =
            EventFilter::parse("events", vec!["push".into(), " ".into()])
        else {
            panic!("a blank name was accepted")
        };
        assert_eq!(key, "events[1]");
    }
}
