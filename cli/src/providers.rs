//! `inlet providers`: the catalogue of named providers, as the signature crate's registry
//! describes them.

use crate::Report;
use crate::error::CliError;
use clap::Args;
use inlet_signature::registry;
use inlet_signature::unsupported::{UNSUPPORTED, Unsupported};
use std::fmt::Write as _;

#[derive(Debug, Args)]
pub struct ProvidersArgs {
    /// Only the providers whose name, an alias or title contains this, in any case
    /// (`inlet providers stripe`, `inlet providers "standard webhooks"`).
    #[arg(value_name = "SEARCH", conflicts_with = "markdown")]
    pub search: Option<String>,
    /// Print the catalogue as JSON: one object per provider.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the README's provider table.
    #[arg(long)]
    pub markdown: bool,
}

pub fn run(args: &ProvidersArgs) -> Result<Report, CliError> {
    if args.markdown {
        return Ok(Report::ok(registry::markdown_table()));
    }
    let summaries: Vec<registry::Summary> = registry::all()
        .iter()
        .map(|p| p.summary())
        .filter(|s| {
            args.search
                .as_deref()
                .is_none_or(|search| matches(s, search))
        })
        .collect();
    let unsupported: Vec<&Unsupported> = UNSUPPORTED
        .iter()
        .filter(|u| {
            args.search
                .as_deref()
                .is_none_or(|search| contains(&[u.name, u.title], search))
        })
        .collect();
    if let Some(search) = &args.search
        && summaries.is_empty()
    {
        // Exit 1, so a script asking "does Inlet take this provider?" can tell.
        let mut stdout = String::new();
        for entry in &unsupported {
            let _ = writeln!(
                stdout,
                "{}: {} is not supported: {}\n  docs:      {}",
                entry.name, entry.title, entry.why, entry.docs
            );
        }
        if unsupported.is_empty() {
            let _ = writeln!(
                stdout,
                "no provider's name, alias or title contains `{search}`; `inlet providers` lists \
                 them all, and `hmac` or `token` take one Inlet does not name"
            );
        }
        return Ok(Report { stdout, code: 1 });
    }
    if args.json {
        let mut text = serde_json::to_string_pretty(&summaries)
            .map_err(|e| CliError::Usage(format!("the catalogue as JSON: {e}")))?;
        text.push('\n');
        return Ok(Report::ok(text));
    }
    let mut text = String::new();
    for s in &summaries {
        let aliases = if s.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also {})", s.aliases.join(", "))
        };
        let _ = writeln!(text, "{}{aliases}: {}", s.name, s.title);
        let _ = writeln!(
            text,
            "  signature: {}",
            s.signature_header.unwrap_or("(in the body)")
        );
        let _ = writeln!(text, "  signed:    {}", s.signed);
        let _ = writeln!(text, "  secret:    {}", s.key_format);
        if let Some(handshake) = s.handshake {
            let _ = writeln!(text, "  handshake: {handshake}");
        }
        let vectors = if s.official_vectors {
            "official (published by the provider or its SDK)"
        } else {
            "computed here from the documented rules"
        };
        let _ = writeln!(text, "  vectors:   {vectors}");
        let _ = writeln!(text, "  docs:      {}", s.docs);
    }
    if args.search.is_some() {
        let _ = writeln!(
            text,
            "{} of {} providers match.",
            summaries.len(),
            registry::all().len()
        );
    } else {
        let _ = writeln!(
            text,
            "{} providers; besides them, `hmac`, `token` and `none` are configured in full.",
            summaries.len()
        );
        let _ = writeln!(text, "Not supported, and why:");
        for entry in &unsupported {
            let _ = writeln!(text, "  {} ({}): {}", entry.name, entry.title, entry.why);
        }
    }
    Ok(Report::ok(text))
}

/// Whether `search` is in the provider's name, an alias or its title, ignoring case.
fn matches(summary: &registry::Summary, search: &str) -> bool {
    let fields: Vec<&str> = std::iter::once(summary.name)
        .chain(summary.aliases.iter().copied())
        .chain(std::iter::once(summary.title))
        .collect();
    contains(&fields, search)
}

/// Whether any of `fields` contains `search`, ignoring case.
fn contains(fields: &[&str], search: &str) -> bool {
    let search = search.trim().to_lowercase();
    fields
        .iter()
        .any(|field| field.to_lowercase().contains(&search))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(text: &str, json: bool) -> Report {
        run(&ProvidersArgs {
            search: Some(text.to_owned()),
            json,
            markdown: false,
        })
        .unwrap()
    }

    #[test]
    fn a_search_finds_a_provider_by_name_alias_or_title_in_any_case() {
        let by_name = search("STRIPE", false);
        assert_eq!(by_name.code, 0);
        assert!(by_name.stdout.starts_with("stripe"), "{}", by_name.stdout);
        assert!(by_name.stdout.contains("1 of "), "{}", by_name.stdout);
        // Every provider with an alias is found by it, and by its title.
        for provider in registry::all() {
            let summary = provider.summary();
            for needle in summary.aliases.iter().chain([&summary.title]) {
                let found: Vec<serde_json::Value> =
                    serde_json::from_str(&search(needle, true).stdout).unwrap();
                assert!(
                    found.iter().any(|p| p["name"] == summary.name),
                    "{needle} does not find {}",
                    summary.name
                );
            }
        }
    }

    #[test]
    fn a_search_that_finds_nothing_says_so_and_exits_1() {
        let none = search("no-such-provider", false);
        assert_eq!(none.code, 1);
        assert!(
            none.stdout.contains("`no-such-provider`"),
            "{}",
            none.stdout
        );
    }

    #[test]
    fn a_search_for_a_provider_inlet_does_not_take_says_why_and_exits_1() {
        let sns = search("SNS", false);
        assert_eq!(sns.code, 1);
        assert!(
            sns.stdout.contains("aws-sns: Amazon SNS") && sns.stdout.contains("SigningCertURL"),
            "{}",
            sns.stdout
        );
    }

    #[test]
    fn without_a_search_every_provider_is_listed() {
        let all = run(&ProvidersArgs {
            search: None,
            json: true,
            markdown: false,
        })
        .unwrap();
        let listed: Vec<serde_json::Value> = serde_json::from_str(&all.stdout).unwrap();
        assert_eq!(listed.len(), registry::all().len());
    }
}
