//! `inlet dlq`: what is in the dead-letter queue, and sending it back for another try.
//!
//! The queues are the running `inlet dev`'s (`.inlet/stack.json`), unless the environment names
//! an endpoint or a queue: then `INLET_QUEUE_URL` and `INLET_DLQ_URL`, as the functions read them,
//! or else the names the local stack (and `template.yaml`) give them, looked up in whatever the
//! SDK config points at.

use crate::Report;
use crate::error::CliError;
use crate::state::Target;
use inlet_core::envelope::Envelope;
use inlet_core::process::{ATTEMPTS, RETRIES_EXHAUSTED, ROUTE_ERRORS, ROUTES, SCHEMA_ERRORS};
use inlet_core::schema::SchemaError;
use inlet_local::{self as local, DeadLetter, Progress, Selection, StackSettings};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};

#[derive(Debug, clap::Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub command: DlqCommand,
}

/// Which dead letters a redrive or delete takes: at most one of these, every one without.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Which {
    /// Only those of this source.
    #[arg(long, value_name = "NAME", conflicts_with = "key")]
    pub source: Option<String>,
    /// Only the copies of this event, by its key (`source#event id`, as peek shows it).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

impl Which {
    fn selection(&self) -> Selection<'_> {
        match (&self.source, &self.key) {
            (_, Some(key)) => Selection::Key(key),
            (Some(source), None) => Selection::Source(source),
            (None, None) => Selection::All,
        }
    }

    /// An error when `--key` named an event the dead-letter queue holds no copy of: a script
    /// that redrives or deletes one event must not take "nothing happened" for success.
    fn matched(&self, count: usize, doing: &str) -> Result<(), CliError> {
        match &self.key {
            Some(key) if count == 0 => Err(CliError::Failed(format!(
                "no dead letter has the key {key}: nothing {doing} (`inlet dlq peek` lists the \
                 keys it holds)"
            ))),
            _ => Ok(()),
        }
    }

    /// ` of source github`, ` of github#abc`, or nothing.
    fn describe(&self) -> String {
        match (&self.source, &self.key) {
            (_, Some(key)) => format!(" of {key}"),
            (Some(source), None) => format!(" of source {source}"),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// Messages waiting and in flight, in the queue and the dead-letter queue.
    Stats,
    /// Show dead letters (key, copies, reason, attempts, failed routes, attributes, the
    /// delivery's headers, body) and leave them where they are.
    Peek {
        /// At most this many.
        #[arg(short = 'n', long = "n", value_name = "N", default_value_t = 10)]
        n: usize,
        /// Only those of this source.
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// A JSON array, one object per dead letter, for tools.
        #[arg(long)]
        json: bool,
    },
    /// Move dead letters back to the queue, to be processed again.
    Redrive {
        #[command(flatten)]
        which: Which,
        /// List what would move, and move nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete dead letters for good: those of one event (--key), of one source (--source), or
    /// every one (--all).
    #[command(group = clap::ArgGroup::new("delete_which").required(true).args(["key", "source", "all"]))]
    Delete {
        #[command(flatten)]
        which: Which,
        /// Every dead letter.
        #[arg(long, conflicts_with_all = ["key", "source"])]
        all: bool,
        /// List what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A queue's URL: from the variable when set, else looked up by the local stack's name.
pub(crate) async fn queue_url(
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
    let mut progress = Shown::new();
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
        DlqCommand::Peek { n, source, json } => {
            let all = local::peek_all(&sqs, &dlq_url, &mut |p| progress.show(p)).await?;
            progress.finish();
            let shown: Vec<Numbered<'_>> = copies(&all)
                .into_iter()
                .filter(|copy| {
                    source
                        .as_deref()
                        .is_none_or(|s| copy.letter.source().as_deref() == Some(s))
                })
                .take(*n)
                .collect();
            if *json {
                let array: Vec<_> = shown.iter().map(Numbered::to_json).collect();
                let text = serde_json::to_string_pretty(&array)
                    .map_err(|e| CliError::Failed(format!("cannot write JSON: {e}")))?;
                return Ok(Report::ok(text + "\n"));
            }
            if shown.is_empty() {
                let of = source
                    .as_deref()
                    .map(|s| format!(" of source {s}"))
                    .unwrap_or_default();
                return Ok(Report::ok(format!("no dead letters{of}\n")));
            }
            let mut text = String::new();
            for copy in &shown {
                describe(&mut text, copy);
            }
            let _ = writeln!(
                text,
                "{} of {} shown; `inlet dlq redrive --key KEY` sends an event back to the queue",
                shown.len(),
                all.len()
            );
            Ok(Report::ok(text))
        }
        DlqCommand::Redrive { which, dry_run } => {
            let moved = local::redrive_selected(
                &sqs,
                &dlq_url,
                &queue,
                which.selection(),
                *dry_run,
                &mut |p| progress.show(p),
            )
            .await?;
            progress.finish();
            which.matched(moved.len(), "moved")?;
            if !*dry_run {
                let redriven: Vec<serde_json::Value> = moved
                    .iter()
                    .map(|m| json!({"origin": m.letter.origin(), "message_id": m.message_id}))
                    .collect();
                tell_inspector(&target, json!({ "redriven": redriven, "by": "inlet dlq" })).await;
            }
            let letters: Vec<DeadLetter> = moved.into_iter().map(|m| m.letter).collect();
            let of = which.describe();
            Ok(Report::ok(if *dry_run {
                format!(
                    "would move {} dead letter(s){of} back to the queue (dry run){}",
                    letters.len(),
                    key_list(&letters)
                )
            } else {
                format!(
                    "moved {} dead letter(s){of} back to the queue\n",
                    letters.len()
                )
            }))
        }
        DlqCommand::Delete {
            which,
            all: _,
            dry_run,
        } => {
            // `--all` is the absence of --key and --source, said out loud (clap requires one).
            let letters = local::delete(&sqs, &dlq_url, which.selection(), *dry_run, &mut |p| {
                progress.show(p);
            })
            .await?;
            progress.finish();
            which.matched(letters.len(), "deleted")?;
            if !*dry_run {
                let deleted: Vec<&str> = letters.iter().map(DeadLetter::origin).collect();
                tell_inspector(&target, json!({ "deleted": deleted, "by": "inlet dlq" })).await;
            }
            let of = which.describe();
            Ok(Report::ok(if *dry_run {
                format!(
                    "would delete {} dead letter(s){of} (dry run){}",
                    letters.len(),
                    key_list(&letters)
                )
            } else {
                format!("deleted {} dead letter(s){of}\n", letters.len())
            }))
        }
    }
}

/// Tells the running `inlet dev`'s inspector what was just done to its dead letters, so the page
/// shows it at once rather than a Redrive button for a letter that is gone. Only for the local
/// stack, and best effort: the dead-letter queue itself is the record, and the inspector checks it
/// again when it starts.
async fn tell_inspector(target: &Target, change: serde_json::Value) {
    let Target::Local(state) = target else {
        return;
    };
    let Some(inspector) = &state.inspector else {
        return;
    };
    let Ok(client) = crate::sending::client(true) else {
        return;
    };
    let told = client
        .post(format!("{inspector}/api/dead-letters"))
        .timeout(std::time::Duration::from_secs(5))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(change.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| {
            r.status()
                .is_success()
                .then_some(())
                .ok_or_else(|| format!("it answered {}", r.status()))
        });
    if let Err(error) = told {
        eprintln!(
            "note: the inspector at {inspector} was not told ({error}); it shows the change \
             once it next sees those events"
        );
    }
}

/// `:` and one line per event key with its number of copies, or a newline when there are none.
fn key_list(letters: &[DeadLetter]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for letter in letters {
        let key = letter
            .key()
            .unwrap_or_else(|| format!("(unreadable envelope, message {})", letter.message_id));
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    if counts.is_empty() {
        return "\n".to_owned();
    }
    let mut text = ":\n".to_owned();
    for (key, n) in counts {
        let copies = if n > 1 {
            format!(" ({n} copies)")
        } else {
            String::new()
        };
        let _ = writeln!(text, "  {key}{copies}");
    }
    text
}

/// A dead letter with its place among the copies of its event.
#[derive(Debug)]
struct Numbered<'a> {
    letter: &'a DeadLetter,
    envelope: Option<Envelope>,
    /// 1-based; `of` is how many copies of its key the dead-letter queue holds.
    number: usize,
    of: usize,
}

/// The letters in queue order, each numbered among the copies of its key. An unreadable
/// envelope has no key: it is a copy of nothing but itself.
fn copies(letters: &[DeadLetter]) -> Vec<Numbered<'_>> {
    let keys: Vec<Option<String>> = letters.iter().map(DeadLetter::key).collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    letters
        .iter()
        .zip(&keys)
        .map(|(letter, key)| {
            let (number, of) = match key {
                Some(key) => {
                    let number = seen.entry(key).or_insert(0);
                    *number += 1;
                    let of = keys.iter().filter(|k| k.as_ref() == Some(key)).count();
                    (*number, of)
                }
                None => (1, 1),
            };
            Numbered {
                letter,
                envelope: letter.envelope(),
                number,
                of,
            }
        })
        .collect()
}

impl Numbered<'_> {
    fn reason(&self) -> String {
        match (self.letter.attributes.get("reason"), &self.envelope) {
            (Some(reason), _) => reason.clone(),
            // Only SQS moves a letter without a reason: the queue's safety net, not a route's
            // retry schedule (which ends in `retries_exhausted`).
            (None, Some(_)) => {
                "receives exhausted (moved by the queue's redrive policy: maxReceiveCount ran out)"
                    .to_owned()
            }
            (None, None) => "unknown".to_owned(),
        }
    }

    /// Attempts its (first) failed route had, as process counted them: `None` for a letter of
    /// the whole record, or one SQS moved.
    fn attempts(&self) -> Option<u32> {
        attempts(&self.letter.attributes)
    }

    /// The claim check the body is in, when the delivery was too large for the queue: peek shows
    /// where it is rather than reading it from the bucket.
    fn body_ref(&self) -> Option<&inlet_core::claims::BodyRef> {
        self.envelope.as_ref()?.body_ref.as_ref()
    }

    fn body(&self) -> Vec<u8> {
        match &self.envelope {
            Some(envelope) => envelope.body_bytes().unwrap_or_default(),
            None => self.letter.body.as_bytes().to_vec(),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let envelope = self.envelope.as_ref();
        let body = self.body();
        let (text, bytes) = match self.body_ref() {
            Some(reference) => (None, reference.size),
            None => (
                Some(String::from_utf8_lossy(&body)),
                u64::try_from(body.len()).unwrap_or(u64::MAX),
            ),
        };
        serde_json::json!({
            "message_id": self.letter.message_id,
            "key": envelope.map(|e| &e.key),
            "trace_id": envelope.map(|e| e.trace().trace_id.to_string()),
            "copy": self.number,
            "copies": self.of,
            "source": self.letter.source(),
            "event_type": envelope.and_then(|e| e.event_type.as_ref()),
            "received_at": envelope.map(|e| &e.received_at),
            "reason": self.reason(),
            "attempts": self.attempts(),
            "failed_at": self.letter.attributes.get("failed_at"),
            "attributes": self.letter.attributes,
            // The routes that failed for good, and why each did (`{reason, message, attempts}`
            // each); null for a letter of the whole record.
            "routes": failed_routes(&self.letter.attributes),
            "route_errors": route_errors(&self.letter.attributes),
            // Where the body breaks its schema (`[{pointer, message}]`); null unless the reason
            // is schema_invalid.
            "schema_errors": schema_errors(&self.letter.attributes),
            "headers": envelope.map(|e| &e.headers),
            "body": text,
            "body_ref": self.body_ref(),
            "body_bytes": bytes,
        })
    }
}

fn describe(text: &mut String, copy: &Numbered<'_>) {
    let letter = copy.letter;
    let envelope = copy.envelope.as_ref();
    match envelope {
        Some(envelope) if copy.of > 1 => {
            let _ = writeln!(
                text,
                "{}  copy {} of {} of {}",
                letter.message_id, copy.number, copy.of, envelope.key
            );
        }
        _ => {
            let _ = writeln!(text, "{}", letter.message_id);
        }
    }
    if let Some(envelope) = envelope {
        let _ = writeln!(text, "  key:       {}", envelope.key);
        // What its log lines carry beside the key (README § Traces).
        let _ = writeln!(text, "  trace_id:  {}", envelope.trace().trace_id);
    }
    let _ = writeln!(text, "  reason:    {}", copy.reason());
    if let Some(attempts) = copy.attempts() {
        let _ = writeln!(text, "  attempts:  {attempts}");
    }
    describe_routes(text, &letter.attributes);
    describe_schema_errors(text, &letter.attributes);
    let _ = writeln!(
        text,
        "  source:    {}",
        letter.source().as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        text,
        "  failed_at: {}",
        letter
            .attributes
            .get("failed_at")
            .map_or("-", String::as_str)
    );
    // The message attributes process sets are the lines above; any other is shown as it is.
    let others: Vec<String> = letter
        .attributes
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "reason"
                    | "source"
                    | "failed_at"
                    | ROUTES
                    | ROUTE_ERRORS
                    | ATTEMPTS
                    | SCHEMA_ERRORS
            )
        })
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    if !others.is_empty() {
        let _ = writeln!(text, "  attributes: {}", others.join(", "));
    }
    if let Some(envelope) = envelope
        && !envelope.headers.is_empty()
    {
        let _ = writeln!(text, "  headers:");
        for (name, value) in &envelope.headers {
            let _ = writeln!(text, "    {name}: {value}");
        }
    }
    match copy.body_ref() {
        Some(reference) => {
            let _ = writeln!(
                text,
                "  body:      in s3://{}/{} ({} bytes, too large for the queue)",
                reference.bucket, reference.key, reference.size
            );
        }
        None => {
            let _ = writeln!(text, "  body:      {}", preview(&copy.body(), 120));
        }
    }
}

