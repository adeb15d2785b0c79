//! `.inlet/stack.json`: where the running `inlet dev` is, for the other commands to find it.
//!
//! `inlet dev` writes it once the stack is up and removes it when it stops. `inlet send`,
//! `inlet dlq` and the rest read it when the environment names no endpoint and no queue, so
//! `make dev` in one terminal and `inlet send github` in another need nothing exported. A file
//! left behind by a run that was killed is recognised by its pid (and its endpoint not
//! answering), and ignored.

use crate::error::CliError;
use inlet_local::{Stack, emulator};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Relative to the current directory: the stack belongs to the project `inlet dev` ran in.
pub const STATE_FILE: &str = ".inlet/stack.json";

/// The inspector's deliveries, kept by `inlet dev` beside [`STATE_FILE`] (and read by `inlet
/// schema infer`).
pub const HISTORY_FILE: &str = ".inlet/history.jsonl";

/// How long the endpoint gets to accept a connection before the stack counts as gone: it is on
/// this machine, so anything slower means it is not there.
const ANSWER_WITHIN: Duration = Duration::from_millis(500);

/// What a running `inlet dev` tells the other commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackState {
    /// The AWS endpoint (the emulator), as `AWS_ENDPOINT_URL` gave it to `inlet dev`.
    pub endpoint: String,
    pub region: String,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub table_name: String,
    /// Where `POST /webhooks/{source}` is served: `http://127.0.0.1:3000`.
    pub listen: String,
    /// The inspector's base URL, when `inlet dev` serves one.
    #[serde(default)]
    pub inspector: Option<String>,
    /// The `inlet dev` process, to tell a live stack from a file a killed run left behind.
    pub pid: u32,
}

impl StackState {
    /// This process's stack.
    pub fn new(endpoint: &str, stack: &Stack, listen: &str, inspector: Option<String>) -> Self {
        let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            // What the emulator's SDK config falls back to.
            .unwrap_or_else(|| "us-east-1".to_owned());
        Self {
            endpoint: endpoint.to_owned(),
            region,
            queue_url: stack.queue_url.clone(),
            dead_letter_queue_url: stack.dead_letter_queue_url.clone(),
            table_name: stack.table_name.clone(),
            listen: listen.to_owned(),
            inspector,
            pid: std::process::id(),
        }
    }

    /// Writes the state file in `dir`; the returned guard removes it when dropped.
    pub fn write_in(&self, dir: &Path) -> Result<StateFile, std::io::Error> {
        let path = dir.join(STATE_FILE);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        // Written whole then renamed, so a reader never sees half a file.
        let partial = path.with_extension(format!("json.{}", self.pid));
        std::fs::write(&partial, text + "\n")?;
        std::fs::rename(&partial, &path)?;
        Ok(StateFile {
            path,
            pid: self.pid,
        })
    }

