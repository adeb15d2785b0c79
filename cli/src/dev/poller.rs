//! The process pipeline, fed the way Lambda's event source mapping feeds it.

use super::batch_lines::poll_lines;
use super::inspector::Inspector;
use super::output::say;
use super::recorder::Recording;
use super::retries::Retries;
use super::signals::stop_requested;
use inlet_aws::wiring::{Clients, ProcessPipeline};
use inlet_core::actions::router::Router;
use inlet_local::{self as local, Stack, StackSettings};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::watch;

/// Long polling, as the event source mapping does, but short enough that Ctrl-C is prompt.
const POLL_WAIT: Duration = Duration::from_secs(2);

/// What every poll loop shares: the stack, the handler the pipelines run (which keeps the routes'
/// runs for the console's lines and the inspector), the inspector, and the retry settings the
/// lines say the next tries from.
#[derive(Debug)]
pub(super) struct Shared<'a> {
    pub clients: &'a Clients,
    pub settings: &'a StackSettings,
    pub stack: &'a Stack,
    pub recording: &'a Recording<Router>,
    pub inspector: Option<&'a Inspector>,
    pub retries: Retries<'a>,
}

/// Polls with `process` until a stop is asked for, then lets the batch in hand finish. `name`
/// prefixes the loop's lines when there are several loops (`[poller 2]`), so a breaker line
/// says which pipeline's view of the breaker changed.
pub(super) async fn poll_loop(
    shared: &Shared<'_>,
    process: &ProcessPipeline<Arc<Recording<Router>>>,
    name: Option<String>,
    mut stopped: watch::Receiver<bool>,
) {
    let Shared {
        clients,
        settings,
        stack,
        recording,
        inspector,
        retries,
    } = shared;
    let tell = |line: String| match &name {
        Some(name) => say(format!("[{name}] {line}")),
        None => say(line),
    };
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
                    tell(format!(
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
                    tell("poller: the queue answers again".to_owned());
                }
                let now_ms = inlet_signature::clock::epoch_millis(std::time::SystemTime::now());
                let now = now_ms.div_euclid(1000);
                let batch: Vec<&str> = poll
                    .received
                    .iter()
                    .map(|r| r.message_id.as_str())
                    .collect();
                let runs = recording.take_runs_of(&batch);
                let claims = recording.take_claims_of(&batch);
                for line in poll_lines(&poll, retries, now, &runs) {
                    tell(line);
                }
                if let Some(inspector) = inspector {
                    inspector.polled(&poll, retries, now_ms, &runs, &claims);
                }
            }
            Err(error) => {
                if retry_in.is_none() {
                    tell(format!(
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

/// Runs `loops` side by side until every one has ended. They borrow the run's state, so they
/// are not spawned: one task polls them all (they spend their time waiting on the queue).
pub(super) async fn all<'a>(loops: impl IntoIterator<Item = impl Future<Output = ()> + 'a>) {
    let mut pending: Vec<Pin<Box<dyn Future<Output = ()> + 'a>>> = loops
        .into_iter()
        .map(|each| Box::pin(each) as Pin<Box<dyn Future<Output = ()> + 'a>>)
        .collect();
    std::future::poll_fn(|context| {
        pending.retain_mut(|each| each.as_mut().poll(context).is_pending());
        if pending.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn every_loop_runs_to_its_end() {
        let (first, mut first_done) = tokio::sync::oneshot::channel::<()>();
        let ended = std::cell::Cell::new(0);
        let counted = &ended;
        let loops = vec![
            Box::pin(async move {
                // Ends only once the second has sent: both make progress side by side.
                let _ = (&mut first_done).await;
                counted.set(counted.get() + 1);
            }) as Pin<Box<dyn Future<Output = ()>>>,
            Box::pin(async move {
                tokio::task::yield_now().await;
                let _ = first.send(());
                counted.set(counted.get() + 1);
            }),
            Box::pin(async {}),
        ];
        all(loops).await;
        assert_eq!(ended.get(), 2);
    }
}