/// The routes a letter names as failed for good (the `routes` attribute), which a redrive runs
/// again; `None` for a letter of the whole record.
fn failed_routes(attributes: &BTreeMap<String, String>) -> Option<Vec<&str>> {
    let names: Vec<&str> = attributes
        .get(ROUTES)?
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    (!names.is_empty()).then_some(names)
}

/// The `attempts` attribute: how many attempts the letter's first route had.
fn attempts(attributes: &BTreeMap<String, String>) -> Option<u32> {
    attributes.get(ATTEMPTS)?.trim().parse().ok()
}

/// Where a `schema_invalid` letter's body breaks its schema (the `schema_errors` attribute, a
/// JSON array of `{pointer, message}`), parsed; the text as it is if it does not parse.
fn schema_errors(attributes: &BTreeMap<String, String>) -> Option<serde_json::Value> {
    json_attribute(attributes, SCHEMA_ERRORS, serde_json::Value::is_array)
}

/// The JSON an attribute holds when it parses to what `fits` takes; its text otherwise.
fn json_attribute(
    attributes: &BTreeMap<String, String>,
    name: &str,
    fits: fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    let text = attributes.get(name)?;
    Some(
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .filter(fits)
            .unwrap_or_else(|| serde_json::Value::String(text.clone())),
    )
}

