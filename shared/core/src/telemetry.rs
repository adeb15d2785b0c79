//! Logs: one JSON object per line on stdout, as CloudWatch and Lambda's JSON log format expect.
//! Metrics go to the same stdout as EMF lines: see [`crate::metrics`].
//!
//! Event log lines carry the event key as `key`, the correlation id from ingest through process
//! to the forward target (which sees it as `webhook-id`), and beside it the event's W3C
//! `trace_id` ([`crate::trace`]), which the target sees in `traceparent`. Bodies, signature header values and
//! secrets are never logged.

use crate::trace::TraceId;
use serde_json::{Map, Value};
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
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
                .fmt_fields(JsonFields::new())
                .event_format(JsonLine)
                .with_writer(writer),
        )
}

/// The span every line about one queued event is logged in, so each carries the event's `key`
/// and `trace_id` however deep the code that writes it. At ERROR level so that it is on whenever
/// any line is: a span filtered out would take those fields off the WARN lines inside it.
pub fn event_span(key: &str, trace_id: TraceId) -> tracing::Span {
    tracing::error_span!("event", key, trace_id = %trace_id)
}

/// One JSON object per line: `{"level": "INFO", "fields": {…}}`, the line's fields beside those
/// of the spans it is in (an event's `key` and `trace_id`, [`event_span`]); the line's own win.
struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                // `JsonFields` keeps each span's fields as a JSON object's text.
                if let Some(formatted) = extensions.get::<FormattedFields<N>>()
                    && let Ok(Value::Object(span_fields)) = serde_json::from_str(&formatted.fields)
                {
                    fields.extend(span_fields);
                }
            }
        }
        event.record(&mut JsonVisitor(&mut fields));
        let line = serde_json::json!({
            "level": event.metadata().level().as_str(),
            "fields": fields,
        });
        writeln!(writer, "{line}")
    }
}

/// A line's fields as JSON values: numbers and booleans as themselves, the rest as text.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
}
