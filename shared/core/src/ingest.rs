//! The ingest pipeline: one HTTP delivery in, one queued envelope (or a clear refusal) out.
//!
//! It is a plain async function over the queue port and the key ring, so the Lambda, the local
//! stack and the tests all run this same code. Nothing is acknowledged with a 2xx unless the
//! queue has stored it.

use crate::claims::{self, OffloadError, PayloadStore};
use crate::config::{Config, OnInvalid, QUEUED_ENVELOPE_LIMIT, Source};
use crate::envelope::{self, Envelope};
use crate::metrics::{self, Metrics};
use crate::ports::{FifoIds, OutgoingMessage, Queue, QueueError, SecretStore};
use crate::schema::{self, SCHEMA_INVALID, SchemaError};
use crate::secrets::{KeyRing, SecretError};
use crate::trace::{self, TraceId};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use inlet_signature::clock;
use inlet_signature::{Delivery, Handshake, HandshakeBody, Scheme, SignatureError, Window};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// What the pipeline needs of an HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct IngestRequest<'a> {
    pub method: &'a Method,
    /// The `{source}` path segment; `None` when the path is not `/webhooks/{source}`.
    pub source: Option<&'a str>,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The original body bytes (already base64-decoded where the transport encoded them).
    pub body: &'a [u8],
    pub source_ip: Option<IpAddr>,
    /// The Lambda invocation's X-Ray trace header (`Root=1-…;Parent=…;Sampled=…`), when it
    /// runs with tracing: the trace id of a delivery that brings none, and what links the queued
    /// message to this invocation in X-Ray (the message's `AWSTraceHeader`).
    pub xray_trace: Option<&'a str>,
}

/// How a request ended, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Queued { key: String, trace_id: TraceId },
    Ignored,
    Handshake,
    Rejected { code: &'static str },
    Failed { code: &'static str },
}

impl Outcome {
    /// The outcome as the metrics count it.
    pub(crate) fn metric(&self) -> metrics::IngestCount<'_> {
        match self {
            Self::Queued { key, .. } => metrics::IngestCount::Queued { key },
            Self::Ignored => metrics::IngestCount::Ignored,
            Self::Handshake => metrics::IngestCount::Handshake,
            Self::Rejected { code } => metrics::IngestCount::Rejected { reason: code },
            Self::Failed { code } => metrics::IngestCount::Failed { reason: code },
        }
    }
}

/// What an envelope on its way to the queue is known by in logs and X-Ray.
struct Queued<'a> {
    key: String,
    trace_id: TraceId,
    xray_trace: Option<&'a str>,
}

/// The HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
    /// Extra response headers (`Allow` on a 405, Asana's `X-Hook-Secret` echoed).
    pub headers: Vec<(&'static str, HeaderValue)>,
    pub outcome: Outcome,
}

impl Reply {
    fn json(status: StatusCode, body: &serde_json::Value, outcome: Outcome) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.to_string(),
            headers: Vec::new(),
            outcome,
        }
    }

    /// Every response header: the content type and the extras. Both HTTP edges (Lambda and
    /// `inlet dev`) answer with exactly these.
    pub fn header_map(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(1 + self.headers.len());
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        for (name, value) in &self.headers {
            headers.insert(*name, value.clone());
        }
        headers
    }

    /// The answer to an authentic handshake: always a 200.
    fn handshake(handshake: Handshake) -> Self {
        let (content_type, body) = match handshake.body {
            HandshakeBody::Json(value) => ("application/json", value.to_string()),
            HandshakeBody::Text(text) => ("text/plain", text),
            HandshakeBody::Empty => ("text/plain", String::new()),
        };
        let headers = handshake
            .header
            .and_then(|(name, value)| Some((name, HeaderValue::from_str(&value).ok()?)))
            .into_iter()
            .collect();
        Self {
            status: StatusCode::OK,
            content_type,
            body,
            headers,
            outcome: Outcome::Handshake,
        }
    }

    /// A refusal: `{"error": code, "message": …}`.
    pub fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        let outcome = if status.is_server_error() {
            Outcome::Failed { code }
        } else {
            Outcome::Rejected { code }
        };
        Self::json(
            status,
            &serde_json::json!({ "error": code, "message": message.into() }),
            outcome,
        )
    }
}

