//! Claim checks: a delivery too large for the queue is kept in the payload bucket, and the
//! envelope carries a reference to it instead of the body (docs/architecture.md § Large
//! payloads). Ingest stores it ([`store`]) before queueing; process reads it back ([`fetch`])
//! before the action and deletes it once the event is done.
//!
//! A queued reference is input like any other: whoever can send to the queue could point it at
//! another bucket or key. [`fetch`] reads only from the store it is given (the deployment's
//! bucket) and only under [`CLAIMS_PREFIX`], and checks size and SHA-256 against what ingest
//! recorded, so a reference can neither read nor substitute anything else.

use crate::config::{CLAIMS_PREFIX, QUEUED_ENVELOPE_LIMIT};
use crate::envelope::{self, Envelope};
use crate::ports::{ObjectStore, ObjectStoreError};
use futures_util::future::BoxFuture;

/// The reference is part of the envelope's format, so it lives there; named here too, where the
/// bodies it points at are stored and read.
pub use crate::envelope::BodyRef;

/// The content type claim checks are stored with: the bytes as received, whatever they are.
const CONTENT_TYPE: &str = "application/octet-stream";

/// Why a claim check could not be stored or read. Each names its dead-letter or refusal code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The reference names another bucket, or a key outside `claims/`: hostile or corrupt, and
    /// never fetched. Permanent.
    #[error(
        "refused a payload reference to `{bucket}/{key}`: only `{CLAIMS_PREFIX}` in this deployment's bucket is read"
    )]
    Refused { bucket: String, key: String },
    /// The object is gone (deleted after its event completed, or expired). S3 is strongly
    /// consistent after a successful put, so it will not appear later. Permanent.
    #[error("the payload `{0}` is missing")]
    Missing(String),
    /// The object is not what ingest stored. Permanent.
    #[error("the payload `{key}` does not match its reference ({what})")]
    Mismatch { key: String, what: &'static str },
    /// The store failed; worth retrying.
    #[error(transparent)]
    Unavailable(ObjectStoreError),
}

impl ClaimError {
    /// The code a dead letter (or ingest's refusal) carries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused { .. } => "payload_ref_refused",
            Self::Missing(_) => "payload_missing",
            Self::Mismatch { .. } => "payload_mismatch",
            Self::Unavailable(_) => "payload_store_unavailable",
        }
    }

    /// Whether trying again could succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The object key of a delivery's claim check: under its source, unique per delivery (received
/// time and a hash of its event key and body), so deleting one event's object never removes
/// another's, and a provider's resend stores a copy of its own.
pub fn object_key(source: &str, event_key: &str, body: &[u8], received_ms: i64) -> String {
    object_key_for(
        source,
        event_key,
        &inlet_signature::sha256(body),
        received_ms,
    )
}

/// [`object_key`] from the body's SHA-256, for a body that is copied rather than read.
pub fn object_key_for(source: &str, event_key: &str, body_sha: &[u8], received_ms: i64) -> String {
    let mut seed = Vec::with_capacity(event_key.len() + body_sha.len());
    seed.extend_from_slice(event_key.as_bytes());
    seed.extend_from_slice(body_sha);
    let tag = hex::encode(inlet_signature::sha256(&seed));
    format!("{CLAIMS_PREFIX}{source}/{received_ms}-{}", &tag[..32])
}

/// Stores `body` under `key` and returns the reference for the envelope.
pub async fn store<O: ObjectStore>(
    objects: &O,
    key: String,
    body: &[u8],
) -> Result<BodyRef, ClaimError> {
    let reference = BodyRef {
        bucket: objects.bucket().to_owned(),
        size: u64::try_from(body.len()).unwrap_or(u64::MAX),
        sha256: hex::encode(inlet_signature::sha256(body)),
        key,
    };
    objects
        .put(&reference.key, body.to_vec(), CONTENT_TYPE)
        .await
        .map_err(ClaimError::Unavailable)?;
    Ok(reference)
}

