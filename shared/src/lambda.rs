//! The Lambda edge: API Gateway requests (as `lambda_http` parses them) into the ingest
//! pipeline, and its replies back out.

use crate::ingest::{Ingest, IngestRequest, Reply};
use crate::ports::{Queue, SecretStore};
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
