//! The per-order cut-over: where posting starts for a seller coming from manual bookkeeping or
//! another tool.
//!
//! - `settlements.start_after` (a settlement id or a date): settlements up to it are skipped
//!   (listed as `skipped`, nothing stored, nothing posted): the earlier books have them.
//! - `orders.invoiced_from` (a date): the orders flow never invoices orders created before it
//!   (`flows/orders/plan.rs`, one check). A settlement's receipt for such an order (no invoice in
//!   SAP) is credited to `settlements.opening_receivable`, the receivable the earlier books left,
//!   by a journal line against clearing (`journal.rs`): the order is never invoiced twice.
//!
//! Why a journal line and not an incoming payment "to account" (`PaymentAccounts`): the opening
//! receivable is a G/L balance carried over from the earlier books, not an open item of a business
//! partner, so there is no customer to pay; a journal line keeps it with the settlement's other
//! G/L lines in the same atomic part and the same exactly-once reference.
//!
//! Which orders predate the cut-over: an order is created before Amazon posts its charge, and the
//! receipt's date (the rows' posted date, or the later deposit date) is never earlier than that, so
//! a receipt (or refund) dated before `invoiced_from` is an order created before it. An order
//! without an invoice whose rows are dated on or after the cut-over (ordered before, shipped or
//! refunded after) is asked of Amazon (`getOrder`, its `createdTime`) — the same test the orders
//! flow makes. Such an order's refund has no invoice to base a credit note on: it is a journal
//! line to `Refunds` (without tax: the earlier books' VAT on it is not reduced by SAP's tax
//! report), in the same entry as the receipts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use chrono::NaiveDate;
use settlement_mapper::postings::{Receipt, Refund, SettlementPostings};

use super::plan::InvoiceInfo;
use crate::flows::Engine;

/// (orders from before the cut-over without an invoice, the opening receivable account as SAP
/// posts it), or why they cannot be told apart.
pub(super) type Opening = Result<(BTreeSet<String>, Option<String>), Vec<String>>;

/// Orders without an invoice and the earliest date of their receipts and refunds in `postings`.
fn uninvoiced<'a>(
    receipts: &'a [Receipt],
    refunds: &'a [Refund],
    invoices: &HashMap<String, InvoiceInfo>,
    cancelled: &BTreeMap<String, i32>,
) -> BTreeMap<&'a str, NaiveDate> {
    let mut out: BTreeMap<&str, NaiveDate> = BTreeMap::new();
    let moves = receipts
        .iter()
        .filter(|r| !r.amount.is_zero())
        .map(|r| (r.order_id.as_str(), r.date))
        .chain(refunds.iter().map(|r| (r.order_id.as_str(), r.date)));
    for (order, date) in moves {
        if invoices.contains_key(order) || cancelled.contains_key(order) {
            continue;
        }
        let e = out.entry(order).or_insert(date);
        *e = (*e).min(date);
    }
    out
}

impl Engine {
    /// The orders of `postings` from before `orders.invoiced_from` that have no invoice, and the
    /// opening receivable account; empty without a cut-over.
    pub(super) async fn opening_orders(
        &self,
        postings: &SettlementPostings,
        invoices: &HashMap<String, InvoiceInfo>,
        cancelled: &BTreeMap<String, i32>,
    ) -> Result<Opening> {
        let (Some(from), Some(code)) = (
            self.config.orders.invoiced_from,
            self.config.settlements.opening_receivable.as_deref(),
        ) else {
            return Ok(Ok((BTreeSet::new(), None)));
        };
        let account = self.resolve_account(code).await?;
        let mut opening = BTreeSet::new();
        let mut problems = Vec::new();
        for (order, earliest) in
            uninvoiced(&postings.receipts, &postings.refunds, invoices, cancelled)
        {
            if earliest < from {
                opening.insert(order.to_owned());
                continue;
            }
            // Ordered before, shipped after? Amazon knows when it was created.
            let id = sp_api_client::AmazonOrderId::from(order);
            match self.amazon.get_order(&id, &[]).await {
                Ok(o) if o.created_time.date_naive() < from => {
                    opening.insert(order.to_owned());
                }
                Ok(_) => {}
                Err(e) => problems.push(format!(
                    "order {order} has no invoice and Amazon could not say when it was created \
                     (to compare with orders.invoiced_from {from}): {e}"
                )),
            }
        }
        Ok(if problems.is_empty() {
            Ok((opening, Some(account)))
        } else {
            Err(problems)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn uninvoiced_orders_carry_their_earliest_receipt_date() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 7, d).unwrap();
        let receipt = |order: &str, d, amount| Receipt {
            order_id: order.into(),
            marketplace: "Amazon.de".into(),
            amount,
            date: day(d),
            rows: 1,
        };
        let receipts = vec![
            receipt("a", 3, Decimal::ONE),
            receipt("a", 1, Decimal::ONE),
            receipt("b", 2, Decimal::ONE),
            receipt("c", 2, Decimal::ONE),
            receipt("d", 2, Decimal::ZERO),
        ];
        let invoices = HashMap::from([(
            "b".to_owned(),
            InvoiceInfo {
                doc_entry: 1,
                doc_num: None,
                card_code: "C".into(),
                total: Decimal::ONE,
                open: Decimal::ONE,
            },
        )]);
        let cancelled = BTreeMap::from([("c".to_owned(), 7)]);
        let got = uninvoiced(&receipts, &[], &invoices, &cancelled);
        assert_eq!(got, BTreeMap::from([("a", day(1))]));
    }
}
