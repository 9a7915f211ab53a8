//! `ml-connector replay KEY`: re-plan a document from its stored source and post it if it is ready.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::engine::{load_writer, runtime};
use crate::cli::EXIT_ATTENTION;
use crate::flows::PostOutcome;
use crate::flows::orders::ReplayOutcome;

/// Replays one document.
pub fn run(config_path: &Path, key: &str) -> Result<ExitCode> {
    let engine = load_writer(config_path, "replay")?;
    let outcome = runtime()?.block_on(async {
        let r = engine.replay(key).await;
        let _ = engine.sap.logout().await;
        r
    })?;
    let code = match outcome {
        ReplayOutcome::AlreadyPosted { doc_entry, doc_num } => {
            println!(
                "{key}: already posted (DocEntry {}, DocNum {}); nothing sent",
                fmt(doc_entry),
                fmt(doc_num)
            );
            ExitCode::SUCCESS
        }
        ReplayOutcome::Settlement {
            parts,
            documents,
            already: true,
        } => {
            println!(
                "{key}: already posted ({parts} part(s), {documents} SAP document(s)); nothing sent"
            );
            ExitCode::SUCCESS
        }
        ReplayOutcome::Settlement {
            parts,
            documents,
            already: false,
        } => {
            println!(
                "{key}: posted from the stored settlement file ({parts} part(s), {documents} SAP document(s))"
            );
            ExitCode::SUCCESS
        }
        ReplayOutcome::StillHeld(reason) => {
            println!("{key}: still held: {reason}");
            ExitCode::from(EXIT_ATTENTION)
        }
        ReplayOutcome::Posted(PostOutcome::Posted { doc_entry, doc_num }) => {
            println!(
                "{key}: posted (DocEntry {doc_entry}, DocNum {})",
                fmt(doc_num)
            );
            ExitCode::SUCCESS
        }
        ReplayOutcome::Posted(PostOutcome::FoundExisting {
            doc_entry, doc_num, ..
        }) => {
            println!(
                "{key}: found in SAP (DocEntry {doc_entry}, DocNum {}); not sent again",
                fmt(doc_num)
            );
            ExitCode::SUCCESS
        }
        ReplayOutcome::Posted(PostOutcome::Failed(reason) | PostOutcome::Unknown(reason)) => {
            println!("{key}: {reason}");
            ExitCode::from(EXIT_ATTENTION)
        }
    };
    Ok(code)
}

fn fmt(v: Option<i64>) -> String {
    v.map_or_else(|| "?".to_owned(), |n| n.to_string())
}
