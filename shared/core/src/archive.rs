//! The archive: every verified envelope kept in S3, batched and laid out by time, so that
//! `inlet replay` can put a window's events back on the queue (architecture.md § Archive).
//!
//! One object per processed batch and hour, not one per delivery: S3 charges per request, and a
//! PUT per delivery would cost more than the rest of the pipeline together. An object holds the
//! envelopes as JSON lines, gzip-compressed, under
//! `<prefix>YYYY/MM/DD/HH/<batch start ms>-<tag>.jsonl.gz`. The hour is that of the envelopes'
//! `received_at` (a batch spanning an hour boundary writes one object per hour), so a window is
//! listed by its hours' prefixes alone and no envelope of the window sits under another hour.
//!
//! A claim-checked body (`body_ref`) is not read into the batch: it is copied, inside S3, from
//! `claims/` to `<prefix>bodies/`, and the archived envelope refers to the copy, which lives as
//! long as the archive while the claim check goes once its event is done.

use crate::config::CLAIMS_PREFIX;
use crate::envelope::{BodyRef, Envelope};
use crate::ports::{ObjectStore, ObjectStoreError};
use futures_util::future::BoxFuture;
use inlet_signature::clock;
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};

/// What an archived object is, for whoever downloads one by hand.
pub const CONTENT_TYPE: &str = "application/gzip";
/// Every archived object's name ends so.
pub const SUFFIX: &str = ".jsonl.gz";

const HOUR_MS: i64 = 3_600_000;

/// A decompressed object beyond this is refused rather than read: the largest batch (10
/// envelopes of at most 1 MiB each, a little more once escaped) stays well under it, and a
/// hostile or corrupt object must not exhaust the reader's memory.
pub const MAX_OBJECT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot compress the batch: {0}")]
    Compress(#[source] std::io::Error),
    #[error("the object is not gzip-compressed JSON lines: {0}")]
    Decompress(#[source] std::io::Error),
    #[error("the object is larger than {MAX_OBJECT_BYTES} bytes once decompressed")]
    TooLarge,
    #[error(transparent)]
    Store(#[from] ObjectStoreError),
}

/// Where the archive's objects go, under a prefix ending in `/` (`archive/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    prefix: String,
}

impl Layout {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Where the archive keeps claim-checked bodies: beside the hours, not under one, so a
    /// window's listing holds only batches.
    pub fn bodies_prefix(&self) -> String {
        format!("{}bodies/", self.prefix)
    }

    /// `<prefix>2026/11/28/14/`: every object of the hour that holds `at_ms`.
    pub fn hour_prefix(&self, at_ms: i64) -> String {
        // `2026-11-28T14:00:00.000Z`: the calendar fields at fixed offsets.
        let text = clock::format_rfc3339_millis(hour_of(at_ms));
        format!(
            "{}{}/{}/{}/{}/",
            self.prefix,
            &text[0..4],
            &text[5..7],
            &text[8..10],
            &text[11..13]
        )
    }

    /// The object for the envelopes of the hour holding `hour_ms`, written by the batch that
    /// started at `batch_ms`; `tag` tells apart batches that started in the same millisecond.
    pub fn object_key(&self, hour_ms: i64, batch_ms: i64, tag: &str) -> String {
        format!("{}{batch_ms}-{tag}{SUFFIX}", self.hour_prefix(hour_ms))
    }

    /// The hour prefixes covering `[since_ms, until_ms)`, oldest first.
    pub fn window(&self, since_ms: i64, until_ms: i64) -> Vec<String> {
        let mut prefixes = Vec::new();
        let mut hour = hour_of(since_ms);
        while hour < until_ms {
            prefixes.push(self.hour_prefix(hour));
            hour += HOUR_MS;
        }
        prefixes
    }
}

/// The start of the hour holding `ms`.
pub fn hour_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// An envelope's `received_at` (RFC 3339, ingest writes milliseconds) in epoch milliseconds.
pub fn received_at_ms(text: &str) -> Option<i64> {
    let seconds = clock::parse_rfc3339(text)?;
    // The parser drops the fraction; the milliseconds matter at a window's edges.
    let millis = text
        .split_once('.')
        .map(|(_, fraction)| {
            let digits: String = fraction
                .chars()
                .take_while(char::is_ascii_digit)
                .chain(std::iter::repeat('0'))
                .take(3)
                .collect();
            digits.parse::<i64>().unwrap_or(0)
        })
        .unwrap_or(0);
    seconds.checked_mul(1000)?.checked_add(millis)
}

/// The envelopes as gzip-compressed JSON lines.
pub fn encode(envelopes: &[&Envelope]) -> Result<Vec<u8>, ArchiveError> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for envelope in envelopes {
        encoder
            .write_all(envelope.to_json().as_bytes())
            .and_then(|()| encoder.write_all(b"\n"))
            .map_err(ArchiveError::Compress)?;
    }
    encoder.finish().map_err(ArchiveError::Compress)
}

