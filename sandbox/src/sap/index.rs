//! Indexes of the company database for equality filters on key-like properties (issue 20): a
//! connector looks an invoice up by `NumAtCard` before it posts it, items by `ItemCode`, payments
//! by `TransferReference`, and answering each such `GET ...?$filter=` by scanning the whole set
//! made posting quadratic. A performance device only: an index gives *candidates* (a superset of
//! the entities an equality matches), and the list still evaluates the whole filter on each of
//! them in key order, so every answer is exactly the scan's.
//!
//! An index on (set, property) is built the first time a filter needs it and from then on kept
//! in step by every write of the set ([`Indexes::update`]: put, remove, rollback).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::filter::{equality, value_hash};
use super::odata::Expr;
use super::store::Key;

/// Properties indexed when a filter compares them with `eq`: keys and references clients look
/// documents and masters up by. Any UDF (`U_x`: a configured key UDF, user-table fields) too.
pub const INDEXED: &[&str] = &[
    "NumAtCard",
    "CardCode",
    "DocEntry",
    "DocNum",
    "ItemCode",
    "Code",
    "Name",
    "TableName",
    "TransferReference",
    "Reference",
    "Reference1",
    "Reference2",
    "BaseReference",
    "WarehouseCode",
    "PriceListNo",
    "FormatCode",
    "JdtNum",
];

fn indexable(prop: &str) -> bool {
    INDEXED.contains(&prop) || prop.starts_with("U_")
}

/// One index: hash of the compared value → keys of the entities with that value.
#[derive(Debug, Clone)]
struct PropIndex {
    /// Entity type the values were compared as.
    ty: &'static str,
    by_value: HashMap<u64, Vec<Key>>,
}

impl PropIndex {
    fn add(&mut self, prop: &str, key: &Key, e: &Map<String, Value>) {
        let h = value_hash(self.ty, prop, e);
        self.by_value.entry(h).or_default().push(key.clone());
    }

    fn drop_key(&mut self, prop: &str, key: &Key, e: &Map<String, Value>) {
        let h = value_hash(self.ty, prop, e);
        if let Some(keys) = self.by_value.get_mut(&h) {
            if let Some(i) = keys.iter().position(|k| k == key) {
                keys.swap_remove(i);
            }
            if keys.is_empty() {
                self.by_value.remove(&h);
            }
        }
    }
}

/// The indexes of every set.
#[derive(Debug, Clone, Default)]
pub struct Indexes {
    sets: HashMap<&'static str, HashMap<String, PropIndex>>,
}

impl Indexes {
    /// Whether `set` has any index (a write then needs the entity it replaces).
    pub fn covers(&self, set: &str) -> bool {
        self.sets.get(set).is_some_and(|m| !m.is_empty())
    }

    /// Keeps the indexes of `set` in step with one write: `key` held `old` and now holds `new`.
    pub fn update(
        &mut self,
        set: &str,
        key: &Key,
        old: Option<&Map<String, Value>>,
        new: Option<&Map<String, Value>>,
    ) {
        let Some(props) = self.sets.get_mut(set) else {
            return;
        };
        for (prop, idx) in props.iter_mut() {
            if let Some(o) = old {
                idx.drop_key(prop, key, o);
            }
            if let Some(n) = new {
                idx.add(prop, key, n);
            }
        }
    }

    /// Builds the indexes `expr` needs on `set` that do not exist yet, from `entities` (every
    /// entity of the set; called only when something is missing).
    pub fn prepare<'a, I>(&mut self, set: &'static str, ty: &'static str, expr: &Expr, entities: I)
    where
        I: FnOnce() -> Box<dyn Iterator<Item = (Key, Map<String, Value>)> + 'a>,
    {
        let mut wanted = Vec::new();
        if !plan(ty, expr, &mut wanted) {
            return;
        }
        let have = self.sets.entry(set).or_default();
        wanted.retain(|p| !have.contains_key(*p));
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return;
        }
        let mut fresh: Vec<(String, PropIndex)> = wanted
            .iter()
            .map(|p| {
                let idx = PropIndex {
                    ty,
                    by_value: HashMap::new(),
                };
                ((*p).to_string(), idx)
            })
            .collect();
        for (k, e) in entities() {
            for (p, idx) in &mut fresh {
                idx.add(p, &k, &e);
            }
        }
        have.extend(fresh);
    }

    /// The keys of every entity of `set` that may match `expr`, in key order, when the
    /// indexes answer it (after [`Indexes::prepare`]); `None` when only a scan can.
    pub fn candidates(&self, set: &str, ty: &str, expr: &Expr) -> Option<Vec<Key>> {
        let props = self.sets.get(set)?;
        let mut keys = Vec::new();
        collect(props, ty, expr, &mut keys)?;
        keys.sort_unstable();
        keys.dedup();
        Some(keys)
    }
}

/// Whether `expr` can be answered from indexes: an indexable equality, an `or` of such, an
/// `and` with one such side. Pushes the properties it would use.
fn plan<'e>(ty: &str, expr: &'e Expr, out: &mut Vec<&'e str>) -> bool {
    match expr {
        Expr::Cmp(..) => match equality(ty, expr) {
            Some((p, _)) if indexable(p) => {
                out.push(p);
                true
            }
            _ => false,
        },
        Expr::Or(a, b) => plan(ty, a, out) && plan(ty, b, out),
        Expr::And(a, b) => {
            let mark = out.len();
            if plan(ty, a, out) {
                return true;
            }
            out.truncate(mark);
            plan(ty, b, out)
        }
        Expr::Not(_) | Expr::Func(..) => false,
    }
}

fn collect(
    props: &HashMap<String, PropIndex>,
    ty: &str,
    expr: &Expr,
    out: &mut Vec<Key>,
) -> Option<()> {
    match expr {
        Expr::Cmp(..) => {
            let (p, h) = equality(ty, expr)?;
            let idx = props.get(p)?;
            out.extend(idx.by_value.get(&h).into_iter().flatten().cloned());
            Some(())
        }
        Expr::Or(a, b) => {
            collect(props, ty, a, out)?;
            collect(props, ty, b, out)
        }
        Expr::And(a, b) => {
            let mark = out.len();
            if collect(props, ty, a, out).is_some() {
                return Some(());
            }
            out.truncate(mark);
            collect(props, ty, b, out)
        }
        Expr::Not(_) | Expr::Func(..) => None,
    }
}
