//! `make soak`: the local stack under load. The release `inlet dev`, against its own moto server,
//! takes `--deliveries` signed deliveries over HTTP from several schemes as fast as this machine
//! lets it, with a tenth of them sent again (some at the same moment as the original, some much
//! later, as providers retry) and 3% forged. A loopback forward target records every forward,
//! checks its Standard Webhooks signature and body, and answers per route: 200, 500 once then
//! 200, 410 (dead-lettered at once with a reason), or always 500 (dead-lettered by process as
//! `retries_exhausted` once its route's retry schedule has run out).
//!
//! Once the queue is empty, the run checks what a user of the pipeline relies on:
//! - every forgery got 401 with the code its forgery calls for, and every other delivery 202;
//! - every accepted event was forwarded successfully exactly once or dead-lettered once with the
//!   reason its route calls for, never both, never neither; nothing forged reached the target;
//! - an always-failing event reached the target exactly as many times as its schedule has
//!   attempts, however many copies of it were sent (the attempts are the event's, not a copy's);
//! - every forward verified and carried the original body.
//!
//! It prints a table and a final JSON line, and exits non-zero when a check fails or the run
//! does not settle within `--max-seconds`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use http::{HeaderMap, HeaderValue};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use inlet_core::envelope::Envelope;
use inlet_local as local;
use inlet_signature::{Delivery, Scheme, Window};
use inlet_testkit::providers::named;
use inlet_testkit::target::{Hit, Script, Target};
use inlet_testkit::{Dev, Emulator, Scratch, kill_started, proc, repo_root};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage: soak [--deliveries N] [--max-seconds S] [--concurrency N] \
                     [--backlog N] [--seed N] [--inlet PATH]";

/// What the forward action signs with (Standard Webhooks), so the target can verify.
const AGENT_SECRET: &str = "whsec_c29hay1hZ2VudC1mb3J3YXJkLXNlY3JldA==";
/// A failing route's attempts in all: the first and one per step of the config's
/// `retry_schedule`.
const ATTEMPTS: u32 = 5;
/// The reason process dead-letters a route with once its schedule has run out.
const RETRIES_EXHAUSTED: &str = "retries_exhausted";
/// The reason the soak gives records the queue's redrive policy moved (they carry none): the
/// queue's safety net, which no source's fate calls for.
const MOVED_BY_THE_QUEUE: &str = "moved by the queue's redrive policy";

// ---- sources, routes and the config ----

/// What must become of an accepted event of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Forwarded,
    DeadLettered(&'static str),
}

struct Source {
    name: &'static str,
    scheme: &'static str,
    variable: &'static str,
    secret: &'static str,
    /// The target's path its route forwards to, which decides the answer.
    path: &'static str,
    /// How the target answers there.
    script: Script,
    /// Share of the originals, in percent.
    weight: u32,
    fate: Fate,
}

const SOURCES: [Source; 7] = [
    Source {
        name: "github",
        scheme: "github",
        variable: "SOAK_GITHUB",
        secret: "soak-github-secret",
        path: "ok",
        script: Script::Ok,
        weight: 24,
        fate: Fate::Forwarded,
    },
    Source {
        name: "stripe",
        scheme: "stripe",
        variable: "SOAK_STRIPE",
        secret: "whsec_soak_stripe_secret",
        path: "ok",
        script: Script::Ok,
        weight: 22,
        fate: Fate::Forwarded,
    },
    Source {
        name: "svix",
        scheme: "standard-webhooks",
        variable: "SOAK_SVIX",
        secret: "whsec_c29hay1zdGFuZGFyZC13ZWJob29rcy1zZWNyZXQ=",
        path: "ok",
        script: Script::Ok,
        weight: 22,
        fate: Fate::Forwarded,
    },
    Source {
        name: "shopify",
        scheme: "shopify",
        variable: "SOAK_SHOPIFY",
        secret: "soak-shopify-secret",
        path: "ok",
        script: Script::Ok,
        weight: 22,
        fate: Fate::Forwarded,
    },
    // The target fails each event's first forward with 500: it arrives on the retry.
    Source {
        name: "flaky",
        scheme: "github",
        variable: "SOAK_GITHUB",
        secret: "soak-github-secret",
        path: "flaky",
        script: Script::FailFirstEach(1),
        weight: 5,
        fate: Fate::Forwarded,
    },
    // 410: a permanent failure, dead-lettered by process with a reason.
    Source {
        name: "gone",
        scheme: "standard-webhooks",
        variable: "SOAK_SVIX",
        secret: "whsec_c29hay1zdGFuZGFyZC13ZWJob29rcy1zZWNyZXQ=",
        path: "gone",
        script: Script::Always(410),
        weight: 3,
        fate: Fate::DeadLettered("action_failed"),
    },
    // Always 500: tried by its route's schedule, then dead-lettered by process.
    Source {
        name: "broken",
        scheme: "shopify",
        variable: "SOAK_SHOPIFY",
        secret: "soak-shopify-secret",
        path: "broken",
        script: Script::Always(500),
        weight: 2,
        fate: Fate::DeadLettered(RETRIES_EXHAUSTED),
    },
];

/// Sources forgeries are sent to: one per scheme, each answering through the same verifier.
const FORGED_SOURCES: [usize; 4] = [0, 1, 2, 3];

fn scheme_of(source: &Source) -> Scheme {
    Scheme::named(source.scheme).unwrap()
}

