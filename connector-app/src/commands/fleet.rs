//! `ml-connector fleet status [--json]`: tenants, lease owners and expiries, last runs, documents
//! needing attention, live workers.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::cli::write_stdout;

/// Where the fleet's database is: every fleet command takes it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The fleet's PostgreSQL ledger (`postgres://user:password@host/database`).
    #[arg(long, env = "ML_CONNECTOR_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

impl DatabaseArgs {
    /// An administration connection (schema migrated).
    pub fn connect(&self) -> Result<::postgres::Client> {
        crate::ledger::postgres::admin(&self.database_url).with_context(|| {
            format!(
                "the fleet's ledger {}",
                crate::ledger::postgres::redact_url(&self.database_url)
            )
        })
    }
}

/// `fleet` subcommands.
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Every tenant with its lease, last runs and documents needing attention; live workers.
    Status {
        /// The database.
        #[command(flatten)]
        db: DatabaseArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `fleet` subcommand. Exit 2 when a tenant has documents needing attention.
pub fn run(cmd: FleetCommand) -> Result<ExitCode> {
    match cmd {
        FleetCommand::Status { db, json } => {
            let mut client = db.connect()?;
            let status = crate::fleet::status::read(&mut client)?;
            if json {
                write_stdout(&format!("{}\n", serde_json::to_string_pretty(&status)?))?;
            } else {
                write_stdout(&status.render())?;
            }
            Ok(
                if status.tenants.iter().any(|t| !t.removed && t.attention > 0) {
                    ExitCode::from(crate::cli::EXIT_ATTENTION)
                } else {
                    ExitCode::SUCCESS
                },
            )
        }
    }
}