fn method_not_allowed() -> Reply {
    let mut reply = Reply::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "deliveries must be POSTed",
    );
    reply
        .headers
        .push(("allow", HeaderValue::from_static("POST")));
    reply
}

/// A request whose signature or handshake was not accepted.
fn refusal(error: &SignatureError) -> Reply {
    // A body the scheme cannot read is a malformed request, not a doubtful signature: a 401
    // would send the provider looking for a secret that is fine.
    let status = match error {
        SignatureError::Body(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNAUTHORIZED,
    };
    Reply::error(status, error.code(), error.to_string())
}

fn is_json_object(body: &[u8]) -> bool {
    // JSON is UTF-8 (RFC 8259), but skipping a value with `IgnoredAny` over bytes does not check
    // the strings it skips: validate the text first, or invalid UTF-8 would pass as JSON.
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Event ids become table keys (at most 2 KiB in DynamoDB) and log fields: a provider id that is
/// very long or holds control characters is replaced by its hash, which stays unique.
const MAX_EVENT_ID_LEN: usize = 256;

/// The event id a delivery is keyed by: the provider's, or a hash where it gives none (or one
/// unfit for a key).
pub fn usable_event_id(id: Option<String>, body: &[u8]) -> String {
    match id {
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_EVENT_ID_LEN
                && !id.chars().any(char::is_control)
                && envelope::queue_safe(&id) =>
        {
            id
        }
        Some(id) => format!(
            "sha256:{}",
            hex::encode(inlet_signature::sha256(id.as_bytes()))
        ),
        None => format!("sha256:{}", hex::encode(inlet_signature::sha256(body))),
    }
}

/// Source names are at most 64 characters: a longer path segment names no source, and is cut in
/// logs so that a sender cannot make every refusal write kilobytes of text of its choosing.
const MAX_LOGGED_SOURCE: usize = 64;

fn logged_source(source: Option<&str>) -> &str {
    let name = source.unwrap_or("");
    match name.char_indices().nth(MAX_LOGGED_SOURCE) {
        Some((at, _)) => &name[..at],
        None => name,
    }
}

/// The ingest pipeline over a queue and a key ring.
#[derive(Debug)]
pub struct Ingest<Q, S> {
    config: Config,
    keys: KeyRing<S>,
    queue: Q,
    fifo: bool,
    metrics: Metrics,
    /// Where a body too large for the queue is kept (claim check); without it, such a delivery
    /// is refused with a 413.
    payloads: Option<Arc<dyn PayloadStore>>,
}

impl<Q: Queue, S: SecretStore> Ingest<Q, S> {
    /// `fifo` when the queue is a FIFO queue, so messages carry a group and deduplication id.
    pub fn new(config: Config, keys: KeyRing<S>, queue: Q, fifo: bool) -> Self {
        Self {
            config,
            keys,
            queue,
            fifo,
            metrics: Metrics::Off,
            payloads: None,
        }
    }

    /// Keeps bodies too large for the queue in `payloads`, and queues a reference instead.
    pub fn with_payloads(mut self, payloads: Arc<dyn PayloadStore>) -> Self {
        self.payloads = Some(payloads);
        self
    }

    /// Where each request's metric line goes; [`Metrics::Off`] unless set.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Handles one delivery received at `now_ms` (milliseconds since the epoch).
    pub async fn handle(&self, request: &IngestRequest<'_>, now_ms: i64) -> Reply {
        let reply = self.answer(request, now_ms).await;
        let source = logged_source(request.source);
        match &reply.outcome {
            Outcome::Queued { key, trace_id } => {
                tracing::info!(source, key = %key, trace_id = %trace_id, status = reply.status.as_u16(), "queued")
            }
            Outcome::Failed { code } => {
                tracing::error!(source, code, status = reply.status.as_u16(), "not queued")
            }
            Outcome::Rejected { code } => {
                tracing::warn!(source, code, status = reply.status.as_u16(), "rejected")
            }
            Outcome::Ignored => tracing::info!(source, status = reply.status.as_u16(), "ignored"),
            Outcome::Handshake => {
                tracing::info!(source, status = reply.status.as_u16(), "handshake answered")
            }
        }
        if self.metrics.enabled() {
            let source = request
                .source
                .and_then(|name| self.config.source(name))
                .map_or(metrics::UNKNOWN_SOURCE, |source| source.name.as_str());
            self.metrics.emit(&metrics::ingest_metrics(
                source,
                reply.outcome.metric(),
                now_ms,
            ));
        }
        reply
    }

    async fn answer(&self, request: &IngestRequest<'_>, now_ms: i64) -> Reply {
        let Some(name) = request.source else {
            return Reply::error(
                StatusCode::NOT_FOUND,
                "not_found",
                "deliveries go to POST /webhooks/{source}",
            );
        };
        let Some(source) = self.config.source(name) else {
            return Reply::error(
                StatusCode::NOT_FOUND,
                "unknown_source",
                "no source of that name is configured",
            );
        };
        // Providers with a GET handshake (Meta, Okta) get their GETs as far as the scheme.
        if request.method != Method::POST && !source.scheme.has_unsigned_handshake() {
            return method_not_allowed();
        }
        if request.body.len() > source.max_body_bytes {
            return Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the body is over this source's limit of {} bytes",
                    source.max_body_bytes
                ),
            );
        }
        if !source.ip_allowed(request.source_ip) {
            return Reply::error(
                StatusCode::FORBIDDEN,
                "ip_not_allowed",
                "this address may not post to this source",
            );
        }
        self.verified(source, request, now_ms).await
    }

    /// Answers an authentic handshake. One that hands over a signing secret (Asana's) is answered
    /// only where that secret can be kept: otherwise the provider would start signing with a
    /// secret nothing here knows, and every delivery after it would be refused.
    async fn answer_handshake(&self, source: &Source, handshake: Handshake) -> Reply {
        if let Some(secret) = &handshake.install_secret {
            // Kept before it is acknowledged: a provider told "ok" starts signing with it.
            if let Err(error) = self.keys.install(source, secret).await {
                tracing::error!(source = %source.name, %error, "could not keep the secret a handshake handed over");
                return match error {
                    SecretError::Key { .. } => Reply::error(
                        StatusCode::BAD_REQUEST,
                        "handshake_invalid",
                        "the handed-over secret is not in the provider's format",
                    ),
                    _ => Reply::error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "secret_store_unavailable",
                        "the handed-over secret could not be kept: try again",
                    ),
                };
            }
            tracing::info!(source = %source.name, "kept the signing secret a handshake handed over");
        }
        Reply::handshake(handshake)
    }

    async fn verified(&self, source: &Source, request: &IngestRequest<'_>, now_ms: i64) -> Reply {
        let url = source.url.as_ref().map(|base| match request.query {
            Some(query) if !query.is_empty() => format!("{base}?{query}"),
            _ => base.clone(),
        });
        let delivery = Delivery {
            headers: request.headers,
            body: request.body,
            url: url.as_deref(),
            method: request.method.as_str(),
            query: request.query,
        };
        if source.scheme.has_unsigned_handshake() {
            let keys = if source.handshake_secret.is_some() {
                self.keys.handshake_keys(source).await
            } else {
                self.keys.keys(source).await
            };
            match source.scheme.unsigned_handshake(&delivery, &keys) {
                Some(Ok(handshake)) => return self.answer_handshake(source, handshake).await,
                Some(Err(error)) => return refusal(&error),
                None if request.method != Method::POST => return method_not_allowed(),
                None => {}
            }
        }
        let window = Window {
            now: now_ms.div_euclid(1000),
            tolerance_secs: source.tolerance_secs,
        };
        let keys = self.keys.keys(source).await;
        let verified = match source.scheme.verify(&delivery, &keys, window) {
            Ok(verified) => verified,
            Err(error) => return refusal(&error),
        };
        if let Some(handshake) = verified.handshake {
            return self.answer_handshake(source, handshake).await;
        }
        if Scheme::posts_json_object(&source.scheme) && !is_json_object(request.body) {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                "this provider's deliveries are JSON objects",
            );
        }
        // The type becomes a message attribute and a filter key: one SQS would refuse is dropped.
        let event_type = verified
            .event_type
            .filter(|t| t.len() <= MAX_EVENT_ID_LEN && envelope::queue_safe(t));
        if let Some(filter) = &source.events
            && !filter.allows(event_type.as_deref())
        {
            return Reply::json(
                StatusCode::OK,
                &serde_json::json!({ "status": "ignored", "event_type": event_type }),
                Outcome::Ignored,
            );
        }
        let schema_errors = match schema_verdict(source, event_type.as_deref(), request.body) {
            Ok(errors) => errors,
            Err(refusal) => return refusal,
        };
        let event_id = usable_event_id(verified.event_id, request.body);
        let key = envelope::idempotency_key(&source.name, &event_id);
        // Only now, for a delivery that verified: an unsigned request's trace is never read.
        let (trace, tracestate) = trace::start(request.headers, request.xray_trace);
        let trace_id = trace.trace_id;
        if let Some(errors) = &schema_errors {
            tracing::warn!(source = %source.name, key = %key, trace_id = %trace_id, schema_errors = errors.len(), "breaks its schema: queued to be dead-lettered");
        }
        let mut envelope = Envelope {
            v: envelope::VERSION,
            key: key.clone(),
            source: source.name.clone(),
            scheme: source.scheme.name().to_owned(),
            event_type,
            event_id,
            received_at: clock::format_rfc3339_millis(now_ms),
            headers: kept_headers(&source.scheme, request.headers),
            body: None,
            body_b64: None,
            replay: None,
            body_ref: None,
            schema_errors,
            traceparent: Some(trace.traceparent()),
            tracestate,
        };
        envelope.set_body(request.body);
        let queued = Queued {
            key,
            trace_id,
            xray_trace: request.xray_trace,
        };
        self.enqueue(source, envelope, queued, now_ms).await
    }

    /// Queues `envelope`, its body first stored in the payload bucket when the envelope would
    /// be over the queue's limit. A 202 only once everything it needs is stored.
    async fn enqueue(
        &self,
        source: &Source,
        mut envelope: Envelope,
        queued: Queued<'_>,
        now_ms: i64,
    ) -> Reply {
        let Queued {
            key,
            trace_id,
            xray_trace,
        } = queued;
        // Serialised once for a delivery that fits, which is nearly every one.
        let attributes = envelope.attributes();
        let mut body = envelope.to_json();
        let mut stored = None;
        if envelope::message_bytes(&body, &attributes) > QUEUED_ENVELOPE_LIMIT {
            let Some(payloads) = &self.payloads else {
                return too_large_for_queue(&format!(
                    "the envelope would be over the {QUEUED_ENVELOPE_LIMIT} bytes the queue takes from ingest (its \
                     1 MiB less room for a dead letter's attributes), and no payload bucket is \
                     configured to hold the body"
                ));
            };
            match claims::offload(payloads.as_ref(), &mut envelope, now_ms).await {
                Ok(reference) => stored = reference,
                Err(OffloadError::Store(error)) => {
                    tracing::error!(source = %source.name, key = %key, trace_id = %trace_id, %error, "could not store the large body");
                    return Reply::error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "payload_store_unavailable",
                        "the delivery is too large for the queue and could not be stored; retry later",
                    );
                }
                Err(error) => return too_large_for_queue(&error.to_string()),
            }
            body = envelope.to_json();
        }
        let fifo = self.fifo.then(|| FifoIds {
            group_id: source.name.clone(),
            // Deduplication ids are at most 128 characters: the key's hash always fits.
            deduplication_id: hex::encode(inlet_signature::sha256(key.as_bytes())),
        });
        let message = OutgoingMessage {
            body,
            attributes,
            fifo,
            xray_trace: xray_trace.map(str::to_owned),
        };
        match self.queue.send(message).await {
            Ok(_) => Reply::json(
                StatusCode::ACCEPTED,
                &serde_json::json!({ "status": "queued", "id": key }),
                Outcome::Queued { key, trace_id },
            ),
            Err(error) => {
                tracing::error!(source = %source.name, key = %key, trace_id = %trace_id, %error, "send to the queue failed");
                // Nothing refers to the stored body now; the provider's retry stores its own.
                if let (Some(payloads), Some(reference)) = (&self.payloads, &stored) {
                    payloads.discard(reference).await;
                }
                // Either way a 5xx, so the provider keeps the delivery and retries.
                match error {
                    QueueError::Unavailable(_) => Reply::error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "queue_unavailable",
                        "the delivery could not be queued; retry later",
                    ),
                    QueueError::Rejected(_) => Reply::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "queue_rejected",
                        "the queue refused the delivery",
                    ),
                }
            }
        }
    }
}

