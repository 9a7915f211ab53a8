//! Pure: a mapped settlement plus what SAP knows about its orders' invoices -> the SAP documents.
//!
//! Receipts become incoming payments into the clearing account (`TransferAccount`), applied to each
//! order's invoice; every journal entry of the mapper becomes a SAP journal entry. Nothing here
//! talks to SAP: the caller looks the invoices and accounts up first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sap_b1_client::entities::DocEntry;
use sap_b1_client::entities::{
    IncomingPayment, JournalEntry, PaymentInvoice, PaymentInvoiceType, ReceiptType,
};
use serde::{Deserialize, Serialize};
use settlement_mapper::mapping::{CLEARING, MappingTable};
use settlement_mapper::postings::SettlementPostings;

use super::foreign::{Foreign, account_in};
use super::held::HeldReceipt;
use super::refunds::CreditInfo;
use crate::config::{MissingInvoice, ReceiptGrouping};

/// SAP's length limit of journal and line memos.
const MEMO_MAX: usize = 50;

/// What SAP holds for an order's invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceInfo {
    /// DocEntry.
    pub doc_entry: i32,
    /// DocNum, for people.
    pub doc_num: Option<i32>,
    /// The invoice's customer.
    pub card_code: String,
    /// DocTotal.
    pub total: Decimal,
    /// DocTotal - PaidToDate.
    pub open: Decimal,
}

/// How one order's receipt is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// Amazon order id.
    pub order_id: String,
    /// What Amazon paid for it in this settlement.
    pub receipt: Decimal,
    /// The invoice's DocEntry, when there is one.
    pub invoice: Option<i32>,
    /// The invoice's DocNum.
    pub invoice_num: Option<i32>,
    /// The invoice's total.
    pub invoice_total: Option<Decimal>,
    /// Amount applied to the invoice.
    pub applied: Decimal,
    /// Amount left on the customer's account (over-payment or no invoice).
    pub on_account: Decimal,
    /// Invoice open amount left after this receipt (partial payment), or zero.
    pub invoice_left_open: Decimal,
    /// What Amazon gave the buyer back in this settlement (negative), credited by a credit note.
    #[serde(default)]
    pub refund: Decimal,
    /// The credit note's DocNum, when there is a refund.
    #[serde(default)]
    pub credit_note: Option<i32>,
    /// Amount of the credit note applied in the payment (the rest SAP set against the open
    /// invoice when the credit note was added).
    #[serde(default)]
    pub credit_applied: Decimal,
    /// What stays open on the credit note.
    #[serde(default)]
    pub credit_left_open: Decimal,
    /// Residue written off (positive: the invoice closed with less than it owed; negative: Amazon
    /// paid that much more).
    #[serde(default)]
    pub written_off: Decimal,
    /// Receipt of an order from before the cut-over (`orders.invoiced_from`) credited to the
    /// opening receivable account instead of an invoice.
    #[serde(default)]
    pub opening_receivable: Decimal,
}

/// The documents of one settlement, in posting order: payments first, then journal entries.
#[derive(Debug, Clone, Default)]
pub struct SettlementPlan {
    /// Incoming payments.
    pub payments: Vec<IncomingPayment>,
    /// Outgoing payments to customers, where credit notes give back more than the customer's
    /// invoices take in a group (`VendorPayments`, same `Payment` type).
    pub refund_payments: Vec<IncomingPayment>,
    /// Journal entries (the deposit included).
    pub journal_entries: Vec<JournalEntry>,
    /// Per order: receipt vs invoice.
    pub applications: Vec<Application>,
    /// Partial and over-payments, amounts on account: reported, never silently absorbed.
    pub notes: Vec<String>,
    /// The settlement's total in the company's currency: itself for a local-currency settlement,
    /// Amazon's converted payout with the currency converter, else at SAP's rate of the deposit
    /// date (`None` when SAP has no rate for that day, as for a settlement without a deposit).
    pub total_local: Option<Decimal>,
    /// Receipts that differ from their invoice by more than the write-off tolerance: not in any
    /// payment (the clearing account keeps them until they post), each held under its own key.
    pub held: Vec<HeldReceipt>,
}

/// One payment being built: (invoice and credit-note lines, transfer sum, orders), keyed by
/// (customer, date, order number or 0 when grouped per settlement).
type PaymentGroup = (Vec<PaymentInvoice>, Decimal, usize);

