//! The pure part of the items flow: which SKUs an item feeds, what price and quantity each
//! should have on Amazon, what differs from what the ledger says Amazon has, and how a read-back
//! listing answers a push. No I/O here.

mod activity;
pub mod allocation;

pub use activity::is_active;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use sap_b1_client::entities::{Item, YesNo};
use serde::Serialize;
use sp_api_client::Money;
use sp_api_client::listings::{IssueSeverity, ListingsItem};

use crate::config::{Config, ItemsConfig, Rounding};
use crate::ledger::{ListingState, ListingStatus};

/// Amazon's channel code of merchant-fulfilled offers.
pub const MERCHANT_CHANNEL: &str = "DEFAULT";

/// The listing attributes this flow writes (issues on others are not about our pushes).
pub const PUSHED_ATTRIBUTES: [&str; 2] = ["purchasable_offer", "fulfillment_availability"];

/// The inverse of the SKU -> ItemCode map.
///
/// An item named by `[sku_map]` entries feeds exactly those SKUs; any other item feeds the SKU
/// equal to its ItemCode, unless that SKU is mapped to a different item.
#[derive(Debug, Clone, Default)]
pub struct SkuIndex {
    by_item: BTreeMap<String, Vec<String>>,
    remapped: BTreeSet<String>,
}

impl SkuIndex {
    /// Builds the index from the configuration.
    pub fn new(config: &Config) -> Self {
        let mut index = SkuIndex::default();
        for (sku, item) in &config.sku_map {
            index
                .by_item
                .entry(item.clone())
                .or_default()
                .push(sku.clone());
            index.remapped.insert(sku.clone());
        }
        // The items of the invoices' shipping and promotion lines are not sold on Amazon.
        let own = [
            match &config.orders.shipping {
                crate::config::Shipping::ItemLine(code) => Some(code),
                crate::config::Shipping::Expense(_) => None,
            },
            config.orders.promotion_item.as_ref(),
        ];
        for code in own.into_iter().flatten() {
            index.by_item.entry(code.clone()).or_default();
        }
        index
    }

    /// The Amazon SKUs an item feeds.
    pub fn skus(&self, item_code: &str) -> Vec<String> {
        match self.by_item.get(item_code) {
            Some(skus) => skus.clone(),
            None if self.remapped.contains(item_code) => Vec::new(),
            None => vec![item_code.to_owned()],
        }
    }
}

/// What one SKU should show in one marketplace (`None`: leave that field alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Seller SKU.
    pub sku: String,
    /// SAP ItemCode.
    pub item_code: String,
    /// Marketplace id.
    pub marketplace: String,
    /// Price in the marketplace currency, when the item's prices were read.
    pub price: Option<Money>,
    /// Available quantity (applies to merchant-fulfilled listings only).
    pub quantity: Option<u32>,
}

/// A SAP-side problem that keeps a field from being synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemProblem {
    /// SAP ItemCode.
    pub item_code: String,
    /// Marketplace, when the problem is specific to one.
    pub marketplace: Option<String>,
    /// Why.
    pub reason: String,
}

/// The listing's fulfilment channel: any `AMAZON_*` entry makes it FBA (its stock is never
/// overwritten, even while a listing moves between channels); otherwise merchant-fulfilled,
/// also when Amazon lists no availability yet.
pub fn channel_of(listing: &ListingsItem) -> String {
    let codes = listing
        .fulfillment_availability
        .iter()
        .map(|f| f.fulfillment_channel_code.as_str());
    codes
        .clone()
        .find(|c| *c != MERCHANT_CHANNEL)
        .unwrap_or(MERCHANT_CHANNEL)
        .to_owned()
}

/// Sellable stock: InStock - Committed summed over the configured warehouses, minus the safety
/// buffer, never below zero; 0 for items inactive or frozen on `today` ([`is_active`]). `None`
/// when stock was not read or no warehouse is configured.
pub fn available_quantity(item: &Item, cfg: &ItemsConfig, today: NaiveDate) -> Option<u32> {
    if cfg.warehouses.is_empty() {
        return None;
    }
    let rows = item.item_warehouse_info_collection.as_ref()?;
    if !is_active(item, today) {
        return Some(0);
    }
    let available: Decimal = rows
        .iter()
        .filter(|r| {
            r.warehouse_code
                .as_deref()
                .is_some_and(|w| cfg.warehouses.iter().any(|c| c == w))
        })
        .map(|r| r.in_stock.unwrap_or_default() - r.committed.unwrap_or_default())
        .sum();
    let sellable = (available - Decimal::from(cfg.safety_buffer)).floor();
    Some(if sellable <= Decimal::ZERO {
        0
    } else {
        u32::try_from(sellable).unwrap_or(u32::MAX)
    })
}

