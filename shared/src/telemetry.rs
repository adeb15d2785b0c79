//! Logs: one JSON object per line on stdout, as CloudWatch and Lambda's JSON log format expect.

/// Installs the JSON subscriber. The level comes from `RUST_LOG` (or Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`), `info` by default.
pub fn init() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_lowercase()))
        .unwrap_or_else(|_| "info".to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(&level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests, the CLI) keeps the first subscriber: nothing to report.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .try_init();
}
