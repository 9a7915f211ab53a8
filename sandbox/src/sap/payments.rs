//! Incoming payments: what they may apply to and how they close documents.

use rust_decimal::Decimal;
use serde_json::Value;

use super::accounts::{check_account, customer, s};
use super::entities::Stamp;
use super::store::{Entity, Key, SapDb, SetDef, UndoLog};
use super::validation::{decimal, number};
use super::wire::SapError;

/// Adds an incoming payment; applied sums must not exceed what is open on each invoice.
pub fn create_payment(
    db: &mut SapDb,
    def: &'static SetDef,
    mut e: Entity,
    stamp: &Stamp,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    let doc_type = s(&e, "DocType").unwrap_or("rCustomer").to_string();
    e.insert("DocType".into(), Value::from(doc_type.clone()));
    let card = if doc_type == "rAccount" {
        None
    } else {
        Some(customer(db, &e)?.clone())
    };
    let mut paid = Decimal::ZERO;
    for (sum_key, acct_key) in [
        ("TransferSum", "TransferAccount"),
        ("CashSum", "CashAccount"),
    ] {
        let amount = decimal(e.get(sum_key));
        if amount != Decimal::ZERO {
            // INVENTED: the text for a payment without its account; not quoted in our sources.
            let acct =
                s(&e, acct_key).ok_or_else(|| SapError::rule(format!("Specify the {acct_key}")))?;
            check_account(db, acct)?;
            paid += amount;
        }
    }
    for acc in e
        .get("PaymentAccounts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        if let Some(code) = acc.get("AccountCode").and_then(Value::as_str) {
            check_account(db, code)?;
        }
    }
    let mut applied = Decimal::ZERO;
    let mut updates = Vec::new();
    let mut lines = Vec::new();
    for (i, pi) in e
        .get("PaymentInvoices")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let mut pi = pi.as_object().cloned().unwrap_or_default();
        let set = match s(&pi, "InvoiceType").unwrap_or("it_Invoice") {
            "it_Invoice" => "Invoices",
            "it_CredItnote" => "CreditNotes",
            other => {
                // INVENTED: a sandbox limit, not an SAP answer.
                return Err(SapError::rule(format!(
                    "Invoice type {other} is not supported by the sandbox"
                )));
            }
        };
        let doc_entry = pi
            .get("DocEntry")
            .and_then(Value::as_i64)
            .ok_or_else(|| SapError::not_found(400))?;
        let doc = db
            .get(set, &Key::Int(doc_entry))
            .ok_or_else(|| SapError::not_found(400))?
            .clone();
        if let Some(c) = &card
            && doc.get("CardCode") != c.get("CardCode")
        {
            // INVENTED: the text for paying another BP's invoice; not quoted in our sources.
            return Err(SapError::rule(format!(
                "Document {doc_entry} belongs to another business partner"
            )));
        }
        let sum = decimal(pi.get("SumApplied"));
        let open = decimal(doc.get("DocTotal")) - decimal(doc.get("PaidToDate"));
        if set == "Invoices" {
            if sum > open {
                // INVENTED: the -10 overpayment text; SAP's wording is not quoted in our sources.
                return Err(SapError::rule(format!(
                    "Amount applied to invoice {} ({sum}) exceeds its open balance ({open})",
                    doc.get("DocNum").cloned().unwrap_or_default()
                )));
            }
            applied += sum;
            updates.push((set, doc_entry, doc, sum));
        } else {
            applied -= sum;
            updates.push((set, doc_entry, doc, sum));
        }
        pi.insert("LineNum".into(), Value::from(i as i64));
        pi.insert("DocNum".into(), Value::from(0));
        lines.push(Value::Object(pi));
    }
    if applied > paid {
        // INVENTED: the -10 text for applying more than paid; not quoted in our sources.
        return Err(SapError::rule(format!(
            "Total applied to documents ({applied}) exceeds the payment amount ({paid})"
        )));
    }
    for (set, doc_entry, mut doc, sum) in updates {
        let paid_to_date = decimal(doc.get("PaidToDate")) + sum;
        doc.insert("PaidToDate".into(), number(paid_to_date));
        if paid_to_date >= decimal(doc.get("DocTotal")) {
            doc.insert("DocumentStatus".into(), Value::from("bost_Close"));
        }
        for l in lines
            .iter_mut()
            .filter(|l| l.get("DocEntry").and_then(Value::as_i64) == Some(doc_entry))
        {
            l["DocNum"] = doc.get("DocNum").cloned().unwrap_or_default();
        }
        db.put(
            if set == "Invoices" {
                "Invoices"
            } else {
                "CreditNotes"
            },
            Key::Int(doc_entry),
            doc,
            undo,
        );
    }
    let (entry, num) = db.next_numbers(def, undo);
    e.insert("DocEntry".into(), Value::from(entry));
    e.insert("DocNum".into(), Value::from(num));
    e.entry("DocDate")
        .or_insert(Value::from(stamp.date.clone()));
    e.entry("DocCurrency").or_insert(Value::from("EUR"));
    e.insert("PaymentInvoices".into(), Value::Array(lines));
    e.insert("Cancelled".into(), Value::from("tNO"));
    if let Some(c) = &card {
        e.insert(
            "CardName".into(),
            c.get("CardName").cloned().unwrap_or_default(),
        );
    }
    let key = Key::Int(entry);
    db.put(def.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}
