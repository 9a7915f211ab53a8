//! The ledger: one row per target document, an append-only audit trail, raw sources and cursors.
//!
//! The exactly-once rule lives here and in the flows: a document's deterministic key is stored (and
//! written into the SAP document) before it is sent; its state moves PLANNED -> SENDING -> POSTED |
//! FAILED | UNKNOWN | HELD, and every move is audited. A document in SENDING or UNKNOWN is looked up in
//! SAP by its key before anything is sent again. The store sits behind [`Ledger`] so a PostgreSQL
//! backend can follow the embedded SQLite one.

mod boxed;
pub mod dismiss;
mod durability;
mod file_identity;
mod listings;
mod lock;
mod migrations;
mod planning;
pub mod postgres;
mod redact;
mod sqlite;
#[cfg(test)]
pub(crate) mod suite;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use durability::{Durability, WalSync};
pub use listings::{ListingState, ListingStatus};
pub use lock::{LockError, WriterLock};
pub use planning::{OnFailed, PlanBody, PlanRequest, PlanStatus};
pub use postgres::{Fence, PgLedger};
pub use redact::redact;
pub use sqlite::SqliteLedger;

/// Where a target document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocState {
    /// Decided, not yet sent.
    Planned,
    /// Stored before the POST: the outcome is not known yet.
    Sending,
    /// SAP holds it (DocEntry, DocNum known).
    Posted,
    /// SAP refused it for good (validation); the reason is kept.
    Failed,
    /// Sent, but the answer was lost (timeout, reset, 5xx): look it up before sending again.
    Unknown,
    /// Waiting for a person: unmapped SKU, missing invoice, inconsistent settlement...
    Held,
    /// A person decided it is not to be posted (`ml-connector dismiss KEY`): no run plans it again;
    /// `replay KEY` re-opens it.
    Dismissed,
}

impl DocState {
    /// All states, in lifecycle order.
    pub const ALL: [DocState; 7] = [
        Self::Planned,
        Self::Sending,
        Self::Posted,
        Self::Failed,
        Self::Unknown,
        Self::Held,
        Self::Dismissed,
    ];

    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "PLANNED",
            Self::Sending => "SENDING",
            Self::Posted => "POSTED",
            Self::Failed => "FAILED",
            Self::Unknown => "UNKNOWN",
            Self::Held => "HELD",
            Self::Dismissed => "DISMISSED",
        }
    }

    /// Whether the state may move to `next`.
    pub fn can_move_to(self, next: DocState) -> bool {
        use DocState::*;
        matches!(
            (self, next),
            (Planned, Sending | Held | Failed | Posted)
                | (Sending, Posted | Failed | Unknown | Planned)
                | (Unknown, Posted | Sending | Failed)
                | (Held, Planned | Held | Failed | Dismissed)
                | (Failed, Planned | Dismissed)
                | (Dismissed, Held)
        )
    }
}

impl fmt::Display for DocState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocState {
    type Err = LedgerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                LedgerError::Invalid(format!(
                    "unknown state `{s}` (PLANNED, SENDING, POSTED, FAILED, UNKNOWN, HELD, DISMISSED)"
                ))
            })
    }
}

/// A document the ledger tracks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocRecord {
    /// Deterministic key, e.g. `amz:A1SELLER:order:028-1234567-1234567:invoice`.
    pub key: String,
    /// Flow that owns it (`orders`, `settlements`, `items`).
    pub flow: String,
    /// Target document kind (`invoice`, `incoming_payment`, `journal_entry`, ...).
    pub kind: String,
    /// Current state.
    pub state: DocState,
    /// Raw source it was planned from.
    pub source_id: Option<i64>,
    /// The planned request body (redacted of secrets; documents carry no secrets).
    pub payload: String,
    /// SAP DocEntry once posted.
    pub doc_entry: Option<i64>,
    /// SAP DocNum once posted.
    pub doc_num: Option<i64>,
    /// Why it is held or failed.
    pub reason: Option<String>,
    /// Sends attempted.
    pub attempts: i64,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// One audit row: append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// Sequence number.
    pub id: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Document key (or a flow-level subject such as `cursor:orders`).
    pub key: String,
    /// What happened (`state`, `request`, `response`, `lookup`, `cursor`, ...).
    pub event: String,
    /// State before, for state changes.
    pub from_state: Option<String>,
    /// State after, for state changes.
    pub to_state: Option<String>,
    /// Redacted detail (JSON or text).
    pub detail: String,
}

