//! `inlet routes test`: which of the config's routes take one delivery, and what each would
//! deliver, without an emulator, AWS or any secret. The delivery becomes the envelope ingest
//! would queue for the source (the key `SOURCE#test`, the headers the scheme keeps, the event
//! type read the way ingest reads it); then every route of that source, in the config's order,
//! says whether it matches and why not (the filter or the `when` condition that fails), and a
//! matching one what it sends: its transform's output, or the body unchanged.

use crate::Report;
use crate::delivery::parse_headers;
use crate::error::CliError;
use crate::globals::Globals;
use crate::sending::now_secs;
use http::HeaderMap;
use inlet_core::actions::Event;
use inlet_core::actions::matching::Matcher;
use inlet_core::actions::route_table::{CompiledRoute, RouteTable};
use inlet_core::config::{Condition, Config, ConfigError, Source, Subject, Test};
use inlet_core::envelope::{self, Envelope};
use inlet_signature::{Delivery, Scheme, Window};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct RoutesArgs {
    #[command(subcommand)]
    pub command: RoutesCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum RoutesCommand {
    /// Show which routes of a source take one delivery and what each would deliver: the
    /// transform's output, or the body unchanged. No emulator, AWS or secret needed. Exit 0 when
    /// it ran (even if no route matches), 2 on a usage or config error.
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The source the delivery comes to, as in /webhooks/SOURCE.
    #[arg(long, value_name = "NAME")]
    pub source: String,
    /// The delivery's raw body (`-` reads stdin).
    #[arg(long, value_name = "FILE")]
    pub body: PathBuf,
    /// A request header, `Name: value`; repeatable. Only those the envelope keeps (content-type
    /// and the scheme's informative headers) reach the routes; the others are reported ignored.
    #[arg(long = "header", short = 'H', value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// The event type. Default: read from the headers and body as ingest reads it (GitHub's
    /// X-GitHub-Event, Stripe's body `type`, …).
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
    /// A JSON array, one object per route of the source, for tools; notes go to stderr.
    #[arg(long)]
    pub json: bool,
}

/// The event id of the envelope a test builds: its key is `SOURCE#test`.
const TEST_EVENT_ID: &str = "test";
/// Ingest drops an event type longer than this (it would not be a valid message attribute).
const MAX_EVENT_TYPE_LEN: usize = 256;
/// Throwaway secrets the delivery is signed and verified with, only to read its type through
/// the scheme's own code.
const SEED: &[u8] = b"inlet routes test: a throwaway key";

pub async fn run(globals: &Globals, args: &RoutesArgs) -> Result<Report, CliError> {
    match &args.command {
        RoutesCommand::Test(test) => run_test(globals, test).await,
    }
}

async fn run_test(globals: &Globals, args: &TestArgs) -> Result<Report, CliError> {
    let config = match globals.load_config() {
        Ok(config) => config,
        Err(CliError::Config(error)) => return Ok(config_refused(&globals.config, &error)),
        Err(other) => return Err(other),
    };
    let source = globals.source(&config, &args.source)?;
    let body = read_body(&args.body)?;
    let headers = parse_headers(&args.headers)?;
    let table = match RouteTable::compile(&config) {
        Ok(table) => table,
        Err(error) => {
            return Ok(Report {
                stdout: format!("{}: {}\n", error.key, error.message),
                code: 2,
            });
        }
    };
    let tested = test_delivery(source, &headers, &body, args.event_type.clone());
    let results = tested.run(&table).await;
    if args.json {
        for note in &tested.notes {
            eprintln!("note: {note}");
        }
        let array: Vec<RouteJson<'_>> = results.iter().map(RouteResult::to_json).collect();
        let text = serde_json::to_string_pretty(&array)
            .map_err(|e| CliError::Failed(format!("cannot write JSON: {e}")))?;
        return Ok(Report::ok(text + "\n"));
    }
    Ok(Report::ok(tested.describe(&results)))
}

/// A refused config, said as `inlet check` says it: one `key: problem` line per problem.
fn config_refused(path: &Path, error: &ConfigError) -> Report {
    let problems = std::fs::read_to_string(path)
        .map(|text| Config::check(&text).problems)
        .unwrap_or_default();
    let mut out = String::new();
    if problems.is_empty() {
        let _ = writeln!(out, "{error}");
    }
    for finding in problems {
        let _ = writeln!(out, "{}: {}", finding.key, finding.problem);
    }
    Report {
        stdout: out,
        code: 2,
    }
}

fn read_body(path: &Path) -> Result<Vec<u8>, CliError> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut body)
            .map_err(CliError::io(path))?;
        return Ok(body);
    }
    std::fs::read(path).map_err(CliError::io(path))
}

