//! The baseline `make coldstart` measures the functions against: a Rust Lambda that parses its
//! event and answers a constant, and does nothing else. It is built with the functions, in one
//! `cargo build`, so it shares their runtime crates, features and release profile: what it costs is
//! what any Rust Lambda on `lambda_runtime` pays, and the rest of a function's cost is its own.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        // Parsed (so the event's size counts as it does for the functions), then dropped.
        drop(event);
        Ok::<Value, Error>(json!({ "statusCode": 200 }))
    }))
    .await
}
