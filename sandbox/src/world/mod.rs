//! The seeded world: a catalog (SKUs mapped to SAP ItemCodes), customers per marketplace, orders
//! across marketplaces and both fulfilment channels, and the settlements that pay them.

pub mod sap_seed;
pub mod settlement;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};

pub use settlement::{Row, Settlement};

/// A marketplace the seller sells on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marketplace {
    /// Marketplace id (`A1PA6795UKMFR9`).
    pub id: &'static str,
    /// Country code (`DE`).
    pub code: &'static str,
    /// `Amazon.de`.
    pub name: &'static str,
    /// Settlement currency.
    pub currency: &'static str,
    /// VAT rate in percent.
    pub vat_rate: Decimal,
    /// SAP tax code for that rate.
    pub tax_code: &'static str,
    /// SAP customer (BP) that stands for the marketplace.
    pub customer: &'static str,
    /// Whether settlement amounts use a decimal comma (EUR files) or a point (GBP files).
    pub decimal_comma: bool,
    /// Whether Amazon withholds the VAT as marketplace facilitator.
    pub facilitator_vat: bool,
    /// Order id prefixes.
    pub order_prefixes: &'static [&'static str],
}

/// The marketplaces of the fake seller (EU unified account).
pub fn marketplaces() -> Vec<Marketplace> {
    vec![
        Marketplace {
            id: "A1PA6795UKMFR9",
            code: "DE",
            name: "Amazon.de",
            currency: "EUR",
            vat_rate: Decimal::from(19),
            tax_code: "DE19",
            customer: "C-AMZ-DE",
            decimal_comma: true,
            facilitator_vat: true,
            order_prefixes: &["028", "302", "303", "304", "305", "306"],
        },
        Marketplace {
            id: "A13V1IB3VIYZZH",
            code: "FR",
            name: "Amazon.fr",
            currency: "EUR",
            vat_rate: Decimal::from(20),
            tax_code: "FR20",
            customer: "C-AMZ-FR",
            decimal_comma: true,
            facilitator_vat: true,
            order_prefixes: &["171", "402", "403", "404", "405", "406"],
        },
        Marketplace {
            id: "A1F83G8C2ARO7P",
            code: "UK",
            name: "Amazon.co.uk",
            currency: "GBP",
            vat_rate: Decimal::from(20),
            tax_code: "UK20",
            customer: "C-AMZ-UK",
            decimal_comma: false,
            facilitator_vat: false,
            order_prefixes: &["202", "203", "204", "205", "206"],
        },
    ]
}

/// Fulfilment channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Fulfilled by Amazon.
    Afn,
    /// Fulfilled by the merchant.
    Mfn,
}

impl Channel {
    /// `AFN` / `MFN`.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Afn => "AFN",
            Channel::Mfn => "MFN",
        }
    }
}

/// One catalog entry (a seller SKU).
#[derive(Debug, Clone)]
pub struct Product {
    /// Seller SKU on Amazon.
    pub sku: String,
    /// SAP ItemCode (equal to the SKU unless a mapping is needed).
    pub item_code: String,
    /// ASIN.
    pub asin: String,
    /// Title.
    pub title: String,
    /// Fulfilment channel of the offer.
    pub channel: Channel,
    /// VAT-inclusive price in EUR (DE, FR).
    pub price_eur: Decimal,
    /// VAT-inclusive price in GBP (UK).
    pub price_gbp: Decimal,
    /// Units in stock in SAP warehouse `01` (MFN) or `FBA` (AFN).
    pub stock: i64,
}

/// Order status (v0 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Not yet paid.
    Pending,
    /// Paid, not shipped.
    Unshipped,
    /// Shipped.
    Shipped,
    /// Cancelled.
    Canceled,
}

/// One order line.
#[derive(Debug, Clone)]
pub struct OrderItem {
    /// OrderItemId (14 digits).
    pub order_item_id: String,
    /// Index into the catalog.
    pub product: usize,
    /// Quantity ordered.
    pub quantity: u32,
    /// VAT-inclusive item price (unit price x quantity).
    pub item_price: Decimal,
    /// VAT part of `item_price`.
    pub item_tax: Decimal,
    /// VAT-inclusive shipping charged.
    pub shipping: Decimal,
    /// VAT part of `shipping`.
    pub shipping_tax: Decimal,
    /// Seller-funded promotion discount (positive), VAT-inclusive.
    pub promotion: Decimal,
    /// Promotion id when `promotion` > 0.
    pub promotion_id: Option<String>,
}

