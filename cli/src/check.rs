//! `inlet check`: is this config good, without an emulator or AWS? Every problem is named by its
//! key at once (not only the first, as a function starting up stops at), including `env:`
//! references whose variable neither `--env-file` nor the environment sets. `secretsmanager:`
//! references need AWS to check, so they are listed as not checked; a set `env:` secret must be
//! in its source's key format (base64, a public key…). Retry schedules are checked
//! against the queue the template builds by default, or the one `INLET_QUEUE_RETENTION_SECONDS`
//! and `INLET_MAX_RECEIVE_COUNT` describe (from the environment or `--env-file`), as the
//! deployed process function checks them at start-up.

use crate::Report;
use crate::error::CliError;
use crate::globals::Globals;
use inlet_core::config::{Config, Finding, QueueLimits, SecretRef, config_dir};
use std::fmt::Write as _;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

pub fn run(globals: &Globals, _args: &CheckArgs) -> Result<Report, CliError> {
    let path = &globals.config;
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    let env = globals.variables()?;
    // A bad queue variable is a problem of its own; the schedules are then checked against the
    // template's defaults.
    let (queue, queue_problem) = match QueueLimits::from_vars(|name| env.get(name).cloned()) {
        Ok(queue) => (queue, None),
        Err(error) => (
            QueueLimits::default(),
            Some(Finding {
                key: error.variable.to_owned(),
                problem: error.why,
            }),
        ),
    };
    // Schema files are relative to the config, as the functions read them.
    let checked = Config::check_against(&text, config_dir(path), queue);
    let mut problems = checked.problems.clone();
    problems.extend(queue_problem);
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
            // The value in the source's key format, as the functions read it at start-up.
            SecretRef::Env(name) => {
                if let Some(scheme) = checked.key_formats.get(key)
                    && let Some(value) = env.get(name)
                    && let Err(error) = scheme.key(value)
                {
                    problems.push(Finding {
                        key: key.clone(),
                        problem: format!("env:{name}: {error}"),
                    });
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A config whose route's schedule (six days) the default queue cannot hold, checked with
    /// `variables` in its --env-file.
    fn check(variables: &str) -> Report {
        let scratch = inlet_testkit::Scratch::with_prefix("inlet-check-queue");
        let config = scratch.path().join("inlet.toml");
        std::fs::write(
            &config,
            "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:INLET_CHECK_QUEUE_GH\"]\n\n\
             [[routes]]\nsource = \"github\"\nretry_schedule = [\"1d\", \"5d\"]\n\
             action = { type = \"forward\", url = \"https://x.example\", secret = \"env:INLET_CHECK_QUEUE_GH\" }\n",
        )
        .unwrap();
        let env_file = scratch.path().join("check.env");
        std::fs::write(&env_file, format!("INLET_CHECK_QUEUE_GH=x\n{variables}")).unwrap();
        let globals = Globals {
            config,
            env_file: Some(env_file),
        };
        run(&globals, &CheckArgs {}).unwrap()
    }

    #[test]
    fn a_schedule_the_queue_cannot_hold_is_listed_saying_what_to_raise() {
        let report = check("");
        assert_eq!(report.code, 2, "{}", report.stdout);
        let lines: Vec<&str> = report.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{}", report.stdout);
        assert!(
            lines[0].starts_with("routes[0].retry_schedule: the queue keeps a message 345600 s")
                && lines[0].contains("raise INLET_QUEUE_RETENTION_SECONDS"),
            "{}",
            report.stdout
        );
        assert!(
            lines[1].starts_with(
                "routes[0].retry_schedule: the queue dead-letters a message after 500 receives"
            ) && lines[1].contains("raise INLET_MAX_RECEIVE_COUNT"),
            "{}",
            report.stdout
        );
    }

    #[test]
    fn the_queue_variables_describe_the_deployed_queue() {
        let roomy = check("INLET_QUEUE_RETENTION_SECONDS=1209600\nINLET_MAX_RECEIVE_COUNT=1000\n");
        assert_eq!(roomy.code, 0, "{}", roomy.stdout);
        assert_eq!(roomy.stdout, "ok: 1 source, 1 route\n");

        let bad = check("INLET_QUEUE_RETENTION_SECONDS=1209600\nINLET_MAX_RECEIVE_COUNT=lots\n");
        assert_eq!(bad.code, 2, "{}", bad.stdout);
        assert!(
            bad.stdout
                .lines()
                .any(|line| line.starts_with("INLET_MAX_RECEIVE_COUNT: `lots` is not")),
            "{}",
            bad.stdout
        );
    }

    #[test]
    fn a_set_secret_not_in_its_sources_key_format_is_named() {
        let scratch = inlet_testkit::Scratch::with_prefix("inlet-check-keys");
        let config = scratch.path().join("inlet.toml");
        std::fs::write(
            &config,
            "[sources.ledger]\nscheme = \"hmac\"\nheader = \"X-Sig\"\nkey_encoding = \"base64\"\n\
             secrets = [\"env:INLET_CHECK_LEDGER\", \"env:INLET_CHECK_LEDGER_OLD\"]\n\
             [sources.table]\nscheme = \"airtable\"\nsecrets = [\"env:INLET_CHECK_LEDGER\"]\n",
        )
        .unwrap();
        let env_file = scratch.path().join("check.env");
        let run_with = |variables: &str| {
            std::fs::write(&env_file, variables).unwrap();
            let globals = Globals {
                config: config.clone(),
                env_file: Some(env_file.clone()),
            };
            run(&globals, &CheckArgs {}).unwrap()
        };
        let good = run_with("INLET_CHECK_LEDGER=c2VjcmV0\nINLET_CHECK_LEDGER_OLD=b2xk\n");
        assert_eq!(good.code, 0, "{}", good.stdout);
        let bad = run_with("INLET_CHECK_LEDGER=c2VjcmV0\nINLET_CHECK_LEDGER_OLD=not base64!\n");
        assert_eq!(bad.code, 2, "{}", bad.stdout);
        assert_eq!(
            bad.stdout,
            "sources.ledger.secrets[1]: env:INLET_CHECK_LEDGER_OLD: expected the secret as base64\n"
        );
    }
}
