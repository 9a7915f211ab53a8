//! Journal entries: balanced lines on accounts that take postings.

use rust_decimal::Decimal;
use serde_json::Value;

use super::accounts::{check_account, check_manual_account, s};
use super::entities::Stamp;
use super::store::{Entity, Key, SapDb, SetDef, UndoLog};
use super::validation::{decimal, number};
use super::wire::SapError;

/// Adds a journal entry; debits must equal credits and every account must take postings.
pub fn create_journal(
    db: &mut SapDb,
    def: &'static SetDef,
    mut e: Entity,
    stamp: &Stamp,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    let lines = e
        .get("JournalEntryLines")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if lines.len() < 2 {
        // INVENTED: the text for a one-row journal entry; not quoted in our sources.
        return Err(SapError::rule("A journal entry needs at least two rows"));
    }
    let (mut debit, mut credit) = (Decimal::ZERO, Decimal::ZERO);
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        let mut l = l.as_object().cloned().unwrap_or_default();
        let d = decimal(l.get("Debit"));
        let c = decimal(l.get("Credit"));
        if d < Decimal::ZERO || c < Decimal::ZERO {
            // INVENTED: the text for a negative journal amount; not quoted in our sources.
            return Err(SapError::rule(format!(
                "Negative amounts are not allowed [JDT1.Debit][line: {}]",
                i + 1
            )));
        }
        match (
            s(&l, "AccountCode").map(str::to_string),
            s(&l, "ShortName").map(str::to_string),
        ) {
            (Some(a), _) => {
                check_manual_account(db, &a, s(&e, "ReferenceDate").unwrap_or(&stamp.date))?;
                l.entry("ShortName").or_insert(Value::from(a));
            }
            (None, Some(short)) => {
                if let Some(bp) = db.get("BusinessPartners", &Key::Str(short.clone())) {
                    let control = bp
                        .get("DebitorAccount")
                        .and_then(Value::as_str)
                        .unwrap_or("1400")
                        .to_string();
                    l.insert("AccountCode".into(), Value::from(control));
                } else {
                    check_account(db, &short)?;
                    l.insert("AccountCode".into(), Value::from(short));
                }
            }
            (None, None) => return Err(SapError::not_found(400)),
        }
        debit += d;
        credit += c;
        l.insert("Line_ID".into(), Value::from(i as i64));
        l.insert("Debit".into(), number(d));
        l.insert("Credit".into(), number(c));
        out.push(Value::Object(l));
    }
    if debit != credit {
        // INVENTED: the -5002 text for an unbalanced journal entry (-5002 is SAP's generic validation code, the text is ours).
        return Err(SapError::new(
            400,
            "-5002",
            format!("Unbalanced transaction (debit {debit}, credit {credit})"),
        ));
    }
    let (entry, num) = db.next_numbers(def, undo);
    e.insert("JdtNum".into(), Value::from(entry));
    e.insert("Number".into(), Value::from(num));
    e.entry("ReferenceDate")
        .or_insert(Value::from(stamp.date.clone()));
    let rd = e.get("ReferenceDate").cloned().unwrap_or_default();
    e.entry("DueDate").or_insert(rd.clone());
    e.entry("TaxDate").or_insert(rd);
    e.insert("JournalEntryLines".into(), Value::Array(out));
    let key = Key::Int(entry);
    db.put(def.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}
