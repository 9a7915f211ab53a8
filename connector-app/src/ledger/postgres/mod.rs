//! The PostgreSQL ledger: one database shared by a fleet of workers, one tenant per ledger handle.
//!
//! Driver: the `postgres` crate, the synchronous face of tokio-postgres from the rust-postgres
//! project (maintained, pure Rust, SCRAM authentication). The [`Ledger`](super::Ledger) trait is
//! synchronous and called from async flows, where a blocking driver must not `block_on` inside the
//! connector's runtime (the crate drives its connection on a runtime of its own, which Tokio
//! refuses to start inside another): [`off_runtime`] runs each call on a scoped thread when it is
//! made from a runtime thread, and directly otherwise (CLI commands). A single seller's handle holds
//! one connection, as the SQLite ledger holds one; a worker's handles borrow from the worker's
//! [`Pool`] per call (per transaction for a group), so that its connections stay within the
//! pool's size however many tenants it works. TLS and `sslmode`: [`connect`].
//!
//! Fencing: a handle opened with a [`Fence`] (a worker's lease of the tenant) checks, inside every
//! write transaction, that the lease row still carries its owner and generation and has not expired,
//! and holds a share lock on that row until the write commits. A worker that lost its lease (paused
//! past the expiry, partitioned) gets [`LedgerError::Fenced`] and writes nothing once another worker
//! took the tenant over (taking over bumps the generation). A single seller (`[ledger] url` in its
//! configuration) fences by a session advisory lock instead: [`PgLedger::open_single_seller`]. A writer stopped inside a transaction
//! (SIGSTOP) would hold that share lock and block the takeover: its session is ended by the server
//! after [`IDLE_IN_WRITE`] idle in a transaction.

pub mod connect;
mod docs;
mod listings;
pub(crate) mod schema;

use std::cell::RefCell;

use ::postgres::Client;

use self::connect::{PgConn, Pooled};
pub use self::connect::{Pool, Target, TlsMode};
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

/// What a handle's writes are fenced by.
#[derive(Debug, Clone)]
enum Guard {
    /// Nothing (tests; administration).
    None,
    /// A worker's lease of the tenant.
    Lease(Fence),
    /// A single seller's session advisory lock on the tenant, taken at the first write and held
    /// by the handle's one connection for its life (`true` once taken).
    Session(bool),
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

/// The URL with its password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    connect::redact(url)
}

/// Connects to `url` and creates or upgrades the schema; the connection sees every tenant
/// (`mlc.tenant = *`): for administration (tenants, fleet status, leases), never for a flow.
pub fn admin(url: &str) -> Result<Client, LedgerError> {
    admin_at(&Target::parse(url)?)
}

/// [`admin`] for a parsed target.
pub fn admin_at(target: &Target) -> Result<Client, LedgerError> {
    let mut client = target.connect()?;
    off_runtime(|| -> Result<(), LedgerError> {
        schema::migrate(&mut client)?;
        client.execute("SELECT set_config('mlc.tenant', '*', false)", &[])?;
        Ok(())
    })?;
    Ok(client)
}

/// Where a handle's connections come from.
enum Source {
    /// One connection of its own, for the handle's life (a single seller; tests). Closed off the
    /// runtime (closing blocks).
    Own(Option<PgConn>),
    /// Borrowed from a process-wide pool per call, or for a whole group.
    Pool { pool: Pool, held: Option<Pooled> },
}

impl Drop for Source {
    fn drop(&mut self) {
        let taken = match self {
            Source::Own(c) => c.take().map(|c| Box::new(c) as Box<dyn Send>),
            Source::Pool { held, .. } => held.take().map(|c| Box::new(c) as Box<dyn Send>),
        };
        if let Some(conn) = taken {
            off_runtime(move || drop(conn));
        }
    }
}

/// PostgreSQL implementation of [`Ledger`](super::Ledger) for one tenant.
pub struct PgLedger {
    src: RefCell<Source>,
    tenant: String,
    guard: Guard,
    /// Open [`PgLedger::group`]s: writes inside one are savepoints of its transaction.
    depth: u32,
}

impl PgLedger {
    /// Opens tenant `tenant`'s ledger in the database at `url` on a connection of its own
    /// (migrating the schema first), its writes fenced by `fence` when given. The tenant must
    /// exist (`ml-connector tenants add`, or [`ensure_tenant`] for a single seller).
    pub fn open(url: &str, tenant: &str, fence: Option<Fence>) -> Result<Self, LedgerError> {
        let guard = fence.map_or(Guard::None, Guard::Lease);
        Self::open_own(&Target::parse(url)?, tenant, guard)
    }

