//! A proxy in front of the emulator that passes DynamoDB's requests one at a time.
//!
//! moto serves requests on threads and checks a write's condition apart from applying it, where
//! DynamoDB applies each write to an item atomically: two conditional writes racing on moto can
//! both pass. Through this proxy the races are between the callers' requests, in whatever order
//! they arrive, as on DynamoDB, and not inside the emulator. Other services' requests (SQS's long
//! polls among them) pass at once, side by side.

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;

/// Aborts the proxy's task when dropped.
#[derive(Debug)]
struct Task(tokio::task::JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The proxy; it stops when dropped.
#[derive(Debug)]
pub struct OneAtATime {
    addr: SocketAddr,
    _task: Task,
}

impl OneAtATime {
    /// Relays to `upstream` (the emulator's endpoint); DynamoDB's requests one at a time.
    pub async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = inlet_core::actions::forward::http_client_builder()
            .no_proxy()
            .build()
            .unwrap();
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (turn, client, upstream) =
                    (Arc::clone(&turn), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let (turn, client, upstream) =
                            (Arc::clone(&turn), client.clone(), upstream.clone());
                        async move {
                            let _turn = if is_dynamodb(&request) {
                                Some(turn.lock_owned().await)
                            } else {
                                None
                            };
                            Ok::<_, std::convert::Infallible>(
                                relay(&client, &upstream, request).await,
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            _task: Task(task),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// DynamoDB's JSON protocol names its operation in `x-amz-target` (`DynamoDB_20120810.…`).
fn is_dynamodb<B>(request: &hyper::Request<B>) -> bool {
    request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|target| target.starts_with("DynamoDB_"))
}

async fn relay(
    client: &reqwest::Client,
    upstream: &str,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let mut forward = client.request(parts.method, format!("{upstream}{}", parts.uri));
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            forward = forward.header(name, value);
        }
    }
    let Ok(answer) = forward.body(body).send().await else {
        // The emulator is gone (stopped, or the test is ending): say so as a gateway would.
        let mut failed = hyper::Response::new(Full::new(Bytes::new()));
        *failed.status_mut() = http::StatusCode::BAD_GATEWAY;
        return failed;
    };
    let mut response = hyper::Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    response.body(Full::new(body)).unwrap()
}
