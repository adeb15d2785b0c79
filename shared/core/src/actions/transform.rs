//! `transform`: a route's jq program, reshaping the JSON body its destination receives.
//!
//! The language is jaq's (a pure-Rust jq): the core language with the standard library's
//! definitions and base filters (`map`, `select`, `to_entries`, `ascii_downcase`, `tojson`,
//! `join`, `@json`, `@sh`, …). Not available, so a program using them is refused at start-up:
//! regular expressions (`test`, `sub`, …), dates (`todate`, `now`), the math library (`pow`, …),
//! `@base64`/`@uri`/`@html`, `debug`/`stderr`, `halt`, `input`, `$ENV`/`env` (a transform never
//! reads the process's environment, where secrets live) and modules (`include`, `import`).
//!
//! A program is compiled once ([`Transform::compile`]) and run per delivery
//! ([`Transform::apply`]) on the body parsed as JSON (nested at most 128 deep, serde_json's
//! limit, as for `when`). It must give exactly one value, which is delivered as compact JSON.
//!
//! # Bounds
//!
//! * **Output**: at most [`MAX_OUTPUT_BYTES`] bytes and [`MAX_OUTPUT_DEPTH`] levels of nesting;
//!   serialisation stops as soon as either is passed, so an oversized output is never built as
//!   text. (SNS and EventBridge take at most 256 KiB a message: a destination refuses more.)
//! * **Time**: each run has [`MAX_RUN_MS`]. jaq has no fuel or interruption of its own, so the
//!   run happens on a thread of its own and the evaluator is metered from the inside: every
//!   step of the interpreter looks up its program table through this module's run-time data
//!   (`Guard`), which counts steps and reads the clock every [`CLOCK_EVERY`] of them; `range`,
//!   the one built-in that can generate without stepping the interpreter, is replaced by one
//!   that checks too. A program past its time is stopped:
//!   - inside `range` cleanly: it yields an error, the run ends, the thread exits;
//!   - at an interpreter step (an endless loop or recursion), the step cannot fail, so the
//!     thread reports the timeout and then *parks for the life of the process*. A parked
//!     thread uses no CPU; it keeps the memory it had (its stack and the values it held).
//!     [`MAX_STUCK`] parked threads per transform are allowed: after that, the transform fails
//!     fast, without running, until the process restarts (Lambda recycles environments).
//!   - inside a single long built-in (sorting a huge array), the caller still gets the timeout
//!     after [`MAX_RUN_MS`] plus a short grace; the thread finishes the built-in, then stops
//!     at its next step.
//! * **Recursion**: the thread has a [`STACK_BYTES`] stack, and every interpreter step measures
//!   how much of it is used: past [`STACK_LIMIT`] the run is stopped as above (reported at
//!   once, thread parked), instead of overflowing the stack, which would abort the process.
//!   What this cannot see: built-ins that recurse natively over a value (comparing, sorting,
//!   `tostring`, dropping) do so as deep as the value nests, and a program can build values
//!   nested millions deep in a loop (`reduce range(1e6) as $i (null; [.])`). Such a value,
//!   compared or dropped inside the program, can still overflow the stack and abort the
//!   process; an output nested that deep is refused and leaked rather than dropped.
//! * **Memory** has no bound of its own beyond what time allows: a program can allocate as
//!   fast as it runs, and one operation can ask for a lot at once (`"x" * 1e9` is a 1 GB
//!   string). Transforms are written by the operator, not by senders; test them with
//!   `inlet routes test`.

