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
        let doc = &self.0;
        let filter = match &engine.config.sap.key_udf {
            Some(udf) => prop(udf).eq(key),
            None => prop("NumAtCard")
                .eq(doc.num_at_card.as_deref().unwrap_or_default())
                .and(prop("CardCode").eq(doc.card_code.as_deref().unwrap_or_default())),
        };
        let query = Query::new()
            .filter(filter)
            .select(["DocEntry", "DocNum"])
            .top(1);
        let page = engine.sap.invoices().page(&query).await?;
        Ok(page.items.first().and_then(|d| {
            let doc_entry = i64::from(d.doc_entry?.0);
            Some(Found {
                doc_entry,
                doc_num: d.doc_num.map(i64::from),
                detail: format!("found in SAP by its key (DocEntry {doc_entry}); not sent again"),
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
}
