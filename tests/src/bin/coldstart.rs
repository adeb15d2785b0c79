//! `make coldstart`: the release `ingest` and `process` binaries, and an empty Rust Lambda for a
//! baseline, each started as Lambda starts them — against a Lambda Runtime API served here on
//! loopback, with the AWS calls going to a moto server — and measured from the kernel's side:
//!
//! - init: wall time and CPU time from spawning the process to its first
//!   `GET /2018-06-01/runtime/invocation/next` (config parsed, secrets resolved, SDK clients
//!   built), and its peak RSS (`VmHWM`) at that moment;
//! - work: CPU time of the first invocation, and per invocation over the rest, then the peak RSS
//!   after them all.
//!
//! CPU time is the sum over the process's threads of `/proc/<pid>/task/<tid>/schedstat`'s first
//! field (nanoseconds on a CPU), read while the process waits for its next event. Every figure is
//! the median of `--runs` processes, each serving `--invocations` events. No AWS account or
//! network is needed: every address is on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_local::{self as local, StackSettings};
use inlet_testkit::{Emulator, proc, repo_root, unique};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str =
    "usage: coldstart [--runs N] [--invocations N] [--release-dir DIR] [--aws keep-alive|direct]";
/// How long one process may take for its init and all its invocations.
const RUN_LIMIT: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 server: enough for the Runtime API client in `lambda_runtime` and for the
// forward action's target. One thread per connection; keep-alive; Content-Length or chunked.

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Header lines up to the blank one, and how the body that follows is framed.
struct Head {
    headers: Vec<(String, String)>,
    length: Option<usize>,
    chunked: bool,
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Head> {
    let mut head = Head {
        headers: Vec::new(),
        length: None,
        chunked: false,
    };
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            return Some(head);
        }
        let (name, value) = header.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            head.length = Some(value.parse().ok()?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.eq_ignore_ascii_case("chunked");
        }
        head.headers.push((name.to_owned(), value.to_owned()));
    }
}

/// The body after `head`; without a length or chunking it runs to the end of the connection.
fn read_body(reader: &mut BufReader<TcpStream>, head: &Head) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    if head.chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = head.length {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    } else {
        reader.read_to_end(&mut body).ok()?;
    }
    Some(body)
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut head = read_head(reader)?;
    // A request without a length has no body (it cannot run to the end: the client waits).
    head.length = head.length.or(Some(0));
    let body = read_body(reader, &head)?;
    Some(Request {
        method,
        path,
        headers: head.headers,
        body,
    })
}

/// Headers that describe one hop's connection and framing, not the message.
fn hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
    ]
    .iter()
    .any(|hop| name.eq_ignore_ascii_case(hop))
}

/// A keep-alive front for moto, which closes its connection after every answer. In Lambda the
/// SDK's connections to AWS stay open across invocations; here the functions keep theirs open to
/// this proxy, and the new connection to moto per call is paid in this program, which is not
/// measured. Requests and answers pass through unchanged apart from their framing.
fn keep_alive_proxy(upstream: u16) -> u16 {
    serve(move |request, stream| {
        let mut upstream = TcpStream::connect(("127.0.0.1", upstream))?;
        let _ = upstream.set_nodelay(true);
        let mut message = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
        for (name, value) in request.headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
            message.push_str(&format!("{name}: {value}\r\n"));
        }
        message.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            request.body.len()
        ));
        let mut message = message.into_bytes();
        message.extend_from_slice(&request.body);
        upstream.write_all(&message)?;
        let mut reader = BufReader::new(upstream);
        let broken = || std::io::Error::from(std::io::ErrorKind::InvalidData);
        let mut status_line = String::new();
        reader.read_line(&mut status_line)?;
        let status = status_line
            .trim_end()
            .split_once(' ')
            .map(|(_, status)| status.to_owned())
            .ok_or_else(broken)?;
        let head = read_head(&mut reader).ok_or_else(broken)?;
        let body = read_body(&mut reader, &head).ok_or_else(broken)?;
        let headers: Vec<(&str, String)> = head
            .headers
            .iter()
            .filter(|(name, _)| !hop_by_hop(name))
            .map(|(name, value)| (name.as_str(), value.clone()))
            .collect();
        write_response(stream, &status, &headers, &body)
    })
}

fn write_response(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    stream.write_all(&message)?;
    stream.flush()
}