fn config(target: SocketAddr) -> String {
    // A failing route is tried five times a second apart, so that what keeps failing reaches
    // the dead-letter queue in seconds, not in the default schedule's day; a fault of the
    // pipeline's own comes back after a second or two. No breaker holds a target back: the
    // always-failing events' accounting counts every attempt reaching it, and the breaker has
    // tests of its own (tests/tests/stack/outages.rs).
    let mut text = String::from(
        "[process]\nretry_schedule = [\"1s\", \"1s\", \"1s\", \"1s\"]\nbreaker_threshold = 1000\n\
         retry_base_secs = 1\nretry_max_secs = 2\n\n",
    );
    for source in &SOURCES {
        let _ = write!(
            text,
            "[sources.{}]\nscheme = \"{}\"\nsecrets = [\"env:{}\"]\n\n",
            source.name, source.scheme, source.variable
        );
    }
    for source in &SOURCES {
        let _ = write!(
            text,
            "[[routes]]\nsource = \"{}\"\naction = {{ type = \"forward\", \
             url = \"http://{target}/{}\", secret = \"env:SOAK_AGENT\", timeout_ms = 5000 }}\n\n",
            source.name, source.path
        );
    }
    text
}

fn env_file() -> String {
    let mut seen = HashSet::new();
    let mut text = format!("SOAK_AGENT={AGENT_SECRET}\n");
    for source in &SOURCES {
        if seen.insert(source.variable) {
            let _ = writeln!(text, "{}={}", source.variable, source.secret);
        }
    }
    text
}

// ---- a small deterministic generator, so a failing run can be repeated with --seed ----

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

// ---- events and the plan of what is sent when ----

struct Event {
    source: usize,
    key: String,
    /// The headers that name the event; the signature is added at send time.
    headers: HeaderMap,
    body: Bytes,
}

