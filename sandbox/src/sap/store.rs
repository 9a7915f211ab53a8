//! The in-memory company database: entity sets keyed like SAP, DocEntry/DocNum counters, and an
//! undo log so a `$batch` changeset can roll back completely.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::index::Indexes;
use super::odata::Expr;
use super::packed::Packed;

/// One JSON entity as stored (dates `YYYY-MM-DD`, times `HH:MM:SS`).
pub type Entity = Map<String, Value>;

/// How an entity set is keyed and typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetDef {
    /// Entity set name in URLs.
    pub name: &'static str,
    /// Entity type name in `$metadata`.
    pub type_name: &'static str,
    /// Key property.
    pub key: &'static str,
    /// Whether the key is an integer assigned by the server.
    pub int_key: bool,
    /// First DocNum of the default series (documents) or `None`.
    pub series_start: Option<i64>,
}

/// The entity sets the sandbox serves.
pub const SETS: &[SetDef] = &[
    SetDef {
        name: "BusinessPartners",
        type_name: "BusinessPartner",
        key: "CardCode",
        int_key: false,
        series_start: None,
    },
    SetDef {
        name: "Items",
        type_name: "Item",
        key: "ItemCode",
        int_key: false,
        series_start: None,
    },
    SetDef {
        name: "PriceLists",
        type_name: "PriceList",
        key: "PriceListNo",
        int_key: true,
        series_start: None,
    },
    SetDef {
        name: "Warehouses",
        type_name: "Warehouse",
        key: "WarehouseCode",
        int_key: false,
        series_start: None,
    },
    SetDef {
        name: "ChartOfAccounts",
        type_name: "ChartOfAccount",
        key: "Code",
        int_key: false,
        series_start: None,
    },
    SetDef {
        name: "Invoices",
        type_name: "Document",
        key: "DocEntry",
        int_key: true,
        series_start: Some(100_001),
    },
    SetDef {
        name: "CreditNotes",
        type_name: "Document",
        key: "DocEntry",
        int_key: true,
        series_start: Some(600_001),
    },
    SetDef {
        name: "IncomingPayments",
        type_name: "Payment",
        key: "DocEntry",
        int_key: true,
        series_start: Some(200_001),
    },
    // Outgoing payments; to a customer (`DocType` `rCustomer`) they pay back credit notes.
    SetDef {
        name: "VendorPayments",
        type_name: "Payment",
        key: "DocEntry",
        int_key: true,
        series_start: Some(300_001),
    },
    SetDef {
        name: "JournalEntries",
        type_name: "JournalEntry",
        key: "JdtNum",
        int_key: true,
        series_start: Some(1),
    },
    // Inventory transactions (`inventory.rs`): goods receipts, goods issues, transfers.
    SetDef {
        name: "InventoryGenEntries",
        type_name: "Document",
        key: "DocEntry",
        int_key: true,
        series_start: Some(700_001),
    },
    SetDef {
        name: "InventoryGenExits",
        type_name: "Document",
        key: "DocEntry",
        int_key: true,
        series_start: Some(800_001),
    },
    SetDef {
        name: "StockTransfers",
        type_name: "StockTransfer",
        key: "DocEntry",
        int_key: true,
        series_start: Some(900_001),
    },
    SetDef {
        name: "Currencies",
        type_name: "Currency",
        key: "Code",
        int_key: false,
        series_start: None,
    },
    SetDef {
        name: "AdditionalExpenses",
        type_name: "AdditionalExpense",
        key: "ExpensCode",
        int_key: true,
        series_start: None,
    },
    SetDef {
        name: "VatGroups",
        type_name: "VatGroup",
        key: "Code",
        int_key: false,
        series_start: None,
    },
    SetDef {
        name: "SalesTaxCodes",
        type_name: "SalesTaxCode",
        key: "Code",
        int_key: false,
        series_start: None,
    },
    SetDef {
        name: "BusinessPlaces",
        type_name: "BusinessPlace",
        key: "BPLID",
        int_key: true,
        series_start: None,
    },
    // Internal sets (names start with `_`): company data SAP keeps outside entity sets and serves
    // only through service calls. They are stored, saved and rolled back like the others, and a
    // URL naming them answers 404.
    SetDef {
        name: "_AdminInfo",
        type_name: "AdminInfo",
        key: "Key",
        int_key: true,
        series_start: None,
    },
    SetDef {
        name: "_CurrencyRates",
        type_name: "CurrencyRate",
        key: "Key",
        int_key: false,
        series_start: None,
    },
    SetDef {
        name: "_FinancePeriods",
        type_name: "FinancePeriod",
        key: "AbsoluteEntry",
        int_key: true,
        series_start: None,
    },
];

