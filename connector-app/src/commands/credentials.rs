//! `ml-connector credentials set|list|delete`.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Subcommand, ValueEnum};
use secrecy::SecretString;

use crate::config::Config;
use crate::credentials::{CredentialKey, CredentialStore, KEY_ENV};

/// Which system a credential set is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum System {
    /// SAP Business One Service Layer: the user's password.
    Sap,
    /// Amazon Login with Amazon: client id, client secret, refresh token.
    Amazon,
}

impl System {
    /// Store name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sap => "sap",
            Self::Amazon => "amazon",
        }
    }

    /// Fields, in the order they are asked for (and read from standard input, one per line).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Sap => &["password"],
            Self::Amazon => &["client_id", "client_secret", "refresh_token"],
        }
    }
}

/// Credential commands.
#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Store credentials: prompts without echo on a terminal, else reads one value per line from
    /// standard input (sap: password; amazon: client id, client secret, refresh token).
    Set {
        /// Which system.
        system: System,
    },
    /// Show stored credential sets: names, fields and dates, never values.
    List,
    /// Delete a stored credential set.
    Delete {
        /// Which system.
        system: System,
    },
}

/// Opens the store with the key from `ML_CONNECTOR_KEY` or the key file.
pub(crate) fn open_store(config: &Config) -> Result<CredentialStore> {
    let env = std::env::var(KEY_ENV).ok().map(SecretString::from);
    let key = CredentialKey::load(&config.workspace.key_file, env)?;
    Ok(CredentialStore::open(&config.workspace.credentials, key)?)
}

/// Runs a credentials command.
pub fn run(config_path: &Path, cmd: CredentialsCommand) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    let mut store = open_store(&config)?;
    match cmd {
        CredentialsCommand::Set { system } => {
            let values = read_values(system)?;
            store.set(system.name(), values, chrono::Utc::now())?;
            println!(
                "stored {} credentials in {}",
                system.name(),
                config.workspace.credentials.display()
            );
        }
        CredentialsCommand::List => {
            let list = store.list();
            if list.is_empty() {
                println!("no credentials stored (ml-connector credentials set sap|amazon)");
            }
            for c in list {
                println!(
                    "{:<8} fields: {:<40} updated {}  (created {})",
                    c.name,
                    c.fields.join(", "),
                    c.updated_at,
                    c.created_at
                );
            }
        }
        CredentialsCommand::Delete { system } => {
            if store.delete(system.name())? {
                println!("deleted {} credentials", system.name());
            } else {
                println!("no {} credentials were stored", system.name());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_values(system: System) -> Result<BTreeMap<String, SecretString>> {
    let mut values = BTreeMap::new();
    if std::io::stdin().is_terminal() {
        for field in system.fields() {
            let value = rpassword::prompt_password(format!("{} {field}: ", system.name()))?;
            if value.is_empty() {
                bail!(
                    "no value given for {} `{field}`; nothing was stored",
                    system.name()
                );
            }
            values.insert((*field).to_owned(), SecretString::from(value));
        }
    } else {
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        for field in system.fields() {
            let value = lines
                .next()
                .transpose()?
                .map(|l| l.trim_end_matches(['\r', '\n']).to_owned());
            match value {
                Some(v) if !v.is_empty() => {
                    values.insert((*field).to_owned(), SecretString::from(v));
                }
                _ => bail!(
                    "standard input ended before {} `{field}` (expected one line each: {}); nothing was stored",
                    system.name(),
                    system.fields().join(", ")
                ),
            }
        }
    }
    Ok(values)
}