/// What the planner needs besides the postings.
pub struct PlanInput<'a> {
    /// The mapped settlement.
    pub postings: &'a SettlementPostings,
    /// The mapping table (resolves the clearing account).
    pub table: &'a MappingTable,
    /// Invoices found in SAP, by Amazon order id.
    pub invoices: &'a HashMap<String, InvoiceInfo>,
    /// Customer per marketplace name (lower case, e.g. `amazon.de`).
    pub customers: &'a HashMap<String, String>,
    /// Payment grouping.
    pub grouping: ReceiptGrouping,
    /// Missing-invoice policy.
    pub missing: MissingInvoice,
    /// The settlement's currency and SAP's rates when it is not the company's (`None`: local).
    pub foreign: Option<&'a Foreign>,
    /// The credit notes of the settlement's refunds, by (order id, posting date).
    pub credit_notes: &'a HashMap<(String, NaiveDate), CreditInfo>,
    /// Residues up to this much per order (an invoice a few cents short of paid, a few cents over)
    /// are written off to the write-off account so the invoice closes; 0 writes nothing off.
    pub write_off: Decimal,
    /// The deposit as Amazon converted it into the company's currency (Amazon Currency
    /// Converter for Sellers, [`super::converter`]); `None`: paid out in the settlement currency.
    pub converted: Option<Decimal>,
    /// Hold the receipt of an order (without a refund in the same posting) whose difference from
    /// its invoice's open amount is above this (`settlements.write_off`) instead of posting it
    /// and leaving the difference open or on account; `None`: post it with a note.
    pub hold_above: Option<Decimal>,
    /// Orders from before the cut-over (`orders.invoiced_from`) without an invoice in SAP.
    pub opening: &'a BTreeSet<String>,
    /// The account their receipts are credited to (`settlements.opening_receivable`, as SAP
    /// posts it); `None` when no cut-over is configured.
    pub opening_account: Option<&'a str>,
}