use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::native::{Fun, v};
use jaq_core::{Compiler, Ctx, DataT, Error, Exn, Native, ValXs, Vars, compile, data};
use jaq_json::{Num, Val};
use std::cell::Cell;
use std::cmp::Ordering as Order;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The longest program accepted, in bytes.
pub const MAX_PROGRAM_BYTES: usize = 16 * 1024;
/// The largest output, in bytes of compact JSON: SQS's message limit (1 MiB).
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// The deepest output nesting: the limit the body is read with (serde_json's).
pub const MAX_OUTPUT_DEPTH: usize = 128;
/// How long one run may take, in milliseconds.
pub const MAX_RUN_MS: u64 = 1000;
/// How many of one transform's runs may be parked past their bound before it stops running.
pub const MAX_STUCK: usize = 3;
/// The stack of the thread a run has to itself. Reserved, not committed: only what recursion
/// touches becomes resident.
pub const STACK_BYTES: usize = 32 * 1024 * 1024;
/// How much of the stack a run's interpreter may use; the rest is headroom for the built-ins
/// and parsing between two interpreter steps.
pub const STACK_LIMIT: usize = 24 * 1024 * 1024;
/// The clock is read every this many interpreter steps (each step is tens of nanoseconds).
pub const CLOCK_EVERY: u32 = 1024;
/// How long past [`MAX_RUN_MS`] the caller waits for a run stuck inside one built-in.
const GRACE_MS: u64 = 250;
/// Error messages carried to a dead letter are cut at this many bytes.
const MAX_MESSAGE_BYTES: usize = 1024;
/// A refused output nested deeper than this is leaked, not dropped: dropping recurses.
const DROP_SAFE_DEPTH: usize = 10_000;

/// Standard-library definitions left out, by name and arity: they call built-ins of jaq-std's
/// optional features (regular expressions, dates, math, formats, logging), or `halt`.
const UNSUPPORTED: &[(&str, usize)] = &[
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
const REPLACED: &[&str] = &["halt", "range"];

/// A compiled jq program.
pub struct Transform {
    program: String,
    filter: Arc<jaq_core::Filter<Bounded>>,
    /// Runs of this program parked past their bound ([`Guard::halt`]).
    stuck: Arc<AtomicUsize>,
}

impl fmt::Debug for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transform")
            .field("program", &self.program)
            .field("stuck", &self.stuck.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Transform {
    /// Compiles `program`; the error is a message for the config's refusal, with the line and
    /// column of each problem.
    pub fn compile(program: &str) -> Result<Self, String> {
        if program.trim().is_empty() {
            return Err("the program is empty".to_owned());
        }
        if program.len() > MAX_PROGRAM_BYTES {
            return Err(format!(
                "the program is {} bytes, more than {MAX_PROGRAM_BYTES}",
                program.len()
            ));
        }
        let arena = Arena::default();
        let modules = Loader::new(prelude())
            .load(
                &arena,
                File {
                    code: program,
                    path: (),
                },
            )
            .map_err(|errors| load_message(&errors))?;
        let filter = Compiler::default()
            .with_funs(natives())
            .compile(modules)
            .map_err(|errors| compile_message(&errors))?;
        Ok(Self {
            program: program.to_owned(),
            filter: Arc::new(filter),
            stuck: Arc::default(),
        })
    }

    /// The program as written.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Runs the program on `body` (JSON), within its bounds; the output is compact JSON. The
    /// error is the message a `transform_failed` dead letter carries.
    pub async fn apply(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let stuck = self.stuck.load(Ordering::Relaxed);
        if stuck >= MAX_STUCK {
            return Err(format!(
                "not run: {stuck} runs of this transform are stuck past its {MAX_RUN_MS} ms \
                 bound in this process (a runaway program); it runs again once the process \
                 restarts"
            ));
        }
        let (reply, answer) = oneshot::channel();
        let filter = Arc::clone(&self.filter);
        let stuck = Arc::clone(&self.stuck);
        let body = body.to_vec();
        std::thread::Builder::new()
            .name("inlet-transform".to_owned())
            .stack_size(STACK_BYTES)
            .spawn(move || run(&filter, &body, reply, &stuck))
            .map_err(|e| format!("cannot start the transform: {e}"))?;
        let bound = Duration::from_millis(MAX_RUN_MS + GRACE_MS);
        match tokio::time::timeout(bound, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the transform stopped without a result".to_owned()),
            Err(_) => Err(Stop::Time.message()),
        }
    }
}

/// Why a run was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Time,
    Depth,
}

impl Stop {
    fn message(self) -> String {
        match self {
            Self::Time => format!("the transform did not finish within {MAX_RUN_MS} ms"),
            Self::Depth => format!(
                "the transform recursed too deeply (past {} MiB of stack)",
                STACK_LIMIT / (1024 * 1024)
            ),
        }
    }
}

type Reply = oneshot::Sender<Result<Vec<u8>, String>>;

/// The data kind of a metered run: jaq's values, and a [`Guard`] as the run's global data.
#[derive(Debug)]
struct Bounded;

impl DataT for Bounded {
    type V<'a> = Val;
    type Data<'a> = &'a Guard<'a>;
}

/// One run's meter. The interpreter asks it for the program table at every step
/// ([`data::HasLut::lut`]), which is where the run is counted, timed and measured.
struct Guard<'a> {
    lut: &'a jaq_core::Lut<Bounded>,
    deadline: Instant,
    /// The address of a local at the top of the run's thread: the stack in use is the
    /// distance from it.
    stack_base: usize,
    steps: Cell<u32>,
    stopped: Cell<Option<Stop>>,
    /// Taken by whoever answers first: the end of the run, or [`Guard::halt`].
    reply: Cell<Option<Reply>>,
    stuck: &'a AtomicUsize,
}

