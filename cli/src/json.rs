//! Re-spacing JSON text without parsing it into a value, so that keys keep the order they were
//! written in: provider bodies are signed byte for byte, and a fixture whose key order depended
//! on serde_json's features (which other crates in the build can switch on) would not be stable.
//!
//! Both functions expect valid JSON (serde_json has already checked it) and only touch
//! whitespace outside strings.

/// The text with every insignificant space removed.
pub fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// The text indented by two spaces with `"key": value`, as Stripe and serde_json print it.
pub fn pretty(text: &str) -> String {
    let compact: Vec<char> = minify(text).chars().collect();
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', depth * 2));
    };
    let mut i = 0;
    while let Some(&c) = compact.get(i) {
        i += 1;
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                out.push(c);
                if compact.get(i) == Some(&close) {
                    out.push(close);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str =
        r#" { "z" : 1 , "a" : [ ], "s": "a \" , { b : ] \\", "o": {"k": [1, {}]} } "#;

    #[test]
    fn minify_keeps_strings_and_order() {
        assert_eq!(
            minify(SAMPLE),
            r#"{"z":1,"a":[],"s":"a \" , { b : ] \\","o":{"k":[1,{}]}}"#
        );
    }

    #[test]
    fn pretty_matches_serde_json_for_sorted_input() {
        let sorted = r#"{"a":[],"o":{"k":[1,{}]},"s":"a \" , { b : ] \\","z":1}"#;
        let value: serde_json::Value = serde_json::from_str(sorted).unwrap();
        assert_eq!(
            pretty(sorted),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(minify(&pretty(SAMPLE)), minify(SAMPLE));
    }
}