fn event(source: usize, n: usize, run: &str, rng: &mut Rng) -> Event {
    let spec = &SOURCES[source];
    // A body of a realistic size, so the queue and the forward carry something.
    let padding = "x".repeat(200 + rng.below(1000));
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let mut set = |name: &'static str, value: &str| {
        headers.insert(name, HeaderValue::try_from(value).unwrap());
    };
    let (id, body) = match spec.scheme {
        "github" => {
            let id = format!("{run}-{n:07}");
            set("x-github-event", "push");
            set("x-github-delivery", &id);
            let body = format!(
                r#"{{"ref":"refs/heads/main","delivery":"{id}","commits":[],"padding":"{padding}"}}"#
            );
            (id, body)
        }
        "stripe" => {
            let id = format!("evt_{run}_{n:07}");
            let body = format!(
                r#"{{"id":"{id}","object":"event","type":"invoice.paid","data":{{"amount":{n}}},"padding":"{padding}"}}"#
            );
            (id, body)
        }
        "standard-webhooks" => {
            let id = format!("msg_{run}_{n:07}");
            set("webhook-id", &id);
            let body = format!(
                r#"{{"type":"user.created","data":{{"id":"{id}"}},"padding":"{padding}"}}"#
            );
            (id, body)
        }
        "shopify" => {
            let id = format!("{run}-shop-{n:07}");
            set("x-shopify-topic", "orders/create");
            set("x-shopify-webhook-id", &id);
            let body = format!(r#"{{"id":{n},"note":"{id}","padding":"{padding}"}}"#);
            (id, body)
        }
        other => panic!("no events for scheme {other}"),
    };
    Event {
        source,
        key: format!("{}#{id}", spec.name),
        headers,
        body: Bytes::from(body),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forgery {
    /// Signed with a secret the source does not have.
    WrongSecret,
    /// Signed, then the body changed.
    Tampered,
    /// No signature header at all.
    Unsigned,
    /// Signed an hour ago: outside the replay window.
    Stale,
}

impl Forgery {
    fn code(self) -> &'static str {
        match self {
            Self::WrongSecret | Self::Tampered => "signature_mismatch",
            Self::Unsigned => "signature_missing",
            Self::Stale => "timestamp_out_of_tolerance",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Original,
    /// The same event again, posted right after the original: both are in flight together.
    CopyAtOnce,
    /// The same event again, much later: usually after it was processed.
    CopyLater,
    Forged(Forgery),
}

#[derive(Debug, Clone, Copy)]
struct Planned {
    event: usize,
    kind: Kind,
}

struct Plan {
    events: Vec<Event>,
    sends: Vec<Planned>,
}

fn plan(deliveries: usize, run: &str, rng: &mut Rng) -> Plan {
    let forged = (deliveries * 3).div_ceil(100);
    let copies = deliveries / 10;
    let total_weight: u32 = SOURCES.iter().map(|s| s.weight).sum();
    let mut forged_at: Vec<bool> = (0..deliveries).map(|i| i < forged).collect();
    rng.shuffle(&mut forged_at);
    let mut events = Vec::with_capacity(deliveries);
    // (order, send): the order places copies next to or well after their originals.
    let mut order: Vec<(u64, Planned)> = Vec::with_capacity(deliveries + copies);
    let forgeries = [
        Forgery::WrongSecret,
        Forgery::Tampered,
        Forgery::Unsigned,
        Forgery::Stale,
    ];
    for (n, forged) in forged_at.into_iter().enumerate() {
        let (source, kind) = if forged {
            let source = FORGED_SOURCES[n % FORGED_SOURCES.len()];
            let mut forgery = forgeries[rng.below(forgeries.len())];
            if forgery == Forgery::Stale && !scheme_of(&SOURCES[source]).has_timestamp() {
                forgery = Forgery::WrongSecret;
            }
            (source, Kind::Forged(forgery))
        } else {
            let mut pick = rng.below(total_weight as usize) as u32;
            let source = SOURCES
                .iter()
                .position(|s| {
                    if pick < s.weight {
                        true
                    } else {
                        pick -= s.weight;
                        false
                    }
                })
                .unwrap();
            (source, Kind::Original)
        };
        events.push(event(source, n, run, rng));
        order.push((n as u64 * 4, Planned { event: n, kind }));
    }
    let mut originals: Vec<usize> = (0..deliveries)
        .filter(|&n| order[n].1.kind == Kind::Original)
        .collect();
    rng.shuffle(&mut originals);
    for (i, &n) in originals.iter().take(copies).enumerate() {
        let (position, kind) = if i % 2 == 0 {
            (n as u64 * 4 + 1, Kind::CopyAtOnce)
        } else {
            // A provider's retry minutes later: a twentieth to a quarter of the run afterwards.
            let later = deliveries / 20 + rng.below(deliveries / 5 + 1);
            ((n + later) as u64 * 4 + 2, Kind::CopyLater)
        };
        order.push((position, Planned { event: n, kind }));
    }
    order.sort_by_key(|(position, _)| *position);
    Plan {
        events,
        sends: order.into_iter().map(|(_, send)| send).collect(),
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The delivery as its provider would post it now (or as a forger would).
fn signed(event: &Event, kind: Kind) -> (HeaderMap, Bytes) {
    let source = &SOURCES[event.source];
    let scheme = scheme_of(source);
    let forgery = match kind {
        Kind::Forged(forgery) => Some(forgery),
        _ => None,
    };
    let secret = match forgery {
        Some(Forgery::WrongSecret) if source.secret.starts_with("whsec_") => {
            "whsec_bm90LXRoZS1zb3VyY2Utc2VjcmV0"
        }
        Some(Forgery::WrongSecret) => "not-the-source-secret",
        _ => source.secret,
    };
    let at = if forgery == Some(Forgery::Stale) {
        now_secs() - 3600
    } else {
        now_secs()
    };
    let key = scheme.key(secret).unwrap();
    let mut headers = event.headers.clone();
    let added = scheme
        .sign(
            &Delivery {
                headers: &headers,
                body: &event.body,
                url: None,
                method: "POST",
                query: None,
            },
            &key,
            at,
        )
        .unwrap();
    for (name, value) in added {
        let signature = name.as_str().contains("signature") || name.as_str().contains("hmac");
        if !(forgery == Some(Forgery::Unsigned) && signature) {
            headers.insert(name, value);
        }
    }
    let body = if forgery == Some(Forgery::Tampered) {
        let mut bytes = event.body.to_vec();
        bytes.pop();
        bytes.extend_from_slice(b",\"tampered\":true}");
        Bytes::from(bytes)
    } else {
        event.body.clone()
    };
    (headers, body)
}

// ---- the sending clients ----

#[derive(Debug, Clone, Default)]
struct Answer {
    /// 0 when no answer came.
    status: u16,
    /// `error` of a refusal's JSON, `id` of a 202's.
    code: Option<String>,
    id: Option<String>,
    micros: u64,
    failure: Option<String>,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn post(
    sender: &mut Sender,
    addr: SocketAddr,
    source: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let mut request = hyper::Request::new(Full::new(body));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = format!("/webhooks/{source}").parse().unwrap();
    *request.headers_mut() = headers;
    request.headers_mut().insert(
        http::header::HOST,
        HeaderValue::try_from(addr.to_string()).unwrap(),
    );
    let started = Instant::now();
    let answer = async {
        sender
            .ready()
            .await
            .map_err(|e| format!("not ready: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("answer body: {e}"))?
            .to_bytes();
        Ok::<_, String>((status, body))
    }
    .await;
    let micros = started.elapsed().as_micros() as u64;
    match answer {
        Ok((status, body)) => {
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let text = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_owned);
            Answer {
                status,
                code: text("error"),
                id: text("id"),
                micros,
                failure: None,
            }
        }
        Err(failure) => Answer {
            micros,
            failure: Some(failure),
            ..Answer::default()
        },
    }
}

/// One keep-alive connection, taking the next planned send until none is left or time is up.
async fn client(
    addr: SocketAddr,
    plan: Arc<Plan>,
    next: Arc<AtomicUsize>,
    done: Arc<AtomicUsize>,
    deadline: Instant,
    window: Arc<Backpressure>,
) -> Vec<(usize, Answer)> {
    let mut answers = Vec::new();
    let mut sender: Option<Sender> = None;
    loop {
        window.wait(deadline).await;
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= plan.sends.len() || Instant::now() >= deadline {
            break;
        }
        let send = plan.sends[index];
        let event = &plan.events[send.event];
        let (headers, body) = signed(event, send.kind);
        let answer = match &mut sender {
            Some(open) => post(open, addr, SOURCES[event.source].name, headers, body).await,
            None => match connect(addr).await {
                Ok(mut open) => {
                    let answer =
                        post(&mut open, addr, SOURCES[event.source].name, headers, body).await;
                    sender = Some(open);
                    answer
                }
                Err(failure) => Answer {
                    failure: Some(failure),
                    ..Answer::default()
                },
            },
        };
        if answer.failure.is_some() {
            // The delivery's fate is unknown and counted as a failure; the next one gets a
            // fresh connection.
            sender = None;
        }
        answers.push((index, answer));
        done.fetch_add(1, Ordering::Relaxed);
    }
    answers
}

/// How many messages the queue may hold before the clients wait.
///
/// moto's ReceiveMessage re-reads the queue's attributes for every message it returns, each a
/// scan of the whole queue: a batch costs batch × depth, so an unbounded burst makes the
/// emulator quadratic and the soak would measure moto, not Inlet. Providers send at the rate
/// events happen, so keeping the backlog near what the poller drains measures what the
/// pipeline sustains.
struct Backpressure {
    limit: u64,
    /// Waiting plus in flight in the queue, as last read.
    backlog: std::sync::atomic::AtomicU64,
    /// Sent since that read, so that the clients do not all go at once when it drops.
    since_read: std::sync::atomic::AtomicU64,
    peak: std::sync::atomic::AtomicU64,
    /// Client time spent waiting for the backlog to drain, in milliseconds, over all clients.
    waited_ms: std::sync::atomic::AtomicU64,
}

impl Backpressure {
    async fn wait(&self, deadline: Instant) {
        let started = Instant::now();
        while self.backlog.load(Ordering::Relaxed) + self.since_read.load(Ordering::Relaxed)
            >= self.limit
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.since_read.fetch_add(1, Ordering::Relaxed);
        let waited = started.elapsed().as_millis() as u64;
        if waited > 0 {
            self.waited_ms.fetch_add(waited, Ordering::Relaxed);
        }
    }

    fn observe(&self, backlog: u64) {
        self.backlog.store(backlog, Ordering::Relaxed);
        self.since_read.store(0, Ordering::Relaxed);
        self.peak.fetch_max(backlog, Ordering::Relaxed);
    }
}

// ---- the forward target ----

/// The forward target: each source's route has a path of its own, answered as the source says.
async fn forward_target() -> Target {
    let mut scripts: Vec<(&str, Script)> = Vec::new();
    for source in &SOURCES {
        if !scripts.iter().any(|(path, _)| *path == source.path) {
            scripts.push((source.path, source.script));
        }
    }
    Target::start(&scripts).await
}

/// What the target saw of one event.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHits {
    attempts: u32,
    /// Answered 2xx.
    succeeded: u32,
}

/// The target's record, checked: every forward must verify as the Standard Webhooks signature of
/// the route's secret at the time it arrived, name the event it carries, and carry its original
/// body.
#[derive(Debug, Default)]
struct Forwards {
    hits: HashMap<String, KeyHits>,
    requests: u64,
    succeeded: u64,
    /// Forwards whose signature did not verify, or whose id did not match `webhook-id`.
    unverified: u64,
    /// Forwards whose body was not the event's original body.
    wrong_body: u64,
    /// Forwards of a key the soak never sent (or only forged).
    unknown: u64,
    by_status: BTreeMap<u16, u64>,
}

fn forwards(hits: &[Hit], bodies: &HashMap<String, Bytes>) -> Forwards {
    let agent = named("standard-webhooks").key(AGENT_SECRET).unwrap();
    let mut seen = Forwards::default();
    for hit in hits {
        let id = hit.key().unwrap_or("").to_owned();
        let at = hit
            .at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let verified = named("standard-webhooks").verify(
            &Delivery {
                headers: &hit.headers,
                body: &hit.body,
                url: None,
                method: "POST",
                query: None,
            },
            std::slice::from_ref(&agent),
            Window {
                now: at,
                tolerance_secs: 600,
            },
        );
        let genuine = matches!(&verified, Ok(v) if v.event_id.as_deref() == Some(id.as_str()));
        seen.requests += 1;
        seen.unverified += u64::from(!genuine);
        match bodies.get(&id) {
            None => seen.unknown += 1,
            Some(original) if original[..] != hit.body[..] => seen.wrong_body += 1,
            Some(_) => {}
        }
        let key = seen.hits.entry(id).or_default();
        key.attempts += 1;
        if hit.succeeded() {
            key.succeeded += 1;
            seen.succeeded += 1;
        }
        *seen.by_status.entry(hit.status).or_default() += 1;
    }
    seen
}

// ---- the run ----

struct Args {
    deliveries: usize,
    max_seconds: u64,
    concurrency: usize,
    backlog: u64,
    seed: u64,
    inlet: PathBuf,
}

fn args() -> Args {
    let here = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| repo_root().join("target/release"));
    let mut parsed = Args {
        deliveries: 10_000,
        max_seconds: 900,
        concurrency: 32,
        backlog: 50,
        seed: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        // The `inlet` built beside this binary: the release one under `make soak`.
        inlet: here.join("inlet"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{USAGE}"));
        match arg.as_str() {
            "--deliveries" => parsed.deliveries = value.parse().expect(USAGE),
            "--max-seconds" => parsed.max_seconds = value.parse().expect(USAGE),
            "--concurrency" => parsed.concurrency = value.parse().expect(USAGE),
            "--backlog" => parsed.backlog = value.parse().expect(USAGE),
            "--seed" => parsed.seed = value.parse().expect(USAGE),
            // Absolute: `inlet dev` runs in the scratch directory.
            "--inlet" => parsed.inlet = std::path::absolute(value).expect(USAGE),
            _ => panic!("{USAGE}"),
        }
    }
    assert!(
        parsed.deliveries >= 100 && parsed.concurrency >= 1 && parsed.max_seconds >= 1,
        "{USAGE} (at least 100 deliveries)"
    );
    assert!(
        parsed.inlet.exists(),
        "{} is missing: `make soak` builds it",
        parsed.inlet.display()
    );
    parsed
}

fn main() {
    let started = Instant::now();
    let args = args();
    // The release profile aborts on panic, so no `Drop` stops inlet dev or moto: this does.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_started();
        default_hook(info);
    }));

    let run = format!("{:x}", args.seed & 0xff_ffff_ffff);
    let mut rng = Rng(args.seed);
    let plan = Arc::new(plan(args.deliveries, &run, &mut rng));
    let bodies: Arc<HashMap<String, Bytes>> = Arc::new(
        plan.events
            .iter()
            .map(|e| (e.key.clone(), e.body.clone()))
            .collect(),
    );

    let emulator = Emulator::start();
    let moto = emulator.pid();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let scratch = Scratch::with_prefix(&format!("inlet-soak-{run}"));
    let target = runtime.block_on(forward_target());
    std::fs::write(scratch.path().join("inlet.toml"), config(target.addr)).unwrap();
    std::fs::write(scratch.path().join("local.env"), env_file()).unwrap();
    // Nothing of the developer's AWS setup or proxies may send it elsewhere; the secrets come
    // from the env file alone.
    let secret_variables: Vec<&str> = SOURCES
        .iter()
        .map(|s| s.variable)
        .chain(["SOAK_AGENT"])
        .collect();
    let mut dev = Dev::start_binary(&args.inlet, &emulator, scratch.path(), &secret_variables);

    println!(
        "soak: {} ({}), moto on {}, target on {}, {} client connections, seed {}",
        args.inlet.display(),
        format_args!("pid {}, 127.0.0.1:{}", dev.pid(), dev.port),
        emulator.endpoint(),
        target.addr,
        args.concurrency,
        args.seed
    );
    let deadline = started + Duration::from_secs(args.max_seconds);
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = soak(&args, &plan, &bodies, &target, &emulator, &mut dev, moto, deadline, started) => Some(outcome),
            () = interrupted() => None,
        }
    });
    let code = match outcome {
        Some(true) => 0,
        Some(false) => 1,
        None => {
            println!("soak: interrupted; stopping inlet dev and moto");
            130
        }
    };
    drop(target);
    drop(runtime);
    drop(dev);
    drop(emulator);
    if code == 1 {
        println!(
            "the run's config and inlet dev's output are kept in {}",
            scratch.keep().display()
        );
    } else {
        drop(scratch);
    }
    std::process::exit(code);
}

