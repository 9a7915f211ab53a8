//! The PostgreSQL schema and its migrations.
//!
//! Every ledger table carries `tenant_id`: a fleet keeps many sellers in one database, and the
//! database itself keeps them apart (row-level security on `mlc.tenant`, forced for the owner too)
//! beside the `tenant_id = $1` in every query. The audit trail is append-only by triggers, as in
//! the SQLite ledger. Keys and texts that are sorted use the "C" collation so that PostgreSQL
//! orders them as SQLite does (bytewise), whatever the database's locale.

use ::postgres::Client;

use crate::ledger::LedgerError;

/// Migrations, applied in order; the index + 1 is the version stored in `mlc_schema`.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE tenants (
    id TEXT COLLATE "C" PRIMARY KEY,
    seller_id TEXT,
    sap_company TEXT,
    config TEXT,
    credentials BYTEA,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    removed_at TIMESTAMPTZ
);
CREATE TABLE leases (
    tenant_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants(id),
    owner TEXT,
    generation BIGINT NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
    acquired_at TIMESTAMPTZ,
    last_run_at TIMESTAMPTZ
);
CREATE TABLE sources (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    external_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    body BYTEA NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (tenant_id, kind, external_id, sha256)
);
CREATE TABLE documents (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    key TEXT COLLATE "C" NOT NULL,
    flow TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('PLANNED','SENDING','POSTED','FAILED','UNKNOWN','HELD')),
    source_id BIGINT REFERENCES sources(id),
    payload TEXT NOT NULL,
    doc_entry BIGINT,
    doc_num BIGINT,
    reason TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX documents_state ON documents (tenant_id, state);
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    at TEXT NOT NULL,
    key TEXT NOT NULL,
    event TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_key ON audit (tenant_id, key);
CREATE FUNCTION mlc_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION mlc_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION mlc_audit_append_only();
CREATE TABLE cursors (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    flow TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, flow)
);
CREATE TABLE listings (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    sku TEXT COLLATE "C" NOT NULL,
    marketplace TEXT COLLATE "C" NOT NULL,
    item_code TEXT NOT NULL,
    channel TEXT,
    product_type TEXT,
    currency TEXT,
    price TEXT,
    quantity BIGINT,
    status TEXT NOT NULL,
    sent_price TEXT,
    sent_quantity BIGINT,
    submission TEXT,
    issues TEXT,
    problem_key TEXT,
    pushed_at TEXT,
    checked_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku, marketplace)
);
CREATE INDEX listings_status ON listings (tenant_id, status);
CREATE TABLE workers (
    id TEXT COLLATE "C" PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_ttl_secs DOUBLE PRECISION NOT NULL DEFAULT 30,
    stopped_at TIMESTAMPTZ
);
CREATE TABLE flow_runs (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    flow TEXT COLLATE "C" NOT NULL,
    last_ok_at TIMESTAMPTZ,
    last_error_at TIMESTAMPTZ,
    last_error TEXT,
    last_worker TEXT,
    runs BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, flow)
);
"#];

/// Migrations after [`ISOLATION`] (version 2), in order: version 3 is the first.
const LATER: &[&str] = &[
    // 3: DISMISSED (a person decided a held document is not to be posted), as the SQLite ledger's
    // migration 3. The column's CHECK has PostgreSQL's default name.
    r#"
ALTER TABLE documents DROP CONSTRAINT documents_state_check;
ALTER TABLE documents ADD CONSTRAINT documents_state_check
    CHECK (state IN ('PLANNED','SENDING','POSTED','FAILED','UNKNOWN','HELD','DISMISSED'));
"#,
    // 4: a tenant's files (settlement mapping, SAP CA certificate) stored with it, so that a
    // worker on any machine needs nothing on its disk.
    r#"
ALTER TABLE tenants ADD COLUMN mapping_file BYTEA, ADD COLUMN ca_file BYTEA;
"#,
];

/// Row-level security on every ledger table: a connection sees the rows of the tenant named in its
/// `mlc.tenant` setting, or every tenant's when that is `*` (fleet-wide reads). It guards against a
/// query that forgets its `tenant_id`; it is not a barrier against someone who can set `mlc.tenant`.
const ISOLATION: &str = r#"
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['sources', 'documents', 'audit', 'cursors', 'listings'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_rows ON %I USING (current_setting(''mlc.tenant'', true) IN (tenant_id, ''*''))',
            t);
    END LOOP;
END $$;
"#;

/// Creates or upgrades the schema. Concurrent callers (workers starting together) are serialized
/// by a transaction-scoped advisory lock, so each migration is applied once.
pub(crate) fn migrate(client: &mut Client) -> Result<(), LedgerError> {
    let mut tx = client.transaction()?;
    // Any fixed number: it names "the ml-connector schema" among advisory locks.
    tx.execute("SELECT pg_advisory_xact_lock(7202612021)", &[])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS mlc_schema (version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    let version: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM mlc_schema", &[])?
        .get(0);
    let all: Vec<String> = MIGRATIONS
        .iter()
        .map(|m| (*m).to_owned())
        .chain([ISOLATION.to_owned()])
        .chain(LATER.iter().map(|m| (*m).to_owned()))
        .collect();
    if version as usize > all.len() {
        return Err(LedgerError::Invalid(format!(
            "the PostgreSQL ledger is at schema version {version}, newer than this ml-connector knows ({}); upgrade ml-connector",
            all.len()
        )));
    }
    for (i, sql) in all.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO mlc_schema (version) VALUES ($1)",
            &[&(i as i32 + 1)],
        )?;
    }
    tx.commit()?;
    Ok(())
}
