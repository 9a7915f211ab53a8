//! A receipt held for a difference above the write-off tolerance, while the rest of its settlement
//! posts (issue 17, "anything above it holds that order's receipt with the reason").
//!
//! Where the money is meanwhile: the deposit's journal entry credits the clearing account with the
//! whole payout, but no incoming payment debits it for the held receipt, so the clearing account
//! keeps the held amount as a credit balance (Amazon paid it, no invoice has taken it) and the
//! order's invoice stays open in A/R for its full open amount. `replay KEY` re-plans the order
//! from the stored settlement file against the invoice as it is then (corrected by a person) and
//! posts its incoming payment (and the write-off of a residue within the tolerance) as one part
//! with its own reference `MLC{settlement}-R{n}`, which the reconciliation report counts with the
//! settlement's other documents: clearing returns to zero. `dismiss KEY` closes it when a person
//! books the difference by hand.

use anyhow::{Context, Result, anyhow};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sap_b1_client::Error as SapError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use settlement_mapper::map_settlement;
use settlement_mapper::postings::SettlementPostings;

use super::parts::{SettlementPart, one_part};
use super::plan::Application;
use super::{FLOW, settlement_key};
use crate::flows::Engine;
use crate::flows::orders::ReplayOutcome;
use crate::ledger::{DocState, Ledger, OnFailed, PlanBody, PlanRequest};
use crate::posting::{DocRequest, Found, PostOutcome, SapDocument};

/// The ledger kind of a held receipt.
pub const KIND: &str = "held_receipt";

/// One order's receipt held for its difference from the invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldReceipt {
    /// Amazon order id.
    pub order_id: String,
    /// The marketplace as the settlement names it.
    pub marketplace: String,
    /// Posting date of the receipt.
    pub date: NaiveDate,
    /// The order's position in the settlement (its reference is `MLC{settlement}-R{number}`).
    pub number: usize,
    /// What Amazon paid for it.
    pub receipt: Decimal,
    /// The invoice's DocNum (DocEntry when SAP gave none).
    pub invoice_num: i32,
    /// The invoice's total.
    pub invoice_total: Decimal,
    /// What the invoice had open.
    pub invoice_open: Decimal,
    /// Receipt minus open amount: positive Amazon paid more, negative less.
    pub difference: Decimal,
    /// The tolerance it is above (`settlements.write_off`).
    pub limit: Decimal,
    /// The invoice's customer.
    pub customer: String,
}

impl HeldReceipt {
    /// Why it is held, with the numbers and what to do.
    pub fn reason(&self, currency: &str) -> String {
        let how = if self.difference.is_sign_negative() {
            format!("{} short", -self.difference)
        } else {
            format!("{} over", self.difference)
        };
        format!(
            "order {}: Amazon paid {} {currency} on {} but invoice {} ({}) has {} open: {how}, \
             above settlements.write_off ({}); this receipt is held and the rest of the \
             settlement posts; the clearing account keeps {} until it posts. Correct the invoice \
             (cancel it and post the right one), then `ml-connector replay` this key; or book \
             the difference by hand and `ml-connector dismiss` it",
            self.order_id,
            self.receipt,
            self.date,
            self.invoice_num,
            self.customer,
            self.invoice_open,
            self.limit,
            self.receipt,
        )
    }

    /// The application it would have been, for the roll-up and the systematic-shortfall check.
    pub fn as_application(&self) -> Application {
        Application {
            order_id: self.order_id.clone(),
            receipt: self.receipt,
            invoice_num: Some(self.invoice_num),
            invoice_total: Some(self.invoice_total),
            invoice_left_open: (-self.difference).max(Decimal::ZERO),
            on_account: self.difference.max(Decimal::ZERO),
            ..Application::default()
        }
    }
}

/// Ledger key of a held receipt: `amz:{seller}:settlement:{id}:receipt:{order}:{date}`.
pub fn held_receipt_key(seller: &str, id: &str, order: &str, date: NaiveDate) -> String {
    format!("{}:receipt:{order}:{date}", settlement_key(seller, id))
}

/// The reference a held receipt's documents carry (fits SAP's 27-character TransferReference).
pub fn receipt_reference(id: &str, number: usize) -> String {
    format!("MLC{id}-R{number}")
}

/// (order id, date) of a held-receipt key.
fn order_of_key(key: &str) -> Option<(&str, NaiveDate)> {
    let rest = key.split_once(":receipt:")?.1;
    let (order, date) = rest.rsplit_once(':')?;
    Some((order, date.parse().ok()?))
}

/// The position the planner gives (date, order) in a settlement: the same numbering as
/// [`super::plan::plan_documents`] (every order with a receipt or refund, by date then id).
fn order_number(p: &SettlementPostings, date: NaiveDate, order: &str) -> Option<usize> {
    let mut slots: Vec<(NaiveDate, &str)> = p
        .receipts
        .iter()
        .map(|r| (r.date, r.order_id.as_str()))
        .chain(p.refunds.iter().map(|r| (r.date, r.order_id.as_str())))
        .collect();
    slots.sort_unstable();
    slots.dedup();
    slots
        .iter()
        .position(|s| *s == (date, order))
        .map(|n| n + 1)
}

/// A held receipt's documents once it can post: one settlement part with its own reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReceiptPart(pub SettlementPart);

impl SapDocument for ReceiptPart {
    const KIND: &'static str = KIND;

    async fn find(&self, engine: &Engine, key: &str) -> Result<Option<Found>> {
        self.0.find(engine, key).await
    }

    fn request_summary(&self) -> Value {
        self.0.request_summary()
    }

