//! In-memory fakes of the ports, with switches to make them fail.

use super::{OutgoingMessage, Queue, QueueError, SecretStore, SecretStoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A queue that keeps what it was sent.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    sent: Mutex<Vec<OutgoingMessage>>,
    down: AtomicBool,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// While down, every send fails as an unreachable queue does.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn messages(&self) -> Vec<OutgoingMessage> {
        lock(&self.sent).clone()
    }

    pub fn len(&self) -> usize {
        lock(&self.sent).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        lock(&self.sent).clear();
    }
}

impl Queue for MemoryQueue {
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(QueueError::Unavailable(
                "the in-memory queue is down".into(),
            ));
        }
        let mut sent = lock(&self.sent);
        sent.push(message);
        Ok(format!("memory-{}", sent.len()))
    }
}

/// A secret store over a map, counting reads.
#[derive(Debug, Default)]
pub struct MemorySecrets {
    values: Mutex<HashMap<String, String>>,
    reads: AtomicUsize,
    down: AtomicBool,
}

impl MemorySecrets {
    pub fn new<I: IntoIterator<Item = (String, String)>>(values: I) -> Self {
        Self {
            values: Mutex::new(values.into_iter().collect()),
            ..Self::default()
        }
    }

    pub fn set(&self, id: &str, value: &str) {
        lock(&self.values).insert(id.to_owned(), value.to_owned());
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl SecretStore for MemorySecrets {
    async fn secret_string(&self, id: &str) -> Result<String, SecretStoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(SecretStoreError::Unavailable(
                "the in-memory store is down".into(),
            ));
        }
        lock(&self.values)
            .get(id)
            .cloned()
            .ok_or_else(|| SecretStoreError::NotFound(id.to_owned()))
    }
}
