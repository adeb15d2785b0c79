//! Stopping: the user's signals, and the one stop flag every part of `inlet dev` watches.

use tokio::sync::watch;

/// Resolves on Ctrl-C or SIGTERM.
pub(super) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Resolves once a stop is asked for.
pub(super) async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    // A dropped sender means the command is ending anyway.
    let _ = stopped.wait_for(|stop| *stop).await;
}
