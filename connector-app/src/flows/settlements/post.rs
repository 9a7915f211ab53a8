//! A settlement part as a document of the posting engine: one `$batch` changeset (SAP commits or
//! rolls back all of it), looked up by the part's reference in `TransferReference` (payments) and
//! `Reference2` (journal entries) before it is ever sent again.

use anyhow::Result;
use futures::TryStreamExt;
use sap_b1_client::query::prop;
use sap_b1_client::{Error as SapError, Query, SapClient};
use serde_json::{Value, json};

use super::parts::{PartDocument, SettlementPart};
use crate::flows::Engine;
use crate::posting::{DocRequest, Found, PostOutcome, SapDocument, describe};

impl SapDocument for SettlementPart {
    const KIND: &'static str = "settlement_part";

    async fn find(&self, engine: &Engine, _key: &str) -> Result<Option<Found>> {
        let found = find_part(&engine.sap, &self.reference).await?;
        Ok(found.first().map(|(_, doc_entry)| Found {
            doc_entry: *doc_entry,
            doc_num: None,
            detail: format!(
                "found in SAP by reference {}: {}; not sent again",
                self.reference,
                describe(&found)
            ),
            by_other_instance: None,
        }))
    }

    fn request_summary(&self) -> Value {
        json!({
            "request": "POST $batch (one changeset)",
            "reference": self.reference,
            "documents": self.documents.len(),
        })
    }

    fn requests(&self) -> Result<Vec<DocRequest>> {
        self.documents
            .iter()
            .map(|d| {
                let body = match d {
                    PartDocument::IncomingPayments(p) | PartDocument::VendorPayments(p) => {
                        serde_json::to_value(p)?
                    }
                    PartDocument::JournalEntries(j) => serde_json::to_value(j)?,
                };
                Ok(DocRequest {
                    set: d.entity_set(),
                    body,
                })
            })
            .collect()
    }

    fn refusal(&self, error: &SapError) -> String {
        format!(
            "SAP refused part {} (nothing of it was posted): {error}",
            self.reference
        )
    }
}

impl Engine {
    /// Posts one part as one atomic changeset, exactly once.
    pub async fn post_part(&self, key: &str) -> Result<PostOutcome> {
        self.post::<SettlementPart>(key).await
    }
}

/// Documents in SAP that carry a part's reference: (entity set, key).
async fn find_part(sap: &SapClient, reference: &str) -> Result<Vec<(&'static str, i64)>> {
    let mut found = Vec::new();
    let q = Query::new()
        .filter(prop("TransferReference").eq(reference))
        .select(["DocEntry"]);
    for p in sap
        .incoming_payments()
        .stream(&q)
        .try_collect::<Vec<_>>()
        .await?
    {
        if let Some(e) = p.doc_entry {
            found.push(("IncomingPayments", i64::from(e.0)));
        }
    }
    // Outgoing payments to customers are rare: only a part that has one is worth the query, but
    // the part's documents are not known here, so ask (one more GET per lookup, never per post).
    for p in sap
        .vendor_payments()
        .stream(&q)
        .try_collect::<Vec<_>>()
        .await?
    {
        if let Some(e) = p.doc_entry {
            found.push(("VendorPayments", i64::from(e.0)));
        }
    }
    let q = Query::new()
        .filter(prop("Reference2").eq(reference))
        .select(["JdtNum"]);
    for j in sap
        .journal_entries()
        .stream(&q)
        .try_collect::<Vec<_>>()
        .await?
    {
        if let Some(n) = j.jdt_num {
            found.push(("JournalEntries", i64::from(n)));
        }
    }
    Ok(found)
}
