//! Where metric lines go: stdout for Lambda (with the level Lambda needs to keep them), memory for
//! tests, or nowhere.

use super::emf::push_json_str;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

/// Where metric lines go. The pipelines default to `Off`; the Lambda functions choose `Stdout`.
#[derive(Debug, Clone, Default)]
pub enum Metrics {
    /// Nothing is built or written: tests, benchmarks, tools.
    #[default]
    Off,
    /// Each line on stdout, which Lambda ships to CloudWatch Logs.
    Stdout,
    /// Lines kept in memory, for tests.
    Memory(MemoryMetrics),
}

impl Metrics {
    /// A sink that keeps lines in memory, and the handle to read them.
    pub fn memory() -> (Self, MemoryMetrics) {
        let lines = MemoryMetrics::default();
        (Self::Memory(lines.clone()), lines)
    }

    /// Whether a line would go anywhere: callers skip building it when not.
    pub(crate) fn enabled(&self) -> bool {
        !matches!(self, Self::Off)
    }

    pub(crate) fn emit(&self, line: &str) {
        match self {
            Self::Off => {}
            Self::Stdout => {
                let mut line = with_level(line, stdout_level());
                line.push('\n');
                // One write under the lock, so a log line from another thread cannot split it.
                // Nowhere to report a closed stdout, and a metric is not worth failing a request.
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            Self::Memory(lines) => lines.push(line.to_owned()),
        }
    }
}

/// The lines a [`Metrics::Memory`] sink received.
#[derive(Debug, Clone, Default)]
pub struct MemoryMetrics(Arc<Mutex<Vec<String>>>);

impl MemoryMetrics {
    fn push(&self, line: String) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The lines so far, leaving none.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// With the JSON log format, Lambda drops application lines below the function's log level and
/// treats a line without `level` as INFO: at WARN, metrics would silently vanish. So metric lines
/// carry the configured level when it is above INFO.
fn stdout_level() -> &'static str {
    static LEVEL: OnceLock<&'static str> = OnceLock::new();
    LEVEL.get_or_init(|| {
        let configured = std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_default();
        match configured.to_ascii_uppercase().as_str() {
            "WARN" => "WARN",
            "ERROR" => "ERROR",
            "FATAL" => "FATAL",
            _ => "INFO",
        }
    })
}

/// `line` with a `level` member first.
pub(crate) fn with_level(line: &str, level: &str) -> String {
    match line.strip_prefix('{') {
        Some(rest) => {
            let mut out = String::with_capacity(line.len() + level.len() + 12);
            out.push_str("{\"level\":");
            push_json_str(&mut out, level);
            if rest != "}" {
                out.push(',');
            }
            out.push_str(rest);
            out
        }
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::emf::check::{emf_directives, parse};
    use crate::metrics::ingest::{IngestCount, ingest_metrics};

    #[test]
    fn lambda_sees_a_level_on_every_metric_line() {
        let line = ingest_metrics("github", IngestCount::Ignored, 1);
        let leveled = with_level(&line, "WARN");
        let doc = parse(&leveled);
        assert_eq!(doc["level"], "WARN");
        emf_directives(&doc, 1);
        assert_eq!(with_level("{}", "INFO"), r#"{"level":"INFO"}"#);
    }

    #[test]
    fn the_memory_sink_keeps_lines_and_off_keeps_nothing() {
        let (sink, lines) = Metrics::memory();
        assert!(sink.enabled());
        sink.emit("{\"a\":1}");
        assert_eq!(lines.lines(), ["{\"a\":1}"]);
        assert_eq!(lines.take().len(), 1);
        assert!(lines.lines().is_empty());
        assert!(!Metrics::Off.enabled());
        Metrics::Off.emit("{}");
    }
}