    /// The state file in `dir`, if there is one that reads.
    pub fn read_in(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join(STATE_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// `inlet dev`'s one call: records the stack in `.inlet/stack.json` for as long as the guard
/// lives. A directory that cannot be written is said and otherwise ignored: the stack works
/// without the file, the other commands then need `AWS_ENDPOINT_URL`.
pub fn publish(state: &StackState) -> Option<StateFile> {
    match state.write_in(Path::new(".")) {
        Ok(file) => Some(file),
        Err(error) => {
            eprintln!(
                "inlet: cannot write {STATE_FILE} ({error}); other commands will need \
                 AWS_ENDPOINT_URL={}",
                state.endpoint
            );
            None
        }
    }
}

/// Removes the state file when dropped, unless another `inlet dev` has written it since.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    pid: u32,
}

impl Drop for StateFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| serde_json::from_str::<StackState>(&text).ok())
            .is_some_and(|state| state.pid == self.pid);
        if ours {
            let _ = std::fs::remove_file(&self.path);
            // Only when empty: anything else in .inlet/ is not ours to remove.
            if let Some(dir) = self.path.parent() {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

/// Whether process `pid` exists.
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.is_dir() {
        return proc.join(pid.to_string()).exists();
    }
    // No procfs (macOS): `kill -0` asks without signalling.
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether something accepts connections at `url`'s host and port.
async fn answers(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    matches!(
        tokio::time::timeout(ANSWER_WITHIN, tokio::net::TcpStream::connect((host, port))).await,
        Ok(Ok(_))
    )
}

/// The `inlet dev` running in this directory, if one is: its state file names a live process
/// that still answers where it serves.
pub async fn running_stack() -> Option<StackState> {
    let state = StackState::read_in(Path::new("."))?;
    (state.pid != std::process::id() && alive(state.pid) && answers(&state.listen).await)
        .then_some(state)
}

/// How a command reaches the stack.
#[derive(Debug)]
pub enum Target {
    /// The running `inlet dev` the state file names.
    Local(StackState),
    /// What the environment says: `AWS_ENDPOINT_URL` (another emulator) or real AWS, with the
    /// queues from `INLET_QUEUE_URL` / `INLET_DLQ_URL` or looked up by name.
    Environment,
}

fn set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty())
}

impl Target {
    /// The environment when it names an endpoint or a queue, else a live `inlet dev` from the
    /// state file, else a one-line refusal saying how to get a stack.
    pub async fn find() -> Result<Self, CliError> {
        if set("AWS_ENDPOINT_URL") || set("INLET_QUEUE_URL") {
            return Ok(Self::Environment);
        }
        let why = match StackState::read_in(Path::new(".")) {
            None => String::new(),
            Some(state) if !alive(state.pid) => {
                format!(
                    " ({STATE_FILE} is left from inlet dev {}, which has stopped)",
                    state.pid
                )
            }
            Some(state) if !answers(&state.endpoint).await => format!(
                " ({STATE_FILE} names the emulator {}, which does not answer)",
                state.endpoint
            ),
            Some(state) => return Ok(Self::Local(state)),
        };
        Err(CliError::NoStack(why))
    }

    /// The running `inlet dev`'s state, without asking the endpoint: for `inlet send`, which
    /// needs only where deliveries go.
    pub fn local_stack() -> Option<StackState> {
        StackState::read_in(Path::new(".")).filter(|state| alive(state.pid))
    }

    /// The SDK config that reaches this target.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        match self {
            Self::Local(state) => {
                emulator::sdk_config_at(Some(&state.endpoint), Some(&state.region)).await
            }
            Self::Environment => emulator::sdk_config().await,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn state(pid: u32) -> StackState {
        StackState {
            endpoint: "http://127.0.0.1:5055".into(),
            region: "us-east-1".into(),
            queue_url: "http://127.0.0.1:5055/123/inlet-events".into(),
            dead_letter_queue_url: "http://127.0.0.1:5055/123/inlet-events-dlq".into(),
            table_name: "inlet-idempotency".into(),
            listen: "http://127.0.0.1:3000".into(),
            inspector: None,
            pid,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("inlet-state-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_file_round_trips_and_goes_when_its_writer_is_done() {
        let dir = scratch("round-trip");
        let ours = state(std::process::id());
        let guard = ours.write_in(&dir).unwrap();
        assert_eq!(StackState::read_in(&dir), Some(ours.clone()));
        drop(guard);
        assert_eq!(StackState::read_in(&dir), None);
        assert!(!dir.join(".inlet").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_another_run_rewrote_is_left_to_it() {
        let dir = scratch("rewritten");
        let guard = state(std::process::id()).write_in(&dir).unwrap();
        let other = state(1);
        let theirs = other.write_in(&dir).unwrap();
        drop(guard);
        assert_eq!(StackState::read_in(&dir), Some(other));
        drop(theirs);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_live_processes_count() {
        assert!(alive(std::process::id()));
        // Above the kernel's pid_max (4,194,304 at most).
        assert!(!alive(4_194_305));
    }

    #[tokio::test]
    async fn a_closed_port_does_not_answer() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(answers(&format!("http://127.0.0.1:{port}")).await);
        drop(listener);
        assert!(!answers(&format!("http://127.0.0.1:{port}")).await);
        assert!(!answers("not a url").await);
    }
}
