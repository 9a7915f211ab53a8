//! The credit notes of a settlement's refunds, against SAP: each refunded order's invoice rows are
//! read, its credit note planned (pure, [`super::refunds`]), and, when the settlement posts,
//! posted exactly once through the posting engine before the payments that apply it are planned.

use std::collections::HashMap;

use anyhow::Result;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sap_b1_client::Query;
use sap_b1_client::entities::Document;
use sap_b1_client::{Error as SapError, Key};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use settlement_mapper::postings::SettlementPostings;
use tracing::info;

use super::checks::{MARKETPLACE_NAMES, decimal_of};
use super::plan::InvoiceInfo;
use super::refunds::{
    BaseExpense, BaseInvoice, BaseRow, CreditInfo, CreditNoteInput, credit_note, credit_note_key,
    simulate_credit,
};
use super::{FLOW, SOURCE_KIND};
use crate::flows::Engine;
use crate::flows::orders::key_filter;
use crate::ledger::{Ledger, OnFailed, PlanBody, PlanRequest, PlanStatus};
use crate::posting::{DocRequest, Found, PostOutcome, SapDocument};

/// An A/R credit note planned for an order's refund (the ledger stores the SAP body as is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CreditNote(pub Document);

impl SapDocument for CreditNote {
    const KIND: &'static str = "credit_note";

