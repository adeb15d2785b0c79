//! `inlet replay`: puts the archived events of a time window back on the queue.
//!
//! It lists the archive's hour prefixes that cover the window (architecture.md § Archive), reads
//! and decompresses each object, keeps the events received in `[since, until)` that match
//! `--source` / `--type`, keeps one copy per event key, and sends each as an envelope carrying
//! this run's id (`replay`). Process claims such an event under `replay:<id>:<key>`: the action
//! runs again, once per run, however often SQS redelivers it or the command is run again with
//! `--id`. Run again so, it looks its events' claim keys up in the idempotency table and sends
//! only those not completed yet, counting the rest as already done. An object that is missing or
//! unreadable is reported and skipped.
//!
//! The stack is the running `inlet dev`'s (`.inlet/stack.json`) unless the environment names an
//! endpoint or a queue, as for `inlet dlq`; the bucket is `[archive] bucket`, else
//! `INLET_BUCKET`, else the local stack's. An event too large for one queue message (the archive
//! keeps bodies inline) has its body stored under `claims/` in the payload bucket (`INLET_BUCKET`,
//! else the local stack's) and is sent with a reference, as ingest does.

use crate::Report;
use crate::dlq::Shown;
use crate::error::CliError;
use crate::globals::Globals;
use crate::state::Target;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use inlet_aws::{DynamoStore, S3Objects};
use inlet_core::archive::{self, Layout};
use inlet_core::claims::{self, BodyRef, ClaimChecks, PayloadStore};
use inlet_core::envelope::{self, Envelope};
use inlet_core::ports::{ObjectStore, ObjectStoreError, StoreError};
use inlet_local::{Progress, StackSettings};
use inlet_signature::clock;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::SystemTime;

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Start of the window (included): RFC 3339 (`2026-11-28T14:00:00Z`) or an age (`90m`,
    /// `2h`, `1d`: that long ago).
    #[arg(long, value_name = "TIME")]
    pub since: String,
    /// End of the window (excluded), the same way; default now.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only events of this source.
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Only events of this type: exact, or a prefix ending in `*` (`invoice.*`).
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,
    /// List what would be sent (key, source, type, received_at), and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Resume the replay run with this id: events it already did are not sent again (they are
    /// counted as already done), and those it sent that are still queued run once.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
}

/// SendMessageBatch takes at most 10 entries and 1 MiB in all.
const BATCH_ENTRIES: usize = 10;
const BATCH_BYTES: usize = 1024 * 1024;
/// Tries of the entries SQS refused for reasons worth retrying (throttling, its own errors).
const SEND_ATTEMPTS: u32 = 3;

/// A time as the command line gives it: RFC 3339, or an age before `now_ms`.
pub fn parse_time(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(now_ms);
    }
    if let Some(ms) = archive::received_at_ms(text) {
        return Ok(ms);
    }
    let unit_ms = match text.chars().last() {
        Some('s') => 1_000,
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        _ => return Err(time_error(text)),
    };
    let amount: i64 = text[..text.len() - 1]
        .parse()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| time_error(text))?;
    amount
        .checked_mul(unit_ms)
        .and_then(|ago| now_ms.checked_sub(ago))
        .ok_or_else(|| time_error(text))
}

fn time_error(text: &str) -> String {
    format!(
        "`{text}` is not a time: give RFC 3339 (2026-11-28T14:00:00Z) or an age such as 90m, 2h \
         or 1d"
    )
}

/// A new run's id: when it started, and a few hex digits so two runs in one second differ.
fn new_id(now_ms: i64) -> String {
    let stamp = clock::format_rfc3339_millis(now_ms);
    // 2026-11-28T14:03:20.123Z → 20261128T140320
    let compact: String = stamp[..19]
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seed = format!("{now_ms}/{nanos}/{}", std::process::id());
    let digest = hex::encode(inlet_signature::sha256(seed.as_bytes()));
    format!("r-{compact}-{}", &digest[..6])
}

