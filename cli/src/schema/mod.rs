//! `inlet schema infer`: a starting JSON Schema per source and event type, inferred from
//! deliveries seen (the local stack's history, or sample files), so a source's `schemas` need not
//! start from nothing. The schemas are written under `--out`; the config lines that use them are
//! printed to paste.

mod infer;
mod output;
mod samples;

use crate::Report;
use crate::error::CliError;
use crate::globals::Globals;
use crate::state::HISTORY_FILE;
use infer::Shape;
use output::{Entry, Stems};
use samples::{FromFiles, Sample, Skipped};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    #[command(subcommand)]
    pub command: SchemaCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SchemaCommand {
    /// Write a starting JSON Schema (draft 2020-12) per source and event type from deliveries
    /// seen: the local stack's history (.inlet/history.jsonl, kept by `inlet dev` in this
    /// directory), or --from sample files. Prints each file written and the config lines that use
    /// them. Exit 0 when a schema was written, 1 when there were no usable deliveries, 2 on a
    /// usage error.
    Infer(InferArgs),
}

#[derive(Debug, clap::Args)]
pub struct InferArgs {
    /// A sample file; repeatable. A directory means its *.json files. A sample payload
    /// (events/payloads format) names its source, and its source's scheme reads its event type;
    /// any other JSON file is a plain body, of --source's source and --event-type's type.
    /// Without --from: the local stack's history.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// Only this source's deliveries; with --from, the source of plain bodies.
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// With --from, the event type of every sample (default: read from each sample payload as
    /// ingest reads it; a plain body has none, and its schema is the source's "*").
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
    /// The directory to write DIR/<source>/<event type>.json in.
    #[arg(long, value_name = "DIR", default_value = "schemas")]
    pub out: PathBuf,
    /// Replace schema files that already exist.
    #[arg(long)]
    pub force: bool,
}

pub fn run(globals: &Globals, args: &SchemaArgs) -> Result<Report, CliError> {
    match &args.command {
        SchemaCommand::Infer(infer) => run_infer(globals, infer),
    }
}

/// One source and event type's samples, merged.
#[derive(Debug, Default)]
struct Group {
    shape: Shape,
    samples: usize,
}

fn run_infer(globals: &Globals, args: &InferArgs) -> Result<Report, CliError> {
    let Some((samples, skipped, seen_in)) = gather(globals, args)? else {
        return Ok(nothing(&format!(
            "{HISTORY_FILE} does not exist here: run `inlet dev` in this directory and send it \
             some deliveries, or give sample files with --from FILE"
        )));
    };
    for line in skipped.lines() {
        eprintln!("inlet: {line}");
    }
    let mut groups: BTreeMap<(String, Option<String>), Group> = BTreeMap::new();
    for sample in samples {
        let group = groups
            .entry((sample.source, sample.event_type))
            .or_default();
        group.shape.add(&sample.body);
        group.samples += 1;
    }
    if groups.is_empty() {
        let whose = args
            .source
            .as_deref()
            .map(|s| format!(" of source `{s}`"))
            .unwrap_or_default();
        return Ok(nothing(&format!("no JSON deliveries{whose} in {seen_in}")));
    }
    write_schemas(globals, args, &groups)
}

/// Exit 1, saying why there was nothing to infer from.
fn nothing(why: &str) -> Report {
    eprintln!("inlet: no usable deliveries: {why}");
    Report {
        stdout: String::new(),
        code: 1,
    }
}

/// The samples, what was skipped, and where they were looked for; `None` when there is no
/// history to read.
fn gather(
    globals: &Globals,
    args: &InferArgs,
) -> Result<Option<(Vec<Sample>, Skipped, String)>, CliError> {
    if args.from.is_empty() {
        if args.event_type.is_some() {
            return Err(CliError::Usage(
                "--event-type applies to --from files: the history records each delivery's type"
                    .into(),
            ));
        }
        let found = samples::from_history(Path::new(HISTORY_FILE), args.source.as_deref())?;
        return Ok(found.map(|(samples, skipped)| (samples, skipped, HISTORY_FILE.to_owned())));
    }
    let files = samples::expand(&args.from)?;
    // The config is optional here: without one, a sample's source named after a provider is read
    // as that provider's.
    let config = if globals.config.exists() {
        Some(globals.load_config()?)
    } else {
        None
    };
    let with = FromFiles {
        source: args.source.as_deref(),
        event_type: args.event_type.as_deref(),
        config: config.as_ref(),
    };
    let (samples, skipped) = samples::from_files(&files, &with)?;
    let seen_in = format!(
        "{} file{} given with --from",
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    );
    Ok(Some((samples, skipped, seen_in)))
}

/// Writes each group's schema under `--out` (none at all when one would replace a file without
/// --force), and says what was written and the config lines that use it.
fn write_schemas(
    globals: &Globals,
    args: &InferArgs,
    groups: &BTreeMap<(String, Option<String>), Group>,
) -> Result<Report, CliError> {
    let cwd = std::env::current_dir().map_err(CliError::io(Path::new(".")))?;
    let config_file = output::absolute(&cwd, &globals.config);
    let config_dir = config_file.parent().unwrap_or(&cwd);
    let mut planned = Vec::new();
    let mut stems: BTreeMap<&str, Stems> = BTreeMap::new();
    for ((source, event_type), group) in groups {
        let stem = stems
            .entry(source.as_str())
            .or_default()
            .take(event_type.as_deref());
        let shown = args
            .out
            .join(output::safe_name(source))
            .join(format!("{stem}.json"));
        planned.push((source, event_type, group, shown));
    }
    if !args.force {
        let existing: Vec<String> = planned
            .iter()
            .filter(|(.., shown)| shown.exists())
            .map(|(.., shown)| shown.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(CliError::Usage(format!(
                "{} already exist{}: give --force to replace, or --out DIR to write elsewhere",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            )));
        }
    }
    let mut text = String::new();
    let mut entries = Vec::new();
    for (source, event_type, group, shown) in planned {
        let document = infer::document(source, event_type.as_deref(), &group.shape, group.samples);
        let mut json = serde_json::to_string_pretty(&document)
            .map_err(|e| CliError::Failed(format!("cannot write JSON: {e}")))?;
        json.push('\n');
        if let Some(dir) = shown.parent() {
            std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
        }
        std::fs::write(&shown, json).map_err(CliError::io(&shown))?;
        let _ = writeln!(
            text,
            "wrote {} from {} {}",
            shown.display(),
            group.samples,
            if group.samples == 1 {
                "delivery"
            } else {
                "deliveries"
            }
        );
        let absolute = output::absolute(&cwd, &shown);
        let path = output::config_path(&absolute, config_dir).unwrap_or_else(|| {
            eprintln!(
                "inlet: {} is not beneath the config's directory ({}): the config takes schema \
                 paths relative to it, so move the file there",
                shown.display(),
                config_dir.display()
            );
            absolute.display().to_string()
        });
        entries.push(Entry {
            source: source.clone(),
            event_type: event_type.clone(),
            path,
        });
    }
    let _ = writeln!(
        text,
        "\n# For {} (paths relative to its directory; merge into a source's existing \
         `schemas` table):",
        globals.config.display()
    );
    text.push_str(&output::toml_tables(&entries));
    Ok(Report::ok(text))
}
