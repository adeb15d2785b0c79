//! The inspector's timeline of an event, through its API against a running `inlet dev` (the rig
//! of `inspector.rs`): each step from receipt to done, with its time, in order, and the trace id
//! the sender started.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::inspector::{Rig, forwarding_config, github, text};
use http::HeaderValue;
use inlet_testkit::target::{Script, Target};
use serde_json::Value;

/// The trace the sender of `timed#tl-1` started.
const TRACE_ID: &str = "5e1d3a9c0b7f42e8a6c4d2b0f8e6a4c2";
const TRACEPARENT: &str = "00-5e1d3a9c0b7f42e8a6c4d2b0f8e6a4c2-a1b2c3d4e5f60718-01";

/// `timed` forwards to a target that takes everything; `retried` to one that fails each event's
/// first try (once the test scripts it so), retried a second later with no breaker in the way.
fn config(target: &Target) -> String {
    forwarding_config(target, 3, &[("timed", "ok"), ("retried", "fail")])
}

/// The detail of the delivery of `key`, once it is processed.
fn processed(rig: &mut Rig, key: &str) -> Value {
    let listed = rig.wait_for_delivery(&format!("{key} is processed"), |d| {
        text(d, "key") == key && text(d, "state") == "processed"
    });
    let (status, detail) = rig.api("GET", &format!("/api/deliveries/{}", text(&listed, "id")));
    assert_eq!(status, 200, "{detail}");
    detail
}

/// The timeline's steps, checked to come in time order: each step's time and its offset from
/// receipt never go back, and the first is the receipt itself.
fn timeline_of(detail: &Value) -> Vec<Value> {
    let steps = detail["timeline"]
        .as_array()
        .unwrap_or_else(|| panic!("no timeline: {detail:#}"))
        .clone();
    assert_eq!(steps[0]["step"], "received", "{detail:#}");
    assert_eq!(steps[0]["offset_ms"], 0, "{detail:#}");
    let times: Vec<(i64, i64)> = steps
        .iter()
        .map(|s| {
            let at = text(s, "at");
            let seconds = inlet_signature::clock::parse_rfc3339(at)
                .unwrap_or_else(|| panic!("{at} is no time: {detail:#}"));
            assert_eq!(
                at.len(),
                "2026-11-22T13:00:00.000Z".len(),
                "milliseconds: {at}"
            );
            let millis: i64 = at[20..23].parse().unwrap();
            (seconds * 1000 + millis, s["offset_ms"].as_i64().unwrap())
        })
        .collect();
    for pair in times.windows(2) {
        assert!(
            pair[0].0 <= pair[1].0 && pair[0].1 <= pair[1].1,
            "the steps go back in time: {steps:#?}"
        );
    }
    let start = times[0].0;
    for (at, offset) in &times {
        assert_eq!(
            at - start,
            *offset,
            "offsets count from receipt: {steps:#?}"
        );
    }
    steps
}

fn names(steps: &[Value]) -> Vec<&str> {
    steps.iter().map(|s| text(s, "step")).collect()
}

#[test]
fn an_events_timeline_runs_from_receipt_to_done_with_each_attempt_and_its_trace() {
    let mut rig = Rig::start_from(config);
    rig.target.script("fail", Script::FailFirstEach(1));
    let mut traced = github("timed", "tl-1");
    traced
        .headers
        .insert("traceparent", HeaderValue::from_static(TRACEPARENT));
    rig.post(&traced);
    rig.post(&github("retried", "tl-2"));

    // Delivered at the first try.
    let detail = processed(&mut rig, "timed#tl-1");
    assert_eq!(detail["trace_id"], TRACE_ID, "{detail:#}");
    let steps = timeline_of(&detail);
    assert_eq!(
        names(&steps),
        ["received", "queued", "claimed", "attempt", "done"],
        "{steps:#?}"
    );
    assert_eq!(steps[1]["message_id"], detail["message_id"], "{steps:#?}");
    let attempt = &steps[3];
    assert_eq!(attempt["route"], "timed", "{attempt:#}");
    assert_eq!(attempt["attempt"], 1, "{attempt:#}");
    assert_eq!(attempt["outcome"], "delivered", "{attempt:#}");
    assert_eq!(attempt["status"], 200, "{attempt:#}");
    assert!(attempt["duration_ms"].is_u64(), "{attempt:#}");
    assert_eq!(steps[4]["outcome"], "completed", "{steps:#?}");
    // The target was called in the same trace.
    let hits = rig.target.hits_for("timed#tl-1");
    let sent = hits[0].header("traceparent").unwrap_or_default();
    assert!(sent.contains(TRACE_ID), "the forward carried {sent:?}");

    // Failed once, delivered on its next receive: both attempts, each in its receive.
    let detail = processed(&mut rig, "retried#tl-2");
    let steps = timeline_of(&detail);
    let names = names(&steps);
    assert_eq!(
        names[..4],
        ["received", "queued", "claimed", "attempt"],
        "{steps:#?}"
    );
    assert_eq!(names[names.len() - 2..], ["attempt", "done"], "{steps:#?}");
    let attempts: Vec<&Value> = steps.iter().filter(|s| s["step"] == "attempt").collect();
    assert_eq!(attempts.len(), 2, "{steps:#?}");
    assert_eq!(attempts[0]["outcome"], "will_retry", "{steps:#?}");
    assert_eq!(attempts[0]["status"], 500, "{steps:#?}");
    assert!(attempts[0]["reason"].is_string(), "{steps:#?}");
    assert_eq!(attempts[1]["outcome"], "delivered", "{steps:#?}");
    assert_eq!(attempts[1]["attempt"], 2, "{steps:#?}");
    assert!(
        attempts[0]["receive"].as_u64() < attempts[1]["receive"].as_u64(),
        "each attempt in its own receive: {steps:#?}"
    );
    // Every receive but the last went back to the queue, and says so.
    let requeued = steps.iter().filter(|s| s["step"] == "requeued").count();
    let claims = steps.iter().filter(|s| s["step"] == "claimed").count();
    assert!(claims >= 2 && requeued == claims - 1, "{steps:#?}");
    assert_eq!(steps.last().unwrap()["outcome"], "completed", "{steps:#?}");
    // Without a traceparent, ingest started a trace of its own: still 32 hex digits.
    let trace = text(&detail, "trace_id");
    assert!(
        trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit()) && trace != TRACE_ID,
        "{detail:#}"
    );
    rig.dev.assert_running();
}
