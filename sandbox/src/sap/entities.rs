//! Create / update / delete rules for master data, and the dispatch to the document rules.

use serde_json::{Map, Value};

use super::schema::{SapProfile, Scope};
use super::store::{Entity, Key, SapDb, SetDef, UndoLog};
use super::user_tables;
use super::validation::{decimal, normalize, number};
use super::wire::SapError;
use super::{documents, inventory, journal, payments, rules};

/// The server's date and time for a write.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM:SS`.
    pub time: String,
}

fn str_field<'a>(e: &'a Entity, k: &str) -> Option<&'a str> {
    e.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Stock quantities are maintained by inventory transactions; the Service Layer silently ignores
/// them in Item POST/PATCH bodies.
fn strip_read_only_stock(e: &mut Entity) {
    for k in [
        "QuantityOnStock",
        "QuantityOrderedFromVendors",
        "QuantityOrderedByCustomers",
    ] {
        e.remove(k);
    }
    if let Some(rows) = e
        .get_mut("ItemWarehouseInfoCollection")
        .and_then(Value::as_array_mut)
    {
        for r in rows.iter_mut().filter_map(Value::as_object_mut) {
            for k in ["InStock", "Committed", "Ordered"] {
                r.remove(k);
            }
        }
    }
}

/// Creates an entity as the default release ([`SapProfile::Fp22xx`]) would; returns its key and
/// stored form.
pub fn create(
    db: &mut SapDb,
    def: &'static SetDef,
    body: &Map<String, Value>,
    stamp: &Stamp,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    create_in(db, def, body, stamp, SapProfile::default(), undo)
}

