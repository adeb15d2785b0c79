//! Test support shared by every Inlet crate's tests, the end-to-end suites and the soak and
//! coldstart harnesses: one copy of each helper, so no two suites drift apart.
//!
//! - [`stack`]: an emulator (moto server) on a free loopback port, SDK clients pointed at it,
//!   unique resource names, scratch directories, the built `inlet` command and `inlet dev`.
//! - [`proc`]: a running process's peak memory and CPU time, from `/proc`.
//! - [`target`]: a loopback forward target that records every request and answers as scripted.
//! - [`browser`]: a headless Chromium with a fresh profile, driven over the DevTools protocol,
//!   for the pages `inlet dev` serves; killed with all its processes when dropped.
//! - [`providers`]: the schemes under test, keys, signed deliveries, and where each scheme keeps
//!   its signature and timestamp — read from `inlet-signature`, not copied.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod browser;
pub mod proc;
pub mod providers;
pub mod serial;
pub mod stack;
pub mod target;

pub use stack::*;
