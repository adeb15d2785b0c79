//! Inlet: receive provider webhooks, prove them genuine, queue them durably, process each once.
//!
//! The library holds everything but the wiring: signature schemes (pure functions over bytes),
//! the config, the envelope, the pipelines over small ports, and the AWS adapters behind them.

pub mod aws;
pub mod clock;
pub mod config;
pub mod envelope;
pub mod forward;
pub mod ingest;
pub mod lambda;
pub mod local;
pub mod metrics;
pub mod ports;
pub mod process;
pub mod routes;
pub mod secrets;
pub mod signature;
pub mod telemetry;
