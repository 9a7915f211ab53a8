//! `ml-connector dismiss KEY --reason TEXT`: a person decides a held or refused document is not to
//! be posted (a wrong file imported, a re-issued settlement booked by hand, an order invoiced
//! elsewhere). It stays in the ledger and the audit trail; `replay KEY` re-opens it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{load_config, open_ledger};
use crate::ledger::{WriterLock, dismiss};

/// Dismisses one document.
pub fn run(config_path: &Path, key: &str, reason: &str) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let _lock = WriterLock::acquire(&config.workspace.ledger, "dismiss")?;
    let mut ledger = open_ledger(&config)?;
    let was = dismiss::dismiss(&mut ledger, key, reason).context("dismiss")?;
    println!("{key}: dismissed (was {was}); `ml-connector replay {key}` re-opens it");
    Ok(ExitCode::SUCCESS)
}
