//! For the tests of each part of validation: parsing without an origin, refusals by key, and
//! configs with routes.

use super::Config;
use super::error::Problem;
use super::raw::RawConfig;

/// Parses and validates `text` without an origin, for the tests of each part of validation.
pub(super) fn validated(text: &str) -> Result<Config, Problem> {
    let config = toml::from_str::<RawConfig>(text)
        .map_err(|e| Problem::Syntax(e.to_string()))?
        .validate()?;
    super::transforms::compile_all(&config)?;
    Ok(config)
}

/// Asserts that `text` is refused, naming `key`: exactly, for a refused value; within the
/// parser's message, for an unknown key.
pub(super) fn assert_refused(text: &str, key: &str) {
    match validated(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(Problem::Invalid { key: named, why }) => {
            assert_eq!(named, key, "{why}\nfor:\n{text}");
        }
        Err(Problem::Syntax(message)) => {
            assert!(
                message.contains(&format!("`{key}`")),
                "`{key}` not named in: {message}\nfor:\n{text}"
            );
        }
        Err(other) => panic!("{other} for:\n{text}"),
    }
}

pub(super) const GITHUB: &str = "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n";
pub(super) const STRIPE: &str = "[sources.stripe]\nscheme = \"stripe\"\nsecrets = [\"env:ST\"]\n";
pub(super) const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/agents";

/// A config with the two sources and `routes`, each a `[[routes]]` body.
pub(super) fn config(routes: &[&str]) -> String {
    let mut text = format!("{GITHUB}{STRIPE}");
    for route in routes {
        text.push_str("[[routes]]\n");
        text.push_str(route);
        text.push('\n');
    }
    text
}
