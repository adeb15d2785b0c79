//! Validation of a route's `when`: each condition's subject (a JSON pointer into the body, or a
//! header its source keeps) and its one test.

use super::error::{Problem, invalid};
use super::raw::RawCondition;
use super::route::{Condition, Subject, Test};
use http::HeaderName;
use inlet_signature::Scheme;

impl RawCondition {
    /// `key` is `routes[i].when[j]`; `scheme` is the route's source's, when it is known.
    pub(super) fn validate(self, key: &str, scheme: Option<&Scheme>) -> Result<Condition, Problem> {
        let subject = match (self.pointer, self.header) {
            (None, None) => {
                return Err(invalid(
                    key,
                    "a condition needs a subject: `pointer` (into the JSON body) or `header`",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(invalid(
                    key,
                    "a condition has one subject: `pointer` or `header`, not both",
                ));
            }
            (Some(pointer), None) => {
                let key = format!("{key}.pointer");
                let Some(pointer) = pointer.as_str() else {
                    return Err(invalid(
                        key,
                        "must be a string: a JSON pointer such as \"/action\"",
                    ));
                };
                check_pointer(&key, pointer)?;
                Subject::Pointer(pointer.to_owned())
            }
            (None, Some(header)) => {
                Subject::Header(check_header(&format!("{key}.header"), &header, scheme)?)
            }
        };
        let tests: Vec<(&str, toml::Value)> = [
            ("in", self.any_of),
            ("equals", self.equals),
            ("exists", self.exists),
            ("prefix", self.prefix),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect();
        let (operator, value) = match <[_; 1]>::try_from(tests) {
            Ok([test]) => test,
            Err(tests) if tests.is_empty() => {
                return Err(invalid(
                    key,
                    "a condition needs a test: `in`, `equals`, `exists` or `prefix`",
                ));
            }
            Err(tests) => {
                let names: Vec<String> =
                    tests.iter().map(|(name, _)| format!("`{name}`")).collect();
                return Err(invalid(
                    key,
                    format!("a condition has one test, not {}", names.join(" and ")),
                ));
            }
        };
        let header = matches!(subject, Subject::Header(_));
        let key = format!("{key}.{operator}");
        let scalars = if header {
            "strings (a header is text)"
        } else {
            "strings, numbers or booleans"
        };
        let test = match operator {
            "in" => {
                let values = match value {
                    toml::Value::Array(values) if !values.is_empty() => values,
                    _ => {
                        return Err(invalid(
                            key,
                            format!("must be a non-empty list of {scalars}"),
                        ));
                    }
                };
                let values = values
                    .into_iter()
                    .map(|value| scalar(value, header))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        invalid(&key, format!("must be a non-empty list of {scalars}"))
                    })?;
                Test::In(values)
            }
            "equals" => Test::Equals(scalar(value, header).ok_or_else(|| {
                let one = if header {
                    "a string (a header is text)"
                } else {
                    "a string, a number or a boolean"
                };
                invalid(&key, format!("must be {one}"))
            })?),
            "exists" => match value {
                toml::Value::Boolean(exists) => Test::Exists(exists),
                _ => return Err(invalid(key, "must be `true` or `false`")),
            },
            _ => match value {
                toml::Value::String(prefix) => Test::Prefix(prefix),
                _ => return Err(invalid(key, "must be a string")),
            },
        };
        Ok(Condition { subject, test })
    }
}

/// A TOML scalar as the JSON value it is compared with; `None` for any other type (a header
/// takes only strings), and for a float that is not finite.
fn scalar(value: toml::Value, header: bool) -> Option<serde_json::Value> {
    match value {
        toml::Value::String(text) => Some(serde_json::Value::String(text)),
        _ if header => None,
        toml::Value::Integer(i) => Some(i.into()),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map(serde_json::Value::Number),
        toml::Value::Boolean(b) => Some(b.into()),
        _ => None,
    }
}

/// RFC 6901: empty (the whole body), or `/`-separated tokens where `~` is only `~0` or `~1`.
pub(super) fn check_pointer(key: &str, pointer: &str) -> Result<(), Problem> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(invalid(
            key,
            "a JSON pointer is empty or starts with `/`, as in \"/pull_request/user/login\"",
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(invalid(
                key,
                "in a JSON pointer `~` is written `~0` and `/` inside a key `~1`",
            ));
        }
    }
    Ok(())
}

