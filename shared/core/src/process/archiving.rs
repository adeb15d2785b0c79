//! The batch kept in the archive before any of its records is processed.

use super::deadline::Deadline;
use super::{Process, QueuedRecord};
use crate::archive::ArchiveError;
use crate::envelope::Envelope;
use crate::ports::ObjectStoreError;

impl<St, Dl, Vi, H> Process<St, Dl, Vi, H> {
    /// Writes the batch's envelopes to the archive, when there is one. Unreadable envelopes are
    /// not events, and replayed ones are in the archive already (`inlet replay` read them from
    /// it), so neither is written. On failure the whole batch is retried, not only the records
    /// of the object that failed: a record left out would let later records of its FIFO group
    /// or key overtake it, and an archive that fails one write is down for the others too.
    ///
    /// A claim-checked body is copied into the archive inside S3 (never read here), and the
    /// archived envelope refers to the copy: its `claims/` object goes once the event is done,
    /// while the archive must still hold it when a replay asks. A reference that is refused, or
    /// whose object is gone, is left out, and its record is not processed either (it fails on
    /// its own, below).
    pub(super) async fn archive_batch(
        &self,
        records: &[QueuedRecord<'_>],
        parsed: &[Result<Envelope, crate::envelope::EnvelopeError>],
        clock: Deadline,
    ) -> Result<(), String> {
        let Some(archive) = &self.archive else {
            return Ok(());
        };
        let mut copied: Vec<Option<Envelope>> = vec![None; parsed.len()];
        for (index, envelope) in parsed.iter().enumerate() {
            let (Ok(envelope), Some(payloads)) = (envelope, &self.payloads) else {
                continue;
            };
            let Some(reference) = envelope
                .body_ref
                .as_ref()
                .filter(|_| envelope.replay.is_none())
            else {
                continue;
            };
            if payloads.check(reference).is_err() {
                continue;
            }
            match archive.keep_body(reference).await {
                Ok(copy) => {
                    let mut archived = envelope.clone();
                    archived.body_ref = Some(copy);
                    copied[index] = Some(archived);
                }
                Err(ArchiveError::Store(ObjectStoreError::NotFound(_))) => {}
                Err(error) => {
                    tracing::warn!(%error, records = records.len(), "could not copy a large body into the archive: every record will be retried");
                    return Err(format!(
                        "the batch could not be archived, so none of it was processed: {error}"
                    ));
                }
            }
        }
        let envelopes: Vec<&Envelope> = parsed
            .iter()
            .zip(&copied)
            .filter_map(|(parsed, copied)| match (parsed, copied) {
                (_, Some(archived)) => Some(archived),
                (Ok(envelope), None) if envelope.body_ref.is_none() => Some(envelope),
                _ => None,
            })
            .filter(|envelope| envelope.replay.is_none())
            .collect();
        if envelopes.is_empty() {
            return Ok(());
        }
        // Tells apart batches that start in the same millisecond in different functions,
        // without a random source: the batch's message ids are its own.
        let ids: Vec<&str> = records.iter().map(|r| r.message_id).collect();
        let tag = hex::encode(&inlet_signature::sha256(ids.join("\n").as_bytes())[..6]);
        match archive.write_batch(&envelopes, clock.now_ms, &tag).await {
            Ok(keys) => {
                tracing::info!(objects = ?keys, envelopes = envelopes.len(), "archived");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, records = records.len(), "could not archive the batch: every record will be retried");
                Err(format!(
                    "the batch could not be archived, so none of it was processed: {error}"
                ))
            }
        }
    }
}