/// What a run selects.
#[derive(Debug)]
struct Filter<'a> {
    since_ms: i64,
    until_ms: i64,
    source: Option<&'a str>,
    event_type: Option<&'a str>,
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
struct Selected {
    /// One per key, the earliest received copy, in the order first found.
    events: Vec<Envelope>,
    objects: usize,
    found: usize,
    filtered_out: usize,
    duplicates: usize,
    /// Events of the window this run had already done, taken out of `events` (`--id` only).
    already_done: Option<usize>,
    /// One line per object or line that was skipped.
    skipped: Vec<String>,
}

/// Lists and reads every object of the window's hours, keeping what `filter` takes.
async fn select<O: ObjectStore>(
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

fn attribute(value: &str) -> Result<MessageAttributeValue, CliError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| CliError::Failed(format!("cannot build a message attribute: {e}")))
}

/// The queue message for a replayed event: the envelope with this run's id, and the attributes
/// ingest sets, so process and `inlet dlq` see it as any other.
fn entry(
    index: usize,
    envelope: &Envelope,
    fifo: bool,
) -> Result<SendMessageBatchRequestEntry, CliError> {
    let body = envelope.to_json();
    let mut builder = SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(body)
        .message_attributes("source", attribute(&envelope.source)?);
    if let Some(event_type) = &envelope.event_type {
        builder = builder.message_attributes("event_type", attribute(event_type)?);
    }
    if fifo {
        // As ingest does, with the claim key: each run's copy is its own message.
        builder = builder
            .message_group_id(envelope.source.as_str())
            .message_deduplication_id(hex::encode(inlet_signature::sha256(
                envelope.claim_key().as_bytes(),
            )));
    }
    builder
        .build()
        .map_err(|e| CliError::Failed(format!("cannot build a queue message: {e}")))
}

/// Sends `events` in batches of up to 10 (and 1 MiB); gives how many were sent and a line per
/// event that was not.
async fn send_all(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    events: &[Envelope],
    progress: &mut Shown,
) -> Result<(usize, Vec<String>), CliError> {
    let fifo = queue_url.ends_with(".fifo");
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for (index, envelope) in events.iter().enumerate() {
        // The body and, generously, its attributes: SQS counts both toward the batch's limit.
        let size = envelope.to_json().len() + 256;
        match batches.last_mut() {
            Some(batch) if batch.len() < BATCH_ENTRIES && bytes + size <= BATCH_BYTES => {
                batch.push(index);
                bytes += size;
            }
            _ => {
                batches.push(vec![index]);
                bytes = size;
            }
        }
    }
    let mut sent = 0;
    let mut failed = Vec::new();
    for batch in batches {
        progress.show(Progress {
            doing: "sending",
            done: sent + failed.len(),
            total: Some(events.len()),
        });
        let mut pending = batch;
        for attempt in 1..=SEND_ATTEMPTS {
            let mut request = sqs.send_message_batch().queue_url(queue_url);
            for &index in &pending {
                request = request.entries(entry(index, &events[index], fifo)?);
            }
            let output = match request.send().await {
                Ok(output) => output,
                Err(_) if attempt < SEND_ATTEMPTS => {
                    pause(attempt).await;
                    continue;
                }
                Err(error) => {
                    let why = inlet_local::one_line(&error);
                    failed.extend(
                        pending
                            .iter()
                            .map(|&i| format!("{}: not sent: {why}", events[i].key)),
                    );
                    pending.clear();
                    break;
                }
            };
            sent += output.successful.len();
            let mut again = Vec::new();
            for refused in output.failed {
                let Some(index) = refused
                    .id
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < events.len())
                else {
                    continue;
                };
                let why = refused.message.unwrap_or(refused.code);
                if refused.sender_fault || attempt == SEND_ATTEMPTS {
                    failed.push(format!("{}: not sent: {why}", events[index].key));
                } else {
                    again.push(index);
                }
            }
            pending = again;
            if pending.is_empty() {
                break;
            }
            pause(attempt).await;
        }
    }
    progress.show(Progress {
        doing: "sending",
        done: sent + failed.len(),
        total: Some(events.len()),
    });
    progress.finish();
    Ok((sent, failed))
}

