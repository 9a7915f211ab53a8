//! Credit notes copied from an invoice (`BaseType` 13, `BaseEntry`, `BaseLine`, notes sap-b1.md
//! "Credit note from invoice"): the row inherits the base row's item, tax code and price, cannot
//! credit more than is still open on the base row, and reduces what the invoice still owes.

use rust_decimal::Decimal;
use serde_json::Value;

use super::super::accounts::{round2, s};
use super::super::store::{Entity, Key, SapDb, UndoLog};
use super::super::validation::{decimal, number};
use super::super::wire::SapError;

/// The base rows a new document draws from, with the quantities it takes.
#[derive(Debug, Default)]
pub struct BaseUse {
    /// (base set, DocEntry, LineNum, quantity taken).
    rows: Vec<(&'static str, i64, i64, Decimal)>,
    /// The base row of the row being priced, until its quantity is checked.
    pending: Option<(&'static str, i64, i64, Decimal)>,
}

const PRICE_FIELDS: &[&str] = &[
    "UnitPrice",
    "Price",
    "LineTotal",
    "RowTotalFC",
    "PriceAfterVAT",
];

impl BaseUse {
    /// Checks the base of row `l` and fills in what it inherits.
    pub fn inherit(
        &mut self,
        db: &SapDb,
        doc: &Entity,
        l: &mut Entity,
        table: &str,
        line_no: usize,
    ) -> Result<(), SapError> {
        let base_entry = l
            .get("BaseEntry")
            .and_then(Value::as_i64)
            .ok_or_else(|| SapError::not_found(400))?;
        let base_set = match l.get("BaseType").and_then(Value::as_i64) {
            Some(13) => "Invoices",
            Some(14) => "CreditNotes",
            _ => {
                // INVENTED: the text for an unsupported BaseType; not quoted in our sources.
                return Err(SapError::rule(format!(
                    "Invalid base document type [{table}.BaseType][line: {line_no}]"
                )));
            }
        };
        let base = db
            .get(base_set, &Key::Int(base_entry))
            .ok_or_else(|| SapError::not_found(400))?;
        if base.get("CardCode") != doc.get("CardCode") {
            // INVENTED: the text for a base document of another BP; not quoted in our sources.
            return Err(SapError::rule(format!(
                "Base document belongs to another business partner [{table}.BaseEntry][line: {line_no}]"
            )));
        }
        let base_line_no = l.get("BaseLine").and_then(Value::as_i64).unwrap_or(0);
        let base_line = base
            .get("DocumentLines")
            .and_then(Value::as_array)
            .and_then(|ls| {
                ls.iter()
                    .find(|x| x.get("LineNum").and_then(Value::as_i64) == Some(base_line_no))
            })
            .and_then(Value::as_object)
            .ok_or_else(|| SapError::not_found(400))?;
        for k in ["ItemCode", "WarehouseCode", "AccountCode"] {
            if s(l, k).is_none()
                && let Some(v) = base_line.get(k)
            {
                l.insert(k.into(), v.clone());
            }
        }
        if s(l, "VatGroup").is_none() && s(l, "TaxCode").is_none() {
            for k in ["VatGroup", "TaxCode"] {
                if let Some(v) = base_line.get(k).filter(|v| !v.is_null()) {
                    l.insert(k.into(), v.clone());
                }
            }
        }
        if !PRICE_FIELDS.iter().any(|k| l.contains_key(*k)) {
            for k in ["UnitPrice", "DiscountPercent"] {
                if let Some(v) = base_line.get(k) {
                    l.insert(k.into(), v.clone());
                }
            }
        }
        let open = base_line
            .get("RemainingOpenQuantity")
            .or(base_line.get("Quantity"));
        self.pending = Some((base_set, base_entry, base_line_no, decimal(open)));
        Ok(())
    }

    /// Checks the row's quantity against what is open on its base row (if it has one).
    pub fn check_quantity(
        &mut self,
        qty: Decimal,
        table: &str,
        line_no: usize,
    ) -> Result<(), SapError> {
        let Some((set, entry, line, open)) = self.pending.take() else {
            return Ok(());
        };
        let taken: Decimal = self
            .rows
            .iter()
            .filter(|(s2, e2, l2, _)| *s2 == set && *e2 == entry && *l2 == line)
            .map(|r| r.3)
            .sum();
        if qty > open - taken {
            // INVENTED: the text; SAP refuses copying more than the base row's open quantity,
            // its wording is not quoted in our sources.
            return Err(SapError::rule(format!(
                "Quantity exceeds the open quantity of the base document row ({}) [{table}.Quantity][line: {line_no}]",
                open - taken
            )));
        }
        self.rows.push((set, entry, line, qty));
        Ok(())
    }

    /// The currency and rate of the first base document, if the document draws from one.
    pub fn base_money(db: &SapDb, lines: &[Value]) -> Option<(String, Decimal)> {
        lines.iter().find_map(|l| {
            let set = match l.get("BaseType").and_then(Value::as_i64)? {
                13 => "Invoices",
                14 => "CreditNotes",
                _ => return None,
            };
            let base = db.get(set, &Key::Int(l.get("BaseEntry").and_then(Value::as_i64)?))?;
            Some((
                s(&base, "DocCurrency")?.to_string(),
                decimal(base.get("DocRate")),
            ))
        })
    }

    /// Takes the quantities from the base rows and applies the new credit note `cn` to its base
    /// invoices, up to what each still owes, closing what is settled. An FC invoice is reduced in
    /// its currency and cleared in local currency at its own rate; the returned amount is the
    /// local-currency difference to the credit note's own rate (positive: credited more than
    /// booked), a realized exchange difference.
    // INVENTED: the order (base invoices in row order) in which one credit note's total is spread
    // over several base invoices.
    pub fn apply(self, db: &mut SapDb, cn: &mut Entity, undo: &mut UndoLog) -> Decimal {
        let (total_lc, total_fc) = (decimal(cn.get("DocTotal")), decimal(cn.get("DocTotalFc")));
        let cn_rate = decimal(cn.get("DocRate"));
        let (mut left_lc, mut left_fc) = (total_lc, total_fc);
        let mut difference = Decimal::ZERO;
        let mut done: Vec<(&str, i64)> = Vec::new();
        for (set, entry, line, qty) in &self.rows {
            let Some(mut base) = db
                .get(set, &Key::Int(*entry))
                .map(std::borrow::Cow::into_owned)
            else {
                continue;
            };
            if let Some(rows) = base.get_mut("DocumentLines").and_then(Value::as_array_mut) {
                for r in rows
                    .iter_mut()
                    .filter(|r| r.get("LineNum").and_then(Value::as_i64) == Some(*line))
                {
                    let open = decimal(r.get("RemainingOpenQuantity").or(r.get("Quantity"))) - qty;
                    r["RemainingOpenQuantity"] = number(open);
                    if open <= Decimal::ZERO {
                        r["LineStatus"] = Value::from("bost_Close");
                    }
                }
            }
            if *set == "Invoices" && !done.contains(&(*set, *entry)) {
                done.push((*set, *entry));
                let open_lc = decimal(base.get("DocTotal")) - decimal(base.get("PaidToDate"));
                let open_fc = decimal(base.get("DocTotalFc")) - decimal(base.get("PaidToDateFC"));
                let (cleared_lc, fc, used_lc) =
                    if open_fc > Decimal::ZERO && left_fc > Decimal::ZERO {
                        let fc = left_fc.min(open_fc);
                        let cleared = if fc == open_fc {
                            open_lc
                        } else {
                            round2(fc * decimal(base.get("DocRate")))
                        };
                        let used = if fc == left_fc {
                            left_lc
                        } else {
                            round2(fc * cn_rate)
                        };
                        (cleared, fc, used)
                    } else {
                        let lc = left_lc.min(open_lc).max(Decimal::ZERO);
                        (lc, Decimal::ZERO, lc)
                    };
                left_lc -= used_lc;
                left_fc -= fc;
                difference += used_lc - cleared_lc;
                let paid = decimal(base.get("PaidToDate")) + cleared_lc;
                base.insert("PaidToDate".into(), number(paid));
                base.insert(
                    "PaidToDateFC".into(),
                    number(decimal(base.get("PaidToDateFC")) + fc),
                );
                if paid >= decimal(base.get("DocTotal")) {
                    base.insert("DocumentStatus".into(), Value::from("bost_Close"));
                }
            }
            db.put(set, Key::Int(*entry), base, undo);
        }
        cn.insert("PaidToDate".into(), number(total_lc - left_lc));
        cn.insert("PaidToDateFC".into(), number(total_fc - left_fc));
        if left_lc <= Decimal::ZERO && !done.is_empty() {
            cn.insert("DocumentStatus".into(), Value::from("bost_Close"));
        }
        difference
    }
}
