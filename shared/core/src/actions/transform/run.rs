//! One run, on a thread of its own: parse the body, evaluate under the guard, serialise, answer.

use super::bounds::MAX_RUN_MS;
use super::guard::{Bounded, Guard, Reply, stack_address};
use super::messages::exn_message;
use super::output::{dispose, write};
use jaq_core::{Ctx, Vars, compile};
use jaq_json::Val;
use std::cell::Cell;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

/// One run, on its own thread: parse, evaluate, serialise, answer.
pub(super) fn run(
    filter: &jaq_core::Filter<Bounded>,
    body: &[u8],
    reply: Reply,
    stuck: &AtomicUsize,
) {
    let guard = Guard {
        lut: &filter.lut,
        deadline: Instant::now() + Duration::from_millis(MAX_RUN_MS),
        stack_base: stack_address(),
        steps: Cell::new(0),
        stopped: Cell::new(None),
        reply: Cell::new(Some(reply)),
        stuck,
    };
    let result = read_body(body).and_then(|input| evaluate(&guard, &filter.id, input));
    let result = match guard.stopped.get() {
        Some(stop) => Err(stop.message()),
        None => result,
    };
    if let Some(reply) = guard.reply.take() {
        let _ = reply.send(result);
    }
}

/// The body as jaq's value, through serde_json (and its nesting limit).
pub(super) fn read_body(body: &[u8]) -> Result<Val, String> {
    serde_json::from_slice::<Val>(body).map_err(|e| {
        let why = e.to_string();
        if why.starts_with("recursion limit exceeded") {
            "the body nests deeper than 128 levels, more than a transform reads".to_owned()
        } else {
            format!("the body is not JSON: {why}")
        }
    })
}

pub(super) fn evaluate(
    guard: &Guard<'_>,
    main: &compile::TermId,
    input: Val,
) -> Result<Vec<u8>, String> {
    let ctx = Ctx::<Bounded>::new(guard, Vars::new([]));
    let mut outputs = main.run((ctx, input));
    let first = match outputs.next() {
        None => return Err("the transform gave no output".to_owned()),
        Some(Err(exn)) => return Err(exn_message(exn)),
        Some(Ok(value)) => value,
    };
    let second = outputs.next();
    drop(outputs);
    match second {
        None => {}
        Some(Ok(value)) => {
            dispose(value);
            dispose(first);
            return Err(
                "the transform gave more than one output; a route delivers one \
                        (collect them in an array with `[…]`)"
                    .to_owned(),
            );
        }
        Some(Err(exn)) => {
            dispose(first);
            return Err(exn_message(exn));
        }
    }
    let mut out = Vec::new();
    match write(&mut out, &first, 1) {
        Ok(()) => Ok(out),
        Err(unwritable) => {
            dispose(first);
            Err(unwritable.message())
        }
    }
}