/// Where a run's finished events are recorded: the idempotency table, under each event's claim key
/// (`replay:<id>:<key>`).
trait Done {
    /// Which of `claim_keys` are completed.
    async fn completed(&self, claim_keys: &[String]) -> Result<HashSet<String>, StoreError>;
}

impl Done for DynamoStore {
    async fn completed(&self, claim_keys: &[String]) -> Result<HashSet<String>, StoreError> {
        DynamoStore::completed(self, claim_keys).await
    }
}

/// Takes out of `events` (each already carrying its run's id) those the run has done, and gives
/// how many. Sending them again would change nothing (process acknowledges them as duplicates),
/// but the count is what tells the user the run had got that far.
async fn leave_out_done(done: &impl Done, events: &mut Vec<Envelope>) -> Result<usize, StoreError> {
    let keys: Vec<String> = events.iter().map(Envelope::claim_key).collect();
    let completed = done.completed(&keys).await?;
    let before = events.len();
    events.retain(|event| !completed.contains(&event.claim_key()));
    Ok(before - events.len())
}

/// The idempotency table: the running `inlet dev`'s, `INLET_TABLE`, or against an emulator the
/// local stack's name. AWS's is generated (the stack's `IdempotencyTableName`): without
/// `INLET_TABLE` there is none to ask.
fn table_name(target: &Target, local: bool) -> Option<String> {
    if let Target::Local(state) = target {
        return Some(state.table_name.clone());
    }
    std::env::var("INLET_TABLE")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| local.then(|| StackSettings::default().table_name))
}

/// Where the archive keeps claim-checked bodies: the only references an archived envelope may
/// carry.
struct ArchivedBodies<'a> {
    bucket: &'a str,
    prefix: String,
}

