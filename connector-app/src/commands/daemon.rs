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
use crate::flows::{Flow, RunOptions};

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
            match engine.run_flow(flow, &RunOptions::default()).await {
                Ok(report) => report.log(),
                Err(e) => error!("{flow} sync failed: {e:#}"),
            }
            next[i] = schedule.next_after(Utc::now());
            info!(%flow, next = %next[i], "next run");
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

/// Completes at SIGINT or SIGTERM.
pub(crate) async fn wait_for_signal() {
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
