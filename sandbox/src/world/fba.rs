//! Amazon's FBA stock per SKU: what the world's fulfilment-network ledger holds for each
//! Amazon-fulfilled SKU, moving with FBA orders (shipped units leave, pending ones are reserved)
//! and with the network's own events (inbound shipments received or still in transit, customer
//! returns to sellable or unsellable stock, units lost). SAP's `FBA` warehouse starts at each
//! product's `stock` and moves only with what the seller books, so the two drift apart.
//!
//! The quantities are those of FBA Inventory v1 `InventoryDetails` (fbaInventory.json):
//! fulfillable, inbound shipped, reserved (`pendingCustomerOrderQuantity`), unfulfillable
//! (`customerDamagedQuantity`).

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Channel, OrderStatus, World};

/// Something that happened to a SKU in Amazon's network besides an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FbaEventKind {
    /// An inbound shipment was received: sellable units arrive.
    Received,
    /// An inbound shipment is on its way (not yet at Amazon).
    InTransit,
    /// A customer return went back to sellable stock.
    Returned,
    /// A customer return was damaged: unsellable stock.
    ReturnedDamaged,
    /// Units Amazon lost (reimbursed in the settlement).
    Lost,
    /// Unsellable units disposed of (or removed) at the seller's request.
    Disposed,
}

/// One event of a SKU's FBA stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FbaEvent {
    /// Index into the catalog.
    pub product: usize,
    /// What happened.
    pub kind: FbaEventKind,
    /// Units.
    pub quantity: u32,
}

/// The world's FBA events, from their own generator (seeded from the world's seed, so adding
/// them leaves every other seeded value as it was).
pub(crate) fn generate(world: &World) -> Vec<FbaEvent> {
    let mut rng = StdRng::seed_from_u64(world.seed ^ 0xFBA0_0000_0000_0023);
    let mut events = Vec::new();
    for (i, p) in world.catalog.iter().enumerate() {
        if p.channel != Channel::Afn || !rng.random_bool(0.4) {
            continue;
        }
        let (kind, quantity) = match rng.random_range(0..5) {
            0 => (FbaEventKind::Received, rng.random_range(5..40)),
            1 => (FbaEventKind::InTransit, rng.random_range(5..40)),
            2 => (FbaEventKind::Returned, rng.random_range(1..4)),
            3 => (FbaEventKind::ReturnedDamaged, rng.random_range(1..4)),
            _ => (FbaEventKind::Lost, rng.random_range(1..4)),
        };
        events.push(FbaEvent {
            product: i,
            kind,
            quantity,
        });
    }
    events
}

/// One SKU's FBA stock by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FbaStock {
    /// Sellable.
    pub fulfillable: i64,
    /// Reserved for customer orders not shipped yet.
    pub reserved: i64,
    /// Unsellable (damaged returns).
    pub unfulfillable: i64,
    /// In inbound shipments not received yet.
    pub inbound_shipped: i64,
}

impl FbaStock {
    /// Units in Amazon's fulfilment centres (everything but inbound).
    pub fn on_hand(&self) -> i64 {
        self.fulfillable + self.reserved + self.unfulfillable
    }
}

/// FBA stock per Amazon-fulfilled SKU: the product's opening `stock`, less units of shipped FBA
/// orders, with pending ones reserved, plus the network's events. Sellable stock never goes
/// below 0 (an order beyond it would not have been accepted).
pub fn fba_stock(world: &World) -> BTreeMap<String, FbaStock> {
    let mut out: BTreeMap<usize, FbaStock> = world
        .catalog
        .iter()
        .enumerate()
        .filter(|(_, p)| p.channel == Channel::Afn)
        .map(|(i, p)| {
            (
                i,
                FbaStock {
                    fulfillable: p.stock,
                    ..FbaStock::default()
                },
            )
        })
        .collect();
    for o in world.orders.iter().filter(|o| o.channel == Channel::Afn) {
        for it in &o.items {
            let Some(s) = out.get_mut(&it.product) else {
                continue;
            };
            let q = i64::from(it.quantity);
            match o.status {
                OrderStatus::Shipped => s.fulfillable -= q,
                OrderStatus::Pending | OrderStatus::Unshipped => {
                    s.fulfillable -= q;
                    s.reserved += q;
                }
                OrderStatus::Canceled => {}
            }
        }
    }
    for e in &world.fba_events {
        let Some(s) = out.get_mut(&e.product) else {
            continue;
        };
        let q = i64::from(e.quantity);
        match e.kind {
            FbaEventKind::Received | FbaEventKind::Returned => s.fulfillable += q,
            FbaEventKind::InTransit => s.inbound_shipped += q,
            FbaEventKind::ReturnedDamaged => s.unfulfillable += q,
            FbaEventKind::Lost => s.fulfillable -= q,
            FbaEventKind::Disposed => s.unfulfillable -= q,
        }
    }
    out.into_iter()
        .map(|(i, mut s)| {
            s.fulfillable = s.fulfillable.max(0);
            s.unfulfillable = s.unfulfillable.max(0);
            (world.catalog[i].sku.clone(), s)
        })
        .collect()
}

impl World {
    /// Records an event of an Amazon-fulfilled SKU's FBA stock (an inbound shipment received, a
    /// return, units lost or disposed of); `false` when `sku` is not an Amazon-fulfilled product.
    pub fn add_fba_event(&mut self, sku: &str, kind: FbaEventKind, quantity: u32) -> bool {
        let Some(product) = self
            .catalog
            .iter()
            .position(|p| p.sku == sku && p.channel == Channel::Afn)
        else {
            return false;
        };
        self.fba_events.push(FbaEvent {
            product,
            kind,
            quantity,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::world::WorldKind;

    #[test]
    fn events_added_at_run_time_move_the_skus_stock_both_ways() {
        let anchor = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let mut w = World::generate(WorldKind::Na, 7, 100, anchor);
        let stock = fba_stock(&w);
        let sku = stock
            .iter()
            .find(|(_, s)| s.fulfillable > 0)
            .unwrap()
            .0
            .clone();
        let mfn = w
            .catalog
            .iter()
            .find(|p| p.channel != Channel::Afn)
            .unwrap()
            .sku
            .clone();
        let before = fba_stock(&w)[&sku];
        assert!(
            !w.add_fba_event(&mfn, FbaEventKind::Lost, 1),
            "merchant SKU"
        );
        assert!(w.add_fba_event(&sku, FbaEventKind::Received, 5));
        assert_eq!(fba_stock(&w)[&sku].fulfillable, before.fulfillable + 5);
        assert!(w.add_fba_event(&sku, FbaEventKind::Lost, 2));
        assert_eq!(fba_stock(&w)[&sku].on_hand(), before.on_hand() + 3);
        assert!(w.add_fba_event(&sku, FbaEventKind::ReturnedDamaged, 2));
        assert!(w.add_fba_event(&sku, FbaEventKind::Disposed, 9));
        let after = fba_stock(&w)[&sku];
        assert_eq!(after.unfulfillable, 0, "disposed of, never below zero");
        assert_eq!(after.fulfillable, before.fulfillable + 3);
    }
}
