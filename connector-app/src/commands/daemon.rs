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
use crate::flows::items::ItemsOptions;
use crate::flows::orders::SyncOptions;
use crate::flows::settlements::SettlementOptions;

/// The flows the daemon schedules.
#[derive(Debug, Clone, Copy)]
enum Flow {
    Orders,
    Settlements,
    Items,
}

/// Runs the daemon.
pub fn run(config_path: &Path) -> Result<ExitCode> {
    let engine = load_writer(config_path, "run")?;
    runtime()?.block_on(async {
        let stop = engine.stop_handle();
        tokio::spawn(async move {
            wait_for_signal().await;
            warn!("stop requested: finishing the document in flight");
            stop.request();
        });
        let flows = [Flow::Orders, Flow::Settlements, Flow::Items];
        let mut next: Vec<_> = flows.iter().map(|_| Utc::now()).collect();
        println!(
            "ml-connector running: orders {}, settlements {}, items {}; stop with Ctrl-C",
            describe(&engine.config.schedule.orders),
            describe(&engine.config.schedule.settlements),
            if engine.config.items.enabled {
                describe(&engine.config.schedule.items)
            } else {
                "off (no [items] section)".to_owned()
            }
        );
        while !engine.stopping() {
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
            let flow = flows[i];
            let schedule = match flow {
                Flow::Orders => {
                    match engine.sync_orders(&SyncOptions::default()).await {
                        Ok(r) => info!(
                            seen = r.orders_seen,
                            posted = r.invoices_posted,
                            held = r.held.len(),
                            failed = r.failed.len(),
                            unknown = r.unknown.len(),
                            "orders sync done"
                        ),
                        Err(e) => error!("orders sync failed: {e:#}"),
                    }
                    &engine.config.schedule.orders
                }
                Flow::Settlements => {
                    match engine.sync_settlements(&SettlementOptions::default()).await {
                        Ok(r) => info!(
                            seen = r.settlements_seen,
                            posted = r.settlements_posted,
                            held = r.held.len(),
                            failed = r.failed.len(),
                            gaps = r.gaps.len(),
                            "settlements sync done"
                        ),
                        Err(e) => error!("settlements sync failed: {e:#}"),
                    }
                    &engine.config.schedule.settlements
                }
                Flow::Items => {
                    match engine.sync_items(&ItemsOptions::default()).await {
                        Ok(r) => info!(
                            enabled = r.enabled,
                            updated = r.listings_updated,
                            issues = r.issues.len(),
                            "items sync done"
                        ),
                        Err(e) => error!("items sync failed: {e:#}"),
                    }
                    &engine.config.schedule.items
                }
            };
            next[i] = schedule.next_after(Utc::now());
            info!(flow = ?flow, next = %next[i], "next run");
        }
        let _ = engine.sap.logout().await;
        println!("ml-connector stopped");
        Ok(ExitCode::SUCCESS)
    })
}

fn describe(s: &crate::schedule::Schedule) -> String {
    match s {
        crate::schedule::Schedule::Every(d) => format!("every {} s", d.as_secs()),
        crate::schedule::Schedule::Cron(c) => format!("at `{c}` (UTC)"),
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
