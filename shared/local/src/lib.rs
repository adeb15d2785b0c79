//! The local stack: the AWS resources `template.yaml` declares, created in whatever
//! `AWS_ENDPOINT_URL` points at (an emulator), and a poller that drives the process pipeline the
//! way Lambda's SQS event source mapping does.

pub mod emulator;
mod poll;
mod provision;
mod queues;

pub use poll::{Poll, Received, poll_once};
pub use provision::{
    DestinationClients, EMULATOR_ACCOUNT, ProvisionedDestination, Stack, StackSettings,
    create_bucket, create_destinations, provision, provision_destinations,
};
pub use queues::{
    DeadLetter, Progress, Redriven, Selection, delete, depth, peek, peek_all, redrive,
    redrive_selected,
};

#[derive(Debug, thiserror::Error)]
#[error("local stack: {step} failed: {detail}")]
pub struct StackError {
    step: &'static str,
    detail: String,
}

fn failed<E: std::error::Error>(step: &'static str) -> impl FnOnce(E) -> StackError {
    move |error| StackError {
        step,
        detail: one_line(&error),
    }
}

/// The longest [`one_line`] gets: the SDK's credential errors list every provider it tried with
/// their settings, hundreds of characters the reader does not need to see what went wrong.
const ONE_LINE_MAX: usize = 240;

/// An error and its causes on one short line, as a terminal user reads it: each cause that adds
/// something, joined by `: `, white space collapsed, cut at [`ONE_LINE_MAX`] characters.
pub fn one_line(error: &(dyn std::error::Error + '_)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + '_)> = Some(error);
    while let Some(error) = next {
        let text = error
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        // The SDK's wrappers repeat their cause, or say only "dispatch failure" / "other".
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = error.source();
    }
    let line = parts.join(": ");
    if line.chars().count() <= ONE_LINE_MAX {
        return line;
    }
    let mut cut: String = line.chars().take(ONE_LINE_MAX).collect();
    cut.push('…');
    cut
}
