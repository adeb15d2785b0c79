//! Which messages a source's channel carries: one per event type the config names for it (its
//! `events` filter, its `schemas`, and the `events` of the routes from it), and one for any other
//! type when the source takes every type. Each gets a key that is safe in a JSON pointer and in
//! an AsyncAPI component name.

use super::events::{Types, takes};
use inlet_core::config::{ANY_TYPE, Config, EventFilter, Source};
use std::collections::{BTreeSet, HashSet};

/// One message of a channel.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The message's key in the channel's `messages`: letters, digits, `.`, `-` and `_`.
    pub key: String,
    pub types: Types,
    /// Whether the source's `events` filter lets these events in; a type named only by a schema
    /// may be one it answers `200 ignored` to.
    pub accepted: bool,
}

/// The messages of `source`'s channel: the named types sorted, then the one for any other type.
pub(super) fn for_source(source: &Source, config: &Config) -> Vec<Entry> {
    let filter = source.events.as_ref().map(EventFilter::names);
    let mut named: BTreeSet<Types> = BTreeSet::new();
    for entry in filter.into_iter().flatten() {
        named.insert(Types::of_entry(entry));
    }
    for event_type in source.schemas.by_type.keys() {
        if event_type != ANY_TYPE {
            named.insert(Types::Exact(event_type.clone()));
        }
    }
    for route in &config.routes {
        if route.source != source.name {
            continue;
        }
        for entry in route
            .events
            .as_ref()
            .map(EventFilter::names)
            .into_iter()
            .flatten()
        {
            let types = Types::of_entry(entry);
            // A route's type the source never lets in is no message of this channel.
            if takes(filter, &types) {
                named.insert(types);
            }
        }
    }
    named.remove(&Types::Any);
    let any = takes(filter, &Types::Any);
    let mut keys = Keys::default();
    let mut entries: Vec<Entry> = named
        .into_iter()
        .map(|types| Entry {
            key: keys.take(&types.entry()),
            accepted: takes(filter, &types),
            types,
        })
        .collect();
    if any {
        entries.push(Entry {
            key: keys.take("any"),
            types: Types::Any,
            accepted: true,
        });
    }
    entries
}

/// The channel's messages a route with `filter` takes.
pub(super) fn taken_by<'e>(entries: &'e [Entry], filter: Option<&[String]>) -> Vec<&'e Entry> {
    entries
        .iter()
        .filter(|entry| entry.accepted && takes(filter, &entry.types))
        .collect()
}

/// Keys handed out so far, so that two types that look alike once made safe stay apart.
#[derive(Debug, Default)]
struct Keys(HashSet<String>);

impl Keys {
    /// `name` with every character outside letters, digits, `.`, `-` and `_` made `_`, and a
    /// number added when that key is taken.
    fn take(&mut self, name: &str) -> String {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut key = safe.clone();
        let mut n = 2;
        while !self.0.insert(key.clone()) {
            key = format!("{safe}_{n}");
            n += 1;
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_safe_and_distinct() {
        let mut keys = Keys::default();
        assert_eq!(keys.take("orders/create"), "orders_create");
        assert_eq!(keys.take("orders_create"), "orders_create_2");
        assert_eq!(keys.take("contact.*"), "contact._");
        assert_eq!(keys.take("push"), "push");
    }

    fn config(text: &str) -> Config {
        Config::parse(text).unwrap()
    }

    #[test]
    fn a_filtered_source_has_its_types_and_no_message_for_any_other() {
        let config = config(
            "[sources.s]\nscheme = \"stripe\"\nsecrets = [\"env:S\"]\n\
             events = [\"charge.succeeded\", \"invoice.*\"]\n\
             [[routes]]\nsource = \"s\"\nevents = [\"invoice.paid\", \"customer.created\"]\n\
             action = { type = \"log\" }\n",
        );
        let entries = for_source(&config.sources["s"], &config);
        let shown: Vec<(String, String)> = entries
            .iter()
            .map(|e| (e.key.clone(), e.types.entry()))
            .collect();
        assert_eq!(
            shown,
            [
                ("charge.succeeded".to_owned(), "charge.succeeded".to_owned()),
                ("invoice.paid".to_owned(), "invoice.paid".to_owned()),
                ("invoice._".to_owned(), "invoice.*".to_owned()),
            ]
        );
        let route = taken_by(
            &entries,
            config.routes[0].events.as_ref().map(EventFilter::names),
        );
        assert_eq!(route.len(), 1);
        assert_eq!(route[0].key, "invoice.paid");
    }

    #[test]
    fn an_open_source_has_a_message_for_any_type() {
        let config = config("[sources.s]\nscheme = \"github\"\nsecrets = [\"env:S\"]\n");
        let entries = for_source(&config.sources["s"], &config);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].types, Types::Any);
        assert_eq!(entries[0].key, "any");
    }
}