/// One order.
#[derive(Debug, Clone)]
pub struct Order {
    /// AmazonOrderId (3-7-7).
    pub id: String,
    /// Index into `World::marketplaces`.
    pub marketplace: usize,
    /// Fulfilment channel.
    pub channel: Channel,
    /// Status.
    pub status: OrderStatus,
    /// Purchase time.
    pub purchased: DateTime<Utc>,
    /// Last update time.
    pub last_updated: DateTime<Utc>,
    /// Shipment time (shipped orders).
    pub shipped: Option<DateTime<Utc>>,
    /// Shipment id used in settlements.
    pub shipment_id: String,
    /// Refund time, if the order was refunded.
    pub refunded: Option<DateTime<Utc>>,
    /// Lines.
    pub items: Vec<OrderItem>,
}

impl Order {
    /// Currency of the order.
    pub fn currency<'a>(&self, world: &'a World) -> &'a str {
        world.marketplaces[self.marketplace].currency
    }

    /// Sum of what the buyer pays.
    pub fn total(&self) -> Decimal {
        self.items
            .iter()
            .map(|i| i.item_price + i.shipping - i.promotion)
            .sum()
    }
}

/// The whole generated world.
#[derive(Debug, Clone)]
pub struct World {
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
}

/// Rounds money to cents, half away from zero.
pub fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A random amount in cents between `lo` and `hi` (whole units).
fn money(rng: &mut StdRng, lo: i64, hi: i64) -> Decimal {
    Decimal::new(rng.random_range(lo * 100..hi * 100), 2)
}

/// Days of history the world covers.
pub const HISTORY_DAYS: i64 = 42;

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

fn catalog(rng: &mut StdRng, n: usize) -> Vec<Product> {
    const NOUNS: &[&str] = &[
        "Mug", "Lamp", "Bottle", "Towel", "Notebook", "Bag", "Cable", "Candle", "Clock", "Scarf",
    ];
    (0..n)
        .map(|i| {
            let noun = NOUNS[i % NOUNS.len()];
            let (sku, item_code) = match i % 10 {
                // SKUs that are SAP ItemCodes with quotes and spaces: every OData literal must escape them.
                7 => {
                    let s = format!("O'Brien {noun} {i:04} 12\" x 8'");
                    (s.clone(), s)
                }
                // SKUs that need a mapping to an ItemCode.
                8 | 9 => (
                    format!("AMZ-{i:05}-{}", &noun[..2].to_uppercase()),
                    format!("ITM{i:05}"),
                ),
                _ => {
                    let s = format!("TM-{}-{i:04}", &noun[..3].to_uppercase());
                    (s.clone(), s)
                }
            };
            let price_eur = money(rng, 9, 150).trunc() + Decimal::new(99, 2);
            let price_gbp = round2(price_eur * Decimal::new(86, 2)).trunc() + Decimal::new(49, 2);
            Product {
                sku,
                item_code,
                asin: format!(
                    "B0{}",
                    (0..8)
                        .map(|_| char::from(
                            b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"[rng.random_range(0..34)]
                        ))
                        .collect::<String>()
                ),
                title: format!("{noun} model {i}"),
                channel: if rng.random_bool(0.55) {
                    Channel::Afn
                } else {
                    Channel::Mfn
                },
                price_eur,
                price_gbp,
                stock: rng.random_range(20..500),
            }
        })
        .collect()
}