/// A stored raw source (settlement file, order JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Row id.
    pub id: i64,
    /// Kind (`order`, `settlement_report`, ...).
    pub kind: String,
    /// External id (order id, settlement id).
    pub external_id: String,
    /// SHA-256 of the body, hex.
    pub sha256: String,
    /// The bytes as received.
    pub body: Vec<u8>,
}

/// A filter for listing documents.
#[derive(Debug, Clone, Default)]
pub struct DocFilter {
    /// Only this state.
    pub state: Option<DocState>,
    /// Only keys containing this text.
    pub key_contains: Option<String>,
    /// Only this flow.
    pub flow: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
}

/// Ledger errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The database failed. SQLite's own cause is part of the message, not a source of its own,
    /// so a chain prints it once.
    #[error("ledger database: {}", db_message(.0))]
    Db(rusqlite::Error),
    /// The PostgreSQL ledger failed.
    #[error("ledger database (PostgreSQL): {}", postgres::message(.0))]
    Postgres(#[from] ::postgres::Error),
    /// This process no longer holds the tenant's lease: another worker owns it now.
    #[error("lease lost: {0}")]
    Fenced(String),
    /// A state change that the lifecycle does not allow.
    #[error("{key}: cannot move from {from} to {to}")]
    Transition {
        /// Document key.
        key: String,
        /// Current state.
        from: DocState,
        /// Requested state.
        to: DocState,
    },
    /// No such document.
    #[error("no document with key `{0}` in the ledger")]
    NotFound(String),
    /// Anything else the caller got wrong.
    #[error("{0}")]
    Invalid(String),
    /// The ledger file was deleted or replaced under the running process.
    #[error("{0}")]
    Gone(String),
}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Db(e)
    }
}

/// SQLite's message, and what to do when it says the file is damaged.
fn db_message(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    let damaged = matches!(e.sqlite_error_code(), Some(DatabaseCorrupt | NotADatabase));
    if damaged {
        format!(
            "{e}: the ledger file (workspace.ledger) is damaged and nothing more was written to it. Restore it from a backup, or move it aside (keep it: it holds the audit trail) and run again with a new one: documents already in SAP are found by their keys and not posted twice"
        )
    } else {
        e.to_string()
    }
}

/// What `plan` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// New: stored as PLANNED (or HELD when planned with a hold reason).
    New,
    /// Already known in this state: nothing changed.
    Existing(DocState),
}

