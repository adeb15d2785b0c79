//! The whole ingest handler per request, with a queue that discards: from the API Gateway event
//! JSON (as the Lambda runtime hands it over) to the response, and the pipeline alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method};
use inlet_core::config::Config;
use inlet_core::ingest::{Ingest, IngestRequest};
use inlet_core::ports::memory::MemorySecrets;
use inlet_core::secrets::{Env, KeyRing, SecretResolver};
use inlet_signature::{Delivery, Scheme};
use std::hint::black_box;
use support::{DiscardQueue, ready};

const NOW: i64 = 1_795_352_400;
const CONFIG: &str =
    "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\nevents = [\"push\"]\n";

fn pipeline() -> Ingest<DiscardQueue, MemorySecrets> {
    pipeline_for(Config::parse(CONFIG).unwrap())
}

/// The pipeline with `events/schemas/github/push.json` as the source's push schema: a config
/// in a scratch directory beside a copy of it (schema paths are relative to the config).
fn pipeline_with_schema() -> (Ingest<DiscardQueue, MemorySecrets>, std::path::PathBuf) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("inlet-bench-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        root.join("events/schemas/github/push.json"),
        dir.join("push.json"),
    )
    .unwrap();
    let path = dir.join("inlet.toml");
    std::fs::write(
        &path,
        format!(
            "{CONFIG}on_invalid = \"reject\"\n[sources.github.schemas]\npush = \"push.json\"\n"
        ),
    )
    .unwrap();
    (pipeline_for(Config::load(&path).unwrap()), dir)
}

fn pipeline_for(config: Config) -> Ingest<DiscardQueue, MemorySecrets> {
    let env = Env::Map([("GH".to_owned(), "bench-secret".to_owned())].into());
    let keys = ready(KeyRing::load(
        &config,
        SecretResolver::new(env, MemorySecrets::default()),
    ))
    .unwrap();
    Ingest::new(config, keys, DiscardQueue, false)
}

/// The sample GitHub push (`events/payloads/github-push.json`, placeholders filled in as
/// `inlet fixtures` fills them) as GitHub sends it, signed: the delivery the schema cases check.
fn sample_push() -> (HeaderMap, Vec<u8>) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let payload: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("events/payloads/github-push.json")).unwrap(),
    )
    .unwrap();
    let body = payload["body"]
        .to_string()
        .replace("\"{{now}}\"", &NOW.to_string())
        .replace("{{now_iso}}", "2026-11-22T13:00:00Z")
        .into_bytes();
    signed_push(body)
}

/// A GitHub push of about 2 KiB, a typical delivery.
fn push() -> (HeaderMap, Vec<u8>) {
    let commits: Vec<String> = (0..8)
        .map(|i| format!(r#"{{"id":"{i:040}","message":"Fix the thing number {i}","author":{{"name":"Dana"}}}}"#))
        .collect();
    let body = format!(
        r#"{{"ref":"refs/heads/main","before":"{:040}","after":"{:040}","commits":[{}]}}"#,
        0,
        1,
        commits.join(",")
    )
    .into_bytes();
    signed_push(body)
}

fn signed_push(body: Vec<u8>) -> (HeaderMap, Vec<u8>) {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-github-event", HeaderValue::from_static("push"));
    headers.insert(
        "x-github-delivery",
        HeaderValue::from_static("72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    );
    let key = Scheme::named("github")
        .unwrap()
        .key("bench-secret")
        .unwrap();
    let signed = Scheme::named("github")
        .unwrap()
        .sign(
            &Delivery {
                headers: &headers,
                body: &body,
                url: None,
                method: "POST",
                query: None,
            },
            &key,
            NOW,
        )
        .unwrap();
    for (name, value) in signed {
        headers.insert(name, value);
    }
    (headers, body)
}

fn api_gateway_event(headers: &HeaderMap, body: &[u8]) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().into()))
        .collect();
    serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/{source}",
        "rawPath": "/webhooks/github",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": "r-1", "routeKey": "POST /webhooks/{source}",
            "stage": "$default", "time": "22/Nov/2026:13:00:00 +0000", "timeEpoch": NOW * 1000,
            "http": { "method": "POST", "path": "/webhooks/github", "protocol": "HTTP/1.1",
                      "sourceIp": "192.0.2.1", "userAgent": "GitHub-Hookshot/abc" }
        },
        "pathParameters": { "source": "github" },
        "body": std::str::from_utf8(body).unwrap(),
        "isBase64Encoded": false
    })
    .to_string()
}

fn handler(c: &mut Criterion) {
    let ingest = pipeline();
    let (headers, body) = push();
    let method = Method::POST;
    let request = IngestRequest {
        method: &method,
        source: Some("github"),
        query: None,
        headers: &headers,
        body: &body,
        source_ip: None,
        xray_trace: None,
    };
    assert_eq!(ready(ingest.handle(&request, NOW * 1000)).status, 202);
    c.bench_function("ingest/pipeline_2KiB_push", |b| {
        b.iter(|| ready(ingest.handle(black_box(&request), NOW * 1000)).status)
    });

    // What a schema costs: the same sample push through a source without one and with one.
    let (with_schema, scratch) = pipeline_with_schema();
    let (headers_sample, body_sample) = sample_push();
    let sample = IngestRequest {
        headers: &headers_sample,
        body: &body_sample,
        ..request
    };
    for (name, pipeline) in [
        ("ingest/pipeline_sample_push", &ingest),
        ("ingest/pipeline_sample_push_with_schema", &with_schema),
    ] {
        let reply = ready(pipeline.handle(&sample, NOW * 1000));
        assert_eq!(reply.status, 202, "{}", reply.body);
        c.bench_function(name, |b| {
            b.iter(|| ready(pipeline.handle(black_box(&sample), NOW * 1000)).status)
        });
    }
    let _ = std::fs::remove_dir_all(scratch);

    let event = api_gateway_event(&headers, &body);
    c.bench_function("ingest/apigw_event_to_response_2KiB_push", |b| {
        b.iter(|| {
            let parsed: aws_lambda_events::event::apigw::ApiGatewayV2httpRequest =
                serde_json::from_slice(black_box(event.as_bytes())).unwrap();
            let response = ready(inlet_aws::lambda::handle(
                &ingest,
                &parsed,
                NOW * 1000,
                None,
            ));
            assert_eq!(response.status_code, 202);
            serde_json::to_vec(&response).unwrap()
        })
    });
}

criterion_group!(benches, handler);
criterion_main!(benches);
