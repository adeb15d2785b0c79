//! The forward target every suite shares: a loopback HTTP/1.1 server (keep-alive, as forwards
//! use it) that records every request and answers as scripted — per path, or in the order
//! requests arrive.

use http::HeaderMap;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How the target answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// 200.
    Ok,
    /// 500 for the first n requests to the path, then 200.
    FailFirst(usize),
    /// 500 for the first n requests of each event (by `webhook-id`), then 200: every event gets
    /// through on its try n + 1.
    FailFirstEach(usize),
    Always(u16),
    /// This 3xx status with `location: /elsewhere`, another path of the same server.
    Redirect(u16),
    /// This status (a 429 or 503) with `retry-after` this many seconds.
    Throttle(u16, u32),
    /// Never answers (within any forward timeout a test sets): the request is recorded with
    /// status 0 and the connection is held open until the caller gives up.
    Hang,
}

/// A request the target received, and what it answered.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    /// The path alone, which the scripts go by.
    pub path: String,
    /// The request target as sent: the path and any query.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// 0 for a request that got no answer.
    pub status: u16,
    /// When it arrived.
    pub at: SystemTime,
}

impl Hit {
    /// A header's value as text, if it is there and is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The event key the forward carries as `webhook-id`.
    pub fn key(&self) -> Option<&str> {
        self.header("webhook-id")
    }

    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Debug)]
struct TargetState {
    hits: Vec<Hit>,
    /// Answers for the next requests, whatever their path, before any per-path script.
    in_order: VecDeque<Script>,
    scripts: HashMap<String, Script>,
    /// For paths without a script of their own.
    otherwise: Script,
    /// Requests so far per path, and per path and event key.
    per_path: HashMap<String, usize>,
    per_event: HashMap<(String, String), usize>,
}

impl TargetState {
    /// The status for this request, and a `retry-after` to send with it.
    fn answer(&mut self, path: &str, key: &str) -> (u16, Option<u32>) {
        let earlier = self.per_path.entry(path.to_owned()).or_default();
        let before_on_path = *earlier;
        *earlier += 1;
        let earlier = self
            .per_event
            .entry((path.to_owned(), key.to_owned()))
            .or_default();
        let before_of_event = *earlier;
        *earlier += 1;
        let script = match self.in_order.pop_front() {
            Some(script) => script,
            None => self.scripts.get(path).copied().unwrap_or(self.otherwise),
        };
        let status = match script {
            Script::Ok => 200,
            Script::FailFirst(n) if before_on_path < n => 500,
            Script::FailFirstEach(n) if before_of_event < n => 500,
            Script::FailFirst(_) | Script::FailFirstEach(_) => 200,
            Script::Always(status) | Script::Redirect(status) | Script::Throttle(status, _) => {
                status
            }
            Script::Hang => 0,
        };
        let retry_after = match script {
            Script::Throttle(_, secs) => Some(secs),
            _ => None,
        };
        (status, retry_after)
    }
}

/// An HTTP server that records every request and answers as scripted. Dropping it closes every
/// connection.
#[derive(Debug)]
pub struct Target {
    pub addr: SocketAddr,
    state: Arc<Mutex<TargetState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Target {
    /// Answers each path as `scripts` says, and 404 on any other.
    pub async fn start(scripts: &[(&str, Script)]) -> Self {
        Self::serve(&[], scripts, Script::Always(404)).await
    }

    /// Answers every request with `status`.
    pub async fn answering(status: u16) -> Self {
        Self::serve(&[], &[], Script::Always(status)).await
    }

    /// Answers the requests in the order they arrive, whatever their path, as `replies` says in
    /// turn; 200 to any after those.
    pub async fn in_order(replies: &[Script]) -> Self {
        Self::serve(replies, &[], Script::Ok).await
    }

    async fn serve(in_order: &[Script], scripts: &[(&str, Script)], otherwise: Script) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(TargetState {
            hits: Vec::new(),
            in_order: in_order.iter().copied().collect(),
            scripts: scripts
                .iter()
                .map(|(path, script)| (format!("/{path}"), *script))
                .collect(),
            otherwise,
            per_path: HashMap::new(),
            per_event: HashMap::new(),
        }));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            // Aborting this task drops the set, which ends every connection too.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&shared);
                // Finished connections are let go of as new ones come.
                while connections.try_join_next().is_some() {}
                connections.spawn(async move {
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
            .filter(|hit| hit.key() == Some(key))
            .cloned()
            .collect()
    }

    pub fn succeeded(&self, key: &str) -> bool {
        self.hits_for(key).iter().any(Hit::succeeded)
    }

    /// How many requests so far meet `test`, without copying them.
    pub fn count(&self, test: impl Fn(&Hit) -> bool) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .iter()
            .filter(|hit| test(hit))
            .count()
    }

    pub fn all_hits(&self) -> Vec<Hit> {
        self.state.lock().unwrap().hits.clone()
    }

    /// The headers of every request, in arrival order.
    pub fn received(&self) -> Vec<HeaderMap> {
        self.all_hits().into_iter().map(|hit| hit.headers).collect()
    }

    /// The one request received; panics unless there was exactly one.
    pub fn only_hit(&self) -> Hit {
        let hits = self.all_hits();
        assert_eq!(hits.len(), 1, "expected one request, got {hits:#?}");
        hits.into_iter().next().unwrap()
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
    let at = SystemTime::now();
    let path = parts.uri.path().to_owned();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let (status, retry_after) = {
        let mut state = state.lock().unwrap();
        let key = header(&parts.headers, "webhook-id").unwrap_or_default();
        let (status, retry_after) = state.answer(&path, key);
        state.hits.push(Hit {
            method: parts.method.to_string(),
            path,
            target,
            headers: parts.headers,
            body: body.to_vec(),
            status,
            at,
        });
        (status, retry_after)
    };
    if status == 0 {
        // Longer than any test runs; dropping the target ends it.
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let mut response = hyper::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = http::StatusCode::from_u16(status.max(200)).unwrap();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    if (300..400).contains(&status) {
        response.headers_mut().insert(
            http::header::LOCATION,
            http::HeaderValue::from_static("/elsewhere"),
        );
    }
    response
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}