    async fn find(&self, engine: &Engine, key: &str) -> Result<Option<Found>> {
        // An order refunded in several settlements has several credit notes with its id in
        // NumAtCard: the key UDF, else the key in the comments, tells them apart.
        let filter = key_filter(engine, key, &self.0);
        let query = Query::new()
            .filter(filter)
            .select(["DocEntry", "DocNum", "Comments"])
            .top(50);
        let page = engine.sap.credit_notes().page(&query).await?;
        let by_key = |d: &&Document| {
            engine.config.sap.key_udf.is_some()
                || d.comments.as_deref().is_some_and(|c| c.ends_with(key))
        };
        Ok(page.items.iter().find(by_key).and_then(|d| {
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
        format!("SAP refused the credit note: {error}")
    }
}

/// The credit notes of a settlement, planned: (order id, date) -> (ledger key, SAP body).
pub(super) type PlannedCredits = Vec<((String, NaiveDate), String, CreditNote)>;

impl Engine {
    /// Plans the credit note of every refund of the settlement against its order's invoice;
    /// returns them and the reasons some cannot be made.
    pub(super) async fn plan_credit_notes(
        &self,
        postings: &SettlementPostings,
        invoices: &HashMap<String, InvoiceInfo>,
    ) -> Result<(PlannedCredits, Vec<String>)> {
        let mut planned = Vec::new();
        let mut problems = Vec::new();
        let mut bases: HashMap<i32, BaseInvoice> = HashMap::new();
        for refund in &postings.refunds {
            let Some(inv) = invoices.get(&refund.order_id) else {
                problems.push(format!(
                    "order {}: its refund ({}) has no invoice in SAP to base a credit note on (sync orders first)",
                    refund.order_id, refund.amount
                ));
                continue;
            };
            let marketplace = refund.marketplace.to_ascii_lowercase();
            let Some(mapping) = MARKETPLACE_NAMES
                .iter()
                .find(|(_, name)| *name == marketplace)
                .and_then(|(id, _)| self.config.marketplaces.get(*id))
            else {
                problems.push(format!(
                    "order {} ({}) is refunded but its marketplace is not in [marketplaces]",
                    refund.order_id, refund.marketplace
                ));
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = bases.entry(inv.doc_entry) {
                slot.insert(self.base_invoice(inv).await?);
            }
            let key = credit_note_key(
                &self.config.amazon.seller_id,
                &postings.settlement_id,
                &refund.order_id,
                refund.date,
            );
            let input = CreditNoteInput {
                config: &self.config,
                mapping,
                key: &key,
                settlement_id: &postings.settlement_id,
                currency: &postings.currency,
            };
            match credit_note(&input, refund, &bases[&inv.doc_entry]) {
                Ok(mut doc) => match self.localize(&mut doc).await? {
                    Ok(()) => {
                        planned.push(((refund.order_id.clone(), refund.date), key, CreditNote(doc)))
                    }
                    Err(reason) => problems.push(format!(
                        "order {}: its credit note: {reason}",
                        refund.order_id
                    )),
                },
                Err(reason) => problems.push(reason),
            }
        }
        Ok((planned, problems))
    }

    /// What the credit notes would do, for a plan made before they are posted (a dry run, or
    /// to see whether the settlement holds): SAP applies each to its open invoice.
    pub(super) fn simulate_credit_notes(
        planned: &PlannedCredits,
        invoices: &mut HashMap<String, InvoiceInfo>,
    ) -> HashMap<(String, NaiveDate), CreditInfo> {
        let mut out = HashMap::new();
        for ((order, date), _, cn) in planned {
            let total = document_total(&cn.0);
            let mut open = Decimal::ZERO;
            let info = match invoices.get_mut(order) {
                Some(inv) => simulate_credit(&mut inv.open, total),
                None => simulate_credit(&mut open, total),
            };
            out.insert((order.clone(), *date), info);
        }
        out
    }

    /// Posts the planned credit notes, exactly once each, and reads back what SAP did with them
    /// (their totals, and what stays open once applied to their invoices).
    pub(super) async fn post_credit_notes(
        &self,
        postings: &SettlementPostings,
        bytes: &[u8],
        planned: &PlannedCredits,
    ) -> Result<Result<HashMap<(String, NaiveDate), CreditInfo>, Vec<String>>> {
        let mut problems = Vec::new();
        let mut out = HashMap::new();
        for ((order, date), key, cn) in planned {
            let status = {
                let mut ledger = self.ledger();
                let source = ledger.put_source(SOURCE_KIND, &postings.settlement_id, bytes)?;
                ledger.plan_or_replan(&PlanRequest {
                    key,
                    flow: FLOW,
                    kind: CreditNote::KIND,
                    source_id: Some(source),
                    body: PlanBody::Ready(&serde_json::to_string(cn)?),
                    on_failed: OnFailed::Replan,
                })?
            };
            // Posted by an earlier run (which stopped before the payments): read it back.
            let earlier = match status {
                PlanStatus::Posted => self.ledger().get(key)?.and_then(|r| r.doc_entry),
                _ => None,
            };
            let outcome = match earlier {
                Some(doc_entry) => PostOutcome::FoundExisting {
                    doc_entry,
                    doc_num: None,
                    by_other_instance: None,
                },
                None => self.post::<CreditNote>(key).await?,
            };
            let doc_entry = match outcome {
                PostOutcome::Posted { doc_entry, .. }
                | PostOutcome::FoundExisting { doc_entry, .. } => doc_entry,
                PostOutcome::Failed(reason) | PostOutcome::Unknown(reason) => {
                    problems.push(format!(
                        "order {order}: its credit note could not be posted: {reason}"
                    ));
                    continue;
                }
            };
            info!(order = %order, settlement = %postings.settlement_id, doc_entry, "credit note posted for the refund");
            let doc = self.sap.credit_notes().get(Key::Int(doc_entry)).await?;
            let foreign = match doc.doc_currency.as_deref() {
                Some(c) => self.is_foreign(c).await?,
                None => false,
            };
            let (total, paid) = if foreign {
                (doc.doc_total_fc, doc.extra.get("PaidToDateFC"))
            } else {
                (doc.doc_total, doc.extra.get("PaidToDate"))
            };
            let total = total.unwrap_or_default();
            let paid = paid.and_then(decimal_of).unwrap_or_default();
            out.insert(
                (order.clone(), *date),
                CreditInfo {
                    doc_entry: Some(i32::try_from(doc_entry)?),
                    doc_num: doc.doc_num,
                    total,
                    open: total - paid,
                },
            );
        }
        Ok(if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        })
    }

    /// The invoice's item rows, as a credit note is based on them.
    async fn base_invoice(&self, inv: &InvoiceInfo) -> Result<BaseInvoice> {
        let doc = self
            .sap
            .invoices()
            .get(Key::Int(inv.doc_entry.into()))
            .await?;
        let rows = doc
            .document_lines
            .iter()
            .flatten()
            .filter_map(|l| {
                let quantity = l.quantity.unwrap_or(Decimal::ONE);
                Some(BaseRow {
                    line_num: l.line_num?,
                    item_code: l.item_code.clone()?,
                    open_quantity: l
                        .extra
                        .get("RemainingOpenQuantity")
                        .and_then(decimal_of)
                        .unwrap_or(quantity),
                    gross_price: l.price_after_vat.unwrap_or_default(),
                    net_price: l.price.or(l.unit_price).unwrap_or_default(),
                    tax: (l.vat_group.clone(), l.tax_code.clone()),
                })
            })
            .collect();
        let expenses = doc
            .document_additional_expenses
            .iter()
            .flatten()
            .filter_map(|x| {
                Some(BaseExpense {
                    expense_code: x.expense_code?,
                    tax: (x.vat_group.clone(), x.tax_code.clone()),
                })
            })
            .collect();
        Ok(BaseInvoice {
            doc_entry: inv.doc_entry,
            doc_num: inv.doc_num,
            card_code: inv.card_code.clone(),
            rows,
            expenses,
        })
    }
}

/// The total a planned credit note will have: its rows' gross, or net plus nothing (the tax SAP
/// adds is not known before it is posted; a net row's refund is the net Amazon gave back).
fn document_total(doc: &Document) -> Decimal {
    doc.document_lines
        .iter()
        .flatten()
        .map(
            |l| match (l.price_after_vat, l.line_total.or(l.row_total_fc)) {
                (Some(gross), _) => gross * l.quantity.unwrap_or(Decimal::ONE),
                (None, Some(net)) => net,
                (None, None) => Decimal::ZERO,
            },
        )
        .map(|d| d.round_dp(2))
        .sum()
}
