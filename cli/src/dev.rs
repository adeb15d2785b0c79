//! `inlet dev`: the whole pipeline on this machine, against an AWS emulator.
//!
//! It creates the stack `template.yaml` declares, serves the ingest pipeline over HTTP the way
//! API Gateway would, and polls the queue the way Lambda's event source mapping does, running the
//! process pipeline on each batch. Both are the library's pipelines, not copies: what works here
//! works in Lambda. Each delivery's path is printed as one human line per step.

use crate::Report;
use crate::error::CliError;
use crate::globals::Globals;
use crate::payload::Payload;
use crate::send;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use inlet_aws::{self as aws, DynamoStore, SecretsManager, SqsQueue};
use inlet_core::actions::forward::Forwarder;
use inlet_core::actions::router::Router;
use inlet_core::config::Config;
use inlet_core::ingest::{Ingest, IngestRequest, Outcome, Reply};
use inlet_core::process::{Process, RecordOutcome};
use inlet_core::secrets::KeyRing;
use inlet_local::{self as local, Poll, Stack, StackSettings};
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// Where to serve POST /webhooks/{source}: a loopback address and port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Do not send the sample deliveries at start.
    #[arg(long)]
    pub no_samples: bool,
    /// The sample deliveries to send at start, one signed POST each.
    #[arg(long, value_name = "DIR", default_value = "events/payloads")]
    pub samples: PathBuf,
}

/// API Gateway refuses bodies over 10 MiB before any function runs; so does this server.
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// Long polling, as the event source mapping does, but short enough that Ctrl-C is prompt.
const POLL_WAIT: Duration = Duration::from_secs(2);
/// How long open connections get to finish their request once a stop is asked for.
const DRAIN: Duration = Duration::from_secs(5);

type DevIngest = Ingest<SqsQueue, SecretsManager>;
type DevProcess = Process<DynamoStore, SqsQueue, SqsQueue, Router>;

/// Whether `url` names this machine, so nothing sent there can leave it.
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The SDK config from the environment, as the functions load it. Against an emulator on this
/// machine, a region and credentials that the environment and profile files do not give
/// default to us-east-1 and dummy keys: emulators accept any, and `make dev` then needs no AWS
/// setup. Anywhere else nothing is made up, so real AWS is never reached with a guess.
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_config::environment::{
        EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
    };
    use aws_config::meta::credentials::CredentialsProviderChain;
    use aws_config::meta::region::RegionProviderChain;
    use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};

    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    let mut loader = aws::sdk_loader();
    if is_loopback_url(&endpoint) {
        // The default chains would also ask the EC2 metadata service, which is slow to fail
        // off EC2 and pointless for an emulator.
        let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
            .or_else(ProfileFileRegionProvider::new())
            .or_else(Some(aws_config::Region::new("us-east-1")));
        let dummy = aws_sdk_sqs::config::Credentials::new(
            "inlet-local",
            "inlet-local",
            None,
            None,
            "inlet-local-emulator",
        );
        let credentials = CredentialsProviderChain::first_try(
            "Environment",
            EnvironmentVariableCredentialsProvider::new(),
        )
        .or_else(
            "Profile",
            // The profile provider builds an IMDS client for `credential_source`; without the
            // SDK's default HTTPS client it must be handed ours, or building it panics.
            ProfileFileCredentialsProvider::builder()
                .configure(
                    &aws_config::provider_config::ProviderConfig::default()
                        .with_http_client(aws::http_client()),
                )
                .build(),
        )
        .or_else("LocalEmulator", dummy);
        loader = loader.region(region).credentials_provider(credentials);
    }
    loader.load().await
}

/// Prints one line, prefixed with the UTC time, as things happen.
fn say(line: impl AsRef<str>) {
    let now = inlet_signature::clock::format_rfc3339_secs(send::now_secs());
    let time = now.get(11..19).unwrap_or(&now);
    // A closed stdout (`inlet dev | head`) must not take the server down with a panic.
    let _ = writeln!(std::io::stdout().lock(), "{time}  {}", line.as_ref());
}

