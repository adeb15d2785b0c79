//! Bodies the queue takes: an archived claim check copied to a new one in the payload bucket, an
//! inline body too large for one message stored there, as ingest does.

use inlet_core::claims::{self, BodyRef, PayloadStore};
use inlet_core::envelope::Envelope;

/// Where the archive keeps claim-checked bodies: the only references an archived envelope may
/// carry.
pub(super) struct ArchivedBodies<'a> {
    pub(super) bucket: &'a str,
    pub(super) prefix: String,
}

/// Gives every event a body the queue takes, as ingest does: an archived claim check is copied
/// (inside S3) to a new claim check in the payload bucket, and an inline body too large for one
/// message is stored there; either way the event then carries a reference to it. Takes out,
/// with a line each, the events it cannot do this for.
pub(super) async fn stage_bodies(
    payloads: Option<&dyn PayloadStore>,
    archived: &ArchivedBodies<'_>,
    events: &mut Vec<Envelope>,
    now_ms: i64,
) -> Vec<String> {
    let mut failed = Vec::new();
    let mut kept = Vec::with_capacity(events.len());
    for mut event in events.drain(..) {
        if event.body_ref.is_none() && claims::fits_queue(&event) {
            kept.push(event);
            continue;
        }
        let Some(payloads) = payloads else {
            failed.push(format!(
                "{}: not sent: its body needs the payload bucket, and there is none (set \
                 INLET_BUCKET)",
                event.key
            ));
            continue;
        };
        let staged = match &event.body_ref {
            Some(reference) => adopt(payloads, archived, &event, reference, now_ms)
                .await
                .map(|copy| event.body_ref = Some(copy)),
            None => claims::offload(payloads, &mut event, now_ms)
                .await
                .map(|_| ())
                .map_err(|error| error.to_string()),
        };
        match staged {
            Ok(()) => kept.push(event),
            Err(why) => failed.push(format!("{}: not sent: {why}", event.key)),
        }
    }
    *events = kept;
    failed
}

/// A new claim check for `event`, copied from the archive's copy of its body.
async fn adopt(
    payloads: &dyn PayloadStore,
    archived: &ArchivedBodies<'_>,
    event: &Envelope,
    reference: &BodyRef,
    now_ms: i64,
) -> Result<BodyRef, String> {
    // An archive is written by process alone, but it is read here as input all the same.
    if reference.bucket != archived.bucket || !reference.key.starts_with(&archived.prefix) {
        return Err(format!(
            "its body_ref names s3://{}/{}, outside the archive's s3://{}/{}",
            reference.bucket, reference.key, archived.bucket, archived.prefix
        ));
    }
    let sha = hex::decode(&reference.sha256)
        .map_err(|_| "its body_ref's sha256 is not hex".to_owned())?;
    let key = claims::object_key_for(&event.source, &event.key, &sha, now_ms);
    payloads
        .adopt(reference, key)
        .await
        .map_err(|error| format!("its archived body could not be copied: {error}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::replay::tests::{NOW_MS, event};
    use inlet_core::claims::ClaimChecks;
    use inlet_core::ports::memory::MemoryObjects;

    #[tokio::test]
    async fn bodies_go_to_the_payload_bucket_as_ingest_puts_them() {
        let objects = MemoryObjects::new("inlet-payloads");
        let payloads = ClaimChecks(objects.clone());
        let archived = ArchivedBodies {
            bucket: "inlet-payloads",
            prefix: "archive/bodies/".into(),
        };
        let mut large = event("github", "big", "push", "2026-11-28T14:00:00.000Z");
        let body = vec![0x80_u8; 1_000_000];
        large.set_body(&body);
        let small = event("github", "small", "push", "2026-11-28T14:00:00.000Z");
        // As process archived it: a reference to its copy under archive/bodies/.
        objects.insert("archive/bodies/github/1-ab", body.clone());
        let mut copied = event("github", "copied", "push", "2026-11-28T14:00:00.000Z");
        copied.body_ref = Some(BodyRef {
            bucket: "inlet-payloads".into(),
            key: "archive/bodies/github/1-ab".into(),
            size: body.len() as u64,
            sha256: hex::encode(inlet_signature::sha256(&body)),
        });
        let mut stray = copied.clone();
        stray.event_id = "stray".into();
        stray.key = "github#stray".into();
        stray.body_ref.as_mut().unwrap().key = "claims/github/1-ab".into();

        let mut events = vec![large.clone(), small.clone(), copied.clone()];
        let failed = stage_bodies(None, &archived, &mut events, NOW_MS).await;
        assert_eq!(events, std::slice::from_ref(&small));
        assert_eq!(failed.len(), 2);
        assert!(failed.iter().all(|line| line.contains("INLET_BUCKET")));

        let mut events = vec![large.clone(), small.clone(), copied, stray];
        let failed = stage_bodies(Some(&payloads), &archived, &mut events, NOW_MS).await;
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(failed[0].contains("github#stray") && failed[0].contains("outside the archive"));
        assert_eq!(events.len(), 3);
        assert_eq!(events[1], small);
        for staged in [&events[0], &events[2]] {
            let reference = staged.body_ref.clone().unwrap();
            assert!(reference.key.starts_with("claims/github/"), "{reference:?}");
            assert!(staged.body_b64.is_none() && claims::fits_queue(staged));
            assert_eq!(objects.object(&reference.key).unwrap().body, body);
        }
        assert_eq!(
            objects.copies(),
            1,
            "the archived body was copied, not read"
        );

        objects.set_down(true);
        let mut events = vec![large];
        let failed = stage_bodies(Some(&payloads), &archived, &mut events, NOW_MS).await;
        assert!(events.is_empty());
        assert!(failed[0].contains("could not be stored"), "{failed:?}");
    }
}
