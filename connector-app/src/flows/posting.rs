//! Posting one planned document exactly once, and recovering documents whose outcome is unknown.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Result;
use sap_b1_client::entities::{Document, YesNo};
use sap_b1_client::query::prop;
use sap_b1_client::{Error as SapError, Query};
use serde_json::json;
use tracing::{info, warn};

use super::Engine;
use crate::ledger::{DocState, Ledger, redact};

/// What happened to one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// Created now.
    Posted {
        doc_entry: i64,
        doc_num: Option<i64>,
    },
    /// Already in SAP (found by its key): not sent again.
    FoundExisting {
        doc_entry: i64,
        doc_num: Option<i64>,
    },
    /// SAP refused it; the reason is in the ledger.
    Failed(String),
    /// Sent, answer lost; it will be looked up before any new attempt.
    Unknown(String),
}

/// Cached checks of SAP master data (customers, items) for one run.
#[derive(Debug, Default)]
pub struct MasterChecks {
    customers: Mutex<HashMap<String, Result<(), String>>>,
    items: Mutex<HashMap<String, Result<(), String>>>,
    accounts: Mutex<HashMap<String, Result<(), String>>>,
}

impl MasterChecks {
    fn cached(
        map: &Mutex<HashMap<String, Result<(), String>>>,
        key: &str,
    ) -> Option<Result<(), String>> {
        map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    fn store(
        map: &Mutex<HashMap<String, Result<(), String>>>,
        key: &str,
        value: Result<(), String>,
    ) {
        map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), value);
    }
}

impl Engine {
    /// Checks that a customer exists and is active in SAP (cached per run).
    pub async fn check_customer(&self, card_code: &str) -> Result<Result<(), String>> {
        if let Some(hit) = MasterChecks::cached(&self.masters.customers, card_code) {
            return Ok(hit);
        }
        let verdict = match self.sap.business_partners().get(card_code).await {
            Ok(bp) => {
                if bp.frozen == Some(YesNo::Yes) || bp.valid == Some(YesNo::No) {
                    Err(format!("customer {card_code} is inactive (frozen) in SAP"))
                } else {
                    Ok(())
                }
            }
            Err(SapError::NotFound(_)) => Err(format!(
                "customer {card_code} does not exist in SAP: create it or fix [marketplaces] in the config"
            )),
            Err(e) => return Err(e.into()),
        };
        MasterChecks::store(&self.masters.customers, card_code, verdict.clone());
        Ok(verdict)
    }

    /// Checks that an item exists, is a sales item and is not frozen (cached per run).
    pub async fn check_item(&self, item_code: &str, sku: &str) -> Result<Result<(), String>> {
        if let Some(hit) = MasterChecks::cached(&self.masters.items, item_code) {
            return Ok(hit);
        }
        let mapped = if item_code == sku {
            String::new()
        } else {
            format!(" (Amazon SKU {sku})")
        };
        let verdict = match self.sap.items().get(item_code).await {
            Ok(item) if item.sales_item == Some(YesNo::No) => Err(format!(
                "item {item_code}{mapped} is not a sales item in SAP"
            )),
            Ok(item) if item.frozen == Some(YesNo::Yes) || item.valid == Some(YesNo::No) => Err(
                format!("item {item_code}{mapped} is inactive (frozen) in SAP"),
            ),
            Ok(_) => Ok(()),
            Err(SapError::NotFound(_)) => Err(format!(
                "item {item_code}{mapped} does not exist in SAP: map the SKU to an ItemCode in [sku_map]"
            )),
            Err(e) => return Err(e.into()),
        };
        MasterChecks::store(&self.masters.items, item_code, verdict.clone());
        Ok(verdict)
    }

    /// Checks that a G/L account exists, is postable (not a title account) and active (cached).
    pub async fn check_account(&self, code: &str, symbol: &str) -> Result<Result<(), String>> {
        if let Some(hit) = MasterChecks::cached(&self.masters.accounts, code) {
            return Ok(hit);
        }
        let named = if code == symbol {
            String::new()
        } else {
            format!(" ({symbol})")
        };
        let verdict = match self.sap.chart_of_accounts().get(code).await {
            Ok(acct) if acct.active_account == Some(YesNo::No) => Err(format!(
                "G/L account {code}{named} is a title account: map {symbol} to a postable account"
            )),
            Ok(acct) if acct.extra.get("FrozenFor").and_then(|v| v.as_str()) == Some("tYES") => {
                Err(format!("G/L account {code}{named} is inactive in SAP"))
            }
            Ok(_) => Ok(()),
            Err(SapError::NotFound(_)) => Err(format!(
                "G/L account {code}{named} does not exist in SAP: map {symbol} to a G/L code in the settlement mapping's [accounts]"
            )),
            Err(e) => return Err(e.into()),
        };
        MasterChecks::store(&self.masters.accounts, code, verdict.clone());
        Ok(verdict)
    }

