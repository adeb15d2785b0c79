//! The `inlet` command as a user runs it. One test binary for the crate: each module is a suite.

mod asyncapi;
mod check;
mod common;
mod fixtures;
mod routes;
mod schema_infer;
mod schemas;
mod send;
mod sign_verify;
