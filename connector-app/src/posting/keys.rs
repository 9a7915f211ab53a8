//! SAP-enforced exactly-once: a user-defined table of idempotency keys in the company itself.
//!
//! SAP Business One has no unique constraint on `NumAtCard` or a reference, so a lookup before a
//! POST is check-then-act: two connectors writing to one company (a server move while the old host
//! still runs, a restored backup, a test machine pointed at production) both post. A user table's
//! `Code` is its primary key, and SAP refuses a second insert of the same `Code` ("This entry
//! already exists in the following tables", -2035). Inside a `$batch` changeset the key row and the
//! document commit or roll back together (Service Layer user guide, "Batch Operations"), so the key
//! row exists exactly when the document does: whoever inserts it first posts the document, the
//! other is refused and records the document as found.
//!
//! The table (`MLC_KEYS`, no-object type) is created by `ml-connector setup`; SAP shows a new table
//! to the Service Layer only after the Service Layer is restarted (user guide, "Limitations").

use std::fmt::Write as _;

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use sap_b1_client::entities::{UserFieldMD, UserTableMD, UserTableRow};
use sap_b1_client::{Error as SapError, Query, SapClient};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The fields of the key table: (name without `U_`, type, size, description).
pub const KEY_FIELDS: [(&str, &str, i32, &str); 5] = [
    ("Key", "db_Alpha", 254, "ml-connector ledger key"),
    ("Kind", "db_Alpha", 30, "document kind"),
    (
        "Instance",
        "db_Alpha",
        100,
        "connector instance that posted it",
    ),
    ("At", "db_Alpha", 30, "when (UTC, RFC 3339)"),
    ("DocEntry", "db_Numeric", 11, "DocEntry when known"),
];

/// How long a writer's lease on a seller's documents in one company lasts without renewal.
pub const LEASE_TTL_MINUTES: i64 = 30;

/// The key table of one company, as this connector instance writes to it.
#[derive(Debug, Clone)]
pub struct KeyTable {
    table: String,
    instance: String,
}

/// A key row read back: who posted the document and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// The connector instance that posted it.
    pub instance: String,
    /// When (as written).
    pub at: String,
    /// DocEntry, when it was recorded.
    pub doc_entry: Option<i64>,
}

/// SAP's answer to a second insert of a primary key: -2035 ("This entry already exists").
pub fn is_duplicate_key(error: &SapError) -> bool {
    let server = match error {
        SapError::Validation(s) | SapError::Conflict(s) => s,
        _ => return false,
    };
    server.code.as_ref().and_then(|c| c.as_i64()) == Some(-2035)
}

