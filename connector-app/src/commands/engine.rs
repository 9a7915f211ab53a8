//! Loading the configuration, credentials, ledger and clients into an [`Engine`], and the runtime.

use std::path::Path;

use anyhow::{Context, Result};

use super::credentials::open_store;
use super::{load_config, open_ledger};
use crate::connect::{Secrets, amazon_client, sap_client};
use crate::flows::Engine;

/// Credentials that are not stored or lack a field: a configuration problem (exit 3), with the
/// command that stores them in the message.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct MissingCredentials(anyhow::Error);

/// Everything a connected command needs.
pub fn load_engine(config_path: &Path) -> Result<Engine> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let secrets = Secrets::load(&store).map_err(MissingCredentials)?;
    let sap = sap_client(&config, secrets.sap_password)?;
    let amazon = amazon_client(&config, secrets.lwa)?;
    let ledger = open_ledger(&config)?;
    let engine = Engine::with_ledger(config, ledger, sap, amazon);
    Ok(match progress_bar() {
        Some(bar) => engine.with_progress(bar),
        None => engine,
    })
}

/// A spinner on stderr when it is a terminal (never in pipes, logs or CI).
fn progress_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}").ok()?);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// An engine that may post: it holds the workspace's writer lock.
pub fn load_writer(config_path: &Path, command: &str) -> Result<Engine> {
    Ok(load_engine(config_path)?.lock_writer(command)?)
}

/// A multi-threaded Tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
