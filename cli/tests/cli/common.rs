//! Running this package's `inlet` (which Cargo builds for these tests) against the sample config
//! and local secrets. The repository root, scratch directories and running a command to its end
//! come from inlet-testkit.
#![allow(clippy::unwrap_used)]

use inlet_testkit::{Run, Scratch, repo_root, run};
use std::process::Command;

/// `inlet <args>` with no config options added.
pub fn bare(args: &[&str], stdin: &[u8]) -> Run {
    // Relative defaults (inlet.toml, events/) must not find the repository's by accident.
    let empty = Scratch::with_prefix("inlet-cli-cwd");
    run(
        Command::new(env!("CARGO_BIN_EXE_inlet"))
            .args(args)
            .current_dir(empty.path()),
        stdin,
    )
}

/// `inlet --config inlet.toml --env-file local.env <args>`, from the repository root.
pub fn inlet(args: &[&str]) -> Run {
    inlet_with_stdin(args, b"")
}

pub fn inlet_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    let config = repo_root().join("inlet.toml");
    let env = repo_root().join("local.env");
    let mut all = vec![
        "--config",
        config.to_str().unwrap(),
        "--env-file",
        env.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    bare(&all, stdin)
}