/// The body against the source's schema for its event type, if it has one: `Ok(None)` when it
/// conforms or no schema applies, `Ok(Some(errors))` to queue it with its errors (`on_invalid =
/// "dead_letter"`), `Err` the 422 to answer (`"reject"`).
fn schema_verdict(
    source: &Source,
    event_type: Option<&str>,
    body: &[u8],
) -> Result<Option<Vec<SchemaError>>, Reply> {
    let Some(validator) = source
        .schemas
        .for_type(event_type)
        .and_then(|schema| schema.validator.as_deref())
    else {
        return Ok(None);
    };
    let errors = schema::check(validator, body);
    if errors.is_empty() {
        return Ok(None);
    }
    match source.schemas.on_invalid {
        OnInvalid::DeadLetter => Ok(Some(errors)),
        OnInvalid::Reject => {
            let message = match event_type {
                Some(event_type) => {
                    format!("the body does not match the schema for event type `{event_type}`")
                }
                None => "the body does not match this source's schema".to_owned(),
            };
            Err(Reply::json(
                StatusCode::UNPROCESSABLE_ENTITY,
                &serde_json::json!({ "error": SCHEMA_INVALID, "message": message, "errors": errors }),
                Outcome::Rejected {
                    code: SCHEMA_INVALID,
                },
            ))
        }
    }
}

fn too_large_for_queue(message: &str) -> Reply {
    Reply::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        message.to_owned(),
    )
}

/// `content-type` and the scheme's informative headers; never anything that authenticates.
fn kept_headers(scheme: &Scheme, headers: &HeaderMap) -> BTreeMap<String, String> {
    std::iter::once("content-type")
        .chain(scheme.informative_headers().iter().copied())
        .filter_map(|name| {
            let value = headers.get(name)?.to_str().ok()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::memory::{MemoryQueue, MemorySecrets};
    use crate::secrets::{Env, SecretResolver};

    #[tokio::test]
    async fn metrics_are_off_unless_asked_for() {
        let config =
            Config::parse("[sources.open]\nscheme = \"none\"\nallow_unsigned = true\n").unwrap();
        let resolver = SecretResolver::new(Env::Map(Default::default()), MemorySecrets::default());
        let keys = KeyRing::load(&config, resolver).await.unwrap();
        let ingest = Ingest::new(config, keys, MemoryQueue::new(), false);
        assert!(matches!(ingest.metrics, Metrics::Off));
        let ingest = ingest.with_metrics(Metrics::Stdout);
        assert!(matches!(ingest.metrics, Metrics::Stdout));
    }
}