/// Where the event type came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TypeFrom {
    /// `--event-type`.
    Given,
    /// Read from the delivery by the scheme, as ingest reads it.
    Delivery,
    /// None: why.
    Absent(String),
}

/// One delivery made into the envelope ingest would queue, with what ingest would say of it.
#[derive(Debug)]
struct Tested<'c> {
    source: &'c Source,
    envelope: Envelope,
    body: Vec<u8>,
    type_from: TypeFrom,
    /// Header names the envelope keeps.
    kept: Vec<String>,
    /// Why ingest would not queue it at all, when it would not.
    not_queued: Option<String>,
    /// Other things worth saying before the routes.
    notes: Vec<String>,
}

/// Builds the envelope for `body` and `headers` at `source`, as ingest would.
fn test_delivery<'c>(
    source: &'c Source,
    headers: &HeaderMap,
    body: &[u8],
    event_type: Option<String>,
) -> Tested<'c> {
    let scheme = &source.scheme;
    let keeps: Vec<&str> = std::iter::once("content-type")
        .chain(scheme.informative_headers().iter().copied())
        .collect();
    let mut kept_headers = std::collections::BTreeMap::new();
    let mut ignored = Vec::new();
    for name in headers.keys() {
        let name = name.as_str();
        if keeps.contains(&name) {
            if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
                kept_headers.insert(name.to_owned(), value.to_owned());
            }
        } else if !ignored.iter().any(|n| n == name) {
            ignored.push(name.to_owned());
        }
    }
    let mut notes = Vec::new();
    if !ignored.is_empty() {
        notes.push(format!(
            "--header {}: ignored: the envelope keeps only {} for this source, so no route sees \
             {}",
            ignored.join(", "),
            keeps.join(", "),
            if ignored.len() == 1 { "it" } else { "them" }
        ));
    }
    let read = read_delivery(source, headers, body);
    let handshake = read.as_ref().is_ok_and(|read| read.handshake);
    let (event_type, type_from) = match event_type {
        Some(given) => (Some(given), TypeFrom::Given),
        None => match read.map(|read| read.event_type) {
            Ok(Some(found)) => (Some(found), TypeFrom::Delivery),
            Ok(None) => (
                None,
                TypeFrom::Absent(match scheme {
                    Scheme::None => "the `none` scheme reads no type; give --event-type".to_owned(),
                    _ => format!(
                        "the {} scheme finds none in this delivery{}; give --event-type",
                        scheme.name(),
                        scheme
                            .type_header()
                            .map(|h| format!(" (it reads the {h} header)"))
                            .unwrap_or_default()
                    ),
                }),
            ),
            Err(why) => (
                None,
                TypeFrom::Absent(format!(
                    "it could not be read from the delivery ({why}); give --event-type"
                )),
            ),
        },
    };
    let mut not_queued = None;
    if handshake {
        not_queued = Some(format!(
            "this is a {} handshake: ingest answers it and queues nothing, so no route runs",
            scheme.name()
        ));
    } else if scheme.posts_json_object() && !is_json_object(body) {
        not_queued = Some(format!(
            "ingest refuses this body (400 malformed_body): {} deliveries are JSON objects",
            scheme.name()
        ));
    } else if let Some(filter) = &source.events
        && !filter.allows(event_type.as_deref())
    {
        let what = event_type.as_deref().map_or_else(
            || "an event without a type".to_owned(),
            |t| format!("type {}", quoted(t)),
        );
        not_queued = Some(format!(
            "sources.{}.events: the source does not take {what} (ingest answers 200 ignored): \
             no route runs",
            source.name
        ));
    }
    let key = envelope::idempotency_key(&source.name, TEST_EVENT_ID);
    let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
    let mut envelope = Envelope {
        v: envelope::VERSION,
        key,
        source: source.name.clone(),
        scheme: scheme.name().to_owned(),
        event_type,
        event_id: TEST_EVENT_ID.to_owned(),
        received_at: inlet_signature::clock::format_rfc3339_millis(now_ms),
        headers: kept_headers,
        body: None,
        body_b64: None,
        replay: None,
        body_ref: None,
    };
    envelope.set_body(body);
    Tested {
        source,
        kept: envelope.headers.keys().cloned().collect(),
        envelope,
        body: body.to_vec(),
        type_from,
        not_queued,
        notes,
    }
}