/// Sets whose entities carry `DataVersion` and an ETag in v2 (OptimisticConcurrency in `$metadata`).
pub const VERSIONED: &[&str] = &["BusinessPartners", "Items", "Invoices", "CreditNotes"];

/// The weak ETag of an entity, or `None` for sets without optimistic concurrency.
pub fn etag(set: &str, key: &Key, e: &Entity) -> Option<String> {
    if set.starts_with("U_") {
        return Some(super::user_tables::row_etag(key, e));
    }
    if !VERSIONED.contains(&set) {
        return None;
    }
    let v = e.get("DataVersion").and_then(Value::as_i64).unwrap_or(0);
    let k = key.url_form();
    let h = k.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    Some(format!("W/\"{:x}-{v}\"", h & 0xffff_ffff))
}

/// The set called `name`.
pub fn set_def(name: &str) -> Option<&'static SetDef> {
    SETS.iter().find(|s| s.name == name)
}

/// An entity key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Key {
    /// Integer key (DocEntry, JdtNum, PriceListNo).
    Int(i64),
    /// String key (ItemCode, CardCode, ...).
    Str(String),
}

impl Key {
    /// The key as it appears in a URL: `12` or `'A''B'`.
    pub fn url_form(&self) -> String {
        match self {
            Key::Int(i) => i.to_string(),
            Key::Str(s) => format!("'{}'", s.replace('\'', "''")),
        }
    }

    /// The key as a JSON value.
    pub fn to_json(&self) -> Value {
        match self {
            Key::Int(i) => Value::from(*i),
            Key::Str(s) => Value::from(s.clone()),
        }
    }
}

/// Sets stored packed ([`Packed`]): the documents and user-table rows a connector adds by the
/// hundred thousand. Masters (items, partners, accounts, ...) stay maps: they are few and read
/// for every document line.
fn packs(set: &str) -> bool {
    matches!(
        set,
        "Invoices"
            | "CreditNotes"
            | "IncomingPayments"
            | "VendorPayments"
            | "JournalEntries"
            | "InventoryGenEntries"
            | "InventoryGenExits"
            | "StockTransfers"
    ) || set.starts_with("U_")
}

/// An entity as the database holds it.
#[derive(Debug, Clone)]
enum Stored {
    Map(Entity),
    Packed(Packed),
}

impl Stored {
    fn of(set: &str, e: Entity) -> Self {
        if packs(set) {
            Stored::Packed(Packed::pack(&e))
        } else {
            Stored::Map(e)
        }
    }

    fn as_map(&self) -> &Entity {
        match self {
            Stored::Map(m) => m,
            Stored::Packed(_) => panic!("a packed set read as maps: use SapDb::get / all"),
        }
    }

    fn entity(&self) -> Cow<'_, Entity> {
        match self {
            Stored::Map(m) => Cow::Borrowed(m),
            Stored::Packed(p) => Cow::Owned(p.unpack()),
        }
    }
}

#[derive(Debug)]
enum Undo {
    Put {
        set: &'static str,
        key: Key,
        prev: Option<Stored>,
    },
    Counter {
        set: &'static str,
        prev: (i64, i64),
    },
}

/// Changes made so far in one transaction, newest last.
#[derive(Debug, Default)]
pub struct UndoLog(Vec<Undo>);

/// The company database.
#[derive(Debug, Default, Clone)]
pub struct SapDb {
    sets: HashMap<&'static str, BTreeMap<Key, Stored>>,
    counters: HashMap<&'static str, (i64, i64)>,
    /// Indexes for equality filters, kept in step by every write.
    indexes: Indexes,
    /// Answer every filter by a scan, never from indexes (what tests compare the indexes with).
    pub(crate) scan_only: bool,
    /// The user tables and fields the running Service Layer knows: those that existed when it
    /// last started. Not part of the database (not saved, not rolled back).
    pub(crate) published: super::user_tables::Published,
}