/// The ledger operations the flows need.
pub trait Ledger: Send {
    /// Stores a raw source (deduplicated by kind, external id and hash); returns its id.
    fn put_source(
        &mut self,
        kind: &str,
        external_id: &str,
        body: &[u8],
    ) -> Result<i64, LedgerError>;
    /// Reads a raw source.
    fn source(&self, id: i64) -> Result<Source, LedgerError>;
    /// The latest stored source of a kind and external id (e.g. a settlement by its id).
    fn latest_source(&self, kind: &str, external_id: &str) -> Result<Option<Source>, LedgerError>;
    /// Records a planned document unless its key is known; `hold` stores it HELD with the reason.
    fn plan(
        &mut self,
        key: &str,
        flow: &str,
        kind: &str,
        source_id: Option<i64>,
        payload: &str,
        hold: Option<&str>,
    ) -> Result<Planned, LedgerError>;
    /// Plans a document (or a reason to hold it) under its key whatever state the key is in: the
    /// one call every flow makes (see [`PlanStatus`] for what comes back).
    fn plan_or_replan(&mut self, req: &PlanRequest<'_>) -> Result<PlanStatus, LedgerError> {
        planning::plan_or_replan(self, req)
    }
    /// Moves a document to `to`, auditing the change with `detail` (redacted by the caller's data).
    fn transition(&mut self, key: &str, to: DocState, detail: &str) -> Result<(), LedgerError>;
    /// Moves a document to POSTED with SAP's DocEntry and DocNum.
    fn mark_posted(
        &mut self,
        key: &str,
        doc_entry: i64,
        doc_num: Option<i64>,
        detail: &str,
    ) -> Result<(), LedgerError>;
    /// Replaces the payload (and source) of a HELD or FAILED document being re-planned.
    fn replan(
        &mut self,
        key: &str,
        payload: &str,
        source_id: Option<i64>,
    ) -> Result<(), LedgerError>;
    /// Appends an audit row that is not a state change (request/response summaries).
    fn audit(&mut self, key: &str, event: &str, detail: &str) -> Result<(), LedgerError>;
    /// A document by key.
    fn get(&self, key: &str) -> Result<Option<DocRecord>, LedgerError>;
    /// Documents by filter, oldest first.
    fn list(&self, filter: &DocFilter) -> Result<Vec<DocRecord>, LedgerError>;
    /// Audit rows, optionally of one key, oldest first.
    fn audit_rows(
        &self,
        key: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditRow>, LedgerError>;
    /// Documents per (flow, state).
    fn counts(&self) -> Result<BTreeMap<(String, DocState), i64>, LedgerError>;
    /// A flow's cursor.
    fn cursor(&self, flow: &str) -> Result<Option<String>, LedgerError>;
    /// Advances a flow's cursor (call only after the records it covers are committed).
    fn set_cursor(&mut self, flow: &str, value: &str) -> Result<(), LedgerError>;
    /// All cursors.
    fn cursors(&self) -> Result<Vec<(String, String, String)>, LedgerError>;
    /// Every listing the items flow knows (SKU, marketplace, channel, last pushed price and quantity).
    fn listing_states(&self) -> Result<Vec<ListingState>, LedgerError>;
    /// Stores listing states and appends audit rows `(key, event, detail)`, all in one transaction.
    fn put_listing_states(
        &mut self,
        states: &[ListingState],
        audit: &[(String, String, String)],
    ) -> Result<(), LedgerError>;
    /// Starts a transaction that the writes up to [`Ledger::end_group`] join (see
    /// `<dyn Ledger>::group`, which pairs the two).
    fn begin_group(&mut self) -> Result<(), LedgerError>;
    /// Commits (or rolls back) the transaction [`Ledger::begin_group`] started.
    fn end_group(&mut self, commit: bool) -> Result<(), LedgerError>;
    /// Starts a transaction whose commit ([`Ledger::end_deferred_group`]) does not wait for the
    /// disk (see `<dyn Ledger>::group_deferred`). A backend whose commits are cheap to make durable
    /// keeps the default: an ordinary group.
    fn begin_deferred_group(&mut self) -> Result<(), LedgerError> {
        self.begin_group()
    }
    /// Commits (or rolls back) the transaction [`Ledger::begin_deferred_group`] started, and says
    /// what still makes it durable. The default commits durably.
    fn end_deferred_group(&mut self, commit: bool) -> Result<Durability, LedgerError> {
        self.end_group(commit).map(|()| Durability::Durable)
    }
}

impl dyn Ledger + '_ {
    /// Runs `f` as one transaction: its changes are committed together, or none of them when it
    /// fails.
    pub fn group<R>(
        &mut self,
        f: impl FnOnce(&mut dyn Ledger) -> Result<R, LedgerError>,
    ) -> Result<R, LedgerError> {
        self.begin_group()?;
        match f(self) {
            Ok(r) => {
                self.end_group(true)?;
                Ok(r)
            }
            Err(e) => {
                let _ = self.end_group(false);
                Err(e)
            }
        }
    }

    /// Runs `f` as one transaction committed without waiting for the disk (group commit): the
    /// returned [`Durability`] is waited for (outside the ledger's lock) before anything may depend
    /// on the changes surviving a power loss, and any later sync or durable commit covers them too.
    /// A process crash loses nothing committed here; a power loss loses at most the newest commits
    /// nobody waited for, in order (never an older one while keeping a newer one).
    pub fn group_deferred<R>(
        &mut self,
        f: impl FnOnce(&mut dyn Ledger) -> Result<R, LedgerError>,
    ) -> Result<(R, Durability), LedgerError> {
        self.begin_deferred_group()?;
        match f(self) {
            Ok(r) => Ok((r, self.end_deferred_group(true)?)),
            Err(e) => {
                let _ = self.end_deferred_group(false);
                Err(e)
            }
        }
    }
}
