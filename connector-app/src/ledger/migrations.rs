//! The SQLite ledger's schema, as migrations applied in order (`PRAGMA user_version`).

/// Schema migrations; index + 1 is the `user_version` after applying it.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    external_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (kind, external_id, sha256)
);
CREATE TABLE documents (
    key TEXT PRIMARY KEY,
    flow TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('PLANNED','SENDING','POSTED','FAILED','UNKNOWN','HELD')),
    source_id INTEGER REFERENCES sources(id),
    payload TEXT NOT NULL,
    doc_entry INTEGER,
    doc_num INTEGER,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX documents_state ON documents (state);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    key TEXT NOT NULL,
    event TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_key ON audit (key);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE cursors (
    flow TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"#,
    super::listings::MIGRATION,
    // 3: DISMISSED (a person decided a held document is not to be posted). SQLite cannot alter a
    // CHECK constraint: the table is rebuilt (https://www.sqlite.org/lang_altertable.html#otheralter).
    r#"
CREATE TABLE documents_new (
    key TEXT PRIMARY KEY,
    flow TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('PLANNED','SENDING','POSTED','FAILED','UNKNOWN','HELD','DISMISSED')),
    source_id INTEGER REFERENCES sources(id),
    payload TEXT NOT NULL,
    doc_entry INTEGER,
    doc_num INTEGER,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO documents_new SELECT key, flow, kind, state, source_id, payload, doc_entry, doc_num, reason, attempts, created_at, updated_at FROM documents;
DROP TABLE documents;
ALTER TABLE documents_new RENAME TO documents;
CREATE INDEX documents_state ON documents (state);
"#,
];

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use crate::ledger::{DocState, Ledger, SqliteLedger};

    #[test]
    fn a_ledger_from_before_dismissed_keeps_its_documents_and_learns_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // A ledger as the previous release left it: the first two migrations.
            let conn = rusqlite::Connection::open(&path).unwrap();
            for (i, sql) in MIGRATIONS[..2].iter().enumerate() {
                conn.execute_batch(&format!("{sql}; PRAGMA user_version = {};", i + 1))
                    .unwrap();
            }
            conn.execute(
                "INSERT INTO documents (key, flow, kind, state, payload, reason, created_at, updated_at)
                 VALUES ('k', 'settlements', 'settlement', 'HELD', '{}', 'unmapped', 't', 't')",
                [],
            )
            .unwrap();
            assert!(
                conn.execute("UPDATE documents SET state = 'DISMISSED'", [])
                    .is_err(),
                "the old schema refuses the new state"
            );
        }
        let mut l = SqliteLedger::open(&path).unwrap();
        let rec = l.get("k").unwrap().unwrap();
        assert_eq!(
            (rec.state, rec.reason.as_deref()),
            (DocState::Held, Some("unmapped"))
        );
        l.transition("k", DocState::Dismissed, "dismissed: wrong file")
            .unwrap();
        assert_eq!(l.get("k").unwrap().unwrap().state, DocState::Dismissed);
    }
}
