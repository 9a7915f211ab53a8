//! Inventory transactions: goods receipts (`InventoryGenEntries`, object 59 `oInventoryGenEntry`),
//! goods issues (`InventoryGenExits`, 60 `oInventoryGenExit`) and inventory transfers
//! (`StockTransfers`, 67 `oStockTransfer`), moving `InStock` per warehouse of each row's item.
//!
//! Sources: the v4 `$metadata` (../shared/reference/sap-b1) types both goods documents as
//! `Document` with `DocumentLines` (`ItemCode`, `Quantity`, `WarehouseCode`, `AccountCode`) and the
//! transfer as `StockTransfer` (`FromWarehouse`, `ToWarehouse`, `StockTransferLines` with
//! `FromWarehouseCode` and `WarehouseCode`); the object codes are those of `BoObjectTypes`. A goods
//! issue or a transfer that would take a warehouse below zero is refused when the company blocks
//! negative inventory at warehouse level ("Administration → System Initialization → Document
//! Settings → Block Negative Inventory": "SAP Business One will block a transaction if the
//! transaction causes a negative number in the quantity of one of the warehouses",
//! sapbusinessonesap.blogspot.com 2020/03 "Negative Inventory in SAP Business One"), with the
//! message of SAP KBA 2693418 ("Quantity falls into negative inventory [INV1.ItemCode][line:1]",
//! notes sap-b1.md error table) naming the row table of the document (`IGE1`, `WTR1`).

use rust_decimal::Decimal;
use serde_json::Value;

use super::accounts::{is_yes, s};
use super::company;
use super::documents::move_stock;
use super::entities::Stamp;
use super::store::{Entity, Key, SapDb, SetDef, UndoLog};
use super::validation::{decimal, number};
use super::wire::SapError;

/// One row's movement: item, warehouse, signed quantity, 1-based row number.
type Move = (String, String, Decimal, usize);

/// The kind of inventory transaction a set holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Receipt,
    Issue,
    Transfer,
}

impl Kind {
    fn of(set: &str) -> Option<Self> {
        match set {
            "InventoryGenEntries" => Some(Self::Receipt),
            "InventoryGenExits" => Some(Self::Issue),
            "StockTransfers" => Some(Self::Transfer),
            _ => None,
        }
    }

    /// The rows' collection, the rows' table (as SAP's messages name it), the object code.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Receipt => ("DocumentLines", "IGN1", "oInventoryGenEntry"),
            Self::Issue => ("DocumentLines", "IGE1", "oInventoryGenExit"),
            Self::Transfer => ("StockTransferLines", "WTR1", "oStockTransfer"),
        }
    }
}

/// Whether `set` is one of the inventory transaction sets.
pub fn is_inventory_set(set: &str) -> bool {
    Kind::of(set).is_some()
}

fn warehouse_exists(db: &SapDb, code: &str) -> bool {
    db.master("Warehouses", &Key::Str(code.to_string()))
        .is_some()
}

fn in_stock(db: &SapDb, code: &str, wh: &str) -> Decimal {
    db.master("Items", &Key::Str(code.to_string()))
        .and_then(|it| it.get("ItemWarehouseInfoCollection"))
        .and_then(Value::as_array)
        .and_then(|rows| {
            rows.iter()
                .find(|r| r.get("WarehouseCode").and_then(Value::as_str) == Some(wh))
        })
        .map(|r| decimal(r.get("InStock")))
        .unwrap_or_default()
}

