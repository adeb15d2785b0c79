//! `inlet`: the local stack, sending, signing and verifying deliveries, the dead-letter queue, and
//! the event fixtures. Each command lives in its own module; this file only parses the command
//! line and turns outcomes into exit codes.

mod asyncapi;
mod check;
mod delivery;
mod dev;
mod dlq;
mod error;
mod event_type;
mod fixtures;
mod globals;
mod json;
mod payload;
mod providers;
mod replay;
mod routes;
mod schema;
mod send;
mod sending;
mod sign;
mod state;
mod verify;

use clap::{Parser, Subcommand};
use std::io::Write as _;
use std::process::ExitCode;

/// Exit codes: 0 success, 1 a delivery that does not verify (or, for `send`, an answer other than
/// 2xx), 2 a usage, config, I/O or network error.
#[derive(Debug, Parser)]
#[command(
    name = "inlet",
    version,
    about = "Inlet's command line: dev, send, sign, verify, dlq, replay, check, routes, fixtures, \
             providers, asyncapi"
)]
struct Cli {
    #[command(flatten)]
    globals: globals::Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline locally against an AWS emulator (AWS_ENDPOINT_URL).
    Dev(dev::DevArgs),
    /// Sign a delivery for a source at the current time and POST it.
    Send(send::SendArgs),
    /// Print the headers that make a delivery verify, one `Name: value` line each.
    Sign(sign::SignArgs),
    /// Check a delivery's signature; exit 0 only when it is valid.
    Verify(verify::VerifyArgs),
    /// Regenerate the signed API Gateway events in events/ingest/ from events/payloads/.
    Fixtures(fixtures::FixturesArgs),
    /// Inspect the dead-letter queue, redrive or delete what is in it.
    Dlq(dlq::DlqArgs),
    /// Put the archived events of a time window back on the queue; each runs its action again,
    /// once per replay run.
    Replay(replay::ReplayArgs),
    /// Check the config (--config) without an emulator or AWS: every problem by its key, and
    /// every `env:` secret set. Exit 0 when good, 2 otherwise.
    Check(check::CheckArgs),
    /// Try the config's routes on one delivery (`routes test`): which match, and what each
    /// would deliver. No emulator, AWS or secret needed.
    Routes(routes::RoutesArgs),
    /// List the named providers: signature header, what is signed, secret format, handshake.
    Providers(providers::ProvidersArgs),
    /// Infer a starting JSON Schema per source and event type from deliveries seen (`schema
    /// infer`): the local stack's history, or --from sample files.
    Schema(schema::SchemaArgs),
    /// Print the deployment as an AsyncAPI 3.0 document (JSON): a channel per source, a message
    /// per event type with its schema, the routes as operations. No emulator, AWS or secret.
    Asyncapi(asyncapi::AsyncApiArgs),
}

/// What a command has to say, and how the process should end.
#[derive(Debug)]
pub struct Report {
    pub stdout: String,
    pub code: u8,
}

impl Report {
    pub fn ok(stdout: String) -> Self {
        Self { stdout, code: 0 }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev(args) => dev::run(&cli.globals, &args).await,
        Command::Send(args) => send::run(&cli.globals, &args).await,
        Command::Dlq(args) => dlq::run(&args).await,
        Command::Replay(args) => replay::run(&cli.globals, &args).await,
        Command::Sign(args) => sign::run(&cli.globals, &args).await,
        Command::Verify(args) => verify::run(&cli.globals, &args).await,
        Command::Fixtures(args) => fixtures::run(&cli.globals, &args).await,
        Command::Providers(args) => providers::run(&args),
        Command::Check(args) => check::run(&cli.globals, &args),
        Command::Routes(args) => routes::run(&cli.globals, &args).await,
        Command::Schema(args) => schema::run(&cli.globals, &args),
        Command::Asyncapi(args) => asyncapi::run(&cli.globals, &args),
    };
    match result {
        Ok(report) => {
            // A closed stdout (`inlet sign … | head -0`) is the reader's choice, not our failure.
            let _ = std::io::stdout().lock().write_all(report.stdout.as_bytes());
            ExitCode::from(report.code)
        }
        Err(error) => {
            eprintln!("inlet: {error}");
            ExitCode::from(2)
        }
    }
}