/// One line per schema error: `  schema:    /repository: "id" is a required property`.
fn describe_schema_errors(text: &mut String, attributes: &BTreeMap<String, String>) {
    let Some(errors) = schema_errors(attributes) else {
        return;
    };
    let Some(errors) = errors.as_array() else {
        let _ = writeln!(text, "  schema:    {errors}");
        return;
    };
    for error in errors {
        let error = SchemaError {
            pointer: error["pointer"].as_str().unwrap_or("").to_owned(),
            message: error["message"].as_str().unwrap_or("").to_owned(),
        };
        let _ = writeln!(text, "  schema:    {}: {}", error.place(), error.message);
    }
}

/// Why each route failed (the `route_errors` attribute, a JSON object), parsed; the text as it
/// is if it does not parse.
fn route_errors(attributes: &BTreeMap<String, String>) -> Option<serde_json::Value> {
    json_attribute(attributes, ROUTE_ERRORS, serde_json::Value::is_object)
}

/// One line per failed route with its reason and message, as far as the letter says: a letter
/// redriven once and then moved by SQS's redrive policy names its routes without why.
fn describe_routes(text: &mut String, attributes: &BTreeMap<String, String>) {
    let errors = route_errors(attributes);
    let errors = errors.as_ref().and_then(serde_json::Value::as_object);
    let mut names: Vec<&str> = failed_routes(attributes).unwrap_or_default();
    // A route with an error the list leaves out is still worth showing.
    for route in errors.into_iter().flat_map(serde_json::Map::keys) {
        if !names.contains(&route.as_str()) {
            names.push(route);
        }
    }
    if names.is_empty() {
        return;
    }
    let _ = writeln!(
        text,
        "  routes:    {} (a redrive runs only these)",
        names.join(", ")
    );
    let field = |route: &str, name: &str| {
        errors
            .and_then(|e| e.get(route)?.get(name)?.as_str())
            .filter(|text| !text.is_empty())
    };
    let route_attempts = |route: &str| {
        errors
            .and_then(|e| e.get(route)?.get("attempts")?.as_u64())
            .and_then(|n| u32::try_from(n).ok())
    };
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for route in names {
        let message = field(route, "message");
        let reason = field(route, "reason")
            .map(|reason| reason_with_attempts(reason, route_attempts(route), message));
        let why = match (reason, message) {
            (Some(reason), Some(message)) => format!("{reason}: {message}"),
            (Some(reason), None) => reason,
            (None, Some(message)) => message.to_owned(),
            (None, None) => continue,
        };
        let _ = writeln!(text, "    {route:<width$}  {why}");
    }
}

