//! Marketing documents (Invoices, CreditNotes): the checks SAP makes before adding them, the
//! fields it fills in and the stock they move.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::accounts::{customer, is_yes, round2, s};
use super::entities::{Stamp, refresh_item_totals};
use super::store::{Entity, Key, SapDb, SetDef, UndoLog};
use super::validation::{decimal, number};
use super::wire::SapError;

/// Tax codes the fake company knows, with their rates in percent.
pub const TAX_CODES: &[(&str, &str)] = &[
    ("DE19", "19"),
    ("DE7", "7"),
    ("FR20", "20"),
    ("FR55", "5.5"),
    ("UK20", "20"),
    ("UK0", "0"),
    ("EX0", "0"),
];

fn rate(code: &str) -> Option<Decimal> {
    TAX_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .and_then(|(_, r)| r.parse().ok())
}

fn stamp_doc(e: &mut Entity, stamp: &Stamp, entry: i64, num: i64, key: &str) {
    e.insert(key.into(), Value::from(entry));
    e.insert("DocNum".into(), Value::from(num));
    e.entry("DocDate")
        .or_insert(Value::from(stamp.date.clone()));
    let doc_date = e.get("DocDate").cloned().unwrap_or_default();
    e.entry("DocDueDate").or_insert(doc_date.clone());
    e.entry("TaxDate").or_insert(doc_date);
    e.insert("CreationDate".into(), Value::from(stamp.date.clone()));
    e.insert("UpdateDate".into(), Value::from(stamp.date.clone()));
    e.insert("UpdateTime".into(), Value::from(stamp.time.clone()));
    e.insert("DocTime".into(), Value::from(stamp.time[..5].to_string()));
    e.insert("Series".into(), Value::from(1));
    e.insert("HandWritten".into(), Value::from("tNO"));
    e.insert("Cancelled".into(), Value::from("tNO"));
}

