//! `ml-connector fba reconcile [--post]`: Amazon's FBA stock against SAP's FBA warehouse, per
//! item.
//!
//! Read-only without `--post`. With it, each item that differs gets its adjustment as `[fba] post`
//! says: planned HELD for review (`hold`; `replay KEY` posts it) or posted (`post`). Exits 0 when
//! every item agrees (or was adjusted), 2 when an item differs, an adjustment is held or refused,
//! or a summary could not be compared.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use comfy_table::Table;

use super::engine::{load_engine, load_writer, runtime};
use crate::cli::{EXIT_ATTENTION, write_stdout};
use crate::config::FbaPost;
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
    /// Plan the adjustments as `[fba] post` says (held for review, or posted).
    #[arg(long)]
    pub post: bool,
}

/// Runs an `fba` subcommand.
pub fn run(config_path: &Path, cmd: FbaCommand) -> Result<ExitCode> {
    let FbaCommand::Reconcile(args) = cmd;
    let engine = if args.post {
        load_writer(config_path, "fba reconcile --post")?
    } else {
        load_engine(config_path)?
    };
    if !engine.config.fba.enabled {
        anyhow::bail!(
            "no [fba] section in the configuration: name the SAP warehouse that holds the units at Amazon (warehouse = \"FBA\")"
        );
    }
    if args.post && engine.config.fba.post == FbaPost::Off {
        anyhow::bail!(
            "[fba] post is \"off\": set post = \"hold\" (adjustments held for review) or \"post\" to adjust SAP's FBA warehouse"
        );
    }
    let report = runtime()?.block_on(async {
        let r = if args.post {
            engine.sync_fba().await
        } else {
            engine.reconcile_fba().await
        };
        if args.post {
            let _ = engine.sap.logout().await;
        }
        r
    })?;
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
    for l in &r.differences {
        for m in &l.reimbursements {
            let _ = writeln!(
                s,
                "item {}: settlement {} {} {} {} for {} unit(s) of {}{}",
                l.item_code,
                m.settlement_id,
                m.reason,
                m.amount,
                m.currency,
                m.quantity,
                m.sku,
                m.date.map(|d| format!(" on {d}")).unwrap_or_default()
            );
        }
    }
    for a in &r.adjustments {
        let _ = writeln!(
            s,
            "adjustment {} {}: {:+} units: {}",
            a.key,
            a.state,
            a.units.normalize(),
            a.detail
        );
    }
    for p in &r.problems {
        let _ = writeln!(s, "problem {}: {}", p.key, p.reason);
    }
    s
}
