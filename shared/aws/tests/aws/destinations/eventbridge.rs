//! The EventBridge destination over mocked SDK answers: the entry it puts, and how its per-entry
//! and request errors are classified.

use super::*;

/// The entry's one resource: the event's trace id, for rules to match.
fn trace_resource() -> String {
    let trace = envelope(None, None).trace();
    inlet_aws::destinations::eventbridge::trace_resource(&trace.trace_id)
}

fn taken() -> PutEventsOutput {
    PutEventsOutput::builder()
        .failed_entry_count(0)
        .entries(PutEventsResultEntry::builder().event_id("e-1").build())
        .build()
}

fn refused_entry(code: &'static str) -> Rule {
    mock!(aws_sdk_eventbridge::Client::put_events).then_output(move || {
        PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(
                PutEventsResultEntry::builder()
                    .error_code(code)
                    .error_message("refused")
                    .build(),
            )
            .build()
    })
}

#[tokio::test]
async fn eventbridge_puts_one_entry_from_the_event() {
    let rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|req| {
            let [entry] = req.entries() else { return false };
            entry.event_bus_name() == Some(BUS)
                && entry.source() == Some("inlet.github")
                && entry.detail_type() == Some("issues")
                && entry.detail() == Some(std::str::from_utf8(BODY).unwrap())
                && entry.resources() == [trace_resource()]
                && entry.time().is_none()
        })
        .then_output(taken);
    let destination = eventbridge(eventbridge_client(&[&rule]), BUS);
    let envelope = envelope(Some("issues"), None);
    destination
        .deliver(delivery(&envelope, BODY))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn eventbridge_takes_a_bus_arn_and_calls_untyped_events_webhook() {
    let arn = "arn:aws:events:us-east-1:123456789012:event-bus/audit";
    let rule = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(move |req| {
            let [entry] = req.entries() else { return false };
            entry.event_bus_name() == Some(arn) && entry.detail_type() == Some("webhook")
        })
        .then_output(taken);
    let destination = eventbridge(eventbridge_client(&[&rule]), arn);
    let envelope = envelope(None, None);
    destination
        .deliver(delivery(&envelope, BODY))
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn eventbridge_refuses_a_body_that_is_no_json_object_without_a_request() {
    let client = eventbridge_client(&[]);
    let envelope = envelope(Some("issues"), None);
    for body in [&b"[1,2]"[..], b"\"text\"", b"a=1&b=2", b"\xff", b""] {
        let result = eventbridge(client.clone(), BUS)
            .deliver(delivery(&envelope, body))
            .await;
        match result {
            Err(ActionError::Permanent(message)) => {
                assert!(message.contains("JSON object"), "{message}");
                assert!(message.contains("transform"), "{message}");
                assert!(message.contains(BUS), "{message}");
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
    let long_type = "t".repeat(129);
    let envelope = envelope_with_type(&long_type);
    let result = eventbridge(client, BUS)
        .deliver(delivery(&envelope, BODY))
        .await;
    assert!(
        matches!(&result, Err(ActionError::Permanent(m)) if m.contains("128")),
        "{result:?}"
    );
}

fn envelope_with_type(event_type: &str) -> Envelope {
    envelope(Some(event_type), None)
}

#[tokio::test]
async fn eventbridge_entry_throttling_is_throttled_internal_failures_transient_others_permanent() {
    let envelope = envelope(Some("issues"), None);
    let rule = refused_entry("ThrottlingException");
    let result = eventbridge(eventbridge_client(&[&rule]), BUS)
        .deliver(delivery(&envelope, BODY))
        .await;
    assert_throttled(result, BUS, "ThrottlingException");
    for code in ["InternalException", "InternalFailure"] {
        let rule = refused_entry(code);
        let result = eventbridge(eventbridge_client(&[&rule]), BUS)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_transient(result, BUS, code);
    }
    for code in [
        "AccessDeniedException",
        "MalformedDetail",
        "InvalidArgument",
        "NotAuthorizedForSourceException",
        "NotAuthorizedForDetailTypeException",
    ] {
        let rule = refused_entry(code);
        let result = eventbridge(eventbridge_client(&[&rule]), BUS)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_permanent(result, BUS, code);
    }
}

#[tokio::test]
async fn eventbridge_request_errors_map_like_the_others() {
    const JSON: &str = "application/x-amz-json-1.1";
    let envelope = envelope(Some("issues"), None);
    let error = |status: u16, code: &'static str| {
        let body = format!(r#"{{"__type":"{code}","message":"refused"}}"#);
        mock!(aws_sdk_eventbridge::Client::put_events)
            .then_http_response(move || http(status, JSON, &body, &[]))
    };
    for (status, code) in [(400, "ThrottlingException"), (429, "TooManyRequests")] {
        let rule = error(status, code);
        let result = eventbridge(eventbridge_client(&[&rule]), BUS)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_throttled(result, BUS, code);
    }
    for (status, code) in [(500, "InternalException"), (503, "ServiceUnavailable")] {
        let rule = error(status, code);
        let result = eventbridge(eventbridge_client(&[&rule]), BUS)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_transient(result, BUS, code);
    }
    for (status, code) in [
        (400, "AccessDeniedException"),
        (400, "ResourceNotFoundException"),
        (400, "ValidationException"),
    ] {
        let rule = error(status, code);
        let result = eventbridge(eventbridge_client(&[&rule]), BUS)
            .deliver(delivery(&envelope, BODY))
            .await;
        assert_permanent(result, BUS, code);
    }
}