/// Copies the body `reference` names (in any bucket: the archive's) to a new claim check under
/// `key` in `objects`, inside the object store, and gives the new reference.
pub async fn adopt<O: ObjectStore>(
    objects: &O,
    reference: &BodyRef,
    key: String,
) -> Result<BodyRef, ClaimError> {
    match objects.copy(&reference.bucket, &reference.key, &key).await {
        Ok(()) => Ok(BodyRef {
            bucket: objects.bucket().to_owned(),
            key,
            size: reference.size,
            sha256: reference.sha256.clone(),
        }),
        Err(ObjectStoreError::NotFound(key)) => Err(ClaimError::Missing(key)),
        Err(error) => Err(ClaimError::Unavailable(error)),
    }
}

/// Whether `reference` may be read from `objects`: its bucket, and a plain key under `claims/`
/// (no `..` or empty segments that could mean something else to another reader).
pub fn check<O: ObjectStore>(objects: &O, reference: &BodyRef) -> Result<(), ClaimError> {
    check_in(objects.bucket(), reference)
}

fn check_in(bucket: &str, reference: &BodyRef) -> Result<(), ClaimError> {
    let inside = reference
        .key
        .strip_prefix(CLAIMS_PREFIX)
        .is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .split('/')
                    .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
        });
    if reference.bucket != bucket || !inside {
        return Err(ClaimError::Refused {
            bucket: reference.bucket.clone(),
            key: reference.key.clone(),
        });
    }
    Ok(())
}

/// The body `reference` points at, checked against its size and SHA-256. A refused reference is
/// never fetched.
pub async fn fetch<O: ObjectStore>(
    objects: &O,
    reference: &BodyRef,
) -> Result<Vec<u8>, ClaimError> {
    check(objects, reference)?;
    let body = match objects.get(&reference.key).await {
        Ok(body) => body,
        Err(ObjectStoreError::NotFound(key)) => return Err(ClaimError::Missing(key)),
        Err(error) => return Err(ClaimError::Unavailable(error)),
    };
    if u64::try_from(body.len()).ok() != Some(reference.size) {
        return Err(ClaimError::Mismatch {
            key: reference.key.clone(),
            what: "size",
        });
    }
    if hex::encode(inlet_signature::sha256(&body)) != reference.sha256 {
        return Err(ClaimError::Mismatch {
            key: reference.key.clone(),
            what: "sha256",
        });
    }
    Ok(body)
}

/// Deletes a done event's claim check, best effort: a failure is logged and left to the bucket's
/// lifecycle expiry. A refused reference is never touched.
pub async fn discard<O: ObjectStore>(objects: &O, reference: &BodyRef) {
    if check(objects, reference).is_err() {
        return;
    }
    if let Err(error) = objects.delete(&reference.key).await {
        tracing::warn!(key = %reference.key, %error, "could not delete the claim check; the bucket's lifecycle will expire it");
    }
}

/// Whether the queue takes `envelope` as one message, with the attributes it is sent with.
pub fn fits_queue(envelope: &Envelope) -> bool {
    envelope::message_bytes(&envelope.to_json(), &envelope.attributes()) <= QUEUED_ENVELOPE_LIMIT
}

/// The claim-check store as the pipelines hold it: behind a trait object, so that having one
/// (or not) leaves a pipeline's type alone. [`ClaimChecks`] is the one implementation.
pub trait PayloadStore: Send + Sync + std::fmt::Debug {
    /// The deployment's bucket, the only one references may name.
    fn bucket(&self) -> &str;
    fn store<'a>(
        &'a self,
        key: String,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<BodyRef, ClaimError>>;
    fn fetch<'a>(&'a self, reference: &'a BodyRef) -> BoxFuture<'a, Result<Vec<u8>, ClaimError>>;
    fn discard<'a>(&'a self, reference: &'a BodyRef) -> BoxFuture<'a, ()>;
    fn adopt<'a>(
        &'a self,
        reference: &'a BodyRef,
        key: String,
    ) -> BoxFuture<'a, Result<BodyRef, ClaimError>>;

    /// Whether `reference` may be read at all ([`check`]), without reading it.
    fn check(&self, reference: &BodyRef) -> Result<(), ClaimError> {
        check_in(self.bucket(), reference)
    }
}

