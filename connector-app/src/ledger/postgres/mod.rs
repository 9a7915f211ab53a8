//! The PostgreSQL ledger: one database shared by a fleet of workers, one tenant per ledger handle.
//!
//! Driver: the `postgres` crate, the synchronous face of tokio-postgres from the rust-postgres
//! project (maintained, pure Rust, SCRAM authentication). The [`Ledger`](super::Ledger) trait is
//! synchronous and called from async flows, where a blocking driver must not `block_on` inside the
//! connector's runtime (the crate drives its connection on a runtime of its own, which Tokio
//! refuses to start inside another): [`off_runtime`] runs each call on a scoped thread when it is
//! made from a runtime thread, and directly otherwise (CLI commands). Each handle holds one
//! connection, as the SQLite ledger holds one: the engine serializes ledger calls behind its mutex
//! anyway, so a pool would add nothing per tenant.
//!
//! Fencing: a handle opened with a [`Fence`] (a worker's lease of the tenant) checks, inside every
//! write transaction, that the lease row still carries its owner and generation and has not expired,
//! and holds a share lock on that row until the write commits. A worker that lost its lease (paused
//! past the expiry, partitioned) gets [`LedgerError::Fenced`] and writes nothing once another worker
//! took the tenant over (taking over bumps the generation). A writer stopped inside a transaction
//! (SIGSTOP) would hold that share lock and block the takeover: its session is ended by the server
//! after [`IDLE_IN_WRITE`] idle in a transaction.

mod docs;
mod listings;
pub(crate) mod schema;

use std::cell::RefCell;

use ::postgres::{Client, NoTls};

use super::LedgerError;

/// How long a fenced writer may sit idle inside a transaction before the server ends its session.
pub const IDLE_IN_WRITE: std::time::Duration = std::time::Duration::from_secs(2);

/// A worker's claim on a tenant: writes are refused once the lease moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The worker that holds the lease.
    pub owner: String,
    /// The lease generation it was granted (bumped at every takeover).
    pub generation: i64,
}

/// Runs `f` where a blocking PostgreSQL call is allowed: on a scoped thread when called from a
/// Tokio runtime thread, else right here.
pub(crate) fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// The server's message of a PostgreSQL error (the driver's own display says only "db error").
pub(crate) fn message(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// Connects to `url` (a `postgres://` URL or a libpq key=value string) without TLS: the fleet's
/// database is expected on a trusted network or a local socket.
// TLS to a remote database is the next step (a rustls connector exists for this driver).
pub(crate) fn connect(url: &str) -> Result<Client, LedgerError> {
    let config: ::postgres::Config = url.parse().map_err(|e| {
        LedgerError::Invalid(format!(
            "ledger url {}: {e}",
            crate::ledger::postgres::redact_url(url)
        ))
    })?;
    Ok(off_runtime(|| config.connect(NoTls))?)
}

/// The URL with its password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable url)".to_owned(),
    }
}

/// Connects to `url` and creates or upgrades the schema; the connection sees every tenant
/// (`mlc.tenant = *`): for administration (tenants, fleet status, leases), never for a flow.
pub fn admin(url: &str) -> Result<Client, LedgerError> {
    let mut client = connect(url)?;
    off_runtime(|| -> Result<(), LedgerError> {
        schema::migrate(&mut client)?;
        client.execute("SELECT set_config('mlc.tenant', '*', false)", &[])?;
        Ok(())
    })?;
    Ok(client)
}

/// A connection that closes off the runtime (closing blocks).
struct Conn(Option<Client>);

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            off_runtime(move || drop(client));
        }
    }
}

/// PostgreSQL implementation of [`Ledger`](super::Ledger) for one tenant.
pub struct PgLedger {
    conn: RefCell<Conn>,
    tenant: String,
    fence: Option<Fence>,
    /// Open [`PgLedger::group`]s: writes inside one are savepoints of its transaction.
    depth: u32,
}

