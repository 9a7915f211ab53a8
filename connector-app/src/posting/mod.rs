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
//! Crash points (`failpoints` feature) sit between those steps for every kind:
//! `{kind}.after_sending_stored`, `{kind}.after_send_before_response` (after any request that may
//! have reached SAP: a 2xx or an answer lost after SAP may have committed),
//! `{kind}.after_2xx_before_posted`.

mod classify;
mod masters;

use std::future::Future;

use anyhow::{Result, anyhow};
use sap_b1_client::{Error as SapError, SapClient};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::{Instrument, info, info_span, warn};

pub use classify::ErrorClass;
pub use masters::{MasterChecks, MasterProblem, hold_reason};

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

/// Why sending a document did not create it.
#[derive(Debug)]
pub enum SendError {
    /// The request failed or SAP refused it ([`ErrorClass::of`] decides what that means).
    Request(SapError),
    /// SAP answered a `$batch` changeset with an error and rolled all of it back
    /// ([`ErrorClass::of_rolled_back`]).
    RolledBack(SapError),
}

impl SendError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Request(e) => ErrorClass::of(e),
            Self::RolledBack(e) => ErrorClass::of_rolled_back(e),
        }
    }

    fn sap(&self) -> &SapError {
        match self {
            Self::Request(e) | Self::RolledBack(e) => e,
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

    /// Sends the document to SAP.
    fn send(&self, sap: &SapClient) -> impl Future<Output = Result<Created, SendError>> + Send;

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
        if let Some(found) = doc.find(self, key).await? {
            self.record_found(key, record.state, &found)?;
            info!(key, doc_entry = found.doc_entry, "already in SAP");
            return Ok(Attempt::Done(PostOutcome::FoundExisting {
                doc_entry: found.doc_entry,
                doc_num: found.doc_num,
            }));
        }
        self.record_sending(
            key,
            record.state,
            &redact(doc.request_summary()).to_string(),
        )?;
        crate::failpoint::hit_at(D::KIND, "after_sending_stored");
        let sent = doc.send(&self.sap).await;
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
            Err(e) => match e.class() {
                ErrorClass::NotExecuted => Ok(Attempt::NotExecuted(e.sap().to_string())),
                ErrorClass::Refused => {
                    let reason = doc.refusal(e.sap());
                    self.ledger().transition(key, DocState::Failed, &reason)?;
                    warn!(key, %reason, "failed");
                    Ok(Attempt::Done(PostOutcome::Failed(reason)))
                }
                ErrorClass::Unknown => {
                    let reason = format!("outcome unknown: {}", e.sap());
                    self.ledger().transition(key, DocState::Unknown, &reason)?;
                    warn!(key, %reason, "outcome unknown");
                    Ok(Attempt::Done(PostOutcome::Unknown(reason)))
                }
            },
        }
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