pub async fn run(globals: &Globals, args: &DevArgs) -> Result<Report, CliError> {
    if !args.listen.ip().is_loopback() {
        return Err(CliError::Usage(format!(
            "--listen {}: the local stack serves on this machine only; give a loopback address \
             such as 127.0.0.1:3000",
            args.listen
        )));
    }
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if endpoint.is_empty() {
        // Creating queues and tables is what this command does: never in a real account by
        // accident.
        return Err(CliError::Usage(
            "inlet dev runs against an AWS emulator: set AWS_ENDPOINT_URL \
             (`make dev` starts one and sets it)"
                .into(),
        ));
    }
    let config = globals.load_config()?;
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let settings = StackSettings::default();
    let stack = local::provision(&sqs, &dynamodb, &settings)
        .await
        .map_err(|error| {
            CliError::Failed(format!("{error}\n(is the emulator at {endpoint} running?)"))
        })?;

    let resolver = globals.resolver_with(SecretsManager::from_config(&sdk))?;
    let keys = KeyRing::load(&config, resolver).await?;
    let forwarder = Forwarder::new()
        .map_err(|e| CliError::Failed(format!("cannot build the forward client: {e}")))?;
    let router = Router::load(&config, keys.resolver(), forwarder).await?;
    let sample_keys = if args.no_samples {
        Vec::new()
    } else {
        let mut pairs = Vec::new();
        for source in config.sources.values() {
            let first = keys
                .resolver()
                .source_keys(source)
                .await?
                .into_iter()
                .next();
            pairs.push((source.name.clone(), first));
        }
        pairs
    };
    let process: DevProcess = Process::new(
        DynamoStore::new(dynamodb.clone(), &stack.table_name),
        SqsQueue::new(sqs.clone(), &stack.dead_letter_queue_url),
        SqsQueue::new(sqs.clone(), &stack.queue_url),
        router,
        config.process.clone(),
    );
    let ingest: Arc<DevIngest> = Arc::new(Ingest::new(
        config.clone(),
        keys,
        SqsQueue::new(sqs.clone(), &stack.queue_url),
        stack.queue_url.ends_with(".fifo"),
    ));

    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {}: {e}", args.listen)))?;
    let base_url = format!("http://{}", args.listen);
    banner(&config, &stack, &endpoint, &base_url);

    let (stop, stopped) = watch::channel(false);
    let server = serve(listener, Arc::clone(&ingest), stopped.clone());
    // One batch at a time. Lambda runs several at once, but moto's ReceiveMessage takes no lock:
    // with three pollers under load, `make soak` found records that moto marked received and
    // returned to no poll, so they waited out the queue's 180 s visibility timeout.
    let poller = poll_loop(
        &sqs,
        &dynamodb,
        &settings,
        &stack,
        &process,
        stopped.clone(),
    );
    let samples = async {
        if !args.no_samples {
            send_samples(
                &args.samples,
                &config,
                &sample_keys,
                &base_url,
                stopped.clone(),
            )
            .await;
        }
    };
    let signals = async {
        wait_for_signal().await;
        say("stopping: finishing the requests and the batch in hand (Ctrl-C again stops at once)");
        let _ = stop.send(true);
        wait_for_signal().await;
        say("stopped at once");
        std::process::exit(130);
    };
    tokio::select! {
        () = async { tokio::join!(server, poller, samples); } => {}
        () = signals => {}
    }
    say("stopped");
    Ok(Report::ok(String::new()))
}

fn banner(config: &Config, stack: &Stack, endpoint: &str, base_url: &str) {
    say(format!("inlet dev: listening on {base_url}"));
    say(format!(
        "endpoint: POST {base_url}/webhooks/{{source}} for sources: {}",
        config
            .sources
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for route in &config.routes {
        let action = match &route.action {
            inlet_core::config::Action::Forward { url, .. } => format!("forward to {url}"),
            inlet_core::config::Action::Log => "log".to_owned(),
        };
        say(format!("route: {} → {action}", route.source));
    }
    say(format!(
        "stack on {endpoint}: queue {}, dead letters {}, table {}",
        stack.queue_url, stack.dead_letter_queue_url, stack.table_name
    ));
    say("Ctrl-C stops");
}

/// Resolves on Ctrl-C or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    // A dropped sender means the command is ending anyway.
    let _ = stopped.wait_for(|stop| *stop).await;
}

// ---- (a) the ingest pipeline over HTTP ----

async fn serve(listener: TcpListener, ingest: Arc<DevIngest>, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stop_requested(&mut stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, Arc::clone(&ingest), stopped.clone()));
                }
                Err(error) => {
                    // Out of descriptors, say: pause rather than spin.
                    say(format!("server: accept failed: {error}"));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    ingest: Arc<DevIngest>,
    mut stopped: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| {
        let ingest = Arc::clone(&ingest);
        async move { Ok::<_, Infallible>(answer(&ingest, request, peer).await) }
    });
    // HTTP/1.1 lets a client half-close once its request is sent; it must still get its answer,
    // where hyper's default drops the connection as soon as it reads the end of the stream.
    let conn = http1::Builder::new()
        .half_close(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        // A client that goes away mid-request has no one left to tell.
        _ = conn.as_mut() => {}
        () = stop_requested(&mut stopped) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The `{source}` of `/webhooks/{source}`, as API Gateway's route would bind it.
fn source_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/webhooks/")?;
    let source = rest.strip_suffix('/').unwrap_or(rest);
    (!source.is_empty() && !source.contains('/')).then_some(source)
}

