//! `ml-connector settlement preview|check|report|import`: how a settlement file would post (offline,
//! no credentials), what SAP is missing for it, its reconciliation, and posting a downloaded file.
//!
//! Exit codes of `preview` and `import`: 0 = ties out and fully mapped (posted); 2 = held (unmapped
//! categories, rows that do not sum to the total, ...), the output is still printed with the
//! reasons; 1 = unreadable input (missing file, not a settlement file).
//!
//! This module handles the commands; [`render`] turns their results into text and JSON.

pub mod render;

use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::engine::{load_engine, runtime};
use crate::cli::EXIT_ATTENTION;
use crate::flows::settlements::{SOURCE_KIND, SettlementOptions};
use crate::ledger::Ledger;
use clap::{Subcommand, ValueEnum};
use settlement_mapper::{MappingTable, Status, map_settlement};

pub use render::print_settlements_report;

/// The sample settlement shown when no file is given (a generated Amazon.de V2 file).
const SAMPLE_NAME: &str = "examples/data/settlement-de-sample.txt";
const SAMPLE: &str = include_str!("../../../../examples/data/settlement-de-sample.txt");

/// Settlement commands.
#[derive(Debug, Subcommand)]
pub enum SettlementCommand {
    /// Map a settlement flat file (V2 or V1) and show receipts, journal entries and the tie-out.
    Preview {
        /// The settlement file; without it, a bundled sample settlement is previewed.
        file: Option<PathBuf>,
        /// A mapping table (TOML) extending the shipped defaults.
        #[arg(long, value_name = "FILE.toml")]
        mapping: Option<PathBuf>,
        /// Output format: a table for people or JSON for tools.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Check a settlement against SAP without posting: lists every unmapped category, missing or
    /// inactive account, unknown SKU and order without an invoice.
    Check {
        /// A settlement id already in the ledger, or a settlement file.
        settlement: String,
    },
    /// The reconciliation of a posted settlement: deposit vs total, the waterfall from sales to
    /// the deposit, every SAP document, receipts vs invoices, the clearing balance.
    Report {
        /// The settlement id.
        settlement_id: String,
        /// html (self-contained page), csv or json.
        #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
        format: ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Post a settlement from a downloaded file (older than Amazon's 90 days, or re-issued)
    /// through the same checks and ledger as `sync settlements`.
    Import {
        /// The settlement flat file (V2 or V1).
        file: PathBuf,
        /// Check and plan, post nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Reconciliation report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained page with a waterfall chart, readable printed.
    Html,
    /// Sections of comma-separated values.
    Csv,
    /// One JSON document.
    Json,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// One JSON document (the contract other tools read).
    Json,
}

/// Runs a settlement command.
pub fn run(config_path: &Path, cmd: SettlementCommand) -> Result<ExitCode> {
    match cmd {
        SettlementCommand::Preview {
            file,
            mapping,
            format,
        } => preview(file, mapping, format),
        SettlementCommand::Check { settlement } => check(config_path, &settlement),
        SettlementCommand::Import { file, dry_run } => import(config_path, &file, dry_run),
        SettlementCommand::Report {
            settlement_id,
            format,
            output,
        } => report(config_path, &settlement_id, format, output),
    }
}

fn report(
    config_path: &Path,
    settlement_id: &str,
    format: ReportFormat,
    output: Option<PathBuf>,
) -> Result<ExitCode> {
    let engine = load_engine(config_path)?;
    let rec = runtime()?.block_on(async {
        let r = engine.reconcile_settlement(settlement_id).await;
        let _ = engine.sap.logout().await;
        r
    })?;
    let text = render::report(&rec, format)?;
    match output {
        Some(path) => {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "wrote {} (settlement {}, {})",
                path.display(),
                settlement_id,
                if rec.reconciled {
                    "reconciled"
                } else {
                    "NOT reconciled"
                }
            );
        }
        None => print!("{text}"),
    }
    Ok(if rec.reconciled {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_ATTENTION)
    })
}

/// The bytes of a settlement given as a file path or as an id stored in the ledger.
fn settlement_bytes(engine: &crate::flows::Engine, settlement: &str) -> Result<(String, Vec<u8>)> {
    let path = Path::new(settlement);
    if path.is_file() {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok((path.display().to_string(), bytes));
    }
    let source = engine.ledger().latest_source(SOURCE_KIND, settlement)?.ok_or_else(|| {
        anyhow::anyhow!("`{settlement}` is neither a file nor a settlement in the ledger (sync settlements first)")
    })?;
    Ok((format!("settlement {settlement}"), source.body))
}

fn check(config_path: &Path, settlement: &str) -> Result<ExitCode> {
    let engine = load_engine(config_path)?;
    let (name, bytes) = settlement_bytes(&engine, settlement)?;
    let checked = runtime()?.block_on(async {
        let r = engine.check_settlement(&bytes, &name).await;
        let _ = engine.sap.logout().await;
        r
    })?;
    print!("{}", render::check(&name, &checked));
    Ok(if checked.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_ATTENTION)
    })
}

fn import(config_path: &Path, file: &Path, dry_run: bool) -> Result<ExitCode> {
    let engine = super::engine::load_writer(config_path, "settlement import")?;
    let bytes = std::fs::read(file)
        .with_context(|| format!("cannot read settlement file {}", file.display()))?;
    // A file that is not a settlement is a failure of this command (exit 1, as `preview`), not a
    // held document that needs attention.
    map_settlement(bytes.as_slice(), &engine.settlement_table()?)
        .with_context(|| format!("settlement file {}", file.display()))?;
    let report = runtime()?.block_on(async {
        let r = engine
            .import_settlement(
                &bytes,
                &file.display().to_string(),
                &SettlementOptions { dry_run },
            )
            .await;
        let _ = engine.sap.logout().await;
        r
    })?;
    print_settlements_report(&report);
    Ok(if report.needs_attention() {
        ExitCode::from(EXIT_ATTENTION)
    } else {
        ExitCode::SUCCESS
    })
}

fn preview(file: Option<PathBuf>, mapping: Option<PathBuf>, format: Format) -> Result<ExitCode> {
    let table = match &mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read mapping file {}", path.display()))?;
            MappingTable::from_toml(&text)
                .with_context(|| format!("mapping file {}", path.display()))?
        }
        None => MappingTable::default_table(),
    };
    let (name, input): (String, Box<dyn Read>) = match &file {
        Some(path) => (
            path.display().to_string(),
            Box::new(
                std::fs::File::open(path)
                    .with_context(|| format!("cannot open settlement file {}", path.display()))?,
            ),
        ),
        None => (SAMPLE_NAME.to_owned(), Box::new(SAMPLE.as_bytes())),
    };
    let postings = map_settlement(BufReader::with_capacity(1 << 18, input), &table)
        .with_context(|| name.clone())?;
    let mut out = std::io::stdout().lock();
    let written = match format {
        Format::Json => render::preview_json(&postings, &mut out),
        Format::Table => out.write_all(render::preview(&name, &postings).as_bytes()),
    };
    match written.and_then(|()| out.flush()) {
        // A reader that stopped early (`| head`) is not an error of ours.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    let status = postings.status;
    // The process ends with this command: freeing a large settlement's receipts one by one takes
    // longer than writing them, and the system takes the memory back at once.
    std::mem::forget(postings);
    Ok(match status {
        Status::Ready => ExitCode::SUCCESS,
        Status::Held => ExitCode::from(2),
    })
}