/// Serves `handle` on a free loopback port, for as long as this program runs.
fn serve<F>(handle: F) -> u16
where
    F: Fn(Request, &mut TcpStream) -> std::io::Result<()> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::sync::Arc::new(handle);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut writer = match stream.try_clone() {
                    Ok(writer) => writer,
                    Err(_) => return,
                };
                let mut reader = BufReader::new(stream);
                while let Some(request) = read_request(&mut reader) {
                    if handle(request, &mut writer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

// ---------------------------------------------------------------------------------------------
// The Lambda Runtime API: every call goes to the controller, which answers `next` itself.

enum Call {
    Next(mpsc::Sender<Event>),
    Response(Vec<u8>),
    Error(Vec<u8>),
    InitError(Vec<u8>),
}

struct Event {
    request_id: String,
    body: std::sync::Arc<Vec<u8>>,
}

fn runtime_api(calls: mpsc::Sender<Call>) -> u16 {
    let calls = std::sync::Mutex::new(calls);
    serve(move |request, stream| {
        let calls = calls.lock().unwrap().clone();
        let path = request.path.as_str();
        if request.method == "GET" && path.ends_with("/runtime/invocation/next") {
            let (reply, event) = mpsc::channel();
            if calls.send(Call::Next(reply)).is_err() {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            // No event: this process has served its share; it is killed while it waits.
            let Ok(event) = event.recv() else {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            };
            let deadline = epoch_ms() + 30_000;
            return write_response(
                stream,
                "200 OK",
                &[
                    ("content-type", "application/json".into()),
                    ("lambda-runtime-aws-request-id", event.request_id.clone()),
                    ("lambda-runtime-deadline-ms", deadline.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:inlet-coldstart".into(),
                    ),
                    (
                        "lambda-runtime-trace-id",
                        format!(
                            "Root=1-6b02e750-{deadline:024x};Parent=53995c3f42cd8ad8;Sampled=0"
                        ),
                    ),
                ],
                &event.body,
            );
        }
        let call = if path.ends_with("/response") {
            Call::Response(request.body)
        } else if path.ends_with("/init/error") {
            Call::InitError(request.body)
        } else {
            Call::Error(request.body)
        };
        let _ = calls.send(call);
        write_response(
            stream,
            "202 Accepted",
            &[("content-type", "application/json".into())],
            br#"{"status":"OK"}"#,
        )
    })
}

/// The forward action's target: takes everything with a 200.
fn forward_target() -> u16 {
    serve(|_request, stream| write_response(stream, "200 OK", &[], b""))
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// What the kernel says about a process.

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    at: Instant,
    /// CPU time of all the process's threads, in nanoseconds.
    cpu_ns: u64,
    /// Peak resident set so far, in KiB.
    hwm_kib: u64,
}

fn snapshot(pid: u32) -> Snapshot {
    Snapshot {
        at: Instant::now(),
        cpu_ns: proc::threads_cpu_ns(pid),
        hwm_kib: proc::peak_rss_kib(pid).unwrap_or(0),
    }
}

/// Kills the process when dropped, whatever way the run ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// One process: spawn, init, `invocations` events, kill.

struct Measured {
    wall_init_ms: f64,
    init_cpu_ms: f64,
    init_hwm_mib: f64,
    first_cpu_ms: f64,
    steady_cpu_ms: f64,
    peak_hwm_mib: f64,
}

struct Case<'a> {
    label: &'a str,
    binary: PathBuf,
    env: Vec<(String, String)>,
    event: std::sync::Arc<Vec<u8>>,
    /// Runs before each event is handed out, while the process waits (not measured).
    before_each: Option<&'a dyn Fn()>,
    /// Whether an answer is the expected one.
    expected: &'a dyn Fn(&Value) -> bool,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn run_once(
    case: &Case<'_>,
    run: usize,
    invocations: usize,
    api_port: u16,
    calls: &mpsc::Receiver<Call>,
) -> Result<Measured, String> {
    while calls.try_recv().is_ok() {}
    let logs = repo_root().join("target/coldstart");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let log_path = logs.join(format!("{}-{run}.log", case.label));
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut command = Command::new(&case.binary);
    command
        .env_clear()
        .envs(lambda_env(case.label, api_port))
        .envs(case.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    let spawned = Instant::now();
    let mut child = Running(
        command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", case.binary.display()))?,
    );
    let pid = child.0.id();
    let limit = spawned + RUN_LIMIT;

    let mut next = 0usize;
    let mut init = None;
    let mut after_first = None;
    let mut answered = 0usize;
    let mut unexpected: Option<String> = None;
    loop {
        let call = match calls.recv_timeout(Duration::from_millis(100)) {
            Ok(call) => call,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.0.try_wait() {
                    return Err(format!(
                        "{} exited ({status}) after {next} events; see {}",
                        case.label,
                        log_path.display()
                    ));
                }
                if Instant::now() > limit {
                    return Err(format!("{} took longer than {RUN_LIMIT:?}", case.label));
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err("runtime API stopped".into()),
        };
        match call {
            Call::Next(reply) => {
                let now = snapshot(pid);
                match next {
                    0 => init = Some(now),
                    1 => after_first = Some(now),
                    _ => {}
                }
                if next == invocations {
                    drop(reply);
                    let (init, after_first) = (init.unwrap(), after_first.unwrap_or(now));
                    if let Some(answer) = unexpected {
                        return Err(format!(
                            "{}: unexpected answer {answer} (see {})",
                            case.label,
                            log_path.display()
                        ));
                    }
                    if answered != invocations {
                        return Err(format!(
                            "{}: {answered} answers for {invocations} events",
                            case.label
                        ));
                    }
                    let steady_ns = now.cpu_ns.saturating_sub(after_first.cpu_ns);
                    return Ok(Measured {
                        wall_init_ms: (init.at - spawned).as_secs_f64() * 1e3,
                        init_cpu_ms: ms(init.cpu_ns),
                        init_hwm_mib: mib(init.hwm_kib),
                        first_cpu_ms: ms(after_first.cpu_ns.saturating_sub(init.cpu_ns)),
                        steady_cpu_ms: ms(steady_ns) / (invocations.max(2) - 1) as f64,
                        peak_hwm_mib: mib(now.hwm_kib),
                    });
                }
                if let Some(before) = case.before_each {
                    before();
                }
                next += 1;
                let _ = reply.send(Event {
                    request_id: format!("coldstart-{run}-{next}"),
                    body: case.event.clone(),
                });
            }
            Call::Response(body) => {
                answered += 1;
                let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if unexpected.is_none() && !(case.expected)(&answer) {
                    unexpected = Some(answer.to_string());
                }
            }
            Call::Error(body) | Call::InitError(body) => {
                return Err(format!(
                    "{} reported an error: {} (see {})",
                    case.label,
                    String::from_utf8_lossy(&body),
                    log_path.display()
                ));
            }
        }
    }
}

/// What Lambda's `provided.al2023` runtime sets, for a 128 MB function with JSON logs.
fn lambda_env(label: &str, api_port: u16) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{api_port}")),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("inlet-{label}")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/inlet-{label}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/22/[$LATEST]coldstart".into(),
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_SESSION_TOKEN", "test".into()),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// The events.

fn read(path: &str) -> Vec<u8> {
    std::fs::read(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `local.env`'s `NAME=value` lines.
fn local_env() -> Vec<(String, String)> {
    String::from_utf8(read("local.env"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// A standard-queue batch of ten from `events/process/`: the eight sources of
/// `standard-mixed-sources.json`, and the crm `contact.created` and github `pull_request` records
/// of `fifo-two-groups.json` as a standard queue hands them out (no group, sequence or
/// deduplication id). Two github records are forwarded, stripe's is logged, the rest unrouted.
fn process_batch() -> Vec<u8> {
    let mut batch: Value =
        serde_json::from_slice(&read("events/process/standard-mixed-sources.json")).unwrap();
    let fifo: Value = serde_json::from_slice(&read("events/process/fifo-two-groups.json")).unwrap();
    let arn = batch["Records"][0]["eventSourceARN"].clone();
    for index in [0, 3] {
        let mut record = fifo["Records"][index].clone();
        let attributes = record["attributes"].as_object_mut().unwrap();
        for fifo_only in ["MessageGroupId", "MessageDeduplicationId", "SequenceNumber"] {
            attributes.remove(fifo_only);
        }
        record["eventSourceARN"] = arn.clone();
        batch["Records"].as_array_mut().unwrap().push(record);
    }
    assert_eq!(batch["Records"].as_array().map(Vec::len), Some(10));
    serde_json::to_vec(&batch).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Figures.

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[derive(Debug, Clone, Copy)]
struct Medians {
    wall_init_ms: f64,
    init_cpu_ms: f64,
    init_hwm_mib: f64,
    first_cpu_ms: f64,
    steady_cpu_ms: f64,
    peak_hwm_mib: f64,
}

fn medians(runs: &[Measured]) -> Medians {
    let of = |f: fn(&Measured) -> f64| median(runs.iter().map(f).collect());
    Medians {
        wall_init_ms: of(|m| m.wall_init_ms),
        init_cpu_ms: of(|m| m.init_cpu_ms),
        init_hwm_mib: of(|m| m.init_hwm_mib),
        first_cpu_ms: of(|m| m.first_cpu_ms),
        steady_cpu_ms: of(|m| m.steady_cpu_ms),
        peak_hwm_mib: of(|m| m.peak_hwm_mib),
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "pass" } else { "FAIL" }
}

struct Args {
    runs: usize,
    invocations: usize,
    release_dir: PathBuf,
    /// Whether the functions reach moto through the keep-alive proxy (as in Lambda, where the
    /// SDK's connections stay open) or directly (a new connection per call).
    keep_alive: bool,
}

fn args() -> Args {
    let mut parsed = Args {
        runs: 5,
        invocations: 200,
        release_dir: repo_root().join("target/release"),
        keep_alive: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{USAGE}"));
        match arg.as_str() {
            "--runs" => parsed.runs = value.parse().expect(USAGE),
            "--invocations" => parsed.invocations = value.parse().expect(USAGE),
            "--release-dir" => parsed.release_dir = PathBuf::from(value),
            "--aws" => {
                parsed.keep_alive = match value.as_str() {
                    "keep-alive" => true,
                    "direct" => false,
                    _ => panic!("{USAGE}"),
                }
            }
            _ => panic!("{USAGE}"),
        }
    }
    assert!(parsed.runs >= 1 && parsed.invocations >= 2, "{USAGE}");
    parsed
}

fn binary(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: `make coldstart` builds it",
        path.display()
    );
    path
}

fn main() {
    let args = args();
    let ingest = binary(&args.release_dir, "ingest");
    let process = binary(&args.release_dir, "process");
    let empty = binary(&args.release_dir, "examples/empty_lambda");

    let emulator = Emulator::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sdk = runtime.block_on(emulator.sdk_config());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let s3 = inlet_aws::s3_client(&sdk);

    let (calls_tx, calls) = mpsc::channel();
    let api_port = runtime_api(calls_tx);
    let forward_port = forward_target();
    let aws_endpoint = if args.keep_alive {
        format!("http://127.0.0.1:{}", keep_alive_proxy(emulator.port))
    } else {
        emulator.endpoint()
    };
    let config = String::from_utf8(read("inlet.toml")).unwrap().replace(
        "http://127.0.0.1:8900/hooks",
        &format!("http://127.0.0.1:{forward_port}/hooks"),
    );
    let ingest_event = std::sync::Arc::new(read("events/ingest/github-push.json"));
    let batch_event = std::sync::Arc::new(process_batch());

    println!(
        "coldstart: {} processes per binary, {} invocations each; Runtime API on 127.0.0.1:{api_port}, \
         moto on {}, the functions' AWS endpoint {aws_endpoint} ({})",
        args.runs,
        args.invocations,
        emulator.endpoint(),
        if args.keep_alive {
            "keep-alive proxy"
        } else {
            "direct"
        }
    );
    let mut results: BTreeMap<&str, Medians> = BTreeMap::new();
    let mut failure = None;
    let labels = [
        "empty (API Gateway event)",
        "ingest",
        "empty (SQS batch of 10)",
        "process",
    ];
    for label in labels {
        let mut measured = Vec::new();
        for run in 0..args.runs {
            let settings = StackSettings {
                queue_name: unique("coldstart-events"),
                dead_letter_queue_name: unique("coldstart-dlq"),
                table_name: unique("coldstart-idempotency"),
                ..StackSettings::default()
            };
            let stack = runtime
                .block_on(local::provision(&sqs, &dynamodb, &s3, &settings))
                .unwrap();
            let mut env = local_env();
            env.extend([
                ("AWS_ENDPOINT_URL".to_owned(), aws_endpoint.clone()),
                ("INLET_CONFIG".to_owned(), config.clone()),
                ("INLET_QUEUE_URL".to_owned(), stack.queue_url.clone()),
                (
                    "INLET_DLQ_URL".to_owned(),
                    stack.dead_letter_queue_url.clone(),
                ),
                ("INLET_TABLE".to_owned(), stack.table_name.clone()),
                ("INLET_BUCKET".to_owned(), stack.bucket_name.clone()),
            ]);
            // Each batch finds the idempotency table empty, so every one does the whole work.
            let clear_table = || {
                runtime.block_on(clear(&dynamodb, &stack.table_name, &settings.table_key));
            };
            let accepted = |answer: &Value| answer["statusCode"] == 202;
            let no_failures =
                |answer: &Value| answer["batchItemFailures"].as_array().map(Vec::len) == Some(0);
            let any = |_: &Value| true;
            let case = match label {
                "ingest" => Case {
                    label: "ingest",
                    binary: ingest.clone(),
                    env,
                    event: ingest_event.clone(),
                    before_each: None,
                    expected: &accepted,
                },
                "process" => Case {
                    label: "process",
                    binary: process.clone(),
                    env,
                    event: batch_event.clone(),
                    before_each: Some(&clear_table),
                    expected: &no_failures,
                },
                "empty (API Gateway event)" => Case {
                    label: "empty-apigw",
                    binary: empty.clone(),
                    env,
                    event: ingest_event.clone(),
                    before_each: None,
                    expected: &any,
                },
                _ => Case {
                    label: "empty-sqs",
                    binary: empty.clone(),
                    env,
                    event: batch_event.clone(),
                    before_each: None,
                    expected: &any,
                },
            };
            match run_once(&case, run, args.invocations, api_port, &calls) {
                Ok(m) => measured.push(m),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        if failure.is_some() {
            break;
        }
        results.insert(label, medians(&measured));
    }
    // Stops moto; every process measured was killed when its run ended.
    drop(emulator);
    if let Some(error) = failure {
        eprintln!("coldstart: {error}");
        std::process::exit(1);
    }

    println!();
    println!(
        "| binary | init wall (ms) | init CPU (ms) | RSS at init (MiB) | 1st invocation CPU (ms) | CPU per invocation after (ms) | peak RSS (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for label in labels {
        let m = results[label];
        println!(
            "| {label} | {:.1} | {:.2} | {:.1} | {:.3} | {:.4} | {:.1} |",
            m.wall_init_ms,
            m.init_cpu_ms,
            m.init_hwm_mib,
            m.first_cpu_ms,
            m.steady_cpu_ms,
            m.peak_hwm_mib
        );
    }

    let ingest = results["ingest"];
    let process = results["process"];
    let empty_apigw = results["empty (API Gateway event)"];
    let empty_sqs = results["empty (SQS batch of 10)"];
    let ingest_above = ingest.steady_cpu_ms - empty_apigw.steady_cpu_ms;
    let process_above = process.steady_cpu_ms - empty_sqs.steady_cpu_ms;
    println!();
    println!("Targets (medians of {} processes):", args.runs);
    let lines = [
        (
            format!("ingest init CPU {:.2} ms ≤ 16 ms", ingest.init_cpu_ms),
            ingest.init_cpu_ms <= 16.0,
        ),
        (
            format!(
                "ingest handler CPU {:.4} ms per request above the empty Lambda ({:.4} − {:.4}) ≤ 0.11 ms",
                ingest_above, ingest.steady_cpu_ms, empty_apigw.steady_cpu_ms
            ),
            ingest_above <= 0.11,
        ),
        (
            format!("ingest peak RSS {:.1} MiB ≤ 15 MB", ingest.peak_hwm_mib),
            ingest.peak_hwm_mib <= 15.0,
        ),
        (
            format!("process init CPU {:.2} ms ≤ 21 ms", process.init_cpu_ms),
            process.init_cpu_ms <= 21.0,
        ),
        (
            format!(
                "process CPU {:.3} ms per batch of 10 ≤ 2.3 ms ({:.3} ms above the empty Lambda)",
                process.steady_cpu_ms, process_above
            ),
            process.steady_cpu_ms <= 2.3,
        ),
        (
            format!("process peak RSS {:.1} MiB ≤ 18 MB", process.peak_hwm_mib),
            process.peak_hwm_mib <= 18.0,
        ),
    ];
    for (line, ok) in lines {
        println!("  {}  {line}", verdict(ok));
    }
}

/// Deletes every item of the idempotency table.
async fn clear(dynamodb: &aws_sdk_dynamodb::Client, table: &str, key: &str) {
    let items = dynamodb
        .scan()
        .table_name(table)
        .projection_expression("#k")
        .expression_attribute_names("#k", key)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    for item in items {
        dynamodb
            .delete_item()
            .table_name(table)
            .set_key(Some(item))
            .send()
            .await
            .unwrap();
    }
}