impl<'a> data::HasLut<'a, Bounded> for &'a Guard<'a> {
    fn lut(&self) -> &'a jaq_core::Lut<Bounded> {
        if let Err(stop) = self.pace() {
            self.halt(stop);
        }
        self.lut
    }
}

impl Guard<'_> {
    /// Counts a step; `Err` once the run must stop.
    fn pace(&self) -> Result<(), Stop> {
        if let Some(stop) = self.stopped.get() {
            return Err(stop);
        }
        let stop = if stack_address().abs_diff(self.stack_base) > STACK_LIMIT {
            Some(Stop::Depth)
        } else {
            let steps = self.steps.get().wrapping_add(1);
            self.steps.set(steps);
            (steps.is_multiple_of(CLOCK_EVERY) && Instant::now() >= self.deadline)
                .then_some(Stop::Time)
        };
        match stop {
            Some(stop) => {
                self.stopped.set(Some(stop));
                Err(stop)
            }
            None => Ok(()),
        }
    }

    /// Stops the run where it is: an interpreter step cannot fail, and a thread cannot be
    /// killed, so it answers and parks for good (see the module's bounds).
    fn halt(&self, stop: Stop) -> ! {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(Err(stop.message()));
        }
        let stuck = self.stuck.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            reason = stop.message(),
            stuck,
            "a transform was stopped past its bound; its thread stays parked"
        );
        loop {
            std::thread::park();
        }
    }
}

/// Where this thread's stack is now.
#[inline(always)]
fn stack_address() -> usize {
    let probe = 0u8;
    std::ptr::from_ref(std::hint::black_box(&probe)).addr()
}

/// The definitions a program may call: jaq's core, standard and JSON libraries, less
/// [`UNSUPPORTED`].
fn prelude() -> impl Iterator<Item = load::parse::Def<&'static str>> {
    jaq_core::defs()
        .chain(jaq_std::defs().filter(|def| !UNSUPPORTED.contains(&(def.name, def.args.len()))))
        .chain(jaq_json::defs())
}

/// The built-ins: jaq's core, standard (base) and JSON ones, with [`REPLACED`] replaced.
fn natives() -> impl Iterator<Item = Fun<Bounded>> {
    let range: Fun<Bounded> = ("range", v(3), Native::<Bounded>::new(bounded_range));
    std::iter::once(range)
        .chain(jaq_core::funs().filter(|fun| !REPLACED.contains(&fun.0)))
        .chain(jaq_std::base_funs().filter(|fun| !REPLACED.contains(&fun.0)))
        .chain(jaq_json::funs())
}

