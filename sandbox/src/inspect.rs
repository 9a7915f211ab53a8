//! The inspection and control API tests use: read what the connector wrote into SAP, count
//! duplicates, read the fake Amazon catalog, move the clock, inject faults, reset; and the
//! company's books ([`books`]: tax per code, open items, account balances).

pub mod books;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Sandbox;
use crate::amazon::listings::Listing;
use crate::faults::FaultRule;
use crate::sap::store::Key;
use crate::world::World;
use crate::world::settlement::to_flat_file_v2;

/// SP-API calls of one operation that passed authentication.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpApiCalls {
    /// Served (a token was taken from the operation's bucket).
    pub accepted: u64,
    /// Answered 429 `QuotaExceeded` because the bucket was empty (injected
    /// [`FaultKind::QuotaExceeded`](crate::faults::FaultKind::QuotaExceeded) is not counted).
    pub throttled: u64,
}

/// Requests the fakes received, so benchmarks and tests can count API calls per order and 429s.
#[derive(Debug, Default)]
pub(crate) struct RequestCounts {
    sp_api: Mutex<BTreeMap<&'static str, SpApiCalls>>,
    sap: Mutex<BTreeMap<String, u64>>,
}

impl RequestCounts {
    /// Counts an SP-API call of `operation` after the bucket decided.
    pub(crate) fn sp_api(&self, operation: &'static str, accepted: bool) {
        let mut map = self.sp_api.lock().expect("request counts");
        let calls = map.entry(operation).or_default();
        if accepted {
            calls.accepted += 1;
        } else {
            calls.throttled += 1;
        }
    }

    /// Counts a Service Layer request as `METHOD Resource` (`POST Invoices`, `GET Items`,
    /// `POST $batch`): the path after `/b1s/vN/` up to the first `(`, `/` or `?`.
    pub(crate) fn sap(&self, method: &str, rest: &str) {
        let resource = rest.split(['(', '/', '?']).next().unwrap_or_default();
        *self
            .sap
            .lock()
            .expect("request counts")
            .entry(format!("{method} {resource}"))
            .or_default() += 1;
    }

    fn clear(&self) {
        self.sp_api.lock().expect("request counts").clear();
        self.sap.lock().expect("request counts").clear();
    }
}

impl Sandbox {
    /// SP-API calls per operation id (`searchOrders`, `getReportDocument`, …) since start or the
    /// last [`Sandbox::reset_request_counts`]: served and throttled. LWA token calls and report
    /// document downloads are not SP-API operations and are not counted.
    pub fn sp_api_calls(&self) -> BTreeMap<String, SpApiCalls> {
        self.shared
            .requests
            .sp_api
            .lock()
            .expect("request counts")
            .iter()
            .map(|(op, calls)| ((*op).to_string(), *calls))
            .collect()
    }

    /// Service Layer requests per `METHOD Resource` (`POST Login`, `GET Items`, `POST Invoices`,
    /// `POST $batch`) that came with a valid session, plus logins.
    pub fn sap_requests(&self) -> BTreeMap<String, u64> {
        self.shared
            .requests
            .sap
            .lock()
            .expect("request counts")
            .clone()
    }

    /// Sets every request counter back to zero.
    pub fn reset_request_counts(&self) {
        self.shared.requests.clear();
    }

    /// Every entity of a Service Layer set (stored form: dates `YYYY-MM-DD`).
    pub fn sap_entities(&self, set: &str) -> Vec<Value> {
        let db = self.shared.sap.db.lock().expect("db");
        db.all(set)
            .map(|(_, e)| Value::Object(e.into_owned()))
            .collect()
    }

    /// Calls `f` with every entity of a Service Layer set in key order (stored form), one at a
    /// time: what [`Sandbox::sap_entities`] gives without holding the whole set as values at
    /// once (a big world's invoices).
    pub fn sap_for_each(&self, set: &str, mut f: impl FnMut(&serde_json::Map<String, Value>)) {
        let db = self.shared.sap.db.lock().expect("db");
        for (_, e) in db.all(set) {
            f(&e);
        }
    }

    /// One entity by key (`Key::Int(doc_entry)` or `Key::Str(code)`).
    pub fn sap_entity(&self, set: &str, key: &Key) -> Option<Value> {
        self.shared
            .sap
            .db
            .lock()
            .expect("db")
            .get(set, key)
            .map(|e| Value::Object(e.into_owned()))
    }

    /// Documents of a set whose `NumAtCard` equals `num_at_card`.
    pub fn sap_by_num_at_card(&self, set: &str, num_at_card: &str) -> Vec<Value> {
        self.sap_entities(set)
            .into_iter()
            .filter(|e| e.get("NumAtCard").and_then(Value::as_str) == Some(num_at_card))
            .collect()
    }

    /// Bytes the entities of a set hold in their packed stored form (0 for sets kept as maps).
    pub fn sap_stored_bytes(&self, set: &str) -> usize {
        self.shared.sap.db.lock().expect("db").packed_bytes(set)
    }

    /// Number of entities in a set.
    pub fn sap_count(&self, set: &str) -> usize {
        self.shared.sap.db.lock().expect("db").count(set)
    }

