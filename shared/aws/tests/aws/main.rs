//! The SDK adapters against mocked AWS answers: the exact requests made and how every answer
//! maps onto the core's ports. One test binary for the crate: each module is a suite.

mod adapters;
mod destinations;
mod dynamo_adapter;
