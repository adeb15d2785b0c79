//! A run's bounds, and why a run was stopped.

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
pub(super) const GRACE_MS: u64 = 250;
/// Error messages carried to a dead letter are cut at this many bytes.
pub(super) const MAX_MESSAGE_BYTES: usize = 1024;
/// A refused output nested deeper than this is leaked, not dropped: dropping recurses.
pub(super) const DROP_SAFE_DEPTH: usize = 10_000;

/// Why a run was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    Time,
    Depth,
}

impl Stop {
    pub(super) fn message(self) -> String {
        match self {
            Self::Time => format!("the transform did not finish within {MAX_RUN_MS} ms"),
            Self::Depth => format!(
                "the transform recursed too deeply (past {} MiB of stack)",
                STACK_LIMIT / (1024 * 1024)
            ),
        }
    }
}
