//! An order invoiced and then cancelled by Amazon (invoiced when accepted, `orders.invoice_when =
//! "accepted"`, and cancelled before it shipped) gets an A/R credit note based on its invoice,
//! exactly once (key `amz:{seller}:order:{id}:cancellation`).
//!
//! The credit note copies every row of the invoice as it was sent (the ledger keeps it), based on
//! it (`BaseType` 13, `BaseEntry` = the invoice's DocEntry, `BaseLine` = the row's LineNum, which
//! SAP numbers from 0 in the order the rows were sent), at the same prices and tax codes, with
//! the freight copied too: SAP applies it to the open invoice and both close, the revenue and
//! output tax are reversed and the units, which never left, go back into the warehouse the
//! invoice took them from.

use anyhow::{Context, Result};
use sap_b1_client::entities::{Document, DocumentLine, YesNo};
use sap_b1_client::{Error as SapError, Query};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sp_api_client::orders::Order;
use tracing::info;

use super::post::key_filter;
use super::{FLOW, Invoice, OrdersReport};
use crate::flows::{Engine, Problem};
use crate::ledger::{DocRecord, OnFailed, PlanBody, PlanRequest, PlanStatus};
use crate::posting::{DocRequest, Found, PostOutcome, SapDocument};

/// The ledger key of the credit note that reverses a cancelled order's invoice.
pub fn cancellation_key(seller: &str, order_id: &str) -> String {
    format!("amz:{seller}:order:{order_id}:cancellation")
}

/// The A/R credit note of an order cancelled after it was invoiced (the ledger stores the SAP
/// body as is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CancellationNote(pub Document);

impl SapDocument for CancellationNote {
    const KIND: &'static str = "credit_note";

    async fn find(&self, engine: &Engine, key: &str) -> Result<Option<Found>> {
        // A refunded order has credit notes of its settlements with its id in NumAtCard too: the
        // key UDF, else the key at the end of the comments, tells this one apart.
        let query = Query::new()
            .filter(key_filter(engine, key, &self.0))
            .select(["DocEntry", "DocNum", "Comments"])
            .top(50);
        let page = engine.sap.credit_notes().page(&query).await?;
        Ok(page
            .items
            .iter()
            .find(|d| {
                engine.config.sap.key_udf.is_some()
                    || d.comments.as_deref().is_some_and(|c| c.ends_with(key))
            })
            .and_then(|d| {
                let doc_entry = i64::from(d.doc_entry?.0);
                Some(Found {
                    doc_entry,
                    doc_num: d.doc_num.map(i64::from),
                    detail: format!(
                        "found in SAP by its key (DocEntry {doc_entry}); not sent again"
                    ),
                    by_other_instance: None,
                })
            }))
    }

    fn request_summary(&self) -> Value {
        json!({
            "request": "POST CreditNotes",
            "CardCode": self.0.card_code,
            "NumAtCard": self.0.num_at_card,
            "lines": self.0.document_lines.as_ref().map_or(0, Vec::len),
        })
    }

    fn requests(&self) -> Result<Vec<DocRequest>> {
        Ok(vec![DocRequest {
            set: "CreditNotes",
            body: serde_json::to_value(&self.0)?,
        }])
    }

    fn refusal(&self, error: &SapError) -> String {
        format!("SAP refused the credit note of the cancelled order: {error}")
    }
}

