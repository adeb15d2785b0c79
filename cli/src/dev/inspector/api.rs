//! The inspector's HTTP face: the page at `/` and the JSON API it polls and acts through.

use super::actions::{ActionFailure, Actions, DeadLetterChange, Done};
use super::pretty::pretty_json;
use super::store::Delivery;
use crate::dev::server::Answer;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Method, StatusCode, header};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// The page: one self-contained file, no build step.
const PAGE: &str = include_str!("page.html");
/// How much of each body the list carries for the page's text filter.
const EXCERPT_CHARS: usize = 1024;

pub(in crate::dev) struct InspectorService {
    pub actions: Arc<Actions>,
    /// Whether the user allowed a non-loopback address; only then may other hosts name it.
    pub public: bool,
}

impl Answer for InspectorService {
    fn answer(
        &self,
        request: Request<Incoming>,
        _peer: SocketAddr,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send {
        let actions = Arc::clone(&self.actions);
        let public = self.public;
        async move {
            let (parts, body) = request.into_parts();
            if !public && !loopback_host(&parts.headers) {
                // A page on another site that got a name resolving here (DNS rebinding) must
                // not read or replay deliveries.
                return error(
                    StatusCode::FORBIDDEN,
                    "forbidden_host",
                    "the inspector answers only to loopback names",
                );
            }
            if parts.method == Method::POST && !same_origin(&parts.headers) {
                // Browsers send Origin on cross-site POSTs: another site cannot replay through
                // the user's browser.
                return error(
                    StatusCode::FORBIDDEN,
                    "cross_origin",
                    "actions come from the inspector's own page",
                );
            }
            if parts.method == Method::POST && parts.uri.path() == "/api/dead-letters" {
                return dead_letters_changed(&actions, body).await;
            }
            route(&actions, &parts.method, parts.uri.path(), parts.uri.query()).await
        }
    }
}

/// How large a report of `inlet dlq`'s changes may be: thousands of letters' ids.
const MAX_CHANGE_BYTES: usize = 1024 * 1024;

/// `POST /api/dead-letters`: `inlet dlq` telling the page what it redrove or deleted.
async fn dead_letters_changed(actions: &Actions, body: Incoming) -> Response<Full<Bytes>> {
    use http_body_util::BodyExt as _;
    let Ok(collected) = http_body_util::Limited::new(body, MAX_CHANGE_BYTES)
        .collect()
        .await
    else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the report could not be read whole",
        );
    };
    match serde_json::from_slice::<DeadLetterChange>(&collected.to_bytes()) {
        Ok(change) => {
            let updated = actions.dead_letters_changed(&change);
            json_response(StatusCode::OK, &json!({ "ok": true, "updated": updated }))
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            &format!("expected {{\"redriven\": [...], \"deleted\": [...]}}: {e}"),
        ),
    }
}

/// Whether the Host header names this machine: an IP literal on loopback, or `localhost`.
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a POST comes from the inspector's own page (or from no page at all: curl).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    host.is_some_and(|host| origin == format!("http://{host}"))
}

/// Routes one request.
pub(in crate::dev) async fn route(
    actions: &Actions,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Response<Full<Bytes>> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match (method, segments.as_slice()) {
        (&Method::GET, [] | [""]) => respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            PAGE.as_bytes().to_vec(),
        ),
        (&Method::GET, ["api", "deliveries"]) => {
            let filter = Filter::parse(query);
            let store = actions.inspector.store();
            let list: Vec<Value> = store
                .newest_first()
                .filter(|d| filter.keeps(d))
                .map(summary)
                .collect();
            json_response(StatusCode::OK, &json!({ "deliveries": list }))
        }
        (&Method::GET, ["api", "destinations"]) => {
            let breakers = match &actions.guards {
                Some(guards) => Some(guards.breakers().await),
                None => None,
            };
            let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
            json_response(
                StatusCode::OK,
                &actions.inspector.destinations_report(breakers, now_ms),
            )
        }
        (&Method::GET, ["api", "deliveries", id]) => match actions.inspector.store().get(id) {
            Some(delivery) => json_response(StatusCode::OK, &detail(delivery)),
            None => not_found(id),
        },
        (&Method::GET, ["api", "deliveries", id, "raw"]) => match actions.inspector.store().get(id)
        {
            Some(delivery) => respond(
                StatusCode::OK,
                "application/octet-stream",
                delivery.request.body.clone(),
            ),
            None => not_found(id),
        },
        (&Method::POST, ["api", "deliveries", id, action]) => {
            let result = match *action {
                "replay" => actions.replay(id).await,
                "replay-new" => actions.replay_new(id).await,
                "redrive" => actions.redrive(id).await,
                "delete" => actions.delete(id).await,
                _ => return error(StatusCode::NOT_FOUND, "not_found", "no such action"),
            };
            acted(result)
        }
        (_, [] | [""] | ["api", "deliveries" | "destinations", ..]) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "GET reads, POST acts",
        ),
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such page"),
    }
}

