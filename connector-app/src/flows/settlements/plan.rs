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
    IncomingPayment, JournalEntry, PaymentInvoice, PaymentInvoiceType, ReceiptType,
};
use serde::{Deserialize, Serialize};
use settlement_mapper::mapping::{CLEARING, MappingTable};
use settlement_mapper::postings::SettlementPostings;

use super::foreign::{Foreign, account_in};
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
    /// The settlement's currency and SAP's rates when it is not the company's (`None`: local).
    pub foreign: Option<&'a Foreign>,
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
                    // A foreign-currency invoice is paid in its currency (`AppliedFC`); SAP works
                    // out the local amount and any exchange difference.
                    let (sum_applied, applied_fc) = match input.foreign {
                        Some(_) => (None, Some(applied)),
                        None => (Some(applied), None),
                    };
                    entry.0.push(PaymentInvoice {
                        doc_entry: Some(DocEntry(inv.doc_entry)),
                        sum_applied,
                        applied_fc,
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
    plan.journal_entries = super::journal::journal_entries(input)?;
    Ok(plan)
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
        shipping,
        comments,
    )
}

#[cfg(test)]
mod tests {
    use settlement_mapper::map_settlement;
    use settlement_mapper::synth::{SynthOptions, write_settlement};

    use super::*;

    const CUSTOMER: &str = "C-AMZ-DE";

    /// A generated Amazon.de settlement of `orders` orders, mapped with the default table.
    fn postings(orders: usize) -> (SettlementPostings, MappingTable) {
        let mut file = Vec::new();
        write_settlement(
            &SynthOptions {
                seed: 7,
                orders,
                ..SynthOptions::default()
            },
            &mut file,
        )
        .unwrap();
        let table = MappingTable::default_table();
        (map_settlement(file.as_slice(), &table).unwrap(), table)
    }

    /// Every paid order's invoice in SAP, open for exactly what Amazon paid.
    fn invoices_for(p: &SettlementPostings) -> HashMap<String, InvoiceInfo> {
        p.receipts
            .iter()
            .enumerate()
            .map(|(n, r)| {
                (
                    r.order_id.clone(),
                    InvoiceInfo {
                        doc_entry: 100 + n as i32,
                        doc_num: Some(5000 + n as i32),
                        card_code: CUSTOMER.into(),
                        total: r.amount,
                        open: r.amount,
                    },
                )
            })
            .collect()
    }

    fn customers() -> HashMap<String, String> {
        [("amazon.de".to_owned(), CUSTOMER.to_owned())].into()
    }

    fn plan(
        p: &SettlementPostings,
        table: &MappingTable,
        invoices: &HashMap<String, InvoiceInfo>,
        grouping: ReceiptGrouping,
        missing: MissingInvoice,
    ) -> Result<SettlementPlan, Vec<String>> {
        plan_documents(&PlanInput {
            postings: p,
            table,
            invoices,
            customers: &customers(),
            grouping,
            missing,
            foreign: None,
        })
    }

    fn paid(p: &SettlementPostings) -> Vec<&settlement_mapper::postings::Receipt> {
        p.receipts
            .iter()
            .filter(|r| r.amount > Decimal::ZERO)
            .collect()
    }

    /// (TransferSum, the DocEntries and amounts applied) of each payment, as SAP receives them.
    fn wire(plan: &SettlementPlan) -> Vec<serde_json::Value> {
        plan.payments
            .iter()
            .map(|pay| serde_json::to_value(pay).unwrap())
            .collect()
    }

    #[test]
    fn per_settlement_receipts_are_one_payment_per_customer_and_day_applied_to_each_invoice() {
        let (p, table) = postings(6);
        let invoices = invoices_for(&p);
        let plan = plan(
            &p,
            &table,
            &invoices,
            ReceiptGrouping::PerSettlement,
            MissingInvoice::Hold,
        )
        .unwrap();
        let paid = paid(&p);
        assert!(paid.len() >= 2, "the settlement pays several orders");
        let days: std::collections::BTreeSet<_> = paid.iter().map(|r| r.date).collect();
        assert_eq!(plan.payments.len(), days.len(), "one per customer and day");
        let wire = wire(&plan);
        let lines: Vec<&serde_json::Value> = wire
            .iter()
            .flat_map(|w| w["PaymentInvoices"].as_array().unwrap())
            .collect();
        assert_eq!(lines.len(), paid.len(), "every invoice applied");
        for r in &paid {
            let inv = &invoices[&r.order_id];
            assert!(
                lines
                    .iter()
                    .any(|l| l["DocEntry"] == inv.doc_entry
                        && l["SumApplied"] == r.amount.to_string()),
                "{} applied in full",
                r.order_id
            );
        }
        for w in &wire {
            assert_eq!(w["CardCode"], CUSTOMER);
            assert_eq!(w["TransferAccount"], table.resolve(CLEARING));
            assert_eq!(w["DocCurrency"], p.currency);
        }
        let transferred: Decimal = plan.payments.iter().filter_map(|x| x.transfer_sum).sum();
        assert_eq!(transferred, paid.iter().map(|r| r.amount).sum::<Decimal>());
        assert!(plan.notes.is_empty(), "{:?}", plan.notes);
        assert!(plan.applications.iter().all(|a| a.on_account.is_zero()));
        // Every journal entry of the mapper with an amount, balanced, memos within SAP's 50.
        assert!(!plan.journal_entries.is_empty());
        for je in &plan.journal_entries {
            let lines = je.journal_entry_lines.as_ref().unwrap();
            let debit: Decimal = lines.iter().filter_map(|l| l.debit).sum();
            let credit: Decimal = lines.iter().filter_map(|l| l.credit).sum();
            assert_eq!(debit, credit, "{:?}", je.memo);
            assert!(je.memo.as_ref().unwrap().chars().count() <= MEMO_MAX);
            assert_eq!(je.reference.as_deref(), Some(p.settlement_id.as_str()));
        }
    }

