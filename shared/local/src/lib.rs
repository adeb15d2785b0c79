//! The local stack: the AWS resources `template.yaml` declares, created in whatever
//! `AWS_ENDPOINT_URL` points at (an emulator), and a poller that drives the process pipeline the
//! way Lambda's SQS event source mapping does.

pub mod emulator;
mod poll;
mod provision;
mod queues;

pub use poll::{Poll, Received, poll_once};
pub use provision::{Stack, StackSettings, provision};
pub use queues::{DeadLetter, depth, peek, redrive};

#[derive(Debug, thiserror::Error)]
#[error("local stack: {step} failed: {detail}")]
pub struct StackError {
    step: &'static str,
    detail: String,
}

fn failed<E: std::error::Error>(step: &'static str) -> impl FnOnce(E) -> StackError {
    move |error| StackError {
        step,
        detail: aws_sdk_sqs::error::DisplayErrorContext(error).to_string(),
    }
}
