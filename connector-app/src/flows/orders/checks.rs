//! An invoice's customer and items against SAP's masters (cached per run).

use std::collections::BTreeSet;

use anyhow::Result;
use sap_b1_client::entities::Document;

use super::OrderPlan;
use crate::flows::Engine;
use crate::posting::{MasterProblem, hold_reason};

impl Engine {
    /// The plan after SAP's masters: an invoice whose customer or items cannot be used is held.
    pub(crate) async fn check_plan(&self, plan: OrderPlan) -> Result<OrderPlan> {
        let OrderPlan::Invoice(doc) = plan else {
            return Ok(plan);
        };
        let problems = self.check_masters(&doc).await?;
        Ok(if problems.is_empty() {
            OrderPlan::Invoice(doc)
        } else {
            OrderPlan::Hold(hold_reason(&problems))
        })
    }

    /// Every reason the invoice's customer or items cannot be used in SAP (none: it can be posted).
    pub(crate) async fn check_masters(&self, doc: &Document) -> Result<Vec<MasterProblem>> {
        let mut problems = Vec::new();
        if let Some(card) = &doc.card_code
            && let Some(p) = self.check_customer(card).await?
        {
            problems.push(p);
        }
        let mut seen = BTreeSet::new();
        for line in doc.document_lines.iter().flatten() {
            let Some(code) = line.item_code.as_deref() else {
                continue;
            };
            let sku = line
                .free_text
                .as_deref()
                .and_then(|t| t.strip_prefix("Amazon SKU "))
                .unwrap_or(code);
            if seen.insert(code.to_owned())
                && let Some(p) = self.check_item(code, sku).await?
            {
                problems.push(p);
            }
        }
        Ok(problems)
    }
}