/// What the source's scheme reads from a delivery.
#[derive(Debug, Default)]
struct Read {
    /// As ingest would queue it.
    event_type: Option<String>,
    /// Whether it is a handshake ingest answers instead of queueing (Slack's `url_verification`).
    handshake: bool,
}

/// What the source's scheme reads from this delivery, through the scheme's own code: the
/// delivery is signed with a throwaway key and verified with it, as ingest verifies, so the type
/// is exactly the one ingest would queue. The delivery's own signature headers are replaced; the
/// replay window is not applied (a saved delivery's timestamp is old).
fn read_delivery(source: &Source, headers: &HeaderMap, body: &[u8]) -> Result<Read, String> {
    let scheme = &source.scheme;
    let (sign_secret, verify_secret) = match scheme {
        Scheme::None => return Ok(Read::default()),
        Scheme::Provider(provider) => {
            let secrets = provider.secrets_for_seed(SEED);
            (secrets.sign, secrets.verify)
        }
        Scheme::Hmac(custom) => {
            let text = match custom.key_encoding {
                Some(encoding) => encoding.encode(SEED),
                None => String::from_utf8_lossy(SEED).into_owned(),
            };
            (text.clone(), text)
        }
        Scheme::Token(_) => {
            let text = String::from_utf8_lossy(SEED).into_owned();
            (text.clone(), text)
        }
    };
    let signing = scheme
        .signing_key(&sign_secret)
        .map_err(|e| e.to_string())?;
    let key = scheme.key(&verify_secret).map_err(|e| e.to_string())?;
    let now = now_secs();
    let mut map = headers.clone();
    for header in scheme.authenticating_headers() {
        map.remove(header);
    }
    let body = match scheme.sign_body(body, &signing, now) {
        Some(signed) => signed.map_err(|e| e.to_string())?,
        None => body.to_vec(),
    };
    let url = source.url.as_deref();
    let added = scheme
        .sign(&delivery(&map, &body, url), &signing, now)
        .map_err(|e| e.to_string())?;
    for (name, value) in added {
        map.insert(name, value);
    }
    let window = Window {
        now,
        tolerance_secs: u64::MAX,
    };
    let verified = scheme
        .verify(&delivery(&map, &body, url), &[key], window)
        .map_err(|e| e.to_string())?;
    Ok(Read {
        // A type ingest would drop is no type.
        event_type: verified.event_type.filter(|t| {
            t.len() <= MAX_EVENT_TYPE_LEN
                && !t.chars().any(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        }),
        handshake: verified.handshake.is_some(),
    })
}

/// A POST of `body` with `headers` to `url`, as ingest hands it to the scheme.
fn delivery<'a>(headers: &'a HeaderMap, body: &'a [u8], url: Option<&'a str>) -> Delivery<'a> {
    Delivery {
        headers,
        body,
        url,
        method: "POST",
        query: None,
    }
}

fn is_json_object(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| v.is_object())
}

/// What one route makes of the delivery.
#[derive(Debug, Clone, PartialEq)]
struct RouteResult {
    name: String,
    index: usize,
    kind: &'static str,
    target: String,
    /// Why it does not match, each by its key; empty when it matches.
    why_not: Vec<String>,
    /// For a matching route: what it delivers.
    delivers: Option<Delivers>,
}

#[derive(Debug, Clone, PartialEq)]
enum Delivers {
    /// The event's own body.
    Unchanged { bytes: usize },
    /// The transform's output.
    Transformed(Vec<u8>),
    /// The transform failed: the route would be dead-lettered with this reason.
    Failed { reason: String, message: String },
}

