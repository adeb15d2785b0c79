//! `inlet dev`: the whole pipeline on this machine, against an AWS emulator.
//!
//! It creates the stack `template.yaml` declares, serves the ingest pipeline over HTTP the way
//! API Gateway would, and polls the queue the way Lambda's event source mapping does, running the
//! process pipeline on each batch. Both pipelines come from `inlet_aws::wiring`, as the
//! functions' do: what works here works in Lambda. Each delivery's path is printed as one human
//! line per step, and the inspector page (`inspector/`) shows each one whole.

mod batch_lines;
mod inspector;
mod output;
mod poller;
mod recorder;
mod retries;
mod samples;
mod server;
mod signals;

use crate::Report;
use crate::error::CliError;
use crate::globals::Globals;
use inlet_aws::DynamoStore;
use inlet_aws::SqsQueue;
use inlet_aws::wiring::{self, Clients};
use inlet_core::ingest::Ingest;
use inlet_core::metrics::Metrics;
use inlet_core::ports::DeliveryGuards;
use inlet_core::secrets::KeyRing;
use inlet_local::{self as local, StackSettings, emulator};
use inspector::{Actions, Inspector, InspectorService, RecordingQueue};
use output::say;
use recorder::Recording;
use retries::Retries;
use server::IngestService;
use signals::wait_for_signal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;

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
    /// Where to serve the inspector page: a loopback address and port. (Not 4040: ngrok's own
    /// inspector takes it, and the README suggests a tunnel.)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5056")]
    pub inspect: SocketAddr,
    /// Allow --inspect on an address other machines can reach. The page can replay deliveries
    /// and delete dead letters, and has no login: only on networks you trust.
    #[arg(long)]
    pub inspect_public: bool,
    /// Do not serve the inspector page (nor keep the delivery history in .inlet/).
    #[arg(long, conflicts_with_all = ["inspect", "inspect_public"])]
    pub no_inspect: bool,
    /// Poll loops, 1 to 8, each with a process pipeline of its own, like that many Lambda
    /// instances: each has its own view of the circuit breakers (the shared truth is the
    /// table's). For trying concurrency, not for speed: the emulator's receives take no lock,
    /// and with several pollers under load a record can wait out the visibility timeout.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=8))]
    pub pollers: u8,
}

