//! `ml-connector settlement preview`: how a settlement file would post, offline, no credentials.
//!
//! Exit codes: 0 = ties out and fully mapped; 2 = held (unmapped categories, rows that do not sum to
//! the total, ...), the output is still printed with the reasons; 1 = unreadable input.

use std::fmt::Write as _;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::engine::{load_engine, runtime};
use crate::cli::EXIT_ATTENTION;
use crate::flows::settlements::{SOURCE_KIND, SettlementOptions, SettlementsReport};
use crate::ledger::Ledger;
use clap::{Subcommand, ValueEnum};
use settlement_mapper::postings::SettlementPostings;
use settlement_mapper::{MappingTable, Status, map_settlement};

/// The sample settlement shown when no file is given (a generated Amazon.de V2 file).
const SAMPLE_NAME: &str = "examples/data/settlement-de-sample.txt";
const SAMPLE: &str = include_str!("../../../examples/data/settlement-de-sample.txt");

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
    let text = match format {
        ReportFormat::Html => crate::flows::settlements::report::to_html(&rec),
        ReportFormat::Csv => crate::flows::settlements::report::to_csv(&rec),
        ReportFormat::Json => serde_json::to_string_pretty(&rec)? + "\n",
    };
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
    let p = &checked.postings;
    println!(
        "settlement {} ({}, total {} {}, {} rows, {})",
        p.settlement_id,
        name,
        p.total_amount,
        p.currency,
        p.rows,
        if p.ties_out {
            "ties out"
        } else {
            "DOES NOT TIE OUT"
        }
    );
    match &checked.plan {
        Ok(plan) => {
            println!(
                "ready: {} incoming payment(s) and {} journal entr{} would be posted",
                plan.payments.len(),
                plan.journal_entries.len(),
                if plan.journal_entries.len() == 1 {
                    "y"
                } else {
                    "ies"
                }
            );
            for n in &plan.notes {
                println!("  note: {n}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            println!("held: {} problem(s)", problems.len());
            for problem in problems {
                println!("  - {problem}");
            }
            Ok(ExitCode::from(EXIT_ATTENTION))
        }
    }
}

fn import(config_path: &Path, file: &Path, dry_run: bool) -> Result<ExitCode> {
    let engine = super::engine::load_writer(config_path, "settlement import")?;
    let bytes = std::fs::read(file)
        .with_context(|| format!("cannot read settlement file {}", file.display()))?;
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

/// Human summary of a settlements run.
pub fn print_settlements_report(r: &SettlementsReport) {
    println!(
        "settlements: {} read, {} posted ({} tied out), {} posted earlier, {} part(s) posted, {} found in SAP",
        r.settlements_seen,
        r.settlements_posted,
        r.settlements_tied_out,
        r.already_posted,
        r.parts_posted,
        r.parts_found_in_sap
    );
    for s in &r.settlements {
        println!(
            "  {} {:>12} {}  {:<14} {} document(s)",
            s.settlement_id, s.total_amount, s.currency, s.state, s.documents
        );
        for n in &s.notes {
            println!("      note: {n}");
        }
    }
    for (label, list) in [
        ("held", &r.held),
        ("failed", &r.failed),
        ("outcome unknown", &r.unknown),
    ] {
        for p in list {
            println!("  {label}: {}  {}", p.key, p.reason);
        }
    }
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
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&postings)? + "\n",
        Format::Table => render_table(&name, &postings),
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A reader that stopped early (`| head`) is not an error of ours.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(match postings.status {
        Status::Ready => ExitCode::SUCCESS,
        Status::Held => ExitCode::from(2),
    })
}

/// How many receipts the table shows before pointing at the JSON.
const RECEIPTS_SHOWN: usize = 25;

fn render_table(name: &str, p: &SettlementPostings) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Settlement {} ({}, {:?} flat file) from {name}",
        p.settlement_id, p.currency, p.layout
    );
    let _ = writeln!(
        s,
        "Period {} to {}, deposit date {}",
        p.start.format("%Y-%m-%d %H:%M UTC"),
        p.end.format("%Y-%m-%d %H:%M UTC"),
        p.deposit_date.format("%Y-%m-%d")
    );
    s.push('\n');

    let _ = writeln!(s, "By category");
    let rows: Vec<Vec<String>> = p
        .by_category
        .iter()
        .map(|c| {
            vec![
                c.transaction_type.clone(),
                c.amount_type.clone(),
                c.amount_description.clone(),
                c.target.clone(),
                c.rows.to_string(),
                c.amount.to_string(),
            ]
        })
        .collect();
    table(
        &mut s,
        &[
            "transaction-type",
            "amount-type",
            "amount-description",
            "posts to",
            "rows",
            "amount",
        ],
        &rows,
        &[4, 5],
    );

    let receipts_total: rust_decimal::Decimal = p.receipts.iter().map(|r| r.amount).sum();
    let _ = writeln!(
        s,
        "\nReceipts: {} order(s), {} {}",
        p.receipts.len(),
        receipts_total,
        p.currency
    );
    let rows: Vec<Vec<String>> = p
        .receipts
        .iter()
        .take(RECEIPTS_SHOWN)
        .map(|r| {
            vec![
                r.order_id.clone(),
                r.marketplace.clone(),
                r.date.to_string(),
                r.rows.to_string(),
                r.amount.to_string(),
            ]
        })
        .collect();
    table(
        &mut s,
        &["order", "marketplace", "date", "rows", "amount"],
        &rows,
        &[3, 4],
    );
    if p.receipts.len() > RECEIPTS_SHOWN {
        let _ = writeln!(
            s,
            "  ... and {} more (use --format json for all)",
            p.receipts.len() - RECEIPTS_SHOWN
        );
    }

    let _ = writeln!(s, "\nJournal entries");
    for je in &p.journal_entries {
        let _ = writeln!(s, "  {}  {}  (ref {})", je.date, je.memo, je.reference);
        let rows: Vec<Vec<String>> = je
            .lines
            .iter()
            .map(|l| {
                let blank = |d: rust_decimal::Decimal| {
                    if d.is_zero() {
                        String::new()
                    } else {
                        d.to_string()
                    }
                };
                vec![
                    l.account.clone(),
                    blank(l.debit),
                    blank(l.credit),
                    l.memo.clone(),
                ]
            })
            .collect();
        let mut sub = String::new();
        table(
            &mut sub,
            &["account", "debit", "credit", "memo"],
            &rows,
            &[1, 2],
        );
        for line in sub.lines() {
            let _ = writeln!(s, "  {line}");
        }
        let _ = writeln!(
            s,
            "    balanced: debits {} = credits {}",
            je.debits(),
            je.credits()
        );
    }

    if !p.unmapped.is_empty() {
        let _ = writeln!(s, "\nUnmapped categories (add rules with --mapping)");
        let rows: Vec<Vec<String>> = p
            .unmapped
            .iter()
            .map(|u| {
                vec![
                    u.transaction_type.clone(),
                    u.amount_type.clone(),
                    u.amount_description.clone(),
                    u.rows.to_string(),
                    u.amount.to_string(),
                    u.first_line.to_string(),
                ]
            })
            .collect();
        table(
            &mut s,
            &[
                "transaction-type",
                "amount-type",
                "amount-description",
                "rows",
                "amount",
                "first line",
            ],
            &rows,
            &[3, 4, 5],
        );
    }
    if !p.warnings.is_empty() {
        let _ = writeln!(s, "\nWarnings");
        for w in &p.warnings {
            let _ = writeln!(s, "  - {w}");
        }
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "Tie-out: {} rows sum to {} against total-amount {} {}: {}",
        p.rows,
        p.rows_sum,
        p.total_amount,
        p.currency,
        if p.ties_out {
            "TIES OUT"
        } else {
            "DOES NOT TIE OUT"
        }
    );
    match &p.deposit {
        Some(d) => {
            let _ = writeln!(
                s,
                "Deposit: {} {} from {} to {} on {}",
                d.amount, p.currency, d.from_account, d.to_account, d.date
            );
        }
        None => {
            let _ = writeln!(
                s,
                "Deposit: none (total is {} {})",
                p.total_amount, p.currency
            );
        }
    }
    match p.status {
        Status::Ready => {
            let _ = writeln!(s, "Status: READY to post");
        }
        Status::Held => {
            let _ = writeln!(s, "Status: HELD");
            for h in &p.held {
                let _ = writeln!(s, "  - {h}");
            }
        }
    }
    s
}

/// Writes an aligned table; `right` lists the columns to right-align.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>], right: &[usize]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        out.push_str("  ");
        let mut parts = Vec::with_capacity(widths.len());
        for (i, cell) in cells.enumerate() {
            parts.push(if right.contains(&i) {
                format!("{cell:>w$}", w = widths[i])
            } else {
                format!("{cell:<w$}", w = widths[i])
            });
        }
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(out, &mut header.iter().copied());
    for row in rows {
        line(out, &mut row.iter().map(String::as_str));
    }
}