    fn requests(&self) -> Result<Vec<DocRequest>> {
        self.0.requests()
    }

    fn refusal(&self, error: &SapError) -> String {
        self.0.refusal(error)
    }
}

impl Engine {
    /// Puts each held receipt of a settlement under its own key (HELD with its reason).
    pub(super) fn hold_receipts(
        &self,
        id: &str,
        currency: &str,
        source: i64,
        held: &[HeldReceipt],
    ) -> Result<Vec<crate::flows::Problem>> {
        let mut out = Vec::new();
        let mut ledger = self.ledger();
        for h in held {
            let key = held_receipt_key(&self.config.amazon.seller_id, id, &h.order_id, h.date);
            let reason = h.reason(currency);
            let status = ledger.plan_or_replan(&PlanRequest {
                key: &key,
                flow: FLOW,
                kind: KIND,
                source_id: Some(source),
                body: PlanBody::Hold(&reason),
                on_failed: OnFailed::Replan,
            })?;
            if status == crate::ledger::PlanStatus::Held {
                out.push(crate::flows::Problem { key, reason });
            }
        }
        Ok(out)
    }

    /// The ledger state of each held receipt of a settlement (`HELD`, `POSTED`, `DISMISSED`...).
    pub fn held_receipt_states(&self, id: &str, held: &[HeldReceipt]) -> Result<Vec<String>> {
        let ledger = self.ledger();
        held.iter()
            .map(|h| {
                let key = held_receipt_key(&self.config.amazon.seller_id, id, &h.order_id, h.date);
                Ok(ledger
                    .get(&key)?
                    .map_or_else(|| "not planned".to_owned(), |r| r.state.to_string()))
            })
            .collect()
    }

    /// Re-plans a held receipt from the stored settlement file against its invoice as SAP has it
    /// now, and posts it when the difference is gone (or within the tolerance).
    pub(super) async fn replay_held_receipt(&self, key: &str, id: &str) -> Result<ReplayOutcome> {
        let rec = self
            .ledger()
            .get(key)?
            .ok_or_else(|| anyhow!("no held receipt with key `{key}` in the ledger"))?;
        match rec.state {
            DocState::Posted => {
                return Ok(ReplayOutcome::AlreadyPosted {
                    doc_entry: rec.doc_entry,
                    doc_num: rec.doc_num,
                });
            }
            DocState::Planned | DocState::Sending | DocState::Unknown => {
                self.sap.connect().await.context("SAP login")?;
                return Ok(ReplayOutcome::Posted(self.post::<ReceiptPart>(key).await?));
            }
            DocState::Held | DocState::Failed | DocState::Dismissed => {}
        }
        let (order, date) =
            order_of_key(key).ok_or_else(|| anyhow!("`{key}` is not a held-receipt key"))?;
        let source = self.stored_settlement(&rec, id)?;
        self.sap.connect().await.context("SAP login")?;
        let table = self.posting_table().await?;
        let postings = map_settlement(&source.body[..], &table)
            .with_context(|| format!("stored source of `{key}`"))?;
        let number = order_number(&postings, date, order)
            .ok_or_else(|| anyhow!("order {order} on {date} is not in settlement {id}"))?;
        // The order alone: its receipt (and refund) of that date, none of the settlement's
        // journal entries (they are posted).
        let mut one = postings.clone();
        one.receipts
            .retain(|r| r.order_id == order && r.date == date);
        one.refunds
            .retain(|r| r.order_id == order && r.date == date);
        one.journal_entries.clear();
        one.held.clear();
        let planned = self
            .plan_per_order(&one, &source.body, &table, true)
            .await?;
        let still = match planned {
            Err(reasons) => Some(reasons.join("; ")),
            Ok(plan) if !plan.held.is_empty() => Some(
                plan.held
                    .iter()
                    .map(|h| h.reason(&postings.currency))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Ok(plan) => {
                let part = ReceiptPart(one_part(&plan, receipt_reference(id, number)));
                if part.0.documents.is_empty() {
                    Some(format!("order {order} on {date}: nothing left to post"))
                } else {
                    self.ledger().plan_or_replan(&PlanRequest {
                        key,
                        flow: FLOW,
                        kind: KIND,
                        source_id: rec.source_id,
                        body: PlanBody::Ready(&serde_json::to_string(&part)?),
                        on_failed: OnFailed::Replan,
                    })?;
                    return Ok(ReplayOutcome::Posted(self.post::<ReceiptPart>(key).await?));
                }
            }
        };
        let reason = still.unwrap_or_default();
        self.ledger().plan_or_replan(&PlanRequest {
            key,
            flow: FLOW,
            kind: KIND,
            source_id: rec.source_id,
            body: PlanBody::Hold(&reason),
            on_failed: OnFailed::Replan,
        })?;
        Ok(ReplayOutcome::StillHeld(reason))
    }

    /// Resolves held receipts left SENDING / UNKNOWN by an earlier run.
    pub(super) async fn recover_held_receipts(&self) -> Result<Vec<(String, PostOutcome)>> {
        self.recover::<ReceiptPart>(FLOW).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_references_name_the_order() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        let key = held_receipt_key("S1", "24001234567", "028-1234567-7654321", d);
        assert_eq!(
            key,
            "amz:S1:settlement:24001234567:receipt:028-1234567-7654321:2026-11-03"
        );
        assert_eq!(order_of_key(&key), Some(("028-1234567-7654321", d)));
        assert_eq!(order_of_key("amz:S1:settlement:1:part:2"), None);
        assert!(receipt_reference("24001234567", 9999).len() <= 27);
    }
}
