//! Inlet's core: everything between a verified delivery and the user's action, over small ports.
//!
//! The config, the envelope, the ingest and process pipelines, the ports they reach AWS through
//! (with in-memory fakes), secret resolution, metrics and the actions. The AWS SDK is not here:
//! `inlet-aws` implements the ports, and the signature schemes come from `inlet-signature`.

pub mod actions;
pub mod archive;
pub mod claims;
pub mod config;
pub mod envelope;
pub mod ingest;
pub mod metrics;
pub mod ports;
pub mod process;
pub mod schema;
pub mod secrets;
pub mod telemetry;
pub mod trace;
