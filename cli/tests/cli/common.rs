//! Running the built `inlet` binary against the sample config and local secrets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root, where inlet.toml, local.env and events/ live.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh directory for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("inlet-cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().expect("killed by a signal"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

/// `inlet <args>` with no config options added.
pub fn bare(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_inlet"))
        .args(args)
        // Relative defaults (inlet.toml, events/) must not find the repository's by accident.
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap().into()
}

/// `inlet --config inlet.toml --env-file local.env <args>`, from the repository root.
pub fn inlet(args: &[&str]) -> Run {
    inlet_with_stdin(args, b"")
}

pub fn inlet_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    let config = root().join("inlet.toml");
    let env = root().join("local.env");
    let mut all = vec![
        "--config",
        config.to_str().unwrap(),
        "--env-file",
        env.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    bare(&all, stdin)
}