fn acted(result: Result<Done, ActionFailure>) -> Response<Full<Bytes>> {
    match result {
        Ok(done) => json_response(
            StatusCode::OK,
            &json!({
                "ok": true,
                "delivery": done.delivery,
                "status": done.status,
                "note": done.note,
            }),
        ),
        Err(failure) => error(failure.status(), failure.code(), &failure.to_string()),
    }
}

/// The list's filters, as the page's own controls are: source, state, free text.
#[derive(Debug, Default, PartialEq, Eq)]
struct Filter {
    source: Option<String>,
    state: Option<String>,
    text: Option<String>,
}

impl Filter {
    fn parse(query: Option<&str>) -> Self {
        let mut filter = Self::default();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let value = (!value.is_empty()).then(|| value.into_owned());
            match name.as_ref() {
                "source" => filter.source = value,
                "state" => filter.state = value,
                "q" => filter.text = value.map(|v| v.to_lowercase()),
                _ => {}
            }
        }
        filter
    }

    fn keeps(&self, delivery: &Delivery) -> bool {
        let state = delivery.state.name();
        self.source.as_ref().is_none_or(|s| *s == delivery.source)
            && self.state.as_ref().is_none_or(|s| s == state)
            && self.text.as_ref().is_none_or(|text| {
                [
                    Some(delivery.id.as_str()),
                    delivery.event_type.as_deref(),
                    delivery.event_id.as_deref(),
                    delivery.key.as_deref(),
                    Some(delivery.source.as_str()),
                    delivery.code.as_deref(),
                    Some(&*String::from_utf8_lossy(&delivery.request.body)),
                ]
                .into_iter()
                .flatten()
                .any(|field| field.to_lowercase().contains(text.as_str()))
            })
    }
}

/// A delivery as the list shows it.
fn summary(delivery: &Delivery) -> Value {
    let excerpt: String = String::from_utf8_lossy(&delivery.request.body)
        .chars()
        .take(EXCERPT_CHARS)
        .collect();
    json!({
        "id": delivery.id,
        "received_at": delivery.received_at,
        "source": delivery.source,
        "event_type": delivery.event_type,
        "event_id": delivery.event_id,
        "key": delivery.key,
        "status": delivery.status,
        "code": delivery.code,
        "state": delivery.state.name(),
        "state_detail": super::detail_as_of(delivery, crate::sending::now_secs()),
        "next_try_at": delivery.next_try_at,
        "dead_letter_at": delivery.dead_letter_at,
        "attempts": delivery.attempts,
        "message_id": delivery.message_id,
        "gone": delivery.gone,
        "replay_of": delivery.replay_of,
        "replay_run": replay_run(delivery),
        // Per route: `{route, state: delivered | retrying | held | dead_lettered, reason?,
        // message?, attempts?, max_attempts?, next_attempt_at?, hold?}`.
        "routes": delivery.routes,
        "body_excerpt": excerpt,
    })
}

/// The `inlet replay` run a delivery's envelope came from, if it did: such an envelope carries
/// the run's id, and the list marks it as a replay (as it marks the page's own, `replay_of`).
fn replay_run(delivery: &Delivery) -> Option<&str> {
    delivery.envelope.as_ref()?.get("replay")?.as_str()
}

/// A delivery whole.
fn detail(delivery: &Delivery) -> Value {
    let mut value = summary(delivery);
    let request = &delivery.request;
    let text = std::str::from_utf8(&request.body).ok();
    let pretty = text.and_then(pretty_json);
    let fields = [
        (
            "request",
            json!({
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "headers": request.headers,
                "body": text,
                "body_base64": STANDARD.encode(&request.body),
                "body_json": pretty,
                "body_truncated_from": request.body_truncated_from,
            }),
        ),
        ("verdict", json!(delivery.verdict)),
        ("envelope", delivery.envelope.clone().unwrap_or(Value::Null)),
        ("action_attempts", json!(delivery.action_attempts)),
        // The event's trace id: what its log lines and its destinations' `traceparent` name.
        ("trace_id", json!(super::timeline::trace_id(delivery))),
        // Each step with its time: `{step, at, offset_ms, …}` (see `timeline::Step`).
        ("timeline", json!(super::timeline::timeline(delivery))),
    ];
    if let Value::Object(map) = &mut value {
        map.remove("body_excerpt");
        for (name, field) in fields {
            map.insert(name.to_owned(), field);
        }
    }
    value
}

fn respond(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    // The page polls: an answer must never come from a cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

fn json_response(status: StatusCode, value: &Value) -> Response<Full<Bytes>> {
    respond(status, "application/json", value.to_string().into_bytes())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &json!({ "error": code, "message": message }))
}

fn not_found(id: &str) -> Response<Full<Bytes>> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("no delivery {id}"),
    )
}

#[cfg(test)]
mod tests;
