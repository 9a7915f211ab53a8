//! `ml-connector audit list|show`: documents and their append-only audit trail.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Result, anyhow};
use clap::Subcommand;

use super::{load_config, open_ledger};
use crate::cli::write_stdout;
use crate::ledger::{DocFilter, DocRecord, DocState, Ledger};

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
    let mut s = String::new();
    match cmd {
        AuditCommand::List {
            state,
            key,
            limit,
            json,
        } => {
            // The ledger lists in planning order (oldest first), which its other callers rely
            // on; a person wants the latest changes, so sort here and cut after sorting.
            let mut docs = ledger.list(&DocFilter {
                state,
                key_contains: key,
                flow: None,
                limit: None,
            })?;
            newest_first(&mut docs);
            docs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            if json {
                let _ = writeln!(s, "{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for d in &docs {
                    let posted = d.doc_num.map(|n| format!("DocNum {n}")).unwrap_or_default();
                    let _ = writeln!(
                        s,
                        "{:<8} {:<60} {:<14} {}  {}",
                        d.state,
                        d.key,
                        posted,
                        d.updated_at,
                        d.reason.as_deref().unwrap_or("")
                    );
                }
                if docs.is_empty() {
                    let _ = writeln!(s, "no documents match");
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
                let _ = writeln!(
                    s,
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"document": doc, "audit": rows})
                    )?
                );
                write_stdout(&s)?;
                return Ok(ExitCode::SUCCESS);
            }
            match &doc {
                Some(doc) => {
                    let _ = writeln!(
                        s,
                        "{}  ({} {}, flow {})",
                        doc.key, doc.kind, doc.state, doc.flow
                    );
                    if let Some(e) = doc.doc_entry {
                        let _ = writeln!(
                            s,
                            "SAP DocEntry {e}, DocNum {}",
                            doc.doc_num.map(|n| n.to_string()).unwrap_or_default()
                        );
                    }
                    if let Some(r) = &doc.reason {
                        let _ = writeln!(s, "reason: {r}");
                    }
                    let _ = writeln!(s, "attempts: {}", doc.attempts);
                }
                None => {
                    let _ = writeln!(s, "{key}  (audit trail only)");
                }
            }
            for r in &rows {
                let change = match (&r.from_state, &r.to_state) {
                    (Some(f), Some(t)) => format!("{f} -> {t}"),
                    (None, Some(t)) => format!("-> {t}"),
                    _ => r.event.clone(),
                };
                let _ = writeln!(s, "  #{:<6} {}  {:<22} {}", r.id, r.at, change, r.detail);
            }
        }
    }
    write_stdout(&s)?;
    Ok(ExitCode::SUCCESS)
}

/// Latest state change first (`updated_at` is RFC 3339 UTC with milliseconds, so it sorts as
/// text); documents changed in the same millisecond by key.
fn newest_first(docs: &mut [DocRecord]) {
    docs.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.key.cmp(&b.key))
    });
}
