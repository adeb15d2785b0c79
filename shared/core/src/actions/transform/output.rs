//! The output as compact JSON, serde_json's way, written within the output bounds; and values
//! too deep to drop safely.

use super::bounds::{DROP_SAFE_DEPTH, MAX_OUTPUT_BYTES, MAX_OUTPUT_DEPTH};
use jaq_json::{Num, Val};

/// Why an output cannot be delivered.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Unwritable {
    TooLarge,
    TooDeep,
    NotJson(&'static str),
}

impl Unwritable {
    pub(super) fn message(&self) -> String {
        match self {
            Self::TooLarge => format!("the transform's output is over {MAX_OUTPUT_BYTES} bytes"),
            Self::TooDeep => {
                format!("the transform's output nests deeper than {MAX_OUTPUT_DEPTH} levels")
            }
            Self::NotJson(what) => format!("the transform's output is not JSON: it holds {what}"),
        }
    }
}

/// Writes `value` as compact JSON, serde_json's way, within the output bounds.
pub(super) fn write(out: &mut Vec<u8>, value: &Val, depth: usize) -> Result<(), Unwritable> {
    if depth > MAX_OUTPUT_DEPTH {
        return Err(Unwritable::TooDeep);
    }
    match value {
        Val::Null => out.extend_from_slice(b"null"),
        Val::Bool(true) => out.extend_from_slice(b"true"),
        Val::Bool(false) => out.extend_from_slice(b"false"),
        Val::Num(number) => write_number(out, number),
        Val::TStr(text) => write_text(out, text)?,
        Val::BStr(_) => return Err(Unwritable::NotJson("a byte string (from `tobytes`)")),
        Val::Arr(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, item, depth + 1)?;
            }
            out.push(b']');
        }
        Val::Obj(entries) => {
            out.push(b'{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let Val::TStr(key) = key else {
                    return Err(Unwritable::NotJson("an object key that is not a string"));
                };
                write_text(out, key)?;
                out.push(b':');
                write(out, item, depth + 1)?;
            }
            out.push(b'}');
        }
    }
    if out.len() > MAX_OUTPUT_BYTES {
        return Err(Unwritable::TooLarge);
    }
    Ok(())
}

/// A string, escaped; bytes that are not UTF-8 become U+FFFD.
pub(super) fn write_text(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), Unwritable> {
    if out.len() + bytes.len() > MAX_OUTPUT_BYTES {
        return Err(Unwritable::TooLarge);
    }
    let text = String::from_utf8_lossy(bytes);
    serde_json::to_writer(&mut *out, text.as_ref())
        .map_err(|_| Unwritable::NotJson("a string JSON cannot carry"))
}

/// A number: integers exactly, floats as serde_json writes them; NaN is `null` and the
/// infinities the largest finite numbers, as jq prints them.
pub(super) fn write_number(out: &mut Vec<u8>, number: &Num) {
    match number {
        Num::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Num::BigInt(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Num::Float(f) => write_float(out, *f),
        Num::Dec(text) => match text.parse::<f64>() {
            Ok(f) if f.is_finite() && serde_json::from_str::<serde_json::Number>(text).is_ok() => {
                out.extend_from_slice(text.as_bytes());
            }
            Ok(f) => write_float(out, f),
            Err(_) => write_float(out, f64::NAN),
        },
    }
}

pub(super) fn write_float(out: &mut Vec<u8>, f: f64) {
    let f = if f.is_infinite() {
        f64::MAX.copysign(f)
    } else {
        f
    };
    // NaN has no JSON form, and a float serde_json cannot write is written as null too.
    if f.is_nan() || serde_json::to_writer(&mut *out, &f).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// Drops a value the run made, unless it nests so deep that dropping it (which recurses)
/// could overflow the stack: such a value is leaked instead.
pub(super) fn dispose(value: Val) {
    if nests_deeper_than(&value, DROP_SAFE_DEPTH) {
        std::mem::forget(value);
    }
}

/// Whether `value` nests more than `limit` levels, found without recursing.
pub(super) fn nests_deeper_than(value: &Val, limit: usize) -> bool {
    let mut pending = vec![(value, 1usize)];
    while let Some((value, depth)) = pending.pop() {
        if depth > limit {
            return true;
        }
        match value {
            Val::Arr(items) => pending.extend(items.iter().map(|item| (item, depth + 1))),
            Val::Obj(entries) => pending.extend(entries.values().map(|item| (item, depth + 1))),
            _ => {}
        }
    }
    false
}
