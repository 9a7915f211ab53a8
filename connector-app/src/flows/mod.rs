//! The flows: each reads one side, plans documents into the ledger, and posts them exactly once.
//!
//! [`Engine`] holds what every flow needs (configuration, ledger, both clients) and the exactly-once
//! machinery: a document's key is planned in the ledger first, looked up in SAP before it is sent, moved
//! to SENDING before the POST, and to POSTED / FAILED / UNKNOWN from what SAP answered.

pub mod fba;
pub mod items;
pub mod orders;
mod registry;
pub mod settlements;

pub use registry::{Flow, FlowReport, RunOptions};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use sap_b1_client::SapClient;
use serde::Serialize;
use sp_api_client::SpApiClient;

use crate::config::Config;
use crate::ledger::Ledger;

use crate::posting::MasterChecks;
pub use crate::posting::PostOutcome;

/// Shared state of the flows.
#[derive(Clone)]
pub struct Engine {
    /// Configuration.
    pub config: Arc<Config>,
    ledger: Arc<Mutex<Box<dyn Ledger>>>,
    /// SAP Service Layer.
    pub sap: SapClient,
    /// Amazon SP-API.
    pub amazon: SpApiClient,
    pub(crate) masters: Arc<MasterChecks>,
    pub(crate) currency: Arc<crate::posting::CurrencyCache>,
    pub(crate) keys: Arc<tokio::sync::OnceCell<Option<crate::posting::KeyTable>>>,
    stop: StopHandle,
    progress: Option<indicatif::ProgressBar>,
    writer: Option<Arc<crate::ledger::WriterLock>>,
}

/// Asks the flows to stop at the next document boundary.
#[derive(Clone, Default)]
pub struct StopHandle {
    flag: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

impl StopHandle {
    /// Requests a stop.
    pub fn request(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether a stop was requested.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

impl Engine {
    /// Composes the engine over any ledger backend (SQLite, or a tenant's PostgreSQL ledger).
    pub fn new(
        config: Config,
        ledger: impl Ledger + 'static,
        sap: SapClient,
        amazon: SpApiClient,
    ) -> Self {
        Self::with_ledger(config, Box::new(ledger), sap, amazon)
    }

    /// [`Engine::new`] over a ledger chosen at run time.
    pub fn with_ledger(
        config: Config,
        ledger: Box<dyn Ledger>,
        sap: SapClient,
        amazon: SpApiClient,
    ) -> Self {
        Self {
            config: Arc::new(config),
            ledger: Arc::new(Mutex::new(ledger)),
            sap,
            amazon,
            masters: Arc::new(MasterChecks::default()),
            currency: Arc::default(),
            keys: Arc::default(),
            stop: StopHandle::default(),
            progress: None,
            writer: None,
        }
    }

    /// Takes the workspace's single-writer lock for this engine's lifetime: a second process that
    /// would post for the same workspace is refused with who holds it.
    pub fn lock_writer(mut self, command: &str) -> Result<Self, crate::ledger::LockError> {
        let lock = crate::ledger::WriterLock::acquire(&self.config.workspace.ledger, command)?;
        self.writer = Some(Arc::new(lock));
        Ok(self)
    }

    /// Shows progress of long work on this bar (the CLI passes one when stderr is a terminal).
    pub fn with_progress(mut self, bar: indicatif::ProgressBar) -> Self {
        self.progress = Some(bar);
        self
    }

    /// Updates the progress line, if there is one.
    pub fn progress(&self, message: impl FnOnce() -> String) {
        if let Some(bar) = &self.progress {
            bar.set_message(message());
        }
    }

    /// A handle that stops the flows at the next document boundary.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Whether a stop was requested.
    pub fn stopping(&self) -> bool {
        self.stop.requested()
    }

    /// Completes when a stop is requested.
    pub async fn stopped(&self) {
        let notified = self.stop.notify.notified();
        if self.stopping() {
            return;
        }
        notified.await;
    }

    /// The ledger, locked for a short, synchronous operation (never held across an await).
    pub fn ledger(&self) -> MutexGuard<'_, Box<dyn Ledger>> {
        self.ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A record that needs a person, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Ledger key.
    pub key: String,
    /// Why.
    pub reason: String,
}
