//! Marketing documents (Invoices, CreditNotes): the checks SAP makes before adding them, the
//! fields it fills in (local and foreign currency totals, tax per row) and the stock they move.
//!
//! A company with settings (`company::admin_info`) gets SAP's money rules: `DocCurrency` a known
//! currency equal to the BP's unless the BP is `##`, a rate for the document date, `LineTotal`
//! in local currency and `RowTotalFC` in the document currency, tax by the localisation's
//! property. A database without settings (seeds older than `AdminInfo`) keeps the earlier,
//! single-currency behaviour: amounts as sent, any tax property.

mod base;
mod pricing;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::accounts::{customer, is_yes, round2, s};
use super::company::{self, DocMoney};
use super::entities::{Stamp, refresh_item_totals};
use super::store::{Entity, Key, SapDb, SetDef, UndoLog};
use super::validation::{decimal, number};
use super::wire::SapError;
use super::{journal, tax};

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

fn doc_date(e: &Entity, stamp: &Stamp) -> String {
    s(e, "DocDate")
        .map(|d| d.get(..10).unwrap_or(d).to_string())
        .unwrap_or_else(|| stamp.date.clone())
}

/// A document drawn from a base document is in the base's currency; with
/// `AdminInfo.CopyExchangeRateInCopyTo = tYES` (a property of SAP's `AdminInfo` in the v4
/// `$metadata`) it also keeps the base's rate, else it takes the rate of its own date.
// INVENTED: the text for a document currency other than its base's; not quoted in our sources.
fn inherit_base_money(
    db: &SapDb,
    e: &mut Entity,
    currency: &str,
    rate: Decimal,
    header: &str,
) -> Result<(), SapError> {
    match s(e, "DocCurrency") {
        Some(c) if c != currency => {
            return Err(SapError::rule(format!(
                "Document currency '{c}' differs from the base document currency '{currency}' [{header}.DocCur]"
            )));
        }
        Some(_) => {}
        None => {
            e.insert("DocCurrency".into(), Value::from(currency));
        }
    }
    let copy_rate =
        company::admin_info(db).is_some_and(|a| s(a, "CopyExchangeRateInCopyTo") == Some("tYES"));
    if copy_rate && !e.contains_key("DocRate") && rate > Decimal::ZERO {
        e.insert("DocRate".into(), number(rate));
    }
    Ok(())
}