/// Claim checks kept in an object store, under `claims/`.
#[derive(Debug, Clone)]
pub struct ClaimChecks<O>(pub O);

impl<O: ObjectStore + std::fmt::Debug> PayloadStore for ClaimChecks<O> {
    fn bucket(&self) -> &str {
        self.0.bucket()
    }
    fn store<'a>(
        &'a self,
        key: String,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<BodyRef, ClaimError>> {
        Box::pin(store(&self.0, key, body))
    }
    fn fetch<'a>(&'a self, reference: &'a BodyRef) -> BoxFuture<'a, Result<Vec<u8>, ClaimError>> {
        Box::pin(fetch(&self.0, reference))
    }
    fn discard<'a>(&'a self, reference: &'a BodyRef) -> BoxFuture<'a, ()> {
        Box::pin(discard(&self.0, reference))
    }
    fn adopt<'a>(
        &'a self,
        reference: &'a BodyRef,
        key: String,
    ) -> BoxFuture<'a, Result<BodyRef, ClaimError>> {
        Box::pin(adopt(&self.0, reference, key))
    }
}

/// Moves `envelope`'s body into `payloads` and leaves a reference in its place; `received_ms`
/// keys the object. For an envelope its caller found too large for the queue (both callers
/// have measured it already, and serialising a megabyte again to ask would be work twice).
/// Gives the reference it stored, for the caller to discard if the envelope is then not queued;
/// `None` when the body is already a reference.
pub async fn offload(
    payloads: &dyn PayloadStore,
    envelope: &mut Envelope,
    received_ms: i64,
) -> Result<Option<BodyRef>, OffloadError> {
    if envelope.body_ref.is_some() {
        return Ok(None);
    }
    let body = envelope
        .body_bytes()
        .map_err(|_| OffloadError::Unreadable)?;
    let key = object_key(&envelope.source, &envelope.key, &body, received_ms);
    let reference = payloads
        .store(key, &body)
        .await
        .map_err(OffloadError::Store)?;
    envelope.body = None;
    envelope.body_b64 = None;
    envelope.body_ref = Some(reference.clone());
    if !fits_queue(envelope) {
        // Only the headers are left to make it large: ingest keeps a handful, so this is an
        // envelope from elsewhere (`inlet replay` of a hand-edited archive).
        payloads.discard(&reference).await;
        return Err(OffloadError::StillTooLarge);
    }
    Ok(Some(reference))
}

