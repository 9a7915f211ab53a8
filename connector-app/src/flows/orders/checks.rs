//! An invoice's customer and items against SAP's masters (cached per run).

use std::collections::BTreeSet;

use anyhow::Result;
use sap_b1_client::entities::Document;

use super::OrderPlan;
use super::plan::{PROMOTION_LINE_TEXT, SHIPPING_LINE_TEXT};
use crate::flows::Engine;
use crate::posting::{MasterProblem, hold_reason};

impl Engine {
    /// The plan after SAP's masters: an invoice whose customer or items cannot be used is held.
    pub async fn check_plan(&self, plan: OrderPlan) -> Result<OrderPlan> {
        let OrderPlan::Invoice(mut doc) = plan else {
            return Ok(plan);
        };
        let problems = self.check_masters(&doc).await?;
        if !problems.is_empty() {
            return Ok(OrderPlan::Hold(hold_reason(&problems)));
        }
        Ok(match self.localize(&mut doc).await? {
            Ok(()) => OrderPlan::Invoice(doc),
            Err(reason) => OrderPlan::Hold(reason),
        })
    }

    /// The invoice in SAP's currency terms: `DocCurrency` becomes SAP's code for Amazon's ISO
    /// code; a document in another currency than the company's needs SAP's rate for its date
    /// (SAP refuses it otherwise); its rows' totals go into `RowTotalFC` (document currency)
    /// instead of `LineTotal` (local currency), and its freight, whose `LineTotal` is local
    /// currency and `LineTotalFC` read-only (SDK `DocumentsAdditionalExpenses`), is converted at
    /// that rate. `Err` is a hold reason.
    pub(crate) async fn localize(&self, doc: &mut Document) -> Result<Result<(), String>> {
        let Some(iso) = doc.doc_currency.clone() else {
            return Ok(Ok(()));
        };
        let Some(code) = self.sap_currency(&iso).await? else {
            return Ok(Err(format!(
                "SAP has no currency whose ISO code is {iso} (Currencies, InternationalDescription): add it in SAP, then replay the order"
            )));
        };
        doc.doc_currency = Some(code.clone());
        if !self.is_foreign(&code).await? {
            return Ok(Ok(()));
        }
        let date = doc
            .doc_date
            .map_or_else(|| chrono::Utc::now().date_naive(), |d| d.0);
        let Some(rate) = self.rate_on(&code, date).await? else {
            return Ok(Err(format!(
                "no exchange rate for {iso} (SAP code {code}) on {date} in SAP, which refuses a foreign-currency invoice without it: enter the day's rate, then replay the order"
            )));
        };
        // The row totals are in the document's currency: RowTotalFC, not LineTotal (local).
        for l in doc.document_lines.iter_mut().flatten() {
            if let Some(total) = l.line_total.take() {
                l.row_total_fc = Some(total);
            }
        }
        for x in doc.document_additional_expenses.iter_mut().flatten() {
            if let Some(fc) = x.line_total {
                x.line_total = Some((fc * rate).round_dp_with_strategy(
                    2,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                ));
            }
        }
        Ok(Ok(()))
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
                // The shipping line's item comes from `orders.shipping_item`, not from a SKU.
                if line.free_text.as_deref() == Some(SHIPPING_LINE_TEXT) {
                    problems.push(p.on_shipping_line());
                } else if line
                    .free_text
                    .as_deref()
                    .is_some_and(|t| t.starts_with(PROMOTION_LINE_TEXT))
                {
                    problems.push(p.on_promotion_line());
                } else {
                    problems.push(p);
                }
            }
        }
        Ok(problems)
    }
}
