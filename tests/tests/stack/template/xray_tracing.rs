//! Active tracing: both functions are traced by X-Ray, so the console shows ingest, the queue
//! (the message's `AWSTraceHeader`, which ingest sets) and process as one trace. SAM grants the
//! write-only X-Ray policy itself; the functions' own statements must not widen it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{resource, template};

#[test]
fn both_functions_are_traced_and_grant_no_xray_of_their_own() {
    let template = template();
    assert_eq!(
        template["Globals"]["Function"]["Tracing"].as_str(),
        Some("Active"),
        "Globals.Function.Tracing must be Active"
    );
    for function in ["IngestFunction", "ProcessFunction"] {
        let properties = resource(&template, function);
        assert!(
            properties["Tracing"].is_badvalue(),
            "{function} must not override the global Tracing"
        );
        let policies = format!("{:?}", properties["Policies"]);
        assert!(
            !policies.contains("xray:"),
            "{function}: X-Ray's permissions come with Tracing, not from our statements"
        );
    }
}