pub async fn run(globals: &Globals, args: &DevArgs) -> Result<Report, CliError> {
    if !args.listen.ip().is_loopback() {
        return Err(CliError::Usage(format!(
            "--listen {}: the local stack serves on this machine only; give a loopback address \
             such as 127.0.0.1:3000",
            args.listen
        )));
    }
    if !args.no_inspect && !args.inspect.ip().is_loopback() && !args.inspect_public {
        return Err(CliError::Usage(format!(
            "--inspect {}: the inspector can replay and delete deliveries and has no login, so \
             it serves on a loopback address unless you also pass --inspect-public",
            args.inspect
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
    // Another `inlet dev` here owns `.inlet/`: say which one, and change nothing of its.
    if let Some(running) = crate::state::running_stack().await {
        return Err(CliError::Failed(format!(
            "inlet dev is already running in this directory (pid {}, serving {}{}); stop it \
             (Ctrl-C in its terminal, or kill {}) before starting another",
            running.pid,
            running.listen,
            running
                .inspector
                .as_deref()
                .map(|url| format!(", inspector {url}"))
                .unwrap_or_default(),
            running.pid
        )));
    }
    let config = globals.load_config()?;
    let clients = Clients::new(&emulator::sdk_config().await);
    let settings = StackSettings::default();
    let mut stack = local::provision(&clients.sqs, &clients.dynamodb, &clients.s3, &settings)
        .await
        .map_err(|error| {
            CliError::Failed(format!("{error}\n(is the emulator at {endpoint} running?)"))
        })?;
    // An `[archive]` bucket of its own is part of the deployment too.
    if let Some(bucket) = config.archive.as_ref().and_then(|a| a.bucket.as_deref())
        && bucket != stack.bucket_name
    {
        local::create_bucket(&clients.s3, bucket)
            .await
            .map_err(|error| CliError::Failed(format!("archive.bucket: {error}")))?;
    }
    // The routes' queues, topics and buses, as a deployment has them, created in the emulator.
    let destinations = local::provision_destinations(&config.routes, &clients.sdk)
        .await
        .map_err(|error| CliError::Failed(format!("route destinations: {error}")))?;
    stack
        .warnings
        .extend(destinations.iter().filter_map(|d| d.warning()));

    // The ports are taken (bound, not yet listening) before any state of ours is touched: a run
    // that cannot have them leaves the history and the state file alone. They listen only once
    // everything is ready, so that a port that answers means the stack, the history and the
    // state file are there.
    let listener = reserve(args.listen).map_err(|e| {
        CliError::Failed(format!(
            "cannot listen on {}: {e} (serve elsewhere with --listen ADDR, or `make dev \
             LISTEN=ADDR`)",
            args.listen
        ))
    })?;
    let inspector_listener = if args.no_inspect {
        None
    } else {
        Some(reserve(args.inspect).map_err(|e| {
            CliError::Failed(format!(
                "cannot serve the inspector on {}: {e} (move it with --inspect ADDR, or `make dev \
                 INSPECT=ADDR`; turn it off with --no-inspect, or `make dev INSPECT=off`)",
                args.inspect
            ))
        })?)
    };
    let keys = KeyRing::load(&config, globals.resolver_with(clients.secrets.clone())?).await?;
    // The key ring keeps its resolver; the forward secrets are read the same way, once.
    let router = wiring::config_router(
        &config,
        &globals.resolver_with(clients.secrets.clone())?,
        &clients,
    )
    .await?;
    // The samples and the inspector's "replay as new" sign with each source's current key.
    let mut sample_keys = Vec::new();
    for source in config.sources.values() {
        // A source signs with its first secret: during a rotation that is the new one.
        let first = keys.keys(source).await.first().cloned();
        sample_keys.push((source.name.clone(), first));
    }
    let inspector = if args.no_inspect {
        None
    } else {
        let history = std::path::Path::new(inspector::HISTORY_FILE);
        let inspector = Inspector::open(history)
            .map_err(|e| {
                CliError::Failed(format!("inspector: cannot keep the delivery history: {e}"))
            })?
            .with_routes(&config.routes);
        // The dead-letter queue is the record: what it no longer holds is gone, whatever the
        // history said when the last run stopped.
        match local::peek_all(&clients.sqs, &stack.dead_letter_queue_url, &mut |_| {}).await {
            Ok(letters) => inspector
                .reconcile_dead_letters(&letters.iter().map(|l| l.origin().to_owned()).collect()),
            Err(error) => say(format!(
                "inspector: cannot read the dead-letter queue to check the history: {error}"
            )),
        }
        Some(inspector)
    };
    let recording = Arc::new(Recording::new(router, config.routes.clone()));
    // One pipeline per poll loop, each built as the function builds its own: like separate
    // Lambda instances, each keeps its own view of the breakers.
    let pipelines: Vec<_> = (0..args.pollers)
        .map(|_| {
            wiring::process_pipeline(
                &config,
                &clients,
                &stack.resources(),
                Arc::clone(&recording),
                Metrics::Off,
            )
        })
        .collect();
    // Ingest as the function wires it, over a queue that also tells the inspector each envelope.
    let queue = SqsQueue::new(clients.sqs.clone(), &stack.queue_url);
    let fifo = queue.is_fifo();
    let ingest = Arc::new(
        Ingest::new(
            config.clone(),
            keys,
            RecordingQueue::new(queue, inspector.clone()),
            fifo,
        )
        .with_metrics(Metrics::Off)
        .with_payloads(wiring::payloads(&clients, &stack.bucket_name)),
    );

    let listener = listen(listener, args.listen)?;
    let inspector_listener = match inspector_listener {
        Some(socket) => Some(listen(socket, args.inspect)?),
        None => None,
    };
    let base_url = format!("http://{}", args.listen);
    let inspector_url = inspector_listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|addr| format!("http://{addr}"));
    output::banner(
        &config,
        &stack,
        &endpoint,
        &base_url,
        inspector_url.as_deref(),
    );
    // Held to the end of the run: `.inlet/stack.json` tells `inlet send` and `inlet dlq` where
    // this stack is, and goes when it stops.
    let _state_file = crate::state::publish(&crate::state::StackState::new(
        &endpoint,
        &stack,
        &base_url,
        inspector_url.clone(),
    ));

    let (stop, stopped) = watch::channel(false);
    let server = server::serve(
        listener,
        Arc::new(IngestService {
            ingest: Arc::clone(&ingest),
            inspector: inspector.clone(),
        }),
        stopped.clone(),
    );
    let inspector_server = async {
        if let (Some(listener), Some(inspector)) = (inspector_listener, &inspector) {
            let actions = Actions {
                inspector: inspector.clone(),
                base_url: base_url.clone(),
                client: match crate::sending::client(true) {
                    Ok(client) => client,
                    Err(error) => {
                        say(format!("inspector: not served: {error}"));
                        return;
                    }
                },
                config: config.clone(),
                keys: sample_keys.clone(),
                sqs: clients.sqs.clone(),
                queue_url: stack.queue_url.clone(),
                dead_letter_queue_url: stack.dead_letter_queue_url.clone(),
                guards: Some(Arc::new(DynamoStore::new(
                    clients.dynamodb.clone(),
                    &stack.table_name,
                )) as Arc<dyn DeliveryGuards>),
            };
            let service = InspectorService {
                actions: Arc::new(actions),
                public: args.inspect_public,
            };
            server::serve(listener, Arc::new(service), stopped.clone()).await;
        }
    };
    // One poll loop (one batch at a time) unless --pollers asks for more. Lambda runs several
    // at once, but moto's ReceiveMessage takes no lock: with three pollers under load, `make
    // soak` found records that moto marked received and returned to no poll, so they waited out
    // the queue's 180 s visibility timeout. More pollers are for trying concurrency (each
    // pipeline's own view of the breakers), not for speed.
    let shared = poller::Shared {
        clients: &clients,
        settings: &settings,
        stack: &stack,
        recording: &recording,
        inspector: inspector.as_ref(),
        retries: Retries {
            settings: &config.process,
            routes: &config.routes,
            max_receive_count: settings.max_receive_count,
        },
    };
    let several = pipelines.len() > 1;
    let pollers = poller::all(pipelines.iter().enumerate().map(|(index, process)| {
        let name = several.then(|| format!("poller {}", index + 1));
        poller::poll_loop(&shared, process, name, stopped.clone())
    }));
    let samples = async {
        if !args.no_samples {
            samples::send_samples(
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
        () = async { tokio::join!(server, inspector_server, pollers, samples); } => {}
        () = signals => {}
    }
    say("stopped");
    Ok(Report::ok(String::new()))
}

/// Binds a socket to `addr` without listening yet: the port is ours (another process holding it
/// fails here), but nothing connects until [`listen`].
fn reserve(addr: SocketAddr) -> std::io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a port left in TIME_WAIT by the last run can be taken again.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// Starts accepting connections on a socket [`reserve`] bound.
fn listen(socket: TcpSocket, addr: SocketAddr) -> Result<TcpListener, CliError> {
    socket
        .listen(1024)
        .map_err(|e| CliError::Failed(format!("cannot listen on {addr}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(Debug, clap::Parser)]
    struct Dev {
        #[command(flatten)]
        args: DevArgs,
    }

    #[test]
    fn one_poller_unless_asked_and_at_most_eight() {
        let parse = |args: &[&str]| Dev::try_parse_from([&["dev"], args].concat());
        assert_eq!(parse(&[]).unwrap().args.pollers, 1);
        assert_eq!(parse(&["--pollers", "8"]).unwrap().args.pollers, 8);
        assert!(parse(&["--pollers", "0"]).is_err());
        assert!(parse(&["--pollers", "9"]).is_err());
    }
}
