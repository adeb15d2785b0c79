//! The repository keeps itself: the README's custom-handler code is the example `make test`
//! compiles, the design is referenced where it lives (docs/architecture.md), nothing reads from
//! beside the repository, and every `make` variable the README shows is one `make help` lists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_testkit::repo_root;
use std::path::{Path, PathBuf};

/// The repository's own text files, skipping build output, venvs and VCS data.
fn text_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !(name.starts_with('.') || name == "target") {
                text_files(&path, found);
            }
        } else if [".rs", ".md", ".toml", ".yaml", ".py", ".sh"]
            .iter()
            .any(|ext| name.ends_with(ext))
            || name == "Makefile"
            || name == "run"
        {
            found.push(path);
        }
    }
}

fn all_text() -> Vec<(PathBuf, String)> {
    let root = repo_root();
    let mut files = Vec::new();
    text_files(&root, &mut files);
    let ci = root.join(".ci/run");
    if ci.exists() {
        files.push(ci);
    }
    assert!(files.len() > 50, "only {} files found", files.len());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            (path.strip_prefix(&root).unwrap().to_path_buf(), text)
        })
        .collect()
}

#[test]
fn the_readme_shows_the_custom_handler_example_as_compiled() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example =
        std::fs::read_to_string(root.join("shared/aws/examples/custom_handler.rs")).unwrap();
    let section = readme
        .split("### Your own code as a route")
        .nth(1)
        .expect("the README's custom-handler section");
    let code = section
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a rust block in the custom-handler section");
    assert_eq!(
        code.trim_end(),
        example.trim_end(),
        "README.md's custom handler differs from shared/aws/examples/custom_handler.rs: copy the \
         example into the README"
    );
    assert!(example.contains("wiring::run_process"));
}

#[test]
fn the_design_is_referenced_where_it_lives() {
    let this_file = Path::new("tests/tests/stack/docs.rs");
    let stale: Vec<String> = all_text()
        .into_iter()
        .filter(|(path, _)| path != this_file)
        .filter(|(_, text)| text.contains(concat!("DESIGN", " §")))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "these still cite the old design's sections; point them at docs/architecture.md: {stale:?}"
    );
    let architecture = std::fs::read_to_string(repo_root().join("docs/architecture.md")).unwrap();
    for heading in [
        "## Flow",
        "## Crates and layers",
        "## Configuration",
        "## Signature schemes",
        "## Envelope",
        "## Idempotency record",
        "## Dead letters",
        "## Local stack",
        "## Deploy",
        "## Tests",
    ] {
        assert!(
            architecture.contains(heading),
            "docs/architecture.md lacks {heading}"
        );
    }
}

#[test]
fn nothing_reads_from_beside_the_repository() {
    let this_file = Path::new("tests/tests/stack/docs.rs");
    // The reference folder beside the checkout is not part of it: a fresh clone has nothing there.
    let outside = [concat!("../", "shared/"), concat!("../../", "shared")];
    let readers: Vec<String> = all_text()
        .into_iter()
        .filter(|(path, _)| path != this_file)
        .filter(|(_, text)| outside.iter().any(|needle| text.contains(needle)))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        readers.is_empty(),
        "these refer to files beside the repository: {readers:?}"
    );
}

#[test]
fn the_readme_provider_table_is_the_registry() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = "<!-- providers:start -->\n";
    let table = readme
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once("<!-- providers:end -->"))
        .map(|(table, _)| table)
        .expect("the README's providers markers");
    assert_eq!(
        table,
        inlet_signature::registry::markdown_table(),
        "README.md's provider table differs from the registry: paste `inlet providers --markdown` \
         between its markers"
    );
}

/// The variables the README tells people to give `make` (`make dev LISTEN=…`), in the order found.
fn readme_make_variables(readme: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let words: Vec<&str> = readme
        .split(|c: char| c.is_whitespace() || c == '`' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    for (at, word) in words.iter().enumerate() {
        if *word != "make" {
            continue;
        }
        // `make TARGET NAME=value …`: the assignments after the target.
        for word in words.iter().skip(at + 2) {
            let Some((name, _)) = word.split_once('=') else {
                break;
            };
            let is_variable = name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !is_variable {
                break;
            }
            if !found.iter().any(|f| f == name) {
                found.push(name.to_owned());
            }
        }
    }
    found
}

#[test]
fn the_make_variables_the_readme_names_are_in_make_help() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    let named = readme_make_variables(&readme);
    for expected in ["CONFIG", "LISTEN", "INSPECT", "EMULATOR_PORT"] {
        assert!(
            named.iter().any(|n| n == expected),
            "the README no longer shows `make dev {expected}=…`; found {named:?}"
        );
    }
    let help = std::process::Command::new("make")
        .args(["--no-print-directory", "-s", "help"])
        .current_dir(&root)
        .output()
        .expect("make runs");
    assert!(help.status.success(), "make help: {help:?}");
    let help = String::from_utf8(help.stdout).unwrap();
    for name in &named {
        assert!(
            help.contains(&format!("{name}=")),
            "the README tells `make` {name}=…, but `make help` does not list it:\n{help}"
        );
        // Read by the Makefile itself, so that `make TARGET NAME=…` is what passes it on.
        assert!(
            makefile.contains(&format!("\n{name} ?=")),
            "the README tells `make` {name}=…, but the Makefile sets no default for it"
        );
    }
}
