//! The posting engine: every SAP document kind goes through it, exactly once.
//!
//! A document kind implements [`SapDocument`]: the ledger kind, a lookup in SAP by its deterministic
//! key, a request summary for the audit trail, the request itself, and how a refusal reads. The
//! engine does the rest, the same way for every kind:
//!
//! 1. read the planned body from the ledger (the body that is sent is always the one stored);
//! 2. look the document up in SAP by its key: found means POSTED, never sent again (a SENDING left
//!    by a crash is closed as UNKNOWN first, so the trail shows the recovery);
//! 3. store SENDING (with a redacted request summary) before the request goes out;
//! 4. send, and record what SAP answered through one classifier ([`ErrorClass`]): created → POSTED
//!    (DocEntry, DocNum), refused → FAILED (the reason kept), session rejected after re-login → not
//!    executed, back to PLANNED and tried again (bounded), anything else → UNKNOWN (looked up by
//!    key before any new attempt).
//!
//! With the company's key table (`MLC_KEYS`, see [`KeyTable`]) every document goes in one `$batch`
//! changeset with the insert of its key's row, so SAP itself refuses a second copy: a refused key
//! means another writer posted it (recorded as found, with who and when), and a document in doubt
//! is resolved by reading its key row. Without the table, the lookup by key before each first send
//! is what keeps documents single, which holds only while one connector writes to the company.
//! [`Engine::post_batch`] sends several new documents in one `$batch` request, each in its own
//! changeset with its key row, and reads each one's outcome from its own part of SAP's answer.
//!
//! Crash points (`failpoints` feature) sit between those steps for every kind:
//! `{kind}.after_sending_stored`, `{kind}.after_send_before_response` (after any request that may
//! have reached SAP: a 2xx or an answer lost after SAP may have committed),
//! `{kind}.after_2xx_before_posted`.

mod batch;
mod classify;
mod currency;
mod keys;
mod masters;

use std::future::Future;

use anyhow::{Result, anyhow};
use sap_b1_client::{Batch, ChangeSet, Error as SapError, Request};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::{Instrument, info, info_span, warn};

pub use classify::{ErrorClass, unreachable};
pub use currency::{CurrencyCache, sap_code_of};
pub use keys::{KEY_FIELDS, KeyRow, KeyTable, instance_id, is_duplicate_key};
pub use masters::{AccountProblem, MasterChecks, MasterProblem, SapSetupError, hold_reason};

use crate::flows::Engine;
use crate::ledger::{DocFilter, DocState, Ledger, redact};

/// What happened to one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// Created now.
    Posted {
        /// SAP's key of the (first) document created.
        doc_entry: i64,
        /// SAP's document number, when it has one.
        doc_num: Option<i64>,
    },
    /// Already in SAP (found by its key): not sent again.
    FoundExisting {
        /// SAP's key of the (first) document found.
        doc_entry: i64,
        /// SAP's document number, when known.
        doc_num: Option<i64>,
        /// Another connector instance that posted it, when its key row says so (two connectors
        /// write to this company).
        by_other_instance: Option<String>,
    },
    /// SAP refused it; the reason is in the ledger.
    Failed(String),
    /// Sent, answer lost; it will be looked up before any new attempt.
    Unknown(String),
}

/// A document SAP already holds, found by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// SAP's key of the (first) document.
    pub doc_entry: i64,
    /// Its document number, when the lookup returns it.
    pub doc_num: Option<i64>,
    /// What was found, for the audit trail.
    pub detail: String,
    /// Another connector instance that posted it, when its key row says so.
    pub by_other_instance: Option<String>,
}

/// What SAP created.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// SAP's key of the (first) document created.
    pub doc_entry: i64,
    /// Its document number, when SAP returned it.
    pub doc_num: Option<i64>,
    /// SAP's answer, summarised for the audit trail: JSON (redacted by the engine) or a text.
    pub detail: Value,
}

