//! The core's pipelines, actions, logs and metrics over the in-memory ports, and the parsers of
//! untrusted input under generated input. One test binary for the crate: each module is a suite.

mod claim_checks;
mod fan_out;
mod forward;
mod header_fuzz;
mod ingest_pipeline;
mod logs;
mod metrics;
mod outages;
mod process_pipeline;
#[cfg(feature = "schemas")]
mod schemas;