async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).unwrap();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

#[allow(clippy::too_many_arguments)]
async fn soak(
    args: &Args,
    plan: &Arc<Plan>,
    bodies: &HashMap<String, Bytes>,
    target: &Target,
    emulator: &Emulator,
    dev: &mut Dev,
    moto: Option<u32>,
    deadline: Instant,
    started: Instant,
) -> bool {
    let sqs = aws_sdk_sqs::Client::new(&emulator.sdk_config().await);
    let queue_url = url_of(&sqs, "inlet-events").await;
    let dlq_url = url_of(&sqs, "inlet-events-dlq").await;
    let addr: SocketAddr = ([127, 0, 0, 1], dev.port).into();
    let mut failures: Vec<String> = Vec::new();

    // ---- send ----
    let total = plan.sends.len();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let window = Arc::new(Backpressure {
        limit: args.backlog,
        backlog: 0.into(),
        since_read: 0.into(),
        peak: 0.into(),
        waited_ms: 0.into(),
    });
    let watcher = {
        let (window, sqs, queue_url) = (Arc::clone(&window), sqs.clone(), queue_url.clone());
        tokio::spawn(async move {
            loop {
                if let Ok((waiting, in_flight)) = local::depth(&sqs, &queue_url).await {
                    window.observe(waiting + in_flight);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let send_started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        clients.spawn(client(
            addr,
            Arc::clone(plan),
            Arc::clone(&next),
            Arc::clone(&done),
            deadline,
            Arc::clone(&window),
        ));
    }
    let mut answers: Vec<Option<Answer>> = vec![None; total];
    let mut last_report = Instant::now();
    loop {
        tokio::select! {
            joined = clients.join_next() => match joined {
                Some(result) => {
                    for (index, answer) in result.unwrap() {
                        answers[index] = Some(answer);
                    }
                }
                None => break,
            },
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                if dev.exited().is_some() {
                    break;
                }
                if last_report.elapsed() >= Duration::from_secs(10) {
                    last_report = Instant::now();
                    let sent = done.load(Ordering::Relaxed);
                    let secs = send_started.elapsed().as_secs_f64();
                    println!(
                        "  sending: {sent}/{total} in {secs:.0} s ({:.0}/s), queue {}, forwarded {}",
                        sent as f64 / secs,
                        window.backlog.load(Ordering::Relaxed),
                        target.count(Hit::succeeded)
                    );
                }
            }
        }
    }
    clients.abort_all();
    watcher.abort();
    let send_secs = send_started.elapsed().as_secs_f64();

    // ---- settle ----
    let mut settled_at = None;
    let mut last_report = Instant::now();
    let mut depths = ((0, 0), (0, 0));
    loop {
        if let Some(status) = dev.exited() {
            failures.push(format!("inlet dev exited ({status}):\n{}", dev.tail(40)));
            break;
        }
        let queue = local::depth(&sqs, &queue_url).await;
        let dead = local::depth(&sqs, &dlq_url).await;
        let (Ok(queue), Ok(dead)) = (queue, dead) else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        depths = (queue, dead);
        if queue == (0, 0) {
            // Twice in a row, half a second apart: moto's counts are exact, so this is quiet.
            match settled_at {
                Some(_) => break,
                None => settled_at = Some(Instant::now()),
            }
        } else {
            settled_at = None;
        }
        if Instant::now() >= deadline {
            failures.push(format!(
                "the time bound ({} s) was hit: queue {:?} (waiting, in flight), dead letters {}",
                args.max_seconds, queue, dead.0
            ));
            break;
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            println!(
                "  settling: queue {} waiting / {} in flight, forwarded {}, dead letters {}",
                queue.0,
                queue.1,
                target.count(Hit::succeeded),
                dead.0
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let settle_end = settled_at.unwrap_or_else(Instant::now);
    let end_to_end_secs = settle_end.duration_since(send_started).as_secs_f64();
    let seconds = |time: Option<Duration>| time.map(|t| t.as_secs_f64());
    let dev_peak = proc::peak_rss_mib(dev.pid());
    let dev_cpu = seconds(proc::cpu_time(dev.pid()));
    let moto_peak = moto.and_then(proc::peak_rss_mib);
    let moto_cpu = seconds(moto.and_then(proc::cpu_time));
    let own_cpu = seconds(proc::cpu_time(std::process::id()));

    // ---- the dead-letter queue ----
    let letters = local::peek(&sqs, &dlq_url, 1_000_000)
        .await
        .unwrap_or_else(|e| {
            failures.push(format!("could not read the dead-letter queue: {e}"));
            Vec::new()
        });
    if letters.len() as u64 != depths.1.0 {
        failures.push(format!(
            "read {} dead letters, the queue counts {}",
            letters.len(),
            depths.1.0
        ));
    }
    // key → reasons, one per dead letter (a copy of a failing event is a dead letter too).
    let mut dead_letters: HashMap<String, Vec<String>> = HashMap::new();
    let mut unreadable_letters = 0;
    for letter in &letters {
        match Envelope::from_json(&letter.body) {
            Ok(envelope) => dead_letters.entry(envelope.key).or_default().push(
                letter
                    .attributes
                    .get("reason")
                    .cloned()
                    .unwrap_or_else(|| MOVED_BY_THE_QUEUE.to_owned()),
            ),
            Err(_) => unreadable_letters += 1,
        }
    }
    if unreadable_letters > 0 {
        failures.push(format!(
            "{unreadable_letters} dead letters are not envelopes"
        ));
    }

    // ---- answers ----
    let mut by_answer: BTreeMap<String, u64> = BTreeMap::new();
    let mut latencies = Vec::with_capacity(total);
    let mut accepted: HashSet<&str> = HashSet::new();
    let mut accepted_deliveries = 0u64;
    let mut forged_sent = 0u64;
    let mut forged_refused_right = 0u64;
    let mut copies = (0u64, 0u64);
    let mut unsent = 0u64;
    let mut wrong_answers: Vec<String> = Vec::new();
    for (send, answer) in plan.sends.iter().zip(&answers) {
        let event = &plan.events[send.event];
        match send.kind {
            Kind::CopyAtOnce => copies.0 += 1,
            Kind::CopyLater => copies.1 += 1,
            Kind::Forged(_) => forged_sent += 1,
            Kind::Original => {}
        }
        let Some(answer) = answer else {
            unsent += 1;
            continue;
        };
        latencies.push(answer.micros);
        let label = match (&answer.failure, answer.status, &answer.code) {
            (Some(_), _, _) => "no answer".to_owned(),
            (None, status, Some(code)) => format!("{status} {code}"),
            (None, status, None) => status.to_string(),
        };
        *by_answer.entry(label.clone()).or_default() += 1;
        match send.kind {
            Kind::Forged(forgery) => {
                if answer.status == 401 && answer.code.as_deref() == Some(forgery.code()) {
                    forged_refused_right += 1;
                } else {
                    wrong_answers.push(format!(
                        "{} ({forgery:?}): {label}, expected 401 {}",
                        event.key,
                        forgery.code()
                    ));
                }
            }
            _ => {
                if answer.status == 202 && answer.id.as_deref() == Some(event.key.as_str()) {
                    accepted.insert(&event.key);
                    accepted_deliveries += 1;
                } else {
                    wrong_answers.push(format!(
                        "{}: {label} {}, expected 202",
                        event.key,
                        answer.failure.as_deref().unwrap_or("")
                    ));
                }
            }
        }
    }
    if unsent > 0 {
        failures.push(format!("{unsent} deliveries were never sent (time bound)"));
    }
    if !wrong_answers.is_empty() {
        failures.push(format!(
            "{} deliveries got the wrong answer, e.g. {}",
            wrong_answers.len(),
            wrong_answers
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    latencies.sort_unstable();

    // ---- fates ----
    let Forwards {
        hits,
        requests: forward_requests,
        succeeded: forward_ok,
        unverified,
        wrong_body,
        unknown,
        by_status: forward_statuses,
    } = forwards(&target.all_hits(), bodies);
    let key_source: HashMap<&str, usize> = plan
        .events
        .iter()
        .map(|e| (e.key.as_str(), e.source))
        .collect();
    let mut forwarded_once = 0u64;
    let mut duplicates: Vec<&str> = Vec::new();
    let mut dead_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut lost: Vec<&str> = Vec::new();
    let mut both: Vec<&str> = Vec::new();
    let mut dead_twice: Vec<&str> = Vec::new();
    let mut wrong_fate: Vec<String> = Vec::new();
    // Per source: accepted unique events, forwarded exactly once, dead-lettered.
    let mut per_source = [[0u64; 3]; SOURCES.len()];
    for key in &accepted {
        let succeeded = hits.get(*key).map_or(0, |h| h.succeeded);
        let counts = &mut per_source[key_source[key]];
        counts[0] += 1;
        counts[1] += u64::from(succeeded == 1 && !dead_letters.contains_key(*key));
        counts[2] += u64::from(succeeded == 0 && dead_letters.contains_key(*key));
        let reasons = dead_letters.get(*key);
        if succeeded > 1 {
            duplicates.push(key);
        }
        let fate = SOURCES[key_source[key]].fate;
        match (succeeded, reasons) {
            (0, None) => lost.push(key),
            (0, Some(reasons)) => {
                // Copies of a dead-lettered event find its route settled there and are
                // acknowledged: one dead letter an event.
                if reasons.len() > 1 {
                    dead_twice.push(key);
                }
                let reason = reasons[0].as_str();
                *dead_by_reason.entry(reason.to_owned()).or_default() += 1;
                if reasons
                    .iter()
                    .any(|r| !matches!(fate, Fate::DeadLettered(expected) if expected == r))
                {
                    wrong_fate.push(format!(
                        "{key}: dead-lettered {reasons:?}, expected {fate:?}"
                    ));
                }
            }
            (_, None) => {
                forwarded_once += u64::from(succeeded == 1);
                if fate != Fate::Forwarded {
                    wrong_fate.push(format!("{key}: forwarded, expected {fate:?}"));
                }
            }
            (_, Some(_)) => both.push(key),
        }
    }
    let dead_unique: u64 = dead_by_reason.values().sum();
    let strays: Vec<&String> = hits
        .keys()
        .chain(dead_letters.keys())
        .filter(|k| !accepted.contains(k.as_str()))
        .collect();
    // Broken events are tried by their route's schedule, its attempts counted per event in its
    // claim whatever copies were queued: more would mean a route run again after it should have
    // been done with (or an attempt lost from the count), fewer a schedule cut short.
    let broken_mistried: Vec<String> = accepted
        .iter()
        .filter(|k| SOURCES[key_source[*k]].fate == Fate::DeadLettered(RETRIES_EXHAUSTED))
        .filter_map(|k| {
            let tried = hits.get(*k).map_or(0, |h| h.attempts);
            (tried != ATTEMPTS).then(|| format!("{k}: {tried}"))
        })
        .collect();

    for (what, list) in [
        (
            "accepted events were neither forwarded nor dead-lettered (lost)",
            &lost,
        ),
        (
            "events were forwarded successfully more than once",
            &duplicates,
        ),
        ("events were both forwarded and dead-lettered", &both),
        ("events were dead-lettered more than once", &dead_twice),
    ] {
        if !list.is_empty() {
            failures.push(format!(
                "{} {what}, e.g. {:?}",
                list.len(),
                &list[..list.len().min(5)]
            ));
        }
    }
    if !wrong_fate.is_empty() {
        failures.push(format!(
            "{} events ended other than their route calls for, e.g. {:?}",
            wrong_fate.len(),
            &wrong_fate[..wrong_fate.len().min(5)]
        ));
    }
    if !strays.is_empty() {
        failures.push(format!(
            "{} keys reached the target or the dead-letter queue without being accepted, e.g. {:?}",
            strays.len(),
            &strays[..strays.len().min(5)]
        ));
    }
    if !broken_mistried.is_empty() {
        failures.push(format!(
            "{} always-failing events were not tried exactly {ATTEMPTS} times, e.g. {:?}",
            broken_mistried.len(),
            &broken_mistried[..broken_mistried.len().min(5)]
        ));
    }
    for (count, what) in [
        (unverified, "forwards did not verify"),
        (wrong_body, "forwards did not carry the original body"),
        (unknown, "forwards named no event the soak sent"),
    ] {
        if count > 0 {
            failures.push(format!("{count} {what}"));
        }
    }
    if depths.0 != (0, 0) {
        failures.push(format!("the queue is not empty: {:?}", depths.0));
    }

    // ---- report ----
    let accepted_unique = accepted.len() as u64;
    let sent = latencies.len() as u64;
    let send_rate = sent as f64 / send_secs;
    let e2e_rate = accepted_unique as f64 / end_to_end_secs;
    let mib = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1} MiB"));
    let secs = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1} s"));
    let (p50, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().map_or(0.0, |&m| m as f64 / 1000.0),
    );
    let passed = failures.is_empty();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\n== soak: {} ==",
        if passed { "pass" } else { "FAIL" }
    );
    let _ = writeln!(
        text,
        "{:<34} {sent} ({} originals, {} copies at once, {} copies later, {forged_sent} forged)",
        "deliveries sent",
        total as u64 - copies.0 - copies.1 - forged_sent,
        copies.0,
        copies.1
    );
    for (answer, count) in &by_answer {
        let _ = writeln!(text, "{:<34} {count}", format!("  answered {answer}"));
    }
    let _ = writeln!(
        text,
        "{:<34} {forged_refused_right} of {forged_sent} with the expected code",
        "forgeries refused"
    );
    let _ = writeln!(
        text,
        "{:<34} {accepted_unique} ({accepted_deliveries} deliveries)",
        "accepted unique events"
    );
    let _ = writeln!(text, "{:<34} {forwarded_once}", "  forwarded exactly once");
    let _ = writeln!(text, "{:<34} {dead_unique}", "  dead-lettered");
    for (reason, count) in &dead_by_reason {
        let _ = writeln!(text, "{:<34} {count}", format!("    {reason}"));
    }
    let _ = writeln!(
        text,
        "    {:<8} {:<18} {:<22} {:>8} {:>10} {:>8}",
        "source", "scheme", "target answers", "accepted", "forwarded", "dead"
    );
    for (source, counts) in SOURCES.iter().zip(&per_source) {
        let answers = match source.script {
            Script::Ok => "200".to_owned(),
            Script::FailFirstEach(1) => "500 first, then 200".to_owned(),
            Script::Always(500) => "500 always".to_owned(),
            Script::Always(status) => status.to_string(),
            other => format!("{other:?}"),
        };
        let _ = writeln!(
            text,
            "    {:<8} {:<18} {:<22} {:>8} {:>10} {:>8}",
            source.name, source.scheme, answers, counts[0], counts[1], counts[2]
        );
    }
    let _ = writeln!(
        text,
        "{:<34} {} lost, {} duplicated, {} both, {} dead-lettered twice",
        "  anomalies",
        lost.len(),
        duplicates.len(),
        both.len(),
        dead_twice.len()
    );
    let _ = writeln!(
        text,
        "{:<34} {} (one a failing event: its copies are acknowledged)",
        "dead letters in the queue",
        letters.len(),
    );
    let _ = writeln!(
        text,
        "{:<34} {forward_requests} requests, {forward_ok} answered 2xx; by status {}",
        "forward target",
        forward_statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        text,
        "{:<34} {unverified} unverified, {wrong_body} wrong body, {unknown} unknown",
        "  forwards failing checks"
    );
    let _ = writeln!(
        text,
        "{:<34} {send_secs:.1} s, {send_rate:.0} deliveries/s",
        "send phase"
    );
    let _ = writeln!(
        text,
        "{:<34} at most {} queued (peak seen {}); clients waited {:.1} s in all",
        "  backlog window",
        args.backlog,
        window.peak.load(Ordering::Relaxed),
        window.waited_ms.load(Ordering::Relaxed) as f64 / 1000.0
    );
    let _ = writeln!(
        text,
        "{:<34} {end_to_end_secs:.1} s, {e2e_rate:.0} events/s (first send until the queue was empty)",
        "end to end"
    );
    let _ = writeln!(
        text,
        "{:<34} p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms ({} in flight)",
        "ingest latency (client)", args.concurrency
    );
    let _ = writeln!(
        text,
        "{:<34} inlet dev {}, moto {}",
        "peak memory (VmHWM)",
        mib(dev_peak),
        mib(moto_peak)
    );
    let _ = writeln!(
        text,
        "{:<34} inlet dev {}, moto {}, soak {}",
        "CPU time",
        secs(dev_cpu),
        secs(moto_cpu),
        secs(own_cpu)
    );
    let _ = writeln!(
        text,
        "{:<34} {:.1} s",
        "wall time",
        started.elapsed().as_secs_f64()
    );
    for failure in &failures {
        let _ = writeln!(text, "FAIL: {failure}");
    }
    print!("{text}");
    let json = serde_json::json!({
        "pass": passed,
        "seed": args.seed,
        "concurrency": args.concurrency,
        "backlog_window": args.backlog,
        "backlog_peak": window.peak.load(Ordering::Relaxed),
        "clients_waited_secs": round2(window.waited_ms.load(Ordering::Relaxed) as f64 / 1000.0),
        "sent": sent,
        "copies_at_once": copies.0,
        "copies_later": copies.1,
        "forged": forged_sent,
        "answers": by_answer,
        "accepted_deliveries": accepted_deliveries,
        "rejected": sent - accepted_deliveries,
        "rejected_as_expected": forged_refused_right,
        "accepted_unique": accepted_unique,
        "forwarded_once": forwarded_once,
        "dead_lettered": dead_unique,
        "dead_lettered_by_reason": dead_by_reason,
        "dead_letters": letters.len(),
        "lost": lost.len(),
        "duplicates_forwarded": duplicates.len(),
        "dead_lettered_twice": dead_twice.len(),
        "forward_requests": forward_requests,
        "forwards_unverified": unverified,
        "send_secs": round2(send_secs),
        "send_per_sec": round2(send_rate),
        "end_to_end_secs": round2(end_to_end_secs),
        "end_to_end_events_per_sec": round2(e2e_rate),
        "ingest_ms": { "p50": p50, "p99": p99, "max": max },
        "peak_mib": { "inlet_dev": dev_peak.map(round2), "moto": moto_peak.map(round2) },
        "cpu_secs": { "inlet_dev": dev_cpu, "moto": moto_cpu, "soak": own_cpu },
        "failures": failures,
    });
    println!("{json}");
    passed
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

async fn url_of(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("no queue {name}: {e}"))
        .queue_url
        .unwrap()
}