    /// Opens a single seller's ledger: one connection; the first write takes a session advisory
    /// lock on the tenant, held until the handle closes, so that two processes (on any machines)
    /// never both write the tenant: the second one's writes are refused ([`LedgerError::Fenced`],
    /// naming the holder). Reads need no lock (`status` beside a running daemon).
    pub fn open_single_seller(target: &Target, tenant: &str) -> Result<Self, LedgerError> {
        Self::open_own(target, tenant, Guard::Session(false))
    }

    fn open_own(target: &Target, tenant: &str, guard: Guard) -> Result<Self, LedgerError> {
        let mut client = target.connect()?;
        off_runtime(|| -> Result<(), LedgerError> {
            schema::migrate(&mut client)?;
            known_tenant(&mut client, tenant)?;
            if matches!(guard, Guard::Lease(_)) {
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
        let mut conn = PgConn::new(client);
        off_runtime(|| conn.scope(tenant).map(|_| ()))?;
        Ok(Self {
            src: RefCell::new(Source::Own(Some(conn))),
            tenant: tenant.to_owned(),
            guard,
            depth: 0,
        })
    }

    /// Opens tenant `tenant`'s ledger on connections borrowed from `pool` (a worker's: its
    /// connections are bounded by the pool whatever the number of tenants it works), fenced by
    /// the worker's lease. The schema is migrated by whoever made the pool ([`admin_at`]).
    pub fn open_pooled(pool: &Pool, tenant: &str, fence: Fence) -> Result<Self, LedgerError> {
        off_runtime(|| {
            let mut conn = pool.get("*")?;
            known_tenant(&mut conn.client, tenant)
        })?;
        Ok(Self {
            src: RefCell::new(Source::Pool {
                pool: pool.clone(),
                held: None,
            }),
            tenant: tenant.to_owned(),
            guard: Guard::Lease(fence),
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
            self.take_session_lock()?;
            {
                let mut src = self.src.borrow_mut();
                if let Source::Pool { pool, held } = &mut *src {
                    let tenant = &self.tenant;
                    *held = Some(off_runtime(|| pool.get(tenant))?);
                }
            }
            let (tenant, guard) = (self.tenant.clone(), self.guard.clone());
            let begun = self.with_conn(|c| {
                c.in_tx = true;
                c.client.batch_execute("BEGIN")?;
                check_fence(&mut c.client, &tenant, &guard).inspect_err(|_| {
                    let _ = c.client.batch_execute("ROLLBACK");
                })?;
                Ok(())
            });
            if let Err(e) = begun {
                self.give_back(false);
                return Err(e);
            }
        }
        self.depth += 1;
        Ok(())
    }

    /// Leaves a group; the outermost one commits or rolls back (and gives its connection back).
    fn close_group(&mut self, commit: bool) -> Result<(), LedgerError> {
        self.depth = self.depth.saturating_sub(1);
        if self.depth > 0 {
            return Ok(());
        }
        let out = self.with_conn(|c| {
            c.client
                .batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })?;
            c.in_tx = false;
            Ok(())
        });
        self.give_back(out.is_ok());
        out
    }

    /// Returns a group's pooled connection (dropped, not reused, unless `clean`).
    fn give_back(&mut self, clean: bool) {
        if let Source::Pool { held, .. } = &mut *self.src.borrow_mut()
            && let Some(mut conn) = held.take()
        {
            conn.in_tx = conn.in_tx || !clean;
            off_runtime(move || drop(conn));
        }
    }

    /// A single seller's first write: takes the tenant's session advisory lock, or refuses.
    fn take_session_lock(&mut self) -> Result<(), LedgerError> {
        if !matches!(self.guard, Guard::Session(false)) {
            return Ok(());
        }
        let tenant = self.tenant.clone();
        self.run(|c| session_lock(c, &tenant))?;
        self.guard = Guard::Session(true);
        Ok(())
    }

    /// Runs `f` on the handle's connection (its own, the group's, or one borrowed for the call),
    /// off the runtime.
    fn with_conn<R: Send>(
        &self,
        f: impl FnOnce(&mut PgConn) -> Result<R, LedgerError> + Send,
    ) -> Result<R, LedgerError> {
        let mut src = self.src.borrow_mut();
        let tenant = self.tenant.as_str();
        match &mut *src {
            Source::Own(Some(conn)) => off_runtime(move || f(conn)),
            Source::Pool {
                held: Some(conn), ..
            } => off_runtime(move || f(conn)),
            Source::Own(None) => Err(LedgerError::Invalid(
                "the ledger connection is closed".into(),
            )),
            Source::Pool { pool, held: None } => off_runtime(move || {
                let mut conn = pool.get(tenant)?;
                f(&mut conn)
            }),
        }
    }

    /// Runs `f` on the connection, off the runtime.
    fn run<R: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<R, LedgerError> + Send,
    ) -> Result<R, LedgerError> {
        self.with_conn(|c| f(&mut c.client))
    }

    /// Runs `f` as a fenced write: its own transaction, or a savepoint of the enclosing group.
    fn write<R: Send>(
        &mut self,
        f: impl FnOnce(&mut Client, &str) -> Result<R, LedgerError> + Send,
    ) -> Result<R, LedgerError> {
        let grouped = self.depth > 0;
        if !grouped {
            self.take_session_lock()?;
        }
        let (tenant, guard) = (self.tenant.clone(), self.guard.clone());
        self.with_conn(move |conn| {
            let (begin, commit, rollback) = if grouped {
                (
                    "SAVEPOINT mlc_write",
                    "RELEASE SAVEPOINT mlc_write",
                    "ROLLBACK TO SAVEPOINT mlc_write; RELEASE SAVEPOINT mlc_write",
                )
            } else {
                ("BEGIN", "COMMIT", "ROLLBACK")
            };
            conn.in_tx = true;
            let c = &mut conn.client;
            c.batch_execute(begin)?;
            let out = if grouped {
                f(c, &tenant)
            } else {
                check_fence(c, &tenant, &guard).and_then(|()| f(c, &tenant))
            };
            let closed = match out {
                Ok(r) => c.batch_execute(commit).map(|()| r).map_err(Into::into),
                Err(e) => {
                    let _ = c.batch_execute(rollback);
                    Err(e)
                }
            };
            conn.in_tx = grouped;
            closed
        })
    }
}

/// Fails unless tenant `tenant` exists.
fn known_tenant(client: &mut Client, tenant: &str) -> Result<(), LedgerError> {
    if client
        .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[&tenant])?
        .is_none()
    {
        return Err(LedgerError::Invalid(format!(
            "no tenant `{tenant}` in the PostgreSQL ledger (add it with `ml-connector tenants add`)"
        )));
    }
    Ok(())
}