/// Creates an entity as release `profile` would; returns its key and stored form.
pub fn create_in(
    db: &mut SapDb,
    def: &'static SetDef,
    body: &Map<String, Value>,
    stamp: &Stamp,
    profile: SapProfile,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    let scope = Scope { profile, db };
    let mut e = normalize(&scope, def.type_name, body)?;
    rules::check_posting(db, def.name, &e, &stamp.date)?;
    match def.name {
        "Invoices" | "CreditNotes" => return documents::create_document(db, def, e, stamp, undo),
        "IncomingPayments" | "VendorPayments" => {
            return payments::create_payment(db, def, e, stamp, undo);
        }
        "JournalEntries" => return journal::create_journal(db, def, e, stamp, undo),
        name if inventory::is_inventory_set(name) => {
            return inventory::create_inventory(db, def, e, stamp, undo);
        }
        "UserTablesMD" => return user_tables::create_table(db, e, undo),
        "UserFieldsMD" => return user_tables::create_field(db, e, undo),
        name if name.starts_with("U_") => return user_tables::create_row(db, def, e, undo),
        _ => {}
    }
    let key = if def.int_key {
        match e.get(def.key).and_then(Value::as_i64) {
            Some(k) => Key::Int(k),
            None => {
                let k = db.count(def.name) as i64 + 1;
                e.insert(def.key.into(), Value::from(k));
                Key::Int(k)
            }
        }
    } else {
        let Some(k) = str_field(&e, def.key) else {
            // INVENTED: the text for a master without its key; not quoted in our sources.
            return Err(SapError::rule(format!("Specify the {} field", def.key)));
        };
        Key::Str(k.to_string())
    };
    if db.contains(def.name, &key) {
        return Err(match def.name {
            "Items" => SapError::rule(format!(
                "Item code '{}' already exists",
                str_field(&e, "ItemCode").unwrap_or_default()
            )),
            "BusinessPartners" => SapError::rule(format!(
                "1320000140 - Business partner code '{}' already assigned to a business partner; enter a unique business partner code",
                str_field(&e, "CardCode").unwrap_or_default()
            )),
            _ => SapError::new(
                400,
                "-2035",
                "This entry already exists in the following tables (ODBC -2035)",
            ),
        });
    }
    match def.name {
        "Items" => {
            strip_read_only_stock(&mut e);
            item_defaults(db, &mut e, stamp);
        }
        "BusinessPartners" => {
            for (k, v) in [
                ("CardType", "cCustomer"),
                ("Valid", "tYES"),
                ("Frozen", "tNO"),
                ("Currency", "##"),
            ] {
                e.entry(k).or_insert(Value::from(v));
            }
            if e.get("CardName").is_none() {
                e.insert("CardName".into(), Value::from(""));
            }
            stamp_master(&mut e, stamp, true);
        }
        "ChartOfAccounts" => {
            for (k, v) in [
                ("ActiveAccount", "tYES"),
                ("FrozenFor", "tNO"),
                ("ValidFor", "tNO"),
            ] {
                e.entry(k).or_insert(Value::from(v));
            }
            e.entry("FormatCode")
                .or_insert(Value::from(key_string(&key)));
        }
        _ => {}
    }
    db.put(def.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}

fn key_string(k: &Key) -> String {
    match k {
        Key::Int(i) => i.to_string(),
        Key::Str(s) => s.clone(),
    }
}

fn stamp_master(e: &mut Entity, stamp: &Stamp, create: bool) {
    if create {
        e.insert("CreateDate".into(), Value::from(stamp.date.clone()));
        e.insert("CreateTime".into(), Value::from(stamp.time.clone()));
    }
    e.insert("UpdateDate".into(), Value::from(stamp.date.clone()));
    e.insert("UpdateTime".into(), Value::from(stamp.time.clone()));
}

fn item_defaults(db: &SapDb, e: &mut Entity, stamp: &Stamp) {
    for (k, v) in [
        ("Valid", "tYES"),
        ("Frozen", "tNO"),
        ("InventoryItem", "tYES"),
        ("SalesItem", "tYES"),
        ("PurchaseItem", "tYES"),
        ("ManageStockByWarehouse", "tNO"),
    ] {
        e.entry(k).or_insert(Value::from(v));
    }
    e.entry("ItemName").or_insert(Value::from(""));
    e.entry("DefaultWarehouse").or_insert(Value::from("01"));
    let mut prices: Vec<Value> = e
        .get("ItemPrices")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (k, pl) in db.masters("PriceLists") {
        let Key::Int(no) = k else { continue };
        if !prices
            .iter()
            .any(|p| p.get("PriceList").and_then(Value::as_i64) == Some(*no))
        {
            let currency = pl
                .get("DefaultPrimeCurrency")
                .cloned()
                .unwrap_or(Value::from("EUR"));
            prices.push(serde_json::json!({"PriceList": no, "Price": 0, "Currency": currency, "BasePriceList": no, "Factor": 1}));
        }
    }
    e.insert("ItemPrices".into(), Value::Array(prices));
    let mut whs: Vec<Value> = e
        .get("ItemWarehouseInfoCollection")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for w in whs.iter_mut().filter_map(Value::as_object_mut) {
        for k in ["InStock", "Committed", "Ordered"] {
            w.insert(k.into(), Value::from(0));
        }
    }
    for (k, _) in db.masters("Warehouses") {
        let Key::Str(code) = k else { continue };
        if !whs
            .iter()
            .any(|w| w.get("WarehouseCode").and_then(Value::as_str) == Some(code))
        {
            whs.push(serde_json::json!({"WarehouseCode": code, "InStock": 0, "Committed": 0, "Ordered": 0}));
        }
    }
    e.insert("ItemWarehouseInfoCollection".into(), Value::Array(whs));
    refresh_item_totals(e);
    stamp_master(e, stamp, true);
}

/// Recomputes `QuantityOnStock` & co. from the warehouse rows.
pub fn refresh_item_totals(e: &mut Entity) {
    let whs = e
        .get("ItemWarehouseInfoCollection")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let sum = |k: &str| whs.iter().map(|w| decimal(w.get(k))).sum();
    e.insert("QuantityOnStock".into(), number(sum("InStock")));
    e.insert(
        "QuantityOrderedByCustomers".into(),
        number(sum("Committed")),
    );
    e.insert("QuantityOrderedFromVendors".into(), number(sum("Ordered")));
}

/// Merges collection rows by their line key, as PATCH does without `B1S-ReplaceCollectionsOnPatch`.
fn merge_rows(old: &[Value], new: &[Value], line_key: &str) -> Vec<Value> {
    let mut out = old.to_vec();
    for n in new {
        let pos = n
            .get(line_key)
            .and_then(|k| out.iter().position(|o| o.get(line_key) == Some(k)));
        match (pos, n.as_object()) {
            (Some(i), Some(nm)) => {
                if let Some(om) = out[i].as_object_mut() {
                    for (k, v) in nm {
                        om.insert(k.clone(), v.clone());
                    }
                }
            }
            _ => out.push(n.clone()),
        }
    }
    out
}

/// PATCH: differential update.
#[allow(clippy::too_many_arguments)]
pub fn patch(
    db: &mut SapDb,
    def: &'static SetDef,
    key: &Key,
    body: &Map<String, Value>,
    replace_collections: bool,
    stamp: &Stamp,
    profile: SapProfile,
    undo: &mut UndoLog,
) -> Result<(), SapError> {
    let mut patch = normalize(&Scope { profile, db }, def.type_name, body)?;
    if def.name.starts_with("U_") {
        return user_tables::patch_row(db, def, key, patch, undo);
    }
    if def.name == "Items" {
        strip_read_only_stock(&mut patch);
    }
    let mut e = db
        .get(def.name, key)
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| SapError::not_found(404))?;
    if matches!(
        def.name,
        "Invoices" | "CreditNotes" | "IncomingPayments" | "VendorPayments" | "JournalEntries"
    ) && patch.contains_key("DocumentLines")
    {
        // INVENTED: the text for a line-level PATCH of a document; not quoted in our sources.
        return Err(SapError::rule(
            "Cannot update lines of a document that has been added",
        ));
    }
    for (k, v) in patch {
        if k == def.key {
            continue;
        }
        let line_key = match k.as_str() {
            "ItemPrices" => Some("PriceList"),
            "ItemWarehouseInfoCollection" => Some("WarehouseCode"),
            "BPAddresses" => Some("AddressName"),
            _ => None,
        };
        match (line_key, &v, e.get(&k)) {
            (Some(lk), Value::Array(new), Some(Value::Array(old))) if !replace_collections => {
                let merged = merge_rows(old, new, lk);
                e.insert(k, Value::Array(merged));
            }
            _ => {
                e.insert(k, v);
            }
        }
    }
    match def.name {
        "Items" => {
            refresh_item_totals(&mut e);
            stamp_master(&mut e, stamp, false);
        }
        "BusinessPartners" => stamp_master(&mut e, stamp, false),
        "Invoices" | "CreditNotes" => {
            e.insert("UpdateDate".into(), Value::from(stamp.date.clone()));
            e.insert("UpdateTime".into(), Value::from(stamp.time.clone()));
        }
        _ => {}
    }
    db.put(def.name, key.clone(), e, undo);
    Ok(())
}

/// DELETE: masters only; marketing documents and postings answer -5006.
pub fn delete(
    db: &mut SapDb,
    def: &'static SetDef,
    key: &Key,
    undo: &mut UndoLog,
) -> Result<(), SapError> {
    if def.series_start.is_some() {
        return Err(SapError::new(
            400,
            "-5006",
            "The requested action is not supported for this object.",
        ));
    }
    if !db.contains(def.name, key) {
        return Err(SapError::not_found(404));
    }
    db.remove(def.name, key, undo);
    Ok(())
}
