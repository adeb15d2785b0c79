//! Inlet: receive provider webhooks, prove them genuine, queue them durably, process each once.
//!
//! The library holds everything but the wiring: signature schemes (pure functions over bytes),
//! the config, the envelope, the pipelines over small ports, and the AWS adapters behind them.

pub mod clock;
pub mod signature;