    /// Values of `field` that occur more than once in `set`, with their counts (e.g.
    /// `("Invoices", "NumAtCard")` or `("JournalEntries", "Reference")`).
    pub fn sap_duplicates(&self, set: &str, field: &str) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        self.sap_for_each(set, |e| {
            if let Some(v) = e
                .get(field)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                *counts.entry(v.to_string()).or_default() += 1;
            }
        });
        counts.into_iter().filter(|(_, n)| *n > 1).collect()
    }

    /// Number of live Service Layer sessions.
    pub fn sap_session_count(&self) -> usize {
        self.shared.sap.sessions.count()
    }

    /// Expires every Service Layer session (next call gets 401 / 301).
    pub fn expire_sap_sessions(&self) {
        self.shared.sap.sessions.expire_all();
    }

    /// Sets `InStock` of an item in a warehouse, like a stock movement (Items.UpdateDate unchanged).
    pub fn set_item_stock(&self, item_code: &str, warehouse: &str, in_stock: i64) -> bool {
        let mut db = self.shared.sap.db.lock().expect("db");
        let key = Key::Str(item_code.to_string());
        let Some(mut item) = db.master("Items", &key).cloned() else {
            return false;
        };
        let Some(rows) = item
            .get_mut("ItemWarehouseInfoCollection")
            .and_then(Value::as_array_mut)
        else {
            return false;
        };
        let Some(row) = rows
            .iter_mut()
            .find(|r| r.get("WarehouseCode").and_then(Value::as_str) == Some(warehouse))
        else {
            return false;
        };
        row["InStock"] = Value::from(in_stock);
        crate::sap::entities::refresh_item_totals(&mut item);
        db.put(
            "Items",
            key,
            item,
            &mut crate::sap::store::UndoLog::default(),
        );
        true
    }

    /// The fake Amazon catalog.
    pub fn catalog(&self) -> Vec<Listing> {
        let mut catalog = self.shared.amazon.catalog.lock().expect("catalog");
        catalog.settle(self.shared.clock.now());
        catalog.listings.clone()
    }

    /// One listing.
    pub fn listing(&self, sku: &str, marketplace_id: &str) -> Option<Listing> {
        self.catalog()
            .into_iter()
            .find(|l| l.sku == sku && l.marketplace_id == marketplace_id)
    }

    /// Adds (or replaces) a listing in the fake Amazon catalog, e.g. a SKU the generated world
    /// does not have (slashes, other marketplaces).
    pub fn add_listing(&self, listing: Listing) {
        let mut catalog = self.shared.amazon.catalog.lock().expect("catalog");
        catalog
            .listings
            .retain(|l| !(l.sku == listing.sku && l.marketplace_id == listing.marketplace_id));
        catalog.listings.push(listing);
    }

    /// The generated world.
    pub fn world(&self) -> Arc<World> {
        self.shared.world()
    }

    /// Adds `n` new orders purchased in the last hour of sandbox time (not settled); returns their ids.
    pub fn add_orders(&self, n: usize) -> Vec<String> {
        let now = self.now();
        let salt = self.shared.next_counter();
        let mut guard = self.shared.world.write().expect("world lock");
        let mut w = (**guard).clone();
        let before = w.orders.len();
        w.add_orders(n, now, salt);
        self.shared.order_additions.lock().expect("additions").push(
            crate::state_file::OrderAddition {
                count: n,
                now,
                salt,
            },
        );
        let ids = w.orders[before..].iter().map(|o| o.id.clone()).collect();
        *guard = Arc::new(w);
        ids
    }

    /// Moves an order to `status` at `at` (its `lastUpdatedTime`; a shipped order ships then),
    /// e.g. an unshipped order the buyer cancels; `false` when there is no such order. Not kept
    /// in a state file. Amazon's Orders API reports the change as the order's new
    /// `fulfillmentStatus` with a later `lastUpdatedTime` ("The most recent time when any aspect
    /// of this order was modified", model `Order.lastUpdatedTime`).
    pub fn set_order_status(
        &self,
        id: &str,
        status: crate::world::OrderStatus,
        at: DateTime<Utc>,
    ) -> bool {
        let mut guard = self.shared.world.write().expect("world lock");
        let mut w = (**guard).clone();
        let Some(o) = w.orders.iter_mut().find(|o| o.id == id) else {
            return false;
        };
        o.status = status;
        o.last_updated = at;
        o.shipped = (status == crate::world::OrderStatus::Shipped).then_some(at);
        *guard = Arc::new(w);
        true
    }

    /// Records an event of an Amazon-fulfilled SKU's FBA stock now (see
    /// [`World::add_fba_event`]); `false` when the SKU is not Amazon-fulfilled. Not kept in a
    /// state file.
    pub fn add_fba_event(
        &self,
        sku: &str,
        kind: crate::world::fba::FbaEventKind,
        quantity: u32,
    ) -> bool {
        let mut guard = self.shared.world.write().expect("world lock");
        let mut w = (**guard).clone();
        let added = w.add_fba_event(sku, kind, quantity);
        *guard = Arc::new(w);
        added
    }

    /// The V2 flat file of a settlement (what the report document holds, before gzip).
    pub fn settlement_file(&self, settlement_id: &str) -> Option<String> {
        let w = self.shared.world();
        w.settlements
            .iter()
            .find(|s| s.id == settlement_id)
            .map(|s| to_flat_file_v2(&w, s))
    }

    /// The sandbox time.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Moves the sandbox time forward (token expiry, session idle timeout, settlements closing).
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.shared.clock.advance(by);
    }

    /// Makes the LWA refresh token answer `invalid_grant` (the seller revoked the app).
    pub fn revoke_refresh_token(&self) {
        *self.shared.amazon.revoked.lock().expect("revoked") = true;
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        self.shared.faults.add(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Back to the initial state: same world, fresh SAP company and catalog, no sessions, tokens
    /// or faults, clock offset dropped. A restored sandbox goes back to its world's initial state,
    /// not to what the state file held (the file changes only when saved).
    pub fn reset(&self) {
        let world = self.shared.world();
        *self.shared.sap.db.lock().expect("db") = crate::world::sap_seed::seed(&world);
        self.shared.sap.sessions.expire_all();
        self.shared.amazon.reset(&world);
        self.shared.faults.clear();
        self.shared.requests.clear();
        self.shared.clock.reset_offset();
    }
}
