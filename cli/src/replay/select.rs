//! Reading the window: the archive's objects of its hours listed and read, the events the run
//! asks for kept, one per key.

use crate::dlq::Shown;
use crate::error::CliError;
use inlet_core::archive::{self, Layout};
use inlet_core::envelope::Envelope;
use inlet_core::ports::{ObjectStore, ObjectStoreError};
use inlet_local::Progress;
use std::collections::HashMap;

/// What a run selects.
#[derive(Debug)]
pub(super) struct Filter<'a> {
    pub(super) since_ms: i64,
    pub(super) until_ms: i64,
    pub(super) source: Option<&'a str>,
    pub(super) event_type: Option<&'a str>,
}

impl Filter<'_> {
    fn takes(&self, envelope: &Envelope) -> bool {
        let in_window = archive::received_at_ms(&envelope.received_at)
            .is_some_and(|at| at >= self.since_ms && at < self.until_ms);
        let of_source = self.source.is_none_or(|s| envelope.source == s);
        let of_type = self.event_type.is_none_or(|wanted| {
            envelope
                .event_type
                .as_deref()
                .is_some_and(|t| match wanted.strip_suffix('*') {
                    Some(prefix) => t.starts_with(prefix),
                    None => t == wanted,
                })
        });
        in_window && of_source && of_type
    }
}

/// What reading the window came to.
#[derive(Debug, Default)]
pub(super) struct Selected {
    /// One per key, the earliest received copy, in the order first found.
    pub(super) events: Vec<Envelope>,
    pub(super) objects: usize,
    pub(super) found: usize,
    pub(super) filtered_out: usize,
    pub(super) duplicates: usize,
    /// Events of the window this run had already done, taken out of `events` (`--id` only).
    pub(super) already_done: Option<usize>,
    /// One line per object or line that was skipped.
    pub(super) skipped: Vec<String>,
}