/// A route's reason with its attempts, where they add something: `action_failed on attempt 3`
/// (it failed for good after retries), `retries_exhausted after 8 attempts` (when its message,
/// cut short, does not say so already); the reason alone for a first attempt.
fn reason_with_attempts(reason: &str, attempts: Option<u32>, message: Option<&str>) -> String {
    match attempts {
        Some(n) if reason == RETRIES_EXHAUSTED => {
            if message.is_some_and(|m| m.starts_with(&format!("{n} attempts"))) {
                reason.to_owned()
            } else {
                format!("{reason} after {n} attempts")
            }
        }
        Some(n) if n > 1 => format!("{reason} on attempt {n}"),
        _ => reason.to_owned(),
    }
}

/// Progress of a bulk operation on stderr: a bar redrawn in place on a terminal, a line at
/// every tenth otherwise (a log or CI keeps the counts without a wall of carriage returns).
#[derive(Debug)]
pub(crate) struct Shown {
    terminal: bool,
    drawn: bool,
    last_line: Option<(&'static str, usize)>,
}

impl Shown {
    pub(crate) fn new() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            drawn: false,
            last_line: None,
        }
    }

    pub(crate) fn show(&mut self, progress: Progress) {
        let Progress { doing, done, total } = progress;
        let mut stderr = std::io::stderr().lock();
        if self.terminal {
            let text = match total {
                Some(total) => format!("{doing} {done}/{total} {}", bar(done, total)),
                None => format!("{doing} the dead-letter queue: {done} so far"),
            };
            // Cleared to the end of the line: a shorter text must not leave the last one's tail.
            let _ = write!(stderr, "\r{text}\x1b[K");
            let _ = stderr.flush();
            self.drawn = true;
            return;
        }
        // Reading counts batches as they come; only the work with a total is worth a log line.
        let Some(total) = total else { return };
        let step = (total / 10).max(1);
        if done % step == 0 || done == total {
            if self.last_line != Some((doing, done)) {
                let _ = writeln!(stderr, "{doing} {done}/{total}");
            }
            self.last_line = Some((doing, done));
        }
    }

    /// Ends the bar's line, so what follows starts on its own.
    pub(crate) fn finish(&mut self) {
        if self.drawn {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K");
            let _ = stderr.flush();
            self.drawn = false;
        }
    }
}

