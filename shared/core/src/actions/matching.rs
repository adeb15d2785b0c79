//! `when`: whether an event meets a route's conditions.
//!
//! A condition looks at a header the envelope kept, or at a JSON pointer into the body. The body
//! is parsed once per event, and only if a pointer is looked at; a body that is not JSON (or not
//! UTF-8, or nested more than 128 deep) has no value at any pointer, so there only `exists =
//! false` holds. A JSON `null` is a value: it exists.

use crate::config::{Condition, Subject, Test};
use crate::envelope::Envelope;
use serde_json::Value;
use std::cell::OnceCell;
use std::fmt;

/// One event's view for matching: the body is parsed as JSON at most once, and only if a
/// condition looks into it.
pub struct Matcher<'a> {
    envelope: &'a Envelope,
    body: &'a [u8],
    /// `None` inside: the body is not JSON.
    json: OnceCell<Option<Value>>,
}

impl fmt::Debug for Matcher<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("key", &self.envelope.key)
            .field("body_bytes", &self.body.len())
            .field("parsed", &self.json.get().map(Option::is_some))
            .finish()
    }
}

/// What a subject found: a header's text, or the JSON value at a pointer.
#[derive(Debug, Clone, Copy)]
enum Found<'v> {
    Text(&'v str),
    Json(&'v Value),
}

impl<'a> Matcher<'a> {
    pub fn new(envelope: &'a Envelope, body: &'a [u8]) -> Self {
        Self {
            envelope,
            body,
            json: OnceCell::new(),
        }
    }

    /// Whether every condition holds (none: true).
    pub fn holds(&self, when: &[Condition]) -> bool {
        when.iter().all(|condition| self.holds_one(condition))
    }

    fn holds_one(&self, condition: &Condition) -> bool {
        let found = self.find(&condition.subject);
        match &condition.test {
            Test::Exists(wanted) => found.is_some() == *wanted,
            Test::Equals(expected) => found.is_some_and(|found| scalar_eq(found, expected)),
            Test::In(expected) => {
                found.is_some_and(|found| expected.iter().any(|e| scalar_eq(found, e)))
            }
            Test::Prefix(prefix) => found.is_some_and(|found| match found {
                Found::Text(text) => text.starts_with(prefix.as_str()),
                Found::Json(Value::String(text)) => text.starts_with(prefix.as_str()),
                Found::Json(_) => false,
            }),
        }
    }

    fn find(&self, subject: &Subject) -> Option<Found<'_>> {
        match subject {
            Subject::Header(name) => self
                .envelope
                .headers
                .get(name)
                .map(|value| Found::Text(value)),
            Subject::Pointer(pointer) => self.json()?.pointer(pointer).map(Found::Json),
        }
    }

    /// The body as JSON, parsed on first use.
    fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }
}

/// Whether a found value is the configured scalar: strings and booleans exactly, numbers by
/// value (`5` is `5.0`). An object, an array or `null` is never equal to a scalar.
fn scalar_eq(found: Found<'_>, expected: &Value) -> bool {
    match (found, expected) {
        (Found::Text(text), Value::String(expected)) => text == expected,
        (Found::Text(_), _) => false,
        (Found::Json(Value::String(s)), Value::String(e)) => s == e,
        (Found::Json(Value::Bool(b)), Value::Bool(e)) => b == e,
        (Found::Json(Value::Number(n)), Value::Number(e)) => number_eq(n, e),
        (Found::Json(_), _) => false,
    }
}