/// The document's currency and rate, `None` for a company without settings.
fn doc_money(
    db: &SapDb,
    e: &Entity,
    bp: &Entity,
    date: &str,
    header: &str,
) -> Result<Option<DocMoney>, SapError> {
    let Some(local) = company::local_currency(db).map(str::to_string) else {
        return Ok(None);
    };
    let bp_currency = s(bp, "Currency").unwrap_or("##");
    let currency = match s(e, "DocCurrency") {
        Some(c) => c.to_string(),
        None if bp_currency != "##" => bp_currency.to_string(),
        None => local.clone(),
    };
    company::check_currency(db, &currency)?;
    if bp_currency != "##" && bp_currency != currency {
        // Review sap-fidelity F2: "SAP also rejects a document currency that differs from the
        // business partner's currency, unless the partner is `##` (all currencies)."
        // INVENTED: the exact text; SAP's message is not quoted in our sources.
        return Err(SapError::rule(format!(
            "Document currency '{currency}' differs from the business partner currency '{bp_currency}' [{header}.DocCur]"
        )));
    }
    let rate = company::doc_rate(db, &currency, date, decimal(e.get("DocRate")), header)?;
    Ok(Some(DocMoney {
        local,
        currency,
        rate,
    }))
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
    let is_invoice = def.name == "Invoices";
    let (table, header) = if is_invoice {
        ("INV1", "OINV")
    } else {
        ("RIN1", "ORIN")
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
    let date = doc_date(&e, stamp);
    if company::admin_info(db).is_some()
        && let Some((currency, rate)) = base::BaseUse::base_money(db, &lines)
    {
        inherit_base_money(db, &mut e, &currency, rate, header)?;
    }
    let money = doc_money(db, &e, &bp, &date, header)?;
    let price_list = bp.get("PriceListNum").and_then(Value::as_i64).unwrap_or(1);
    let mut totals = Totals::default();
    let mut out_lines = Vec::with_capacity(lines.len());
    let mut stock_moves: Vec<(String, String, Decimal, usize)> = Vec::new();
    let mut base_use = base::BaseUse::default();
    for (i, line) in lines.iter().enumerate() {
        let mut l = line.as_object().cloned().unwrap_or_default();
        if l.contains_key("BaseEntry") {
            base_use.inherit(db, &e, &mut l, table, i + 1)?;
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
            .master("Items", &Key::Str(code.clone()))
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
        // SAP takes negative quantities on A/R and A/P invoices and credit memos (SAP Help 9.0,
        // "Creating Sales and Purchasing Documents with Negative Totals", for the USA, UK,
        // Canada, Germany, France and other localisations). INVENTED (a narrowing): the sandbox
        // takes them only for items without stock, whose rows move no inventory; SAP's
        // valuation of a negative stock row (the help's table) is not modelled.
        let negative_ok = qty < Decimal::ZERO && !is_yes(item, "InventoryItem");
        if qty <= Decimal::ZERO && !negative_ok {
            // INVENTED: the text for a row quantity <= 0; not quoted in our sources.
            return Err(SapError::rule(format!(
                "Quantity must be positive [{table}.Quantity][line: {}]",
                i + 1
            )));
        }
        base_use.check_quantity(qty, table, i + 1)?;
        let list_price = list_price(db, item, price_list, money.as_ref(), &date, header)?;
        default_vat_group(db, &mut l, [Some(&bp), Some(item)]);
        let tax = tax::row_tax(db, &l, "VatGroup", "TaxCode", &date)?;
        if let Some((code, _)) = &tax {
            tax::check_output_group(db, code)?;
        }
        let tax_rate = tax.as_ref().map_or(Decimal::ZERO, |(_, r)| *r);
        let priced =
            pricing::price_row(&l, qty, list_price, tax_rate, money.as_ref(), table, i + 1)?;
        totals.add(priced.net_lc, priced.tax_lc, priced.net_doc, priced.tax_doc);
        let wh = s(&l, "WarehouseCode")
            .or(s(item, "DefaultWarehouse"))
            .unwrap_or("01")
            .to_string();
        // A credit note row "without quantity posting" credits the amount only (SDK
        // Document_Lines~WithoutInventoryMovement; B1 9.1+).
        let moves_stock = !(def.name == "CreditNotes" && is_yes(&l, "WithoutInventoryMovement"));
        if is_yes(item, "InventoryItem") && moves_stock {
            stock_moves.push((code.clone(), wh.clone(), qty, i + 1));
        }
        l.insert("LineNum".into(), Value::from(i as i64));
        l.insert(
            "ItemDescription".into(),
            item.get("ItemName").cloned().unwrap_or_default(),
        );
        l.insert("Quantity".into(), number(qty));
        l.insert("RemainingOpenQuantity".into(), number(qty));
        pricing::write_row(&mut l, &priced, money.as_ref());
        if let Some((_, r)) = &tax {
            l.insert("TaxPercentagePerRow".into(), number(*r));
        }
        l.insert("WarehouseCode".into(), Value::from(wh));
        l.insert("LineStatus".into(), Value::from("bost_Open"));
        l.entry("AccountCode").or_insert(Value::from("4000"));
        out_lines.push(Value::Object(l));
    }
    if is_invoice && money.is_some() && company::blocks_negative_stock(db) {
        check_negative_stock(db, &stock_moves, table)?;
    }
    let expenses = freight(db, &e, &date, money.as_ref(), &mut totals)?;
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
    match &money {
        Some(m) => {
            e.insert("DocCurrency".into(), Value::from(m.currency.clone()));
            e.insert("DocRate".into(), number(m.rate));
        }
        None => {
            e.entry("DocCurrency").or_insert(match s(&bp, "Currency") {
                Some(c) if c != "##" => Value::from(c),
                _ => Value::from("EUR"),
            });
        }
    }
    let fc = money.as_ref().is_some_and(|m| !m.is_local());
    let fc_or_zero = |d: Decimal| if fc { d } else { Decimal::ZERO };
    e.entry("DocType").or_insert(Value::from("dDocument_Items"));
    e.insert("VatSum".into(), number(totals.tax_lc));
    e.insert("DocTotal".into(), number(totals.net_lc + totals.tax_lc));
    // SDK Documents~DocTotalFc: "the total amount, in foreign currency" (0 for LC documents).
    e.insert("VatSumFc".into(), number(fc_or_zero(totals.tax_doc)));
    e.insert(
        "DocTotalFc".into(),
        number(fc_or_zero(totals.net_doc + totals.tax_doc)),
    );
    e.insert("PaidToDate".into(), number(Decimal::ZERO));
    e.insert("PaidToDateFC".into(), number(Decimal::ZERO));
    e.insert("DocumentStatus".into(), Value::from("bost_Open"));
    e.insert(
        "DocObjectCode".into(),
        Value::from(if is_invoice {
            "oInvoices"
        } else {
            "oCreditNotes"
        }),
    );
    let sign = if is_invoice {
        Decimal::NEGATIVE_ONE
    } else {
        Decimal::ONE
    };
    for (code, wh, qty, _) in stock_moves {
        move_stock(db, &code, &wh, sign * qty, stamp, undo);
    }
    if !is_invoice {
        let difference = base_use.apply(db, &mut e, undo);
        if !difference.is_zero() {
            let card = s(&e, "CardCode").unwrap_or_default().to_string();
            let fc = money
                .as_ref()
                .filter(|m| !m.is_local())
                .map(|m| m.currency.clone());
            journal::post_exchange_difference(
                db,
                &date,
                // SAP's journal entry of a document has its number as BaseRef (OJDT.BaseRef).
                ("ttARCredItnote", num),
                (&card, fc.as_deref()),
                difference,
                undo,
            )?;
        }
    }
    let key = Key::Int(entry);
    db.put(def.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}

/// The item's price on the BP's price list, in the document currency: a price kept in another
/// currency (`ItemPrices[].Currency`) is converted through local currency at the rates of the
/// document date.
// INVENTED: the conversion path (price currency → LC → document currency at the day's rates);
// SAP converts list prices into the document currency but our sources do not say how.
fn list_price(
    db: &SapDb,
    item: &Entity,
    price_list: i64,
    money: Option<&DocMoney>,
    date: &str,
    header: &str,
) -> Result<Decimal, SapError> {
    let Some(entry) = item
        .get("ItemPrices")
        .and_then(Value::as_array)
        .and_then(|ps| {
            ps.iter()
                .find(|p| p.get("PriceList").and_then(Value::as_i64) == Some(price_list))
        })
        .and_then(Value::as_object)
    else {
        return Ok(Decimal::ZERO);
    };
    let price = decimal(entry.get("Price"));
    let Some(m) = money else {
        return Ok(price);
    };
    match s(entry, "Currency") {
        Some(c) if c != m.currency && !price.is_zero() => {
            let rate = company::doc_rate(db, c, date, Decimal::ZERO, header)?;
            Ok((price * rate / m.rate).round_dp(6))
        }
        _ => Ok(price),
    }
}

/// Sums of a document in local currency and in the document currency.
#[derive(Debug, Default)]
struct Totals {
    net_lc: Decimal,
    tax_lc: Decimal,
    net_doc: Decimal,
    tax_doc: Decimal,
}

impl Totals {
    fn add(&mut self, net_lc: Decimal, tax_lc: Decimal, net_doc: Decimal, tax_doc: Decimal) {
        self.net_lc += net_lc;
        self.tax_lc += tax_lc;
        self.net_doc += net_doc;
        self.tax_doc += tax_doc;
    }
}

/// Freight rows (`DocumentAdditionalExpenses`): `LineTotal` is local currency (SDK
/// `DocumentsAdditionalExpenses~LineTotal`: "the total amount (in local currency)"), its FC twin
/// `LineTotalFC` is read-only and derived; taxed like item rows.
fn freight(
    db: &SapDb,
    e: &Entity,
    date: &str,
    money: Option<&DocMoney>,
    totals: &mut Totals,
) -> Result<Vec<Value>, SapError> {
    let mut out = Vec::new();
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
        if db.master("AdditionalExpenses", &Key::Int(code)).is_none() {
            return Err(SapError::not_found(400));
        }
        let expense = db.master("AdditionalExpenses", &Key::Int(code)).cloned();
        let bp =
            s(e, "CardCode").and_then(|c| db.master("BusinessPartners", &Key::Str(c.to_string())));
        default_vat_group(db, &mut x, [bp, expense.as_ref()]);
        let row_tax = tax::row_tax(db, &x, "VatGroup", "TaxCode", date)?;
        if let Some((code, _)) = &row_tax {
            tax::check_output_group(db, code)?;
        }
        let r = row_tax.map_or(Decimal::ZERO, |t| t.1);
        let total = decimal(x.get("LineTotal"));
        let t = round2(total * r / Decimal::ONE_HUNDRED);
        let (total_fc, t_fc) = match money.filter(|m| !m.is_local()) {
            Some(m) => {
                let fc = round2(total / m.rate);
                (fc, round2(fc * r / Decimal::ONE_HUNDRED))
            }
            None => (total, t),
        };
        totals.add(total, t, total_fc, t_fc);
        x.insert("LineNum".into(), Value::from(i as i64));
        x.insert("TaxPercent".into(), number(r));
        x.insert("TaxSum".into(), number(t));
        x.insert("LineGross".into(), number(total + t));
        if money.is_some_and(|m| !m.is_local()) {
            x.insert("LineTotalFC".into(), number(total_fc));
            x.insert("TaxSumFC".into(), number(t_fc));
            x.insert("LineGrossFC".into(), number(total_fc + t_fc));
        }
        out.push(Value::Object(x));
    }
    Ok(out)
}

/// Fills in the VAT group of a row that names none, in a VAT company: the first of the business
/// partner's `VatGroup`, the item's `SalesVATGroup`, the freight's `OutputVATGroup` ("Tax code
/// determination (SAP Business One)", sap-b1-blog.com glossary: business partner master data,
/// then item master data, then freight definition).
fn default_vat_group(db: &SapDb, row: &mut Entity, sources: [Option<&Entity>; 2]) {
    if company::admin_info(db).is_none()
        || company::uses_sales_tax(db)
        || s(row, "VatGroup").is_some()
        || s(row, "TaxCode").is_some()
    {
        return;
    }
    let found = sources.iter().flatten().find_map(|src| {
        ["VatGroup", "SalesVATGroup", "OutputVATGroup"]
            .iter()
            .find_map(|k| s(src, k))
    });
    if let Some(code) = found {
        row.insert("VatGroup".into(), Value::from(code.to_string()));
    }
}

/// Refuses an invoice that would take a warehouse below zero when the company blocks negative
/// stock: "Quantity falls into negative inventory [INV1.ItemCode][line:1]" (notes sap-b1.md error
/// table, SAP KBA 2693418).
fn check_negative_stock(
    db: &SapDb,
    moves: &[(String, String, Decimal, usize)],
    table: &str,
) -> Result<(), SapError> {
    let mut taken: Vec<(&str, &str, Decimal)> = Vec::new();
    for (code, wh, qty, line_no) in moves {
        let before: Decimal = taken
            .iter()
            .filter(|(c, w, _)| c == code && w == wh)
            .map(|(_, _, q)| *q)
            .sum();
        let in_stock = db
            .master("Items", &Key::Str(code.clone()))
            .and_then(|it| it.get("ItemWarehouseInfoCollection"))
            .and_then(Value::as_array)
            .and_then(|rows| {
                rows.iter()
                    .find(|r| r.get("WarehouseCode").and_then(Value::as_str) == Some(wh))
            })
            .map(|r| decimal(r.get("InStock")))
            .unwrap_or_default();
        if in_stock - before - qty < Decimal::ZERO {
            return Err(SapError::rule(format!(
                "Quantity falls into negative inventory [{table}.ItemCode][line:{line_no}]"
            )));
        }
        taken.push((code, wh, *qty));
    }
    Ok(())
}

/// Changes `InStock` of one warehouse row (stock movements do not touch `Items.UpdateDate`).
pub(super) fn move_stock(
    db: &mut SapDb,
    code: &str,
    wh: &str,
    delta: Decimal,
    _stamp: &Stamp,
    undo: &mut UndoLog,
) {
    let key = Key::Str(code.to_string());
    let Some(mut item) = db.master("Items", &key).cloned() else {
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