    #[test]
    fn per_order_receipts_are_one_payment_per_order() {
        let (p, table) = postings(6);
        let invoices = invoices_for(&p);
        let plan = plan(
            &p,
            &table,
            &invoices,
            ReceiptGrouping::PerOrder,
            MissingInvoice::Hold,
        )
        .unwrap();
        let paid = paid(&p);
        assert_eq!(plan.payments.len(), paid.len());
        for (w, r) in wire(&plan).iter().zip(&paid) {
            let lines = w["PaymentInvoices"].as_array().unwrap();
            assert_eq!(lines.len(), 1, "{w}");
            assert_eq!(lines[0]["DocEntry"], invoices[&r.order_id].doc_entry);
            assert_eq!(w["TransferSum"], r.amount.to_string());
            assert_eq!(
                w["Remarks"],
                format!("Amazon settlement {}: 1 order(s)", p.settlement_id)
            );
        }
    }

    #[test]
    fn missing_invoices_hold_the_settlement_or_go_on_account() {
        let (p, table) = postings(4);
        let none = HashMap::new();
        let held = plan(
            &p,
            &table,
            &none,
            ReceiptGrouping::PerSettlement,
            MissingInvoice::Hold,
        )
        .unwrap_err();
        assert!(
            held.iter().any(|h| h.contains("have no invoice in SAP")
                && paid(&p).iter().all(|r| h.contains(&r.order_id))),
            "{held:?}"
        );
        let plan = plan(
            &p,
            &table,
            &none,
            ReceiptGrouping::PerSettlement,
            MissingInvoice::OnAccount,
        )
        .unwrap();
        // The receipts go to the customer's account: payments without invoice lines.
        let wire = wire(&plan);
        assert!(!wire.is_empty());
        for w in &wire {
            assert_eq!(w["CardCode"], CUSTOMER);
            assert!(w.get("PaymentInvoices").is_none(), "{w}");
        }
        let transferred: Decimal = plan.payments.iter().filter_map(|x| x.transfer_sum).sum();
        assert_eq!(
            transferred,
            paid(&p).iter().map(|r| r.amount).sum::<Decimal>()
        );
        assert!(plan.applications.iter().all(|a| a.on_account == a.receipt));
        assert_eq!(plan.notes.len(), paid(&p).len());
        assert!(plan.notes[0].contains("posted on account of C-AMZ-DE"));
    }

    #[test]
    fn partial_and_over_payments_are_noted_not_absorbed() {
        let (p, table) = postings(4);
        let paid = paid(&p);
        let mut invoices = invoices_for(&p);
        let (over, short) = (&paid[0].order_id, &paid[1].order_id);
        // Less open than paid: the rest stays on account. More open: the rest stays open.
        invoices.get_mut(over).unwrap().open -= Decimal::ONE;
        invoices.get_mut(short).unwrap().open += Decimal::TEN;
        let plan = plan(
            &p,
            &table,
            &invoices,
            ReceiptGrouping::PerSettlement,
            MissingInvoice::Hold,
        )
        .unwrap();
        let app = |id: &str| plan.applications.iter().find(|a| a.order_id == id).unwrap();
        assert_eq!(app(over).on_account, Decimal::ONE);
        assert_eq!(app(over).applied, paid[0].amount - Decimal::ONE);
        assert_eq!(app(short).invoice_left_open, Decimal::TEN);
        assert_eq!(app(short).applied, paid[1].amount);
        assert_eq!(plan.notes.len(), 2, "{:?}", plan.notes);
        // What Amazon paid is transferred in full either way.
        let transferred: Decimal = plan.payments.iter().filter_map(|x| x.transfer_sum).sum();
        assert_eq!(transferred, paid.iter().map(|r| r.amount).sum::<Decimal>());
    }

    #[test]
    fn a_negative_receipt_or_a_marketplace_without_customer_holds() {
        let (mut p, table) = postings(4);
        let invoices = invoices_for(&p);
        let id = paid(&p)[0].order_id.clone();
        p.receipts
            .iter_mut()
            .find(|r| r.order_id == id)
            .unwrap()
            .amount = Decimal::new(-500, 2);
        let held = plan(
            &p,
            &table,
            &invoices,
            ReceiptGrouping::PerSettlement,
            MissingInvoice::Hold,
        )
        .unwrap_err();
        assert!(
            held.iter()
                .any(|h| h.contains(&id) && h.contains("negative receipt")),
            "{held:?}"
        );
        let (p, table) = postings(4);
        let held = plan_documents(&PlanInput {
            postings: &p,
            table: &table,
            invoices: &HashMap::new(),
            customers: &HashMap::new(),
            grouping: ReceiptGrouping::PerSettlement,
            missing: MissingInvoice::OnAccount,
            foreign: None,
        })
        .unwrap_err();
        assert!(
            held.iter()
                .any(|h| h.contains("has no customer in [marketplaces]")),
            "{held:?}"
        );
    }

    #[test]
    fn memos_are_cut_at_fifty_characters_on_a_character_boundary() {
        let long = "Ä".repeat(60);
        assert_eq!(truncate(&long).chars().count(), MEMO_MAX);
        assert_eq!(
            abbreviate(&["a".into(), "b".into(), "c".into()], 2),
            "a, b, and 1 more"
        );
    }
}
