//! The ingest pipeline over HTTP, standing in for API Gateway; and the serving loop it shares
//! with the inspector's page.

use super::inspector::{Inspector, RecordingQueue, Seen};
use super::output::{ingest_line, say};
use super::signals::stop_requested;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use inlet_aws::SecretsManager;
use inlet_core::ingest::{Ingest, IngestRequest, Reply};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// API Gateway refuses bodies over 10 MiB before any function runs; so does this server.
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// How long open connections get to finish their request once a stop is asked for.
const DRAIN: Duration = Duration::from_secs(5);

/// What a server answers: one response per request.
pub(super) trait Answer: Send + Sync + 'static {
    fn answer(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send;
}

/// The ingest pipeline as the function wires it, over the queue the inspector watches.
pub(super) type DevIngest = Ingest<RecordingQueue, SecretsManager>;

/// The ingest pipeline, with the inspector it tells about each request.
pub(super) struct IngestService {
    pub ingest: Arc<DevIngest>,
    pub inspector: Option<Inspector>,
}

impl Answer for IngestService {
    fn answer(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send {
        answer(&self.ingest, self.inspector.as_ref(), request, peer)
    }
}

/// Serves `service` until a stop is asked for, then gives open connections [`DRAIN`] to finish.
pub(super) async fn serve<A: Answer>(
    listener: TcpListener,
    service: Arc<A>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stop_requested(&mut stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, Arc::clone(&service), stopped.clone()));
                }
                Err(error) => {
                    // Out of descriptors, say: pause rather than spin.
                    say(format!("server: accept failed: {error}"));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

async fn connection<A: Answer>(
    stream: TcpStream,
    peer: SocketAddr,
    service: Arc<A>,
    mut stopped: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| {
        let service = Arc::clone(&service);
        async move { Ok::<_, Infallible>(service.answer(request, peer).await) }
    });
    // HTTP/1.1 lets a client half-close once its request is sent; it must still get its answer,
    // where hyper's default drops the connection as soon as it reads the end of the stream.
    let conn = http1::Builder::new()
        .half_close(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        // A client that goes away mid-request has no one left to tell.
        _ = conn.as_mut() => {}
        () = stop_requested(&mut stopped) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The `{source}` of `/webhooks/{source}`, as API Gateway's route would bind it.
fn source_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/webhooks/")?;
    let source = rest.strip_suffix('/').unwrap_or(rest);
    (!source.is_empty() && !source.contains('/')).then_some(source)
}

async fn answer(
    ingest: &DevIngest,
    inspector: Option<&Inspector>,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let label = source_of(path).map_or_else(|| format!("{} {path}", parts.method), str::to_owned);
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let reply = if error.is::<http_body_util::LengthLimitError>() {
                Reply::error(
                    http::StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("bodies over {MAX_REQUEST_BYTES} bytes are refused"),
                )
            } else {
                Reply::error(
                    http::StatusCode::BAD_REQUEST,
                    "malformed_request",
                    "the request body could not be read",
                )
            };
            say(ingest_line(&label, &reply));
            if let Some(inspector) = inspector {
                // Listed too, without the body that could not be read.
                let seen = Seen {
                    method: parts.method.as_str(),
                    path,
                    query: parts.uri.query(),
                    headers: &parts.headers,
                    body: &[],
                };
                inspector.ingested(&seen, source_of(path), &reply, None);
            }
            return to_response(reply);
        }
    };
    let source = source_of(path);
    let request = IngestRequest {
        method: &parts.method,
        source,
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
        source_ip: Some(peer.ip().to_canonical()),
        xray_trace: None,
    };
    let now_ms = inlet_signature::clock::epoch_millis(SystemTime::now());
    let (reply, message_id) = super::inspector::watch(ingest.handle(&request, now_ms)).await;
    say(ingest_line(&label, &reply));
    if let Some(inspector) = inspector {
        let seen = Seen {
            method: parts.method.as_str(),
            path,
            query: parts.uri.query(),
            headers: &parts.headers,
            body: &body,
        };
        inspector.ingested(&seen, source, &reply, message_id);
        if let Some(failure) = inspector.take_write_failure() {
            say(format!(
                "inspector: the history is kept in memory only: {failure}"
            ));
        }
    }
    to_response(reply)
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let headers = reply.header_map();
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_the_one_path_segment_after_webhooks() {
        assert_eq!(source_of("/webhooks/github"), Some("github"));
        assert_eq!(source_of("/webhooks/github/"), Some("github"));
        assert_eq!(source_of("/webhooks/"), None);
        assert_eq!(source_of("/webhooks/a/b"), None);
        assert_eq!(source_of("/hooks/github"), None);
    }
}
