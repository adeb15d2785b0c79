//! The provider catalogue: every named provider, described once.
//!
//! A provider is a [`Provider`] value: a file under `src/providers/` that exports
//! `pub static PROVIDER`, or a row under `src/presets/` where it is data (an HMAC, a token, or
//! another provider's code under its own name). The build script finds the files, so adding one
//! touches nothing else. Config names and aliases, the header facts, `inlet providers` and the
//! test suites all read this catalogue.

pub use crate::provider::{
    Code, Facts, How, Provider, Secrets, SignBody, Summary, UnsignedHandshake, text_key,
    text_secrets,
};
use std::sync::OnceLock;

/// Every named provider, sorted by name.
pub fn all() -> &'static [&'static Provider] {
    static ALL: OnceLock<Vec<&'static Provider>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static Provider> = super::providers::FILES
            .iter()
            .copied()
            .chain(super::presets::rows())
            .collect();
        all.sort_by_key(|p| p.name);
        all
    })
}

/// The provider a config name or alias means.
pub fn find(name: &str) -> Option<&'static Provider> {
    all()
        .iter()
        .copied()
        .find(|p| p.name == name || p.aliases.contains(&name))
}

/// Every name `scheme = "…"` accepts for a provider: names and aliases.
pub fn names() -> impl Iterator<Item = &'static str> {
    all()
        .iter()
        .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()))
}

/// The README's provider table, one row per provider: the README holds exactly this between its
/// `providers` markers (a test checks it), and `inlet providers --markdown` prints it.
pub fn markdown_table() -> String {
    let mut table = String::from(
        "| scheme | provider | signature header | what is signed | secret | handshake | vectors |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for provider in all() {
        let summary = provider.summary();
        let mut name = format!("`{}`", summary.name);
        for alias in summary.aliases {
            name.push_str(&format!(" (`{alias}`)"));
        }
        let cell = |text: &str| text.replace('|', "\\|");
        table.push_str(&format!(
            "| {name} | [{}]({}) | {} | {} | {} | {} | {} |\n",
            cell(summary.title),
            summary.docs,
            summary
                .signature_header
                .map_or_else(|| "(in the body)".to_owned(), |h| format!("`{h}`")),
            cell(&summary.signed),
            cell(summary.key_format),
            cell(summary.handshake.unwrap_or("—")),
            if summary.official_vectors {
                "official"
            } else {
                "computed"
            },
        ));
    }
    table.push_str("\nNot supported, and why:\n\n| name | provider | why |\n|---|---|---|\n");
    for entry in crate::unsupported::UNSUPPORTED {
        table.push_str(&format!(
            "| `{}` | [{}]({}) | {} |\n",
            entry.name, entry.title, entry.docs, entry.why
        ));
    }
    table
}