/// One random order purchased at `purchased`, as seen at `anchor`.
fn make_order(
    rng: &mut StdRng,
    marketplaces: &[Marketplace],
    catalog: &[Product],
    purchased: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> Order {
    let mi = match rng.random_range(0..100) {
        0..50 => 0,
        50..75 => 1,
        _ => 2,
    };
    let m = &marketplaces[mi];
    let first = rng.random_range(0..catalog.len());
    let channel = catalog[first].channel;
    let n_items = if rng.random_bool(0.2) { 2 } else { 1 };
    let mut items = Vec::new();
    for k in 0..n_items {
        let pi = if k == 0 {
            first
        } else {
            (first + 1 + rng.random_range(0..catalog.len() - 1)) % catalog.len()
        };
        if catalog[pi].channel != channel && k > 0 {
            continue;
        }
        let p = &catalog[pi];
        let unit = if m.currency == "GBP" {
            p.price_gbp
        } else {
            p.price_eur
        };
        let quantity = if rng.random_bool(0.15) {
            rng.random_range(2..4)
        } else {
            1
        };
        let item_price = unit * Decimal::from(quantity);
        let tax_of =
            |gross: Decimal| round2(gross * m.vat_rate / (Decimal::ONE_HUNDRED + m.vat_rate));
        let shipping = if channel == Channel::Mfn && k == 0 && rng.random_bool(0.4) {
            Decimal::new(499, 2)
        } else {
            Decimal::ZERO
        };
        let (promotion, promotion_id) = if rng.random_bool(0.1) {
            (
                round2(item_price * Decimal::new(10, 2)),
                Some(format!("PROMO-{}-{}", m.code, rng.random_range(100..999))),
            )
        } else {
            (Decimal::ZERO, None)
        };
        items.push(OrderItem {
            order_item_id: digits(rng, 14),
            product: pi,
            quantity,
            item_price,
            item_tax: tax_of(item_price),
            shipping,
            shipping_tax: tax_of(shipping),
            promotion,
            promotion_id,
        });
    }
    let age = anchor - purchased;
    let status = if rng.random_bool(0.03) {
        OrderStatus::Canceled
    } else if age < Duration::hours(1) && rng.random_bool(0.5) {
        OrderStatus::Pending
    } else if channel == Channel::Mfn && age < Duration::days(2) && rng.random_bool(0.6) {
        OrderStatus::Unshipped
    } else {
        OrderStatus::Shipped
    };
    let shipped = (status == OrderStatus::Shipped).then(|| {
        let delay = Duration::minutes(rng.random_range(
            30..if channel == Channel::Afn {
                1440
            } else {
                3 * 1440
            },
        ));
        (purchased + delay).min(anchor - Duration::minutes(5))
    });
    let refunded = shipped.and_then(|s| {
        rng.random_bool(0.05)
            .then(|| s + Duration::hours(rng.random_range(24..240)))
    });
    let last_updated = refunded
        .filter(|r| *r < anchor)
        .or(shipped)
        .unwrap_or(purchased + Duration::minutes(2))
        .min(anchor - Duration::minutes(3));
    let prefix = m.order_prefixes[rng.random_range(0..m.order_prefixes.len())];
    Order {
        id: format!("{prefix}-{}-{}", digits(rng, 7), digits(rng, 7)),
        marketplace: mi,
        channel,
        status,
        purchased,
        last_updated,
        shipped,
        shipment_id: format!(
            "U{}",
            (0..9)
                .map(|_| char::from(
                    b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz0123456789"
                        [rng.random_range(0..57)]
                ))
                .collect::<String>()
        ),
        refunded,
        items,
    }
}

impl World {
    /// Generates a world with `orders` orders from `seed`, anchored at `anchor`.
    pub fn generate(seed: u64, orders: usize, anchor: DateTime<Utc>) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let marketplaces = marketplaces();
        let n_products = (orders / 10).clamp(10, 2000);
        let catalog = catalog(&mut rng, n_products);
        let start = anchor - Duration::days(HISTORY_DAYS);
        let span = (anchor - start).num_seconds();
        let mut times: Vec<i64> = (0..orders)
            .map(|_| rng.random_range(0..span - 600))
            .collect();
        times.sort_unstable();
        let mut list = Vec::with_capacity(orders);
        for t in times {
            list.push(make_order(
                &mut rng,
                &marketplaces,
                &catalog,
                start + Duration::seconds(t),
                anchor,
            ));
        }
        let mut world = World {
            seed,
            seller_id: format!("A{}SANDBOX", digits(&mut rng, 6)),
            anchor,
            marketplaces,
            catalog,
            orders: list,
            settlements: vec![],
        };
        world.settlements = settlement::generate(&world, &mut rng);
        world
    }

    /// Appends `n` orders purchased in the hour before `now` (seeded by `salt`), for tests of
    /// incremental polling. They are not part of any settlement.
    pub fn add_orders(&mut self, n: usize, now: DateTime<Utc>, salt: u64) {
        let mut rng = StdRng::seed_from_u64(self.seed ^ salt.rotate_left(17) ^ 0x0DE5);
        let mut times: Vec<i64> = (0..n).map(|_| rng.random_range(180..3600)).collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        for t in times {
            let o = make_order(
                &mut rng,
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
}
