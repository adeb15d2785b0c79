//! `inlet verify`: the verdict the ingest function would reach on a delivery's signature, and
//! with --source on its body against the source's schema for its event type.

use crate::Report;
use crate::delivery::{DeliveryArgs, KeyUse};
use crate::error::CliError;
use crate::globals::Globals;
use inlet_core::config::{Defaults, OnInvalid, SourceSchemas};
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
                return Ok(Report::ok(text));
            }
            let conforms = schema_verdict(
                &mut text,
                prepared.schemas.as_ref(),
                verified.event_type.as_deref(),
                &prepared.body,
            );
            Ok(Report {
                stdout: text,
                code: if conforms { 0 } else { 1 },
            })
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

/// The body against the source's schema for `event_type`, as ingest checks it: a `schema:` line
/// (and one per error); `false` when it breaks the schema.
fn schema_verdict(
    text: &mut String,
    schemas: Option<&SourceSchemas>,
    event_type: Option<&str>,
    body: &[u8],
) -> bool {
    let Some(schemas) = schemas else {
        return true;
    };
    let Some(schema) = schemas.for_type(event_type) else {
        if !schemas.is_empty() {
            let _ = writeln!(text, "schema: none for this event type");
        }
        return true;
    };
    let Some(validator) = schema.validator.as_deref() else {
        return true;
    };
    let errors = inlet_core::schema::check(validator, body);
    if errors.is_empty() {
        let _ = writeln!(text, "schema: conforms to {}", schema.path);
        return true;
    }
    let what = match schemas.on_invalid {
        OnInvalid::Reject => "ingest answers 422",
        OnInvalid::DeadLetter => "ingest queues it, process dead-letters it",
    };
    let _ = writeln!(
        text,
        "schema_invalid: breaks {} ({what}: on_invalid = \"{}\")",
        schema.path,
        schemas.on_invalid.as_str()
    );
    for error in &errors {
        let _ = writeln!(text, "  {}: {}", error.place(), error.message);
    }
    false
}