/// One request that creates (part of) a document: `POST {set}` with `body`.
#[derive(Debug, Clone, PartialEq)]
pub struct DocRequest {
    /// The entity set (`Invoices`, `IncomingPayments`, `JournalEntries`...).
    pub set: &'static str,
    /// The body, as SAP receives it.
    pub body: Value,
}

/// Why sending a document did not create it.
#[derive(Debug)]
pub enum SendError {
    /// The request failed or SAP refused it ([`ErrorClass::of`] decides what that means).
    Request(SapError),
    /// SAP answered a `$batch` changeset with an error and rolled all of it back
    /// ([`ErrorClass::of_rolled_back`]).
    RolledBack(SapError),
    /// SAP refused the document's key row: another writer holds the key, so the document is in
    /// SAP already (the key row and the document commit together).
    KeyTaken(SapError),
}

impl SendError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Request(e) => ErrorClass::of(e),
            Self::RolledBack(e) | Self::KeyTaken(e) => ErrorClass::of_rolled_back(e),
        }
    }

    fn sap(&self) -> &SapError {
        match self {
            Self::Request(e) | Self::RolledBack(e) | Self::KeyTaken(e) => e,
        }
    }
}

impl From<SapError> for SendError {
    fn from(e: SapError) -> Self {
        Self::Request(e)
    }
}

/// A kind of SAP document the engine posts: what a new document type must implement.
///
/// The body is what the ledger stores as the document's payload (JSON through serde), so a
/// document is always sent exactly as it was planned and replay re-sends nothing else.
pub trait SapDocument: Serialize + DeserializeOwned + Send + Sync {
    /// The ledger's kind of the document (`invoice`, `settlement_part`); also the prefix of its
    /// crash points.
    const KIND: &'static str;

    /// Looks the document up in SAP by its key (a UDF, `NumAtCard`, a reference...).
    fn find(
        &self,
        engine: &Engine,
        key: &str,
    ) -> impl Future<Output = Result<Option<Found>>> + Send;

    /// A summary of the request for the audit trail, stored with SENDING (the engine redacts it).
    fn request_summary(&self) -> Value;

    /// The requests that create it, in order. One request is sent as a plain POST; several go in
    /// one `$batch` changeset (all or nothing); with the key table, the key row joins the changeset.
    fn requests(&self) -> Result<Vec<DocRequest>>;

    /// How SAP's refusal reads in the ledger and in reports.
    fn refusal(&self, error: &SapError) -> String;
}

/// One posting attempt's result.
enum Attempt {
    /// Settled for this run.
    Done(PostOutcome),
    /// SAP rejected the session, so it did not execute the request.
    NotExecuted(String),
}

/// How many times a document whose request SAP did not execute is tried in one run.
const SESSION_ATTEMPTS: u32 = 3;