/// What an archived object held.
#[derive(Debug, Default)]
pub struct Decoded {
    pub envelopes: Vec<Envelope>,
    /// Lines that were not envelopes, by their 1-based line number and why.
    pub bad_lines: Vec<(usize, String)>,
}

/// Reads an archived object. An object that does not decompress is an error; a line that is not
/// an envelope is listed in `bad_lines` and the rest is read.
pub fn decode(bytes: &[u8]) -> Result<Decoded, ArchiveError> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_OBJECT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(ArchiveError::Decompress)?;
    if text.len() as u64 > MAX_OBJECT_BYTES {
        return Err(ArchiveError::TooLarge);
    }
    let mut decoded = Decoded::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match Envelope::from_json(line) {
            Ok(envelope) => decoded.envelopes.push(envelope),
            Err(error) => decoded.bad_lines.push((index + 1, error.to_string())),
        }
    }
    Ok(decoded)
}

/// Writes batches of envelopes to the archive.
#[derive(Debug, Clone)]
pub struct Archive<O> {
    objects: O,
    layout: Layout,
}

impl<O: ObjectStore> Archive<O> {
    pub fn new(objects: O, prefix: impl Into<String>) -> Self {
        Self {
            objects,
            layout: Layout::new(prefix),
        }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Stores `envelopes`, one object per hour of their `received_at` (an unreadable one counts
    /// under the batch's hour), and gives the keys written. `Ok` only once every object is
    /// stored: a failure leaves the caller to retry the whole batch, and an object written
    /// before it is only a copy that replay de-duplicates.
    pub async fn write_batch(
        &self,
        envelopes: &[&Envelope],
        batch_ms: i64,
        tag: &str,
    ) -> Result<Vec<String>, ArchiveError> {
        let mut by_hour: BTreeMap<i64, Vec<&Envelope>> = BTreeMap::new();
        for envelope in envelopes {
            let at = received_at_ms(&envelope.received_at).unwrap_or(batch_ms);
            by_hour.entry(hour_of(at)).or_default().push(envelope);
        }
        let mut written = Vec::with_capacity(by_hour.len());
        for (hour, envelopes) in by_hour {
            let key = self.layout.object_key(hour, batch_ms, tag);
            let body = encode(&envelopes)?;
            self.objects.put(&key, body, CONTENT_TYPE).await?;
            written.push(key);
        }
        Ok(written)
    }

    /// Copies the claim check `reference` names into the archive, under `<prefix>bodies/` and
    /// the same name, and gives the reference to the copy. `Store(NotFound)` when the claim
    /// check is gone.
    pub async fn keep_body(&self, reference: &BodyRef) -> Result<BodyRef, ArchiveError> {
        let name = reference
            .key
            .strip_prefix(CLAIMS_PREFIX)
            .unwrap_or(&reference.key);
        let key = format!("{}{name}", self.layout.bodies_prefix());
        self.objects
            .copy(&reference.bucket, &reference.key, &key)
            .await?;
        Ok(BodyRef {
            bucket: self.objects.bucket().to_owned(),
            key,
            size: reference.size,
            sha256: reference.sha256.clone(),
        })
    }
}

/// The archive as the process pipeline holds it: object-safe, so that an archive (or none)
/// does not change the pipeline's type.
pub trait BatchArchive: Send + Sync + std::fmt::Debug {
    fn write_batch<'a>(
        &'a self,
        envelopes: &'a [&'a Envelope],
        batch_ms: i64,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, ArchiveError>>;
    fn keep_body<'a>(
        &'a self,
        reference: &'a BodyRef,
    ) -> BoxFuture<'a, Result<BodyRef, ArchiveError>>;
}