impl PgLedger {
    /// Opens tenant `tenant`'s ledger in the database at `url` (migrating the schema first). The
    /// tenant must exist (`ml-connector tenants add`, or [`ensure_tenant`] for a single seller).
    pub fn open(url: &str, tenant: &str, fence: Option<Fence>) -> Result<Self, LedgerError> {
        let mut client = connect(url)?;
        off_runtime(|| -> Result<(), LedgerError> {
            schema::migrate(&mut client)?;
            let known = client
                .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[&tenant])?
                .is_some();
            if !known {
                return Err(LedgerError::Invalid(format!(
                    "no tenant `{tenant}` in the PostgreSQL ledger (add it with `ml-connector tenants add`)"
                )));
            }
            client.execute("SELECT set_config('mlc.tenant', $1, false)", &[&tenant])?;
            if fence.is_some() {
                // A ledger transaction never waits on anything but the database (no network call
                // inside one): idle inside one this long, the process is stopped or cut off. The
                // server then ends its session, releasing the lease row's share lock so that
                // another worker can take the tenant over; the stopped writer's transaction is
                // rolled back.
                client.batch_execute(&format!(
                    "SET idle_in_transaction_session_timeout = {}",
                    IDLE_IN_WRITE.as_millis()
                ))?;
            }
            Ok(())
        })?;
        Ok(Self {
            conn: RefCell::new(Conn(Some(client))),
            tenant: tenant.to_owned(),
            fence,
            depth: 0,
        })
    }

    /// The tenant this handle reads and writes.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Runs `f` as one transaction (fenced once at its start): its changes are committed together,
    /// or none of them when it fails.
    pub fn group<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, LedgerError>,
    ) -> Result<R, LedgerError> {
        self.open_group()?;
        let out = f(self);
        let commit = out.is_ok();
        let closed = self.close_group(commit);
        let r = out?;
        closed?;
        Ok(r)
    }

    /// Starts the outermost group's transaction (and checks the fence), or joins it.
    fn open_group(&mut self) -> Result<(), LedgerError> {
        if self.depth == 0 {
            let (tenant, fence) = (self.tenant.clone(), self.fence.clone());
            self.run(|c| {
                c.batch_execute("BEGIN")?;
                check_fence(c, &tenant, fence.as_ref()).inspect_err(|_| {
                    let _ = c.batch_execute("ROLLBACK");
                })
            })?;
        }
        self.depth += 1;
        Ok(())
    }

    /// Leaves a group; the outermost one commits or rolls back.
    fn close_group(&mut self, commit: bool) -> Result<(), LedgerError> {
        self.depth = self.depth.saturating_sub(1);
        if self.depth > 0 {
            return Ok(());
        }
        self.run(|c| Ok(c.batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })?))
    }

    /// Runs `f` on the connection, off the runtime.
    fn run<R: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, LedgerError> + Send,
    ) -> Result<R, LedgerError> {
        let mut conn = self.conn.borrow_mut();
        let client = conn
            .0
            .as_mut()
            .ok_or_else(|| LedgerError::Invalid("the ledger connection is closed".into()))?;
        off_runtime(move || f(client))
    }

    /// Runs `f` as a fenced write: its own transaction, or a savepoint of the enclosing group.
    fn write<R: Send>(
        &mut self,
        f: impl FnOnce(&mut Client, &str) -> Result<R, LedgerError> + Send,
    ) -> Result<R, LedgerError> {
        let (tenant, fence, grouped) = (self.tenant.clone(), self.fence.clone(), self.depth > 0);
        self.run(move |c| {
            let (begin, commit, rollback) = if grouped {
                (
                    "SAVEPOINT mlc_write",
                    "RELEASE SAVEPOINT mlc_write",
                    "ROLLBACK TO SAVEPOINT mlc_write; RELEASE SAVEPOINT mlc_write",
                )
            } else {
                ("BEGIN", "COMMIT", "ROLLBACK")
            };
            c.batch_execute(begin)?;
            let out = if grouped {
                f(c, &tenant)
            } else {
                check_fence(c, &tenant, fence.as_ref()).and_then(|()| f(c, &tenant))
            };
            match out {
                Ok(r) => {
                    c.batch_execute(commit)?;
                    Ok(r)
                }
                Err(e) => {
                    let _ = c.batch_execute(rollback);
                    Err(e)
                }
            }
        })
    }
}

/// Inside a transaction: fails with [`LedgerError::Fenced`] unless `fence` still holds the
/// tenant's lease, and share-locks the lease row so that no takeover commits before this write.
fn check_fence(c: &mut Client, tenant: &str, fence: Option<&Fence>) -> Result<(), LedgerError> {
    let Some(fence) = fence else {
        return Ok(());
    };
    let held = c
        .query_opt(
            "SELECT 1 FROM leases WHERE tenant_id = $1 AND owner = $2 AND generation = $3
               AND expires_at > clock_timestamp() FOR SHARE",
            &[&tenant, &fence.owner, &fence.generation],
        )?
        .is_some();
    if held {
        Ok(())
    } else {
        Err(LedgerError::Fenced(format!(
            "tenant `{tenant}`: worker `{}` no longer holds lease generation {}; nothing was written",
            fence.owner, fence.generation
        )))
    }
}

/// Creates tenant `id` with no configuration if it does not exist (tests, a single seller whose
/// `[ledger] url` points at PostgreSQL).
pub fn ensure_tenant(url: &str, id: &str) -> Result<(), LedgerError> {
    let mut client = admin(url)?;
    off_runtime(|| -> Result<(), LedgerError> {
        client.execute(
            "INSERT INTO tenants (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
            &[&id],
        )?;
        Ok(())
    })?;
    off_runtime(move || drop(client));
    Ok(())
}

#[cfg(test)]
mod tests;
