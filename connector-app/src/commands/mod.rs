//! One module per top-level command.

pub mod audit;
pub mod credentials;
pub mod daemon;
pub mod demo;
pub mod dismiss;
pub mod doctor;
pub mod engine;
pub mod fba;
pub mod init;
pub mod items;
pub mod ping;
pub mod replay;
pub mod settlement;
pub mod setup;
pub mod signals;
pub mod status;
pub mod sync;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::ledger::SqliteLedger;

/// Loads the configuration.
pub(crate) fn load_config(path: &std::path::Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

/// Opens the workspace's ledger.
pub(crate) fn open_ledger(config: &Config) -> Result<SqliteLedger> {
    SqliteLedger::open(&config.workspace.ledger)
        .with_context(|| format!("ledger {}", config.workspace.ledger.display()))
}
