//! In-memory fakes of the ports, with switches to make them fail.
//!
//! Each fake is a handle: its clones share one state. A test gives a pipeline one clone and keeps
//! another to look at what the pipeline did, or to make the fake fail, without the pipeline
//! having to hand its ports back.

use super::{
    Claim, ClaimOutcome, IdempotencyStore, ObjectStore, ObjectStoreError, OutgoingMessage,
    Progress, Queue, QueueError, SecretStore, SecretStoreError, StoreError, Visibility,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

mod guards;

pub use guards::MemoryGuards;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A queue that keeps what it was sent.
#[derive(Debug, Default, Clone)]
pub struct MemoryQueue(Arc<QueueState>);

#[derive(Debug, Default)]
struct QueueState {
    sent: Mutex<Vec<OutgoingMessage>>,
    down: AtomicBool,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// While down, every send fails as an unreachable queue does.
    pub fn set_down(&self, down: bool) {
        self.0.down.store(down, Ordering::SeqCst);
    }

    pub fn messages(&self) -> Vec<OutgoingMessage> {
        lock(&self.0.sent).clone()
    }

    pub fn len(&self) -> usize {
        lock(&self.0.sent).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        lock(&self.0.sent).clear();
    }
}

impl Queue for MemoryQueue {
    async fn send(&self, message: OutgoingMessage) -> Result<String, QueueError> {
        if self.0.down.load(Ordering::SeqCst) {
            return Err(QueueError::Unavailable(
                "the in-memory queue is down".into(),
            ));
        }
        let mut sent = lock(&self.0.sent);
        sent.push(message);
        Ok(format!("memory-{}", sent.len()))
    }
}

/// A secret store over a map, counting reads.
#[derive(Debug, Default, Clone)]
pub struct MemorySecrets(Arc<SecretsState>);

#[derive(Debug, Default)]
struct SecretsState {
    values: Mutex<HashMap<String, String>>,
    reads: AtomicUsize,
    down: AtomicBool,
}

impl MemorySecrets {
    pub fn new<I: IntoIterator<Item = (String, String)>>(values: I) -> Self {
        Self(Arc::new(SecretsState {
            values: Mutex::new(values.into_iter().collect()),
            ..SecretsState::default()
        }))
    }

    pub fn set(&self, id: &str, value: &str) {
        lock(&self.0.values).insert(id.to_owned(), value.to_owned());
    }

    pub fn set_down(&self, down: bool) {
        self.0.down.store(down, Ordering::SeqCst);
    }

    pub fn reads(&self) -> usize {
        self.0.reads.load(Ordering::SeqCst)
    }
}

impl SecretStore for MemorySecrets {
    async fn secret_string(&self, id: &str) -> Result<String, SecretStoreError> {
        self.0.reads.fetch_add(1, Ordering::SeqCst);
        if self.0.down.load(Ordering::SeqCst) {
            return Err(SecretStoreError::Unavailable(
                "the in-memory store is down".into(),
            ));
        }
        lock(&self.0.values)
            .get(id)
            .cloned()
            .ok_or_else(|| SecretStoreError::NotFound(id.to_owned()))
    }

    async fn put_secret_string(&self, id: &str, value: &str) -> Result<(), SecretStoreError> {
        if self.0.down.load(Ordering::SeqCst) {
            return Err(SecretStoreError::Unavailable(
                "the in-memory store is down".into(),
            ));
        }
        // Like Secrets Manager, a new value goes only to a secret that exists.
        match lock(&self.0.values).get_mut(id) {
            Some(current) => {
                value.clone_into(current);
                Ok(())
            }
            None => Err(SecretStoreError::NotFound(id.to_owned())),
        }
    }
}

/// An idempotency store over a map, with the same conditions as the DynamoDB one, optional
/// latency per call (for the concurrency benchmark) and a switch to fail.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore(Arc<StoreState>);

#[derive(Debug, Default)]
struct StoreState {
    records: Mutex<HashMap<String, Record>>,
    calls: AtomicUsize,
    down: AtomicBool,
    /// How many of the next `complete` calls fail as unavailable.
    failing_completes: AtomicUsize,
    latency: Option<std::time::Duration>,
}

/// One record, as architecture.md § Idempotency record lays it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub status: RecordStatus,
    pub token: String,
    pub lease_until: i64,
    pub payload_sha256: String,
    pub attempts: u32,
    pub completed_at: Option<i64>,
    pub expires_at: i64,
    /// Routes settled by earlier tries (`done_routes`, `dead_routes` in DynamoDB).
    pub progress: Progress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    InProgress,
    /// Released with some routes settled: claimable at once, by the same payload.
    Partial,
    Completed,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every call sleeps this long first, as a network round trip would.
    pub fn with_latency(latency: std::time::Duration) -> Self {
        Self(Arc::new(StoreState {
            latency: Some(latency),
            ..StoreState::default()
        }))
    }

    pub fn set_down(&self, down: bool) {
        self.0.down.store(down, Ordering::SeqCst);
    }

    /// The next `times` completions fail as an unreachable store's would, after the claim and
    /// the action went through.
    pub fn fail_completes(&self, times: usize) {
        self.0.failing_completes.store(times, Ordering::SeqCst);
    }

    pub fn calls(&self) -> usize {
        self.0.calls.load(Ordering::SeqCst)
    }

    pub fn record(&self, key: &str) -> Option<Record> {
        lock(&self.0.records).get(key).cloned()
    }

    pub fn insert(&self, key: &str, record: Record) {
        lock(&self.0.records).insert(key.to_owned(), record);
    }

    async fn call(&self) -> Result<(), StoreError> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(latency) = self.0.latency {
            tokio::time::sleep(latency).await;
        }
        if self.0.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "the in-memory store is down".into(),
            ));
        }
        Ok(())
    }
}

