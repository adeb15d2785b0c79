//! Logs: one JSON object per line on stdout, as CloudWatch and Lambda's JSON log format expect.
//! Metrics go to the same stdout as EMF lines: see [`crate::metrics`].
//!
//! Event log lines carry the event key as `key`, the correlation id from ingest through process
//! to the forward target (which sees it as `webhook-id`). Bodies, signature header values and
//! secrets are never logged.

use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Installs the JSON subscriber on stdout. The level comes from `RUST_LOG` (or Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`), `info` by default: a level, or `target=level` pairs. `Targets`
/// rather than `EnvFilter`, whose regex engine would cost every Lambda package a few hundred KB.
pub fn init() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_lowercase()))
        .unwrap_or_else(|_| "info".to_owned());
    let filter = level
        .parse::<Targets>()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO));
    // A second init (tests, the CLI) keeps the first subscriber: nothing to report.
    let _ = subscriber(filter, std::io::stdout).try_init();
}

/// The subscriber [`init`] installs, writing to `writer`, so tests can capture exactly the lines
/// that ship.
pub fn subscriber<W>(filter: Targets, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        // TRACE is where dependencies dump raw payloads: lambda_runtime logs every invocation's
        // event (webhook bodies, signature headers) and the AWS SDK whole requests (queued
        // envelopes). Whatever RUST_LOG asks for, it stays shut.
        .with(LevelFilter::DEBUG)
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_span_list(false)
                .without_time()
                .with_target(false)
                .with_writer(writer),
        )
}
