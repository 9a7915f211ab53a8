//! The settlement planner's tests: receipts, refunds and journal entries as SAP receives them.

use settlement_mapper::map_settlement;
use settlement_mapper::synth::{SynthOptions, write_settlement};

use super::*;
use crate::flows::settlements::refunds::{CreditInfo, simulate_credit};

const CUSTOMER: &str = "C-AMZ-DE";

/// A generated Amazon.de settlement of `orders` orders, mapped with the default table, without
/// its refunds (the receipt tests; the refund tests use [`with_refunds`]).
fn postings(orders: usize) -> (SettlementPostings, MappingTable) {
    let (mut p, table) = with_refunds(orders);
    p.refunds.clear();
    (p, table)
}

/// The same settlement with its refunds (the generator refunds some orders in the period).
fn with_refunds(orders: usize) -> (SettlementPostings, MappingTable) {
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

/// The credit notes SAP would make of the settlement's refunds: each applied to its open invoice.
fn credits(
    p: &SettlementPostings,
    invoices: &mut HashMap<String, InvoiceInfo>,
) -> HashMap<(String, NaiveDate), CreditInfo> {
    p.refunds
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let mut none = Decimal::ZERO;
            let open = match invoices.get_mut(&r.order_id) {
                Some(inv) => &mut inv.open,
                None => &mut none,
            };
            let mut c = simulate_credit(open, -r.amount);
            c.doc_entry = Some(700 + n as i32);
            ((r.order_id.clone(), r.date), c)
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
    let mut after = invoices.clone();
    let credit_notes = credits(p, &mut after);
    plan_documents(&PlanInput {
        postings: p,
        table,
        invoices: &after,
        customers: &customers(),
        grouping,
        missing,
        foreign: None,
        credit_notes: &credit_notes,
        converted: None,
        write_off: Decimal::ZERO,
        hold_above: None,
        opening: &BTreeSet::new(),
        opening_account: None,
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
                .any(|l| l["DocEntry"] == inv.doc_entry && l["SumApplied"] == r.amount.to_string()),
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
        credit_notes: &HashMap::new(),
        converted: None,
        write_off: Decimal::ZERO,
        hold_above: None,
        opening: &BTreeSet::new(),
        opening_account: None,
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

/// (DocEntry, SumApplied) of payment lines.
type Lines = Vec<(i64, String)>;

/// (invoice lines, credit-note lines) of a payment as SAP receives it.
fn applied(w: &serde_json::Value) -> (Lines, Lines) {
    let mut out = (Vec::new(), Vec::new());
    for l in w["PaymentInvoices"].as_array().into_iter().flatten() {
        let v = (
            l["DocEntry"].as_i64().unwrap(),
            l["SumApplied"].as_str().unwrap().to_owned(),
        );
        match l["InvoiceType"].as_str() {
            Some("it_CredItnote") => out.1.push(v),
            _ => out.0.push(v),
        }
    }
    out
}

#[test]
fn a_refund_in_the_sale_s_settlement_is_set_against_the_invoice_by_sap_and_the_payment_pays_the_rest()
 {
    let (p, table) = with_refunds(6);
    assert!(!p.refunds.is_empty(), "the generator refunds some orders");
    let invoices = invoices_for(&p);
    let plan = plan(
        &p,
        &table,
        &invoices,
        ReceiptGrouping::PerOrder,
        MissingInvoice::Hold,
    )
    .unwrap();
    for r in &p.refunds {
        let a = plan
            .applications
            .iter()
            .find(|a| a.order_id == r.order_id)
            .unwrap();
        // SAP applied the credit note to the open invoice: the payment applies the net.
        assert_eq!(a.refund, r.amount);
        assert_eq!(a.applied, a.receipt + r.amount, "{a:?}");
        assert_eq!(a.credit_applied, Decimal::ZERO);
        assert_eq!(
            (a.invoice_left_open, a.on_account, a.credit_left_open),
            (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO)
        );
        assert_eq!(
            a.credit_note,
            Some(700 + p.refunds.iter().position(|x| x == r).unwrap() as i32)
        );
    }
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    let transferred: Decimal = plan.payments.iter().filter_map(|x| x.transfer_sum).sum();
    let moved: Decimal = p.receipts.iter().map(|r| r.amount).sum::<Decimal>()
        + p.refunds.iter().map(|r| r.amount).sum::<Decimal>();
    assert_eq!(transferred, moved, "clearing moves by receipts and refunds");
}

#[test]
fn a_refund_of_an_invoice_paid_earlier_is_a_credit_note_line_and_a_refund_alone_is_paid_out() {
    let (mut p, table) = with_refunds(6);
    let refunded = p.refunds[0].order_id.clone();
    let refund = p.refunds[0].amount;
    // The sale was paid by an earlier settlement: this one has only its refund.
    p.receipts.retain(|r| r.order_id != refunded);
    let mut invoices = invoices_for(&with_refunds(6).0);
    invoices.get_mut(&refunded).unwrap().open = Decimal::ZERO;
    let grouped = plan(
        &p,
        &table,
        &invoices,
        ReceiptGrouping::PerSettlement,
        MissingInvoice::Hold,
    )
    .unwrap();
    let a = grouped
        .applications
        .iter()
        .find(|a| a.order_id == refunded)
        .unwrap();
    assert_eq!((a.applied, a.credit_applied), (Decimal::ZERO, -refund));
    let cn_lines: Vec<_> = wire(&grouped).iter().flat_map(|w| applied(w).1).collect();
    assert_eq!(cn_lines, [(700, (-refund).to_string())]);
    assert!(grouped.refund_payments.is_empty(), "the day's sales pay it");
    // Per order, the refund alone gives money back: an outgoing payment to the customer that
    // pays the credit note out of clearing.
    let per_order = plan(
        &p,
        &table,
        &invoices,
        ReceiptGrouping::PerOrder,
        MissingInvoice::Hold,
    )
    .unwrap();
    assert_eq!(per_order.refund_payments.len(), 1);
    let out = serde_json::to_value(&per_order.refund_payments[0]).unwrap();
    assert_eq!(out["TransferSum"], (-refund).to_string());
    assert_eq!(out["CardCode"], CUSTOMER);
    assert_eq!(applied(&out), (vec![], vec![(700, (-refund).to_string())]));
    let parts = super::super::parts::split_parts(&per_order, "1", 50);
    assert!(
        parts[0]
            .documents
            .iter()
            .any(|d| d.entity_set() == "VendorPayments")
    );
}

#[test]
fn a_refund_without_its_credit_note_or_invoice_holds() {
    let (p, table) = with_refunds(4);
    let invoices = invoices_for(&p);
    let held = plan_documents(&PlanInput {
        postings: &p,
        table: &table,
        invoices: &invoices,
        customers: &customers(),
        grouping: ReceiptGrouping::PerSettlement,
        missing: MissingInvoice::Hold,
        foreign: None,
        credit_notes: &HashMap::new(),
        converted: None,
        write_off: Decimal::ZERO,
        hold_above: None,
        opening: &BTreeSet::new(),
        opening_account: None,
    })
    .unwrap_err();
    assert!(
        held.iter().any(|h| h.contains("has no credit note")),
        "{held:?}"
    );
}

#[test]
fn cent_residues_within_the_tolerance_are_written_off_and_the_invoice_closes() {
    let (p, table) = postings(4);
    let paid = paid(&p);
    let mut invoices = invoices_for(&p);
    let (short, over) = (&paid[0].order_id, &paid[1].order_id);
    let cent2 = Decimal::new(2, 2);
    invoices.get_mut(short).unwrap().open += cent2;
    invoices.get_mut(over).unwrap().open -= Decimal::new(3, 2);
    let plan_with = |write_off: Decimal| {
        plan_documents(&PlanInput {
            postings: &p,
            table: &table,
            invoices: &invoices,
            customers: &customers(),
            grouping: ReceiptGrouping::PerSettlement,
            missing: MissingInvoice::Hold,
            foreign: None,
            credit_notes: &HashMap::new(),
            write_off,
            converted: None,
            hold_above: None,
            opening: &BTreeSet::new(),
            opening_account: None,
        })
        .unwrap()
    };
    let off = plan_with(Decimal::ZERO);
    let app = |plan: &SettlementPlan, id: &str| {
        plan.applications
            .iter()
            .find(|a| a.order_id == id)
            .unwrap()
            .clone()
    };
    assert_eq!(app(&off, short).invoice_left_open, cent2);
    assert_eq!(app(&off, over).on_account, Decimal::new(3, 2));
    let on = plan_with(Decimal::new(5, 2));
    let (s, o) = (app(&on, short), app(&on, over));
    assert_eq!((s.invoice_left_open, s.written_off), (Decimal::ZERO, cent2));
    assert_eq!(
        s.applied,
        paid[0].amount + cent2,
        "the invoice is paid in full"
    );
    assert_eq!(
        (o.on_account, o.written_off),
        (Decimal::ZERO, Decimal::new(-3, 2))
    );
    // The payment carries what it applies; one entry moves the net residue out of clearing.
    let transferred: Decimal = on.payments.iter().filter_map(|x| x.transfer_sum).sum();
    let received: Decimal = paid.iter().map(|r| r.amount).sum();
    assert_eq!(transferred, received - Decimal::new(1, 2));
    let je = on
        .journal_entries
        .iter()
        .find(|j| j.memo.as_deref().is_some_and(|m| m.ends_with("write-offs")))
        .expect("a write-off entry");
    let lines = je.journal_entry_lines.as_ref().unwrap();
    let clearing = table.resolve(CLEARING);
    let on_clearing: Decimal = lines
        .iter()
        .filter(|l| l.account_code.as_deref() == Some(clearing))
        .map(|l| l.debit.unwrap_or_default() - l.credit.unwrap_or_default())
        .sum();
    assert_eq!(
        on_clearing,
        Decimal::new(1, 2),
        "clearing moves by the receipts only"
    );
    // Beyond the tolerance nothing is written off.
    let tight = plan_with(Decimal::new(1, 2));
    assert_eq!(app(&tight, short).invoice_left_open, cent2);
}

mod held;
