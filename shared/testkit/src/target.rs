//! The forward target every suite shares: a loopback HTTP server that records every request and
//! answers as each path's script says.

use http::HeaderMap;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub enum Script {
    Ok,
    /// 500 for the first n requests, then 200.
    FailFirst(usize),
    Always(u16),
    /// Never answers (within any forward timeout a test sets): the request is recorded with
    /// status 0 and the connection is held open until the caller gives up.
    Hang,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// 0 for a request that got no answer.
    pub status: u16,
}

#[derive(Debug)]
struct TargetState {
    hits: Vec<Hit>,
    scripts: HashMap<String, Script>,
    /// For paths without a script of their own.
    otherwise: Script,
}

/// An HTTP server that records every request and answers as scripted per path.
#[derive(Debug)]
pub struct Target {
    pub addr: SocketAddr,
    state: Arc<Mutex<TargetState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Target {
    /// Answers each path as `scripts` says, and 404 on any other.
    pub async fn start(scripts: &[(&str, Script)]) -> Self {
        Self::serve(scripts, Script::Always(404)).await
    }

    /// Answers every request with `status`.
    pub async fn answering(status: u16) -> Self {
        Self::serve(&[], Script::Always(status)).await
    }

    async fn serve(scripts: &[(&str, Script)], otherwise: Script) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(TargetState {
            hits: Vec::new(),
            scripts: scripts
                .iter()
                .map(|(path, script)| (format!("/{path}"), *script))
                .collect(),
            otherwise,
        }));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, std::convert::Infallible>(record(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    pub fn script(&self, path: &str, script: Script) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .insert(format!("/{path}"), script);
    }

    /// The requests whose `webhook-id` (the event key) is `key`.
    pub fn hits_for(&self, key: &str) -> Vec<Hit> {
        self.state
            .lock()
            .unwrap()
            .hits
            .iter()
            .filter(|hit| header(&hit.headers, "webhook-id") == Some(key))
            .cloned()
            .collect()
    }

    pub fn succeeded(&self, key: &str) -> bool {
        self.hits_for(key)
            .iter()
            .any(|hit| (200..300).contains(&hit.status))
    }

    pub fn all_hits(&self) -> Vec<Hit> {
        self.state.lock().unwrap().hits.clone()
    }

    /// The headers of every request, in arrival order.
    pub fn received(&self) -> Vec<HeaderMap> {
        self.all_hits().into_iter().map(|hit| hit.headers).collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    state: &Mutex<TargetState>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let status = {
        let mut state = state.lock().unwrap();
        let earlier = state.hits.iter().filter(|hit| hit.path == path).count();
        let status = match state.scripts.get(&path).copied().unwrap_or(state.otherwise) {
            Script::Ok => 200,
            Script::FailFirst(n) if earlier < n => 500,
            Script::FailFirst(_) => 200,
            Script::Always(status) => status,
            Script::Hang => 0,
        };
        state.hits.push(Hit {
            path,
            headers: parts.headers,
            body: body.to_vec(),
            status,
        });
        status
    };
    if status == 0 {
        // Longer than any test runs; the runtime's shutdown ends it.
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let mut response = hyper::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = http::StatusCode::from_u16(status.max(200)).unwrap();
    response
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}
