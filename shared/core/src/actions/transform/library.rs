//! What a program may call: jaq's core, standard and JSON libraries, less what Inlet leaves out,
//! with `range` replaced by a metered one.

use super::guard::{Bounded, Guard};
use jaq_core::load;
use jaq_core::native::{Fun, v};
use jaq_core::{DataT, Error, Exn, Native, ValXs};
use jaq_json::Val;
use std::cmp::Ordering as Order;

/// Standard-library definitions left out, by name and arity: they call built-ins of jaq-std's
/// optional features (regular expressions, dates, math, formats, logging), or `halt`.
pub(super) const UNSUPPORTED: &[(&str, usize)] = &[
    ("stderr", 0),
    ("debug", 0),
    ("debug", 1),
    ("halt", 0),
    ("halt_error", 0),
    ("halt_error", 1),
    ("logb", 0),
    ("significand", 0),
    ("pow10", 0),
    ("drem", 2),
    ("nexttoward", 2),
    ("scalb", 2),
    ("gamma", 0),
    ("test", 1),
    ("test", 2),
    ("scan_", 2),
    ("scan", 1),
    ("scan", 2),
    ("match", 1),
    ("match", 2),
    ("capture", 1),
    ("capture", 2),
    ("split", 2),
    ("splits", 1),
    ("splits", 2),
    ("sub", 2),
    ("sub", 3),
    ("gsub", 2),
    ("gsub", 3),
    ("todate", 0),
    ("fromdate", 0),
    ("@html", 0),
    ("@htmld", 0),
    ("@uri", 0),
    ("@urid", 0),
    ("@base64", 0),
    ("@base64d", 0),
];

/// Built-ins left out: `halt` ends the program with an exit code, which a route has no use
/// for; `range` is replaced by [`bounded_range`].
pub(super) const REPLACED: &[&str] = &["halt", "range"];

/// The definitions a program may call: jaq's core, standard and JSON libraries, less
/// [`UNSUPPORTED`].
pub(super) fn prelude() -> impl Iterator<Item = load::parse::Def<&'static str>> {
    jaq_core::defs()
        .chain(jaq_std::defs().filter(|def| !UNSUPPORTED.contains(&(def.name, def.args.len()))))
        .chain(jaq_json::defs())
}

/// The built-ins: jaq's core, standard (base) and JSON ones, with [`REPLACED`] replaced.
pub(super) fn natives() -> impl Iterator<Item = Fun<Bounded>> {
    let range: Fun<Bounded> = ("range", v(3), Native::<Bounded>::new(bounded_range));
    std::iter::once(range)
        .chain(jaq_core::funs().filter(|fun| !REPLACED.contains(&fun.0)))
        .chain(jaq_std::base_funs().filter(|fun| !REPLACED.contains(&fun.0)))
        .chain(jaq_json::funs())
}

/// `range($from; $to; $by)` as jaq's, but metered: a generator that never steps the
/// interpreter (`last(range(1e12))`) would otherwise never be stopped.
pub(super) fn bounded_range<'a>(
    mut cv: jaq_core::Cv<'a, Bounded>,
) -> ValXs<'a, <Bounded as DataT>::V<'a>> {
    let guard: &'a Guard<'a> = cv.0.data();
    let by = cv.0.pop_var();
    let to = cv.0.pop_var();
    let from = cv.0.pop_var();
    let direction = by.partial_cmp(&Val::from(0isize)).unwrap_or(Order::Equal);
    let mut next: Option<Result<Val, Exn<'a, Val>>> = Some(Ok(from));
    Box::new(std::iter::from_fn(move || match next.take()? {
        Ok(x) => {
            let more = match direction {
                Order::Greater => x < to,
                Order::Less => x > to,
                Order::Equal => x != to,
            };
            if !more {
                return None;
            }
            if let Err(stop) = guard.pace() {
                return Some(Err(Exn::from(Error::str(stop.message()))));
            }
            next = Some((x.clone() + by.clone()).map_err(Exn::from));
            Some(Ok(x))
        }
        Err(e) => Some(Err(e)),
    }))
}