async fn answer(
    ingest: &DevIngest,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let label = source_of(path).map_or_else(|| format!("{} {path}", parts.method), str::to_owned);
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let reply = if error.is::<http_body_util::LengthLimitError>() {
                Reply::error(
                    http::StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("bodies over {MAX_REQUEST_BYTES} bytes are refused"),
                )
            } else {
                Reply::error(
                    http::StatusCode::BAD_REQUEST,
                    "malformed_request",
                    "the request body could not be read",
                )
            };
            say(ingest_line(&label, &reply));
            return to_response(reply);
        }
    };
    let request = IngestRequest {
        method: &parts.method,
        source: source_of(path),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
        source_ip: Some(peer.ip().to_canonical()),
    };
    let now_ms = inlet_signature::clock::epoch_millis(SystemTime::now());
    let reply = ingest.handle(&request, now_ms).await;
    say(ingest_line(&label, &reply));
    to_response(reply)
}

fn ingest_line(label: &str, reply: &Reply) -> String {
    let status = reply.status.as_u16();
    let step = match &reply.outcome {
        Outcome::Queued { key } => format!("queued ({status}) {key}"),
        Outcome::Ignored => {
            let event_type = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v.get("event_type")?.as_str().map(str::to_owned));
            match event_type {
                Some(t) => format!("ignored ({status}): the source does not want {t} events"),
                None => format!("ignored ({status}): the source's event filter drops it"),
            }
        }
        Outcome::Handshake => format!("handshake answered ({status})"),
        Outcome::Rejected { code } => format!("rejected {status} {code}"),
        Outcome::Failed { code } => format!("not queued {status} {code}: the sender should retry"),
    };
    format!("{label}: received → {step}")
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(reply.content_type),
    );
    for (name, value) in reply.headers {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    response
}

// ---- (b) the process pipeline, fed as the event source mapping feeds it ----

async fn poll_loop(
    sqs: &aws_sdk_sqs::Client,
    dynamodb: &aws_sdk_dynamodb::Client,
    settings: &StackSettings,
    stack: &Stack,
    process: &DevProcess,
    mut stopped: watch::Receiver<bool>,
) {
    // How long the batch in hand may take to finish after a stop is asked for.
    let grace = POLL_WAIT + Duration::from_secs(u64::from(settings.process_timeout_secs));
    let mut retry_in: Option<Duration> = None;
    loop {
        if *stopped.borrow() {
            break;
        }
        if let Some(delay) = retry_in {
            tokio::select! {
                () = stop_requested(&mut stopped) => break,
                () = tokio::time::sleep(delay) => {}
            }
            // An emulator that restarted has forgotten everything: creating the stack again is
            // harmless when it is there and brings it back when it is not.
            match local::provision(sqs, dynamodb, settings).await {
                Ok(again) if again.queue_url != stack.queue_url => {
                    say(format!(
                        "poller: the queue is now at {}; restart inlet dev to use it",
                        again.queue_url
                    ));
                }
                Ok(_) => {}
                Err(_) => {
                    retry_in = Some((delay * 2).min(Duration::from_secs(4)));
                    continue;
                }
            }
        }
        let poll = local::poll_once(sqs, &stack.queue_url, process, settings, POLL_WAIT);
        tokio::pin!(poll);
        let result = tokio::select! {
            result = &mut poll => result,
            () = stop_requested(&mut stopped) => {
                match tokio::time::timeout(grace, &mut poll).await {
                    Ok(result) => result,
                    Err(_) => break,
                }
            }
        };
        match result {
            Ok(poll) => {
                if retry_in.take().is_some() {
                    say("poller: the queue answers again");
                }
                print_poll(&poll, settings.max_receive_count);
            }
            Err(error) => {
                if retry_in.is_none() {
                    say(format!(
                        "poller: {error}; retrying until the emulator answers"
                    ));
                }
                retry_in = Some(retry_in.map_or(Duration::from_millis(250), |d| {
                    (d * 2).min(Duration::from_secs(4))
                }));
            }
        }
    }
}

