//! The process pipeline, fed the way Lambda's event source mapping feeds it.

use super::inspector::Inspector;
use super::output::{poll_lines, say};
use super::recorder::Recording;
use super::signals::stop_requested;
use crate::sending::now_secs;
use inlet_aws::wiring::{Clients, ProcessPipeline};
use inlet_core::actions::router::Router;
use inlet_core::config::ProcessSettings;
use inlet_local::{self as local, Stack, StackSettings};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Long polling, as the event source mapping does, but short enough that Ctrl-C is prompt.
const POLL_WAIT: Duration = Duration::from_secs(2);

/// Polls until a stop is asked for, then lets the batch in hand finish. `retry` holds the
/// settings the pipeline's retry backoff comes from; `recording` the handler the pipeline runs,
/// which keeps the action's runs for the console's lines and the inspector.
#[allow(clippy::too_many_arguments)] // the loop's whole context, each borrowed from `dev::run`
pub(super) async fn poll_loop(
    clients: &Clients,
    settings: &StackSettings,
    stack: &Stack,
    process: &ProcessPipeline<Arc<Recording<Router>>>,
    recording: &Recording<Router>,
    inspector: Option<&Inspector>,
    retry: &ProcessSettings,
    mut stopped: watch::Receiver<bool>,
) {
    // How long the batch in hand may take to finish after a stop is asked for.
    let grace = POLL_WAIT + Duration::from_secs(u64::from(settings.process_timeout_secs));
    let mut retry_in: Option<Duration> = None;
    loop {
        if *stopped.borrow() {
            break;
        }
        if let Some(delay) = retry_in {
            tokio::select! {
                () = stop_requested(&mut stopped) => break,
                () = tokio::time::sleep(delay) => {}
            }
            // An emulator that restarted has forgotten everything: creating the stack again
            // is harmless when it is there and brings it back when it is not.
            match local::provision(&clients.sqs, &clients.dynamodb, &clients.s3, settings).await {
                Ok(again) if again.queue_url != stack.queue_url => {
                    say(format!(
                        "poller: the queue is now at {}; restart inlet dev to use it",
                        again.queue_url
                    ));
                }
                Ok(_) => {}
                Err(_) => {
                    retry_in = Some((delay * 2).min(Duration::from_secs(4)));
                    continue;
                }
            }
        }
        let poll = local::poll_once(&clients.sqs, &stack.queue_url, process, settings, POLL_WAIT);
        tokio::pin!(poll);
        let result = tokio::select! {
            result = &mut poll => result,
            () = stop_requested(&mut stopped) => {
                match tokio::time::timeout(grace, &mut poll).await {
                    Ok(result) => result,
                    Err(_) => break,
                }
            }
        };
        match result {
            Ok(poll) => {
                if retry_in.take().is_some() {
                    say("poller: the queue answers again");
                }
                let now = now_secs();
                let runs = recording.take_runs();
                for line in poll_lines(&poll, settings.max_receive_count, retry, now, &runs) {
                    say(line);
                }
                if let Some(inspector) = inspector {
                    inspector.polled(&poll, retry, now, &runs);
                }
            }
            Err(error) => {
                if retry_in.is_none() {
                    say(format!(
                        "poller: {error}; retrying until the emulator answers"
                    ));
                }
                retry_in = Some(retry_in.map_or(Duration::from_millis(250), |d| {
                    (d * 2).min(Duration::from_secs(4))
                }));
            }
        }
    }
}
