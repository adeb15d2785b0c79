//! Test harness for the tiers that need AWS or the built `inlet`: an emulator (moto server) on a
//! free loopback port, SDK clients pointed at it, resources with names unique to each test,
//! scratch directories, the `inlet` command, and a running `inlet dev`.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The repository root.
pub fn repo_root() -> PathBuf {
    // This crate lives in shared/testkit.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

// ---- the processes this crate starts ----

/// Emulators and `inlet dev`s started and not yet stopped, for [`kill_started`].
static STARTED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn started(pid: u32) {
    if let Ok(mut pids) = STARTED.lock() {
        pids.push(pid);
    }
}

fn stopped(pid: u32) {
    if let Ok(mut pids) = STARTED.lock() {
        pids.retain(|p| *p != pid);
    }
}

/// Kills every emulator and `inlet dev` this crate started that is still running. Dropping them
/// does that; this is for programs whose panics abort (the release profile), where no `Drop`
/// runs: call it from a panic hook.
pub fn kill_started() {
    let pids: Vec<u32> = STARTED
        .lock()
        .map(|mut pids| std::mem::take(&mut *pids))
        .unwrap_or_default();
    for pid in pids {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

/// A free loopback port: bound, read, released.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A moto server this test owns; killed when dropped, also when the test panics.
#[derive(Debug)]
pub struct Emulator {
    child: Option<Child>,
    pub port: u16,
}

impl Emulator {
    /// Starts moto from the project's `.venv` (made by `make venv`).
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Self {
        let binary = repo_root().join(".venv/bin/moto_server");
        assert!(
            binary.exists(),
            "{} is missing: run the tests through `make test`, which creates the venv",
            binary.display()
        );
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        started(child.id());
        let emulator = Self {
            child: Some(child),
            port,
        };
        emulator.wait_ready();
        emulator
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The moto server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the emulator (a fault); `restart` brings it back on the same port, empty.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            stopped(child.id());
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        *self = Self::start_on(self.port);
    }

    /// SDK config pointed at this emulator, with dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(&self.endpoint()).await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    let credentials =
        aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "inlet-tests");
    inlet_aws::sdk_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .load()
        .await
}

/// A name no other test in this run uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

// ---- `inlet`, the built CLI, run by the tests ----

/// The built `inlet` binary: `target/debug/inlet` (or `$INLET_BIN`). `make test` builds it before
/// the tests, since Cargo gives tests only the binaries of their own package.
pub fn inlet_binary() -> PathBuf {
    if let Ok(path) = std::env::var("INLET_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    let binary = target.join("debug").join("inlet");
    assert!(
        binary.exists(),
        "{} is missing: build it first with `cargo build -p inlet-cli` (`make test` does)",
        binary.display()
    );
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
        // The CLI's sources and the library crates' (not the test kit's: `inlet` does not use it).
        let root = repo_root();
        let libraries = std::fs::read_dir(root.join("shared"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_name() != "testkit")
            .map(|entry| entry.path().join("src"));
        let newest = std::iter::once(root.join("cli/src"))
            .chain(libraries)
            .filter_map(|dir| newest_file(&dir))
            .max();
        if let (Some(built), Some(newest)) = (built, newest)
            && newest > built
        {
            eprintln!(
                "warning: {} is older than its sources: these tests run the old one \
                 (`cargo build -p inlet-cli` rebuilds it)",
                binary.display()
            );
        }
    });
    binary
}

/// When the most recently changed file under `dir` was changed.
fn newest_file(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest_file(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(time);
    }
    newest
}

/// A directory for one test's files, under the system's temporary directory; removed when
/// dropped unless [`Scratch::keep`] says otherwise.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Self {
        Self::with_prefix("inlet-test")
    }

    /// A new directory whose name starts with `prefix`, to tell whose it is.
    pub fn with_prefix(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Leaves the directory in place, for a person to look at after a failed run; its path.
    pub fn keep(self) -> PathBuf {
        let mut this = std::mem::ManuallyDrop::new(self);
        std::mem::take(&mut this.0)
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How a command that ran to its end exited, and what it printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to its end with `stdin` as its input, capturing what it prints.
pub fn run(command: &mut Command, stdin: &[u8]) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let output = std::thread::scope(|scope| {
        // Written while the output is read, so that neither side waits on a full pipe; a
        // command that exits without reading it all just closes the pipe.
        scope.spawn(move || {
            let _ = input.write_all(stdin);
        });
        child.wait_with_output().unwrap()
    });
    Run {
        code: output.status.code().expect("killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// `inlet` with the config and env file in `scratch` (`inlet.toml`, `local.env`), pointed at the
/// emulator, and nothing of the developer's AWS setup or proxies that could send it elsewhere.
/// `secret_variables` are the names the config reads: `inlet` prefers the process environment to
/// --env-file, so they are removed from it.
pub fn inlet_command(
    emulator_endpoint: &str,
    scratch: &Path,
    secret_variables: &[&str],
) -> Command {
    inlet_command_for(
        &inlet_binary(),
        emulator_endpoint,
        scratch,
        secret_variables,
    )
}

/// [`inlet_command`] for a given build of `inlet` (the soak runs the release one).
pub fn inlet_command_for(
    binary: &Path,
    emulator_endpoint: &str,
    scratch: &Path,
    secret_variables: &[&str],
) -> Command {
    let mut command = Command::new(binary);
    for name in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "INLET_QUEUE_URL",
        "INLET_DLQ_URL",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "RUST_LOG",
    ]
    .into_iter()
    .chain(secret_variables.iter().copied())
    {
        command.env_remove(name);
    }
    command
        .env("AWS_ENDPOINT_URL", emulator_endpoint)
        .env("AWS_CONFIG_FILE", scratch.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            scratch.join("no-aws-credentials"),
        )
        .arg("--config")
        .arg(scratch.join("inlet.toml"))
        .arg("--env-file")
        .arg(scratch.join("local.env"))
        .stdin(Stdio::null());
    command
}

/// A running `inlet dev --no-samples` on a free port; killed when dropped, so nothing outlives a
/// failing test. Its output is printed when the test fails.
#[derive(Debug)]
pub struct Dev {
    child: Child,
    pub port: u16,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Dev {
    /// The built `inlet` ([`inlet_binary`]) as `inlet dev`, with the config and env file in
    /// `scratch` (see [`inlet_command`]).
    pub fn start(emulator: &Emulator, scratch: &Path, secret_variables: &[&str]) -> Self {
        Self::start_binary(&inlet_binary(), emulator, scratch, secret_variables)
    }

    /// [`Dev::start`] with more arguments for `inlet dev` (`--pollers 2`).
    pub fn start_with(
        emulator: &Emulator,
        scratch: &Path,
        secret_variables: &[&str],
        args: &[&str],
    ) -> Self {
        Self::launch(
            &inlet_binary(),
            &emulator.endpoint(),
            scratch,
            secret_variables,
            args,
        )
    }

    /// [`Dev::start_with`] against `endpoint`: a proxy in front of the emulator
    /// (`serial::OneAtATime`).
    pub fn start_via(
        endpoint: &str,
        scratch: &Path,
        secret_variables: &[&str],
        args: &[&str],
    ) -> Self {
        Self::launch(&inlet_binary(), endpoint, scratch, secret_variables, args)
    }

    /// [`Dev::start`] with a given build of `inlet` (the soak runs the release one).
    pub fn start_binary(
        binary: &Path,
        emulator: &Emulator,
        scratch: &Path,
        secret_variables: &[&str],
    ) -> Self {
        Self::launch(binary, &emulator.endpoint(), scratch, secret_variables, &[])
    }

    fn launch(
        binary: &Path,
        endpoint: &str,
        scratch: &Path,
        secret_variables: &[&str],
        args: &[&str],
    ) -> Self {
        let port = free_port();
        let stdout = scratch.join("dev.out");
        let stderr = scratch.join("dev.err");
        let child = inlet_command_for(binary, endpoint, scratch, secret_variables)
            // The inspector on a free port: it runs in every stack test, and tests run in parallel.
            .args([
                "dev",
                "--no-samples",
                "--inspect",
                "127.0.0.1:0",
                "--listen",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .current_dir(scratch)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        started(child.id());
        let mut dev = Self {
            child,
            port,
            stdout,
            stderr,
        };
        dev.wait_ready();
        dev
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.exited() {
                panic!(
                    "inlet dev exited ({status}) before serving:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "inlet dev did not listen on {} in time:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, source: &str) -> String {
        format!("http://127.0.0.1:{}/webhooks/{source}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How it exited, once it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// What it printed: its lines on stdout, then anything on stderr (panics among them).
    pub fn log(&self) -> String {
        let stdout = std::fs::read_to_string(&self.stdout).unwrap_or_default();
        let stderr = self.stderr();
        if stderr.is_empty() {
            stdout
        } else {
            format!("{stdout}---- stderr ----\n{stderr}")
        }
    }

    /// The last `lines` lines of [`Dev::log`].
    pub fn tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!("inlet dev exited ({status}):\n{}", self.log());
        }
    }

    /// Kills it at once (SIGKILL), as a Lambda execution environment can die mid-batch: no
    /// batch in hand finishes, no claim is released.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        stopped(self.child.id());
        if std::thread::panicking() {
            eprintln!("---- inlet dev output ----\n{}", self.log());
        }
    }
}
