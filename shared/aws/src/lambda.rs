//! The Lambda edge: API Gateway HTTP API events into the ingest pipeline and its replies back
//! out; SQS events into the process pipeline and the batch answer back out.
//!
//! The ingest event is read as the payload-2.0 struct itself rather than through `lambda_http`'s
//! conversion to an `http::Request`: the pipeline needs only the method, path, query, headers and
//! body bytes, and the conversion cost a URI rebuild per request, charset tables in the package,
//! and a panic (an abort, with `panic = "abort"`) on a body marked base64 that is not.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use inlet_core::actions::Handler;
use inlet_core::ingest::{Ingest, IngestRequest, Reply};
use inlet_core::ports::{IdempotencyStore, Queue, SecretStore, Visibility};
use inlet_core::process::{Deadline, ORIGIN_MESSAGE_ID, Process, QueuedRecord, ROUTES};
use std::borrow::Cow;

/// The path segment after `/webhooks/`, from API Gateway's path parameters or the raw path.
fn source_of(event: &ApiGatewayV2httpRequest) -> Option<&str> {
    if let Some(source) = event.path_parameters.get("source") {
        return Some(source);
    }
    let path = event
        .raw_path
        .as_deref()
        .or(event.request_context.http.path.as_deref())?;
    let rest = path.strip_prefix("/webhooks/")?;
    let source = rest.strip_suffix('/').unwrap_or(rest);
    (!source.is_empty() && !source.contains('/')).then_some(source)
}

/// When API Gateway received the request, in milliseconds since the epoch.
pub fn received_at_ms(event: &ApiGatewayV2httpRequest) -> Option<i64> {
    Some(event.request_context.time_epoch).filter(|t| *t > 0)
}

/// The body bytes the provider sent: API Gateway base64-encodes any body it does not take for
/// text, and signatures cover the original bytes.
pub fn body_bytes(event: &ApiGatewayV2httpRequest) -> Result<Cow<'_, [u8]>, Reply> {
    let Some(text) = event.body.as_deref() else {
        return Ok(Cow::Borrowed(&[]));
    };
    if !event.is_base64_encoded {
        return Ok(Cow::Borrowed(text.as_bytes()));
    }
    STANDARD.decode(text).map(Cow::Owned).map_err(|_| {
        Reply::error(
            http::StatusCode::BAD_REQUEST,
            "malformed_request",
            "the body is marked base64-encoded but is not valid base64",
        )
    })
}

/// Runs one API Gateway (HTTP API, payload 2.0) event through the pipeline at `now_ms`;
/// `xray_trace` is the invocation's X-Ray trace header, when the function is traced.
pub async fn handle<Q: Queue, S: SecretStore>(
    ingest: &Ingest<Q, S>,
    event: &ApiGatewayV2httpRequest,
    now_ms: i64,
    xray_trace: Option<&str>,
) -> ApiGatewayV2httpResponse {
    let body = match body_bytes(event) {
        Ok(body) => body,
        Err(reply) => return to_response(reply),
    };
    let http = &event.request_context.http;
    let request = IngestRequest {
        method: &http.method,
        source: source_of(event),
        query: event.raw_query_string.as_deref().filter(|q| !q.is_empty()),
        headers: &event.headers,
        body: &body,
        source_ip: http.source_ip.as_deref().and_then(|ip| ip.parse().ok()),
        xray_trace,
    };
    to_response(ingest.handle(&request, now_ms).await)
}

pub fn to_response(reply: Reply) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(reply.status.as_u16());
    response.headers = reply.header_map();
    response.body = Some(Body::Text(reply.body));
    response
}

/// Runs one SQS event through the process pipeline; the answer lists only the records to retry.
pub async fn handle_sqs<St, Dl, Vi, H>(
    process: &Process<St, Dl, Vi, H>,
    event: &SqsEvent,
    clock: Deadline,
) -> SqsBatchResponse
where
    St: IdempotencyStore,
    Dl: Queue,
    Vi: Visibility,
    H: Handler,
{
    let records: Vec<QueuedRecord<'_>> = event
        .records
        .iter()
        .map(|message| QueuedRecord {
            message_id: message.message_id.as_deref().unwrap_or(""),
            receipt_handle: message.receipt_handle.as_deref().unwrap_or(""),
            body: message.body.as_deref().unwrap_or(""),
            receive_count: message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|count| count.parse().ok())
                .unwrap_or(1),
            group_id: message.attributes.get("MessageGroupId").map(String::as_str),
            source: message
                .message_attributes
                .get("source")
                .and_then(|a| a.string_value.as_deref()),
            origin_message_id: message
                .message_attributes
                .get(ORIGIN_MESSAGE_ID)
                .and_then(|a| a.string_value.as_deref()),
            routes: message
                .message_attributes
                .get(ROUTES)
                .and_then(|a| a.string_value.as_deref()),
        })
        .collect();
    let outcome = process.handle_batch(&records, clock).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = outcome
        .failures()
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}