/// A header condition's name, lower-cased: one the envelope keeps for the route's source
/// (`content-type` and its scheme's informative headers), or it could never match.
fn check_header(
    key: &str,
    header: &toml::Value,
    scheme: Option<&Scheme>,
) -> Result<String, Problem> {
    let Some(name) = header.as_str() else {
        return Err(invalid(key, "must be a string: a header name"));
    };
    let name = HeaderName::try_from(name.to_ascii_lowercase())
        .map_err(|_| invalid(key, "not a valid header name"))?;
    if let Some(scheme) = scheme {
        let kept: Vec<&str> = std::iter::once("content-type")
            .chain(scheme.informative_headers().iter().copied())
            .collect();
        if !kept.contains(&name.as_str()) {
            let list: Vec<String> = kept.iter().map(|h| format!("`{h}`")).collect();
            return Err(invalid(
                key,
                format!(
                    "`{name}` is not kept for this route's source, so it never matches: a \
                     delivery keeps only {} (the {} scheme's informative headers, never one \
                     that authenticates)",
                    list.join(", "),
                    scheme.name()
                ),
            ));
        }
    }
    Ok(name.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use crate::config::error::Problem;
    use crate::config::test_support::{assert_refused, config, validated};
    use inlet_signature::Scheme;

    #[test]
    fn headers_a_source_keeps_are_accepted() {
        for header in [
            "content-type",
            "Content-Type",
            "x-github-delivery",
            "x-github-hook-id",
        ] {
            let text = config(&[&format!(
                "source = \"github\"\nwhen = [{{ header = \"{header}\", exists = true }}]\naction = {{ type = \"log\" }}"
            )]);
            if let Err(e) = validated(&text) {
                // Only what the GitHub preset keeps.
                let github = Scheme::named("github").unwrap();
                assert!(
                    !github
                        .informative_headers()
                        .contains(&header.to_ascii_lowercase().as_str())
                        && header != "content-type"
                        && header != "Content-Type",
                    "{header}: {e}"
                );
            }
        }
    }

    #[test]
    fn every_refusal_in_a_when_names_the_offending_key() {
        let route = |lines: &str| config(&[&format!("source = \"github\"\n{lines}")]);
        let logged = |lines: &str| route(&format!("{lines}\naction = {{ type = \"log\" }}"));
        let when = |condition: &str| logged(&format!("when = [{{ {condition} }}]"));
        let cases = [
            // when
            (logged("when = []"), "routes[0].when"),
            (when("equals = \"x\""), "routes[0].when[0]"),
            (when("pointer = \"/a\""), "routes[0].when[0]"),
            (
                when("pointer = \"/a\", header = \"content-type\", exists = true"),
                "routes[0].when[0]",
            ),
            (
                when("pointer = \"/a\", equals = \"x\", in = [\"y\"]"),
                "routes[0].when[0]",
            ),
            (when("pointer = \"/a\", contains = \"x\""), "contains"),
            (
                when("pointer = \"a\", exists = true"),
                "routes[0].when[0].pointer",
            ),
            (
                when("pointer = \"/a~2\", exists = true"),
                "routes[0].when[0].pointer",
            ),
            (
                when("pointer = \"/a~\", exists = true"),
                "routes[0].when[0].pointer",
            ),
            (
                when("pointer = 5, exists = true"),
                "routes[0].when[0].pointer",
            ),
            (when("pointer = \"/a\", in = []"), "routes[0].when[0].in"),
            (when("pointer = \"/a\", in = \"x\""), "routes[0].when[0].in"),
            (
                when("pointer = \"/a\", in = [{ a = 1 }]"),
                "routes[0].when[0].in",
            ),
            (when("pointer = \"/a\", in = [[1]]"), "routes[0].when[0].in"),
            (
                when("pointer = \"/a\", equals = [1]"),
                "routes[0].when[0].equals",
            ),
            (
                when("pointer = \"/a\", equals = { a = 1 }"),
                "routes[0].when[0].equals",
            ),
            (
                when("pointer = \"/a\", equals = nan"),
                "routes[0].when[0].equals",
            ),
            (
                when("pointer = \"/a\", equals = 1979-05-27"),
                "routes[0].when[0].equals",
            ),
            (
                when("pointer = \"/a\", exists = \"yes\""),
                "routes[0].when[0].exists",
            ),
            (
                when("pointer = \"/a\", prefix = 5"),
                "routes[0].when[0].prefix",
            ),
            (
                when("header = 5, exists = true"),
                "routes[0].when[0].header",
            ),
            (
                when("header = \"bad header\", exists = true"),
                "routes[0].when[0].header",
            ),
            // Never kept: signature headers, and headers of other providers.
            (
                when("header = \"x-hub-signature-256\", exists = true"),
                "routes[0].when[0].header",
            ),
            (
                when("header = \"stripe-signature\", exists = true"),
                "routes[0].when[0].header",
            ),
            (
                when("header = \"x-github-event\", equals = 5"),
                "routes[0].when[0].equals",
            ),
            (
                when("header = \"x-github-event\", in = [\"push\", true]"),
                "routes[0].when[0].in",
            ),
            (
                logged("when = [{ pointer = \"/a\", exists = true }, { pointer = \"/b\" }]"),
                "routes[0].when[1]",
            ),
        ];
        for (text, key) in cases {
            assert_refused(&text, key);
        }
    }

    #[test]
    fn a_refused_header_says_which_are_kept() {
        let why = |text: &str| match validated(text) {
            Err(Problem::Invalid { why, .. }) => why,
            other => panic!("{other:?}"),
        };
        let log = "action = { type = \"log\" }";
        let header = config(&[&format!(
            "source = \"github\"\nwhen = [{{ header = \"x-hub-signature-256\", exists = true }}]\n{log}"
        )]);
        let message = why(&header);
        assert!(message.contains("`x-github-event`"), "{message}");
        assert!(message.contains("`content-type`"), "{message}");
    }
}
