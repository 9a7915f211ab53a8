//! `ml-connector tenants add|list|remove|show`: the sellers a fleet works.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::fleet::DatabaseArgs;
use crate::cli::write_stdout;
use crate::credentials::{CredentialKey, KEY_ENV};
use crate::fleet::tenants;

/// The fleet's encryption key: `ML_CONNECTOR_KEY`, else this key file. It seals every tenant's
/// credentials; it is never stored in the database.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// The fleet's key file (64 hex characters; `ML_CONNECTOR_KEY` overrides it).
    #[arg(long, env = "ML_CONNECTOR_KEY_FILE", default_value = "fleet.key")]
    pub key_file: PathBuf,
}

impl KeyArgs {
    /// Loads the key.
    pub fn load(&self) -> Result<CredentialKey> {
        let env = std::env::var(KEY_ENV).ok().map(secrecy::SecretString::from);
        Ok(CredentialKey::load(&self.key_file, env)?)
    }
}

/// `tenants` subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Add a tenant from a seller's workspace: its configuration file, and its credentials re-sealed
    /// with the fleet's key.
    Add {
        /// Tenant id (a-z, 0-9, `-`, `_`).
        id: String,
        /// The seller's `ml-connector.toml` (its credentials are read with its own key).
        #[arg(long = "from", value_name = "CONFIG")]
        from: PathBuf,
        /// Replace the configuration and credentials of an existing (or removed) tenant.
        #[arg(long)]
        replace: bool,
        /// The database.
        #[command(flatten)]
        db: DatabaseArgs,
        /// The fleet's key.
        #[command(flatten)]
        key: KeyArgs,
    },
    /// List the tenants.
    List {
        /// The database.
        #[command(flatten)]
        db: DatabaseArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a tenant: workers stop its work; its ledger rows and audit trail are kept.
    Remove {
        /// Tenant id.
        id: String,
        /// The database.
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Show a tenant and its configuration (never its credentials).
    Show {
        /// Tenant id.
        id: String,
        /// The database.
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// Runs a `tenants` subcommand.
pub fn run(cmd: TenantsCommand) -> Result<ExitCode> {
    match cmd {
        TenantsCommand::Add {
            id,
            from,
            replace,
            db,
            key,
        } => {
            crate::config::ledger::valid_tenant_id(&id).map_err(anyhow::Error::msg)?;
            let tenant = tenants::from_workspace(&from, key.load()?, &id)?;
            let mut client = db.connect()?;
            tenants::add(&mut client, &id, &tenant, replace)?;
            write_stdout(&format!(
                "tenant `{id}` added; workers pick it up at their next heartbeat\n"
            ))?;
        }
        TenantsCommand::List { db, json } => {
            let list = tenants::list(&mut db.connect()?)?;
            if json {
                write_stdout(&format!("{}\n", serde_json::to_string_pretty(&list)?))?;
            } else {
                let mut table = comfy_table::Table::new();
                table.set_header(["tenant", "seller", "SAP company", "added", "removed"]);
                for t in &list {
                    table.add_row([
                        t.id.clone(),
                        t.seller_id.clone(),
                        t.sap_company.clone(),
                        t.created_at.clone(),
                        t.removed_at.clone().unwrap_or_default(),
                    ]);
                }
                write_stdout(&format!("{table}\n"))?;
            }
        }
        TenantsCommand::Remove { id, db } => {
            let was_active = tenants::remove(&mut db.connect()?, &id)?;
            write_stdout(&if was_active {
                format!("tenant `{id}` removed; its worker stops its work at its next heartbeat\n")
            } else {
                format!("tenant `{id}` was removed already\n")
            })?;
        }
        TenantsCommand::Show { id, db } => {
            let mut client = db.connect()?;
            let info = tenants::list(&mut client)?
                .into_iter()
                .find(|t| t.id == id)
                .ok_or_else(|| anyhow::anyhow!("no tenant `{id}`"))?;
            let config = tenants::config_text(&mut client, &id)?;
            let files: String = tenants::stored_files(&mut client, &id)?
                .iter()
                .map(|(name, len)| format!("\nfile {name} ({len} bytes, stored)"))
                .collect();
            write_stdout(&format!(
                "tenant {}\nseller {}\nSAP company {}\nadded {}{}{files}\n\n{config}",
                info.id,
                info.seller_id,
                info.sap_company,
                info.created_at,
                info.removed_at
                    .map(|r| format!("\nremoved {r}"))
                    .unwrap_or_default()
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
