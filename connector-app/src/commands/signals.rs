//! SIGINT / SIGTERM for the commands that run flows (`sync`, `run`).
//!
//! The first signal asks the flows to stop at the next document boundary: the document being sent
//! is finished and recorded, nothing new starts, cursors do not move past unfinished work. A flow
//! that is not at a boundary within [`GRACE`] (waiting out an Amazon 429 back-off, a slow page) is
//! dropped: whatever it had sent is SENDING in the ledger and is looked up in SAP by its key on the
//! next run, exactly as after a crash, so nothing is posted twice.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use tracing::warn;

use crate::flows::Engine;

/// How long a flow may take to reach a document boundary after a stop signal.
pub const GRACE: Duration = Duration::from_secs(5);

/// The signal that asked this process to stop, if any.
#[derive(Clone, Default)]
pub struct Signals {
    received: Arc<AtomicI32>,
}

impl Signals {
    /// Starts watching SIGINT and SIGTERM (call inside the runtime): the first one requests the
    /// engine's stop.
    pub fn watch(engine: &Engine) -> Self {
        let signals = Self::default();
        let received = Arc::clone(&signals.received);
        let stop = engine.stop_handle();
        tokio::spawn(async move {
            let signal = wait_for_signal().await;
            received.store(signal, Ordering::SeqCst);
            warn!(
                signal = name(signal),
                "stop requested: finishing the document in flight (at most {} s)",
                GRACE.as_secs()
            );
            stop.request();
        });
        signals
    }

    /// The signal number received, if any.
    pub fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }

    /// The conventional exit code of a command a signal stopped (128 + the signal's number).
    pub fn exit_code(&self) -> Option<ExitCode> {
        self.received()
            .map(|n| ExitCode::from(u8::try_from(128 + n).unwrap_or(u8::MAX)))
    }

    /// The signal's name for messages.
    pub fn name(&self) -> &'static str {
        self.received().map_or("a signal", name)
    }
}

/// Runs `work` until it ends, or until [`GRACE`] after a stop was requested (then `None`).
pub async fn until_stopped<F: Future>(engine: &Engine, work: F) -> Option<F::Output> {
    tokio::select! {
        out = work => Some(out),
        () = async {
            engine.stopped().await;
            tokio::time::sleep(GRACE).await;
        } => None,
    }
}

fn name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// Waits for SIGINT or SIGTERM; returns its number.
pub(crate) async fn wait_for_signal() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return 2;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => 2,
            _ = term.recv() => 15,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        2
    }
}
