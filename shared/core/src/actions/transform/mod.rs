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
//!
//! One job a file: `bounds` (the limits, and why a run stopped), `guard` (the meter the
//! interpreter consults at each step), `library` (what a program may call), `run` (one run on its
//! thread), `output` (compact JSON within the bounds), `messages` (jaq's errors in words).

mod bounds;
mod guard;
mod library;
mod messages;
mod output;
mod run;
#[cfg(test)]
mod tests;

pub use bounds::{
    CLOCK_EVERY, MAX_OUTPUT_BYTES, MAX_OUTPUT_DEPTH, MAX_PROGRAM_BYTES, MAX_RUN_MS, MAX_STUCK,
    STACK_BYTES, STACK_LIMIT,
};

use bounds::{GRACE_MS, Stop};
use guard::Bounded;
use jaq_core::Compiler;
use jaq_core::load::{Arena, File, Loader};
use library::{natives, prelude};
use messages::{compile_message, load_message};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;

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
            .spawn(move || run::run(&filter, &body, reply, &stuck))
            .map_err(|e| format!("cannot start the transform: {e}"))?;
        let bound = Duration::from_millis(MAX_RUN_MS + GRACE_MS);
        match tokio::time::timeout(bound, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the transform stopped without a result".to_owned()),
            Err(_) => Err(Stop::Time.message()),
        }
    }
}
