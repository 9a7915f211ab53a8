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
/// named by `[ledger] url` (the tenant is created there if it is new). A PostgreSQL single seller's
/// first write takes the tenant's lock for the process's life: a second process (here or on
/// another machine) writing the same tenant is refused ([`PgLedger::open_single_seller`]).
pub(crate) fn open_ledger(config: &Config) -> Result<Box<dyn Ledger>> {
    match (&config.ledger, config.ledger.connect_url()) {
        (LedgerBackend::Postgres { url, tenant, .. }, Some(connect)) => {
            let context = || {
                format!(
                    "PostgreSQL ledger {} (tenant `{tenant}`)",
                    crate::ledger::postgres::redact_url(url)
                )
            };
            let target = crate::ledger::postgres::Target::parse(&connect)
                .with_context(context)?
                .application_name(&process_name());
            crate::ledger::postgres::ensure_tenant_at(&target, tenant).with_context(context)?;
            Ok(Box::new(
                PgLedger::open_single_seller(&target, tenant).with_context(context)?,
            ))
        }
        _ => Ok(Box::new(
            SqliteLedger::open(&config.workspace.ledger)
                .with_context(|| format!("ledger {}", config.workspace.ledger.display()))?,
        )),
    }
}

/// `ml-connector host:pid`: how this process names its database sessions (shown to a second
/// process refused the tenant's lock, and in `pg_stat_activity`).
pub(crate) fn process_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("ml-connector {host}:{}", std::process::id())
}

/// Where the ledger is, for `status`: the SQLite file, or the database and tenant (no password).
pub(crate) fn ledger_location(config: &Config) -> String {
    match &config.ledger {
        LedgerBackend::Postgres { url, tenant, .. } => format!(
            "{} tenant {tenant}",
            crate::ledger::postgres::redact_url(url)
        ),
        LedgerBackend::Sqlite => config.workspace.ledger.display().to_string(),
    }
}