impl IdempotencyStore for MemoryStore {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        self.call().await?;
        let mut records = lock(&self.0.records);
        let mut progress = Progress::default();
        if let Some(old) = records.get(&claim.key) {
            let claimable = old.payload_sha256 == claim.payload_sha256
                && (old.status == RecordStatus::Partial
                    || (old.status == RecordStatus::InProgress && old.lease_until < claim.now));
            if !claimable {
                return Ok(if old.payload_sha256 != claim.payload_sha256 {
                    ClaimOutcome::Conflict {
                        recorded_sha256: old.payload_sha256.clone(),
                    }
                } else if old.status == RecordStatus::Completed {
                    ClaimOutcome::Duplicate
                } else {
                    ClaimOutcome::Busy
                });
            }
            progress = old.progress.clone();
        }
        records.insert(
            claim.key.clone(),
            Record {
                status: RecordStatus::InProgress,
                token: claim.token.clone(),
                lease_until: claim.lease_until,
                payload_sha256: claim.payload_sha256.clone(),
                attempts: claim.attempts,
                completed_at: None,
                expires_at: claim.expires_at,
                progress: progress.clone(),
            },
        );
        Ok(ClaimOutcome::New { progress })
    }

    async fn complete(
        &self,
        key: &str,
        token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.call().await?;
        let failing =
            self.0
                .failing_completes
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(StoreError::Unavailable(
                "the in-memory store failed the completion".into(),
            ));
        }
        match lock(&self.0.records).get_mut(key) {
            Some(record) if record.token == token => {
                record.status = RecordStatus::Completed;
                record.completed_at = Some(now);
                record.expires_at = expires_at;
                Ok(())
            }
            _ => Err(StoreError::ClaimLost),
        }
    }

    async fn release(&self, key: &str, token: &str, progress: &Progress) -> Result<(), StoreError> {
        self.call().await?;
        let mut records = lock(&self.0.records);
        match records.get_mut(key) {
            Some(record) if record.token == token => {
                if progress.is_empty() {
                    records.remove(key);
                } else {
                    record.status = RecordStatus::Partial;
                    record.token.clear();
                    record.lease_until = 0;
                    record.progress = progress.clone();
                }
                Ok(())
            }
            _ => Err(StoreError::ClaimLost),
        }
    }
}

/// Remembers every visibility change.
#[derive(Debug, Default, Clone)]
pub struct MemoryVisibility(Arc<Mutex<Vec<(String, u32)>>>);

impl MemoryVisibility {
    pub fn changes(&self) -> Vec<(String, u32)> {
        lock(&self.0).clone()
    }
}

impl Visibility for MemoryVisibility {
    async fn delay(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        lock(&self.0).push((receipt_handle.to_owned(), seconds));
        Ok(())
    }
}

