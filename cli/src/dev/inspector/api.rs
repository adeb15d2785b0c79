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
        (_, [] | [""] | ["api", "deliveries", ..]) => error(
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
        // Per route: `{route, state: delivered | retrying | dead_lettered, reason?, message?}`.
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
mod tests {
    use super::*;

    #[test]
    fn the_host_must_be_a_loopback_name() {
        let with = |host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, host.parse().unwrap());
            loopback_host(&headers)
        };
        assert!(with("127.0.0.1:5056"));
        assert!(with("localhost:5056"));
        assert!(with("[::1]:5056"));
        assert!(!with("evil.example:5056"));
        assert!(!with("192.168.1.2:5056"));
    }

    #[test]
    fn a_post_from_another_origin_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:5056".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "http://127.0.0.1:5056".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&headers));
    }

    #[test]
    fn filters_come_from_the_query() {
        assert_eq!(
            Filter::parse(Some("source=github&state=dead_lettered&q=Push&x=1")),
            Filter {
                source: Some("github".into()),
                state: Some("dead_lettered".into()),
                text: Some("push".into()),
            }
        );
        assert_eq!(Filter::parse(Some("source=")), Filter::default());
    }

    mod routing {
        use super::super::super::{Inspector, Seen};
        use super::*;
        use http_body_util::BodyExt as _;
        use inlet_core::ingest::{Outcome, Reply};

        fn actions() -> Actions {
            let sqs = aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::Config::builder()
                    .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
                    .build(),
            );
            let config = inlet_core::config::Config::parse(
                "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GITHUB_SECRET\"]\n",
            )
            .unwrap();
            Actions {
                inspector: Inspector::in_memory(),
                base_url: "http://127.0.0.1:9".into(),
                client: crate::sending::client(true).unwrap(),
                config,
                keys: Vec::new(),
                sqs,
                queue_url: "http://127.0.0.1:9/queue".into(),
                dead_letter_queue_url: "http://127.0.0.1:9/dlq".into(),
            }
        }

        fn receive(actions: &Actions, body: &str, reply: &Reply) -> String {
            receive_as(actions, body, reply, None)
        }

        /// A request ingest answered with `reply`, queued as `message_id`.
        fn receive_as(
            actions: &Actions,
            body: &str,
            reply: &Reply,
            message_id: Option<&str>,
        ) -> String {
            let mut headers = HeaderMap::new();
            headers.insert("x-github-event", "push".parse().unwrap());
            let seen = Seen {
                method: "POST",
                path: "/webhooks/github",
                query: None,
                headers: &headers,
                body: body.as_bytes(),
            };
            actions
                .inspector
                .ingested(&seen, Some("github"), reply, message_id.map(str::to_owned))
        }

        fn queued(key: &str) -> Reply {
            Reply {
                status: StatusCode::ACCEPTED,
                content_type: "application/json",
                body: format!("{{\"status\":\"queued\",\"id\":\"{key}\"}}"),
                headers: Vec::new(),
                outcome: Outcome::Queued { key: key.into() },
            }
        }

        async fn call(
            actions: &Actions,
            method: Method,
            path: &str,
            query: Option<&str>,
        ) -> (StatusCode, Value) {
            let response = route(actions, &method, path, query).await;
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }

        #[tokio::test(flavor = "current_thread")]
        async fn the_list_is_newest_first_and_filters() {
            let actions = actions();
            let first = receive(&actions, r#"{"ref":"main"}"#, &queued("github#1"));
            let refused = Reply::error(StatusCode::UNAUTHORIZED, "signature_mismatch", "no match");
            let second = receive(&actions, "{}", &refused);
            let (status, list) = call(&actions, Method::GET, "/api/deliveries", None).await;
            assert_eq!(status, StatusCode::OK);
            let ids: Vec<_> = list["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(ids, [second.clone(), first.clone()]);
            let row = &list["deliveries"][0];
            assert_eq!(row["state"], "rejected");
            assert_eq!(row["code"], "signature_mismatch");
            assert_eq!(row["status"], 401);
            assert_eq!(list["deliveries"][1]["key"], "github#1");
            assert_eq!(list["deliveries"][1]["event_id"], "1");
            let (_, only) = call(
                &actions,
                Method::GET,
                "/api/deliveries",
                Some("state=queued&q=MAIN"),
            )
            .await;
            assert_eq!(only["deliveries"].as_array().unwrap().len(), 1);
            assert_eq!(only["deliveries"][0]["id"], first.as_str());
        }

        #[tokio::test(flavor = "current_thread")]
        async fn a_delivery_is_shown_whole() {
            let actions = actions();
            let id = receive(&actions, r#"{"ref":"main"}"#, &queued("github#1"));
            let (status, detail) = call(
                &actions,
                Method::GET,
                &format!("/api/deliveries/{id}"),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(detail["request"]["method"], "POST");
            assert_eq!(
                detail["request"]["headers"][0],
                json!(["x-github-event", "push"])
            );
            assert_eq!(detail["request"]["body_json"], "{\n  \"ref\": \"main\"\n}");
            assert_eq!(detail["verdict"]["verified"], true);
            assert_eq!(detail["envelope"], Value::Null);
            assert_eq!(detail["action_attempts"], json!([]));
            let (status, missing) =
                call(&actions, Method::GET, "/api/deliveries/d-999999", None).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert_eq!(missing["error"], "not_found");
        }

        #[tokio::test(flavor = "current_thread")]
        async fn a_copy_from_inlet_replay_names_its_run() {
            let actions = actions();
            let plain = receive(&actions, "{}", &queued("github#1"));
            // An envelope `inlet replay` queued carries its run's id.
            actions.inspector.queued(
                "m-7",
                r#"{"key":"github#2","event_type":"push","replay":"run-7"}"#,
            );
            let replayed = receive_as(&actions, "{}", &queued("github#2"), Some("m-7"));
            let (_, list) = call(&actions, Method::GET, "/api/deliveries", None).await;
            let row = |id: &str| {
                list["deliveries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["id"] == id)
                    .cloned()
                    .unwrap()
            };
            assert_eq!(row(&replayed)["replay_run"], "run-7");
            assert_eq!(row(&replayed)["message_id"], "m-7");
            assert_eq!(row(&plain)["replay_run"], Value::Null);
            let (_, detail) = call(
                &actions,
                Method::GET,
                &format!("/api/deliveries/{replayed}"),
                None,
            )
            .await;
            assert_eq!(detail["replay_run"], "run-7");
        }

        #[tokio::test(flavor = "current_thread")]
        async fn actions_refuse_what_they_cannot_do() {
            let actions = actions();
            let id = receive(&actions, "{}", &queued("github#1"));
            let (status, answer) = call(
                &actions,
                Method::POST,
                &format!("/api/deliveries/{id}/redrive"),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::CONFLICT);
            assert_eq!(answer["error"], "not_dead_lettered");
            let (status, answer) = call(
                &actions,
                Method::POST,
                "/api/deliveries/d-999999/delete",
                None,
            )
            .await;
            assert_eq!(
                (status, answer["error"].as_str()),
                (StatusCode::NOT_FOUND, Some("not_found"))
            );
            let (status, _) = call(
                &actions,
                Method::POST,
                &format!("/api/deliveries/{id}/explode"),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            let (status, _) = call(&actions, Method::DELETE, "/api/deliveries", None).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
            let (status, _) = call(&actions, Method::GET, "/nothing", None).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }

        #[tokio::test(flavor = "current_thread")]
        async fn a_delivery_shows_how_each_of_its_routes_ended() {
            use inlet_core::process::{BatchOutcome, RecordOutcome, RouteOutcome, RouteRun};
            let actions = actions();
            let id = receive_as(&actions, "{}", &queued("github#1"), Some("m-1"));
            let run = |route: &str, outcome| RouteRun {
                route: route.into(),
                outcome,
            };
            let poll = inlet_local::Poll {
                outcome: Some(BatchOutcome {
                    outcomes: vec![(
                        "m-1".into(),
                        RecordOutcome::Retry {
                            reason: "route audit: the target answered 503".into(),
                        },
                    )],
                    routes: vec![vec![
                        run("triage", RouteOutcome::Delivered),
                        run(
                            "audit",
                            RouteOutcome::Retry {
                                reason: "the target answered 503".into(),
                            },
                        ),
                        run(
                            "billing",
                            RouteOutcome::DeadLettered {
                                reason: "transform_failed",
                                message: "the body is not JSON".into(),
                            },
                        ),
                    ]],
                }),
                received: vec![inlet_local::Received {
                    message_id: "m-1".into(),
                    key: Some("github#1".into()),
                    envelope: None,
                    origin_message_id: "m-1".into(),
                    receive_count: 1,
                }],
                exhausted: Vec::new(),
            };
            let runs = vec![crate::dev::inspector::ActionRun {
                message_id: "m-1".into(),
                route: "billing".into(),
                at_ms: 0,
                latency: std::time::Duration::from_millis(2),
                result: Err(inlet_core::actions::ActionError::TransformFailed(
                    "the body is not JSON".into(),
                )),
                answer: "the body is not JSON".into(),
                response: None,
            }];
            actions.inspector.polled(
                &poll,
                &inlet_core::config::ProcessSettings::default(),
                1_795_352_400,
                &runs,
            );
            let (_, detail) = call(
                &actions,
                Method::GET,
                &format!("/api/deliveries/{id}"),
                None,
            )
            .await;
            assert_eq!(detail["state"], "retrying", "{detail}");
            assert_eq!(
                detail["routes"],
                json!([
                    {"route": "triage", "state": "delivered"},
                    {"route": "audit", "state": "retrying", "message": "the target answered 503"},
                    {"route": "billing", "state": "dead_lettered", "reason": "transform_failed",
                     "message": "the body is not JSON"},
                ]),
                "{detail}"
            );
            assert_eq!(detail["action_attempts"][0]["route"], "billing");
            assert_eq!(detail["action_attempts"][0]["outcome"], "transform_failed");
            let (_, list) = call(&actions, Method::GET, "/api/deliveries", None).await;
            assert_eq!(list["deliveries"][0]["routes"], detail["routes"]);
            // Its dead-lettered route can be redriven while the others are retried: the action
            // is taken (and fails here only for want of a queue).
            let (status, answer) = call(
                &actions,
                Method::POST,
                &format!("/api/deliveries/{id}/redrive"),
                None,
            )
            .await;
            assert_ne!(answer["error"], "not_dead_lettered", "{status} {answer}");
        }

        #[tokio::test(flavor = "current_thread")]
        async fn the_page_is_served_at_the_root() {
            let response = route(&actions(), &Method::GET, "/", None).await;
            assert_eq!(response.status(), StatusCode::OK);
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            assert!(String::from_utf8_lossy(&bytes).contains("table id=\"deliveries\""));
        }
    }
}
