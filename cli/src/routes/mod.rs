//! `inlet routes test`: which of the config's routes take one delivery, and what each would
//! deliver, without an emulator, AWS or any secret. The delivery becomes the envelope ingest
//! would queue for the source (the key `SOURCE#test`, the headers the scheme keeps, the event
//! type read the way ingest reads it); then every route of that source, in the config's order,
//! says whether it matches and why not (the filter or the `when` condition that fails), and a
//! matching one what it sends: its transform's output, or the body unchanged.

mod delivery;
mod explain;
mod matching;
mod outcome;
mod report;
#[cfg(test)]
mod tests;

pub(crate) use explain::filter_names;

use crate::Report;
use crate::delivery::parse_headers;
use crate::error::CliError;
use crate::globals::Globals;
use delivery::test_delivery;
use inlet_core::actions::route_table::RouteTable;
use inlet_core::config::{Config, ConfigError};
use outcome::RouteResult;
use report::RouteJson;
use std::fmt::Write as _;
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
    let body = crate::send::read_body(&args.body)?;
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
        .map(|text| Config::check(&text, inlet_core::config::config_dir(path)).problems)
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