/// Lists and reads every object of the window's hours, keeping what `filter` takes.
pub(super) async fn select<O: ObjectStore>(
    objects: &O,
    layout: &Layout,
    filter: &Filter<'_>,
    progress: &mut Shown,
) -> Result<Selected, CliError> {
    let mut keys = Vec::new();
    for prefix in layout.window(filter.since_ms, filter.until_ms) {
        let listed = objects.list(&prefix).await.map_err(|error| {
            CliError::Failed(format!(
                "cannot list s3://{}/{prefix}: {error}",
                objects.bucket()
            ))
        })?;
        keys.extend(listed.into_iter().filter(|k| k.ends_with(archive::SUFFIX)));
    }
    let mut selected = Selected {
        objects: keys.len(),
        ..Selected::default()
    };
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let total = keys.len();
    for (done, key) in keys.iter().enumerate() {
        progress.show(Progress {
            doing: "reading the archive",
            done,
            total: Some(total),
        });
        let bytes = match objects.get(key).await {
            Ok(bytes) => bytes,
            Err(ObjectStoreError::NotFound(_)) => {
                selected
                    .skipped
                    .push(format!("{key}: missing (gone since it was listed)"));
                continue;
            }
            Err(error) => {
                selected
                    .skipped
                    .push(format!("{key}: cannot read: {error}"));
                continue;
            }
        };
        let decoded = match archive::decode(&bytes) {
            Ok(decoded) => decoded,
            Err(error) => {
                selected.skipped.push(format!("{key}: unreadable: {error}"));
                continue;
            }
        };
        for (line, why) in &decoded.bad_lines {
            selected
                .skipped
                .push(format!("{key} line {line}: not an envelope: {why}"));
        }
        for envelope in decoded.envelopes {
            selected.found += 1;
            if !filter.takes(&envelope) {
                selected.filtered_out += 1;
                continue;
            }
            match by_key.get(&envelope.key) {
                Some(&index) => {
                    selected.duplicates += 1;
                    let kept = &mut selected.events[index];
                    // Keep the first delivery of the event: the one its first run saw.
                    if envelope.received_at < kept.received_at {
                        *kept = envelope;
                    }
                }
                None => {
                    by_key.insert(envelope.key.clone(), selected.events.len());
                    selected.events.push(envelope);
                }
            }
        }
    }
    progress.show(Progress {
        doing: "reading the archive",
        done: total,
        total: Some(total),
    });
    progress.finish();
    Ok(selected)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::replay::tests::{NOW_MS, event};
    use crate::replay::window::parse_time;
    use inlet_core::archive::Archive;
    use inlet_core::ports::memory::MemoryObjects;

    #[tokio::test]
    async fn the_window_is_filtered_de_duplicated_and_bad_objects_skipped() {
        let objects = MemoryObjects::new("b");
        let archive = Archive::new(objects.clone(), "archive/");
        let inside = event("github", "a", "push", "2026-11-28T14:00:00.000Z");
        let copy = event("github", "a", "push", "2026-11-28T14:00:05.000Z");
        let other_type = event("github", "b", "issues", "2026-11-28T14:10:00.000Z");
        let other_source = event("stripe", "c", "push", "2026-11-28T14:20:00.000Z");
        let too_late = event("github", "d", "push", "2026-11-28T15:00:00.000Z");
        let too_early = event("github", "e", "push", "2026-11-28T13:59:59.999Z");
        archive
            .write_batch(&[&copy, &other_type, &too_early], NOW_MS, "t1")
            .await
            .unwrap();
        archive
            .write_batch(&[&inside, &other_source, &too_late], NOW_MS, "t2")
            .await
            .unwrap();
        objects.insert(
            "archive/2026/11/28/14/1-corrupt.jsonl.gz",
            b"not gzip".to_vec(),
        );
        let filter = Filter {
            since_ms: parse_time("2026-11-28T14:00:00Z", 0).unwrap(),
            until_ms: parse_time("2026-11-28T15:00:00Z", 0).unwrap(),
            source: Some("github"),
            event_type: Some("pu*"),
        };
        let selected = select(
            &objects,
            &Layout::new("archive/"),
            &filter,
            &mut Shown::new(),
        )
        .await
        .unwrap();
        assert_eq!(selected.events, [inside]);
        // Hour 14 only: the two batches' objects and the corrupt one.
        assert_eq!(selected.objects, 3);
        assert_eq!(selected.found, 4);
        assert_eq!(selected.filtered_out, 2);
        assert_eq!(selected.duplicates, 1);
        assert_eq!(selected.skipped.len(), 1, "{:?}", selected.skipped);
        assert!(selected.skipped[0].contains("1-corrupt"));
    }

    /// An archive whose listing names an object that is gone by the time it is read (deleted
    /// or expired in between).
    #[derive(Debug)]
    struct Vanishing(MemoryObjects);

    impl ObjectStore for Vanishing {
        fn bucket(&self) -> &str {
            self.0.bucket()
        }
        async fn put(
            &self,
            key: &str,
            body: Vec<u8>,
            content_type: &'static str,
        ) -> Result<(), ObjectStoreError> {
            self.0.put(key, body, content_type).await
        }
        async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError> {
            self.0.get(key).await
        }
        async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
            self.0.delete(key).await
        }
        async fn copy(&self, bucket: &str, from: &str, to: &str) -> Result<(), ObjectStoreError> {
            self.0.copy(bucket, from, to).await
        }
        async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError> {
            let mut keys = self.0.list(prefix).await?;
            keys.push(format!("{prefix}2-gone.jsonl.gz"));
            Ok(keys)
        }
    }

    #[tokio::test]
    async fn an_object_gone_since_it_was_listed_is_reported_and_skipped() {
        let objects = MemoryObjects::new("b");
        let kept = event("github", "a", "push", "2026-11-28T14:00:00.000Z");
        Archive::new(objects.clone(), "archive/")
            .write_batch(&[&kept], NOW_MS, "t1")
            .await
            .unwrap();
        let filter = Filter {
            since_ms: parse_time("2026-11-28T14:00:00Z", 0).unwrap(),
            until_ms: parse_time("2026-11-28T15:00:00Z", 0).unwrap(),
            source: None,
            event_type: None,
        };
        let selected = select(
            &Vanishing(objects),
            &Layout::new("archive/"),
            &filter,
            &mut Shown::new(),
        )
        .await
        .unwrap();
        assert_eq!(selected.events, [kept]);
        assert_eq!(selected.objects, 2);
        assert_eq!(
            selected.skipped,
            ["archive/2026/11/28/14/2-gone.jsonl.gz: missing (gone since it was listed)"]
        );
    }
}
