//! A fleet worker: leases tenants and runs each leased tenant's flows on its schedule.
//!
//! Fair share, two ways: each leased tenant runs in a task of its own, so a tenant in a long
//! backfill occupies one task, never the worker; and a worker holds at most
//! `ceil(active tenants / live workers)` leases (and `--max-tenants`), handing back the surplus
//! at a run boundary when workers join, so the tenants spread over the fleet.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::lease::{self, Lease};
use super::metrics::Metrics;
use super::tenants;
use crate::config::Config;
use crate::connect::{Secrets, amazon_builder, sap_builder};
use crate::credentials::CredentialKey;
use crate::flows::{Engine, Flow, RunOptions};
use crate::ledger::postgres::Pool;
use crate::ledger::{LedgerError, PgLedger};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The PostgreSQL ledger (with its password, if any).
    pub url: String,
    /// This worker's id (unique in the fleet).
    pub id: String,
    /// Lease lifetime: a dead worker's tenants are taken over this long after its last heartbeat.
    pub lease_ttl: Duration,
    /// Heartbeat (lease renewal and leasing) interval; a third of the lifetime or less.
    pub heartbeat: Duration,
    /// At most this many tenants at once.
    pub max_tenants: usize,
    /// At most this many database connections: one for the lease loop (heartbeats never wait for
    /// a busy tenant), the rest a pool shared by every tenant; at least 2.
    pub max_connections: u32,
}

/// Reads the fleet key the way a workspace command does: `ML_CONNECTOR_KEY`, else the key file.
pub type KeySource = Arc<dyn Fn() -> Result<CredentialKey> + Send + Sync>;

struct Running {
    lease: Lease,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Runs the worker until `shutdown` turns true; then stops every tenant at its next document
/// boundary and hands its leases back.
///
/// The lease loop runs on a thread of its own, so that tenants busy on `tenants` (the runtime
/// their flows run on) never delay a heartbeat past the lease's expiry.
pub async fn run(
    opts: WorkerOptions,
    key: KeySource,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let tenants = tokio::runtime::Handle::current();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("mlc-leases".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the lease loop's runtime")
                .and_then(|rt| rt.block_on(lease_loop(opts, key, metrics, shutdown, tenants)));
            let _ = done_tx.send(result);
        })
        .context("starting the lease loop's thread")?;
    done_rx
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the lease loop's thread panicked")))
}

