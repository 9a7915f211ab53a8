//! `ml-connector worker`: lease tenants from the fleet's PostgreSQL ledger and run their flows,
//! until SIGINT / SIGTERM (each tenant finishes its document in flight; leases are handed back).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use tracing::warn;

use super::engine::runtime;
use super::fleet::DatabaseArgs;
use super::tenants::KeyArgs;
use crate::fleet::metrics::Metrics;
use crate::fleet::worker::{self, WorkerOptions};

/// Arguments of `worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The database.
    #[command(flatten)]
    db: DatabaseArgs,
    /// The fleet's key.
    #[command(flatten)]
    key: KeyArgs,
    /// This worker's id (default: host name and process id).
    #[arg(long)]
    id: Option<String>,
    /// Lease lifetime: a dead worker's tenants are taken over this long after its last heartbeat.
    #[arg(long, default_value = "30s", value_parser = crate::schedule::parse_duration)]
    lease_ttl: Duration,
    /// Heartbeat interval (default: a third of the lease lifetime).
    #[arg(long, value_parser = crate::schedule::parse_duration)]
    heartbeat: Option<Duration>,
    /// At most this many tenants at once.
    #[arg(long, default_value_t = 1000)]
    max_tenants: usize,
    /// At most this many PostgreSQL connections, however many tenants: one for the lease loop,
    /// the rest a pool shared by the tenants (at least 2).
    #[arg(
        long,
        env = "ML_CONNECTOR_DATABASE_MAX_CONNECTIONS",
        default_value_t = 4
    )]
    max_connections: u32,
    /// Serve `/metrics` and `/healthz` here (e.g. 127.0.0.1:9464; port 0 picks one).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

fn default_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}:{}", std::process::id())
}

/// Runs the worker.
pub fn run(args: WorkerArgs) -> Result<ExitCode> {
    let heartbeat = args.heartbeat.unwrap_or(args.lease_ttl / 3);
    if heartbeat.is_zero() || heartbeat * 2 > args.lease_ttl {
        bail!(
            "--heartbeat must be above zero and at most half of --lease-ttl ({} s), or a late heartbeat loses the leases",
            args.lease_ttl.as_secs_f64()
        );
    }
    let idle = crate::ledger::postgres::IDLE_IN_WRITE;
    if args.lease_ttl < idle * 2 {
        bail!(
            "--lease-ttl must be at least {} s: a stopped writer's transaction is ended after {} s",
            (idle * 2).as_secs(),
            idle.as_secs()
        );
    }
    if args.max_connections < 2 {
        bail!("--max-connections must be at least 2: one for the lease loop, one for the tenants");
    }
    // Fail now on a missing or wrong key, not in each tenant's task.
    args.key.load()?;
    let opts = WorkerOptions {
        url: args.db.database_url.clone(),
        id: args.id.unwrap_or_else(default_id),
        lease_ttl: args.lease_ttl,
        heartbeat,
        max_tenants: args.max_tenants,
        max_connections: args.max_connections,
    };
    let key_args = args.key.clone();
    let key: worker::KeySource = Arc::new(move || key_args.load());
    let metrics = Arc::new(Metrics::new(&opts.id, args.lease_ttl));
    runtime()?.block_on(async move {
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let server = match args.listen {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listening on {addr}"))?;
                println!(
                    "worker {} serving /metrics and /healthz on http://{}",
                    opts.id,
                    listener.local_addr()?
                );
                Some(tokio::spawn(crate::fleet::metrics::serve(
                    listener,
                    metrics.clone(),
                    shutdown.clone(),
                )))
            }
            None => None,
        };
        println!("worker {} started", opts.id);
        tokio::spawn(async move {
            super::signals::wait_for_signal().await;
            warn!("stop requested: finishing the documents in flight");
            let _ = stop.send(true);
        });
        let result = worker::run(opts, key, metrics, shutdown).await;
        if let Some(server) = server {
            server.abort();
        }
        result?;
        println!("worker stopped");
        Ok(ExitCode::SUCCESS)
    })
}
