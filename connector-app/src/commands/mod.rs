//! One module per top-level command.

pub mod audit;
pub mod credentials;
pub mod daemon;
pub mod demo;
pub mod dismiss;
pub mod doctor;
pub mod engine;
pub mod fba;
pub mod fleet;
pub mod init;
pub mod items;
pub mod ping;
pub mod replay;
pub mod settlement;
pub mod setup;
pub mod signals;
pub mod status;
pub mod sync;
pub mod tenants;
pub mod worker;

use anyhow::{Context, Result};

use crate::config::{Config, LedgerBackend};
use crate::ledger::{Ledger, PgLedger, SqliteLedger};

/// Loads the configuration.
pub(crate) fn load_config(path: &std::path::Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

/// Opens the workspace's ledger: its SQLite file, or its tenant's rows in the PostgreSQL ledger
/// named by `[ledger] url` (the tenant is created there if it is new).
pub(crate) fn open_ledger(config: &Config) -> Result<Box<dyn Ledger>> {
    match (&config.ledger, config.ledger.connect_url()) {
        (LedgerBackend::Postgres { url, tenant }, Some(connect)) => {
            let context = || {
                format!(
                    "PostgreSQL ledger {} (tenant `{tenant}`)",
                    crate::ledger::postgres::redact_url(url)
                )
            };
            crate::ledger::postgres::ensure_tenant(&connect, tenant).with_context(context)?;
            Ok(Box::new(
                PgLedger::open(&connect, tenant, None).with_context(context)?,
            ))
        }
        _ => Ok(Box::new(
            SqliteLedger::open(&config.workspace.ledger)
                .with_context(|| format!("ledger {}", config.workspace.ledger.display()))?,
        )),
    }
}