fn print_poll(poll: &Poll, max_receive_count: u32) {
    let Some(outcome) = &poll.outcome else {
        return;
    };
    for (message_id, result) in &outcome.outcomes {
        let received = poll.received.iter().find(|r| &r.message_id == message_id);
        let label = received
            .and_then(|r| r.key.clone())
            .unwrap_or_else(|| format!("message {message_id}"));
        let attempt = received.map_or(1, |r| r.receive_count);
        let exhausted = poll.exhausted.contains(message_id);
        let step = match result {
            RecordOutcome::Processed => "processed".to_owned(),
            RecordOutcome::Unrouted => "processed (no route wants it: completed)".to_owned(),
            RecordOutcome::Duplicate => "duplicate (processed before: acknowledged)".to_owned(),
            RecordOutcome::Retry { reason } if exhausted => {
                format!("failed (attempt {attempt}/{max_receive_count}, the last): {reason}")
            }
            RecordOutcome::Retry { reason } => {
                format!("failed (will retry, attempt {attempt}/{max_receive_count}): {reason}")
            }
            RecordOutcome::DeadLettered { reason } => format!("dead-lettered ({reason})"),
            RecordOutcome::Skipped => {
                "skipped (an earlier record of its group failed: will retry)".to_owned()
            }
        };
        say(format!("{label}: {step}"));
        if exhausted {
            say(format!(
                "{label}: dead-lettered (failed {attempt} times: SQS redrives it to the \
                 dead-letter queue; `inlet dlq peek` shows it)"
            ));
        }
    }
}

// ---- (c) the samples, sent to ourselves ----

async fn send_samples(
    dir: &Path,
    config: &Config,
    keys: &[(String, Option<inlet_signature::Key>)],
    base_url: &str,
    mut stopped: watch::Receiver<bool>,
) {
    let files = match send::payload_files(dir) {
        Ok(files) => files,
        Err(error) => {
            say(format!("samples: none sent: {error}"));
            return;
        }
    };
    let client = match send::client(true) {
        Ok(client) => client,
        Err(error) => {
            say(format!("samples: none sent: {error}"));
            return;
        }
    };
    say(format!(
        "sending the {} samples in {} (--no-samples skips them)",
        files.len(),
        dir.display()
    ));
    for path in files {
        let sending = send_sample(&client, &path, config, keys, base_url);
        tokio::select! {
            () = stop_requested(&mut stopped) => return,
            result = sending => {
                if let Err(why) = result {
                    say(format!("samples: {}: {why}", path.display()));
                }
            }
        }
    }
}

async fn send_sample(
    client: &reqwest::Client,
    path: &Path,
    config: &Config,
    keys: &[(String, Option<inlet_signature::Key>)],
    base_url: &str,
) -> Result<(), String> {
    let payload = Payload::load(path).map_err(|e| e.to_string())?;
    let Some(source) = config.source(&payload.source) else {
        return Err(format!(
            "not sent: no source `{}` in the config",
            payload.source
        ));
    };
    let key = keys
        .iter()
        .find(|(name, _)| *name == source.name)
        .and_then(|(_, key)| key.as_ref());
    let now = send::now_secs();
    let rendered = payload.render(now)?;
    let signed = send::sign(source, key, &rendered.headers, rendered.body, now)
        .map_err(|e| e.to_string())?;
    let url = format!("{base_url}/webhooks/{}", send::url_segment(&source.name));
    // The server prints what became of it; only a failure to get an answer is news here.
    send::post(client, &url, &signed)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_recognised() {
        for url in [
            "http://127.0.0.1:5000",
            "http://localhost:4566/",
            "http://[::1]:9000",
            "http://127.8.9.10",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "",
            "https://sqs.us-east-1.amazonaws.com",
            "http://10.0.0.5:4566",
            "http://localhost.example.com",
            "not a url",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn the_source_is_the_one_path_segment_after_webhooks() {
        assert_eq!(source_of("/webhooks/github"), Some("github"));
        assert_eq!(source_of("/webhooks/github/"), Some("github"));
        assert_eq!(source_of("/webhooks/"), None);
        assert_eq!(source_of("/webhooks/a/b"), None);
        assert_eq!(source_of("/hooks/github"), None);
    }
}