/// Numbers by value: integers exactly, anything else as floats.
fn number_eq(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a == b;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn envelope(headers: &[(&str, &str)]) -> Envelope {
        Envelope {
            v: 1,
            key: "github#1".into(),
            source: "github".into(),
            scheme: "github".into(),
            event_type: Some("issues".into()),
            event_id: "1".into(),
            received_at: "2024-01-01T00:00:00.000Z".into(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            body: None,
            body_b64: None,
            replay: None,
            body_ref: None,
            schema_errors: None,
            traceparent: None,
            tracestate: None,
        }
    }

    fn pointer(pointer: &str, test: Test) -> Condition {
        Condition {
            subject: Subject::Pointer(pointer.into()),
            test,
        }
    }

    fn header(name: &str, test: Test) -> Condition {
        Condition {
            subject: Subject::Header(name.into()),
            test,
        }
    }

    const BODY: &[u8] = br#"{"action":"opened","number":5,"ratio":0.5,"draft":false,"label":null,
        "issue":{"user":{"login":"octo-cat"},"labels":[{"name":"bug"}]},
        "a/b":{"m~n":"escaped"},"big":18446744073709551615,"neg":-3}"#;

    fn holds(conditions: &[Condition]) -> bool {
        let envelope = envelope(&[
            ("x-github-event", "issues"),
            ("content-type", "application/json"),
        ]);
        Matcher::new(&envelope, BODY).holds(conditions)
    }

    #[test]
    fn no_conditions_always_hold() {
        let envelope = envelope(&[]);
        assert!(Matcher::new(&envelope, b"not json").holds(&[]));
    }

    #[test]
    fn equals_compares_json_scalars() {
        assert!(holds(&[pointer("/action", Test::Equals(json!("opened")))]));
        assert!(!holds(&[pointer("/action", Test::Equals(json!("closed")))]));
        assert!(holds(&[pointer("/number", Test::Equals(json!(5)))]));
        assert!(holds(&[pointer("/number", Test::Equals(json!(5.0)))]));
        assert!(!holds(&[pointer("/number", Test::Equals(json!("5")))]));
        assert!(holds(&[pointer("/ratio", Test::Equals(json!(0.5)))]));
        assert!(holds(&[pointer("/draft", Test::Equals(json!(false)))]));
        assert!(!holds(&[pointer("/draft", Test::Equals(json!("false")))]));
        assert!(holds(&[pointer("/big", Test::Equals(json!(u64::MAX)))]));
        assert!(holds(&[pointer("/neg", Test::Equals(json!(-3)))]));
        assert!(holds(&[pointer("/neg", Test::Equals(json!(-3.0)))]));
        // Objects, arrays and null are never equal to a scalar.
        assert!(!holds(&[pointer("/issue", Test::Equals(json!("x")))]));
        assert!(!holds(&[pointer("/label", Test::Equals(json!(false)))]));
        assert!(!holds(&[pointer("/missing", Test::Equals(json!("x")))]));
    }

    #[test]
    fn in_holds_for_any_listed_value() {
        let opened = Test::In(vec![json!("opened"), json!("reopened")]);
        assert!(holds(&[pointer("/action", opened.clone())]));
        assert!(!holds(&[pointer("/issue/user/login", opened)]));
        assert!(holds(&[pointer(
            "/number",
            Test::In(vec![json!(1), json!(5.0)])
        )]));
        assert!(!holds(&[pointer("/missing", Test::In(vec![json!("x")]))]));
    }

    #[test]
    fn exists_sees_any_value_null_included() {
        assert!(holds(&[pointer(
            "/issue/labels/0/name",
            Test::Exists(true)
        )]));
        assert!(holds(&[pointer("/issue/labels/1", Test::Exists(false))]));
        assert!(holds(&[pointer("/label", Test::Exists(true))]));
        assert!(holds(&[pointer("/nope", Test::Exists(false))]));
        assert!(!holds(&[pointer("/nope", Test::Exists(true))]));
        assert!(holds(&[pointer("", Test::Exists(true))]));
    }

    #[test]
    fn prefix_holds_only_for_strings() {
        assert!(holds(&[pointer(
            "/issue/user/login",
            Test::Prefix("octo".into())
        )]));
        assert!(!holds(&[pointer(
            "/issue/user/login",
            Test::Prefix("cat".into())
        )]));
        assert!(!holds(&[pointer("/number", Test::Prefix("5".into()))]));
        assert!(!holds(&[pointer("/missing", Test::Prefix(String::new()))]));
        assert!(holds(&[header(
            "x-github-event",
            Test::Prefix("iss".into())
        )]));
    }

    #[test]
    fn escaped_pointers_reach_keys_with_slashes_and_tildes() {
        assert!(holds(&[pointer(
            "/a~1b/m~0n",
            Test::Equals(json!("escaped"))
        )]));
        assert!(!holds(&[pointer("/a/b", Test::Exists(true))]));
    }

    #[test]
    fn headers_are_text() {
        assert!(holds(&[header(
            "x-github-event",
            Test::Equals(json!("issues"))
        )]));
        assert!(holds(&[header(
            "x-github-event",
            Test::In(vec![json!("push"), json!("issues")])
        )]));
        assert!(!holds(&[header(
            "x-github-event",
            Test::Equals(json!("push"))
        )]));
        assert!(holds(&[header("content-type", Test::Exists(true))]));
        assert!(holds(&[header("x-github-delivery", Test::Exists(false))]));
        assert!(!holds(&[header(
            "x-github-delivery",
            Test::Equals(json!("x"))
        )]));
    }

    #[test]
    fn every_condition_must_hold() {
        let both = [
            pointer("/action", Test::Equals(json!("opened"))),
            header("x-github-event", Test::Equals(json!("issues"))),
        ];
        assert!(holds(&both));
        let one_fails = [
            pointer("/action", Test::Equals(json!("opened"))),
            header("x-github-event", Test::Equals(json!("push"))),
        ];
        assert!(!holds(&one_fails));
    }

    #[test]
    fn a_body_that_is_not_json_has_no_values() {
        let envelope = envelope(&[("x-github-event", "issues")]);
        for body in [
            &b"action=opened"[..],
            b"",
            b"{\"action\": \"\xff\"}",
            b"\xff\xfe",
        ] {
            let matcher = Matcher::new(&envelope, body);
            assert!(matcher.holds(&[pointer("/action", Test::Exists(false))]));
            assert!(matcher.holds(&[pointer("", Test::Exists(false))]));
            assert!(!matcher.holds(&[pointer("/action", Test::Equals(json!("opened")))]));
            assert!(!matcher.holds(&[pointer("/action", Test::Prefix(String::new()))]));
            assert!(!matcher.holds(&[pointer("/action", Test::In(vec![json!("opened")]))]));
            // Headers are still there.
            assert!(matcher.holds(&[header("x-github-event", Test::Equals(json!("issues")))]));
        }
    }

    #[test]
    fn the_body_is_parsed_only_when_a_pointer_is_looked_at() {
        let envelope = envelope(&[("x-github-event", "issues")]);
        let matcher = Matcher::new(&envelope, BODY);
        assert!(matcher.holds(&[header("x-github-event", Test::Exists(true))]));
        assert!(matcher.json.get().is_none());
        assert!(matcher.holds(&[pointer("/action", Test::Exists(true))]));
        assert!(matcher.json.get().is_some());
    }
}
