//! `ml-connector sync orders`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;

use super::engine::{load_writer, runtime};
use crate::cli::EXIT_ATTENTION;
use crate::flows::orders::OrdersReport;
use crate::flows::{Flow, FlowReport, RunOptions};

/// What to sync.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Amazon orders -> SAP A/R invoices.
    Orders {
        /// Search from this date or RFC 3339 time instead of the cursor.
        #[arg(long, value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Plan and check against SAP, post nothing, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// SAP item prices and stock -> Amazon listings (`--dry-run` shows the planned changes).
    Items {
        /// Show the planned changes (SKU, marketplace, price and quantity old -> new), send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Closed Amazon settlements -> SAP incoming payments + journal entries.
    Settlements {
        /// Map and check against SAP, post nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Parses `2026-11-01` or `2026-11-01T10:00:00Z`.
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.to_utc())
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

impl SyncCommand {
    /// The flow, its options and whether to print JSON.
    fn into_run(self) -> (Flow, RunOptions, bool) {
        match self {
            SyncCommand::Orders {
                since,
                dry_run,
                json,
            } => (Flow::Orders, RunOptions { dry_run, since }, json),
            SyncCommand::Settlements { dry_run, json } => (
                Flow::Settlements,
                RunOptions {
                    dry_run,
                    since: None,
                },
                json,
            ),
            SyncCommand::Items { dry_run, json } => (
                Flow::Items,
                RunOptions {
                    dry_run,
                    since: None,
                },
                json,
            ),
        }
    }
}

/// Runs a sync.
pub fn run(config_path: &Path, cmd: SyncCommand) -> Result<ExitCode> {
    let (flow, options, json) = cmd.into_run();
    let command = match flow {
        Flow::Items => "sync items",
        _ => "sync",
    };
    let engine = load_writer(config_path, command)?;
    let (report, signals) = runtime()?.block_on(async {
        let signals = super::signals::Signals::watch(&engine);
        let r = super::signals::until_stopped(&engine, engine.run_flow(flow, &options)).await;
        let _ = engine.sap.logout().await;
        (r, signals)
    });
    let Some(report) = report else {
        eprintln!(
            "stopped by {} while waiting (after {} s): what was sent is recorded; the next run resumes",
            signals.name(),
            super::signals::GRACE.as_secs()
        );
        return Ok(signals.exit_code().unwrap_or(ExitCode::FAILURE));
    };
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match &report {
            FlowReport::Orders(r) => print_report(r, options.dry_run),
            FlowReport::Settlements(r) => super::settlement::print_settlements_report(r),
            FlowReport::Items(r) => super::items::print_plan(r),
            FlowReport::Fba(r) => print!("{}", super::fba::render(r)),
        }
    }
    // Stopped at a document boundary by a signal: the run did not finish its window.
    if let Some(code) = signals.exit_code() {
        eprintln!(
            "stopped by {}: the run ended at a document boundary; the next run resumes",
            signals.name()
        );
        return Ok(code);
    }
    Ok(if report.needs_attention() {
        ExitCode::from(EXIT_ATTENTION)
    } else {
        ExitCode::SUCCESS
    })
}

/// Human summary of an orders sync.
pub fn print_report(r: &OrdersReport, dry_run: bool) {
    if let (Some(a), Some(b)) = (r.window_start, r.window_end) {
        println!(
            "orders updated {} .. {}",
            a.format("%Y-%m-%d %H:%M UTC"),
            b.format("%Y-%m-%d %H:%M UTC")
        );
    }
    // Labels padded to one width so the counts form a column.
    let row = |label: &str, n: u64| println!("  {label:<28}{n:>7}");
    row("seen", r.orders_seen);
    if dry_run {
        row("would post", r.would_post);
    } else {
        row("posted", r.invoices_posted);
        row("found in SAP (not re-sent)", r.found_in_sap);
    }
    row("posted earlier", r.already_posted);
    row("not shipped yet", r.not_yet);
    row("cancelled / not synced", r.never);
    if r.dismissed > 0 {
        row("dismissed by a person", r.dismissed);
    }
    if r.summarised > 0 {
        row("summarised by settlements", r.summarised);
    }
    if r.credit_notes_posted > 0 {
        row("cancelled: credit note posted", r.credit_notes_posted);
    }
    if r.would_credit > 0 {
        row("cancelled: would credit", r.would_credit);
    }
    if r.recovered > 0 {
        // Counted in the rows above too: resolved first, not counted again when read.
        row("resolved from an earlier run", r.recovered);
    }
    for (label, state, list) in [
        ("held", "HELD", &r.held),
        ("failed", "FAILED", &r.failed),
        ("outcome unknown", "UNKNOWN", &r.unknown),
    ] {
        if !list.is_empty() {
            println!("  {:<28}{:>7}", format!("{label}:"), list.len());
            for p in list.iter().take(20) {
                println!("    {}  {}", p.key, p.reason);
            }
            if list.len() > 20 {
                println!(
                    "    ... and {} more (ml-connector audit list --state {state})",
                    list.len() - 20
                );
            }
        }
    }
}
