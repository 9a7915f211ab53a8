//! [`Ledger`] on PostgreSQL: sources, documents and their lifecycle, audit, cursors.

use std::collections::BTreeMap;
use std::str::FromStr;

use ::postgres::{Client, Row};
use chrono::{SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use super::PgLedger;
use crate::ledger::{
    AuditRow, DocFilter, DocRecord, DocState, Ledger, LedgerError, ListingState, Planned, Source,
};

pub(super) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn record(row: &Row) -> Result<DocRecord, LedgerError> {
    Ok(DocRecord {
        key: row.try_get("key")?,
        flow: row.try_get("flow")?,
        kind: row.try_get("kind")?,
        state: DocState::from_str(row.try_get("state")?)?,
        source_id: row.try_get("source_id")?,
        payload: row.try_get("payload")?,
        doc_entry: row.try_get("doc_entry")?,
        doc_num: row.try_get("doc_num")?,
        reason: row.try_get("reason")?,
        attempts: row.try_get("attempts")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn source(row: &Row) -> Result<Source, LedgerError> {
    Ok(Source {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        external_id: row.try_get(2)?,
        sha256: row.try_get(3)?,
        body: row.try_get(4)?,
    })
}

const DOC_COLUMNS: &str = "key, flow, kind, state, source_id, payload, doc_entry, doc_num, reason, attempts, created_at, updated_at";

/// Inside a write: checks that `key` may move to `to` (locking its row), runs `update` with the
/// time, and audits the move.
fn change(
    c: &mut Client,
    tenant: &str,
    key: &str,
    to: DocState,
    detail: &str,
    update: impl FnOnce(&mut Client, &str) -> Result<u64, LedgerError>,
) -> Result<(), LedgerError> {
    let from = c
        .query_opt(
            "SELECT state FROM documents WHERE tenant_id = $1 AND key = $2 FOR UPDATE",
            &[&tenant, &key],
        )?
        .ok_or_else(|| LedgerError::NotFound(key.to_owned()))?;
    let from = DocState::from_str(from.try_get(0)?)?;
    if !from.can_move_to(to) {
        return Err(LedgerError::Transition {
            key: key.to_owned(),
            from,
            to,
        });
    }
    let at = now();
    update(c, &at)?;
    c.execute(
        "INSERT INTO audit (tenant_id, at, key, event, from_state, to_state, detail) VALUES ($1, $2, $3, 'state', $4, $5, $6)",
        &[&tenant, &at, &key, &from.as_str(), &to.as_str(), &detail],
    )?;
    Ok(())
}

impl Ledger for PgLedger {
    fn put_source(
        &mut self,
        kind: &str,
        external_id: &str,
        body: &[u8],
    ) -> Result<i64, LedgerError> {
        let sha = hex::encode(Sha256::digest(body));
        self.write(|c, t| {
            c.execute(
                "INSERT INTO sources (tenant_id, kind, external_id, sha256, body, received_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, kind, external_id, sha256) DO NOTHING",
                &[&t, &kind, &external_id, &sha, &body, &now()],
            )?;
            Ok(c.query_one(
                "SELECT id FROM sources WHERE tenant_id = $1 AND kind = $2 AND external_id = $3 AND sha256 = $4",
                &[&t, &kind, &external_id, &sha],
            )?
            .try_get(0)?)
        })
    }

    fn source(&self, id: i64) -> Result<Source, LedgerError> {
        let t = self.tenant.as_str();
        self.run(|c| {
            let row = c.query_opt(
                "SELECT id, kind, external_id, sha256, body FROM sources WHERE tenant_id = $1 AND id = $2",
                &[&t, &id],
            )?;
            row.as_ref()
                .map(source)
                .transpose()?
                .ok_or_else(|| LedgerError::NotFound(format!("source #{id}")))
        })
    }

    fn latest_source(&self, kind: &str, external_id: &str) -> Result<Option<Source>, LedgerError> {
        let t = self.tenant.as_str();
        self.run(|c| {
            c.query_opt(
                "SELECT id, kind, external_id, sha256, body FROM sources
                 WHERE tenant_id = $1 AND kind = $2 AND external_id = $3 ORDER BY id DESC LIMIT 1",
                &[&t, &kind, &external_id],
            )?
            .as_ref()
            .map(source)
            .transpose()
        })
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
        let state = if hold.is_some() {
            DocState::Held
        } else {
            DocState::Planned
        };
        self.write(|c, t| {
            let at = now();
            let inserted = c.execute(
                "INSERT INTO documents (tenant_id, key, flow, kind, state, source_id, payload, reason, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (tenant_id, key) DO NOTHING",
                &[&t, &key, &flow, &kind, &state.as_str(), &source_id, &payload, &hold, &at],
            )?;
            if inserted == 0 {
                let row = c.query_one(
                    "SELECT state FROM documents WHERE tenant_id = $1 AND key = $2",
                    &[&t, &key],
                )?;
                return Ok(Planned::Existing(DocState::from_str(row.try_get(0)?)?));
            }
            c.execute(
                "INSERT INTO audit (tenant_id, at, key, event, from_state, to_state, detail) VALUES ($1, $2, $3, 'state', NULL, $4, $5)",
                &[&t, &at, &key, &state.as_str(), &hold.unwrap_or("planned")],
            )?;
            Ok(Planned::New)
        })
    }

    fn transition(&mut self, key: &str, to: DocState, detail: &str) -> Result<(), LedgerError> {
        let reason = matches!(
            to,
            DocState::Held | DocState::Failed | DocState::Unknown | DocState::Dismissed
        )
        .then_some(detail);
        let sending = i64::from(to == DocState::Sending);
        self.write(|c, t| {
            change(c, t, key, to, detail, |c, at| {
                Ok(c.execute(
                    "UPDATE documents SET state = $3,
                         reason = COALESCE($4, CASE WHEN $3 IN ('PLANNED', 'SENDING') THEN reason ELSE NULL END),
                         attempts = attempts + $5, updated_at = $6
                     WHERE tenant_id = $1 AND key = $2",
                    &[&t, &key, &to.as_str(), &reason, &sending, &at],
                )?)
            })
        })
    }

    fn mark_posted(
        &mut self,
        key: &str,
        doc_entry: i64,
        doc_num: Option<i64>,
        detail: &str,
    ) -> Result<(), LedgerError> {
        self.write(|c, t| {
            change(c, t, key, DocState::Posted, detail, |c, at| {
                Ok(c.execute(
                    "UPDATE documents SET state = 'POSTED', doc_entry = $3, doc_num = $4, reason = NULL, updated_at = $5
                     WHERE tenant_id = $1 AND key = $2",
                    &[&t, &key, &doc_entry, &doc_num, &at],
                )?)
            })
        })
    }

    fn replan(
        &mut self,
        key: &str,
        payload: &str,
        source_id: Option<i64>,
    ) -> Result<(), LedgerError> {
        self.write(|c, t| {
            let state = c
                .query_opt(
                    "SELECT state FROM documents WHERE tenant_id = $1 AND key = $2 FOR UPDATE",
                    &[&t, &key],
                )?
                .ok_or_else(|| LedgerError::NotFound(key.to_owned()))?;
            let state = DocState::from_str(state.try_get(0)?)?;
            if !matches!(state, DocState::Held | DocState::Failed) {
                return Err(LedgerError::Transition {
                    key: key.to_owned(),
                    from: state,
                    to: DocState::Planned,
                });
            }
            change(c, t, key, DocState::Planned, "re-planned from its source", |c, at| {
                Ok(c.execute(
                    "UPDATE documents SET state = 'PLANNED', payload = $3, source_id = COALESCE($4, source_id), reason = NULL, updated_at = $5
                     WHERE tenant_id = $1 AND key = $2",
                    &[&t, &key, &payload, &source_id, &at],
                )?)
            })
        })
    }

    fn audit(&mut self, key: &str, event: &str, detail: &str) -> Result<(), LedgerError> {
        self.write(|c, t| {
            c.execute(
                "INSERT INTO audit (tenant_id, at, key, event, detail) VALUES ($1, $2, $3, $4, $5)",
                &[&t, &now(), &key, &event, &detail],
            )?;
            Ok(())
        })
    }

    fn get(&self, key: &str) -> Result<Option<DocRecord>, LedgerError> {
        let t = self.tenant.as_str();
        self.run(|c| {
            c.query_opt(
                &format!("SELECT {DOC_COLUMNS} FROM documents WHERE tenant_id = $1 AND key = $2"),
                &[&t, &key],
            )?
            .as_ref()
            .map(record)
            .transpose()
        })
    }

    fn list(&self, filter: &DocFilter) -> Result<Vec<DocRecord>, LedgerError> {
        let t = self.tenant.as_str();
        let state = filter.state.map(DocState::as_str);
        let limit = filter.limit.map(i64::from);
        let (contains, flow) = (filter.key_contains.as_deref(), filter.flow.as_deref());
        self.run(|c| {
            c.query(
                &format!(
                    "SELECT {DOC_COLUMNS} FROM documents
                     WHERE tenant_id = $1 AND ($2::TEXT IS NULL OR state = $2)
                       AND ($3::TEXT IS NULL OR strpos(key, $3) > 0) AND ($4::TEXT IS NULL OR flow = $4)
                     ORDER BY created_at, key LIMIT $5"
                ),
                &[&t, &state, &contains, &flow, &limit],
            )?
            .iter()
            .map(record)
            .collect()
        })
    }

    fn audit_rows(
        &self,
        key: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditRow>, LedgerError> {
        let t = self.tenant.as_str();
        let limit = limit.map(i64::from);
        self.run(|c| {
            c.query(
                "SELECT id, at, key, event, from_state, to_state, detail FROM audit
                 WHERE tenant_id = $1 AND ($2::TEXT IS NULL OR key = $2) ORDER BY id LIMIT $3",
                &[&t, &key, &limit],
            )?
            .iter()
            .map(|r| {
                Ok(AuditRow {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    key: r.try_get(2)?,
                    event: r.try_get(3)?,
                    from_state: r.try_get(4)?,
                    to_state: r.try_get(5)?,
                    detail: r.try_get(6)?,
                })
            })
            .collect()
        })
    }

    fn counts(&self) -> Result<BTreeMap<(String, DocState), i64>, LedgerError> {
        let t = self.tenant.as_str();
        self.run(|c| {
            let mut out = BTreeMap::new();
            for r in c.query(
                "SELECT flow, state, COUNT(*) FROM documents WHERE tenant_id = $1 GROUP BY flow, state",
                &[&t],
            )? {
                out.insert(
                    (r.try_get(0)?, DocState::from_str(r.try_get(1)?)?),
                    r.try_get(2)?,
                );
            }
            Ok(out)
        })
    }

    fn cursor(&self, flow: &str) -> Result<Option<String>, LedgerError> {
        let t = self.tenant.as_str();
        self.run(|c| {
            c.query_opt(
                "SELECT value FROM cursors WHERE tenant_id = $1 AND flow = $2",
                &[&t, &flow],
            )?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(LedgerError::from)
        })
    }

    fn set_cursor(&mut self, flow: &str, value: &str) -> Result<(), LedgerError> {
        self.write(|c, t| {
            let at = now();
            c.execute(
                "INSERT INTO cursors (tenant_id, flow, value, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant_id, flow) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                &[&t, &flow, &value, &at],
            )?;
            c.execute(
                "INSERT INTO audit (tenant_id, at, key, event, detail) VALUES ($1, $2, $3, 'cursor', $4)",
                &[&t, &at, &format!("cursor:{flow}"), &value],
            )?;
            Ok(())
        })
    }

    fn cursors(&self) -> Result<Vec<(String, String, String)>, LedgerError> {
        let t = self.tenant.as_str();
        self.run(|c| {
            c.query(
                "SELECT flow, value, updated_at FROM cursors WHERE tenant_id = $1 ORDER BY flow",
                &[&t],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
        })
    }

    fn listing_states(&self) -> Result<Vec<ListingState>, LedgerError> {
        let t = self.tenant.as_str();
        self.run(|c| super::listings::all(c, t))
    }

    fn put_listing_states(
        &mut self,
        states: &[ListingState],
        audit: &[(String, String, String)],
    ) -> Result<(), LedgerError> {
        self.write(|c, t| super::listings::put(c, t, states, audit, &now()))
    }

    fn begin_group(&mut self) -> Result<(), LedgerError> {
        self.open_group()
    }

    fn end_group(&mut self, commit: bool) -> Result<(), LedgerError> {
        self.close_group(commit)
    }
}
