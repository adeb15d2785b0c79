//! `inlet dev`: the whole pipeline on this machine, against an AWS emulator.
//!
//! It creates the stack `template.yaml` declares, serves the ingest pipeline over HTTP the way
//! API Gateway would, and polls the queue the way Lambda's event source mapping does, running the
//! process pipeline on each batch. Both pipelines come from `inlet_aws::wiring`, as the
//! functions' do: what works here works in Lambda. Each delivery's path is printed as one human
//! line per step.

mod output;
mod poller;
mod samples;
mod server;
mod signals;

use crate::Report;
use crate::error::CliError;
use crate::globals::Globals;
use inlet_aws::wiring::{self, Clients};
use inlet_core::metrics::Metrics;
use inlet_core::secrets::KeyRing;
use inlet_local::{self as local, StackSettings, emulator};
use output::say;
use signals::wait_for_signal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
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
    let clients = Clients::new(&emulator::sdk_config().await);
    let settings = StackSettings::default();
    let stack = local::provision(&clients.sqs, &clients.dynamodb, &settings)
        .await
        .map_err(|error| {
            CliError::Failed(format!("{error}\n(is the emulator at {endpoint} running?)"))
        })?;

    let keys = KeyRing::load(&config, globals.resolver_with(clients.secrets.clone())?).await?;
    // The key ring keeps its resolver; the forward secrets are read the same way, once.
    let router =
        wiring::config_router(&config, &globals.resolver_with(clients.secrets.clone())?).await?;
    let mut sample_keys = Vec::new();
    if !args.no_samples {
        for source in config.sources.values() {
            // A source signs with its first secret: during a rotation that is the new one.
            let first = keys.keys(source).await.first().cloned();
            sample_keys.push((source.name.clone(), first));
        }
    }
    let process =
        wiring::process_pipeline(&config, &clients, &stack.resources(), router, Metrics::Off);
    let ingest = Arc::new(wiring::ingest_pipeline(
        config.clone(),
        keys,
        &clients,
        &stack.queue_url,
        Metrics::Off,
    ));

    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {}: {e}", args.listen)))?;
    let base_url = format!("http://{}", args.listen);
    output::banner(&config, &stack, &endpoint, &base_url);

    let (stop, stopped) = watch::channel(false);
    let server = server::serve(listener, Arc::clone(&ingest), stopped.clone());
    // One batch at a time. Lambda runs several at once, but moto's ReceiveMessage takes no lock:
    // with three pollers under load, `make soak` found records that moto marked received and
    // returned to no poll, so they waited out the queue's 180 s visibility timeout.
    let poller = poller::poll_loop(
        &clients,
        &settings,
        &stack,
        &process,
        &config.process,
        stopped.clone(),
    );
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
        () = async { tokio::join!(server, poller, samples); } => {}
        () = signals => {}
    }
    say("stopped");
    Ok(Report::ok(String::new()))
}