impl<O: ObjectStore + std::fmt::Debug> BatchArchive for Archive<O> {
    fn write_batch<'a>(
        &'a self,
        envelopes: &'a [&'a Envelope],
        batch_ms: i64,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, ArchiveError>> {
        Box::pin(Archive::write_batch(self, envelopes, batch_ms, tag))
    }
    fn keep_body<'a>(
        &'a self,
        reference: &'a BodyRef,
    ) -> BoxFuture<'a, Result<BodyRef, ArchiveError>> {
        Box::pin(Archive::keep_body(self, reference))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{VERSION, idempotency_key};
    use crate::ports::memory::MemoryObjects;

    /// 2026-11-28T14:03:20.123Z
    const BATCH_MS: i64 = 1_795_874_600_123;

    fn envelope(event_id: &str, received_at: &str) -> Envelope {
        let mut envelope = Envelope {
            v: VERSION,
            key: idempotency_key("github", event_id),
            source: "github".into(),
            scheme: "github".into(),
            event_type: Some("push".into()),
            event_id: event_id.into(),
            received_at: received_at.into(),
            headers: BTreeMap::new(),
            body: None,
            body_b64: None,
            replay: None,
            body_ref: None,
            schema_errors: None,
            traceparent: None,
            tracestate: None,
        };
        envelope.set_body(format!("{{\"id\":\"{event_id}\"}}").as_bytes());
        envelope
    }

    #[test]
    fn objects_are_laid_out_by_hour() {
        let layout = Layout::new("archive/");
        assert_eq!(
            clock::format_rfc3339_millis(BATCH_MS),
            "2026-11-28T14:03:20.123Z"
        );
        assert_eq!(layout.hour_prefix(BATCH_MS), "archive/2026/11/28/14/");
        assert_eq!(
            layout.object_key(BATCH_MS, BATCH_MS, "ab12"),
            format!("archive/2026/11/28/14/{BATCH_MS}-ab12.jsonl.gz")
        );
        // [13:59:59.999, 16:00) takes hours 13, 14 and 15; 16:00 itself is outside.
        let since = BATCH_MS - 4 * 60_000 - 124;
        let until = hour_of(BATCH_MS) + 2 * HOUR_MS;
        assert_eq!(
            layout.window(since, until),
            [
                "archive/2026/11/28/13/",
                "archive/2026/11/28/14/",
                "archive/2026/11/28/15/"
            ]
        );
        assert!(layout.window(until, until).is_empty());
    }

    #[test]
    fn received_at_is_read_to_the_millisecond() {
        assert_eq!(received_at_ms("2026-11-28T14:03:20.123Z"), Some(BATCH_MS));
        assert_eq!(
            received_at_ms("2026-11-28T14:03:20.1Z"),
            Some(BATCH_MS - 23)
        );
        assert_eq!(received_at_ms("2026-11-28T14:03:20Z"), Some(BATCH_MS - 123));
        assert_eq!(received_at_ms("yesterday"), None);
    }

    #[test]
    fn an_object_round_trips_and_bad_lines_are_listed_not_fatal() {
        let a = envelope("a", "2026-11-28T14:00:00.000Z");
        let b = envelope("b", "2026-11-28T14:00:01.000Z");
        let decoded = decode(&encode(&[&a, &b]).unwrap()).unwrap();
        assert_eq!(decoded.envelopes, [a.clone(), b]);
        assert!(decoded.bad_lines.is_empty());

        let mut mixed = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        mixed
            .write_all(format!("{}\nnot json\n\n", a.to_json()).as_bytes())
            .unwrap();
        let decoded = decode(&mixed.finish().unwrap()).unwrap();
        assert_eq!(decoded.envelopes, [a]);
        assert_eq!(decoded.bad_lines.len(), 1);
        assert_eq!(decoded.bad_lines[0].0, 2);

        assert!(matches!(
            decode(b"plain text, not gzip"),
            Err(ArchiveError::Decompress(_))
        ));
    }

    #[tokio::test]
    async fn a_batch_is_one_object_per_hour_of_its_envelopes() {
        let objects = MemoryObjects::new("archive-bucket");
        let archive = Archive::new(objects.clone(), "archive/");
        let early = envelope("early", "2026-11-28T13:59:59.900Z");
        let on_time = [
            envelope("a", "2026-11-28T14:00:00.000Z"),
            envelope("b", "2026-11-28T14:02:00.000Z"),
        ];
        let batch = [&early, &on_time[0], &on_time[1]];

        let written = archive.write_batch(&batch, BATCH_MS, "t1").await.unwrap();

        assert_eq!(
            written,
            [
                format!("archive/2026/11/28/13/{BATCH_MS}-t1.jsonl.gz"),
                format!("archive/2026/11/28/14/{BATCH_MS}-t1.jsonl.gz"),
            ]
        );
        let listed = objects.list("archive/2026/11/28/14/").await.unwrap();
        assert_eq!(listed, [written[1].clone()]);
        let stored = decode(&objects.get(&written[1]).await.unwrap()).unwrap();
        assert_eq!(stored.envelopes, on_time);
        let stored = decode(&objects.get(&written[0]).await.unwrap()).unwrap();
        assert_eq!(stored.envelopes, [early]);
    }

    #[tokio::test]
    async fn a_failed_write_fails_the_batch() {
        let objects = MemoryObjects::new("archive-bucket");
        objects.set_down(true);
        let archive = Archive::new(objects.clone(), "archive/");
        let a = envelope("a", "2026-11-28T14:00:00.000Z");
        let result = BatchArchive::write_batch(&archive, &[&a], BATCH_MS, "t1").await;
        assert!(matches!(
            result,
            Err(ArchiveError::Store(ObjectStoreError::Unavailable(_)))
        ));
    }
}
