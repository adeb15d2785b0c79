//! `inlet sign`: the headers a provider would add, so a hand-made delivery verifies.

use crate::Report;
use crate::delivery::{DeliveryArgs, KeyUse};
use crate::error::CliError;
use crate::globals::Globals;
use inlet_signature::{SignError, SignedHeader};
use std::fmt::Write as _;

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// Where to write the signed body, for providers that carry their signature in it (mailgun,
    /// figma).
    #[arg(long, value_name = "FILE")]
    pub body_out: Option<std::path::PathBuf>,
}

pub async fn run(globals: &Globals, args: &SignArgs) -> Result<Report, CliError> {
    let mut prepared = args.delivery.prepare(globals, KeyUse::Sign).await?;
    // A source signs with its first secret: during a rotation that is the new one.
    let key = prepared.keys.first().ok_or(SignError::Unsigned)?.clone();
    if let Some(signed) = prepared
        .scheme
        .sign_body(&prepared.body, &key, prepared.now)
    {
        let Some(path) = &args.body_out else {
            return Err(CliError::Usage(format!(
                "the {} scheme carries its signature in the body: pass --body-out FILE for it",
                prepared.scheme.name()
            )));
        };
        prepared.body = signed?;
        std::fs::write(path, &prepared.body).map_err(CliError::io(path))?;
    }
    let added = prepared
        .scheme
        .sign(&prepared.delivery(), &key, prepared.now)?;
    Ok(Report::ok(header_lines(&added)))
}

/// One `name: value` line per header, in the order the scheme produced them.
pub fn header_lines(headers: &[SignedHeader]) -> String {
    let mut text = String::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        let _ = writeln!(text, "{name}: {value}");
    }
    text
}