/// Applies the rounding rule, then rounds to the currency's minor unit (ISO 4217: JPY has no
/// decimals, so 1234.5 yen is 1235): the result never has more decimals than the currency. An
/// `up` rule stays up at that last step.
pub fn round_price(price: Decimal, rule: Rounding, currency: &str) -> Decimal {
    let rounded = match rule {
        Rounding::Nearest(step) => {
            (price / step).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero) * step
        }
        Rounding::Up(step) => (price / step).ceil() * step,
        Rounding::Ending(fraction) => {
            let candidate = price.floor() + fraction;
            if candidate >= price {
                candidate
            } else {
                candidate + Decimal::ONE
            }
        }
    };
    let last = match rule {
        Rounding::Up(_) => RoundingStrategy::AwayFromZero,
        _ => RoundingStrategy::MidpointAwayFromZero,
    };
    rounded
        .round_dp_with_strategy(crate::iso4217::minor_units(currency), last)
        .normalize()
}

/// The item's price for a marketplace: `Ok(None)` when prices were not read, `Err` when the
/// price list has no usable price in the marketplace currency.
pub fn price_for(
    item: &Item,
    marketplace: &str,
    cfg: &ItemsConfig,
) -> Option<Result<Money, String>> {
    let list = cfg.price_lists.get(marketplace)?;
    let prices = item.item_prices.as_ref()?;
    let Some(row) = prices
        .iter()
        .find(|p| p.price_list == Some(list.price_list))
    else {
        return Some(Err(format!(
            "has no row for price list {}",
            list.price_list
        )));
    };
    let price = row.price.unwrap_or_default();
    if price <= Decimal::ZERO {
        return Some(Err(format!(
            "has no price in price list {}",
            list.price_list
        )));
    }
    if let Some(currency) = row.currency.as_deref().filter(|c| !c.is_empty())
        && !currency.eq_ignore_ascii_case(&list.currency)
        && list.sap_currency.as_deref() != Some(currency)
    {
        return Some(Err(format!(
            "is priced in {currency} in price list {}, but {marketplace} sells in {}",
            list.price_list, list.currency
        )));
    }
    Some(Ok(Money::new(
        round_price(price, cfg.rounding_for(&list.currency), &list.currency),
        list.currency.clone(),
    )))
}

/// What every SKU of these items should show in every items marketplace on `today`.
pub fn targets(
    items: &[Item],
    config: &Config,
    today: NaiveDate,
) -> (Vec<Target>, Vec<ItemProblem>) {
    let cfg = &config.items;
    let index = SkuIndex::new(config);
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    for item in items {
        let Some(code) = item.item_code.as_deref() else {
            continue;
        };
        if item.sales_item == Some(YesNo::No) {
            continue;
        }
        let skus = index.skus(code);
        if skus.is_empty() {
            continue;
        }
        let quantity = available_quantity(item, cfg, today);
        for marketplace in &cfg.marketplaces {
            let price = match price_for(item, marketplace, cfg) {
                None => None,
                Some(Ok(p)) => Some(p),
                Some(Err(reason)) => {
                    problems.push(ItemProblem {
                        item_code: code.to_owned(),
                        marketplace: Some(marketplace.clone()),
                        reason: format!("item {code} {reason}: its price is not sent"),
                    });
                    None
                }
            };
            if price.is_none() && quantity.is_none() {
                continue;
            }
            for sku in &skus {
                targets.push(Target {
                    sku: sku.clone(),
                    item_code: code.to_owned(),
                    marketplace: marketplace.clone(),
                    price: price.clone(),
                    quantity,
                });
            }
        }
    }
    (targets, problems)
}

/// One change to send: a field is `Some` in `*_new` only when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    /// Seller SKU.
    pub sku: String,
    /// SAP ItemCode.
    pub item_code: String,
    /// Marketplace id.
    pub marketplace: String,
    /// Currency of the prices.
    pub currency: Option<String>,
    /// The price Amazon has (as far as the ledger knows).
    pub price_old: Option<Decimal>,
    /// The price to send.
    pub price_new: Option<Decimal>,
    /// The merchant quantity Amazon has.
    pub quantity_old: Option<i64>,
    /// The quantity to send.
    pub quantity_new: Option<u32>,
    /// Whether the listing is fulfilled by Amazon (its quantity is never sent).
    pub fba: bool,
}

