//! What a run prints: a dry run's list, or what it sent; each ends with what reading the window
//! came to.

use super::select::Selected;
use std::fmt::Write as _;

/// The last line: what reading the window came to, then `sent`.
fn summary(text: &mut String, selected: &Selected, sent: &str) {
    let done = selected
        .already_done
        .map(|count| format!("already done {count}, "))
        .unwrap_or_default();
    let _ = writeln!(
        text,
        "{} object(s) read ({} skipped): found {}, filtered out {}, duplicates {}, {done}{sent}",
        selected.objects,
        selected.skipped.len(),
        selected.found,
        selected.filtered_out,
        selected.duplicates,
    );
}

/// A dry run's text: what it would send, a line per event.
pub(super) fn dry_run(
    text: &mut String,
    selected: &Selected,
    bucket: &str,
    prefix: &str,
    window: &str,
) {
    let _ = writeln!(
        text,
        "would send {} event(s) of s3://{}/{} for {window} (dry run):",
        selected.events.len(),
        bucket,
        prefix
    );
    for event in &selected.events {
        let _ = writeln!(
            text,
            "  {}  {}  {}  {}",
            event.key,
            event.source,
            event.event_type.as_deref().unwrap_or("-"),
            event.received_at
        );
    }
    let would = format!("would send {}", selected.events.len());
    summary(text, selected, &would);
}

/// A run's text: its id and what it sent, and did not (`not_sent` events).
pub(super) fn sent(text: &mut String, id: &str, selected: &Selected, sent: usize, not_sent: usize) {
    let _ = write!(text, "replay {id}: ");
    let sent_text = if not_sent == 0 {
        format!("sent {sent}")
    } else {
        format!("sent {sent}, not sent {not_sent} (run again with --id {id} to finish)")
    };
    summary(text, selected, &sent_text);
}
