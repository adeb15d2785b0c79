//! One trace through the pipelines on the emulator: ingest sets the queued message's
//! `AWSTraceHeader` from its invocation's X-Ray header (what links process's invocation to it in
//! X-Ray), and the forward target receives a `traceparent` of the same trace: the provider's when
//! it sent one, else the X-Ray trace's id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{GITHUB, Stack, deliver_with, drain, ingest, process, stack};
use inlet_core::actions::forward::Forwarder;
use inlet_core::actions::router::Router;
use inlet_core::config::Config;
use inlet_core::envelope::Envelope;
use inlet_core::ports::memory::MemorySecrets;
use inlet_core::secrets::{Env, SecretResolver};
use inlet_testkit::target::Target;

/// The example trace header of AWS X-Ray's developer guide ("Tracing header").
const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const XRAY_TRACE_ID: &str = "5759e988bd862e3fe1be46a994272793";
/// W3C Trace Context's example trace.
const PROVIDER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Routes every GitHub event to `target`.
async fn router(target: &Target) -> Router {
    let config = Config::parse(&format!(
        "{GITHUB}\n[[routes]]\nsource = \"github\"\n\
         action = {{ type = \"forward\", url = \"{}\", secret = \"env:AGENT\" }}\n",
        target.url("/agent")
    ))
    .unwrap();
    let env = Env::Map(
        [(
            "AGENT".to_owned(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        )]
        .into(),
    );
    Router::load(
        &config,
        &SecretResolver::new(env, MemorySecrets::default()),
        Forwarder::new().unwrap(),
        &inlet_core::actions::destination::NoCloud,
    )
    .await
    .unwrap()
}

/// The one message on the queue, with its `AWSTraceHeader`; it comes back a second later
/// (the stack's visibility timeout) for process.
async fn peek(stack: &Stack) -> (Envelope, Option<String>) {
    let received = stack
        .sqs
        .receive_message()
        .queue_url(&stack.stack.queue_url)
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader,
        )
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let messages = received.messages.unwrap_or_default();
    let [message] = &messages[..] else {
        panic!("{} messages", messages.len())
    };
    let header = message.attributes().and_then(|attributes| {
        attributes
            .get(&aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader)
            .cloned()
    });
    (
        Envelope::from_json(message.body().unwrap()).unwrap(),
        header,
    )
}

/// Runs the queue through process and returns the `traceparent` the target received.
async fn forwarded_traceparent(stack: &Stack, target: &Target) -> String {
    let process = process(stack, router(target).await);
    drain(stack, &process, 6).await;
    let hit = target.only_hit();
    hit.header("traceparent").unwrap().to_owned()
}

#[tokio::test]
async fn without_a_traceparent_the_xray_trace_runs_from_ingest_to_the_target() {
    let stack = stack(5).await;
    let target = Target::answering(200).await;
    let ingest = ingest(&stack).await;
    let status = deliver_with(
        &ingest,
        "trace-xray",
        br#"{"ref":"main"}"#,
        http::HeaderMap::new(),
        Some(XRAY),
    )
    .await;
    assert_eq!(status, 202);

    let (envelope, header) = peek(&stack).await;
    assert_eq!(
        header.as_deref(),
        Some(XRAY),
        "the message's AWSTraceHeader"
    );
    let queued = envelope.traceparent.unwrap();
    assert!(
        queued.starts_with(&format!("00-{XRAY_TRACE_ID}-")),
        "{queued}"
    );

    let sent = forwarded_traceparent(&stack, &target).await;
    assert!(sent.starts_with(&format!("00-{XRAY_TRACE_ID}-")), "{sent}");
    assert!(sent.ends_with("-01"), "X-Ray sampled it: {sent}");
    assert_ne!(sent, queued, "process's span is its own");
}

#[tokio::test]
async fn the_providers_traceparent_reaches_the_target_through_the_queue() {
    let stack = stack(5).await;
    let target = Target::answering(200).await;
    let ingest = ingest(&stack).await;
    let provider = format!("00-{PROVIDER_TRACE_ID}-00f067aa0ba902b7-01");
    let mut headers = http::HeaderMap::new();
    headers.insert("traceparent", provider.parse().unwrap());
    headers.insert("tracestate", "congo=t61rcWkgMzE".parse().unwrap());
    let status = deliver_with(
        &ingest,
        "trace-provider",
        br#"{"ref":"main"}"#,
        headers,
        Some(XRAY),
    )
    .await;
    assert_eq!(status, 202);

    let sent = forwarded_traceparent(&stack, &target).await;
    assert!(
        sent.starts_with(&format!("00-{PROVIDER_TRACE_ID}-")),
        "{sent}"
    );
    assert!(
        !sent.contains("00f067aa0ba902b7"),
        "a span of Inlet's own: {sent}"
    );
    let hit = target.only_hit();
    assert_eq!(hit.header("tracestate"), Some("congo=t61rcWkgMzE"));
}
