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
//!
//! `window` reads the window's ends, `select` reads the archive and picks the events, `done` asks
//! the idempotency table what a resumed run already did, `bodies` gives each event a body the
//! queue takes, `send` sends them, and `summary` writes what the run came to.

mod bodies;
mod done;
mod select;
mod send;
mod summary;
mod window;

use crate::Report;
use crate::dlq::Shown;
use crate::error::CliError;
use crate::globals::Globals;
use crate::state::Target;
use bodies::{ArchivedBodies, stage_bodies};
use done::{leave_out_done, table_name};
use inlet_aws::{DynamoStore, S3Objects};
use inlet_core::archive::Layout;
use inlet_core::claims::{ClaimChecks, PayloadStore};
use inlet_core::envelope;
use inlet_core::ports::ObjectStore;
use inlet_local::StackSettings;
use inlet_signature::clock;
use select::{Filter, select};
use send::{queue_url, send_all};
use std::time::SystemTime;
use window::parse_time;

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
    if args.dry_run {
        summary::dry_run(
            &mut text,
            &selected,
            objects.bucket(),
            layout.prefix(),
            &window,
        );
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
    summary::sent(&mut text, &id, &selected, sent, failed.len());
    Ok(Report {
        stdout: text,
        code: if failed.is_empty() { 0 } else { 2 },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use inlet_core::envelope::Envelope;
    use std::collections::BTreeMap;

    /// 2026-11-28T14:03:20.123Z
    pub(super) const NOW_MS: i64 = 1_795_874_600_123;

    #[test]
    fn a_new_id_is_a_valid_replay_id() {
        let id = new_id(NOW_MS);
        assert!(id.starts_with("r-20261128T140320-"), "{id}");
        assert!(envelope::valid_replay_id(&id), "{id}");
    }

    /// An archived event of `source`, received at `received_at`, with a small body.
    pub(super) fn event(
        source: &str,
        event_id: &str,
        event_type: &str,
        received_at: &str,
    ) -> Envelope {
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
            schema_errors: None,
            traceparent: None,
            tracestate: None,
        };
        envelope.set_body(b"{}");
        envelope
    }
}