/// Adds an A/R invoice or credit note.
pub fn create_document(
    db: &mut SapDb,
    def: &'static SetDef,
    mut e: Entity,
    stamp: &Stamp,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    let bp = customer(db, &e)?.clone();
    let table = if def.name == "Invoices" {
        "INV1"
    } else {
        "RIN1"
    };
    let lines = e
        .get("DocumentLines")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if lines.is_empty() {
        // INVENTED: the text for a document without rows; SAP's wording is not quoted in our sources.
        return Err(SapError::rule(
            "No matching records found; specify at least one document row",
        ));
    }
    let price_list = bp.get("PriceListNum").and_then(Value::as_i64).unwrap_or(1);
    let (mut net, mut tax) = (Decimal::ZERO, Decimal::ZERO);
    let mut out_lines = Vec::with_capacity(lines.len());
    let mut stock_moves = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut l = line.as_object().cloned().unwrap_or_default();
        if let Some(base_entry) = l.get("BaseEntry").and_then(Value::as_i64) {
            // A credit note copied from an invoice: the base document must exist and be this BP's.
            let base_set = match l.get("BaseType").and_then(Value::as_i64) {
                Some(13) => "Invoices",
                Some(14) => "CreditNotes",
                _ => {
                    // INVENTED: the text for an unsupported BaseType; not quoted in our sources.
                    return Err(SapError::rule(format!(
                        "Invalid base document type [{table}.BaseType][line: {}]",
                        i + 1
                    )));
                }
            };
            let base = db
                .get(base_set, &Key::Int(base_entry))
                .ok_or_else(|| SapError::not_found(400))?;
            if base.get("CardCode") != e.get("CardCode") {
                // INVENTED: the text for a base document of another BP; not quoted in our sources.
                return Err(SapError::rule(format!(
                    "Base document belongs to another business partner [{table}.BaseEntry][line: {}]",
                    i + 1
                )));
            }
        }
        let code = s(&l, "ItemCode")
            .ok_or_else(|| {
                // INVENTED: the text for a row without ItemCode; not quoted in our sources.
                SapError::rule(format!(
                    "Specify the item code [{table}.ItemCode][line: {}]",
                    i + 1
                ))
            })?
            .to_string();
        let item = db
            .get("Items", &Key::Str(code.clone()))
            .ok_or_else(|| SapError::not_found(400))?;
        if s(item, "Valid") == Some("tNO") || is_yes(item, "Frozen") {
            // INVENTED: the text for an inactive item on a row; not quoted in our sources.
            return Err(SapError::rule(format!(
                "Item '{code}' is inactive [{table}.ItemCode][line: {}]",
                i + 1
            )));
        }
        let qty = if l.contains_key("Quantity") {
            decimal(l.get("Quantity"))
        } else {
            Decimal::ONE
        };
        if qty <= Decimal::ZERO {
            // INVENTED: the text for a row quantity <= 0; not quoted in our sources.
            return Err(SapError::rule(format!(
                "Quantity must be positive [{table}.Quantity][line: {}]",
                i + 1
            )));
        }
        let list_price = item
            .get("ItemPrices")
            .and_then(Value::as_array)
            .and_then(|ps| {
                ps.iter()
                    .find(|p| p.get("PriceList").and_then(Value::as_i64) == Some(price_list))
            })
            .map(|p| decimal(p.get("Price")))
            .unwrap_or_default();
        let unit = if l.contains_key("UnitPrice") {
            decimal(l.get("UnitPrice"))
        } else if l.contains_key("Price") {
            decimal(l.get("Price"))
        } else {
            list_price
        };
        let disc = decimal(l.get("DiscountPercent"));
        let price = round2(unit * (Decimal::ONE_HUNDRED - disc) / Decimal::ONE_HUNDRED);
        let line_total = if l.contains_key("LineTotal") {
            decimal(l.get("LineTotal"))
        } else {
            round2(price * qty)
        };
        let code_tax = s(&l, "TaxCode").or(s(&l, "VatGroup")).map(str::to_string);
        let r = match &code_tax {
            Some(c) => {
                rate(c).ok_or_else(|| SapError::rule("10000180 - Specify valid tax code"))?
            }
            None => Decimal::ZERO,
        };
        let line_tax = round2(line_total * r / Decimal::ONE_HUNDRED);
        net += line_total;
        tax += line_tax;
        let wh = s(&l, "WarehouseCode")
            .or(s(item, "DefaultWarehouse"))
            .unwrap_or("01")
            .to_string();
        if is_yes(item, "InventoryItem") {
            stock_moves.push((code.clone(), wh.clone(), qty));
        }
        l.insert("LineNum".into(), Value::from(i as i64));
        l.insert(
            "ItemDescription".into(),
            item.get("ItemName").cloned().unwrap_or_default(),
        );
        l.insert("Quantity".into(), number(qty));
        l.insert("UnitPrice".into(), number(unit));
        l.insert("Price".into(), number(price));
        l.insert("LineTotal".into(), number(line_total));
        l.insert("TaxTotal".into(), number(line_tax));
        l.insert(
            "PriceAfterVAT".into(),
            number(round2(
                price * (Decimal::ONE_HUNDRED + r) / Decimal::ONE_HUNDRED,
            )),
        );
        l.insert("GrossTotal".into(), number(line_total + line_tax));
        l.insert("WarehouseCode".into(), Value::from(wh));
        l.insert("LineStatus".into(), Value::from("bost_Open"));
        l.entry("AccountCode").or_insert(Value::from("4000"));
        out_lines.push(Value::Object(l));
    }
    let mut expenses = Vec::new();
    for (i, x) in e
        .get("DocumentAdditionalExpenses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let mut x = x.as_object().cloned().unwrap_or_default();
        let code = x
            .get("ExpenseCode")
            .and_then(Value::as_i64)
            // INVENTED: the text for a freight line without ExpnsCode; not quoted in our sources.
            .ok_or_else(|| SapError::rule("Specify the freight code [INV3.ExpnsCode]"))?;
        if db.get("AdditionalExpenses", &Key::Int(code)).is_none() {
            return Err(SapError::not_found(400));
        }
        let total = decimal(x.get("LineTotal"));
        let r = match s(&x, "TaxCode").or(s(&x, "VatGroup")) {
            Some(c) => {
                rate(c).ok_or_else(|| SapError::rule("10000180 - Specify valid tax code"))?
            }
            None => Decimal::ZERO,
        };
        let t = round2(total * r / Decimal::ONE_HUNDRED);
        net += total;
        tax += t;
        x.insert("LineNum".into(), Value::from(i as i64));
        x.insert("TaxSum".into(), number(t));
        x.insert("LineGross".into(), number(total + t));
        expenses.push(Value::Object(x));
    }
    let (entry, num) = db.next_numbers(def, undo);
    stamp_doc(&mut e, stamp, entry, num, "DocEntry");
    e.insert("DocumentLines".into(), Value::Array(out_lines));
    if !expenses.is_empty() {
        e.insert("DocumentAdditionalExpenses".into(), Value::Array(expenses));
    }
    e.insert(
        "CardName".into(),
        bp.get("CardName").cloned().unwrap_or_default(),
    );
    e.entry("DocCurrency").or_insert(match s(&bp, "Currency") {
        Some(c) if c != "##" => Value::from(c),
        _ => Value::from("EUR"),
    });
    e.entry("DocType").or_insert(Value::from("dDocument_Items"));
    e.insert("VatSum".into(), number(tax));
    e.insert("DocTotal".into(), number(net + tax));
    e.insert("PaidToDate".into(), number(Decimal::ZERO));
    e.insert("DocumentStatus".into(), Value::from("bost_Open"));
    e.insert(
        "DocObjectCode".into(),
        Value::from(if def.name == "Invoices" {
            "oInvoices"
        } else {
            "oCreditNotes"
        }),
    );
    let sign = if def.name == "Invoices" {
        Decimal::NEGATIVE_ONE
    } else {
        Decimal::ONE
    };
    for (code, wh, qty) in stock_moves {
        move_stock(db, &code, &wh, sign * qty, stamp, undo);
    }
    let key = Key::Int(entry);
    db.put(def.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}

/// Changes `InStock` of one warehouse row (stock movements do not touch `Items.UpdateDate`).
fn move_stock(
    db: &mut SapDb,
    code: &str,
    wh: &str,
    delta: Decimal,
    _stamp: &Stamp,
    undo: &mut UndoLog,
) {
    let key = Key::Str(code.to_string());
    let Some(mut item) = db.get("Items", &key).cloned() else {
        return;
    };
    let mut rows = item
        .get("ItemWarehouseInfoCollection")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match rows
        .iter_mut()
        .find(|r| r.get("WarehouseCode").and_then(Value::as_str) == Some(wh))
    {
        Some(r) => {
            let v = decimal(r.get("InStock")) + delta;
            r["InStock"] = number(v);
        }
        None => rows.push(
            json!({"WarehouseCode": wh, "InStock": number(delta), "Committed": 0, "Ordered": 0}),
        ),
    }
    item.insert("ItemWarehouseInfoCollection".into(), Value::Array(rows));
    refresh_item_totals(&mut item);
    db.put("Items", key, item, undo);
}