/// A 20-cell bar.
fn bar(done: usize, total: usize) -> String {
    let filled = (done * 20).checked_div(total).unwrap_or(20).min(20);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(20 - filled))
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

    fn attributes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn a_letter_of_failed_routes_names_each_with_why() {
        let letter = attributes(&[
            ("reason", "transform_failed"),
            ("routes", "audit,billing"),
            (
                "route_errors",
                r#"{"audit":{"reason":"transform_failed","message":"the body is not JSON"},"billing":{"reason":"action_failed","message":""}}"#,
            ),
        ]);
        let mut text = String::new();
        describe_routes(&mut text, &letter);
        assert_eq!(
            text,
            "  routes:    audit, billing (a redrive runs only these)\n\
             \x20   audit    transform_failed: the body is not JSON\n\
             \x20   billing  action_failed\n"
        );
        assert_eq!(failed_routes(&letter), Some(vec!["audit", "billing"]));
        assert_eq!(
            route_errors(&letter).unwrap()["audit"]["message"],
            "the body is not JSON"
        );
    }

    #[test]
    fn each_route_says_its_attempts_and_the_letter_its_first_route_s() {
        let letter = attributes(&[
            ("reason", "retries_exhausted"),
            ("attempts", "8"),
            ("routes", "audit,billing,crm"),
            (
                "route_errors",
                r#"{"audit":{"reason":"retries_exhausted","message":"8 attempts; the last: the target answered 503","attempts":8},"billing":{"reason":"action_failed","message":"the target answered 404","attempts":3},"crm":{"reason":"retries_exhausted","message":"","attempts":5}}"#,
            ),
        ]);
        assert_eq!(attempts(&letter), Some(8));
        let mut text = String::new();
        describe_routes(&mut text, &letter);
        assert_eq!(
            text,
            "  routes:    audit, billing, crm (a redrive runs only these)\n\
             \x20   audit    retries_exhausted: 8 attempts; the last: the target answered 503\n\
             \x20   billing  action_failed on attempt 3: the target answered 404\n\
             \x20   crm      retries_exhausted after 5 attempts\n"
        );
        assert_eq!(route_errors(&letter).unwrap()["billing"]["attempts"], 3);
        // A first attempt that failed for good says nothing of attempts.
        assert_eq!(
            reason_with_attempts("action_failed", Some(1), None),
            "action_failed"
        );
        assert_eq!(attempts(&attributes(&[("attempts", "many")])), None);
    }

    #[test]
    fn a_letter_without_routes_reads_as_before() {
        let whole = attributes(&[("reason", "action_failed")]);
        let mut text = String::new();
        describe_routes(&mut text, &whole);
        assert_eq!(text, "");
        assert_eq!(failed_routes(&whole), None);
        assert_eq!(route_errors(&whole), None);
        // Redriven once, then moved by SQS: its routes, but no reasons.
        let moved = attributes(&[("routes", "audit")]);
        describe_routes(&mut text, &moved);
        assert_eq!(text, "  routes:    audit (a redrive runs only these)\n");
        // An attribute that is not JSON is shown as it is.
        let odd = attributes(&[("route_errors", "garbled")]);
        assert_eq!(route_errors(&odd), Some(serde_json::json!("garbled")));
    }
}