/// Pure: the credit note reversing `invoice` (as it was sent; SAP DocEntry `doc_entry`) of an
/// order Amazon cancelled, dated `date`, keyed `key` (written into `key_udf` when set).
pub fn cancellation_note(
    invoice: &Document,
    doc_entry: i64,
    date: chrono::NaiveDate,
    key: &str,
    key_udf: Option<&str>,
) -> Result<Document, String> {
    let order = invoice.num_at_card.clone().unwrap_or_default();
    let base_entry = i32::try_from(doc_entry)
        .map_err(|_| format!("order {order}: invoice DocEntry {doc_entry} is out of range"))?;
    let rows = invoice.document_lines.as_deref().unwrap_or_default();
    if rows.is_empty() {
        return Err(format!(
            "order {order}: its invoice has no rows to credit (DocEntry {doc_entry})"
        ));
    }
    let lines = rows
        .iter()
        .zip(0..)
        .map(|(row, line_num)| DocumentLine {
            item_code: row.item_code.clone(),
            quantity: row.quantity,
            unit_price: row.unit_price,
            line_total: row.line_total,
            row_total_fc: row.row_total_fc,
            price_after_vat: row.price_after_vat,
            vat_group: row.vat_group.clone(),
            tax_code: row.tax_code.clone(),
            warehouse_code: row.warehouse_code.clone(),
            free_text: row.free_text.clone(),
            // The units never left: they go back where the invoice took them from.
            without_inventory_movement: Some(YesNo::No),
            base_type: Some(13),
            base_entry: Some(base_entry),
            base_line: Some(line_num),
            ..DocumentLine::default()
        })
        .collect();
    let mut doc = Document {
        card_code: invoice.card_code.clone(),
        num_at_card: invoice.num_at_card.clone(),
        doc_date: Some(date.into()),
        doc_due_date: Some(date.into()),
        tax_date: Some(date.into()),
        doc_currency: invoice.doc_currency.clone(),
        comments: Some(format!(
            "Amazon cancelled order {order} after it was invoiced (invoice DocEntry {doc_entry}) - ml-connector {key}"
        )),
        document_lines: Some(lines),
        document_additional_expenses: invoice.document_additional_expenses.clone(),
        ..Document::default()
    };
    if let Some(udf) = key_udf {
        doc.extra
            .insert(udf.to_owned(), Value::String(key.to_owned()));
    }
    Ok(doc)
}

impl Engine {
    /// An order Amazon reports cancelled whose invoice is posted: its credit note, planned and
    /// posted once (counted in `report`); a dry run only counts it.
    pub(super) async fn credit_cancelled(
        &self,
        order: &Order,
        invoice: &DocRecord,
        dry_run: bool,
        report: &mut OrdersReport,
    ) -> Result<()> {
        let id = order.order_id.as_str();
        let key = cancellation_key(&self.config.amazon.seller_id, id);
        // Resolved by this run's recovery, and counted there.
        if report.recovered_keys.contains(&key) {
            return Ok(());
        }
        if let Some(rec) = self.ledger().get(&key)?
            && rec.state == crate::ledger::DocState::Posted
        {
            report.already_posted += 1;
            return Ok(());
        }
        if dry_run {
            report.would_credit += 1;
            return Ok(());
        }
        let plan = self.plan_cancellation(order, invoice, &key)?;
        let body = serde_json::to_vec(order)?;
        let payload = match &plan {
            Ok(doc) => Some(serde_json::to_string(doc)?),
            Err(_) => None,
        };
        let status = {
            let mut ledger = self.ledger();
            let source = ledger.put_source("order", id, &body)?;
            ledger.plan_or_replan(&PlanRequest {
                key: &key,
                flow: FLOW,
                kind: CancellationNote::KIND,
                source_id: Some(source),
                body: match (&plan, &payload) {
                    (Err(reason), _) => PlanBody::Hold(reason),
                    (Ok(_), Some(p)) => PlanBody::Ready(p),
                    (Ok(_), None) => unreachable!("a ready plan has a payload"),
                },
                on_failed: OnFailed::Keep,
            })?
        };
        match (status, plan) {
            (PlanStatus::Ready, _) => {
                let outcome = self.post::<CancellationNote>(&key).await?;
                if let PostOutcome::Posted { doc_entry, .. } = &outcome {
                    info!(order = %id, doc_entry, "credit note posted for the cancelled order");
                }
                report.count_credit(&key, outcome);
            }
            (PlanStatus::Posted, _) => report.already_posted += 1,
            (PlanStatus::Dismissed, _) => report.dismissed += 1,
            (PlanStatus::Held | PlanStatus::Failed(_), Err(reason)) => {
                report.held.push(Problem { key, reason })
            }
            (PlanStatus::Failed(reason), Ok(_)) => report.failed.push(Problem {
                key,
                reason: format!("{reason} (use `ml-connector replay` after fixing)"),
            }),
            (PlanStatus::InDoubt(state), _) => report.unknown.push(Problem {
                key,
                reason: format!("{state}: looked up in SAP by the next run"),
            }),
            (PlanStatus::Held, Ok(_)) => {}
        }
        Ok(())
    }

