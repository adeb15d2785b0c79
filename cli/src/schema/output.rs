//! Where inferred schemas go, and the config lines that use them: `DIR/<source>/<type>.json`,
//! and a `[sources.<source>.schemas]` table per source to paste into the config.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

/// The file stem of a schema for no event type: the config's `"*"`.
pub(super) const ANY_STEM: &str = "any";
/// File names stay well inside every file system's limit of 255 bytes.
const MAX_STEM_CHARS: usize = 100;

/// A name safe as one path component: letters, digits, `-`, `_` and `.` as they are, anything
/// else (`/` in Shopify's `orders/create`, spaces, `:`) as `_`, never starting with `.` (no
/// hidden files, no `..`), never empty.
pub(super) fn safe_name(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .take(MAX_STEM_CHARS)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.starts_with('.') {
        safe.replace_range(..1, "_");
    }
    if safe.is_empty() {
        safe.push('_');
    }
    safe
}

/// File stems for one source's event types, unique within it: two types that come out the same
/// (`orders/create` and `orders_create`, or a type named `any` beside the untyped) get `_2`, `_3`.
#[derive(Debug, Default)]
pub(super) struct Stems(HashSet<String>);

impl Stems {
    pub(super) fn take(&mut self, event_type: Option<&str>) -> String {
        let base = event_type.map_or_else(|| ANY_STEM.to_owned(), safe_name);
        let mut stem = base.clone();
        let mut n = 2;
        while !self.0.insert(stem.clone()) {
            stem = format!("{base}_{n}");
            n += 1;
        }
        stem
    }
}

/// A TOML key as written: bare when it can be, else a basic string (`"*"`, `"orders/create"`,
/// `"invoice.paid"`).
pub(super) fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

/// A TOML basic string.
pub(super) fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `file` as the config names it: relative to `config_dir` with `/` between parts, when it is
/// beneath it; `None` when it is not (the config refuses such a path).
pub(super) fn config_path(file: &Path, config_dir: &Path) -> Option<String> {
    let relative = file.strip_prefix(config_dir).ok()?;
    let mut parts = Vec::new();
    for part in relative.components() {
        match part {
            Component::Normal(name) => parts.push(name.to_str()?.to_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `path` made absolute against `cwd` and without `.` or `..` parts, so paths from the command
/// line and the config can be compared without touching the file system (the output directory may
/// not exist yet).
pub(super) fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in cwd.join(path).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// One schema to paste into a source's table.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) source: String,
    /// `None` is the config's `"*"`.
    pub(super) event_type: Option<String>,
    /// As the config names it.
    pub(super) path: String,
}

/// The config lines for `entries` (in source order): a `[sources.<name>.schemas]` table per
/// source, a `type = "path"` line per schema.
pub(super) fn toml_tables(entries: &[Entry]) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for entry in entries {
        if current != Some(entry.source.as_str()) {
            if current.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "[sources.{}.schemas]", toml_key(&entry.source));
            current = Some(&entry.source);
        }
        let key = toml_key(entry.event_type.as_deref().unwrap_or("*"));
        let _ = writeln!(out, "{key} = {}", toml_string(&entry.path));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_are_made_safe_for_a_file() {
        assert_eq!(safe_name("push"), "push");
        assert_eq!(safe_name("orders/create"), "orders_create");
        assert_eq!(safe_name("invoice.paid"), "invoice.paid");
        assert_eq!(safe_name("channel.follow v2"), "channel.follow_v2");
        assert_eq!(safe_name(".."), "_.");
        assert_eq!(safe_name("../etc"), "_._etc");
        assert_eq!(safe_name(""), "_");
        assert_eq!(safe_name("ünï"), "_n_");
        assert_eq!(safe_name(&"x".repeat(300)).len(), MAX_STEM_CHARS);
    }

    #[test]
    fn stems_stay_unique_within_a_source() {
        let mut stems = Stems::default();
        assert_eq!(stems.take(Some("orders/create")), "orders_create");
        assert_eq!(stems.take(Some("orders_create")), "orders_create_2");
        assert_eq!(stems.take(None), "any");
        assert_eq!(stems.take(Some("any")), "any_2");
    }

    #[test]
    fn keys_are_quoted_when_toml_needs_it() {
        assert_eq!(toml_key("push"), "push");
        assert_eq!(toml_key("pull_request"), "pull_request");
        assert_eq!(toml_key("*"), "\"*\"");
        assert_eq!(toml_key("orders/create"), "\"orders/create\"");
        assert_eq!(toml_key("invoice.paid"), "\"invoice.paid\"");
        assert_eq!(toml_key("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }

    #[test]
    fn tables_group_by_source() {
        let entry = |source: &str, event_type: Option<&str>, path: &str| Entry {
            source: source.into(),
            event_type: event_type.map(str::to_owned),
            path: path.into(),
        };
        let text = toml_tables(&[
            entry("github", None, "schemas/github/any.json"),
            entry("github", Some("push"), "schemas/github/push.json"),
            entry(
                "shopify",
                Some("orders/create"),
                "schemas/shopify/orders_create.json",
            ),
        ]);
        assert_eq!(
            text,
            "[sources.github.schemas]\n\"*\" = \"schemas/github/any.json\"\n\
             push = \"schemas/github/push.json\"\n\n[sources.shopify.schemas]\n\
             \"orders/create\" = \"schemas/shopify/orders_create.json\"\n"
        );
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            parsed["sources"]["shopify"]["schemas"]["orders/create"].as_str(),
            Some("schemas/shopify/orders_create.json")
        );
    }

    #[test]
    fn paths_are_named_as_the_config_names_them() {
        let cwd = Path::new("/work/project");
        let dir = absolute(cwd, Path::new("./config/.."));
        assert_eq!(dir, Path::new("/work/project"));
        let file = absolute(cwd, Path::new("schemas/github/push.json"));
        assert_eq!(
            config_path(&file, &dir).as_deref(),
            Some("schemas/github/push.json")
        );
        assert_eq!(config_path(&file, Path::new("/elsewhere")), None);
    }
}