/// One bucket over a sorted map, counting calls, with a switch to fail.
#[derive(Debug, Clone)]
pub struct MemoryObjects(Arc<ObjectsState>);

#[derive(Debug, Default)]
struct ObjectsState {
    bucket: String,
    objects: Mutex<BTreeMap<String, StoredObject>>,
    down: AtomicBool,
    puts: AtomicUsize,
    gets: AtomicUsize,
    deletes: AtomicUsize,
    lists: AtomicUsize,
    copies: AtomicUsize,
}

/// An object as it was put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub body: Vec<u8>,
    pub content_type: String,
}

impl Default for MemoryObjects {
    fn default() -> Self {
        Self::new("inlet-payloads")
    }
}

impl MemoryObjects {
    pub fn new(bucket: impl Into<String>) -> Self {
        Self(Arc::new(ObjectsState {
            bucket: bucket.into(),
            ..ObjectsState::default()
        }))
    }

    /// While down, every call fails as an unreachable store's would (and is still counted).
    pub fn set_down(&self, down: bool) {
        self.0.down.store(down, Ordering::SeqCst);
    }

    /// Puts an object behind the pipeline's back (a test's setup).
    pub fn insert(&self, key: &str, body: impl Into<Vec<u8>>) {
        lock(&self.0.objects).insert(
            key.to_owned(),
            StoredObject {
                body: body.into(),
                content_type: "application/octet-stream".into(),
            },
        );
    }

    pub fn object(&self, key: &str) -> Option<StoredObject> {
        lock(&self.0.objects).get(key).cloned()
    }

    /// Every key held, in key order.
    pub fn keys(&self) -> Vec<String> {
        lock(&self.0.objects).keys().cloned().collect()
    }

    pub fn puts(&self) -> usize {
        self.0.puts.load(Ordering::SeqCst)
    }

    pub fn gets(&self) -> usize {
        self.0.gets.load(Ordering::SeqCst)
    }

    pub fn deletes(&self) -> usize {
        self.0.deletes.load(Ordering::SeqCst)
    }

    pub fn copies(&self) -> usize {
        self.0.copies.load(Ordering::SeqCst)
    }

    pub fn lists(&self) -> usize {
        self.0.lists.load(Ordering::SeqCst)
    }

    fn call(&self, counter: &AtomicUsize) -> Result<(), ObjectStoreError> {
        counter.fetch_add(1, Ordering::SeqCst);
        if self.0.down.load(Ordering::SeqCst) {
            return Err(ObjectStoreError::Unavailable(
                "the in-memory object store is down".into(),
            ));
        }
        Ok(())
    }
}

impl ObjectStore for MemoryObjects {
    fn bucket(&self) -> &str {
        &self.0.bucket
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> Result<(), ObjectStoreError> {
        self.call(&self.0.puts)?;
        lock(&self.0.objects).insert(
            key.to_owned(),
            StoredObject {
                body,
                content_type: content_type.to_owned(),
            },
        );
        Ok(())
    }

    /// Within its own bucket only: the fake holds one.
    async fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        key: &str,
    ) -> Result<(), ObjectStoreError> {
        self.call(&self.0.copies)?;
        if source_bucket != self.0.bucket {
            return Err(ObjectStoreError::Unavailable(format!(
                "the in-memory store holds only `{}`, not `{source_bucket}`",
                self.0.bucket
            )));
        }
        let mut objects = lock(&self.0.objects);
        let object = objects
            .get(source_key)
            .cloned()
            .ok_or_else(|| ObjectStoreError::NotFound(source_key.to_owned()))?;
        objects.insert(key.to_owned(), object);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError> {
        self.call(&self.0.gets)?;
        lock(&self.0.objects)
            .get(key)
            .map(|object| object.body.clone())
            .ok_or_else(|| ObjectStoreError::NotFound(key.to_owned()))
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.call(&self.0.deletes)?;
        // Like S3, deleting a key that is not there succeeds.
        lock(&self.0.objects).remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError> {
        self.call(&self.0.lists)?;
        Ok(lock(&self.0.objects)
            .keys()
            .filter(|key| key.starts_with(prefix))
            .cloned()
            .collect())
    }
}