impl Tested<'_> {
    fn event(&self) -> Event<'_> {
        Event {
            envelope: &self.envelope,
            body: &self.body,
            message_id: TEST_EVENT_ID,
        }
    }

    /// Every route of the source, in the config's order.
    async fn run(&self, table: &RouteTable) -> Vec<RouteResult> {
        let event = self.event();
        let matching: Vec<&str> = table
            .matching(&event)
            .into_iter()
            .map(CompiledRoute::name)
            .collect();
        let matcher = Matcher::new(&self.envelope, &self.body);
        let mut results = Vec::new();
        for (index, compiled) in table.routes().iter().enumerate() {
            let route = &compiled.route;
            if route.source != self.source.name {
                continue;
            }
            let matches = self.not_queued.is_none() && matching.contains(&compiled.name());
            let why_not = if matches {
                Vec::new()
            } else if let Some(why) = &self.not_queued {
                vec![why.clone()]
            } else {
                self.why_not(index, compiled, &matcher)
            };
            let delivers = if matches {
                Some(match compiled.reshape(&event).await {
                    Ok(None) => Delivers::Unchanged {
                        bytes: self.body.len(),
                    },
                    Ok(Some(output)) => Delivers::Transformed(output),
                    Err(error) => Delivers::Failed {
                        reason: error
                            .reason()
                            .unwrap_or(inlet_core::actions::TRANSFORM_FAILED)
                            .to_owned(),
                        message: error.message().to_owned(),
                    },
                })
            } else {
                None
            };
            results.push(RouteResult {
                name: compiled.name().to_owned(),
                index,
                kind: route.action.kind(),
                target: route.action.target().to_owned(),
                why_not,
                delivers,
            });
        }
        results
    }

    /// Why a route of this source does not take the event: its `events` filter, and each `when`
    /// condition that does not hold, each by its key.
    fn why_not(
        &self,
        index: usize,
        compiled: &CompiledRoute,
        matcher: &Matcher<'_>,
    ) -> Vec<String> {
        let route = &compiled.route;
        let mut why = Vec::new();
        if let Some(filter) = &route.events {
            let event_type = self.envelope.event_type.as_deref();
            if !filter.allows(event_type) {
                let names = filter_names(filter);
                why.push(match event_type {
                    Some(t) => format!(
                        "routes[{index}].events: the type {} is not in {names}",
                        quoted(t)
                    ),
                    None => format!(
                        "routes[{index}].events: the event has no type, and {names} takes only \
                         typed events"
                    ),
                });
            }
        }
        let body = serde_json::from_slice::<Value>(&self.body).ok();
        for (i, condition) in compiled.when().iter().enumerate() {
            if !matcher.holds(std::slice::from_ref(condition)) {
                why.push(format!(
                    "routes[{index}].when[{i}]: {}",
                    explain(condition, &self.envelope, body.as_ref())
                ));
            }
        }
        if why.is_empty() {
            // The table said no and no part of the route says why: say so rather than nothing.
            why.push(format!("routes[{index}]: does not match"));
        }
        why
    }

    /// The report a person reads.
    fn describe(&self, results: &[RouteResult]) -> String {
        let mut out = String::new();
        let envelope = &self.envelope;
        let event_type = match (&envelope.event_type, &self.type_from) {
            (Some(t), TypeFrom::Given) => format!("{t} (--event-type)"),
            (Some(t), _) => format!("{t} (read from the delivery, as ingest reads it)"),
            (None, TypeFrom::Absent(why)) => format!("none: {why}"),
            (None, _) => "none".to_owned(),
        };
        let _ = writeln!(
            out,
            "delivery to {} ({} scheme) as key {}, {} bytes",
            self.source.name,
            self.source.scheme.name(),
            envelope.key,
            self.body.len()
        );
        let _ = writeln!(out, "event type: {event_type}");
        let kept = if self.kept.is_empty() {
            "none".to_owned()
        } else {
            self.kept.join(", ")
        };
        let _ = writeln!(out, "headers kept: {kept}");
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if let Some(why) = &self.not_queued {
            let _ = writeln!(out, "not queued: {why}");
        }
        let _ = writeln!(out);
        if results.is_empty() {
            let _ = writeln!(
                out,
                "no route has source {}: process would complete the event as unrouted",
                self.source.name
            );
            return out;
        }
        for result in results {
            result.describe(&mut out);
        }
        let matched = results.iter().filter(|r| r.why_not.is_empty()).count();
        let _ = writeln!(
            out,
            "{matched} of {} route{} of {} {}{}",
            results.len(),
            if results.len() == 1 { "" } else { "s" },
            self.source.name,
            if matched == 1 { "matches" } else { "match" },
            if matched == 0 {
                ": process would complete the event as unrouted"
            } else {
                ""
            }
        );
        out
    }
}

