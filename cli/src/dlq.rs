//! `inlet dlq`: what is in the dead-letter queue, and sending it back for another try.
//!
//! The queues are `INLET_QUEUE_URL` and `INLET_DLQ_URL`, as the functions read them, or else the
//! names the local stack (and `template.yaml`) give them, looked up in whatever the SDK config
//! points at.

use crate::Report;
use crate::error::CliError;
use crate::state::Target;
use inlet_core::envelope::Envelope;
use inlet_local::{self as local, DeadLetter, StackSettings};
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};

#[derive(Debug, clap::Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub command: DlqCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// Messages waiting and in flight, in the queue and the dead-letter queue.
    Stats,
    /// Show dead letters (id, reason, source, when, body) and leave them where they are.
    Peek {
        /// At most this many.
        #[arg(long, value_name = "N", default_value_t = 10)]
        n: usize,
    },
    /// Move dead letters back to the queue, to be processed again.
    Redrive {
        /// Only those of this source.
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// Count what would move, and move nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A queue's URL: from the variable when set, else looked up by the local stack's name.
async fn queue_url(
    sqs: &aws_sdk_sqs::Client,
    variable: &str,
    name: &str,
) -> Result<String, CliError> {
    if let Ok(url) = std::env::var(variable)
        && !url.is_empty()
    {
        return Ok(url);
    }
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|error| {
            CliError::Failed(format!(
                "cannot find the queue `{name}` (set {variable}, or start `inlet dev`): {}",
                inlet_local::one_line(&error)
            ))
        })?
        .queue_url
        .ok_or_else(|| CliError::Failed(format!("the queue `{name}` has no URL")))
}

/// The queue's and the dead-letter queue's URLs: the running `inlet dev`'s, or the
/// environment's.
async fn queue_urls(
    target: &Target,
    sqs: &aws_sdk_sqs::Client,
) -> Result<(String, String), CliError> {
    if let Target::Local(state) = target {
        return Ok((state.queue_url.clone(), state.dead_letter_queue_url.clone()));
    }
    let names = StackSettings::default();
    Ok((
        queue_url(sqs, "INLET_QUEUE_URL", &names.queue_name).await?,
        queue_url(sqs, "INLET_DLQ_URL", &names.dead_letter_queue_name).await?,
    ))
}

pub async fn run(args: &DlqArgs) -> Result<Report, CliError> {
    let target = Target::find().await?;
    let sqs = aws_sdk_sqs::Client::new(&target.sdk_config().await);
    let (queue, dlq_url) = queue_urls(&target, &sqs).await?;
    match &args.command {
        DlqCommand::Stats => {
            let mut text = String::new();
            for (label, url) in [("queue", &queue), ("dead-letter queue", &dlq_url)] {
                let (visible, in_flight) = local::depth(&sqs, url).await?;
                let _ = writeln!(
                    text,
                    "{label:<18} {visible:>6} waiting {in_flight:>6} in flight  {url}"
                );
            }
            Ok(Report::ok(text))
        }
        DlqCommand::Peek { n } => {
            let letters = local::peek(&sqs, &dlq_url, *n).await?;
            if letters.is_empty() {
                return Ok(Report::ok("the dead-letter queue is empty\n".into()));
            }
            let mut text = String::new();
            for letter in &letters {
                describe(&mut text, letter);
            }
            let _ = writeln!(
                text,
                "{} shown; `inlet dlq redrive` sends them back to the queue",
                letters.len()
            );
            Ok(Report::ok(text))
        }
        DlqCommand::Redrive { source, dry_run } => {
            let show = std::io::stderr().is_terminal();
            let moved = local::redrive(
                &sqs,
                &dlq_url,
                &queue,
                source.as_deref(),
                *dry_run,
                |done, total| {
                    if show {
                        eprint!("\rredriving {done}/{total} {}", bar(done, total));
                        let _ = std::io::stderr().flush();
                    }
                },
            )
            .await?;
            if show && moved > 0 && !dry_run {
                eprintln!();
            }
            let of = source
                .as_deref()
                .map(|s| format!(" of source {s}"))
                .unwrap_or_default();
            let text = if *dry_run {
                format!("would move {moved} dead letter(s){of} back to the queue (dry run)\n")
            } else {
                format!("moved {moved} dead letter(s){of} back to the queue\n")
            };
            Ok(Report::ok(text))
        }
    }
}

/// A 20-cell bar.
fn bar(done: usize, total: usize) -> String {
    let filled = (done * 20).checked_div(total).unwrap_or(20).min(20);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(20 - filled))
}

fn describe(text: &mut String, letter: &DeadLetter) {
    let envelope = Envelope::from_json(&letter.body).ok();
    let attribute = |name: &str| letter.attributes.get(name).map(String::as_str);
    let reason = match (attribute("reason"), &envelope) {
        (Some(reason), _) => reason.to_owned(),
        (None, Some(_)) => "retries exhausted (moved by the queue's redrive policy)".to_owned(),
        (None, None) => "unknown".to_owned(),
    };
    let body = match &envelope {
        Some(envelope) => envelope.body_bytes().unwrap_or_default(),
        None => letter.body.as_bytes().to_vec(),
    };
    let _ = writeln!(text, "{}", letter.message_id);
    if let Some(envelope) = &envelope {
        let _ = writeln!(text, "  key:       {}", envelope.key);
    }
    let _ = writeln!(text, "  reason:    {reason}");
    let _ = writeln!(
        text,
        "  source:    {}",
        letter.source().as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        text,
        "  failed_at: {}",
        attribute("failed_at").unwrap_or("-")
    );
    let _ = writeln!(text, "  body:      {}", preview(&body, 120));
}

/// The start of a body on one line: runs of white space and control characters shown as one
/// space, cut at `max` characters.
fn preview(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut flat = String::with_capacity(text.len().min(max * 4));
    for c in text.chars() {
        let c = if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            c
        };
        if !(c == ' ' && flat.ends_with(' ')) {
            flat.push(c);
        }
    }
    let mut out: String = flat.trim().chars().take(max).collect();
    if flat.trim().chars().count() > max {
        out.push('…');
    }
    let _ = write!(out, " ({} bytes)", body.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_stay_on_one_line() {
        assert_eq!(preview(b"{\n  \"a\":\n\t1}", 100), "{ \"a\": 1} (12 bytes)");
        assert_eq!(preview(b"abcdef", 3), "abc… (6 bytes)");
        assert_eq!(
            bar(5, 10),
            format!("[{}{}]", "#".repeat(10), ".".repeat(10))
        );
        assert_eq!(bar(0, 0), format!("[{}]", "#".repeat(20)));
    }
}
