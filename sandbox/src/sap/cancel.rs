//! Cancelling A/R documents: `POST Invoices(n)/Cancel` and `POST CreditNotes(n)/Cancel` (both
//! versions).
//!
//! Sources:
//! - The action: M4 declares a bound `Action Name="Cancel"` and M3 a bindable
//!   `FunctionImport Name="Cancel" m:HttpMethod="POST"` on the document sets; bound actions are
//!   called as `POST <Set>(<key>)/<Action>` and answer 204 No Content [WSL §3.6].
//! - What it does: DI's `Documents.CreateCancellationDocument` "creates a cancellation document
//!   when a marketing document is added in error"; adding it changes "the status of the base
//!   document … into 'canceled'" (SDK `SAPbobsCOM~Documents~CreateCancellationDocument`). The
//!   statuses are SDK `CancelStatusEnum`: `csYes` "the document is cancelled", `csNo`,
//!   `csCancellation` "the document is a cancellation document"; `Documents~Cancelled` "indicates
//!   whether the document was cancelled" (`BoYesNoEnum`).
//! - Cancelled documents stay queryable with `Cancelled = tYES` (review F11).
//!
//! INVENTED (also in `sandbox/README.md`): the wording of the refusals (already cancelled, a
//! cancellation document, payments applied); the cancellation document is dated like the
//! original ([?] B1 proposes the original's posting date) and checked against the posting
//! periods and branches like any new document; the cancellation document's `Cancelled` is `tNO`
//! (the database marks it `C`, which `BoYesNoEnum` cannot express).

use rust_decimal::Decimal;
use serde_json::Value;

use super::accounts::s;
use super::entities::{Stamp, refresh_item_totals};
use super::rules;
use super::store::{Key, SapDb, UndoLog, set_def};
use super::validation::{decimal, number};
use super::wire::{SapError, SapResponse};

/// Routes `POST Invoices(n)/Cancel` and `POST CreditNotes(n)/Cancel`; `None` for other paths.
pub fn route(
    db: &mut SapDb,
    method: &str,
    rest: &str,
    stamp: &Stamp,
    undo: &mut UndoLog,
) -> Result<Option<SapResponse>, SapError> {
    let Some(target) = rest
        .strip_suffix("/Cancel")
        .or_else(|| rest.strip_suffix("/SAPB1.Cancel"))
    else {
        return Ok(None);
    };
    let Some((set, key)) = target
        .strip_suffix(')')
        .and_then(|t| t.split_once('('))
        .filter(|(set, _)| matches!(*set, "Invoices" | "CreditNotes"))
    else {
        return Ok(None);
    };
    if method != "POST" {
        return Err(SapError::new(
            405,
            "-1000",
            format!("Method {method} is not allowed on this resource"),
        ));
    }
    let entry: i64 = key
        .trim()
        .parse()
        .map_err(|_| SapError::malformed(format!("Invalid key '{key}'")))?;
    cancel(db, set, entry, stamp, undo)?;
    Ok(Some(SapResponse::no_content()))
}

/// Cancels document `entry` of `set`: adds its cancellation document and marks it cancelled.
pub fn cancel(
    db: &mut SapDb,
    set: &str,
    entry: i64,
    stamp: &Stamp,
    undo: &mut UndoLog,
) -> Result<(), SapError> {
    let def = set_def(set).ok_or_else(|| SapError::not_found(404))?;
    let key = Key::Int(entry);
    let mut original = db
        .get(def.name, &key)
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| SapError::not_found(404))?;
    match s(&original, "CancelStatus") {
        Some("csYes") => {
            return Err(SapError::rule("Document is already cancelled"));
        }
        Some("csCancellation") => {
            return Err(SapError::rule(
                "A cancellation document cannot be cancelled",
            ));
        }
        _ => {}
    }
    if decimal(original.get("PaidToDate")) != Decimal::ZERO {
        return Err(SapError::rule(
            "Cannot cancel a document with payments applied; cancel the payments first",
        ));
    }
    let mut reversal = original.clone();
    rules::check_posting(db, def.name, &reversal, &stamp.date)?;
    let (new_entry, num) = db.next_numbers(def, undo);
    reversal.insert(def.key.into(), Value::from(new_entry));
    reversal.insert("DocNum".into(), Value::from(num));
    reversal.insert("CancelStatus".into(), Value::from("csCancellation"));
    reversal.insert("Cancelled".into(), Value::from("tNO"));
    reversal.insert("DocumentStatus".into(), Value::from("bost_Close"));
    reversal.remove("DataVersion");
    for (k, v) in [
        ("CreationDate", &stamp.date),
        ("UpdateDate", &stamp.date),
        ("UpdateTime", &stamp.time),
    ] {
        reversal.insert(k.into(), Value::from(v.clone()));
    }
    original.insert("Cancelled".into(), Value::from("tYES"));
    original.insert("CancelStatus".into(), Value::from("csYes"));
    original.insert("DocumentStatus".into(), Value::from("bost_Close"));
    original.insert("UpdateDate".into(), Value::from(stamp.date.clone()));
    original.insert("UpdateTime".into(), Value::from(stamp.time.clone()));
    // The cancellation moves the stock back: an invoice's goods return, a credit note's leave.
    let sign = if def.name == "Invoices" {
        Decimal::ONE
    } else {
        Decimal::NEGATIVE_ONE
    };
    let lines = original
        .get("DocumentLines")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for l in lines.iter().filter_map(Value::as_object) {
        if let (Some(item), Some(wh)) = (s(l, "ItemCode"), s(l, "WarehouseCode")) {
            restock(db, item, wh, sign * decimal(l.get("Quantity")), undo);
        }
    }
    db.put(def.name, key, original, undo);
    db.put(def.name, Key::Int(new_entry), reversal, undo);
    Ok(())
}

/// Moves `delta` units of an inventory item in warehouse `wh`.
fn restock(db: &mut SapDb, code: &str, wh: &str, delta: Decimal, undo: &mut UndoLog) {
    let key = Key::Str(code.to_string());
    let Some(mut item) = db.master("Items", &key).cloned() else {
        return;
    };
    if s(&item, "InventoryItem") == Some("tNO") {
        return;
    }
    let mut rows = item
        .get("ItemWarehouseInfoCollection")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(row) = rows
        .iter_mut()
        .filter_map(Value::as_object_mut)
        .find(|r| s(r, "WarehouseCode") == Some(wh))
    else {
        return;
    };
    let stock = decimal(row.get("InStock")) + delta;
    row.insert("InStock".into(), number(stock));
    item.insert("ItemWarehouseInfoCollection".into(), Value::Array(rows));
    refresh_item_totals(&mut item);
    db.put("Items", key, item, undo);
}
