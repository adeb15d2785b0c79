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
        let config = inlet_core::config::Config::parse(ROUTES).unwrap();
        Actions {
            inspector: Inspector::in_memory().with_routes(&config.routes),
            base_url: "http://127.0.0.1:9".into(),
            client: crate::sending::client(true).unwrap(),
            config,
            keys: Vec::new(),
            sqs,
            queue_url: "http://127.0.0.1:9/queue".into(),
            dead_letter_queue_url: "http://127.0.0.1:9/dlq".into(),
            guards: None,
        }
    }

    /// One source, three routes: two forwards (each a destination with a breaker) and a log.
    const ROUTES: &str = "[sources.github]\nscheme = \"github\"\n\
         secrets = [\"env:GITHUB_SECRET\"]\n\n\
         [[routes]]\nname = \"triage\"\nsource = \"github\"\n\
         action = { type = \"forward\", url = \"http://127.0.0.1:9/triage\", secret = \"env:S\" }\n\n\
         [[routes]]\nname = \"audit\"\nsource = \"github\"\n\
         action = { type = \"forward\", url = \"http://127.0.0.1:9/audit\", secret = \"env:S\" }\n\n\
         [[routes]]\nname = \"billing\"\nsource = \"github\"\naction = { type = \"log\" }\n";

    /// 2026-11-22T13:00:00Z
    const NOON: i64 = 1_795_352_400;

    /// What process made of one receive of `m-1` (`github#1`): `outcome`, with these route
    /// runs, told to the inspector at noon.
    fn polled(
        actions: &Actions,
        outcome: inlet_core::process::RecordOutcome,
        routes: Vec<inlet_core::process::RouteRun>,
        runs: &[crate::dev::inspector::ActionRun],
    ) {
        let poll = inlet_local::Poll {
            outcome: Some(inlet_core::process::BatchOutcome {
                outcomes: vec![("m-1".into(), outcome)],
                routes: vec![routes],
                breakers: Vec::new(),
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
        let settings = inlet_core::config::ProcessSettings::default();
        let retries = crate::dev::retries::Retries {
            settings: &settings,
            routes: &actions.config.routes,
            max_receive_count: 500,
        };
        actions
            .inspector
            .polled(&poll, &retries, NOON * 1000, runs, &[]);
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
            outcome: Outcome::Queued {
                key: key.into(),
                trace_id: inlet_core::trace::TraceId([7; 16]),
            },
        }
    }

    /// `GET /api/deliveries/{id}`'s answer.
    async fn delivery(actions: &Actions, id: &str) -> Value {
        call(actions, Method::GET, &format!("/api/deliveries/{id}"), None)
            .await
            .1
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
        // Not queued as far as the record knows (no envelope came): received, nothing since.
        assert_eq!(detail["trace_id"], Value::Null);
        assert_eq!(detail["timeline"][0]["step"], "received");
        assert_eq!(detail["timeline"][0]["offset_ms"], 0);
        let (status, missing) = call(&actions, Method::GET, "/api/deliveries/d-999999", None).await;
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
            NOON * 1000,
            std::time::Duration::ZERO,
        );
        let replayed = receive_as(&actions, "{}", &queued("github#2"), Some("m-7"));
        let (_, copy) = call(
            &actions,
            Method::GET,
            &format!("/api/deliveries/{replayed}"),
            None,
        )
        .await;
        // Its envelope carries no trace: the key's own, which process uses too.
        let keyed = inlet_core::trace::from_key("github#2").trace_id.to_string();
        assert_eq!(copy["trace_id"], keyed.as_str());
        assert_eq!(copy["timeline"][1]["step"], "queued", "{copy}");
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
        use inlet_core::process::{RecordOutcome, RouteOutcome, RouteRun};
        let actions = actions();
        let id = receive_as(&actions, "{}", &queued("github#1"), Some("m-1"));
        let run = |route: &str, outcome| RouteRun {
            route: route.into(),
            outcome,
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
        polled(
            &actions,
            RecordOutcome::Retry {
                reason: "route audit: the target answered 503".into(),
            },
            vec![
                run("triage", RouteOutcome::Delivered),
                run(
                    "audit",
                    RouteOutcome::Retry {
                        reason: "the target answered 503".into(),
                        attempts: 1,
                        next_at_ms: NOON * 1000 + 5_000,
                    },
                ),
                run(
                    "billing",
                    RouteOutcome::DeadLettered {
                        reason: "transform_failed",
                        message: "the body is not JSON".into(),
                        attempts: 1,
                    },
                ),
            ],
            &runs,
        );
        let detail = delivery(&actions, &id).await;
        assert_eq!(detail["state"], "retrying", "{detail}");
        assert_eq!(detail["next_try_at"], "2026-11-22T13:00:05Z", "{detail}");
        assert_eq!(
            detail["routes"],
            json!([
                {"route": "triage", "state": "delivered"},
                {"route": "audit", "state": "retrying", "message": "the target answered 503",
                 "attempts": 1, "max_attempts": 8, "next_attempt_at": "2026-11-22T13:00:05Z"},
                {"route": "billing", "state": "dead_lettered", "reason": "transform_failed",
                 "message": "the body is not JSON", "attempts": 1, "max_attempts": 8},
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
    async fn a_held_route_keeps_its_attempts_and_its_destination_counts_the_hold() {
        use inlet_core::ports::DeliveryGuards as _;
        use inlet_core::process::{Hold, RecordOutcome, RouteOutcome, RouteRun};
        let guards = inlet_core::ports::memory::MemoryGuards::new();
        let mut actions = actions();
        actions.guards = Some(std::sync::Arc::new(guards.clone()));
        let audit =
            inlet_core::actions::destination::destination_id(&actions.config.routes[1].action)
                .unwrap();
        let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
        let opened = guards
            .breaker_failed(&audit, now_ms, 1, 60_000)
            .await
            .unwrap();
        assert!(opened.opened);
        let id = receive_as(&actions, "{}", &queued("github#1"), Some("m-1"));
        polled(
            &actions,
            RecordOutcome::Retry {
                reason: "the target answered 503".into(),
            },
            vec![RouteRun {
                route: "audit".into(),
                outcome: RouteOutcome::Retry {
                    reason: "the target answered 503".into(),
                    attempts: 2,
                    next_at_ms: NOON * 1000 + 300_000,
                },
            }],
            &[],
        );
        let held = RouteRun {
            route: "audit".into(),
            outcome: RouteOutcome::Held {
                hold: Hold::BreakerOpen,
                until_ms: NOON * 1000 + 330_000,
            },
        };
        polled(
            &actions,
            RecordOutcome::Held {
                reason: "held back (breaker_open)".into(),
            },
            vec![held],
            &[],
        );
        let detail = delivery(&actions, &id).await;
        assert_eq!(detail["state"], "held", "{detail}");
        assert_eq!(
            detail["state_detail"],
            "held: breaker open until 2026-11-22T13:05:30Z"
        );
        assert_eq!(detail["next_try_at"], "2026-11-22T13:05:30Z");
        // A hold is not an attempt: the route keeps its two, and its last error.
        assert_eq!(
            detail["routes"],
            json!([{"route": "audit", "state": "held", "message": "the target answered 503",
                    "attempts": 2, "max_attempts": 8, "next_attempt_at": "2026-11-22T13:05:30Z",
                    "hold": "breaker_open"}]),
            "{detail}"
        );
        let (_, only_held) =
            call(&actions, Method::GET, "/api/deliveries", Some("state=held")).await;
        assert_eq!(only_held["deliveries"].as_array().map(Vec::len), Some(1));

        let (status, report) = call(&actions, Method::GET, "/api/destinations", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(report["error"], Value::Null, "{report}");
        let list = report["destinations"].as_array().unwrap();
        let labels: Vec<&str> = list.iter().filter_map(|d| d["label"].as_str()).collect();
        assert_eq!(
            labels,
            [
                "forward http://127.0.0.1:9/audit",
                "forward http://127.0.0.1:9/triage"
            ]
        );
        assert_eq!(list[0]["routes"], json!(["audit"]));
        assert_eq!(list[0]["state"], "open", "{report}");
        assert_eq!(list[0]["failures"], 1);
        assert_eq!(list[0]["held"]["breaker_open"], 1);
        assert_eq!(list[0]["held"]["total"], 1);
        assert_eq!(list[1]["state"], "closed");
        assert_eq!(list[1]["held"]["total"], 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_route_out_of_retries_is_dead_lettered_with_its_attempts() {
        use inlet_core::process::{RETRIES_EXHAUSTED, RecordOutcome, RouteOutcome, RouteRun};
        let actions = actions();
        let id = receive_as(&actions, "{}", &queued("github#1"), Some("m-1"));
        polled(
            &actions,
            RecordOutcome::DeadLettered {
                reason: RETRIES_EXHAUSTED,
            },
            vec![RouteRun {
                route: "audit".into(),
                outcome: RouteOutcome::DeadLettered {
                    reason: RETRIES_EXHAUSTED,
                    message: "8 attempts; the last: the target answered 503".into(),
                    attempts: 8,
                },
            }],
            &[],
        );
        let detail = delivery(&actions, &id).await;
        assert_eq!(detail["state"], "dead_lettered", "{detail}");
        assert_eq!(
            detail["state_detail"],
            "retries_exhausted: 8 attempts; the last: the target answered 503"
        );
        assert_eq!(detail["routes"][0]["reason"], "retries_exhausted");
        assert_eq!(detail["routes"][0]["attempts"], 8);
        assert_eq!(detail["next_try_at"], Value::Null);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn without_a_breaker_store_the_destinations_say_so() {
        let actions = actions();
        let (status, report) = call(&actions, Method::GET, "/api/destinations", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(report["error"].is_string(), "{report}");
        assert_eq!(report["destinations"].as_array().map(Vec::len), Some(2));
        let (status, _) = call(&actions, Method::POST, "/api/destinations", None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_page_is_served_at_the_root() {
        let response = route(&actions(), &Method::GET, "/", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&bytes).contains("table id=\"deliveries\""));
    }
}
