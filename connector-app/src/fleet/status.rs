//! `fleet status`: every tenant with its lease, its flows' last runs and what needs attention.

use ::postgres::Client;
use anyhow::Result;
use serde::Serialize;

use crate::ledger::postgres::off_runtime;

/// One flow's last runs for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowRun {
    /// Flow name.
    pub flow: String,
    /// Last successful run (RFC 3339).
    pub last_ok_at: Option<String>,
    /// Last failed run (RFC 3339).
    pub last_error_at: Option<String>,
    /// Its error.
    pub last_error: Option<String>,
    /// Runs so far.
    pub runs: i64,
}

/// One tenant in the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantStatus {
    /// Tenant id.
    pub tenant: String,
    /// Whether it is removed (no longer worked).
    pub removed: bool,
    /// The worker holding its lease, if the lease is live.
    pub owner: Option<String>,
    /// Lease generation (takeovers so far).
    pub generation: i64,
    /// Lease expiry (RFC 3339), if live.
    pub expires_at: Option<String>,
    /// Last run of any flow (RFC 3339).
    pub last_run_at: Option<String>,
    /// Documents HELD, FAILED or UNKNOWN.
    pub attention: i64,
    /// Per flow.
    pub flows: Vec<FlowRun>,
}

/// A live worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerStatus {
    /// Worker id.
    pub id: String,
    /// Last heartbeat (RFC 3339).
    pub heartbeat_at: String,
    /// Leases it holds.
    pub leases: i64,
}

/// The whole fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetStatus {
    /// Tenants by id.
    pub tenants: Vec<TenantStatus>,
    /// Live workers (heartbeat younger than their lease lifetime), by id.
    pub workers: Vec<WorkerStatus>,
}

const TS: &str = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'";

/// Reads the fleet's status.
pub fn read(client: &mut Client) -> Result<FleetStatus> {
    let ts = |col: &str| format!("to_char({col} AT TIME ZONE 'UTC', {TS})");
    off_runtime(|| {
        let mut tenants: Vec<TenantStatus> = client
            .query(
                &format!(
                    "SELECT t.id, t.removed_at IS NOT NULL,
                        CASE WHEN l.expires_at > now() THEN l.owner END, COALESCE(l.generation, 0),
                        CASE WHEN l.expires_at > now() THEN {} END, {},
                        (SELECT COUNT(*) FROM documents d WHERE d.tenant_id = t.id
                            AND d.state IN ('HELD', 'FAILED', 'UNKNOWN'))
                     FROM tenants t LEFT JOIN leases l ON l.tenant_id = t.id ORDER BY t.id",
                    ts("l.expires_at"),
                    ts("l.last_run_at")
                ),
                &[],
            )?
            .iter()
            .map(|r| TenantStatus {
                tenant: r.get(0),
                removed: r.get(1),
                owner: r.get(2),
                generation: r.get(3),
                expires_at: r.get(4),
                last_run_at: r.get(5),
                attention: r.get(6),
                flows: Vec::new(),
            })
            .collect();
        for r in client.query(
            &format!(
                "SELECT tenant_id, flow, {}, {}, last_error, runs FROM flow_runs ORDER BY tenant_id, flow",
                ts("last_ok_at"),
                ts("last_error_at")
            ),
            &[],
        )? {
            let tenant: String = r.get(0);
            if let Some(t) = tenants.iter_mut().find(|t| t.tenant == tenant) {
                t.flows.push(FlowRun {
                    flow: r.get(1),
                    last_ok_at: r.get(2),
                    last_error_at: r.get(3),
                    last_error: r.get(4),
                    runs: r.get(5),
                });
            }
        }
        let workers = client
            .query(
                &format!(
                    "SELECT w.id, {},
                        (SELECT COUNT(*) FROM leases l WHERE l.owner = w.id AND l.expires_at > now())
                     FROM workers w WHERE w.stopped_at IS NULL
                       AND w.heartbeat_at > now() - make_interval(secs => w.lease_ttl_secs) ORDER BY w.id",
                    ts("w.heartbeat_at")
                ),
                &[],
            )?
            .iter()
            .map(|r| WorkerStatus {
                id: r.get(0),
                heartbeat_at: r.get(1),
                leases: r.get(2),
            })
            .collect();
        Ok(FleetStatus { tenants, workers })
    })
}

impl FleetStatus {
    /// The table people read.
    pub fn render(&self) -> String {
        let mut table = comfy_table::Table::new();
        table.set_header([
            "tenant",
            "lease owner",
            "gen",
            "lease expires",
            "last run",
            "attention",
            "flows (last ok)",
        ]);
        for t in &self.tenants {
            let flows = t
                .flows
                .iter()
                .map(|f| {
                    format!(
                        "{} {}{}",
                        f.flow,
                        f.last_ok_at.as_deref().unwrap_or("never"),
                        if f.last_error_at > f.last_ok_at {
                            " (last run failed)"
                        } else {
                            ""
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            table.add_row([
                if t.removed {
                    format!("{} (removed)", t.tenant)
                } else {
                    t.tenant.clone()
                },
                t.owner.clone().unwrap_or_else(|| "-".into()),
                t.generation.to_string(),
                t.expires_at.clone().unwrap_or_else(|| "-".into()),
                t.last_run_at.clone().unwrap_or_else(|| "never".into()),
                t.attention.to_string(),
                flows,
            ]);
        }
        let mut out = format!("{table}\n");
        out.push_str(&format!("{} live worker(s)", self.workers.len()));
        for w in &self.workers {
            out.push_str(&format!(
                "\n  {}: {} lease(s), heartbeat {}",
                w.id, w.leases, w.heartbeat_at
            ));
        }
        out.push('\n');
        out
    }
}
