//! Pure: a mapped settlement plus what SAP knows about its orders' invoices -> the SAP documents.
//!
//! Receipts become incoming payments into the clearing account (`TransferAccount`), applied to each
//! order's invoice; every journal entry of the mapper becomes a SAP journal entry. Nothing here
//! talks to SAP: the caller looks the invoices and accounts up first.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sap_b1_client::entities::DocEntry;
use sap_b1_client::entities::{
    IncomingPayment, JournalEntry, JournalEntryLine, PaymentInvoice, PaymentInvoiceType,
    ReceiptType,
};
use serde::{Deserialize, Serialize};
use settlement_mapper::mapping::{CLEARING, MappingTable};
use settlement_mapper::postings::SettlementPostings;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// The documents of one settlement, in posting order: payments first, then journal entries.
#[derive(Debug, Clone, Default)]
pub struct SettlementPlan {
    /// Incoming payments.
    pub payments: Vec<IncomingPayment>,
    /// Journal entries (the deposit included).
    pub journal_entries: Vec<JournalEntry>,
    /// Per order: receipt vs invoice.
    pub applications: Vec<Application>,
    /// Partial and over-payments, amounts on account: reported, never silently absorbed.
    pub notes: Vec<String>,
}

/// One incoming payment being built: (invoice lines, transfer sum, orders), keyed by
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
}

/// Builds the SAP documents, or says everything that holds the settlement.
pub fn plan_documents(input: &PlanInput<'_>) -> Result<SettlementPlan, Vec<String>> {
    let p = input.postings;
    let mut held: Vec<String> = p.held.clone();
    let mut plan = SettlementPlan::default();
    let clearing = input.table.resolve(CLEARING).to_owned();
    let mut groups: BTreeMap<(String, NaiveDate, usize), PaymentGroup> = BTreeMap::new();
    let mut missing = Vec::new();
    for (n, r) in p.receipts.iter().enumerate() {
        if r.amount.is_zero() {
            continue;
        }
        if r.amount.is_sign_negative() {
            held.push(format!(
                "order {} has a negative receipt ({}) in this settlement: a credit note or a manual entry is needed",
                r.order_id, r.amount
            ));
            continue;
        }
        let group_n = match input.grouping {
            ReceiptGrouping::PerSettlement => 0,
            ReceiptGrouping::PerOrder => n + 1,
        };
        let app = match input.invoices.get(&r.order_id) {
            Some(inv) => {
                let applied = r.amount.min(inv.open.max(Decimal::ZERO));
                let on_account = r.amount - applied;
                let left = (inv.open - applied).max(Decimal::ZERO);
                if !on_account.is_zero() {
                    plan.notes.push(format!(
                        "order {}: Amazon paid {} but invoice {} had {} open; {} stays on account of {}",
                        r.order_id,
                        r.amount,
                        inv.doc_num.unwrap_or(inv.doc_entry),
                        inv.open,
                        on_account,
                        inv.card_code
                    ));
                } else if !left.is_zero() {
                    plan.notes.push(format!(
                        "order {}: Amazon paid {} of invoice {} ({} open); {} stays open",
                        r.order_id,
                        r.amount,
                        inv.doc_num.unwrap_or(inv.doc_entry),
                        inv.open,
                        left
                    ));
                }
                let entry = groups
                    .entry((inv.card_code.clone(), r.date, group_n))
                    .or_default();
                if !applied.is_zero() {
                    entry.0.push(PaymentInvoice {
                        doc_entry: Some(DocEntry(inv.doc_entry)),
                        sum_applied: Some(applied),
                        invoice_type: Some(PaymentInvoiceType::Invoice),
                        ..PaymentInvoice::default()
                    });
                }
                entry.1 += r.amount;
                entry.2 += 1;
                Application {
                    order_id: r.order_id.clone(),
                    receipt: r.amount,
                    invoice: Some(inv.doc_entry),
                    invoice_num: inv.doc_num,
                    invoice_total: Some(inv.total),
                    applied,
                    on_account,
                    invoice_left_open: left,
                }
            }
            None => match input.missing {
                // Invoices to create were created before planning; one still missing holds.
                MissingInvoice::Hold | MissingInvoice::CreateInvoice => {
                    missing.push(r.order_id.clone());
                    continue;
                }
                MissingInvoice::OnAccount => {
                    let Some(customer) = input.customers.get(&r.marketplace.to_ascii_lowercase())
                    else {
                        held.push(format!(
                            "order {} ({}) has no invoice and its marketplace has no customer in [marketplaces]",
                            r.order_id, r.marketplace
                        ));
                        continue;
                    };
                    plan.notes.push(format!(
                        "order {}: no invoice in SAP; {} posted on account of {customer}",
                        r.order_id, r.amount
                    ));
                    let entry = groups
                        .entry((customer.clone(), r.date, group_n))
                        .or_default();
                    entry.1 += r.amount;
                    entry.2 += 1;
                    Application {
                        order_id: r.order_id.clone(),
                        receipt: r.amount,
                        invoice: None,
                        invoice_num: None,
                        invoice_total: None,
                        applied: Decimal::ZERO,
                        on_account: r.amount,
                        invoice_left_open: Decimal::ZERO,
                    }
                }
            },
        };
        plan.applications.push(app);
    }
    if !missing.is_empty() {
        held.push(format!(
            "{} order(s) paid by this settlement have no invoice in SAP (sync orders first, or set settlements.missing_invoice = \"on-account\"): {}",
            missing.len(),
            abbreviate(&missing, 20)
        ));
    }
    if !held.is_empty() {
        return Err(held);
    }
    for ((customer, date, _), (lines, sum, orders)) in groups {
        plan.payments.push(IncomingPayment {
            doc_type: Some(ReceiptType::Customer),
            card_code: Some(customer),
            doc_date: Some(date.into()),
            due_date: Some(date.into()),
            tax_date: Some(date.into()),
            doc_currency: Some(p.currency.clone()),
            transfer_account: Some(clearing.clone()),
            transfer_sum: Some(sum),
            transfer_date: Some(date.into()),
            remarks: Some(format!(
                "Amazon settlement {}: {orders} order(s)",
                p.settlement_id
            )),
            journal_remarks: Some(truncate(&format!("Amazon settlement {}", p.settlement_id))),
            payment_invoices: (!lines.is_empty()).then_some(lines),
            ..IncomingPayment::default()
        });
    }
    for je in &p.journal_entries {
        let lines: Vec<JournalEntryLine> = je
            .lines
            .iter()
            .filter(|l| !(l.debit.is_zero() && l.credit.is_zero()))
            .map(|l| JournalEntryLine {
                account_code: Some(l.account.clone()),
                debit: Some(l.debit),
                credit: Some(l.credit),
                line_memo: Some(truncate(&l.memo)),
                ..JournalEntryLine::default()
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        plan.journal_entries.push(JournalEntry {
            reference_date: Some(je.date.into()),
            tax_date: Some(je.date.into()),
            due_date: Some(je.date.into()),
            memo: Some(truncate(&je.memo)),
            reference: Some(p.settlement_id.clone()),
            journal_entry_lines: Some(lines),
            ..JournalEntry::default()
        });
    }
    Ok(plan)
}

/// SAP cuts memos at 50 characters; cut them ourselves, on a character boundary.
fn truncate(s: &str) -> String {
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
    use crate::flows::orders::{LineSpec, build_invoice};
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
        shipping,
        comments,
    )
}
