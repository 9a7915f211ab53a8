//! The seller's catalog: SKUs mapped to SAP ItemCodes, a price per marketplace, a tax class.

use rand::RngExt;
use rand::rngs::StdRng;
use rust_decimal::Decimal;

use super::{Marketplace, money};

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
    /// Whether the goods are of the reduced tax class (books: DE 7 %, FR 5.5 %, UK and MX 0 %).
    pub reduced: bool,
    /// Price per marketplace (index of `World::marketplaces`), as Amazon shows it: VAT-inclusive
    /// where the marketplace's prices include tax, before tax elsewhere.
    pub prices: Vec<Decimal>,
    /// The price `amazon/listings.rs` offers on every marketplace not in GBP: the Amazon.de price
    /// in the EU world, the Amazon.com price in the NA world.
    pub price_eur: Decimal,
    /// The price `amazon/listings.rs` offers on GBP marketplaces (the Amazon.co.uk price; equal to
    /// `price_eur` in the NA world, which has none).
    pub price_gbp: Decimal,
    /// Units in stock in SAP warehouse `01` (MFN) or `FBA` (AFN).
    pub stock: i64,
}

impl Product {
    /// The price on marketplace `marketplace` (index of `World::marketplaces`).
    pub fn price(&self, marketplace: usize) -> Decimal {
        self.prices[marketplace]
    }
}

/// Generates `n` products priced for `marketplaces`.
pub(super) fn generate(rng: &mut StdRng, n: usize, marketplaces: &[Marketplace]) -> Vec<Product> {
    const NOUNS: &[&str] = &[
        "Mug", "Lamp", "Bottle", "Book", "Notebook", "Bag", "Cable", "Candle", "Clock", "Scarf",
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
            let base = money(rng, 9, 150).trunc();
            let prices: Vec<Decimal> = marketplaces
                .iter()
                .map(|m| m.price_from_base(base))
                .collect();
            let gbp = marketplaces.iter().position(|m| m.currency == "GBP");
            let other = marketplaces
                .iter()
                .position(|m| m.currency == "EUR")
                .unwrap_or(0);
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
                reduced: noun == "Book",
                price_eur: prices[other],
                price_gbp: prices[gbp.unwrap_or(other)],
                prices,
                stock: rng.random_range(20..500),
            }
        })
        .collect()
}