async fn lease_loop(
    opts: WorkerOptions,
    key: KeySource,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
    tenants: tokio::runtime::Handle,
) -> Result<()> {
    let target = crate::ledger::postgres::Target::parse(&opts.url)
        .context("the fleet's ledger")?
        .application_name(&format!("ml-connector worker {}", opts.id));
    let mut admin = crate::ledger::postgres::admin_at(&target).context("the fleet's ledger")?;
    let pool = target
        .pool(opts.max_connections.saturating_sub(1).max(1))
        .context("the fleet's ledger")?;
    let mut running: BTreeMap<String, Running> = BTreeMap::new();
    info!(worker = %opts.id, "worker started");
    // The first turn only registers: workers started together see each other before leasing,
    // instead of the first one taking every tenant and handing the surplus back.
    let mut registered = false;
    loop {
        lease::heartbeat_worker(&mut admin, &opts.id, opts.lease_ttl)?;
        // Tenants whose task ended (an error loading them, or asked to stop) give their lease back.
        let finished: Vec<String> = running
            .iter()
            .filter(|(_, r)| r.task.is_finished())
            .map(|(t, _)| t.clone())
            .collect();
        for t in finished {
            if let Some(r) = running.remove(&t) {
                let _ = lease::release(&mut admin, &r.lease);
                metrics.forget(&t);
            }
        }
        let held: Vec<Lease> = running.values().map(|r| r.lease.clone()).collect();
        for t in lease::renew(&mut admin, &opts.id, &held, opts.lease_ttl)? {
            warn!(tenant = %t, "lease lost (taken over or tenant removed): stopping its work");
            if let Some(r) = running.remove(&t) {
                let _ = r.stop.send(true);
                metrics.forget(&t);
            }
        }
        let share = lease::fair_share(&mut admin)?.min(opts.max_tenants);
        if running.len() > share {
            // Hand back the surplus at a run boundary: the task stops, then its lease is released.
            for r in running.values().skip(share) {
                let _ = r.stop.send(true);
            }
        }
        let want = if registered {
            share.saturating_sub(running.len())
        } else {
            0
        };
        registered = true;
        for l in lease::acquire(&mut admin, &opts.id, want, opts.lease_ttl)? {
            info!(tenant = %l.tenant, generation = l.fence.generation, "lease taken");
            let (stop, stop_rx) = watch::channel(false);
            let task = tenants.spawn(tenant_task(
                pool.clone(),
                l.clone(),
                key.clone(),
                metrics.clone(),
                stop_rx,
            ));
            running.insert(
                l.tenant.clone(),
                Running {
                    lease: l,
                    stop,
                    task,
                },
            );
        }
        metrics.set_leases(running.keys().cloned().collect());
        if let Err(e) = metrics.refresh_documents(&mut admin) {
            warn!("metrics: {e:#}");
        }
        tokio::select! {
            () = tokio::time::sleep(opts.heartbeat) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    info!(worker = %opts.id, tenants = running.len(), "stopping: finishing the documents in flight");
    for r in running.values() {
        let _ = r.stop.send(true);
    }
    for (_, r) in std::mem::take(&mut running) {
        let _ = r.task.await;
        let _ = lease::release(&mut admin, &r.lease);
    }
    lease::stop_worker(&mut admin, &opts.id)?;
    crate::ledger::postgres::off_runtime(move || drop(admin));
    Ok(())
}

/// A tenant's two clients, each reporting its HTTP attempts to the tenant's API metrics.
pub fn tenant_clients(
    config: &Config,
    secrets: Secrets,
    metrics: &Metrics,
    tenant: &str,
) -> Result<(sap_b1_client::SapClient, sp_api_client::SpApiClient)> {
    let api = metrics.api(tenant);
    let sap = sap_builder(config, secrets.sap_password)?
        .observer(api.sap_observer())
        .build()
        .context("SAP Service Layer client")?;
    let amazon = amazon_builder(config, secrets.lwa)
        .observer(api.amazon_observer())
        .build()
        .context("SP-API client")?;
    Ok((sap, amazon))
}

/// Works one leased tenant until `stop`, a lost lease, or an error loading it.
async fn tenant_task(
    pool: Pool,
    lease: Lease,
    key: KeySource,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) {
    let tenant = lease.tenant.clone();
    if let Err(e) = work_tenant(pool, lease, key, metrics, stop).await {
        error!(%tenant, "tenant stopped: {e:#}");
    }
}

async fn work_tenant(
    pool: Pool,
    lease: Lease,
    key: KeySource,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let tenant = lease.tenant.clone();
    let fleet_key = key()?;
    let loaded = pool.with(|c| tenants::load(c, &tenant, fleet_key))?;
    let ledger = PgLedger::open_pooled(&pool, &tenant, lease.fence.clone())?;
    let (sap, amazon) = tenant_clients(&loaded.config, loaded.secrets, &metrics, &tenant)?;
    let engine = Engine::new(loaded.config, ledger, sap, amazon);
    let flows: Vec<(Flow, crate::schedule::Schedule)> = Flow::ALL
        .into_iter()
        .filter_map(|f| f.schedule(&engine.config).map(|s| (f, s.clone())))
        .collect();
    let mut next: Vec<_> = flows.iter().map(|_| Utc::now()).collect();
    let stopper = engine.stop_handle();
    let mut watch_stop = stop.clone();
    let forward = tokio::spawn(async move {
        let _ = watch_stop.wait_for(|s| *s).await;
        stopper.request();
    });
    while !*stop.borrow() && !flows.is_empty() {
        let (i, at) = next
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| **t)
            .map(|(i, t)| (i, *t))
            .unwrap_or((0, Utc::now()));
        let now = Utc::now();
        if now < at {
            tokio::select! {
                () = tokio::time::sleep((at - now).to_std().unwrap_or_default()) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let (flow, schedule) = &flows[i];
        let started = std::time::Instant::now();
        let result = engine.run_flow(*flow, &RunOptions::default()).await;
        let fenced = result.as_ref().err().is_some_and(|e| {
            e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<LedgerError>(),
                    Some(LedgerError::Fenced(_))
                )
            })
        });
        let error = result.as_ref().err().map(|e| format!("{e:#}"));
        metrics.record_run(&tenant, flow.name(), error.is_none(), started.elapsed());
        match &result {
            Ok(report) => report.log(),
            Err(e) => error!(%tenant, %flow, "sync failed: {e:#}"),
        }
        if fenced {
            warn!(%tenant, "lease lost during a run: its writes were refused; stopping");
            break;
        }
        pool.with(|c| lease::record_run(c, &lease, flow.name(), error.as_deref()))?;
        next[i] = schedule.next_after(Utc::now());
    }
    forward.abort();
    let _ = engine.sap.logout().await;
    drop(engine);
    Ok(())
}
