//! The seeded world: a catalog (SKUs mapped to SAP ItemCodes), customers per marketplace, orders
//! across marketplaces and both fulfilment channels, the settlements that pay them, and the SAP
//! company that books them. Two worlds ([`WorldKind`]): a US seller in the North America account
//! (`na`, the default) and a UK seller in the EU account (`eu`).
//!
//! Layout: `marketplaces` (marketplaces, tax jurisdictions, [`WorldKind`]), `catalog`, `orders`,
//! `settlement` (periods, rows, the V2 flat file), `fba` (Amazon's FBA stock per SKU), `rates` (daily exchange rates), `sap_seed` and
//! `sap_company` (the SAP company of the world).

pub mod catalog;
pub mod converter;
pub mod fba;
pub mod marketplaces;
pub mod orders;
pub mod rates;
pub mod sap_company;
pub mod sap_seed;
pub mod settlement;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};

pub use catalog::{Channel, Product};
pub use marketplaces::{DateStyle, Jurisdiction, Marketplace, WorldKind, marketplaces};
pub use orders::{Order, OrderItem, OrderStatus, Tax};
pub use settlement::{Row, Settlement};

/// The whole generated world.
#[derive(Debug, Clone)]
pub struct World {
    /// Which seller this is.
    pub kind: WorldKind,
    /// Seed it was generated from.
    pub seed: u64,
    /// Merchant token.
    pub seller_id: String,
    /// The instant the world is anchored at (orders are before it).
    pub anchor: DateTime<Utc>,
    /// Marketplaces.
    pub marketplaces: Vec<Marketplace>,
    /// Catalog.
    pub catalog: Vec<Product>,
    /// Orders, oldest first.
    pub orders: Vec<Order>,
    /// Settlements, oldest first (the last ones per marketplace are still open at `anchor`).
    pub settlements: Vec<Settlement>,
    /// Events of Amazon's fulfilment network besides orders (see [`fba`]).
    pub fba_events: Vec<fba::FbaEvent>,
}

/// Rounds money to cents, half away from zero.
pub fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A random amount in cents between `lo` and `hi` (whole units).
pub(crate) fn money(rng: &mut StdRng, lo: i64, hi: i64) -> Decimal {
    Decimal::new(rng.random_range(lo * 100..hi * 100), 2)
}

/// Days of history the world covers.
pub const HISTORY_DAYS: i64 = 42;

pub(crate) fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

impl World {
    /// Generates a world of `kind` with `orders` orders from `seed`, anchored at `anchor`.
    pub fn generate(kind: WorldKind, seed: u64, orders: usize, anchor: DateTime<Utc>) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let marketplaces = marketplaces(kind);
        let n_products = (orders / 10).clamp(10, 2000);
        let catalog = catalog::generate(&mut rng, n_products, &marketplaces);
        let start = anchor - Duration::days(HISTORY_DAYS);
        let span = (anchor - start).num_seconds();
        let mut times: Vec<i64> = (0..orders)
            .map(|_| rng.random_range(0..span - 600))
            .collect();
        times.sort_unstable();
        let mut list = Vec::with_capacity(orders);
        for t in times {
            list.push(orders::make_order(
                &mut rng,
                kind,
                &marketplaces,
                &catalog,
                start + Duration::seconds(t),
                anchor,
            ));
        }
        let mut world = World {
            kind,
            seed,
            seller_id: format!("A{}SANDBOX", digits(&mut rng, 6)),
            anchor,
            marketplaces,
            catalog,
            orders: list,
            settlements: vec![],
            fba_events: vec![],
        };
        world.settlements = settlement::generate(&world, &mut rng);
        world.fba_events = fba::generate(&world);
        world
    }

    /// Appends `n` orders purchased in the hour before `now` (seeded by `salt`), for tests of
    /// incremental polling. They are not part of any settlement.
    pub fn add_orders(&mut self, n: usize, now: DateTime<Utc>, salt: u64) {
        let mut rng = StdRng::seed_from_u64(self.seed ^ salt.rotate_left(17) ^ 0x0DE5);
        let mut times: Vec<i64> = (0..n).map(|_| rng.random_range(180..3600)).collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        for t in times {
            let o = orders::make_order(
                &mut rng,
                self.kind,
                &self.marketplaces,
                &self.catalog,
                now - Duration::seconds(t),
                now,
            );
            self.orders.push(o);
        }
    }

    /// SKUs whose SAP ItemCode differs (the mapping the connector must be configured with).
    pub fn sku_mappings(&self) -> Vec<(String, String)> {
        self.catalog
            .iter()
            .filter(|p| p.sku != p.item_code)
            .map(|p| (p.sku.clone(), p.item_code.clone()))
            .collect()
    }

    /// The marketplace with this id.
    pub fn marketplace(&self, id: &str) -> Option<usize> {
        self.marketplaces.iter().position(|m| m.id == id)
    }

    /// Local units per one unit of `currency` (ISO) on `date` for the world's company; `None` for
    /// its local currency.
    pub fn exchange_rate(&self, currency: &str, date: chrono::NaiveDate) -> Option<Decimal> {
        rates::exchange_rate(self.kind, currency, date)
    }
}
