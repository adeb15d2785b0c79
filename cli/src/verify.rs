//! `inlet verify`: the verdict the ingest function would reach on a delivery's signature.

use crate::Report;
use crate::delivery::{DeliveryArgs, KeyUse};
use crate::error::CliError;
use crate::globals::Globals;
use inlet_core::config::Defaults;
use inlet_signature::Window;
use std::fmt::Write as _;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// The replay window in seconds (default: the source's, else the config default of 300).
    #[arg(long, value_name = "SECS")]
    pub tolerance: Option<u64>,
}

pub async fn run(globals: &Globals, args: &VerifyArgs) -> Result<Report, CliError> {
    let prepared = args.delivery.prepare(globals, KeyUse::Verify).await?;
    let window = Window {
        now: prepared.now,
        tolerance_secs: args
            .tolerance
            .or(prepared.tolerance_secs)
            .unwrap_or(Defaults::default().tolerance_secs),
    };
    // With --source every secret is tried, as ingest does, so a rotation can be checked here.
    let verdict = prepared
        .scheme
        .verify(&prepared.delivery(), &prepared.keys, window);
    let mut text = String::new();
    match verdict {
        Ok(verified) => {
            let none = "(none)";
            let _ = writeln!(text, "valid");
            // The id ingest would key the event by: the provider's, else the body's hash.
            let event_id = inlet_core::ingest::usable_event_id(verified.event_id, &prepared.body);
            let _ = writeln!(text, "event_id: {event_id}");
            let _ = writeln!(
                text,
                "event_type: {}",
                verified.event_type.as_deref().unwrap_or(none)
            );
            if let Some(handshake) = &verified.handshake {
                // What ingest would answer instead of queueing the event.
                let _ = writeln!(text, "handshake: answered with {:?}", handshake.body_text());
                if let Some((name, _)) = &handshake.header {
                    let _ = writeln!(text, "handshake header: {name}");
                }
            }
            Ok(Report::ok(text))
        }
        Err(error) => {
            let _ = writeln!(text, "invalid: {}: {error}", error.code());
            Ok(Report {
                stdout: text,
                code: 1,
            })
        }
    }
}