/// `range($from; $to; $by)` as jaq's, but metered: a generator that never steps the
/// interpreter (`last(range(1e12))`) would otherwise never be stopped.
fn bounded_range<'a>(mut cv: jaq_core::Cv<'a, Bounded>) -> ValXs<'a, <Bounded as DataT>::V<'a>> {
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

/// One run, on its own thread: parse, evaluate, serialise, answer.
fn run(filter: &jaq_core::Filter<Bounded>, body: &[u8], reply: Reply, stuck: &AtomicUsize) {
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
fn read_body(body: &[u8]) -> Result<Val, String> {
    serde_json::from_slice::<Val>(body).map_err(|e| {
        let why = e.to_string();
        if why.starts_with("recursion limit exceeded") {
            "the body nests deeper than 128 levels, more than a transform reads".to_owned()
        } else {
            format!("the body is not JSON: {why}")
        }
    })
}

fn evaluate(guard: &Guard<'_>, main: &compile::TermId, input: Val) -> Result<Vec<u8>, String> {
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

/// A run-time error's message, as jaq words it, cut to [`MAX_MESSAGE_BYTES`]; the message of
/// `error("text")` is the text.
fn exn_message(exn: Exn<'_, Val>) -> String {
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
struct Clip {
    text: String,
    full: bool,
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

/// Why an output cannot be delivered.
#[derive(Debug, PartialEq, Eq)]
enum Unwritable {
    TooLarge,
    TooDeep,
    NotJson(&'static str),
}

impl Unwritable {
    fn message(&self) -> String {
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
fn write(out: &mut Vec<u8>, value: &Val, depth: usize) -> Result<(), Unwritable> {
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
fn write_text(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), Unwritable> {
    if out.len() + bytes.len() > MAX_OUTPUT_BYTES {
        return Err(Unwritable::TooLarge);
    }
    let text = String::from_utf8_lossy(bytes);
    serde_json::to_writer(&mut *out, text.as_ref())
        .map_err(|_| Unwritable::NotJson("a string JSON cannot carry"))
}

/// A number: integers exactly, floats as serde_json writes them; NaN is `null` and the
/// infinities the largest finite numbers, as jq prints them.
fn write_number(out: &mut Vec<u8>, number: &Num) {
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

fn write_float(out: &mut Vec<u8>, f: f64) {
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
fn dispose(value: Val) {
    if nests_deeper_than(&value, DROP_SAFE_DEPTH) {
        std::mem::forget(value);
    }
}

/// Whether `value` nests more than `limit` levels, found without recursing.
fn nests_deeper_than(value: &Val, limit: usize) -> bool {
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

/// The loader's refusal (lexing, parsing, modules), each problem with its place.
fn load_message(errors: &load::Errors<&str, ()>) -> String {
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
fn compile_message(errors: &compile::Errors<&str, ()>) -> String {
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

fn join(mut problems: Vec<String>) -> String {
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
fn place(code: &str, part: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn transform(program: &str) -> Transform {
        Transform::compile(program).unwrap_or_else(|e| panic!("{program}: {e}"))
    }

    async fn apply(program: &str, body: &str) -> Result<String, String> {
        transform(program)
            .apply(body.as_bytes())
            .await
            .map(|out| String::from_utf8(out).unwrap())
    }

    #[tokio::test]
    async fn reshapes_an_object() {
        let body = r#"{"action":"opened","repository":{"full_name":"o/r","id":7},"sender":{}}"#;
        assert_eq!(
            apply("{action: .action, repo: .repository.full_name}", body)
                .await
                .unwrap(),
            r#"{"action":"opened","repo":"o/r"}"#
        );
        assert_eq!(
            apply(
                "{n: (.repository.id * 2), keys: (keys | join(\",\")), up: (.action | ascii_upcase), e: (to_entries | length), j: (.sender | tojson)}",
                body
            )
            .await
            .unwrap(),
            r#"{"n":14,"keys":"action,repository,sender","up":"OPENED","e":3,"j":"{}"}"#
        );
    }

    #[tokio::test]
    async fn writes_json_as_serde_json_does() {
        assert_eq!(
            apply(
                "{a: 1.5, b: 2, c: (4 / 2), d: (1 / 0), e: nan, f: 100000000000000000000000, g: 1.50, s: \"\\u00e9\\n\\\"\", n: null, t: [true, false]}",
                "null"
            )
            .await
            .unwrap(),
            r#"{"a":1.5,"b":2,"c":2.0,"d":1.7976931348623157e+308,"e":null,"f":100000000000000000000000,"g":1.50,"s":"é\n\"","n":null,"t":[true,false]}"#
        );
        assert_eq!(
            apply(".", r#" [ 1 , {"a" : "b"} ] "#).await.unwrap(),
            r#"[1,{"a":"b"}]"#
        );
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_fails() {
        let transform = transform(".");
        for body in [
            &b"not json"[..],
            b"",
            b"{\"a\": \xff}",
            b"\"\xff\"",
            b"{} {}",
        ] {
            let error = transform.apply(body).await.unwrap_err();
            assert!(error.starts_with("the body is not JSON: "), "{error}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let error = transform.apply(deep.as_bytes()).await.unwrap_err();
        assert!(error.contains("deeper than 128"), "{error}");
    }

    #[tokio::test]
    async fn a_run_time_error_fails_with_jaqs_message() {
        assert_eq!(
            apply(".a.b", "5").await.unwrap_err(),
            "cannot index 5 with \"a\""
        );
        assert_eq!(apply("error(\"x\")", "{}").await.unwrap_err(), "x");
        assert_eq!(
            apply("error({why: 1})", "{}").await.unwrap_err(),
            "{\"why\":1}"
        );
        assert_eq!(
            apply("1, error(\"second\")", "{}").await.unwrap_err(),
            "second"
        );
        let long = apply("error(\"x\" * 5000)", "{}").await.unwrap_err();
        assert!(
            long.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8(),
            "{}",
            long.len()
        );
        assert!(long.ends_with('…'));
    }

    #[tokio::test]
    async fn exactly_one_output_is_delivered() {
        assert_eq!(
            apply("empty", "{}").await.unwrap_err(),
            "the transform gave no output"
        );
        let error = apply(".[]", "[1,2]").await.unwrap_err();
        assert!(
            error.starts_with("the transform gave more than one output"),
            "{error}"
        );
        // Pulling stops at the second output: an endless stream is not run to its end.
        let error = apply("repeat(1)", "null").await.unwrap_err();
        assert!(
            error.starts_with("the transform gave more than one output"),
            "{error}"
        );
        assert_eq!(apply("[.[]]", "[1,2]").await.unwrap(), "[1,2]");
    }

    #[tokio::test]
    async fn outputs_beyond_the_bounds_or_not_json_are_refused() {
        let error = apply("[range(200000)] | tostring", "null")
            .await
            .unwrap_err();
        assert_eq!(
            error,
            format!("the transform's output is over {MAX_OUTPUT_BYTES} bytes")
        );
        let error = apply("[range(300000)]", "null").await.unwrap_err();
        assert_eq!(
            error,
            format!("the transform's output is over {MAX_OUTPUT_BYTES} bytes")
        );
        let error = apply("reduce range(200) as $i (0; [.])", "null")
            .await
            .unwrap_err();
        assert!(error.contains("nests deeper than 128"), "{error}");
        let error = apply("reduce range(50000) as $i (0; [.])", "null")
            .await
            .unwrap_err();
        assert!(error.contains("nests deeper than 128"), "{error}");
        let error = apply("\"a\" | tobytes", "null").await.unwrap_err();
        assert!(error.contains("byte string"), "{error}");
        let error = apply("{(1): 2}", "null").await.unwrap_err();
        assert!(error.contains("object key"), "{error}");
    }

    #[tokio::test]
    async fn a_runaway_generator_is_stopped_cleanly_in_time() {
        let transform = transform("last(range(1e12))");
        let started = Instant::now();
        let error = transform.apply(b"null").await.unwrap_err();
        assert_eq!(error, Stop::Time.message());
        assert!(started.elapsed() < Duration::from_millis(MAX_RUN_MS + 1000));
        // Caught, the stop still ends the run.
        let transform = Transform::compile("try last(range(1e12)) catch \"fine\"").unwrap();
        assert_eq!(
            transform.apply(b"null").await.unwrap_err(),
            Stop::Time.message()
        );
    }

    #[tokio::test]
    async fn an_endless_loop_is_stopped_in_time_and_parked() {
        let transform = transform("def f: f; f");
        let started = Instant::now();
        assert_eq!(
            transform.apply(b"null").await.unwrap_err(),
            Stop::Time.message()
        );
        assert!(started.elapsed() < Duration::from_millis(MAX_RUN_MS + 1000));
        // The thread parks (it cannot be killed) and is counted.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(transform.stuck.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn deep_recursion_is_stopped_before_the_stack_overflows() {
        for program in ["def f: [f]; f", "def f: 1 + f; f", "def f: {a: f}; f"] {
            let transform = transform(program);
            assert_eq!(
                transform.apply(b"null").await.unwrap_err(),
                Stop::Depth.message(),
                "{program}"
            );
        }
    }

    #[tokio::test]
    async fn a_transform_with_too_many_stuck_runs_fails_fast() {
        let transform = transform("def f: 1 + f; f");
        for _ in 0..MAX_STUCK {
            assert_eq!(
                transform.apply(b"null").await.unwrap_err(),
                Stop::Depth.message()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let error = transform.apply(b"null").await.unwrap_err();
        assert!(error.starts_with("not run: 3 runs"), "{error}");
        assert!(started.elapsed() < Duration::from_millis(100));
        // Another transform is not affected.
        assert_eq!(apply(".", "1").await.unwrap(), "1");
    }

    #[test]
    fn compile_errors_say_where() {
        let error = Transform::compile("{a: .b,\n  c: }").unwrap_err();
        assert!(error.contains("at line 2, column 6"), "{error}");
        let error = Transform::compile("[1, 2").unwrap_err();
        assert!(error.starts_with("expected closing bracket"), "{error}");
        let error = Transform::compile("1 +").unwrap_err();
        assert!(error.contains("at the end of the program"), "{error}");
        let error = Transform::compile(".a | nosuch(1)").unwrap_err();
        assert_eq!(error, "undefined filter `nosuch/1` at line 1, column 6");
        let error = Transform::compile("select(.a | test(\"x\"))").unwrap_err();
        assert!(error.starts_with("undefined filter `test/1`"), "{error}");
        assert!(error.contains("regular expressions"), "{error}");
        let error = Transform::compile("$ENV.HOME").unwrap_err();
        assert!(error.contains("cannot read the environment"), "{error}");
        for program in ["env", "halt", "input", "now", "@base64", "debug"] {
            assert!(Transform::compile(program).is_err(), "{program}");
        }
        let error = Transform::compile("include \"x\"; .").unwrap_err();
        assert!(error.contains("not supported"), "{error}");
        assert_eq!(Transform::compile(" ").unwrap_err(), "the program is empty");
        let long = format!(". {}", "| . ".repeat(MAX_PROGRAM_BYTES / 4));
        assert!(Transform::compile(&long).unwrap_err().contains("more than"));
    }

    #[test]
    fn the_prelude_compiles_whole() {
        // Every definition kept must compile: a jaq upgrade that moves a definition onto an
        // optional built-in fails here, not in a user's config.
        let transform = transform(".");
        assert_eq!(transform.program(), ".");
        for program in [
            "map(.)",
            "to_entries",
            "with_entries(.)",
            "paths",
            "add",
            "any",
            "unique",
            "min_by(.)",
            "flatten",
            "@json",
            "@sh",
            "@text",
            "tostring",
            "tonumber",
            "ascii_downcase",
            "ltrimstr(\"a\")",
            "split(\",\")",
            "join(\",\")",
            "limit(1; .[])",
            "first(.[])",
            "range(3)",
            "range(0; 3)",
            "getpath([\"a\"])",
            "del(.a)",
            "type",
            "splits",
        ] {
            let compiled = Transform::compile(program);
            if program == "splits" {
                assert!(compiled.is_err());
            } else {
                assert!(compiled.is_ok(), "{program}: {compiled:?}");
            }
        }
    }

    #[test]
    fn transforms_and_their_runs_can_cross_threads() {
        fn send_sync<T: Send + Sync + fmt::Debug>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let transform = transform(".");
        send_sync(&transform);
        send(&transform.apply(b"{}"));
    }
}
