//! jaq's errors as messages a person can act on: compile errors with line and column, run-time
//! errors cut to a bounded length.

use super::bounds::MAX_MESSAGE_BYTES;
use super::library::{REPLACED, UNSUPPORTED};
use jaq_core::{Exn, compile, load};
use jaq_json::Val;
use std::fmt;

/// A run-time error's message, as jaq words it, cut to [`MAX_MESSAGE_BYTES`]; the message of
/// `error("text")` is the text.
pub(super) fn exn_message(exn: Exn<'_, Val>) -> String {
    let Ok(error) = exn.get_err() else {
        return "the transform stopped outside any error (a `break` out of its label)".to_owned();
    };
    let mut clip = Clip::default();
    let _ = fmt::Write::write_fmt(&mut clip, format_args!("{error}"));
    if clip.full {
        clip.text.push('…');
        return clip.text;
    }
    match serde_json::from_str::<String>(&clip.text) {
        Ok(text) => text,
        Err(_) => clip.text,
    }
}

/// Text written up to [`MAX_MESSAGE_BYTES`]; formatting fails past it, so a huge (or deep)
/// value in an error is never printed whole.
#[derive(Default)]
pub(super) struct Clip {
    pub(super) text: String,
    pub(super) full: bool,
}

impl fmt::Write for Clip {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MAX_MESSAGE_BYTES - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&s[..end]);
        self.full = true;
        Err(fmt::Error)
    }
}

/// The loader's refusal (lexing, parsing, modules), each problem with its place.
pub(super) fn load_message(errors: &load::Errors<&str, ()>) -> String {
    let mut problems = Vec::new();
    for (file, error) in errors {
        match error {
            load::Error::Io(paths) => {
                for (path, _) in paths {
                    problems.push(format!(
                        "cannot load module `{path}`: `include` and `import` are not supported"
                    ));
                }
            }
            load::Error::Lex(found) => {
                for (expected, at) in found {
                    problems.push(format!(
                        "expected {}{}",
                        expected.as_str(),
                        place(file.code, at)
                    ));
                }
            }
            load::Error::Parse(found) => {
                for (expected, at) in found {
                    problems.push(format!(
                        "expected {}{}",
                        expected.as_str(),
                        place(file.code, at)
                    ));
                }
            }
        }
    }
    join(problems)
}

/// The compiler's refusal: names it does not know, each with its place.
pub(super) fn compile_message(errors: &compile::Errors<&str, ()>) -> String {
    let mut problems = Vec::new();
    for (file, undefined) in errors {
        for (name, kind) in undefined {
            let (what, arity) = match kind {
                compile::Undefined::Filter(arity) => ("filter", Some(*arity)),
                other => (other.as_str(), None),
            };
            let shown = arity.map_or_else(|| (*name).to_owned(), |n| format!("{name}/{n}"));
            let hint = match arity {
                Some(n) if UNSUPPORTED.contains(&(name, n)) || REPLACED.contains(name) => {
                    " (not available in a transform: no regular expressions, dates, math \
                     library, @base64/@uri/@html, debug or halt)"
                }
                _ if *name == "$ENV" => " (a transform cannot read the environment)",
                _ => "",
            };
            problems.push(format!(
                "undefined {what} `{shown}`{}{hint}",
                place(file.code, name)
            ));
        }
    }
    join(problems)
}

pub(super) fn join(mut problems: Vec<String>) -> String {
    const SHOWN: usize = 3;
    let more = problems.len().saturating_sub(SHOWN);
    problems.truncate(SHOWN);
    let mut text = problems.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    if text.is_empty() {
        text.push_str("the program does not compile");
    }
    text
}

/// ` at line L, column C` for `part`, a slice of `code` (the loader's errors point into the
/// program); empty if it is not one.
pub(super) fn place(code: &str, part: &str) -> String {
    let offset = part.as_ptr().addr().wrapping_sub(code.as_ptr().addr());
    if offset > code.len() || !code.is_char_boundary(offset) {
        return String::new();
    }
    if offset == code.len() {
        return " at the end of the program".to_owned();
    }
    let before = &code[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count()
        + 1;
    format!(" at line {line}, column {column}")
}
