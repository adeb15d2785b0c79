//! `inlet providers`: the catalogue of named providers, as the signature crate's registry
//! describes them.

use crate::Report;
use crate::error::CliError;
use clap::Args;
use inlet_signature::registry;
use std::fmt::Write as _;

#[derive(Debug, Args)]
pub struct ProvidersArgs {
    /// Print the catalogue as JSON: one object per provider.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the README's provider table.
    #[arg(long)]
    pub markdown: bool,
}

pub fn run(args: &ProvidersArgs) -> Result<Report, CliError> {
    if args.markdown {
        return Ok(Report::ok(registry::markdown_table()));
    }
    let summaries: Vec<registry::Summary> = registry::all().iter().map(|p| p.summary()).collect();
    if args.json {
        let mut text = serde_json::to_string_pretty(&summaries)
            .map_err(|e| CliError::Usage(format!("the catalogue as JSON: {e}")))?;
        text.push('\n');
        return Ok(Report::ok(text));
    }
    let mut text = String::new();
    for s in &summaries {
        let aliases = if s.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also {})", s.aliases.join(", "))
        };
        let _ = writeln!(text, "{}{aliases}: {}", s.name, s.title);
        let _ = writeln!(
            text,
            "  signature: {}",
            s.signature_header.unwrap_or("(in the body)")
        );
        let _ = writeln!(text, "  signed:    {}", s.signed);
        let _ = writeln!(text, "  secret:    {}", s.key_format);
        if let Some(handshake) = s.handshake {
            let _ = writeln!(text, "  handshake: {handshake}");
        }
        let _ = writeln!(text, "  docs:      {}", s.docs);
    }
    let _ = writeln!(
        text,
        "{} providers; besides them, `hmac`, `token` and `none` are configured in full.",
        summaries.len()
    );
    Ok(Report::ok(text))
}