/// The advisory-lock key of a single seller's tenant.
const SESSION_KEY: &str = "hashtextextended('ml-connector single seller ' || $1, 0)";

/// Takes tenant `tenant`'s session advisory lock on `c`, or says who holds it.
fn session_lock(c: &mut Client, tenant: &str) -> Result<(), LedgerError> {
    let got: bool = c
        .query_one(
            &format!("SELECT pg_try_advisory_lock({SESSION_KEY})"),
            &[&tenant],
        )?
        .get(0);
    if got {
        return Ok(());
    }
    let holder = c
        .query_opt(
            &format!(
                "SELECT a.application_name || COALESCE(' from ' || host(a.client_addr), '') || ' (server pid ' || a.pid || ')'
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND ((l.classid::BIGINT << 32) | l.objid::BIGINT) = {SESSION_KEY}"
            ),
            &[&tenant],
        )?
        .and_then(|r| r.get::<_, Option<String>>(0))
        .unwrap_or_else(|| "another session".into());
    Err(LedgerError::Fenced(format!(
        "tenant `{tenant}` is written by another ml-connector process ({holder}); one process writes a tenant at a time: nothing was written"
    )))
}

/// Inside a transaction: fails with [`LedgerError::Fenced`] unless `fence` still holds the
/// tenant's lease, and share-locks the lease row so that no takeover commits before this write.
fn check_fence(c: &mut Client, tenant: &str, guard: &Guard) -> Result<(), LedgerError> {
    let Guard::Lease(fence) = guard else {
        // A single seller's lock is its session's: while the session lives, the lock is held.
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
    ensure_tenant_at(&Target::parse(url)?, id)
}

/// [`ensure_tenant`] for a parsed target.
pub fn ensure_tenant_at(target: &Target, id: &str) -> Result<(), LedgerError> {
    let mut client = admin_at(target)?;
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
#[cfg(test)]
mod tests_connect;
