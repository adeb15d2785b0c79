//! The Lambda edge: API Gateway requests (as `lambda_http` parses them) into the ingest
//! pipeline and its replies back out; SQS events into the process pipeline and the batch answer
//! back out.

use crate::ingest::{Ingest, IngestRequest, Reply};
use crate::ports::{IdempotencyStore, Queue, SecretStore, Visibility};
use crate::process::{Deadline, Handler, Process, QueuedRecord};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::net::IpAddr;

/// The path segment after `/webhooks/`, from API Gateway's path parameters or the raw path.
fn source_of(request: &Request) -> Option<String> {
    if let Some(source) = request
        .path_parameters_ref()
        .and_then(|p| p.first("source"))
    {
        return Some(source.to_owned());
    }
    let path = request.raw_http_path();
    let path = if path.is_empty() {
        request.uri().path()
    } else {
        path
    };
    let rest = path.strip_prefix("/webhooks/")?;
    let source = rest.strip_suffix('/').unwrap_or(rest);
    (!source.is_empty() && !source.contains('/')).then(|| source.to_owned())
}

fn source_ip(request: &Request) -> Option<IpAddr> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref()?.parse().ok(),
        _ => None,
    }
}

/// When API Gateway received the request, in milliseconds since the epoch.
pub fn received_at_ms(request: &Request) -> Option<i64> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => Some(context.time_epoch).filter(|t| *t > 0),
        _ => None,
    }
}

/// Runs one API Gateway request through the pipeline at `now_ms`.
pub async fn handle<Q: Queue, S: SecretStore>(
    ingest: &Ingest<Q, S>,
    request: &Request,
    now_ms: i64,
) -> Response<Body> {
    let source = source_of(request);
    let body: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    let ingest_request = IngestRequest {
        method: request.method(),
        source: source.as_deref(),
        query: request.uri().query(),
        headers: request.headers(),
        body,
        source_ip: source_ip(request),
    };
    to_response(ingest.handle(&ingest_request, now_ms).await)
}

pub fn to_response(reply: Reply) -> Response<Body> {
    let mut response = Response::new(Body::Text(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(reply.content_type),
    );
    for (name, value) in reply.headers {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
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
