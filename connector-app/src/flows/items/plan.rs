//! The pure part of the items flow: which SKUs an item feeds, what price and quantity each
//! should have on Amazon, what differs from what the ledger says Amazon has, and how a read-back
//! listing answers a push. No I/O here.

use std::collections::{BTreeMap, BTreeSet};

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

/// Whether an item may be sold: not inactive (`Valid = tNO`) and not frozen.
pub fn is_active(item: &Item) -> bool {
    item.valid != Some(YesNo::No) && item.frozen != Some(YesNo::Yes)
}

/// Sellable stock: InStock - Committed summed over the configured warehouses, minus the safety
/// buffer, never below zero; 0 for inactive or frozen items. `None` when stock was not read or no
/// warehouse is configured.
pub fn available_quantity(item: &Item, cfg: &ItemsConfig) -> Option<u32> {
    if cfg.warehouses.is_empty() {
        return None;
    }
    let rows = item.item_warehouse_info_collection.as_ref()?;
    if !is_active(item) {
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

/// Applies the rounding rule; the result always has two decimals or fewer.
pub fn round_price(price: Decimal, rule: Rounding) -> Decimal {
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
    rounded
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
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
    {
        return Some(Err(format!(
            "is priced in {currency} in price list {}, but {marketplace} sells in {}",
            list.price_list, list.currency
        )));
    }
    Some(Ok(Money::new(
        round_price(price, cfg.rounding),
        list.currency.clone(),
    )))
}

/// What every SKU of these items should show in every items marketplace.
pub fn targets(items: &[Item], config: &Config) -> (Vec<Target>, Vec<ItemProblem>) {
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
        let quantity = available_quantity(item, cfg);
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
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    const DE: &str = "A1PA6795UKMFR9";
    const UK: &str = "A1F83G8C2ARO7P";

    fn config(items: &str) -> Config {
        let text = format!(
            r#"
            [sap]
            base_url = "https://sap.example.com:50000/b1s/v2"
            company_db = "SBO"
            user = "manager"
            [amazon]
            region = "eu"
            seller_id = "A1SELLER"
            marketplaces = ["{DE}", "{UK}"]
            [marketplaces.{DE}]
            customer = "C-DE"
            [marketplaces.{UK}]
            customer = "C-UK"
            [sku_map]
            "AMZ-MUG" = "A00042"
            "AMZ-MUG-2" = "A00042"
            "B00001" = "A00099"
            [items]
            warehouses = ["01", "02"]
            safety_buffer = 2
            {items}
            [items.price_lists]
            {DE} = {{ price_list = 2, currency = "EUR" }}
            {UK} = {{ price_list = 3, currency = "GBP" }}
            "#
        );
        Config::parse(Path::new("/tmp/t.toml"), &text).unwrap()
    }

    fn item(v: serde_json::Value) -> Item {
        serde_json::from_value(v).unwrap()
    }

    fn mug() -> Item {
        item(json!({
            "ItemCode": "A00042",
            "ItemPrices": [
                {"PriceList": 1, "Price": 10.0, "Currency": "EUR"},
                {"PriceList": 2, "Price": 19.989, "Currency": "EUR"},
                {"PriceList": 3, "Price": 17.49, "Currency": "GBP"}
            ],
            "ItemWarehouseInfoCollection": [
                {"WarehouseCode": "01", "InStock": 10, "Committed": 3},
                {"WarehouseCode": "02", "InStock": 5.5, "Committed": 0},
                {"WarehouseCode": "FBA", "InStock": 100, "Committed": 0}
            ]
        }))
    }

    fn state(sku: &str, channel: Option<&str>, price: &str, quantity: Option<i64>) -> ListingState {
        ListingState {
            sku: sku.into(),
            marketplace: DE.into(),
            item_code: "A00042".into(),
            channel: channel.map(Into::into),
            product_type: Some("PRODUCT".into()),
            currency: Some("EUR".into()),
            price: Some(price.parse().unwrap()),
            quantity,
            status: ListingStatus::Observed,
            sent_price: None,
            sent_quantity: None,
            submission: None,
            issues: None,
            problem_key: None,
            pushed_at: None,
            checked_at: "2026-11-27T10:00:00Z".into(),
        }
    }

    fn target(price: Option<&str>, quantity: Option<u32>) -> Target {
        Target {
            sku: "AMZ-MUG".into(),
            item_code: "A00042".into(),
            marketplace: DE.into(),
            price: price.map(|p| Money::new(p.parse().unwrap(), "EUR")),
            quantity,
        }
    }

    #[test]
    fn one_item_feeds_its_mapped_skus_and_identity_is_the_default() {
        let cfg = config("");
        let index = SkuIndex::new(&cfg);
        assert_eq!(index.skus("A00042"), ["AMZ-MUG", "AMZ-MUG-2"]);
        assert_eq!(index.skus("O'Brien 12\" / x"), ["O'Brien 12\" / x"]);
        // SKU B00001 is mapped to another item, so item B00001 feeds nothing.
        assert!(index.skus("B00001").is_empty());
        assert_eq!(index.skus("A00099"), ["B00001"]);
    }

    #[test]
    fn targets_carry_price_per_marketplace_currency_and_stock_over_configured_warehouses() {
        let (targets, problems) = targets(&[mug()], &config(""));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(targets.len(), 4, "2 SKUs x 2 marketplaces");
        let de = targets
            .iter()
            .find(|t| t.sku == "AMZ-MUG-2" && t.marketplace == DE)
            .unwrap();
        assert_eq!(
            de.price,
            Some(Money::new("19.99".parse().unwrap(), "EUR")),
            "to the cent"
        );
        // (10 - 3) + (5.5 - 0) - 2 buffer = 10.5 -> 10 units; FBA warehouse not counted.
        assert_eq!(de.quantity, Some(10));
        let uk = targets.iter().find(|t| t.marketplace == UK).unwrap();
        assert_eq!(uk.price, Some(Money::new("17.49".parse().unwrap(), "GBP")));
    }

    #[test]
    fn inactive_frozen_oversold_and_unread_stock() {
        let cfg = config("");
        let mut frozen = mug();
        frozen.frozen = Some(YesNo::Yes);
        assert_eq!(available_quantity(&frozen, &cfg.items), Some(0));
        let mut inactive = mug();
        inactive.valid = Some(YesNo::No);
        assert_eq!(available_quantity(&inactive, &cfg.items), Some(0));
        let oversold = item(json!({"ItemCode": "X", "ItemWarehouseInfoCollection": [
            {"WarehouseCode": "01", "InStock": 1, "Committed": 4}]}));
        assert_eq!(available_quantity(&oversold, &cfg.items), Some(0));
        let unread = item(json!({"ItemCode": "X"}));
        assert_eq!(available_quantity(&unread, &cfg.items), None);
        // Prices not read (stock-only pass): the target carries no price.
        let stock_only = item(json!({"ItemCode": "A00042", "ItemWarehouseInfoCollection": []}));
        let (t, _) = targets(&[stock_only], &cfg);
        assert!(t.iter().all(|t| t.price.is_none() && t.quantity == Some(0)));
    }

    #[test]
    fn price_problems_are_reported_not_guessed() {
        let cfg = config("");
        let wrong_currency = item(json!({"ItemCode": "A00042", "ItemPrices": [
            {"PriceList": 2, "Price": 20, "Currency": "USD"},
            {"PriceList": 3, "Price": 0, "Currency": "GBP"}]}));
        let (t, problems) = targets(&[wrong_currency], &cfg);
        assert!(t.is_empty(), "no price and no stock read: nothing to send");
        assert_eq!(problems.len(), 2);
        assert!(problems[0].reason.contains("priced in USD"), "{problems:?}");
        assert!(
            problems[1].reason.contains("no price in price list 3"),
            "{problems:?}"
        );
    }

    #[test]
    fn rounding_rules() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let r = |s: &str| s.parse::<Rounding>().unwrap();
        assert_eq!(round_price(d("12.345"), Rounding::default()), d("12.35"));
        assert_eq!(round_price(d("12.32"), r("nearest 0.05")), d("12.30"));
        assert_eq!(round_price(d("12.33"), r("nearest 0.05")), d("12.35"));
        assert_eq!(round_price(d("12.31"), r("up 0.10")), d("12.40"));
        assert_eq!(round_price(d("12.30"), r("ending 0.99")), d("12.99"));
        assert_eq!(round_price(d("12.99"), r("ending 0.99")), d("12.99"));
        assert_eq!(round_price(d("13.00"), r("ending 0.99")), d("13.99"));
        assert!("sometimes 1".parse::<Rounding>().is_err());
        assert!("ending 1.5".parse::<Rounding>().is_err());
    }

    #[test]
    fn only_what_differs_is_sent_and_fba_never_gets_a_quantity() {
        let mfn = state("AMZ-MUG", Some("DEFAULT"), "19.99", Some(10));
        assert_eq!(
            diff(&target(Some("19.99"), Some(10)), &mfn),
            Decision::Unchanged
        );
        let Decision::Change(c) = diff(&target(Some("21.5"), Some(10)), &mfn) else {
            panic!()
        };
        assert_eq!(
            (c.price_old, c.price_new, c.quantity_new),
            (
                Some("19.99".parse().unwrap()),
                Some("21.5".parse().unwrap()),
                None
            )
        );
        let Decision::Change(c) = diff(&target(None, Some(0)), &mfn) else {
            panic!()
        };
        assert_eq!(
            (c.price_new, c.quantity_old, c.quantity_new),
            (None, Some(10), Some(0))
        );

        let fba = state("AMZ-MUG", Some("AMAZON_EU"), "19.99", Some(100));
        assert_eq!(
            diff(&target(Some("19.99"), Some(3)), &fba),
            Decision::Unchanged,
            "FBA stock is Amazon's"
        );
        let Decision::Change(c) = diff(&target(Some("18"), Some(3)), &fba) else {
            panic!()
        };
        assert!(c.fba && c.quantity_new.is_none() && c.quantity_old.is_none());

        let unlisted = state("AMZ-MUG", None, "0", None);
        assert_eq!(
            diff(&target(Some("1"), None), &unlisted),
            Decision::NotListed
        );
    }

    #[test]
    fn pending_and_rejected_values_are_not_sent_again() {
        let mut pending = state("AMZ-MUG", Some("DEFAULT"), "19.99", Some(10));
        pending.status = ListingStatus::Pending;
        pending.sent_price = Some("25".parse().unwrap());
        assert_eq!(
            diff(&target(Some("25"), Some(10)), &pending),
            Decision::Unchanged
        );
        let mut rejected = pending.clone();
        rejected.status = ListingStatus::Rejected;
        assert_eq!(
            diff(&target(Some("25"), Some(10)), &rejected),
            Decision::StillRejected
        );
        // A new value is worth a new try; the rejected field is left out.
        let Decision::Change(c) = diff(&target(Some("25"), Some(4)), &rejected) else {
            panic!()
        };
        assert_eq!((c.price_new, c.quantity_new), (None, Some(4)));
        let Decision::Change(c) = diff(&target(Some("24"), Some(10)), &rejected) else {
            panic!()
        };
        assert_eq!(c.price_new, Some("24".parse().unwrap()));
        // SAP went back to what Amazon has: the refusal no longer matters.
        assert_eq!(
            diff(&target(Some("19.99"), Some(10)), &rejected),
            Decision::Moot
        );
        // Prices not read this run: nothing is known about the refused price.
        assert_eq!(
            diff(&target(None, Some(10)), &rejected),
            Decision::StillRejected
        );
    }

    fn listing(v: serde_json::Value) -> ListingsItem {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_listing_with_any_amazon_channel_is_fba() {
        let l = |v: serde_json::Value| listing(json!({"sku": "X", "fulfillmentAvailability": v}));
        assert_eq!(channel_of(&l(json!([]))), "DEFAULT");
        assert_eq!(
            channel_of(&l(
                json!([{"fulfillmentChannelCode": "DEFAULT", "quantity": 3}])
            )),
            "DEFAULT"
        );
        assert_eq!(
            channel_of(&l(json!([
                {"fulfillmentChannelCode": "DEFAULT", "quantity": 0},
                {"fulfillmentChannelCode": "AMAZON_EU", "quantity": 12}
            ]))),
            "AMAZON_EU"
        );
    }

    #[test]
    fn read_back_verdicts() {
        let mut s = state("AMZ-MUG", Some("DEFAULT"), "19.99", Some(10));
        s.status = ListingStatus::Accepted;
        s.sent_price = Some("21.5".parse().unwrap());
        s.sent_quantity = Some(4);
        let applied = listing(json!({"sku": "AMZ-MUG",
            "offers": [{"marketplaceId": DE, "offerType": "B2C", "price": {"currencyCode": "EUR", "amount": "21.50"}}],
            "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}],
            "issues": [{"code": "100", "message": "Missing image", "severity": "ERROR", "attributeNames": ["main_product_image_locator"]}]}));
        assert_eq!(
            judge(&s, &applied),
            Verdict::Applied,
            "unrelated issues do not count"
        );
        let stale = listing(json!({"sku": "AMZ-MUG",
            "offers": [{"marketplaceId": DE, "offerType": "B2C", "price": {"currencyCode": "EUR", "amount": "19.99"}}],
            "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}]}));
        assert_eq!(judge(&s, &stale), Verdict::NotYet);
        let refused = listing(json!({"sku": "AMZ-MUG",
            "issues": [{"code": "8541", "message": "Potential pricing error", "severity": "ERROR",
                        "attributeNames": ["purchasable_offer"], "marketplaceIds": [DE]}]}));
        let Verdict::Rejected(why) = judge(&s, &refused) else {
            panic!()
        };
        assert_eq!(why, ["8541 Potential pricing error"]);
    }
}
