//! `inlet check`: is this config good, without an emulator or AWS? Every problem is named by its
//! key at once (not only the first, as a function starting up stops at), including `env:`
//! references whose variable neither `--env-file` nor the environment sets. `secretsmanager:`
//! references need AWS to check, so they are listed as not checked.

use crate::Report;
use crate::error::CliError;
use crate::globals::Globals;
use inlet_core::config::{Config, Finding, SecretRef};
use std::fmt::Write as _;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

pub fn run(globals: &Globals, _args: &CheckArgs) -> Result<Report, CliError> {
    let path = &globals.config;
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    let checked = Config::check(&text);
    let env = globals.variables()?;
    let mut problems = checked.problems.clone();
    let mut not_checked = Vec::new();
    for (key, reference) in &checked.secrets {
        match reference {
            SecretRef::Env(name) if !env.contains_key(name) => {
                let hint = if globals.env_file.is_some() {
                    "neither the environment nor --env-file sets it"
                } else {
                    "the environment does not set it; give it with --env-file FILE"
                };
                problems.push(Finding {
                    key: key.clone(),
                    problem: format!("env:{name} is not set ({hint})"),
                });
            }
            SecretRef::Env(_) => {}
            SecretRef::SecretsManager { .. } => not_checked.push((key, reference)),
        }
    }
    let mut out = String::new();
    if problems.is_empty() {
        let _ = writeln!(
            out,
            "ok: {} source{}, {} route{}",
            checked.sources,
            plural(checked.sources),
            checked.routes,
            plural(checked.routes)
        );
    } else {
        for Finding { key, problem } in &problems {
            let _ = writeln!(out, "{key}: {problem}");
        }
    }
    for (key, reference) in not_checked {
        let _ = writeln!(out, "{key}: {reference:?} not checked (needs AWS)");
    }
    Ok(Report {
        stdout: out,
        code: if problems.is_empty() { 0 } else { 2 },
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