    /// The credit note of `order` from its posted invoice's ledger record (`Err`: why not).
    fn plan_cancellation(
        &self,
        order: &Order,
        invoice: &DocRecord,
        key: &str,
    ) -> Result<Result<CancellationNote, String>> {
        let id = order.order_id.as_str();
        let Some(doc_entry) = invoice.doc_entry else {
            return Ok(Err(format!(
                "order {id} was cancelled after it was invoiced, but the ledger has no DocEntry of its invoice `{}`: credit it in SAP by hand",
                invoice.key
            )));
        };
        let Invoice(sent) = serde_json::from_str(&invoice.payload)
            .with_context(|| format!("stored invoice `{}`", invoice.key))?;
        let marketplace = order.sales_channel.marketplace_id.as_deref().unwrap_or("");
        // The day Amazon reports the cancellation, in the marketplace's time zone.
        let date = match sp_api_client::time_zone::MarketplaceZone::of(marketplace) {
            Some(zone) => zone.local_date(order.last_updated_time),
            None => order.last_updated_time.date_naive(),
        };
        // Never before the invoice it reverses.
        let date = sent.doc_date.map_or(date, |d| d.0.max(date));
        Ok(cancellation_note(
            &sent,
            doc_entry,
            date,
            key,
            self.config.sap.key_udf.as_deref(),
        )
        .map(CancellationNote))
    }

    /// Re-plans a held or failed cancellation credit note from its stored order and posts it.
    pub(super) async fn replay_cancellation(
        &self,
        rec: &DocRecord,
    ) -> Result<super::ReplayOutcome> {
        let source_id = rec
            .source_id
            .ok_or_else(|| anyhow::anyhow!("`{}` has no stored source to re-plan from", rec.key))?;
        let source = self.ledger().source(source_id)?;
        let order: Order = serde_json::from_slice(&source.body)
            .with_context(|| format!("stored source of `{}`", rec.key))?;
        let invoice_key =
            super::invoice_key(&self.config.amazon.seller_id, order.order_id.as_str());
        let Some(invoice) = self.ledger().get(&invoice_key)? else {
            return Ok(super::ReplayOutcome::StillHeld(format!(
                "no invoice `{invoice_key}` in the ledger to base the credit note on"
            )));
        };
        match self.plan_cancellation(&order, &invoice, &rec.key)? {
            Err(reason) => Ok(super::ReplayOutcome::StillHeld(reason)),
            Ok(doc) => {
                self.ledger()
                    .replan(&rec.key, &serde_json::to_string(&doc)?, None)?;
                Ok(super::ReplayOutcome::Posted(
                    self.post::<CancellationNote>(&rec.key).await?,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credit_note_copies_every_row_based_on_the_invoice() {
        let invoice: Document = serde_json::from_value(json!({
            "CardCode": "C-AMZ-UK", "NumAtCard": "203-1", "DocCurrency": "GBP", "DocDate": "2026-11-20",
            "DocumentLines": [
                {"ItemCode": "A1", "Quantity": "2", "PriceAfterVAT": "12", "VatGroup": "O1", "WarehouseCode": "01"},
                {"ItemCode": "B2", "Quantity": "1", "UnitPrice": "5", "LineTotal": "5", "VatGroup": "O0"}
            ],
            "DocumentAdditionalExpenses": [{"ExpenseCode": 1, "LineTotal": "3.32", "VatGroup": "O1"}]
        }))
        .unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let key = "amz:S:order:203-1:cancellation";
        let doc = cancellation_note(&invoice, 41, date, key, Some("U_MLC_Key")).unwrap();
        let v = serde_json::to_value(&doc).unwrap();
        let lines = v["DocumentLines"].as_array().unwrap();
        assert_eq!(lines.len(), 2);
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(l["BaseType"], 13, "{l}");
            assert_eq!(l["BaseEntry"], 41);
            assert_eq!(l["BaseLine"], i);
            assert_eq!(l["WithoutInventoryMovement"], "tNO", "the units go back");
        }
        assert_eq!(lines[0]["PriceAfterVAT"], "12");
        assert_eq!(lines[0]["Quantity"], "2");
        assert_eq!(lines[1]["LineTotal"], "5");
        assert_eq!(lines[1]["VatGroup"], "O0");
        assert_eq!(v["DocumentAdditionalExpenses"][0]["LineTotal"], "3.32");
        assert_eq!(v["DocDate"], "2026-11-22");
        assert_eq!(v["CardCode"], "C-AMZ-UK");
        assert_eq!(v["U_MLC_Key"], key);
        assert!(v["Comments"].as_str().unwrap().ends_with(key));
        let empty: Document = serde_json::from_value(json!({"NumAtCard": "203-1"})).unwrap();
        assert!(cancellation_note(&empty, 41, date, key, None).is_err());
    }
}
