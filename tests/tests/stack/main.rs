//! The tiers that need the AWS emulator or the built `inlet`: integration against moto, the
//! whole pipeline end to end through `inlet dev`, faults, hostile input over raw TCP, and the
//! template's invariants. One test binary for the crate: each module is a suite.

mod bucket;
mod claims;
mod destinations;
mod dev_rig;
mod dlq;
mod docs;
mod e2e;
mod faults;
mod guards;
mod hostile;
mod inspector;
mod inspector_copies;
mod inspector_timeline;
mod integration;
mod objects;
mod outages;
mod providers;
mod replay;
mod routing;
mod schemas;
mod template;