impl RouteResult {
    fn destination(&self) -> String {
        if self.kind == "log" {
            "log".to_owned()
        } else {
            format!("{} {}", self.kind, self.target)
        }
    }

    fn describe(&self, out: &mut String) {
        let head = format!("route {} (routes[{}])", self.name, self.index);
        let Some(delivers) = &self.delivers else {
            let _ = writeln!(out, "{head}: does not match");
            for why in &self.why_not {
                let _ = writeln!(out, "  {why}");
            }
            let _ = writeln!(out);
            return;
        };
        let _ = writeln!(out, "{head}: matches → {}", self.destination());
        match delivers {
            Delivers::Unchanged { bytes } => {
                let _ = writeln!(out, "  body unchanged ({bytes} bytes)");
            }
            Delivers::Transformed(output) => {
                let _ = writeln!(out, "  transformed ({} bytes):", output.len());
                for line in pretty(output).lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            Delivers::Failed { reason, message } => {
                let _ = writeln!(out, "  {reason}: {message}");
            }
        }
        let _ = writeln!(out);
    }

    /// The route as `--json` gives it; the transform's output as it is delivered (its keys in
    /// the order the transform wrote them).
    fn to_json(&self) -> RouteJson<'_> {
        let (output, body_unchanged, bytes, error) = match &self.delivers {
            None => (None, None, None, None),
            Some(Delivers::Unchanged { bytes }) => (None, Some(true), Some(*bytes), None),
            Some(Delivers::Transformed(output)) => {
                let text = String::from_utf8_lossy(output).into_owned();
                let raw = RawValue::from_string(text.clone())
                    .or_else(|_| RawValue::from_string(Value::String(text).to_string()))
                    .ok();
                (raw, Some(false), Some(output.len()), None)
            }
            Some(Delivers::Failed { reason, message }) => (
                None,
                None,
                None,
                Some(RouteError {
                    reason: reason.as_str(),
                    message: message.as_str(),
                }),
            ),
        };
        RouteJson {
            route: &self.name,
            index: self.index,
            matches: self.delivers.is_some(),
            why_not: &self.why_not,
            kind: self.kind,
            target: &self.target,
            body_unchanged,
            bytes,
            output,
            error,
        }
    }
}

/// One route in `--json`'s array.
#[derive(Debug, Serialize)]
struct RouteJson<'a> {
    route: &'a str,
    /// Its place in the config's `[[routes]]`.
    index: usize,
    matches: bool,
    /// Why not, each by its key; empty when it matches.
    why_not: &'a [String],
    kind: &'static str,
    target: &'a str,
    /// For a matching route: whether it delivers the body as it came, and how many bytes.
    body_unchanged: Option<bool>,
    bytes: Option<usize>,
    /// The transform's output, when it has one.
    output: Option<Box<RawValue>>,
    /// The transform's failure: `transform_failed` and its message.
    error: Option<RouteError<'a>>,
}

#[derive(Debug, Serialize)]
struct RouteError<'a> {
    reason: &'a str,
    message: &'a str,
}

