//! `ml-connector fba reconcile`: Amazon's FBA stock against SAP's FBA warehouse, per item.
//!
//! Read-only. Exits 0 when every item agrees, 2 when an item differs or a summary could not be
//! compared.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use comfy_table::Table;

use super::engine::{load_engine, runtime};
use crate::cli::{EXIT_ATTENTION, write_stdout};
use crate::flows::fba::FbaReport;

/// `fba` subcommands.
#[derive(Debug, Subcommand)]
pub enum FbaCommand {
    /// Compare Amazon's FBA inventory with SAP's FBA warehouse and list the difference per item.
    Reconcile(ReconcileArgs),
}

/// `fba reconcile` arguments.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs an `fba` subcommand.
pub fn run(config_path: &Path, cmd: FbaCommand) -> Result<ExitCode> {
    let FbaCommand::Reconcile(args) = cmd;
    let engine = load_engine(config_path)?;
    if !engine.config.fba.enabled {
        anyhow::bail!(
            "no [fba] section in the configuration: name the SAP warehouse that holds the units at Amazon (warehouse = \"FBA\")"
        );
    }
    let report = runtime()?.block_on(engine.reconcile_fba())?;
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        render(&report)
    };
    write_stdout(&text)?;
    Ok(if report.needs_attention() {
        ExitCode::from(EXIT_ATTENTION)
    } else {
        ExitCode::SUCCESS
    })
}

/// The text report: totals, then one row per item that differs.
pub fn render(r: &FbaReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "FBA stock of {} against SAP warehouse {}: {} SKUs read, {} items agree, {} differ",
        r.marketplace,
        r.warehouse,
        r.skus_read,
        r.matched,
        r.differences.len()
    );
    let _ = writeln!(
        s,
        "units at Amazon {}, in SAP {}",
        r.amazon_on_hand, r.sap_in_stock
    );
    if !r.differences.is_empty() {
        let mut table = Table::new();
        table.load_style(comfy_table::presets::NOTHING).set_header([
            "ITEM",
            "SKUS",
            "AMAZON",
            "INBOUND",
            "SAP",
            "NOT INVOICED",
            "DIFFERENCE",
        ]);
        for l in &r.differences {
            table.add_row([
                l.item_code.clone(),
                l.skus.join(" "),
                l.amazon_on_hand.to_string(),
                l.amazon_inbound.to_string(),
                l.sap_in_stock.normalize().to_string(),
                l.sap_unbooked.to_string(),
                format!("{:+}", l.difference.normalize()),
            ]);
        }
        for column in table.column_iter_mut() {
            column.set_padding((0, 2));
        }
        let _ = writeln!(s, "{}", table.to_string().trim_end());
    }
    for p in &r.problems {
        let _ = writeln!(s, "problem {}: {}", p.key, p.reason);
    }
    s
}