/// Adds a goods receipt, goods issue or inventory transfer; moves the stock of its rows.
pub fn create_inventory(
    db: &mut SapDb,
    def: &'static SetDef,
    mut e: Entity,
    stamp: &Stamp,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    let kind = Kind::of(def.name).expect("an inventory set");
    let (rows_prop, table, object) = kind.names();
    let header_from = s(&e, "FromWarehouse").map(str::to_string);
    let header_to = s(&e, "ToWarehouse").map(str::to_string);
    if kind == Kind::Transfer {
        // INVENTED: the wording of both refusals (the header's warehouses are required in the
        // client: "From Warehouse" and "To Warehouse" of the Inventory Transfer form).
        let Some(to) = &header_to else {
            return Err(SapError::rule("Specify the To Warehouse [OWTR.Filler]"));
        };
        if header_from.is_none() {
            return Err(SapError::rule("Specify the From Warehouse [OWTR.Filler]"));
        }
        if !warehouse_exists(db, to) {
            return Err(SapError::not_found(400));
        }
    }
    let rows = e
        .get(rows_prop)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if rows.is_empty() {
        // INVENTED: the text for a document without rows; not quoted in our sources.
        return Err(SapError::rule(format!(
            "Document must have at least one row [{table}.ItemCode]"
        )));
    }
    let mut moves: Vec<Move> = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let line = i + 1;
        let mut l = row.as_object().cloned().unwrap_or_default();
        // INVENTED: the texts for a row without item, with a non-positive quantity, or for an
        // item that keeps no stock; not quoted in our sources.
        let code = s(&l, "ItemCode")
            .ok_or_else(|| {
                SapError::rule(format!(
                    "Specify the item code [{table}.ItemCode][line: {line}]"
                ))
            })?
            .to_string();
        let item = db
            .master("Items", &Key::Str(code.clone()))
            .ok_or_else(|| SapError::not_found(400))?;
        if !is_yes(item, "InventoryItem") {
            return Err(SapError::rule(format!(
                "Item '{code}' is not an inventory item [{table}.ItemCode][line: {line}]"
            )));
        }
        let qty = decimal(l.get("Quantity"));
        if qty <= Decimal::ZERO {
            return Err(SapError::rule(format!(
                "Quantity must be positive [{table}.Quantity][line: {line}]"
            )));
        }
        let default_wh = s(item, "DefaultWarehouse").unwrap_or("01").to_string();
        let wh = s(&l, "WarehouseCode")
            .map(str::to_string)
            .or_else(|| {
                (kind == Kind::Transfer)
                    .then(|| header_to.clone())
                    .flatten()
            })
            .unwrap_or(default_wh);
        if !warehouse_exists(db, &wh) {
            return Err(SapError::not_found(400));
        }
        l.insert("WarehouseCode".into(), Value::from(wh.clone()));
        l.insert("LineNum".into(), Value::from(i as i64));
        l.insert("Quantity".into(), number(qty));
        l.insert(
            "ItemDescription".into(),
            item.get("ItemName").cloned().unwrap_or_default(),
        );
        match kind {
            Kind::Receipt => moves.push((code, wh, qty, line)),
            Kind::Issue => moves.push((code, wh, -qty, line)),
            Kind::Transfer => {
                let from = s(&l, "FromWarehouseCode")
                    .map(str::to_string)
                    .or_else(|| header_from.clone())
                    .unwrap_or_default();
                if !warehouse_exists(db, &from) {
                    return Err(SapError::not_found(400));
                }
                if from == wh {
                    // INVENTED: the text for a row moving stock into its own warehouse.
                    return Err(SapError::rule(format!(
                        "From warehouse and to warehouse must differ [{table}.WhsCode][line: {line}]"
                    )));
                }
                l.insert("FromWarehouseCode".into(), Value::from(from.clone()));
                moves.push((code.clone(), from, -qty, line));
                moves.push((code, wh, qty, line));
            }
        }
        out.push(Value::Object(l));
    }
    if company::blocks_negative_stock(db) {
        check_negative(db, &moves, table)?;
    }
    let (entry, num) = db.next_numbers(def, undo);
    e.insert("DocEntry".into(), Value::from(entry));
    e.insert("DocNum".into(), Value::from(num));
    e.entry("DocDate")
        .or_insert(Value::from(stamp.date.clone()));
    let date = e.get("DocDate").cloned().unwrap_or_default();
    e.entry("TaxDate").or_insert(date.clone());
    if kind != Kind::Transfer {
        e.entry("DocDueDate").or_insert(date);
    }
    // INVENTED: an inventory transaction is closed when added (nothing can be drawn from it).
    e.insert("DocumentStatus".into(), Value::from("bost_Close"));
    e.insert("CreationDate".into(), Value::from(stamp.date.clone()));
    e.insert("UpdateDate".into(), Value::from(stamp.date.clone()));
    e.insert("DocObjectCode".into(), Value::from(object));
    e.insert("Series".into(), Value::from(1));
    e.insert(rows_prop.into(), Value::Array(out));
    for (code, wh, delta, _) in moves {
        move_stock(db, &code, &wh, delta, stamp, undo);
    }
    let key = Key::Int(entry);
    db.put(def.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}

/// Refuses the movements when one would leave a warehouse of an item below zero (the rows are
/// applied in order, so two issues of one item from one warehouse add up).
fn check_negative(db: &SapDb, moves: &[Move], table: &str) -> Result<(), SapError> {
    let mut applied: Vec<(&str, &str, Decimal)> = Vec::new();
    for (code, wh, delta, line) in moves {
        let before: Decimal = applied
            .iter()
            .filter(|(c, w, _)| c == code && w == wh)
            .map(|(_, _, q)| *q)
            .sum();
        if *delta < Decimal::ZERO && in_stock(db, code, wh) + before + delta < Decimal::ZERO {
            return Err(SapError::rule(format!(
                "Quantity falls into negative inventory [{table}.ItemCode][line:{line}]"
            )));
        }
        applied.push((code, wh, *delta));
    }
    Ok(())
}