/// Builds the SAP documents, or says everything that holds the settlement.
pub fn plan_documents(input: &PlanInput<'_>) -> Result<SettlementPlan, Vec<String>> {
    let p = input.postings;
    let mut held: Vec<String> = p.held.clone();
    let mut plan = SettlementPlan::default();
    let iso = input.foreign.map(|f| f.iso.as_str());
    let clearing = account_in(input.table, CLEARING, input.table.resolve(CLEARING), iso);
    let mut groups: BTreeMap<(String, NaiveDate, usize), PaymentGroup> = BTreeMap::new();
    let mut missing = Vec::new();
    let mut write_offs: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
    // Per date: (receipts, refunds) of orders from before the cut-over.
    let mut openings: BTreeMap<NaiveDate, (Decimal, Decimal)> = BTreeMap::new();
    // Local-currency settlements only: in a foreign currency SAP books the payment's local
    // amount at one rate and a write-off entry at its date's rate, which would leave a local cent
    // on the clearing account (a residue there is left open and reported).
    let tolerance = match input.foreign {
        Some(_) => Decimal::ZERO,
        None => input.write_off,
    };
    // What each order moves in this settlement, per posting date: (marketplace, receipt, refund).
    let mut orders: BTreeMap<(NaiveDate, &str), (&str, Decimal, Decimal)> = BTreeMap::new();
    for r in &p.receipts {
        let e = orders.entry((r.date, r.order_id.as_str())).or_insert((
            r.marketplace.as_str(),
            Decimal::ZERO,
            Decimal::ZERO,
        ));
        e.1 += r.amount;
    }
    for r in &p.refunds {
        let e = orders.entry((r.date, r.order_id.as_str())).or_insert((
            r.marketplace.as_str(),
            Decimal::ZERO,
            Decimal::ZERO,
        ));
        e.2 += r.amount;
    }
    for (n, ((date, order_id), (marketplace, receipt, refund))) in orders.into_iter().enumerate() {
        if receipt.is_zero() && refund.is_zero() {
            continue;
        }
        let opening = input.opening_account.is_some()
            && input.opening.contains(order_id)
            && !input.invoices.contains_key(order_id);
        let credit = if refund.is_zero() || opening {
            None
        } else {
            match input.credit_notes.get(&(order_id.to_owned(), date)) {
                Some(c) => Some(c),
                None => {
                    held.push(format!(
                        "order {order_id}: its refund ({refund}) on {date} has no credit note"
                    ));
                    continue;
                }
            }
        };
        if refund.is_zero() && receipt.is_sign_negative() && !opening {
            held.push(format!(
                "order {order_id} has a negative receipt ({receipt}) in this settlement: a credit note or a manual entry is needed"
            ));
            continue;
        }
        let group_n = match input.grouping {
            ReceiptGrouping::PerSettlement => 0,
            ReceiptGrouping::PerOrder => n + 1,
        };
        // What the order brings into clearing, and the credit notes' part still to apply.
        let cash = receipt + refund;
        let credit_open = credit.map_or(Decimal::ZERO, |c| c.open);
        let app = match input.invoices.get(order_id) {
            Some(inv) => {
                // The invoice takes the cash plus what the credit note gives back (the credit
                // note is applied whole in the same payment), up to what it still owes; the rest
                // is on the customer's account: above zero paid in advance, below zero money
                // given back that no document explains (a refund of a sale no settlement has
                // paid yet: SAP set the credit note against the unpaid invoice).
                let credit_applied = credit_open;
                let credit_left_open = Decimal::ZERO;
                let mut applied =
                    (cash + credit_open).clamp(Decimal::ZERO, inv.open.max(Decimal::ZERO));
                let mut on_account = cash - applied + credit_applied;
                // A residue within the tolerance is written off: the invoice closes.
                let short = (inv.open - applied).max(Decimal::ZERO);
                let mut written_off = Decimal::ZERO;
                if on_account.is_zero() && !short.is_zero() && short <= tolerance {
                    applied += short;
                    written_off = short;
                } else if !on_account.is_zero() && on_account.abs() <= tolerance {
                    // A few cents over (Amazon paid more) or under (a credit note SAP made a
                    // cent larger than the refund).
                    written_off = -on_account;
                    on_account = Decimal::ZERO;
                }
                let left = (inv.open - applied).max(Decimal::ZERO);
                let num = inv.doc_num.unwrap_or(inv.doc_entry);
                // Above the tolerance, this order's receipt waits (the rest posts): the invoice
                // is corrected first, then `replay` posts it.
                let difference = on_account - left;
                // A foreign-currency invoice's open amount is derived from its local amount, so
                // it may be off by the foreign value of a local cent: that is not held.
                let limit = input.hold_above.map(|limit| match input.foreign {
                    Some(f) => f
                        .rate(date)
                        .map_or(limit, |rate| limit.max(local_cent_in(rate))),
                    None => limit,
                });
                if let Some(limit) = limit
                    && refund.is_zero()
                    && !receipt.is_zero()
                    && difference.abs() > limit
                {
                    plan.held.push(HeldReceipt {
                        order_id: order_id.to_owned(),
                        marketplace: marketplace.to_owned(),
                        date,
                        number: n + 1,
                        receipt,
                        invoice_num: num,
                        invoice_open: inv.open,
                        difference,
                        limit,
                        customer: inv.card_code.clone(),
                        invoice_total: inv.total,
                    });
                    continue;
                }
                if !written_off.is_zero() {
                    *write_offs.entry(date).or_default() += written_off;
                }
                if on_account.is_sign_negative() && !on_account.is_zero() {
                    plan.notes.push(format!(
                        "order {order_id}: Amazon gave back {} more than its documents explain (invoice {num} had {} open, refund {refund}); it is charged to the account of {} until the sale's receipt arrives",
                        -on_account, inv.open, inv.card_code
                    ));
                } else if !on_account.is_zero() {
                    plan.notes.push(format!(
                        "order {order_id}: Amazon paid {cash} but invoice {num} had {} open; {on_account} stays on account of {}",
                        inv.open, inv.card_code
                    ));
                } else if !left.is_zero() && !receipt.is_zero() {
                    plan.notes.push(format!(
                        "order {order_id}: Amazon paid {cash} of invoice {num} ({} open); {left} stays open",
                        inv.open
                    ));
                }
                // Money given back on account can only go out in an outgoing payment: such
                // orders get their own.
                let group_n = if on_account.is_sign_negative() && !on_account.is_zero() {
                    usize::MAX - n
                } else {
                    group_n
                };
                let entry = groups
                    .entry((inv.card_code.clone(), date, group_n))
                    .or_default();
                for (amount, kind, doc_entry) in [
                    (applied, PaymentInvoiceType::Invoice, Some(inv.doc_entry)),
                    (
                        credit_applied,
                        PaymentInvoiceType::CreditNote,
                        credit.and_then(|c| c.doc_entry),
                    ),
                ] {
                    if amount.is_zero() {
                        continue;
                    }
                    // A foreign-currency document is paid in its currency (`AppliedFC`); SAP
                    // works out the local amount and any exchange difference.
                    let (sum_applied, applied_fc) = match input.foreign {
                        Some(_) => (None, Some(amount)),
                        None => (Some(amount), None),
                    };
                    entry.0.push(PaymentInvoice {
                        doc_entry: Some(DocEntry(doc_entry.unwrap_or_default())),
                        sum_applied,
                        applied_fc,
                        invoice_type: Some(kind),
                        ..PaymentInvoice::default()
                    });
                }
                // The payment carries what it applies; the write-off entry takes the residue
                // back out of (or into) clearing.
                entry.1 += applied - credit_applied + on_account;
                entry.2 += 1;
                Application {
                    order_id: order_id.to_owned(),
                    receipt,
                    invoice: Some(inv.doc_entry),
                    invoice_num: inv.doc_num,
                    invoice_total: Some(inv.total),
                    applied,
                    on_account,
                    invoice_left_open: left,
                    refund,
                    credit_note: credit.and_then(|c| c.doc_num.or(c.doc_entry)),
                    credit_applied,
                    credit_left_open,
                    written_off,
                    opening_receivable: Decimal::ZERO,
                }
            }
            // An order the earlier bookkeeping invoiced (before the cut-over): its receipt
            // settles the receivable that bookkeeping left, by a journal line (no invoice, no
            // customer: a G/L balance), never by a new invoice; its refund (no invoice to base
            // a credit note on) goes to the refunds account.
            None if opening => {
                let e = openings.entry(date).or_default();
                e.0 += receipt;
                e.1 += refund;
                Application {
                    order_id: order_id.to_owned(),
                    receipt,
                    refund,
                    opening_receivable: receipt,
                    ..Application::default()
                }
            }
            None if !refund.is_zero() => {
                held.push(format!(
                    "order {order_id}: its refund ({refund}) has no invoice in SAP to credit"
                ));
                continue;
            }
            None => match input.missing {
                // Invoices to create were created before planning; one still missing holds.
                MissingInvoice::Hold | MissingInvoice::CreateInvoice => {
                    missing.push(order_id.to_owned());
                    continue;
                }
                MissingInvoice::OnAccount => {
                    let Some(customer) = input.customers.get(&marketplace.to_ascii_lowercase())
                    else {
                        held.push(format!(
                            "order {order_id} ({marketplace}) has no invoice and its marketplace has no customer in [marketplaces]"
                        ));
                        continue;
                    };
                    plan.notes.push(format!(
                        "order {order_id}: no invoice in SAP; {receipt} posted on account of {customer}"
                    ));
                    let entry = groups.entry((customer.clone(), date, group_n)).or_default();
                    entry.1 += receipt;
                    entry.2 += 1;
                    Application {
                        order_id: order_id.to_owned(),
                        receipt,
                        on_account: receipt,
                        ..Application::default()
                    }
                }
            },
        };
        plan.applications.push(app);
    }
    if !missing.is_empty() {
        // A first run typically: the orders sync reads `orders.lookback` (7 days) back, the
        // settlements sync 90 days; the orders of older settlements are read with `--since`. The
        // settlement's rows were posted in its period, when its orders shipped or were refunded
        // (their last update); a day earlier allows for time zones.
        let since = (p.start - chrono::Duration::days(1)).date_naive();
        held.push(format!(
            "{} order(s) paid by this settlement have no invoice in SAP: invoice them with `ml-connector sync orders --since {since}` (an orders sync reads only orders.lookback back unless given --since), then sync settlements again; or set settlements.missing_invoice = \"on-account\": {}",
            missing.len(),
            abbreviate(&missing, 20)
        ));
    }
    if !held.is_empty() {
        return Err(held);
    }
    for ((customer, date, _), (lines, sum, orders)) in groups {
        // A payment that gives back more than it receives is an outgoing payment to the
        // customer (SAP's incoming payments are never negative; a credit note is paid back by
        // an outgoing payment, `VendorPayments` with `DocType` `rCustomer`); one that nets to
        // zero only sets invoices against credit notes, without a payment means.
        let outgoing = sum.is_sign_negative() && !sum.is_zero();
        let amount = sum.abs();
        let payment = IncomingPayment {
            doc_type: Some(ReceiptType::Customer),
            card_code: Some(customer),
            doc_date: Some(date.into()),
            due_date: Some(date.into()),
            tax_date: Some(date.into()),
            doc_currency: Some(p.currency.clone()),
            transfer_account: (!amount.is_zero()).then(|| clearing.clone()),
            transfer_sum: (!amount.is_zero()).then_some(amount),
            transfer_date: (!amount.is_zero()).then(|| date.into()),
            remarks: Some(format!(
                "Amazon settlement {}: {orders} order(s)",
                p.settlement_id
            )),
            journal_remarks: Some(truncate(&format!("Amazon settlement {}", p.settlement_id))),
            payment_invoices: (!lines.is_empty()).then_some(lines),
            ..IncomingPayment::default()
        };
        if outgoing {
            plan.refund_payments.push(payment);
        } else {
            plan.payments.push(payment);
        }
    }
    plan.journal_entries = super::journal::journal_entries(input, &write_offs, &openings)?;
    plan.total_local = match (input.foreign, input.converted) {
        (_, Some(converted)) => Some(converted),
        (None, None) => Some(p.total_amount),
        (Some(f), None) => f
            .rates
            .get(&p.deposit_date.date_naive())
            .map(|rate| (p.total_amount * rate).round_dp(2)),
    };
    Ok(plan)
}

