//! `ml-connector init`: a commented configuration template and a fresh encryption key.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::cli::EXIT_CONFIG;
use crate::config::{Config, TEMPLATE};
use crate::credentials::{CredentialError, CredentialKey, KEY_ENV};

/// `init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {}

/// Writes the template (unless the file exists) and creates the key file (unless it exists).
///
/// Refuses (exit 3) to create a key while credentials encrypted with a missing one are stored.
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
    let (key_file, credentials) = (&config.workspace.key_file, &config.workspace.credentials);
    if !key_file.exists() && credentials.exists() {
        if std::env::var_os(KEY_ENV).is_some() {
            println!(
                "the key comes from {KEY_ENV}; no key file created (credentials in {})",
                credentials.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        // A new key could never read them: the stored credentials would be orphaned silently.
        eprintln!(
            "error: key file {key} is missing but {creds} holds credentials encrypted with it; \
             a new key could not read them, so none was created.\n  \
             restore {key} from your backup (or set {KEY_ENV}), \
             or delete {creds} and run `ml-connector init` again, then \
             `ml-connector credentials set sap` and `ml-connector credentials set amazon`",
            key = key_file.display(),
            creds = credentials.display(),
        );
        return Ok(ExitCode::from(EXIT_CONFIG));
    }
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