/// Gives every event a body the queue takes, as ingest does: an archived claim check is copied
/// (inside S3) to a new claim check in the payload bucket, and an inline body too large for one
/// message is stored there; either way the event then carries a reference to it. Takes out,
/// with a line each, the events it cannot do this for.
async fn stage_bodies(
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

/// A short pause before trying again, longer each time.
async fn pause(attempt: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
}

/// The queue to send to: the running `inlet dev`'s, `INLET_QUEUE_URL`, or the stack's name.
async fn queue_url(target: &Target, sqs: &aws_sdk_sqs::Client) -> Result<String, CliError> {
    if let Target::Local(state) = target {
        return Ok(state.queue_url.clone());
    }
    crate::dlq::queue_url(sqs, "INLET_QUEUE_URL", &StackSettings::default().queue_name).await
}

pub async fn run(globals: &Globals, args: &ReplayArgs) -> Result<Report, CliError> {
    let now_ms = clock::epoch_millis(SystemTime::now());
    let since_ms = parse_time(&args.since, now_ms).map_err(CliError::Usage)?;
    let until_ms = match &args.until {
        Some(text) => parse_time(text, now_ms).map_err(CliError::Usage)?,
        None => now_ms,
    };
    if until_ms <= since_ms {
        return Err(CliError::Usage(format!(
            "the window is empty: --until ({}) must be after --since ({})",
            clock::format_rfc3339_millis(until_ms),
            clock::format_rfc3339_millis(since_ms)
        )));
    }
    if let Some(id) = &args.id
        && !envelope::valid_replay_id(id)
    {
        return Err(CliError::Usage(format!(
            "`{id}` is not a replay id: 1 to {} letters, digits, `-` or `_`",
            envelope::MAX_REPLAY_ID
        )));
    }
    let config = globals.load_config()?;
    let Some(settings) = &config.archive else {
        return Err(CliError::Usage(format!(
            "{} has no [archive] section: there is nothing to replay from",
            globals.config.display()
        )));
    };
    let target = Target::find().await?;
    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    // An emulator's stack is the local one, by the names `inlet dev` gives it (as `inlet dlq`
    // looks its queues up); AWS's bucket has a generated name that must be given.
    let local = matches!(target, Target::Local(_)) || variable("AWS_ENDPOINT_URL").is_some();
    let bucket = match (&settings.bucket, variable("INLET_BUCKET")) {
        (Some(bucket), _) => bucket.clone(),
        (None, Some(bucket)) => bucket,
        (None, None) if local => StackSettings::default().bucket_name,
        (None, None) => {
            return Err(CliError::Usage(
                "no bucket: set [archive] bucket in the config, or INLET_BUCKET".into(),
            ));
        }
    };
    let sdk = target.sdk_config().await;
    let objects = S3Objects::new(inlet_aws::s3_client(&sdk), bucket);
    let layout = Layout::new(settings.prefix.clone());
    let filter = Filter {
        since_ms,
        until_ms,
        source: args.source.as_deref(),
        event_type: args.event_type.as_deref(),
    };
    let id = args.id.clone().unwrap_or_else(|| new_id(now_ms));
    let window = format!(
        "{} to {}",
        clock::format_rfc3339_millis(since_ms),
        clock::format_rfc3339_millis(until_ms)
    );
    if !args.dry_run {
        eprintln!("replay {id} (resume with --id {id}): {window}");
    }
    let mut progress = Shown::new();
    let mut selected = select(&objects, &layout, &filter, &mut progress).await?;
    for line in &selected.skipped {
        eprintln!("inlet: skipped {line}");
    }
    for event in &mut selected.events {
        event.replay = Some(id.clone());
    }
    // Only a run named by --id can have been here before (an interrupted one, finished by
    // running it again).
    if args.id.is_some() {
        let counted = match table_name(&target, local) {
            Some(table) => {
                let store = DynamoStore::from_config(&sdk, table);
                leave_out_done(&store, &mut selected.events)
                    .await
                    .map_err(|error| error.to_string())
            }
            None => Err("no idempotency table to ask: set INLET_TABLE (the stack's \
                         IdempotencyTableName)"
                .to_owned()),
        };
        match counted {
            Ok(count) => selected.already_done = Some(count),
            Err(why) => eprintln!(
                "inlet: cannot tell which events replay {id} already did ({why}); sending them \
                 all: process acknowledges those it did as duplicates"
            ),
        }
    }
    let mut text = String::new();
    let summary = |text: &mut String, selected: &Selected, sent: &str| {
        let done = selected
            .already_done
            .map(|count| format!("already done {count}, "))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "{} object(s) read ({} skipped): found {}, filtered out {}, duplicates {}, {done}{sent}",
            selected.objects,
            selected.skipped.len(),
            selected.found,
            selected.filtered_out,
            selected.duplicates,
        );
    };
    if args.dry_run {
        let _ = writeln!(
            text,
            "would send {} event(s) of s3://{}/{} for {window} (dry run):",
            selected.events.len(),
            objects.bucket(),
            layout.prefix()
        );
        for event in &selected.events {
            let _ = writeln!(
                text,
                "  {}  {}  {}  {}",
                event.key,
                event.source,
                event.event_type.as_deref().unwrap_or("-"),
                event.received_at
            );
        }
        let would = format!("would send {}", selected.events.len());
        summary(&mut text, &selected, &would);
        return Ok(Report::ok(text));
    }
    let payload_bucket =
        variable("INLET_BUCKET").or_else(|| local.then(|| StackSettings::default().bucket_name));
    let payloads = payload_bucket
        .map(|bucket| ClaimChecks(S3Objects::new(inlet_aws::s3_client(&sdk), bucket)));
    let archived = ArchivedBodies {
        bucket: objects.bucket(),
        prefix: layout.bodies_prefix(),
    };
    let mut failed = stage_bodies(
        payloads.as_ref().map(|p| p as &dyn PayloadStore),
        &archived,
        &mut selected.events,
        now_ms,
    )
    .await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = queue_url(&target, &sqs).await?;
    let (sent, send_failed) = send_all(&sqs, &queue, &selected.events, &mut progress).await?;
    failed.extend(send_failed);
    for line in &failed {
        eprintln!("inlet: {line}");
    }
    let _ = write!(text, "replay {id}: ");
    let sent_text = if failed.is_empty() {
        format!("sent {sent}")
    } else {
        format!(
            "sent {sent}, not sent {} (run again with --id {id} to finish)",
            failed.len()
        )
    };
    summary(&mut text, &selected, &sent_text);
    Ok(Report {
        stdout: text,
        code: if failed.is_empty() { 0 } else { 2 },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use inlet_core::archive::Archive;
    use inlet_core::ports::memory::MemoryObjects;
    use std::collections::BTreeMap;

    /// 2026-11-28T14:03:20.123Z
    const NOW_MS: i64 = 1_795_874_600_123;

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

    /// A table that records `completed` as done, or is down.
    struct Table {
        completed: Vec<String>,
        down: bool,
        asked: std::sync::Mutex<Vec<String>>,
    }

    impl Done for Table {
        async fn completed(&self, claim_keys: &[String]) -> Result<HashSet<String>, StoreError> {
            self.asked
                .lock()
                .unwrap()
                .extend(claim_keys.iter().cloned());
            if self.down {
                return Err(StoreError::Unavailable("throttled".into()));
            }
            Ok(claim_keys
                .iter()
                .filter(|k| self.completed.contains(k))
                .cloned()
                .collect())
        }
    }

    #[tokio::test]
    async fn what_the_run_already_did_is_left_out_and_counted() {
        let mut events: Vec<Envelope> = ["a", "b", "c"]
            .iter()
            .map(|id| {
                let mut e = event("github", id, "push", "2026-11-28T14:00:00.000Z");
                e.replay = Some("r-1".into());
                e
            })
            .collect();
        let table = Table {
            // Done in this run, and (under its own key) the original of c: only the run counts.
            completed: vec!["replay:r-1:github#a".into(), "github#c".into()],
            down: false,
            asked: std::sync::Mutex::default(),
        };
        assert_eq!(leave_out_done(&table, &mut events).await, Ok(1));
        let left: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(left, ["github#b", "github#c"]);
        assert_eq!(
            *table.asked.lock().unwrap(),
            [
                "replay:r-1:github#a",
                "replay:r-1:github#b",
                "replay:r-1:github#c"
            ]
        );

        let down = Table {
            completed: Vec::new(),
            down: true,
            asked: std::sync::Mutex::default(),
        };
        assert!(leave_out_done(&down, &mut events).await.is_err());
        assert_eq!(
            events.len(),
            2,
            "nothing is taken out when the table cannot tell"
        );
    }

    #[test]
    fn times_are_rfc_3339_or_an_age() {
        assert_eq!(parse_time("2026-11-28T14:03:20.123Z", 0), Ok(NOW_MS));
        assert_eq!(parse_time("2026-11-28T15:03:20.123+01:00", 0), Ok(NOW_MS));
        assert_eq!(parse_time("now", NOW_MS), Ok(NOW_MS));
        assert_eq!(parse_time("90s", NOW_MS), Ok(NOW_MS - 90_000));
        assert_eq!(parse_time("15m", NOW_MS), Ok(NOW_MS - 900_000));
        assert_eq!(parse_time("2h", NOW_MS), Ok(NOW_MS - 7_200_000));
        assert_eq!(parse_time("1d", NOW_MS), Ok(NOW_MS - 86_400_000));
        for bad in ["", "h", "-2h", "2w", "yesterday", "2026-11-28"] {
            assert!(parse_time(bad, NOW_MS).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_new_id_is_a_valid_replay_id() {
        let id = new_id(NOW_MS);
        assert!(id.starts_with("r-20261128T140320-"), "{id}");
        assert!(envelope::valid_replay_id(&id), "{id}");
    }

    fn event(source: &str, event_id: &str, event_type: &str, received_at: &str) -> Envelope {
        let mut envelope = Envelope {
            v: envelope::VERSION,
            key: envelope::idempotency_key(source, event_id),
            source: source.into(),
            scheme: "github".into(),
            event_type: Some(event_type.into()),
            event_id: event_id.into(),
            received_at: received_at.into(),
            headers: BTreeMap::new(),
            body: None,
            body_b64: None,
            replay: None,
            body_ref: None,
        };
        envelope.set_body(b"{}");
        envelope
    }

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
