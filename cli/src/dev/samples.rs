//! The sample deliveries, each signed with its source's current key and sent to ourselves once.

use super::output::say;
use super::signals::stop_requested;
use crate::payload::{self, Payload};
use crate::sending::{self, now_secs};
use inlet_core::config::Config;
use inlet_signature::Key;
use std::path::Path;
use tokio::sync::watch;

/// Each source's name and the key it signs with (none for unsigned sources).
pub(super) type SourceKeys = [(String, Option<Key>)];

pub(super) async fn send_samples(
    dir: &Path,
    config: &Config,
    keys: &SourceKeys,
    base_url: &str,
    mut stopped: watch::Receiver<bool>,
) {
    let files = match payload::files(dir) {
        Ok(files) => files,
        Err(error) => {
            say(format!("samples: none sent: {error}"));
            return;
        }
    };
    let client = match sending::client(true) {
        Ok(client) => client,
        Err(error) => {
            say(format!("samples: none sent: {error}"));
            return;
        }
    };
    say(format!(
        "sending the {} samples in {} (--no-samples skips them)",
        files.len(),
        dir.display()
    ));
    // Samples of sources another config (`make dev CONFIG=…`) does not have are one line, not
    // one each.
    let mut skipped: Vec<String> = Vec::new();
    for path in files {
        let sending = send_sample(&client, &path, config, keys, base_url);
        tokio::select! {
            () = stop_requested(&mut stopped) => return,
            result = sending => match result {
                Ok(()) => {}
                Err(Unsent::NoSource(source)) => {
                    if !skipped.contains(&source) {
                        skipped.push(source);
                    }
                }
                Err(Unsent::Failed(why)) => say(format!("samples: {}: {why}", path.display())),
            }
        }
    }
    if !skipped.is_empty() {
        say(format!(
            "samples: not sent for sources the config does not have: {}",
            skipped.join(", ")
        ));
    }
}

/// Why a sample was not sent.
enum Unsent {
    /// Its source is not in the config.
    NoSource(String),
    Failed(String),
}

async fn send_sample(
    client: &reqwest::Client,
    path: &Path,
    config: &Config,
    keys: &SourceKeys,
    base_url: &str,
) -> Result<(), Unsent> {
    let failed = |e: &dyn std::fmt::Display| Unsent::Failed(e.to_string());
    let payload = Payload::load(path).map_err(|e| failed(&e))?;
    let Some(source) = config.source(&payload.source) else {
        return Err(Unsent::NoSource(payload.source));
    };
    let key = keys
        .iter()
        .find(|(name, _)| *name == source.name)
        .and_then(|(_, key)| key.as_ref());
    let now = now_secs();
    let rendered = payload.render(now).map_err(Unsent::Failed)?;
    let signed = sending::sign(source, key, &rendered.headers, rendered.body, now)
        .map_err(|e| failed(&e))?;
    let url = sending::webhook_url(base_url, &source.name);
    // The server prints what became of it; only a failure to get an answer is news here.
    sending::post(client, &url, &signed)
        .await
        .map(|_| ())
        .map_err(|e| failed(&e))
}
