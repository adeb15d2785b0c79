//! Test harness for the tiers that need AWS: an emulator (moto server) on a free loopback port,
//! SDK clients pointed at it, and resources with names unique to each test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
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

    /// Stops the emulator (a fault); `restart` brings it back on the same port, empty.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
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
    inlet::aws::sdk_loader()
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
