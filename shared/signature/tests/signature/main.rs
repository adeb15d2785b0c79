//! The signature schemes against published vectors, hostile headers and generated deliveries.
//! One test binary for the crate: each module is a suite.

mod adversarial;
mod facts;
mod props;
mod registry;
mod vectors;