/// One cent of the company's currency in a foreign currency at SAP's `rate` (local per unit),
/// rounded up to the cent.
fn local_cent_in(rate: Decimal) -> Decimal {
    if rate <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    (Decimal::new(1, 2) / rate)
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::AwayFromZero)
}

/// SAP cuts memos at 50 characters; cut them ourselves, on a character boundary.
pub(super) fn truncate(s: &str) -> String {
    s.chars().take(MEMO_MAX).collect()
}

fn abbreviate(items: &[String], n: usize) -> String {
    if items.len() <= n {
        items.join(", ")
    } else {
        format!("{}, and {} more", items[..n].join(", "), items.len() - n)
    }
}

/// The invoice of an order that has none in SAP, from the settlement's own rows of it: per SKU the
/// quantity and the principal (with its promotions), plus shipping; tax per the marketplace's code.
pub fn invoice_from_rows(
    config: &crate::config::Config,
    mapping: &crate::config::MarketplaceMapping,
    key: &str,
    order_id: &str,
    rows: &[settlement_mapper::SettlementRow],
    postings: &SettlementPostings,
) -> sap_b1_client::entities::Document {
    use crate::flows::orders::{Freight, LineSpec, build_invoice};
    let mut per_sku: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    let mut shipping = Decimal::ZERO;
    for r in rows {
        let principal = matches!(r.amount_type.as_str(), "ItemPrice" | "Promotion")
            && r.amount_description == "Principal";
        let ship = matches!(r.amount_type.as_str(), "ItemPrice" | "Promotion")
            && r.amount_description == "Shipping";
        if ship {
            shipping += r.amount;
        }
        if principal || r.quantity_purchased.is_some() {
            let entry = per_sku.entry(r.sku.clone()).or_default();
            if principal {
                entry.0 += r.amount;
            }
            // Amazon repeats the quantity on every row of the item: take it, do not sum it.
            if let Some(q) = r.quantity_purchased {
                entry.1 = entry.1.max(Decimal::from(q));
            }
        }
    }
    let specs = per_sku
        .into_iter()
        .filter(|(_, (net, _))| !net.is_zero())
        .map(|(sku, (net, qty))| LineSpec {
            item_code: config.item_code(&sku).to_owned(),
            quantity: if qty.is_zero() { Decimal::ONE } else { qty },
            net,
            tax_code: None,
            gross: None,
            sku,
        })
        .collect();
    let date = rows
        .iter()
        .filter_map(|r| r.posted_date)
        .max()
        .unwrap_or_else(|| postings.deposit_date.date_naive());
    let comments = format!(
        "Amazon order {order_id} - created from settlement {} (no invoice existed) - ml-connector {key}",
        postings.settlement_id
    );
    build_invoice(
        config,
        mapping,
        key,
        order_id,
        date,
        Some(postings.currency.clone()),
        specs,
        Freight::net(shipping),
        comments,
    )
}

#[cfg(test)]
mod tests;