/// A transform's output indented two spaces a level, its keys in the order it wrote them; as
/// text when it is not JSON.
fn pretty(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err() {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push(c);
                while let Some(c) = chars.next() {
                    out.push(c);
                    match c {
                        '\\' => out.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                out.push(c);
                // An empty object or array stays on its line.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if let Some(&close @ ('}' | ']')) = chars.peek() {
                    out.push(close);
                    chars.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// A string as JSON writes it, quotes and escapes included.
fn quoted(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// An event filter's names as a list, `["push", "issues*"]`.
pub(crate) fn filter_names(filter: &inlet_core::config::EventFilter) -> String {
    // The filter keeps its names private; its Debug form is `EventFilter([…])`, the list as Rust
    // writes a list of strings.
    let debug = format!("{filter:?}");
    debug
        .strip_prefix("EventFilter(")
        .and_then(|rest| rest.strip_suffix(')'))
        .map_or_else(|| debug.clone(), str::to_owned)
}

/// How long a value may be in a reason before it is cut.
const SHOWN_VALUE_CHARS: usize = 80;

/// A value as the reason shows it: compact JSON, cut when long.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= SHOWN_VALUE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(SHOWN_VALUE_CHARS).collect();
    format!("{cut}…")
}

/// Why `condition` does not hold for the event, in words: `/action is "closed", not one of
/// ["opened","reopened"]`. `body` is the body as JSON, if it is JSON.
fn explain(condition: &Condition, envelope: &Envelope, body: Option<&Value>) -> String {
    let (label, value) = match &condition.subject {
        Subject::Pointer(pointer) => {
            let Some(body) = body else {
                return format!("{pointer}: the body is not JSON, so it has nothing there");
            };
            (pointer.clone(), body.pointer(pointer).cloned())
        }
        Subject::Header(name) => (
            format!("header {name}"),
            envelope.headers.get(name).cloned().map(Value::String),
        ),
    };
    let is = value.as_ref().map_or_else(|| "absent".to_owned(), shown);
    match &condition.test {
        Test::In(list) => format!(
            "{label} is {is}, not one of {}",
            shown(&Value::Array(list.clone()))
        ),
        Test::Equals(wanted) => format!("{label} is {is}, not {}", shown(wanted)),
        Test::Exists(true) => format!("{label} is absent"),
        Test::Exists(false) => format!("{label} is {is}, and must be absent"),
        Test::Prefix(prefix) => match &value {
            Some(Value::String(_)) => format!(
                "{label} is {is}, which does not start with {}",
                quoted(prefix)
            ),
            _ => format!(
                "{label} is {is}, not a string starting with {}",
                quoted(prefix)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_core::config::Action;
    use serde_json::json;

    const CONFIG: &str = "\
[sources.github]
scheme = \"github\"
secrets = [\"env:GH\"]

[sources.stripe]
scheme = \"stripe\"
secrets = [\"env:ST\"]

[[routes]]
source = \"github\"
events = [\"issues\", \"pull_request*\"]
action = { type = \"forward\", url = \"https://agent.example/triage\", secret = \"env:GH\" }

[[routes]]
source = \"stripe\"
action = { type = \"log\" }
";

    /// The config above, with the GitHub route made into three: `triage` (issues opened or
    /// reopened, reshaped), `audit` (everything, to a queue) and `labels` (a header condition).
    fn config() -> Config {
        let mut config = Config::parse(CONFIG).unwrap();
        let mut triage = config.routes[0].clone();
        triage.name = "triage".into();
        triage.when = vec![Condition {
            subject: Subject::Pointer("/action".into()),
            test: Test::In(vec![json!("opened"), json!("reopened")]),
        }];
        triage.transform = Some("{title: .issue.title}".into());
        let mut audit = config.routes[0].clone();
        audit.name = "audit".into();
        audit.events = None;
        audit.action = Action::Sqs {
            queue_url: "http://127.0.0.1:5055/000000000000/audit".into(),
            group_pointer: None,
        };
        let mut labels = audit.clone();
        labels.name = "labels".into();
        labels.when = vec![Condition {
            subject: Subject::Header("x-github-event".into()),
            test: Test::Equals(json!("label")),
        }];
        labels.action = Action::Log;
        let stripe = config.routes[1].clone();
        config.routes = vec![triage, audit, stripe, labels];
        config
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        parse_headers(&lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    async fn results(
        config: &Config,
        source: &str,
        headers: &HeaderMap,
        body: &str,
        event_type: Option<&str>,
    ) -> (Vec<RouteResult>, String) {
        let table = RouteTable::compile(config).unwrap();
        let source = config.source(source).unwrap();
        let tested = test_delivery(
            source,
            headers,
            body.as_bytes(),
            event_type.map(str::to_owned),
        );
        let results = tested.run(&table).await;
        let text = tested.describe(&results);
        (results, text)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_type_is_read_as_ingest_reads_it_and_only_kept_headers_count() {
        let config = config();
        let github = config.source("github").unwrap();
        let tested = test_delivery(
            github,
            &headers(&[
                "X-GitHub-Event: issues",
                "Content-Type: application/json",
                "X-Custom: 1",
                "X-Hub-Signature-256: sha256=00",
            ]),
            br#"{"action":"opened"}"#,
            None,
        );
        assert_eq!(tested.envelope.key, "github#test");
        assert_eq!(tested.envelope.event_type.as_deref(), Some("issues"));
        assert_eq!(tested.type_from, TypeFrom::Delivery);
        assert_eq!(tested.kept, ["content-type", "x-github-event"]);
        assert!(
            tested.notes[0].starts_with(
                "--header x-custom, x-hub-signature-256: ignored: the envelope keeps only \
                 content-type, x-github-event, "
            ),
            "{:?}",
            tested.notes
        );
        // A type in the body: Stripe's `type`.
        let stripe = config.source("stripe").unwrap();
        let tested = test_delivery(
            stripe,
            &HeaderMap::new(),
            br#"{"id":"evt_1","type":"invoice.paid"}"#,
            None,
        );
        assert_eq!(tested.envelope.event_type.as_deref(), Some("invoice.paid"));
        // --event-type wins.
        let tested = test_delivery(
            stripe,
            &HeaderMap::new(),
            br#"{"id":"evt_1","type":"invoice.paid"}"#,
            Some("charge.failed".into()),
        );
        assert_eq!(tested.envelope.event_type.as_deref(), Some("charge.failed"));
        assert_eq!(tested.type_from, TypeFrom::Given);
        // No type header: none, and why.
        let tested = test_delivery(github, &HeaderMap::new(), b"{}", None);
        assert_eq!(tested.envelope.event_type, None);
        assert!(
            matches!(&tested.type_from, TypeFrom::Absent(why) if why.contains("x-github-event")),
            "{:?}",
            tested.type_from
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn each_route_of_the_source_says_whether_it_matches_and_why_not() {
        let config = config();
        let (results, text) = results(
            &config,
            "github",
            &headers(&["X-GitHub-Event: issues"]),
            r#"{"action":"closed","issue":{"title":"Crash"}}"#,
            None,
        )
        .await;
        // The stripe route is not listed; the others in the config's order.
        let names: Vec<_> = results.iter().map(|r| (r.name.as_str(), r.index)).collect();
        assert_eq!(names, [("triage", 0), ("audit", 1), ("labels", 3)]);
        assert_eq!(
            results[0].why_not,
            [r#"routes[0].when[0]: /action is "closed", not one of ["opened","reopened"]"#]
        );
        assert_eq!(results[0].delivers, None);
        assert_eq!(results[1].why_not, Vec::<String>::new());
        assert_eq!(results[1].delivers, Some(Delivers::Unchanged { bytes: 45 }));
        assert_eq!(
            results[2].why_not,
            [r#"routes[3].when[0]: header x-github-event is "issues", not "label""#]
        );
        assert!(
            text.contains(
                "route triage (routes[0]): does not match\n  routes[0].when[0]: /action is \
                 \"closed\", not one of [\"opened\",\"reopened\"]\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "route audit (routes[1]): matches → sqs \
                 http://127.0.0.1:5055/000000000000/audit\n  body unchanged (45 bytes)\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("1 of 3 routes of github matches\n"),
            "{text}"
        );
        // The route's own filter, for another type.
        let (results, _) = results_of_type(&config, "push").await;
        assert_eq!(
            results[0].why_not,
            [
                r#"routes[0].events: the type "push" is not in ["issues", "pull_request*"]"#,
                r#"routes[0].when[0]: /action is absent, not one of ["opened","reopened"]"#,
            ]
        );
    }

    async fn results_of_type(config: &Config, event_type: &str) -> (Vec<RouteResult>, String) {
        results(config, "github", &HeaderMap::new(), "{}", Some(event_type)).await
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_matching_route_shows_its_transformed_output() {
        let config = config();
        let (results, text) = results(
            &config,
            "github",
            &headers(&["X-GitHub-Event: issues"]),
            r#"{"action":"opened","issue":{"title":"Crash","body":"…"}}"#,
            None,
        )
        .await;
        assert_eq!(
            results[0].delivers,
            Some(Delivers::Transformed(br#"{"title":"Crash"}"#.to_vec()))
        );
        assert!(
            text.contains(
                "route triage (routes[0]): matches → forward https://agent.example/triage\n  \
                 transformed (17 bytes):\n    {\n      \"title\": \"Crash\"\n    }\n"
            ),
            "{text}"
        );
        let json: Value = serde_json::to_value(results[0].to_json()).unwrap();
        assert_eq!(json["output"], json!({"title": "Crash"}));
        assert_eq!(json["matches"], true);
        assert_eq!(json["body_unchanged"], false);
        assert_eq!(json["kind"], "forward");
        assert!(text.ends_with("2 of 3 routes of github match\n"), "{text}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_transform_error_is_shown_as_the_dead_letter_would_say_it() {
        let mut config = config();
        config.routes[0].transform = Some("{title: (.issue.title + 1)}".into());
        let (results, text) = results(
            &config,
            "github",
            &headers(&["X-GitHub-Event: issues"]),
            r#"{"action":"opened","issue":{"title":"Crash"}}"#,
            None,
        )
        .await;
        let Some(Delivers::Failed { reason, message }) = &results[0].delivers else {
            panic!("{results:?}");
        };
        assert_eq!(reason, "transform_failed");
        assert!(!message.is_empty());
        assert!(text.contains("\n  transform_failed: "), "{text}");
        let json: Value = serde_json::to_value(results[0].to_json()).unwrap();
        assert_eq!(json["error"]["reason"], "transform_failed");
        assert_eq!(json["output"], Value::Null);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_type_the_source_filters_out_reaches_no_route() {
        let mut config = config();
        let filtered = Config::parse(
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\nevents = [\"issues\"]\n",
        )
        .unwrap();
        config.sources = filtered.sources;
        let (results, text) = results_of_type(&config, "push").await;
        assert!(results.iter().all(|r| r.delivers.is_none()));
        assert_eq!(
            results[1].why_not,
            [
                "sources.github.events: the source does not take type \"push\" (ingest answers \
                 200 ignored): no route runs"
            ]
        );
        assert!(
            text.contains("\nnot queued: sources.github.events"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "0 of 3 routes of github match: process would complete the event as unrouted\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_output_is_indented_with_its_keys_in_its_own_order() {
        assert_eq!(
            pretty(br#"{"z":[1,{"a":"x,\"{y}"}],"e":{},"l":[],"b":null}"#),
            "{\n  \"z\": [\n    1,\n    {\n      \"a\": \"x,\\\"{y}\"\n    }\n  ],\n  \
             \"e\": {},\n  \"l\": [],\n  \"b\": null\n}"
        );
        assert_eq!(pretty(b"7"), "7");
        assert_eq!(pretty(b"not json"), "not json");
    }

    #[test]
    fn a_handshake_reaches_no_route() {
        let config =
            Config::parse("[sources.slack]\nscheme = \"slack\"\nsecrets = [\"env:SL\"]\n").unwrap();
        let slack = config.source("slack").unwrap();
        let tested = test_delivery(
            slack,
            &HeaderMap::new(),
            br#"{"token":"t","challenge":"c","type":"url_verification"}"#,
            None,
        );
        assert!(
            tested
                .not_queued
                .as_deref()
                .is_some_and(|why| why.starts_with("this is a slack handshake")),
            "{tested:?}"
        );
    }

    #[test]
    fn each_kind_of_condition_says_why_it_fails() {
        let envelope = Envelope::from_json(
            r#"{"v":1,"key":"github#1","source":"github","scheme":"github","event_id":"1",
                "received_at":"2026-11-28T13:00:00.000Z","headers":{"x-github-event":"push"},
                "body":"{}"}"#,
        )
        .unwrap();
        let body = json!({"ref": "refs/tags/v1", "size": 3, "action": "closed"});
        let why = |subject: Subject, test: Test| {
            explain(&Condition { subject, test }, &envelope, Some(&body))
        };
        let pointer = |p: &str| Subject::Pointer(p.into());
        assert_eq!(
            why(pointer("/ref"), Test::Prefix("refs/heads/".into())),
            r#"/ref is "refs/tags/v1", which does not start with "refs/heads/""#
        );
        assert_eq!(
            why(pointer("/size"), Test::Prefix("1".into())),
            r#"/size is 3, not a string starting with "1""#
        );
        assert_eq!(
            why(pointer("/action"), Test::Equals(json!("opened"))),
            r#"/action is "closed", not "opened""#
        );
        assert_eq!(
            why(pointer("/sender"), Test::Exists(true)),
            "/sender is absent"
        );
        assert_eq!(
            why(pointer("/size"), Test::Exists(false)),
            "/size is 3, and must be absent"
        );
        assert_eq!(
            why(
                Subject::Header("x-github-event".into()),
                Test::In(vec![json!("issues")])
            ),
            r#"header x-github-event is "push", not one of ["issues"]"#
        );
        assert_eq!(
            explain(
                &Condition {
                    subject: pointer("/action"),
                    test: Test::Exists(true)
                },
                &envelope,
                None
            ),
            "/action: the body is not JSON, so it has nothing there"
        );
    }
}
