//! Orders across marketplaces and both fulfilment channels, with the tax of the buyer's
//! jurisdiction split between what Amazon collects and what the seller collects.

use chrono::{DateTime, Duration, Utc};
use rand::RngExt;
use rand::rngs::StdRng;
use rust_decimal::Decimal;

use super::{Channel, Marketplace, Product, World, WorldKind, digits, round2};

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

/// A tax amount and the part of it Amazon collects (as marketplace facilitator / deemed supplier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tax {
    /// The whole tax.
    pub total: Decimal,
    /// The part Amazon withholds and remits.
    pub withheld: Decimal,
}

impl Tax {
    /// The part the seller collects and owes.
    pub fn seller(&self) -> Decimal {
        self.total - self.withheld
    }
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
    /// Item price (unit price x quantity): VAT-inclusive where prices include tax, else before tax.
    pub item_price: Decimal,
    /// Tax on `item_price` (the VAT part of it, or the sales tax added to it).
    pub item_tax: Decimal,
    /// Part of `item_tax` Amazon collects.
    pub item_tax_withheld: Decimal,
    /// Shipping charged (same tax basis as `item_price`).
    pub shipping: Decimal,
    /// Tax on `shipping`.
    pub shipping_tax: Decimal,
    /// Part of `shipping_tax` Amazon collects.
    pub shipping_tax_withheld: Decimal,
    /// Seller-funded promotion discount (positive), same tax basis as `item_price`.
    pub promotion: Decimal,
    /// Tax on the promotion (the tax the discount takes off).
    pub promotion_tax: Decimal,
    /// Part of `promotion_tax` that reduces what Amazon collects.
    pub promotion_tax_withheld: Decimal,
    /// Promotion id when `promotion` > 0.
    pub promotion_id: Option<String>,
    /// SAP tax code for the seller's invoice line (`MPF`, `HST13`, `O1`, `OS`...).
    pub tax_code: &'static str,
    /// Rate of the tax the seller collects, in percent (the rate of `tax_code`).
    pub seller_rate: Decimal,
}

impl OrderItem {
    /// Tax of the line after the promotion.
    pub fn net_tax(&self) -> Tax {
        Tax {
            total: self.item_tax + self.shipping_tax - self.promotion_tax,
            withheld: self.item_tax_withheld + self.shipping_tax_withheld
                - self.promotion_tax_withheld,
        }
    }
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
    /// Where the buyer is taxed (`WA`, `ON`, `DE`...).
    pub jurisdiction: &'static str,
    /// Whether item prices include the tax (VAT marketplaces).
    pub prices_include_tax: bool,
    /// Lines.
    pub items: Vec<OrderItem>,
}

impl Order {
    /// Currency of the order.
    pub fn currency<'a>(&self, world: &'a World) -> &'a str {
        world.marketplaces[self.marketplace].currency
    }

    /// What the buyer pays (the Orders API's order total).
    pub fn total(&self) -> Decimal {
        self.items
            .iter()
            .map(|i| {
                let before_tax = i.item_price + i.shipping - i.promotion;
                if self.prices_include_tax {
                    before_tax
                } else {
                    before_tax + i.net_tax().total
                }
            })
            .sum()
    }

    /// Tax of the whole order after promotions.
    pub fn tax(&self) -> Tax {
        self.items.iter().fold(Tax::default(), |a, i| {
            let t = i.net_tax();
            Tax {
                total: a.total + t.total,
                withheld: a.withheld + t.withheld,
            }
        })
    }
}

/// The tax on `amount` at the facilitator's rate `f` and the seller's rate `s` (percent): the
/// VAT part of a tax-inclusive amount, or the tax added to a tax-exclusive one.
fn tax_of(amount: Decimal, f: Decimal, s: Decimal, inclusive: bool) -> Tax {
    if amount.is_zero() {
        return Tax::default();
    }
    if inclusive {
        let r = f + s;
        let total = round2(amount * r / (Decimal::ONE_HUNDRED + r));
        let withheld = if r.is_zero() {
            Decimal::ZERO
        } else {
            round2(total * f / r)
        };
        Tax { total, withheld }
    } else {
        let withheld = round2(amount * f / Decimal::ONE_HUNDRED);
        let seller = round2(amount * s / Decimal::ONE_HUNDRED);
        Tax {
            total: withheld + seller,
            withheld,
        }
    }
}

/// One random order purchased at `purchased`, as seen at `anchor`.
pub(super) fn make_order(
    rng: &mut StdRng,
    kind: WorldKind,
    marketplaces: &[Marketplace],
    catalog: &[Product],
    purchased: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> Order {
    let shares = kind.order_shares();
    let roll = rng.random_range(0..100u32);
    let mi = if roll < shares[0] {
        0
    } else if roll < shares[0] + shares[1] {
        1
    } else {
        2
    };
    let m = &marketplaces[mi];
    let place = m.jurisdiction_at(rng.random_range(0..m.total_weight()));
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
        let quantity = if rng.random_bool(0.15) {
            rng.random_range(2..4)
        } else {
            1
        };
        let item_price = p.price(mi) * Decimal::from(quantity);
        let (f, s) = (
            place.facilitator_rate(p.reduced),
            place.seller_rate(p.reduced),
        );
        let tax = |a: Decimal| tax_of(a, f, s, m.prices_include_tax);
        let shipping = if channel == Channel::Mfn && k == 0 && rng.random_bool(0.4) {
            m.shipping_charge()
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
        let (it, sh, pr) = (tax(item_price), tax(shipping), tax(promotion));
        items.push(OrderItem {
            order_item_id: digits(rng, 14),
            product: pi,
            quantity,
            item_price,
            item_tax: it.total,
            item_tax_withheld: it.withheld,
            shipping,
            shipping_tax: sh.total,
            shipping_tax_withheld: sh.withheld,
            promotion,
            promotion_tax: pr.total,
            promotion_tax_withheld: pr.withheld,
            promotion_id,
            tax_code: place.tax_code[usize::from(p.reduced)],
            seller_rate: s,
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
        jurisdiction: place.code,
        prices_include_tax: m.prices_include_tax,
        items,
    }
}