impl Engine {
    /// Posts the planned document stored under `key`, exactly once.
    pub async fn post<D: SapDocument>(&self, key: &str) -> Result<PostOutcome> {
        let span = info_span!("document", key, kind = D::KIND);
        async {
            let mut attempt = 1;
            loop {
                match self.post_once::<D>(key).await? {
                    Attempt::Done(outcome) => return Ok(outcome),
                    Attempt::NotExecuted(reason) if attempt < SESSION_ATTEMPTS => {
                        self.ledger().transition(
                            key,
                            DocState::Planned,
                            &format!("not executed by SAP ({reason}); retrying"),
                        )?;
                        attempt += 1;
                    }
                    Attempt::NotExecuted(reason) => {
                        let reason = format!("SAP kept rejecting the session: {reason}");
                        self.ledger().transition(key, DocState::Unknown, &reason)?;
                        return Ok(PostOutcome::Unknown(reason));
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Resolves every document of this kind and flow left SENDING or UNKNOWN: found in SAP →
    /// POSTED, absent → posted now.
    pub async fn recover<D: SapDocument>(&self, flow: &str) -> Result<Vec<(String, PostOutcome)>> {
        let mut in_doubt = Vec::new();
        for state in [DocState::Sending, DocState::Unknown] {
            let filter = DocFilter {
                state: Some(state),
                flow: Some(flow.to_owned()),
                ..DocFilter::default()
            };
            in_doubt.extend(
                self.ledger()
                    .list(&filter)?
                    .into_iter()
                    .filter(|d| d.kind == D::KIND),
            );
        }
        let mut outcomes = Vec::with_capacity(in_doubt.len());
        for doc in in_doubt {
            info!(key = %doc.key, state = %doc.state, "resolving a document in doubt");
            let outcome = self.post::<D>(&doc.key).await?;
            outcomes.push((doc.key, outcome));
        }
        Ok(outcomes)
    }

    async fn post_once<D: SapDocument>(&self, key: &str) -> Result<Attempt> {
        let record = self
            .ledger()
            .get(key)?
            .ok_or_else(|| anyhow!("no document with key `{key}` in the ledger"))?;
        let doc: D = serde_json::from_str(&record.payload)
            .map_err(|e| anyhow!("the stored {} `{key}` does not read back: {e}", D::KIND))?;
        let keys = self.key_table().await?;
        // With the key table, a document never sent needs no lookup: its key row's insert is the
        // check (SAP refuses a second one). A document that may have been sent is looked up.
        let ever_sent = record.state != DocState::Planned || record.attempts > 0;
        let found = match keys {
            Some(_) if !ever_sent => None,
            Some(table) => self.find_by_key_row(&doc, table, key).await?,
            None => doc.find(self, key).await?,
        };
        if let Some(found) = found {
            self.record_found(key, record.state, &found)?;
            info!(key, doc_entry = found.doc_entry, "already in SAP");
            return Ok(Attempt::Done(PostOutcome::FoundExisting {
                doc_entry: found.doc_entry,
                doc_num: found.doc_num,
                by_other_instance: found.by_other_instance,
            }));
        }
        // SAP refuses a string longer than its field (never truncates): not sent at all.
        let requests = doc.requests()?;
        if let Some(e) = requests.iter().find_map(|r| {
            sap_b1_client::limits::type_of_set(r.set)
                .and_then(|t| sap_b1_client::limits::too_long(t, &r.body))
        }) {
            let reason = format!("not sent: {e}");
            self.ledger().transition(key, DocState::Failed, &reason)?;
            warn!(key, %reason, "failed");
            return Ok(Attempt::Done(PostOutcome::Failed(reason)));
        }
        self.record_sending(
            key,
            record.state,
            &redact(doc.request_summary()).to_string(),
        )?;
        crate::failpoint::hit_at(D::KIND, "after_sending_stored");
        let sent = self.send::<D>(requests, key, keys).await;
        // A crash between the request and its answer is the same crash whatever SAP was about to
        // answer: the point fires after a normal 2xx too, not only when the answer was lost.
        match &sent {
            Ok(_) => {
                crate::failpoint::hit_at(D::KIND, "after_send_before_response");
                crate::failpoint::hit_at(D::KIND, "after_2xx_before_posted");
            }
            Err(e) if e.sap().is_outcome_unknown() => {
                crate::failpoint::hit_at(D::KIND, "after_send_before_response");
            }
            Err(_) => {}
        }
        match sent {
            Ok(created) => {
                let detail = match created.detail {
                    Value::String(text) => text,
                    other => redact(other).to_string(),
                };
                self.ledger()
                    .mark_posted(key, created.doc_entry, created.doc_num, &detail)?;
                info!(key, doc_entry = created.doc_entry, "posted");
                Ok(Attempt::Done(PostOutcome::Posted {
                    doc_entry: created.doc_entry,
                    doc_num: created.doc_num,
                }))
            }
            Err(SendError::KeyTaken(e)) => {
                let table =
                    keys.ok_or_else(|| anyhow!("a key row was refused without a key table"))?;
                match self.find_by_key_row(&doc, table, key).await? {
                    Some(found) => {
                        info!(key, by = ?found.by_other_instance, "posted by another writer");
                        self.record_found(key, DocState::Sending, &found)?;
                        Ok(Attempt::Done(PostOutcome::FoundExisting {
                            doc_entry: found.doc_entry,
                            doc_num: found.doc_num,
                            by_other_instance: found.by_other_instance,
                        }))
                    }
                    // -2035 for another reason than our key row: SAP refused the document.
                    None => self.record_refusal(&doc, key, &e),
                }
            }
            Err(e) => match e.class() {
                ErrorClass::Unreachable => {
                    self.ledger().transition(
                        key,
                        DocState::Planned,
                        &format!("not sent, SAP not reachable: {}", e.sap()),
                    )?;
                    Err(classify::unreachable(&self.config.sap.base_url, e.sap()))
                }
                ErrorClass::NotExecuted => Ok(Attempt::NotExecuted(e.sap().to_string())),
                ErrorClass::Refused => self.record_refusal(&doc, key, e.sap()),
                ErrorClass::Unknown => {
                    let reason = format!("outcome unknown: {}", e.sap());
                    self.ledger().transition(key, DocState::Unknown, &reason)?;
                    warn!(key, %reason, "outcome unknown");
                    Ok(Attempt::Done(PostOutcome::Unknown(reason)))
                }
            },
        }
    }

    fn record_refusal<D: SapDocument>(
        &self,
        doc: &D,
        key: &str,
        error: &SapError,
    ) -> Result<Attempt> {
        let reason = doc.refusal(error);
        self.ledger().transition(key, DocState::Failed, &reason)?;
        warn!(key, %reason, "failed");
        Ok(Attempt::Done(PostOutcome::Failed(reason)))
    }

    /// A document is in SAP exactly when its key row is (they commit together); the document's
    /// own lookup gives its DocEntry. Without a key row, a document posted before the table
    /// existed is still found by its own lookup.
    async fn find_by_key_row<D: SapDocument>(
        &self,
        doc: &D,
        table: &KeyTable,
        key: &str,
    ) -> Result<Option<Found>> {
        let Some(row) = table.find(&self.sap, key).await? else {
            return doc.find(self, key).await;
        };
        let by_lookup = doc.find(self, key).await?;
        let doc_entry = row
            .doc_entry
            .or(by_lookup.as_ref().map(|f| f.doc_entry))
            .unwrap_or_default();
        let who = if row.instance == table.instance() {
            "this connector".to_owned()
        } else {
            format!("another connector instance ({})", row.instance)
        };
        Ok(Some(Found {
            doc_entry,
            doc_num: by_lookup.and_then(|f| f.doc_num),
            detail: format!(
                "its key row in SAP says {who} posted it at {} (DocEntry {doc_entry}); not sent again",
                row.at
            ),
            by_other_instance: (row.instance != table.instance()).then_some(row.instance),
        }))
    }

    /// Sends a document: one request as a plain POST, several (or any with the key table) as one
    /// atomic changeset.
    async fn send<D: SapDocument>(
        &self,
        requests: Vec<DocRequest>,
        key: &str,
        keys: Option<&KeyTable>,
    ) -> Result<Created, SendError> {
        if let (None, [only]) = (keys, requests.as_slice()) {
            let body = serde_json::to_vec(&only.body)
                .map_err(|e| SendError::Request(SapError::Config(e.to_string())))?;
            let answer: Value = self
                .sap
                .send_json(Request::post(only.set).json_body(body))
                .await?;
            let doc_entry = entry_of(&answer).unwrap_or_default();
            let doc_num = answer.get("DocNum").and_then(Value::as_i64);
            return Ok(Created {
                doc_entry,
                doc_num,
                detail: serde_json::json!({
                    "response": "201 Created",
                    "DocEntry": doc_entry,
                    "DocNum": doc_num,
                    "DocTotal": answer.get("DocTotal"),
                    "DocCurrency": answer.get("DocCurrency"),
                }),
            });
        }
        let mut changeset = ChangeSet::new();
        if let Some(table) = keys {
            changeset = changeset.post(
                &table.entity_set(),
                &table.row(key, D::KIND, chrono::Utc::now()),
            )?;
        }
        for r in &requests {
            changeset = changeset.post(r.set, &r.body)?;
        }
        let resp = self.sap.batch(&Batch::new().changeset(changeset)).await?;
        if let Some(err) = resp.first_error() {
            return Err(if keys.is_some() && is_duplicate_key(&err) {
                SendError::KeyTaken(err)
            } else {
                SendError::RolledBack(err)
            });
        }
        let parts: Vec<_> = resp.parts().cloned().collect();
        Ok(batch::created_from(&parts, &requests, keys))
    }

    /// What a person should know before this run posts: the key table is missing (exactly-once
    /// then depends on one connector writing to the company), or another connector instance holds
    /// the lease on this seller in this company.
    pub async fn posting_warnings(&self) -> Result<Vec<String>> {
        let warnings = match (self.key_table().await?, &self.config.sap.key_table) {
            (Some(table), _) => table
                .take_lease(&self.sap, &self.config.amazon.seller_id)
                .await?
                .into_iter()
                .collect(),
            (None, Some(name)) => vec![format!(
                "the key table U_{name} is not in SAP: run `ml-connector setup` and restart the Service Layer; until then exactly-once depends on this being the only connector writing to this company"
            )],
            (None, None) => vec![
                "sap.key_table is off: exactly-once depends on this being the only connector writing to this company".to_owned(),
            ],
        };
        for w in &warnings {
            warn!("{w}");
        }
        Ok(warnings)
    }

    /// The company's key table, when this connector uses one (detected once per engine: the
    /// configured table exists and the Service Layer shows it).
    pub async fn key_table(&self) -> Result<Option<&KeyTable>> {
        let detected = self
            .keys
            .get_or_try_init(|| async {
                let Some(name) = self.config.sap.key_table.clone() else {
                    return Ok::<_, anyhow::Error>(None);
                };
                let table = KeyTable::new(name, instance_id(&self.config.workspace.ledger));
                if table.exists(&self.sap).await? {
                    info!(table = %table.entity_set(), instance = %table.instance(), "exactly-once enforced by SAP's key table");
                    Ok(Some(table))
                } else {
                    warn!(
                        table = %table.entity_set(),
                        "the key table is not in SAP (run `ml-connector setup`, then restart the Service Layer): exactly-once now depends on this being the only connector writing to the company"
                    );
                    Ok(None)
                }
            })
            .await?;
        Ok(detected.as_ref())
    }

    /// Records a document found in SAP by its key: POSTED, never sent again. A SENDING left by a
    /// crash is closed as UNKNOWN first, so the trail shows the recovery.
    fn record_found(&self, key: &str, was: DocState, found: &Found) -> Result<()> {
        let mut ledger = self.ledger();
        if was == DocState::Sending {
            ledger.transition(key, DocState::Unknown, "the process stopped while sending")?;
        }
        ledger.mark_posted(key, found.doc_entry, found.doc_num, &found.detail)?;
        Ok(())
    }

    /// Moves a document to SENDING before its request goes out (closing a crash's SENDING first).
    fn record_sending(&self, key: &str, was: DocState, detail: &str) -> Result<()> {
        let mut ledger = self.ledger();
        if was == DocState::Sending {
            ledger.transition(
                key,
                DocState::Unknown,
                "the process stopped while sending; not found in SAP",
            )?;
        }
        ledger.transition(key, DocState::Sending, detail)?;
        Ok(())
    }
}

/// The key SAP gave a created document (`DocEntry`, or `JdtNum` for a journal entry).
fn entry_of(answer: &Value) -> Option<i64> {
    answer
        .get("DocEntry")
        .or_else(|| answer.get("JdtNum"))
        .and_then(Value::as_i64)
}

/// `Invoices(12), JournalEntries(7)`: documents by entity set and key, for the audit trail.
pub(crate) fn describe(docs: &[(&str, i64)]) -> String {
    docs.iter()
        .map(|(set, e)| format!("{set}({e})"))
        .collect::<Vec<_>>()
        .join(", ")
}