/// What a target calls for, given the ledger's listing state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Amazon already has it (or will, once a pending push lands).
    Unchanged,
    /// The SKU has no listing in that marketplace.
    NotListed,
    /// The same values were rejected before: a person must look first.
    StillRejected,
    /// A rejected change is no longer wanted: SAP now asks for what Amazon has.
    Moot,
    /// Send this.
    Change(PlannedChange),
}

/// Compares a target with what Amazon has; quantities only for merchant-fulfilled listings.
pub fn diff(target: &Target, state: &ListingState) -> Decision {
    let Some(channel) = state.channel.as_deref() else {
        return Decision::NotListed;
    };
    let merchant = channel == MERCHANT_CHANNEL;
    let (known_price, known_quantity) = if state.status == ListingStatus::Pending {
        (
            state.sent_price.or(state.price),
            state.sent_quantity.or(state.quantity),
        )
    } else {
        (state.price, state.quantity)
    };
    let same_currency = |m: &Money| {
        state
            .currency
            .as_deref()
            .is_none_or(|c| c.eq_ignore_ascii_case(&m.currency_code))
    };
    let mut price_new = target
        .price
        .as_ref()
        .filter(|m| known_price != Some(m.amount) || !same_currency(m))
        .map(|m| m.amount);
    let mut quantity_new = target
        .quantity
        .filter(|q| merchant && known_quantity != Some(i64::from(*q)));
    if price_new.is_none() && quantity_new.is_none() {
        if state.status != ListingStatus::Rejected {
            return Decision::Unchanged;
        }
        // Moot only when SAP's current value is known for every field that was refused.
        let price_settled = state.sent_price.is_none()
            || target
                .price
                .as_ref()
                .is_some_and(|m| known_price == Some(m.amount));
        let quantity_settled = state.sent_quantity.is_none()
            || !merchant
            || target
                .quantity
                .is_some_and(|q| known_quantity == Some(i64::from(q)));
        return if price_settled && quantity_settled {
            Decision::Moot
        } else {
            Decision::StillRejected
        };
    }
    if state.status == ListingStatus::Rejected {
        price_new = price_new.filter(|p| state.sent_price != Some(*p));
        quantity_new = quantity_new.filter(|q| state.sent_quantity != Some(i64::from(*q)));
        if price_new.is_none() && quantity_new.is_none() {
            return Decision::StillRejected;
        }
    }
    Decision::Change(PlannedChange {
        sku: target.sku.clone(),
        item_code: target.item_code.clone(),
        marketplace: target.marketplace.clone(),
        currency: target
            .price
            .as_ref()
            .map(|m| m.currency_code.clone())
            .or_else(|| state.currency.clone()),
        price_old: known_price,
        price_new,
        quantity_old: if merchant { known_quantity } else { None },
        quantity_new,
        fba: !merchant,
    })
}

/// How a read-back listing answers an accepted push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Amazon shows the pushed values.
    Applied,
    /// An error issue on a pushed attribute: the change was refused.
    Rejected(Vec<String>),
    /// Not visible yet and no error: look again on a later pass.
    NotYet,
}

/// Judges a listing read back after a push.
pub fn judge(state: &ListingState, listing: &ListingsItem) -> Verdict {
    let errors: Vec<String> = listing
        .issues
        .iter()
        .filter(|i| i.severity == IssueSeverity::Error)
        .filter(|i| {
            i.attribute_names.is_empty()
                || i.attribute_names
                    .iter()
                    .any(|a| PUSHED_ATTRIBUTES.contains(&a.as_str()))
        })
        .filter(|i| i.marketplace_ids.is_empty() || i.marketplace_ids.contains(&state.marketplace))
        .map(|i| format!("{} {}", i.code, i.message))
        .collect();
    if !errors.is_empty() {
        return Verdict::Rejected(errors);
    }
    let price_ok = state
        .sent_price
        .is_none_or(|p| listing.price_in(&state.marketplace).map(|m| m.amount) == Some(p));
    let merchant = state.channel.as_deref() == Some(MERCHANT_CHANNEL);
    let quantity_ok = !merchant
        || state
            .sent_quantity
            .is_none_or(|q| listing.merchant_quantity().map(i64::from) == Some(q));
    if price_ok && quantity_ok {
        Verdict::Applied
    } else {
        Verdict::NotYet
    }
}

/// The ledger key of a SKU's listing in a marketplace (audit trail subject).
pub fn listing_key(seller: &str, marketplace: &str, sku: &str) -> String {
    format!("amz:{seller}:listing:{marketplace}:{sku}")
}

#[cfg(test)]
mod tests;
