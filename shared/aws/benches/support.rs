//! For the ingest benchmark: a queue that discards, and a way to run a future that never waits.

use inlet_core::ports::{OutgoingMessage, Queue, QueueError};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Drops every message, so a long run does not grow memory.
#[derive(Debug, Default)]
pub struct DiscardQueue;

impl Queue for DiscardQueue {
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        std::hint::black_box(&message);
        Ok(String::new())
    }
}

/// Polls a future that the in-memory ports complete at once; a runtime would only add its own
/// overhead to what is measured.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}
