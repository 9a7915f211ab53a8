//! `ml-connector init`: a commented configuration template and a fresh encryption key.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::config::{Config, TEMPLATE};
use crate::credentials::{CredentialError, CredentialKey};

/// `init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {}

/// Writes the template (unless the file exists) and creates the key file (unless it exists).
pub fn run(config_path: &Path, _args: InitArgs) -> Result<ExitCode> {
    if config_path.exists() {
        println!(
            "{} exists already; it was left as it is",
            config_path.display()
        );
    } else {
        if let Some(dir) = config_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(config_path, TEMPLATE)
            .with_context(|| format!("cannot write {}", config_path.display()))?;
        println!(
            "wrote {} (edit it: SAP base URL, company, user, Amazon seller and marketplaces)",
            config_path.display()
        );
    }
    let config = Config::load(config_path)?;
    match CredentialKey::create_file(&config.workspace.key_file) {
        Ok(_) => println!(
            "created key file {} (mode 0600; back it up: credentials cannot be read without it)",
            config.workspace.key_file.display()
        ),
        Err(CredentialError::KeyExists(path)) => {
            println!("key file {} exists already; kept", path.display())
        }
        Err(e) => return Err(e.into()),
    }
    println!(
        "next: ml-connector credentials set sap; ml-connector credentials set amazon; ml-connector ping"
    );
    Ok(ExitCode::SUCCESS)
}
