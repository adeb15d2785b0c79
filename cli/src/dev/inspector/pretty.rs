//! JSON bodies indented for reading, keys in the order the sender wrote them: `serde_json`'s own
//! pretty printer would sort them, which hides how the provider shaped the payload.

/// `text` indented by two spaces per level ([`crate::json::pretty`]), or `None` when it is not
/// JSON.
pub(super) fn pretty_json(text: &str) -> Option<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    Some(crate::json::pretty(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_order_and_strings_their_text() {
        let text = r#"{"z":1,"a":{"s":"x, {y}: \"q\"","e":[],"o":{}},"l":[1, 2]}"#;
        assert_eq!(
            pretty_json(text).unwrap(),
            "{\n  \"z\": 1,\n  \"a\": {\n    \"s\": \"x, {y}: \\\"q\\\"\",\n    \"e\": [],\n    \
             \"o\": {}\n  },\n  \"l\": [\n    1,\n    2\n  ]\n}"
        );
        assert_eq!(pretty_json("not json"), None);
        assert_eq!(pretty_json("12").as_deref(), Some("12"));
    }
}