/// The database as a state file holds it: every entity with its key, and the numbering counters.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SavedDb {
    sets: BTreeMap<String, Vec<(Key, Entity)>>,
    counters: BTreeMap<String, (i64, i64)>,
}

fn static_name(name: &str) -> Result<&'static str, String> {
    set_def(name)
        .or_else(|| super::user_tables::stored_set_def(name))
        .map(|d| d.name)
        .ok_or_else(|| format!("unknown entity set {name}"))
}

impl SapDb {
    /// A copy of the whole database for a state file.
    pub(crate) fn to_saved(&self) -> SavedDb {
        SavedDb {
            sets: self
                .sets
                .iter()
                .map(|(set, m)| {
                    let entities = m
                        .iter()
                        .map(|(k, e)| (k.clone(), e.entity().into_owned()))
                        .collect();
                    ((*set).to_string(), entities)
                })
                .collect(),
            counters: self
                .counters
                .iter()
                .map(|(set, c)| ((*set).to_string(), *c))
                .collect(),
        }
    }

    /// The database a state file holds; fails on sets this sandbox does not serve.
    pub(crate) fn from_saved(saved: SavedDb) -> Result<Self, String> {
        let mut db = SapDb::default();
        for (set, entities) in saved.sets {
            let name = static_name(&set)?;
            let stored = entities
                .into_iter()
                .map(|(k, e)| (k, Stored::of(name, e)))
                .collect();
            db.sets.insert(name, stored);
        }
        for (set, c) in saved.counters {
            db.counters.insert(static_name(&set)?, c);
        }
        // A sandbox that starts is a Service Layer that starts: it sees every user table.
        super::user_tables::restart(&mut db);
        Ok(db)
    }