fn text(row: &UserTableRow, field: &str) -> String {
    row.udf(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl KeyTable {
    /// The table `table` (without `@`) written to by `instance`.
    pub fn new(table: impl Into<String>, instance: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            instance: instance.into(),
        }
    }

    /// The table's name (without `@`).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// This connector instance's id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The entity set SAP exposes the table as (`U_MLC_KEYS`).
    pub fn entity_set(&self) -> String {
        format!("U_{}", self.table)
    }

    /// The row's `Code` for a ledger key: a stable hash that fits SAP's 50 characters (`Code`
    /// is the table's primary key; the full key is in `U_Key`).
    pub fn code(key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let mut code = String::with_capacity(48);
        for b in &digest[..24] {
            let _ = write!(code, "{b:02x}");
        }
        code
    }

    /// The row inserted in the same changeset as the document.
    pub fn row(&self, key: &str, kind: &str, now: DateTime<Utc>) -> Value {
        json!({
            "Code": Self::code(key),
            "Name": key.chars().take(100).collect::<String>(),
            "U_Key": key.chars().take(254).collect::<String>(),
            "U_Kind": kind,
            "U_Instance": self.instance,
            "U_At": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }

    /// Reads a key's row: `Some` when the document it guards is in SAP.
    pub async fn find(&self, sap: &SapClient, key: &str) -> Result<Option<KeyRow>> {
        match sap.user_table(&self.table).get(Self::code(key)).await {
            Ok(row) => Ok(Some(KeyRow {
                instance: text(&row, "U_Instance"),
                at: text(&row, "U_At"),
                doc_entry: row.udf("U_DocEntry").and_then(Value::as_i64),
            })),
            Err(SapError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the table is visible to the Service Layer (created and the service restarted).
    pub async fn exists(&self, sap: &SapClient) -> Result<bool> {
        match sap.user_table(&self.table).page(&Query::new().top(1)).await {
            Ok(_) => Ok(true),
            Err(SapError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes (or renews) this instance's lease on `scope` (a seller) in this company. Returns
    /// `Some(description)` when another instance holds an unexpired lease: both write to the same
    /// company for the same seller, which the key rows keep safe but a person should know about.
    /// The lease row is updated with `If-Match` on its ETag, so two instances never both take it.
    pub async fn take_lease(&self, sap: &SapClient, scope: &str) -> Result<Option<String>> {
        let set = sap.user_table(&self.table);
        let lease_key = format!("lease:{scope}");
        let code = Self::code(&lease_key);
        let now = Utc::now();
        let expiry = (now + Duration::minutes(LEASE_TTL_MINUTES))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for _ in 0..3 {
            let row = match set.get(code.clone()).await {
                Ok(row) => row,
                Err(SapError::NotFound(_)) => {
                    let mut fresh: UserTableRow =
                        serde_json::from_value(self.row(&lease_key, "lease", now))?;
                    fresh
                        .extra
                        .insert("U_At".into(), Value::String(expiry.clone()));
                    match set.create(&fresh).await {
                        Ok(_) => return Ok(None),
                        Err(e) if is_duplicate_key(&e) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            };
            let holder = text(&row, "U_Instance");
            let until = text(&row, "U_At");
            let expired = DateTime::parse_from_rfc3339(&until).map_or(true, |t| t < now);
            if holder != self.instance && !expired {
                return Ok(Some(format!(
                    "another ml-connector instance ({holder}) is writing to this SAP company for seller {scope} (its lease runs until {until}); the key table keeps each document single, but two instances should not run at once"
                )));
            }
            let patch = json!({"U_Instance": self.instance, "U_At": expiry});
            let result = match row.etag() {
                Some(etag) => set.update_if_match(code.clone(), etag, &patch).await,
                None => set.update(code.clone(), &patch).await,
            };
            match result {
                Ok(()) => return Ok(None),
                // Someone renewed it between our read and our write: read again.
                Err(SapError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Some(format!(
            "the lease on seller {scope} in this SAP company keeps changing hands: another ml-connector instance is writing at the same time"
        )))
    }

    /// Creates the table and its fields where they are missing (`ml-connector setup`); returns
    /// what was created. SAP shows them to the Service Layer only after it is restarted.
    pub async fn create(&self, sap: &SapClient) -> Result<Vec<String>> {
        let mut created = Vec::new();
        let tables = sap.entity_set::<UserTableMD>();
        match tables.get(self.table.clone()).await {
            Ok(_) => {}
            Err(SapError::NotFound(_)) => {
                tables
                    .create(&UserTableMD {
                        table_name: Some(self.table.clone()),
                        table_description: Some("ml-connector idempotency keys".into()),
                        table_type: Some("bott_NoObject".into()),
                        ..UserTableMD::default()
                    })
                    .await?;
                created.push(format!("user table @{}", self.table));
            }
            Err(e) => return Err(e.into()),
        }
        let at_table = format!("@{}", self.table);
        let existing: Vec<UserFieldMD> = sap
            .entity_set::<UserFieldMD>()
            .page(&Query::new().filter(sap_b1_client::prop("TableName").eq(at_table.as_str())))
            .await?
            .items;
        for (name, kind, size, description) in KEY_FIELDS {
            if existing.iter().any(|f| f.name.as_deref() == Some(name)) {
                continue;
            }
            sap.entity_set::<UserFieldMD>()
                .create(&UserFieldMD {
                    name: Some(name.into()),
                    field_type: Some(kind.into()),
                    size: Some(size),
                    description: Some(description.into()),
                    table_name: Some(at_table.clone()),
                    ..UserFieldMD::default()
                })
                .await?;
            created.push(format!("field U_{name} on @{}", self.table));
        }
        Ok(created)
    }
}

/// A stable id of this connector instance: the host and a hash of the workspace's ledger path, so
/// two workspaces (or two hosts) are told apart in the key rows.
pub fn instance_id(ledger: &std::path::Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".into());
    let path = std::fs::canonicalize(ledger).unwrap_or_else(|_| ledger.to_path_buf());
    let digest = Sha256::digest(path.to_string_lossy().as_bytes());
    let mut short = String::new();
    for b in &digest[..4] {
        let _ = write!(short, "{b:02x}");
    }
    format!("{host}/{short}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_short_and_distinct() {
        let a = KeyTable::code("amz:A1SELLER:order:028-1234567-1234567:invoice");
        assert_eq!(a.len(), 48, "fits SAP's 50-character Code");
        assert_eq!(
            a,
            KeyTable::code("amz:A1SELLER:order:028-1234567-1234567:invoice")
        );
        assert_ne!(
            a,
            KeyTable::code("amz:A1SELLER:order:028-1234567-1234568:invoice")
        );
        let t = KeyTable::new("MLC_KEYS", "host/abcd");
        let row = t.row(&"k".repeat(300), "invoice", Utc::now());
        assert_eq!(row["Name"].as_str().unwrap().len(), 100);
        assert_eq!(row["U_Key"].as_str().unwrap().len(), 254);
        assert_eq!(row["U_Instance"], "host/abcd");
        assert_eq!(t.entity_set(), "U_MLC_KEYS");
    }
}
