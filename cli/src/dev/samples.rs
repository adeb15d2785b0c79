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
    for path in files {
        let sending = send_sample(&client, &path, config, keys, base_url);
        tokio::select! {
            () = stop_requested(&mut stopped) => return,
            result = sending => {
                if let Err(why) = result {
                    say(format!("samples: {}: {why}", path.display()));
                }
            }
        }
    }
}

async fn send_sample(
    client: &reqwest::Client,
    path: &Path,
    config: &Config,
    keys: &SourceKeys,
    base_url: &str,
) -> Result<(), String> {
    let payload = Payload::load(path).map_err(|e| e.to_string())?;
    let Some(source) = config.source(&payload.source) else {
        return Err(format!(
            "not sent: no source `{}` in the config",
            payload.source
        ));
    };
    let key = keys
        .iter()
        .find(|(name, _)| *name == source.name)
        .and_then(|(_, key)| key.as_ref());
    let now = now_secs();
    let rendered = payload.render(now)?;
    let signed = sending::sign(source, key, &rendered.headers, rendered.body, now)
        .map_err(|e| e.to_string())?;
    let url = sending::webhook_url(base_url, &source.name);
    // The server prints what became of it; only a failure to get an answer is news here.
    sending::post(client, &url, &signed)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
