//! `ml-connector run`: every flow on its schedule until SIGINT / SIGTERM.
//!
//! A signal stops the loop at the next document boundary: the document being sent is finished and
//! recorded, nothing new is started, and the cursor does not move past unfinished work.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use chrono::Utc;
use tracing::{error, info, warn};

use super::engine::{load_writer, runtime};
use super::signals::{Signals, until_stopped};
use crate::flows::{Flow, FlowReport, RunOptions};

/// Runs the daemon.
pub fn run(config_path: &Path) -> Result<ExitCode> {
    let engine = load_writer(config_path, "run")?;
    runtime()?.block_on(async {
        let signals = Signals::watch(&engine);
        // Every registered flow that the configuration turns on, each on its own schedule.
        let flows: Vec<(Flow, &crate::schedule::Schedule)> = Flow::ALL
            .into_iter()
            .filter_map(|f| f.schedule(&engine.config).map(|s| (f, s)))
            .collect();
        let mut next: Vec<_> = flows.iter().map(|_| Utc::now()).collect();
        println!(
            "ml-connector running: {}; stop with Ctrl-C",
            Flow::ALL
                .iter()
                .map(|f| match f.schedule(&engine.config) {
                    Some(s) => format!("{f} {}", describe(s)),
                    None => format!("{f} off (not configured)"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        while !engine.stopping() && !flows.is_empty() {
            let (i, at) = next
                .iter()
                .enumerate()
                .min_by_key(|(_, t)| **t)
                .map(|(i, t)| (i, *t))
                .unwrap_or((0, Utc::now()));
            let now = Utc::now();
            if now < at {
                let wait = (at - now).to_std().unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = engine.stopped() => break,
                }
                continue;
            }
            let (flow, schedule) = flows[i];
            let outcome =
                match until_stopped(&engine, engine.run_flow(flow, &RunOptions::default())).await {
                    Some(Ok(report)) => {
                        report.log();
                        run_line(&report)
                    }
                    // The ledger file is gone: every later run would write nowhere. Stop.
                    Some(Err(e)) if ledger_gone(&e) => return Err(e),
                    Some(Err(e)) => {
                        error!("{flow} sync failed: {e:#}");
                        "failed (see the error above)".to_owned()
                    }
                    None => {
                        warn!(%flow, "stopped by {} while waiting: the next run resumes it", signals.name());
                        break;
                    }
                };
            next[i] = schedule.next_after(Utc::now());
            info!(%flow, next = %next[i], "next run");
            // One line per run at every log level: what it did and when the next one starts.
            println!(
                "{} {flow}: {outcome}; next {}",
                Utc::now().format("%Y-%m-%d %H:%M:%S UTC"),
                next[i].format("%Y-%m-%d %H:%M:%S UTC")
            );
        }
        let _ = engine.sap.logout().await;
        println!("ml-connector stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// A run's figures in a few words, for the daemon's line per run.
fn run_line(report: &FlowReport) -> String {
    let attention = if report.needs_attention() {
        " (needs attention: ml-connector status)"
    } else {
        ""
    };
    let figures = match report {
        FlowReport::Orders(r) => format!(
            "{} seen, {} posted, {} held, {} failed, {} unknown",
            r.orders_seen,
            r.invoices_posted,
            r.held.len(),
            r.failed.len(),
            r.unknown.len()
        ),
        FlowReport::Settlements(r) => format!(
            "{} read, {} posted, {} held, {} failed",
            r.settlements_seen,
            r.settlements_posted,
            r.held.len(),
            r.failed.len()
        ),
        FlowReport::Items(r) => format!(
            "{} listings updated, {} issues",
            r.listings_updated,
            r.issues.len()
        ),
        FlowReport::Fba(r) => format!("{} items differ", r.differences.len()),
    };
    format!("{figures}{attention}")
}

/// A schedule as the configuration says it (`every 15m`, `every 6h`).
fn describe(s: &crate::schedule::Schedule) -> String {
    match s {
        crate::schedule::Schedule::Every(d) => {
            format!("every {}", humantime::format_duration(*d))
        }
        crate::schedule::Schedule::Cron(c) => format!("at `{c}` (UTC)"),
    }
}

/// Whether `e` says the ledger file was deleted or replaced under the running process.
pub(crate) fn ledger_gone(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<crate::ledger::LedgerError>(),
            Some(crate::ledger::LedgerError::Gone(_))
        )
    })
}
