//! The embedded SQLite ledger (one file, WAL, migrations by `user_version`).

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::durability::{Durability, WalSync};
use super::file_identity::FileIdentity;
use super::migrations::MIGRATIONS;
use super::{AuditRow, DocFilter, DocRecord, DocState, Ledger, LedgerError, Planned, Source};

/// SQLite implementation of [`Ledger`].
pub struct SqliteLedger {
    conn: Connection,
    /// The file opened (none in memory): a write after it was deleted or replaced is refused.
    file: Option<FileIdentity>,
    /// Syncs the file's write-ahead log for deferred groups (none in memory).
    wal: Option<Arc<WalSync>>,
    /// Inside a group: the file was checked when it began, each change need not check it again.
    in_group: bool,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl SqliteLedger {
    /// Runs `f` as one transaction: its changes are committed together (one disk sync instead of
    /// one per change), or none of them when it fails.
    pub fn group<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, LedgerError>,
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

    /// Opens (creating and migrating) the ledger file.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        // The ledger holds the seller's financial data: a new one is private to its owner (SQLite
        // gives its -wal and -shm files the database file's permissions).
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                // Let SQLite report what is wrong with the path.
                Err(_) => {}
            }
        }
        let conn = Connection::open(path)?;
        let mut ledger = Self::init(conn)?;
        ledger.file = Some(FileIdentity::of(path)?);
        ledger.wal = Some(Arc::new(WalSync::new(path)));
        Ok(ledger)
    }

    /// Refuses to write once the ledger file was deleted or replaced under this process: SQLite
    /// would go on writing to the unlinked file, and the audit trail would be lost silently.
    fn check_file(&self) -> Result<(), LedgerError> {
        match &self.file {
            Some(file) => file.check(),
            None => Ok(()),
        }
    }

    /// An in-memory ledger (tests, dry runs).
    pub fn in_memory() -> Result<Self, LedgerError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, LedgerError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            conn.execute_batch(&format!(
                "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
                i + 1
            ))?;
        }
        Ok(Self {
            conn,
            file: None,
            wal: None,
            in_group: false,
        })
    }

    fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<DocRecord> {
        let state: String = row.get("state")?;
        Ok(DocRecord {
            key: row.get("key")?,
            flow: row.get("flow")?,
            kind: row.get("kind")?,
            state: DocState::from_str(&state).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
            source_id: row.get("source_id")?,
            payload: row.get("payload")?,
            doc_entry: row.get("doc_entry")?,
            doc_num: row.get("doc_num")?,
            reason: row.get("reason")?,
            attempts: row.get("attempts")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }

    fn state_of(&self, key: &str) -> Result<DocState, LedgerError> {
        // The state alone (not the payload): this runs before every change. Cached statements
        // here and below: a request of 20 documents makes 40 changes.
        let state: Option<String> = self
            .conn
            .prepare_cached("SELECT state FROM documents WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        match state {
            Some(state) => DocState::from_str(&state),
            None => Err(LedgerError::NotFound(key.to_owned())),
        }
    }

    fn change(
        &mut self,
        key: &str,
        to: DocState,
        detail: &str,
        update: impl FnOnce(&rusqlite::Connection, &str) -> rusqlite::Result<usize>,
    ) -> Result<(), LedgerError> {
        if !self.in_group {
            self.check_file()?;
        }
        let from = self.state_of(key)?;
        if !from.can_move_to(to) {
            return Err(LedgerError::Transition {
                key: key.to_owned(),
                from,
                to,
            });
        }
        let at = now();
        // A savepoint: its own transaction, or part of an enclosing [`SqliteLedger::group`].
        let tx = self.conn.savepoint()?;
        update(&tx, &at)?;
        tx.prepare_cached(
            "INSERT INTO audit (at, key, event, from_state, to_state, detail) VALUES (?1, ?2, 'state', ?3, ?4, ?5)",
        )?
        .execute(params![at, key, from.as_str(), to.as_str(), detail])?;
        tx.commit()?;
        Ok(())
    }
}

impl Ledger for SqliteLedger {
    fn put_source(
        &mut self,
        kind: &str,
        external_id: &str,
        body: &[u8],
    ) -> Result<i64, LedgerError> {
        self.check_file()?;
        let sha = Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        self.conn.execute(
            "INSERT OR IGNORE INTO sources (kind, external_id, sha256, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![kind, external_id, sha, body, now()],
        )?;
        Ok(self.conn.query_row(
            "SELECT id FROM sources WHERE kind = ?1 AND external_id = ?2 AND sha256 = ?3",
            params![kind, external_id, sha],
            |r| r.get(0),
        )?)
    }

    fn source(&self, id: i64) -> Result<Source, LedgerError> {
        self.conn
            .query_row(
                "SELECT id, kind, external_id, sha256, body FROM sources WHERE id = ?1",
                [id],
                |r| {
                    Ok(Source {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        external_id: r.get(2)?,
                        sha256: r.get(3)?,
                        body: r.get(4)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(format!("source #{id}")))
    }

    fn latest_source(&self, kind: &str, external_id: &str) -> Result<Option<Source>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, kind, external_id, sha256, body FROM sources WHERE kind = ?1 AND external_id = ?2 ORDER BY id DESC LIMIT 1",
                params![kind, external_id],
                |r| Ok(Source { id: r.get(0)?, kind: r.get(1)?, external_id: r.get(2)?, sha256: r.get(3)?, body: r.get(4)? }),
            )
            .optional()?)
    }

    fn plan(
        &mut self,
        key: &str,
        flow: &str,
        kind: &str,
        source_id: Option<i64>,
        payload: &str,
        hold: Option<&str>,
    ) -> Result<Planned, LedgerError> {
        self.check_file()?;
        if let Some(existing) = self.get(key)? {
            return Ok(Planned::Existing(existing.state));
        }
        let state = if hold.is_some() {
            DocState::Held
        } else {
            DocState::Planned
        };
        let at = now();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO documents (key, flow, kind, state, source_id, payload, reason, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![key, flow, kind, state.as_str(), source_id, payload, hold, at],
        )?;
        tx.execute(
            "INSERT INTO audit (at, key, event, from_state, to_state, detail) VALUES (?1, ?2, 'state', NULL, ?3, ?4)",
            params![at, key, state.as_str(), hold.unwrap_or("planned")],
        )?;
        tx.commit()?;
        Ok(Planned::New)
    }

    fn transition(&mut self, key: &str, to: DocState, detail: &str) -> Result<(), LedgerError> {
        let reason = matches!(
            to,
            DocState::Held | DocState::Failed | DocState::Unknown | DocState::Dismissed
        )
        .then_some(detail);
        let sending = to == DocState::Sending;
        self.change(key, to, detail, |tx, at| {
            tx.prepare_cached(
                "UPDATE documents SET state = ?2, reason = COALESCE(?3, CASE WHEN ?2 = 'PLANNED' OR ?2 = 'SENDING' THEN reason ELSE NULL END),
                 attempts = attempts + ?4, updated_at = ?5 WHERE key = ?1",
            )?
            .execute(params![key, to.as_str(), reason, i64::from(sending), at])
        })
    }

    fn mark_posted(
        &mut self,
        key: &str,
        doc_entry: i64,
        doc_num: Option<i64>,
        detail: &str,
    ) -> Result<(), LedgerError> {
        self.change(key, DocState::Posted, detail, |tx, at| {
            tx.prepare_cached(
                "UPDATE documents SET state = 'POSTED', doc_entry = ?2, doc_num = ?3, reason = NULL, updated_at = ?4 WHERE key = ?1",
            )?
            .execute(params![key, doc_entry, doc_num, at])
        })
    }

    fn replan(
        &mut self,
        key: &str,
        payload: &str,
        source_id: Option<i64>,
    ) -> Result<(), LedgerError> {
        let state = self.state_of(key)?;
        if !matches!(state, DocState::Held | DocState::Failed) {
            return Err(LedgerError::Transition {
                key: key.to_owned(),
                from: state,
                to: DocState::Planned,
            });
        }
        self.change(key, DocState::Planned, "re-planned from its source", |tx, at| {
            tx.execute(
                "UPDATE documents SET state = 'PLANNED', payload = ?2, source_id = COALESCE(?3, source_id), reason = NULL, updated_at = ?4 WHERE key = ?1",
                params![key, payload, source_id, at],
            )
        })
    }

    fn audit(&mut self, key: &str, event: &str, detail: &str) -> Result<(), LedgerError> {
        self.check_file()?;
        self.conn.execute(
            "INSERT INTO audit (at, key, event, detail) VALUES (?1, ?2, ?3, ?4)",
            params![now(), key, event, detail],
        )?;
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<DocRecord>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached("SELECT * FROM documents WHERE key = ?1")?
            .query_row([key], Self::record)
            .optional()?)
    }

    fn list(&self, filter: &DocFilter) -> Result<Vec<DocRecord>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT * FROM documents
             WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR instr(key, ?2) > 0) AND (?3 IS NULL OR flow = ?3)
             ORDER BY created_at, key LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                filter.state.map(DocState::as_str),
                filter.key_contains,
                filter.flow,
                filter.limit.map_or(-1, i64::from)
            ],
            Self::record,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn audit_rows(
        &self,
        key: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditRow>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, key, event, from_state, to_state, detail FROM audit
             WHERE (?1 IS NULL OR key = ?1) ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![key, limit.map_or(-1, i64::from)], |r| {
            Ok(AuditRow {
                id: r.get(0)?,
                at: r.get(1)?,
                key: r.get(2)?,
                event: r.get(3)?,
                from_state: r.get(4)?,
                to_state: r.get(5)?,
                detail: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn counts(&self) -> Result<BTreeMap<(String, DocState), i64>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT flow, state, COUNT(*) FROM documents GROUP BY flow, state")?;
        let mut out = BTreeMap::new();
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (flow, state, n) = row?;
            out.insert((flow, DocState::from_str(&state)?), n);
        }
        Ok(out)
    }

    fn cursor(&self, flow: &str) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM cursors WHERE flow = ?1", [flow], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_cursor(&mut self, flow: &str, value: &str) -> Result<(), LedgerError> {
        self.check_file()?;
        let at = now();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO cursors (flow, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (flow) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![flow, value, at],
        )?;
        tx.execute(
            "INSERT INTO audit (at, key, event, detail) VALUES (?1, ?2, 'cursor', ?3)",
            params![at, format!("cursor:{flow}"), value],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn cursors(&self) -> Result<Vec<(String, String, String)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT flow, value, updated_at FROM cursors ORDER BY flow")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn listing_states(&self) -> Result<Vec<super::ListingState>, LedgerError> {
        super::listings::all(&self.conn)
    }

    fn put_listing_states(
        &mut self,
        states: &[super::ListingState],
        audit: &[(String, String, String)],
    ) -> Result<(), LedgerError> {
        self.check_file()?;
        super::listings::put(&mut self.conn, states, audit, &now())
    }

    fn begin_group(&mut self) -> Result<(), LedgerError> {
        self.check_file()?;
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.in_group = true;
        Ok(())
    }

    fn end_group(&mut self, commit: bool) -> Result<(), LedgerError> {
        self.in_group = false;
        Ok(self
            .conn
            .execute_batch(if commit { "COMMIT" } else { "ROLLBACK" })?)
    }

    /// `synchronous = NORMAL` for this transaction only (SQLite refuses to change it inside one):
    /// its commit writes the WAL frames without syncing them; [`WalSync`] syncs them later, outside
    /// the ledger's lock, for every transaction committed by then.
    fn begin_deferred_group(&mut self) -> Result<(), LedgerError> {
        if self.wal.is_none() {
            return self.begin_group();
        }
        self.check_file()?;
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE")
            .inspect_err(|_| {
                let _ = self.conn.execute_batch("PRAGMA synchronous = FULL");
            })?;
        self.in_group = true;
        Ok(())
    }

    fn end_deferred_group(&mut self, commit: bool) -> Result<Durability, LedgerError> {
        let Some(wal) = self.wal.clone() else {
            return self.end_group(commit).map(|()| Durability::Durable);
        };
        self.in_group = false;
        let ended = self
            .conn
            .execute_batch(if commit { "COMMIT" } else { "ROLLBACK" });
        if ended.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        // Every other write stays synced at its commit, as before.
        let restored = self.conn.execute_batch("PRAGMA synchronous = FULL");
        ended?;
        restored?;
        Ok(if commit {
            Durability::Pending {
                ticket: wal.committed(),
                sync: wal,
            }
        } else {
            Durability::Durable
        })
    }
}

#[cfg(test)]
impl SqliteLedger {
    /// Runs raw SQL on the connection (the shared suite's tamper checks).
    pub(super) fn raw_execute(&self, sql: &str) -> Result<usize, LedgerError> {
        Ok(self.conn.execute(sql, [])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferred_group_is_synced_later_and_other_writes_stay_synchronous() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = SqliteLedger::open(&dir.path().join("ledger.sqlite")).unwrap();
        l.plan("k:1", "orders", "invoice", None, "{}", None)
            .unwrap();
        let deferred = |l: &mut dyn Ledger| {
            l.group_deferred(|l| l.transition("k:1", DocState::Sending, "POST $batch"))
                .unwrap()
                .1
        };
        let durable = deferred(&mut l);
        let Durability::Pending { sync, .. } = &durable else {
            panic!("a ledger file defers the sync of a deferred group: {durable:?}")
        };
        let sync = sync.clone();
        let level: i64 = l
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(level, 2, "synchronous = FULL again for every other write");
        assert_eq!(sync.syncs(), 0, "nothing synced before someone waits");
        durable.wait().unwrap();
        assert_eq!(sync.syncs(), 1);
        // In memory there is no disk to wait for.
        let mut m = SqliteLedger::in_memory().unwrap();
        m.plan("k:1", "orders", "invoice", None, "{}", None)
            .unwrap();
        assert!(matches!(deferred(&mut m), Durability::Durable));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_ledger_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let mut l = SqliteLedger::open(&path).unwrap();
        l.put_source("order", "1", b"{}").unwrap();
        for file in ["ledger.sqlite", "ledger.sqlite-wal"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{file}: {mode:o}");
        }
    }
}