/// Why an envelope could not be made to fit the queue.
#[derive(Debug, thiserror::Error)]
pub enum OffloadError {
    #[error("the body could not be stored: {0}")]
    Store(ClaimError),
    #[error("the envelope's body_b64 is not base64")]
    Unreadable,
    #[error(
        "even without its body, the envelope is over the {QUEUED_ENVELOPE_LIMIT} bytes the queue takes from ingest"
    )]
    StillTooLarge,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::memory::MemoryObjects;

    const BODY: &[u8] = b"{\"large\":\"payload\"}";

    async fn stored(objects: &MemoryObjects) -> BodyRef {
        let key = object_key("github", "github#d1", BODY, 1_795_352_400_000);
        store(objects, key, BODY).await.unwrap()
    }

    #[tokio::test]
    async fn a_stored_body_comes_back_byte_for_byte() {
        let objects = MemoryObjects::new("inlet-payloads");
        let reference = stored(&objects).await;
        assert_eq!(reference.bucket, "inlet-payloads");
        assert!(
            reference.key.starts_with("claims/github/1795352400000-"),
            "{}",
            reference.key
        );
        assert_eq!(reference.size, BODY.len() as u64);
        assert_eq!(reference.sha256, hex::encode(inlet_signature::sha256(BODY)));
        let object = objects.object(&reference.key).unwrap();
        assert_eq!(object.content_type, CONTENT_TYPE);
        assert_eq!(fetch(&objects, &reference).await.unwrap(), BODY);
        discard(&objects, &reference).await;
        assert!(objects.keys().is_empty());
    }

    #[test]
    fn keys_differ_per_delivery_and_stay_under_the_source() {
        let a = object_key("github", "github#d1", BODY, 1);
        assert_eq!(a, object_key("github", "github#d1", BODY, 1));
        assert_ne!(a, object_key("github", "github#d2", BODY, 1));
        assert_ne!(a, object_key("github", "github#d1", b"other", 1));
        assert_ne!(a, object_key("github", "github#d1", BODY, 2));
    }

    #[tokio::test]
    async fn the_store_failing_is_transient() {
        let objects = MemoryObjects::new("inlet-payloads");
        objects.set_down(true);
        let error = store(&objects, "claims/github/x".into(), BODY)
            .await
            .unwrap_err();
        assert!(error.is_transient());
        assert_eq!(error.code(), "payload_store_unavailable");

        objects.set_down(false);
        let reference = stored(&objects).await;
        objects.set_down(true);
        let error = fetch(&objects, &reference).await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        // Deleting is best effort: a failure leaves the object to expire.
        discard(&objects, &reference).await;
        objects.set_down(false);
        assert_eq!(objects.keys(), std::slice::from_ref(&reference.key));
    }

    #[tokio::test]
    async fn a_reference_outside_the_bucket_or_claims_is_refused_unread() {
        let objects = MemoryObjects::new("inlet-payloads");
        objects.insert("archive/2026/11/28/batch.gz", BODY);
        objects.insert("claims/github/x", BODY);
        let good = BodyRef {
            bucket: "inlet-payloads".into(),
            key: "claims/github/x".into(),
            size: BODY.len() as u64,
            sha256: hex::encode(inlet_signature::sha256(BODY)),
        };
        let hostile = [
            BodyRef {
                bucket: "someone-elses-bucket".into(),
                ..good.clone()
            },
            BodyRef {
                key: "archive/2026/11/28/batch.gz".into(),
                ..good.clone()
            },
            BodyRef {
                key: "claims/".into(),
                ..good.clone()
            },
            BodyRef {
                key: "claims/../archive/2026/11/28/batch.gz".into(),
                ..good.clone()
            },
            BodyRef {
                key: "claims//x".into(),
                ..good.clone()
            },
            BodyRef {
                key: "/claims/github/x".into(),
                ..good.clone()
            },
        ];
        for reference in hostile {
            let error = fetch(&objects, &reference).await.unwrap_err();
            assert_eq!(error.code(), "payload_ref_refused", "{reference:?}");
            assert!(!error.is_transient());
            discard(&objects, &reference).await;
        }
        assert_eq!(objects.gets(), 0, "nothing was fetched");
        assert_eq!(objects.deletes(), 0, "nothing was deleted");
        assert_eq!(fetch(&objects, &good).await.unwrap(), BODY);
    }

    #[tokio::test]
    async fn a_missing_or_altered_object_is_permanent() {
        let objects = MemoryObjects::new("inlet-payloads");
        let reference = stored(&objects).await;
        objects.insert(&reference.key, b"{\"large\":\"payloaX\"}".to_vec());
        let error = fetch(&objects, &reference).await.unwrap_err();
        assert_eq!(error.code(), "payload_mismatch");
        assert!(error.to_string().contains("sha256"), "{error}");
        objects.insert(&reference.key, b"short".to_vec());
        let error = fetch(&objects, &reference).await.unwrap_err();
        assert!(error.to_string().contains("size"), "{error}");
        assert!(!error.is_transient());

        discard(&objects, &reference).await;
        let error = fetch(&objects, &reference).await.unwrap_err();
        assert_eq!(error, ClaimError::Missing(reference.key.clone()));
        assert_eq!(error.code(), "payload_missing");
        assert!(!error.is_transient());
    }

    #[test]
    fn the_reference_s_wire_shape() {
        let reference = BodyRef {
            bucket: "inlet-payloads".into(),
            key: "claims/github/1-ab".into(),
            size: 3_000_000,
            sha256: "00".repeat(32),
        };
        let json = serde_json::to_value(&reference).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "bucket": "inlet-payloads",
                "key": "claims/github/1-ab",
                "size": 3_000_000,
                "sha256": "00".repeat(32),
            })
        );
    }
}
