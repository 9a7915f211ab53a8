//! The A/R invoice as a document of the posting engine: looked up by the configured key UDF, else
//! by `NumAtCard` (the Amazon order id) and `CardCode`.

use anyhow::Result;
use sap_b1_client::entities::Document;
use sap_b1_client::query::prop;
use sap_b1_client::{Error as SapError, Query};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::flows::Engine;
use crate::posting::{DocRequest, Found, PostOutcome, SapDocument};

/// An A/R invoice planned for an Amazon order (the ledger stores the SAP body as is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Invoice(pub Document);

impl SapDocument for Invoice {
    const KIND: &'static str = "invoice";

    async fn find(&self, engine: &Engine, key: &str) -> Result<Option<Found>> {
        let filter = key_filter(engine, key, &self.0);
        // A cancelled invoice keeps its NumAtCard and SAP adds a cancellation document with the
        // same reference: read a few, prefer the live one (see [`invoice_state`]).
        let query = Query::new()
            .filter(filter)
            .select(["DocEntry", "DocNum", "Cancelled", "CancelStatus"])
            .top(5);
        let page = engine.sap.invoices().page(&query).await?;
        let live = page
            .items
            .iter()
            .find(|d| invoice_state(d) == InvoiceState::Live);
        let cancelled = page
            .items
            .iter()
            .find(|d| invoice_state(d) == InvoiceState::Cancelled);
        Ok(live.or(cancelled).and_then(|d| {
            let doc_entry = i64::from(d.doc_entry?.0);
            let detail = if invoice_state(d) == InvoiceState::Cancelled {
                format!(
                    "found in SAP by its key (DocEntry {doc_entry}), cancelled there; not sent again (a settlement that pays this order is held until it has a live invoice)"
                )
            } else {
                format!("found in SAP by its key (DocEntry {doc_entry}); not sent again")
            };
            Some(Found {
                doc_entry,
                doc_num: d.doc_num.map(i64::from),
                detail,
                by_other_instance: None,
            })
        }))
    }

    fn request_summary(&self) -> Value {
        json!({
            "request": "POST Invoices",
            "CardCode": self.0.card_code,
            "NumAtCard": self.0.num_at_card,
            "lines": self.0.document_lines.as_ref().map_or(0, Vec::len),
        })
    }

    fn requests(&self) -> Result<Vec<DocRequest>> {
        Ok(vec![DocRequest {
            set: "Invoices",
            body: serde_json::to_value(&self.0)?,
        }])
    }

    fn refusal(&self, error: &SapError) -> String {
        format!("SAP refused the invoice: {error}")
    }
}

impl Engine {
    /// Posts the planned invoice stored under `key`, exactly once.
    pub async fn post_invoice(&self, key: &str) -> Result<PostOutcome> {
        self.post::<Invoice>(key).await
    }

    /// Posts the planned invoices stored under `keys`, exactly once each, in one `$batch`
    /// request of independent changesets (see [`Engine::post_batch`]).
    pub async fn post_invoices(&self, keys: &[String]) -> Result<Vec<(String, PostOutcome)>> {
        self.post_batch::<Invoice>(keys).await
    }
}

/// How an A/R document of ours is found in SAP: by the configured key UDF, else by its
/// `NumAtCard` (the Amazon order id) and customer.
pub(crate) fn key_filter(
    engine: &Engine,
    key: &str,
    doc: &Document,
) -> sap_b1_client::query::Filter {
    match &engine.config.sap.key_udf {
        Some(udf) => prop(udf).eq(key),
        None => prop("NumAtCard")
            .eq(doc.num_at_card.as_deref().unwrap_or_default())
            .and(prop("CardCode").eq(doc.card_code.as_deref().unwrap_or_default())),
    }
}

/// Where an invoice stands with respect to SAP's cancellation (`CancelStatus`, and the older
/// `Cancelled` flag): the one rule both the orders and the settlements flow apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvoiceState {
    /// A live invoice: it counts as the order's invoice and can be paid.
    Live,
    /// Cancelled in SAP: it still counts as posted (never sent again by itself), but cannot be
    /// paid.
    Cancelled,
    /// The cancellation document SAP made for a cancelled invoice: not an invoice of the order.
    Cancellation,
}

/// The [`InvoiceState`] of a document read from SAP.
pub(crate) fn invoice_state(d: &Document) -> InvoiceState {
    use sap_b1_client::entities::{CancelStatus, YesNo};
    match (&d.cancel_status, &d.cancelled) {
        (Some(CancelStatus::Cancellation), _) => InvoiceState::Cancellation,
        (Some(CancelStatus::Cancelled), _) | (_, Some(YesNo::Yes)) => InvoiceState::Cancelled,
        _ => InvoiceState::Live,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: Value) -> Document {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn cancellation_is_read_from_cancel_status_then_the_flag() {
        assert_eq!(
            invoice_state(&doc(json!({"DocEntry": 1}))),
            InvoiceState::Live
        );
        assert_eq!(
            invoice_state(&doc(json!({"Cancelled": "tNO", "CancelStatus": "csNo"}))),
            InvoiceState::Live
        );
        assert_eq!(
            invoice_state(&doc(json!({"Cancelled": "tYES", "CancelStatus": "csYes"}))),
            InvoiceState::Cancelled
        );
        // 9.3-era answers without CancelStatus still carry the flag.
        assert_eq!(
            invoice_state(&doc(json!({"Cancelled": "tYES"}))),
            InvoiceState::Cancelled
        );
        assert_eq!(
            invoice_state(&doc(
                json!({"Cancelled": "tNO", "CancelStatus": "csCancellation"})
            )),
            InvoiceState::Cancellation
        );
    }
}