    /// All entities of a set in key order (packed ones unpacked as they are reached).
    pub fn all(&self, set: &str) -> impl Iterator<Item = (&Key, Cow<'_, Entity>)> {
        self.sets
            .get(set)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, e)| (k, e.entity())))
    }

    /// All entities of a set kept as maps (masters and settings, never a packed document set),
    /// by reference.
    pub fn masters(&self, set: &str) -> impl Iterator<Item = (&Key, &Entity)> {
        self.sets
            .get(set)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, e)| (k, e.as_map())))
    }

    /// One entity of a set kept as maps (see [`SapDb::masters`]), by reference.
    pub fn master(&self, set: &str, key: &Key) -> Option<&Entity> {
        Some(self.sets.get(set)?.get(key)?.as_map())
    }

    /// The keys of a set in order.
    pub fn keys(&self, set: &str) -> impl Iterator<Item = &Key> {
        self.sets.get(set).into_iter().flat_map(BTreeMap::keys)
    }

    /// Whether the set holds an entity with that key.
    pub fn contains(&self, set: &str, key: &Key) -> bool {
        self.sets.get(set).is_some_and(|m| m.contains_key(key))
    }

    /// One entity.
    pub fn get(&self, set: &str, key: &Key) -> Option<Cow<'_, Entity>> {
        Some(self.sets.get(set)?.get(key)?.entity())
    }

    /// Builds the indexes `filter` can be answered from on `def`'s set, if any is missing (see
    /// [`Indexes::prepare`]); [`SapDb::select`] then uses them.
    pub fn prepare_indexes(&mut self, def: &SetDef, filter: &Expr) {
        if self.scan_only {
            return;
        }
        if let Some(m) = self.sets.get(def.name) {
            self.indexes.prepare(def.name, def.type_name, filter, || {
                Box::new(m.iter().map(|(k, e)| (k.clone(), e.entity().into_owned())))
            });
        }
    }

    /// The entities of `def` that match `filter`, in key order: from the indexes when they can
    /// answer it (those [`SapDb::prepare_indexes`] built), else by a scan. Either way each
    /// entity returned matches, so the answer is the scan's.
    pub fn select(&self, def: &SetDef, filter: &Expr) -> Vec<(Key, Cow<'_, Entity>)> {
        let (set, ty) = (def.name, def.type_name);
        let indexed = (!self.scan_only)
            .then(|| self.indexes.candidates(set, ty, filter))
            .flatten();
        let Some(keys) = indexed else {
            return self.scan(set, ty, filter);
        };
        let Some(m) = self.sets.get(set) else {
            return Vec::new();
        };
        keys.into_iter()
            .filter_map(|k| {
                let e = m.get(&k)?.entity();
                super::odata::matches(filter, ty, &e).then_some((k, e))
            })
            .collect()
    }

    /// [`SapDb::select`] without indexes (what they must agree with).
    pub fn scan(&self, set: &str, ty: &str, filter: &Expr) -> Vec<(Key, Cow<'_, Entity>)> {
        self.all(set)
            .filter(|(_, e)| super::odata::matches(filter, ty, e))
            .map(|(k, e)| (k.clone(), e))
            .collect()
    }

    /// Inserts or replaces an entity, recording the previous value.
    pub fn put(&mut self, set: &'static str, key: Key, mut value: Entity, undo: &mut UndoLog) {
        if VERSIONED.contains(&set) {
            // DataVersion drives the v2 ETag: every change of the object bumps it.
            let prev_version = self
                .get(set, &key)
                .and_then(|e| e.get("DataVersion").and_then(Value::as_i64))
                .unwrap_or(0);
            value.insert("DataVersion".into(), Value::from(prev_version + 1));
        }
        let covered = self.indexes.covers(set);
        let (stored, kept) = if packs(set) {
            (
                Stored::Packed(Packed::pack(&value)),
                covered.then_some(value),
            )
        } else if covered {
            (Stored::Map(value.clone()), Some(value))
        } else {
            (Stored::Map(value), None)
        };
        let prev = self
            .sets
            .entry(set)
            .or_default()
            .insert(key.clone(), stored);
        if let Some(new) = &kept {
            let old = prev.as_ref().map(Stored::entity);
            self.indexes.update(set, &key, old.as_deref(), Some(new));
        }
        undo.0.push(Undo::Put { set, key, prev });
    }

    /// Removes an entity, recording it.
    pub fn remove(&mut self, set: &'static str, key: &Key, undo: &mut UndoLog) {
        if let Some(prev) = self.sets.entry(set).or_default().remove(key) {
            if self.indexes.covers(set) {
                self.indexes.update(set, key, Some(&prev.entity()), None);
            }
            undo.0.push(Undo::Put {
                set,
                key: key.clone(),
                prev: Some(prev),
            });
        }
    }

    /// Next (DocEntry, DocNum) for a document set, like SAP's ONNM counter and default series.
    pub fn next_numbers(&mut self, def: &SetDef, undo: &mut UndoLog) -> (i64, i64) {
        let start = def.series_start.unwrap_or(1);
        let entry = self.counters.entry(def.name).or_insert((1, start));
        let prev = *entry;
        *entry = (prev.0 + 1, prev.1 + 1);
        undo.0.push(Undo::Counter {
            set: def.name,
            prev,
        });
        prev
    }

    /// Number of entities in a set.
    pub fn count(&self, set: &str) -> usize {
        self.sets.get(set).map_or(0, BTreeMap::len)
    }

    /// Bytes the stored entities of `set` hold in packed form (0 for sets kept as maps).
    pub fn packed_bytes(&self, set: &str) -> usize {
        self.sets.get(set).map_or(0, |m| {
            m.values()
                .map(|e| match e {
                    Stored::Packed(p) => p.len(),
                    Stored::Map(_) => 0,
                })
                .sum()
        })
    }

    /// Undoes every change in `undo`, newest first.
    pub fn rollback(&mut self, undo: UndoLog) {
        for u in undo.0.into_iter().rev() {
            match u {
                Undo::Put { set, key, prev } => {
                    let covered = self.indexes.covers(set);
                    let new = prev
                        .as_ref()
                        .filter(|_| covered)
                        .map(|p| p.entity().into_owned());
                    let m = self.sets.entry(set).or_default();
                    let current = match prev {
                        Some(p) => m.insert(key.clone(), p),
                        None => m.remove(&key),
                    };
                    if covered {
                        let old = current.as_ref().map(Stored::entity);
                        self.indexes.update(set, &key, old.as_deref(), new.as_ref());
                    }
                }
                Undo::Counter { set, prev } => {
                    self.counters.insert(set, prev);
                }
            }
        }
    }
}
