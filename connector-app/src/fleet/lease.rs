//! Tenant leases: which worker works which tenant, until when.
//!
//! A lease row per tenant carries its owner, a generation and an expiry. A worker takes free or
//! expired leases with `FOR UPDATE SKIP LOCKED` (two workers never take the same row; neither
//! waits for the other) and bumps the generation; it renews its leases by heartbeat; every ledger
//! write checks owner and generation ([`crate::ledger::Fence`]), so a worker that lost a lease
//! writes nothing after the new owner took it. Times are the database's clock, so workers on
//! machines whose clocks disagree still agree on expiry.

use std::time::Duration;

use ::postgres::Client;
use anyhow::Result;

use crate::ledger::Fence;
use crate::ledger::postgres::off_runtime;

/// A lease a worker holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The tenant.
    pub tenant: String,
    /// Its fence (owner and generation).
    pub fence: Fence,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Records (or refreshes) worker `owner` as alive; it counts as alive for `ttl` (its lease
/// lifetime) after this heartbeat.
pub fn heartbeat_worker(client: &mut Client, owner: &str, ttl: Duration) -> Result<()> {
    off_runtime(|| {
        client.execute(
            "INSERT INTO workers (id, lease_ttl_secs) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL,
                 lease_ttl_secs = excluded.lease_ttl_secs",
            &[&owner, &secs(ttl)],
        )?;
        Ok(())
    })
}

/// A worker's fair share: `ceil(active tenants / live workers)`, a worker being live while its
/// last heartbeat is younger than its lease lifetime.
pub fn fair_share(client: &mut Client) -> Result<usize> {
    off_runtime(|| {
        let row = client.query_one(
            "SELECT (SELECT COUNT(*) FROM workers WHERE stopped_at IS NULL
                        AND heartbeat_at > now() - make_interval(secs => lease_ttl_secs)),
                    (SELECT COUNT(*) FROM tenants WHERE removed_at IS NULL)",
            &[],
        )?;
        let (workers, tenants): (i64, i64) = (row.get(0), row.get(1));
        let workers = workers.max(1) as usize;
        Ok((tenants.max(0) as usize).div_ceil(workers))
    })
}

/// Takes up to `max` free or expired leases of active tenants for `owner`, least recently run
/// first, each with a new generation and an expiry `ttl` from now.
pub fn acquire(client: &mut Client, owner: &str, max: usize, ttl: Duration) -> Result<Vec<Lease>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    off_runtime(|| {
        let rows = client.query(
            "WITH free AS (
                 SELECT l.tenant_id FROM leases l JOIN tenants t ON t.id = l.tenant_id
                 WHERE t.removed_at IS NULL AND (l.owner IS NULL OR l.expires_at <= now())
                 ORDER BY l.last_run_at NULLS FIRST, l.tenant_id
                 LIMIT $2
                 FOR UPDATE OF l SKIP LOCKED)
             UPDATE leases SET owner = $1, generation = leases.generation + 1,
                 expires_at = now() + make_interval(secs => $3), acquired_at = now()
             FROM free WHERE leases.tenant_id = free.tenant_id
             RETURNING leases.tenant_id, leases.generation",
            &[&owner, &(max as i64), &secs(ttl)],
        )?;
        Ok(rows
            .iter()
            .map(|r| Lease {
                tenant: r.get(0),
                fence: Fence {
                    owner: owner.to_owned(),
                    generation: r.get(1),
                },
            })
            .collect())
    })
}

/// Extends the leases `owner` still holds (same generation, tenant active) by `ttl`; returns the
/// tenants of `held` that it no longer holds (taken over, or the tenant removed).
pub fn renew(
    client: &mut Client,
    owner: &str,
    held: &[Lease],
    ttl: Duration,
) -> Result<Vec<String>> {
    let tenants: Vec<&str> = held.iter().map(|l| l.tenant.as_str()).collect();
    let generations: Vec<i64> = held.iter().map(|l| l.fence.generation).collect();
    off_runtime(|| {
        let kept: Vec<String> = client
            .query(
                "UPDATE leases l SET expires_at = now() + make_interval(secs => $4)
                 FROM unnest($2::TEXT[], $3::BIGINT[]) AS h(tenant_id, generation), tenants t
                 WHERE l.tenant_id = h.tenant_id AND l.generation = h.generation AND l.owner = $1
                   AND t.id = l.tenant_id AND t.removed_at IS NULL
                 RETURNING l.tenant_id",
                &[&owner, &tenants, &generations, &secs(ttl)],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(held
            .iter()
            .filter(|l| !kept.contains(&l.tenant))
            .map(|l| l.tenant.clone())
            .collect())
    })
}

/// Gives a lease back at once (a clean stop, or a surplus over the fair share).
pub fn release(client: &mut Client, lease: &Lease) -> Result<()> {
    off_runtime(|| {
        client.execute(
            "UPDATE leases SET owner = NULL, expires_at = '-infinity'
             WHERE tenant_id = $1 AND owner = $2 AND generation = $3",
            &[&lease.tenant, &lease.fence.owner, &lease.fence.generation],
        )?;
        Ok(())
    })
}

/// Records a flow run of a tenant (for `fleet status`, the metrics, and least-recently-run
/// leasing).
pub fn record_run(
    client: &mut Client,
    lease: &Lease,
    flow: &str,
    error: Option<&str>,
) -> Result<()> {
    off_runtime(|| {
        client.execute(
            "INSERT INTO flow_runs (tenant_id, flow, last_ok_at, last_error_at, last_error, last_worker, runs)
             VALUES ($1, $2, CASE WHEN $3::TEXT IS NULL THEN now() END, CASE WHEN $3::TEXT IS NOT NULL THEN now() END, $3, $4, 1)
             ON CONFLICT (tenant_id, flow) DO UPDATE SET
                 last_ok_at = COALESCE(excluded.last_ok_at, flow_runs.last_ok_at),
                 last_error_at = COALESCE(excluded.last_error_at, flow_runs.last_error_at),
                 last_error = CASE WHEN $3::TEXT IS NULL THEN flow_runs.last_error ELSE $3 END,
                 last_worker = $4, runs = flow_runs.runs + 1",
            &[&lease.tenant, &flow, &error, &lease.fence.owner],
        )?;
        client.execute(
            "UPDATE leases SET last_run_at = now() WHERE tenant_id = $1",
            &[&lease.tenant],
        )?;
        Ok(())
    })
}

/// Marks worker `owner` stopped (its leases released).
pub fn stop_worker(client: &mut Client, owner: &str) -> Result<()> {
    off_runtime(|| {
        client.execute(
            "UPDATE leases SET owner = NULL, expires_at = '-infinity' WHERE owner = $1",
            &[&owner],
        )?;
        client.execute(
            "UPDATE workers SET stopped_at = now() WHERE id = $1",
            &[&owner],
        )?;
        Ok(())
    })
}