    /// Looks an invoice up by its key: the configured UDF, else NumAtCard and CardCode.
    pub async fn find_invoice(
        &self,
        key: &str,
        doc: &Document,
    ) -> Result<Option<(i64, Option<i64>)>> {
        let filter = match &self.config.sap.key_udf {
            Some(udf) => prop(udf).eq(key),
            None => prop("NumAtCard")
                .eq(doc.num_at_card.as_deref().unwrap_or_default())
                .and(prop("CardCode").eq(doc.card_code.as_deref().unwrap_or_default())),
        };
        let query = Query::new()
            .filter(filter)
            .select(["DocEntry", "DocNum"])
            .top(1);
        let page = self.sap.invoices().page(&query).await?;
        Ok(page.items.first().and_then(|d| {
            d.doc_entry
                .map(|e| (i64::from(e.0), d.doc_num.map(i64::from)))
        }))
    }

    /// Records a document found in SAP by its key: POSTED, never sent again. A SENDING left by a
    /// crash is closed as UNKNOWN first, so the trail shows the recovery.
    pub(crate) fn record_found(
        &self,
        key: &str,
        was: DocState,
        doc_entry: i64,
        doc_num: Option<i64>,
        detail: &str,
    ) -> Result<()> {
        let mut ledger = self.ledger();
        if was == DocState::Sending {
            ledger.transition(key, DocState::Unknown, "the process stopped while sending")?;
        }
        ledger.mark_posted(key, doc_entry, doc_num, detail)?;
        Ok(())
    }

    /// Moves a document to SENDING before its request goes out (closing a crash's SENDING first).
    pub(crate) fn record_sending(&self, key: &str, was: DocState, detail: &str) -> Result<()> {
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

    /// Posts the planned invoice stored under `key`, exactly once.
    pub async fn post_invoice(&self, key: &str) -> Result<PostOutcome> {
        self.post_with_session_retry(key, || self.post_invoice_once(key))
            .await
    }

    /// Runs one posting attempt after another while SAP answers that it did not execute the
    /// request (a 401 that survived the client's own re-login): the document goes back to PLANNED
    /// and is tried again, a bounded number of times.
    pub(crate) async fn post_with_session_retry<F, Fut>(
        &self,
        key: &str,
        mut once: F,
    ) -> Result<PostOutcome>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Attempt>>,
    {
        const SESSION_ATTEMPTS: u32 = 3;
        let mut attempt = 1;
        loop {
            match once().await? {
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

    async fn post_invoice_once(&self, key: &str) -> Result<Attempt> {
        let record = self
            .ledger()
            .get(key)?
            .ok_or_else(|| anyhow::anyhow!("no document with key `{key}` in the ledger"))?;
        let doc: Document = serde_json::from_str(&record.payload)?;
        if let Some((doc_entry, doc_num)) = self.find_invoice(key, &doc).await? {
            let detail = format!("found in SAP by its key (DocEntry {doc_entry}); not sent again");
            self.record_found(key, record.state, doc_entry, doc_num, &detail)?;
            info!(key, doc_entry, "already in SAP");
            return Ok(Attempt::Done(PostOutcome::FoundExisting {
                doc_entry,
                doc_num,
            }));
        }
        let summary = json!({
            "request": "POST Invoices",
            "CardCode": doc.card_code,
            "NumAtCard": doc.num_at_card,
            "lines": doc.document_lines.as_ref().map_or(0, Vec::len),
        });
        self.record_sending(key, record.state, &redact(summary).to_string())?;
        crate::failpoint::hit("invoice.after_sending_stored");
        let created = self.sap.invoices().create(&doc).await;
        match &created {
            Ok(_) => crate::failpoint::hit("invoice.after_2xx_before_posted"),
            Err(e) if e.is_outcome_unknown() => {
                crate::failpoint::hit("invoice.after_send_before_response")
            }
            Err(_) => {}
        }
        match created {
            Ok(created) => {
                let doc_entry = created
                    .doc_entry
                    .map(|e| i64::from(e.0))
                    .unwrap_or_default();
                let doc_num = created.doc_num.map(i64::from);
                let detail = redact(json!({
                    "response": "201 Created",
                    "DocEntry": doc_entry,
                    "DocNum": doc_num,
                    "DocTotal": created.doc_total,
                    "DocCurrency": created.doc_currency,
                }));
                self.ledger()
                    .mark_posted(key, doc_entry, doc_num, &detail.to_string())?;
                info!(key, doc_entry, "posted");
                Ok(Attempt::Done(PostOutcome::Posted { doc_entry, doc_num }))
            }
            Err(SapError::Session(e)) => Ok(Attempt::NotExecuted(e.to_string())),
            Err(e)
                if matches!(
                    e,
                    SapError::Validation(_) | SapError::NotFound(_) | SapError::Conflict(_)
                ) =>
            {
                let reason = format!("SAP refused the invoice: {e}");
                self.ledger().transition(key, DocState::Failed, &reason)?;
                warn!(key, %reason, "failed");
                Ok(Attempt::Done(PostOutcome::Failed(reason)))
            }
            Err(e) => {
                // Timeout, reset, 5xx: SAP may hold the document. Look it up before sending again
                // (next run or start-up recovery).
                let reason = format!("outcome unknown: {e}");
                self.ledger().transition(key, DocState::Unknown, &reason)?;
                warn!(key, %reason, "outcome unknown");
                Ok(Attempt::Done(PostOutcome::Unknown(reason)))
            }
        }
    }
}

/// One posting attempt's result.
pub(crate) enum Attempt {
    /// Settled for this run.
    Done(PostOutcome),
    /// SAP rejected the session, so it did not execute the request.
    NotExecuted(String),
}
