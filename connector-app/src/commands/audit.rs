//! `ml-connector audit list|show`: documents and their append-only audit trail.

use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Result, anyhow};
use clap::Subcommand;

use super::{load_config, open_ledger};
use crate::ledger::{DocFilter, DocState, Ledger};

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List documents, newest state first.
    List {
        /// Only documents in this state (PLANNED, SENDING, POSTED, FAILED, UNKNOWN, HELD).
        #[arg(long, value_parser = DocState::from_str)]
        state: Option<DocState>,
        /// Only keys containing this text (an order id, a settlement id).
        #[arg(long)]
        key: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One document and every audit row about it.
    Show {
        /// The document key.
        key: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an audit command.
pub fn run(config_path: &Path, cmd: AuditCommand) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let ledger = open_ledger(&config)?;
    match cmd {
        AuditCommand::List {
            state,
            key,
            limit,
            json,
        } => {
            let docs = ledger.list(&DocFilter {
                state,
                key_contains: key,
                flow: None,
                limit: Some(limit),
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for d in &docs {
                    let posted = d.doc_num.map(|n| format!("DocNum {n}")).unwrap_or_default();
                    println!(
                        "{:<8} {:<60} {:<14} {}  {}",
                        d.state,
                        d.key,
                        posted,
                        d.updated_at,
                        d.reason.as_deref().unwrap_or("")
                    );
                }
                if docs.is_empty() {
                    println!("no documents match");
                }
            }
        }
        AuditCommand::Show { key, json } => {
            // Subjects without a document (a listing's pushes, a flow's cursor) have audit rows only.
            let doc = ledger.get(&key)?;
            let rows = ledger.audit_rows(Some(&key), None)?;
            if doc.is_none() && rows.is_empty() {
                return Err(anyhow!(
                    "no document or audit trail with key `{key}` in the ledger"
                ));
            }
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"document": doc, "audit": rows})
                    )?
                );
                return Ok(ExitCode::SUCCESS);
            }
            match &doc {
                Some(doc) => {
                    println!(
                        "{}  ({} {}, flow {})",
                        doc.key, doc.kind, doc.state, doc.flow
                    );
                    if let Some(e) = doc.doc_entry {
                        println!(
                            "SAP DocEntry {e}, DocNum {}",
                            doc.doc_num.map(|n| n.to_string()).unwrap_or_default()
                        );
                    }
                    if let Some(r) = &doc.reason {
                        println!("reason: {r}");
                    }
                    println!("attempts: {}", doc.attempts);
                }
                None => println!("{key}  (audit trail only)"),
            }
            for r in &rows {
                let change = match (&r.from_state, &r.to_state) {
                    (Some(f), Some(t)) => format!("{f} -> {t}"),
                    (None, Some(t)) => format!("-> {t}"),
                    _ => r.event.clone(),
                };
                println!("  #{:<6} {}  {:<22} {}", r.id, r.at, change, r.detail);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
