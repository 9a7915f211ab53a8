//! `[items]`: SAP items -> Amazon prices and merchant-fulfilled quantities (absent = the flow is off).

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::allocation::{AllocationConfig, RawAllocation};
use super::{Invalid, duration};

/// SAP items -> Amazon listings (`[items]`; absent = the flow is off).
#[derive(Debug, Clone, Default)]
pub struct ItemsConfig {
    /// Whether an `[items]` section exists.
    pub enabled: bool,
    /// Marketplaces whose listings follow SAP.
    pub marketplaces: Vec<String>,
    /// Marketplace -> the SAP price list its price comes from (none: price not synced there).
    pub price_lists: BTreeMap<String, ItemPriceList>,
    /// Warehouses whose available stock is the MFN quantity (empty: quantity not synced).
    pub warehouses: Vec<String>,
    /// Units held back from Amazon per SKU.
    pub safety_buffer: u32,
    /// How an item's stock is shared between the marketplaces it is offered on.
    pub allocation: AllocationConfig,
    /// How prices are rounded (default: to the cent, or the currency's minor unit).
    pub rounding: Rounding,
    /// Per ISO currency, a rule instead of `rounding` (e.g. `JPY = "nearest 10"`).
    pub rounding_by_currency: BTreeMap<String, Rounding>,
    /// More changes than this in one marketplace go as one `JSON_LISTINGS_FEED`.
    pub feed_threshold: usize,
    /// Each run re-reads items changed this long before the cursor.
    pub overlap: Duration,
    /// Accepted changes are read back from Amazon once they are this old.
    pub verify_after: Duration,
    /// How often a submitted feed is polled.
    pub feed_poll: Duration,
    /// How long a run waits for a feed (its result is read on a later run otherwise).
    pub feed_timeout: Duration,
}

impl ItemsConfig {
    /// The rounding rule of prices in an ISO currency.
    pub fn rounding_for(&self, currency: &str) -> Rounding {
        self.rounding_by_currency
            .get(currency)
            .copied()
            .unwrap_or(self.rounding)
    }
}

/// A marketplace's SAP price list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPriceList {
    /// `PriceListNo`.
    pub price_list: i32,
    /// ISO currency of the marketplace (the item price must be in it).
    pub currency: String,
    /// SAP's code for that currency (`$` for USD in SAP's US demo), filled in from the company's
    /// `Currencies` before planning; `None` until then (the ISO code is compared).
    pub sap_currency: Option<String>,
}

/// How prices are rounded before they go to Amazon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// To the nearest multiple of the step, halves up (`nearest 0.05`; default `nearest 0.01`).
    Nearest(Decimal),
    /// Up to the next multiple of the step (`up 0.10`).
    Up(Decimal),
    /// Up to the next price ending in this fraction (`ending 0.99`: 12.30 -> 12.99).
    Ending(Decimal),
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding::Nearest(Decimal::new(1, 2))
    }
}

impl std::str::FromStr for Rounding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not `nearest STEP`, `up STEP` or `ending FRACTION` (e.g. `ending 0.99`)"
            )
        };
        let (kind, value) = s.trim().split_once(' ').ok_or_else(bad)?;
        let value: Decimal = value.trim().parse().map_err(|_| bad())?;
        let one = Decimal::ONE;
        match kind {
            "nearest" if value > Decimal::ZERO => Ok(Rounding::Nearest(value)),
            "up" if value > Decimal::ZERO => Ok(Rounding::Up(value)),
            "ending" if value >= Decimal::ZERO && value < one => Ok(Rounding::Ending(value)),
            _ => Err(bad()),
        }
    }
}

/// `[items]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawItems {
    marketplaces: Option<Vec<String>>,
    #[serde(default)]
    warehouses: Vec<String>,
    safety_buffer: Option<u32>,
    rounding: Option<String>,
    #[serde(default)]
    rounding_by_currency: BTreeMap<String, String>,
    feed_threshold: Option<usize>,
    overlap: Option<String>,
    verify_after: Option<String>,
    feed_poll: Option<String>,
    feed_timeout: Option<String>,
    #[serde(default)]
    price_lists: BTreeMap<String, RawItemPriceList>,
    allocation: Option<RawAllocation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItemPriceList {
    price_list: i32,
    currency: String,
}

impl RawItems {
    /// Validates `[items]`; `synced` is `amazon.marketplaces`.
    pub(super) fn validate(self, synced: &[String]) -> Result<ItemsConfig, Invalid> {
        let fail = |key: &str, reason: String| Invalid::new(key, reason);
        let marketplaces = self.marketplaces.unwrap_or_else(|| synced.to_vec());
        if marketplaces.is_empty() {
            return Err(fail(
                "items.marketplaces",
                "list at least one marketplace id".into(),
            ));
        }
        for m in &marketplaces {
            if !synced.contains(m) {
                return Err(fail(
                    "items.marketplaces",
                    format!("{m} is not in amazon.marketplaces"),
                ));
            }
        }
        let mut price_lists = BTreeMap::new();
        for (m, p) in self.price_lists {
            let key = format!("items.price_lists.{m}");
            if !marketplaces.contains(&m) {
                return Err(fail(
                    &key,
                    format!("{m} is not one of the items marketplaces"),
                ));
            }
            if p.price_list < 1 {
                return Err(fail(
                    &key,
                    format!(
                        "price_list {} is not a SAP PriceListNo (1 or more)",
                        p.price_list
                    ),
                ));
            }
            let currency = p.currency.trim().to_ascii_uppercase();
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(fail(
                    &key,
                    format!("currency `{}` is not an ISO code like EUR", p.currency),
                ));
            }
            price_lists.insert(
                m,
                ItemPriceList {
                    price_list: p.price_list,
                    currency,
                    sap_currency: None,
                },
            );
        }
        if self.warehouses.iter().any(|w| w.trim().is_empty()) {
            return Err(fail("items.warehouses", "a warehouse code is empty".into()));
        }
        if price_lists.is_empty() && self.warehouses.is_empty() {
            return Err(fail(
                "items",
                "set price_lists, warehouses or both (otherwise there is nothing to sync)".into(),
            ));
        }
        let rounding = match &self.rounding {
            Some(r) => r.parse().map_err(|e| fail("items.rounding", e))?,
            None => Rounding::default(),
        };
        let mut rounding_by_currency = BTreeMap::new();
        for (currency, rule) in &self.rounding_by_currency {
            let key = format!("items.rounding_by_currency.{currency}");
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(fail(
                    &key,
                    format!("`{currency}` is not an ISO code like JPY"),
                ));
            }
            rounding_by_currency.insert(currency.clone(), rule.parse().map_err(|e| fail(&key, e))?);
        }
        // A price ending in a fraction the currency does not have cannot be sent (0.99 yen).
        for list in price_lists.values() {
            let c = &list.currency;
            let (key, rule) = match rounding_by_currency.get(c) {
                Some(rule) => (format!("items.rounding_by_currency.{c}"), *rule),
                None => ("items.rounding".to_owned(), rounding),
            };
            let units = crate::iso4217::minor_units(c);
            if let Rounding::Ending(f) = rule
                && !(f * Decimal::from(10u64.pow(units))).fract().is_zero()
            {
                return Err(fail(
                    &key,
                    format!(
                        "prices in {c} have {units} decimals, so none ends in {f}: set items.rounding_by_currency.{c} (e.g. \"nearest 10\")"
                    ),
                ));
            }
        }
        let feed_threshold = self.feed_threshold.unwrap_or(100);
        if !(1..=25_000).contains(&feed_threshold) {
            return Err(fail(
                "items.feed_threshold",
                format!(
                    "{feed_threshold} is outside 1-25000 (a feed holds at most 25,000 messages)"
                ),
            ));
        }
        let allocation = self
            .allocation
            .unwrap_or_default()
            .validate(&marketplaces)?;
        Ok(ItemsConfig {
            enabled: true,
            allocation,
            marketplaces,
            price_lists,
            warehouses: self.warehouses,
            safety_buffer: self.safety_buffer.unwrap_or(0),
            rounding,
            rounding_by_currency,
            feed_threshold,
            overlap: duration("items.overlap", self.overlap.as_deref(), "10m")?,
            verify_after: duration("items.verify_after", self.verify_after.as_deref(), "5m")?,
            feed_poll: duration("items.feed_poll", self.feed_poll.as_deref(), "30s")?,
            feed_timeout: duration("items.feed_timeout", self.feed_timeout.as_deref(), "45m")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{TEMPLATE, parse_at};
    use super::{ItemPriceList, Rounding};

    #[test]
    fn the_template_syncs_prices_and_quantities() {
        let items = parse_at(TEMPLATE).unwrap().items;
        assert!(items.enabled);
        assert_eq!(items.marketplaces, ["A1PA6795UKMFR9"]);
        assert_eq!(
            items.price_lists["A1PA6795UKMFR9"],
            ItemPriceList {
                price_list: 2,
                currency: "EUR".into(),
                sap_currency: None,
            }
        );
        assert_eq!(items.rounding, Rounding::default());
        let off = TEMPLATE.split("[items]").next().unwrap();
        assert!(!parse_at(off).unwrap().items.enabled);
    }

    #[test]
    fn rounding_and_price_lists_are_checked() {
        assert_eq!(
            "ending 0.99".parse::<Rounding>(),
            Ok(Rounding::Ending("0.99".parse().unwrap()))
        );
        assert!("ending 1.5".parse::<Rounding>().is_err());
        let bad = TEMPLATE.replace("currency = \"EUR\"", "currency = \"euro\"");
        assert!(parse_at(&bad).unwrap_err().to_string().contains(
            "key `items.price_lists.A1PA6795UKMFR9`: currency `euro` is not an ISO code"
        ));
        let yen = TEMPLATE.replace("currency = \"EUR\"", "currency = \"JPY\"");
        let bad = yen.replace(
            "feed_threshold = 100",
            "feed_threshold = 100\nrounding = \"ending 0.99\"",
        );
        let e = parse_at(&bad).unwrap_err().to_string();
        assert!(
            e.contains("key `items.rounding`") && e.contains("prices in JPY have 0 decimals"),
            "{e}"
        );
        let fixed = bad.replace(
            "[items.price_lists]",
            "[items.rounding_by_currency]\nJPY = \"nearest 10\"\n\n[items.price_lists]",
        );
        let items = parse_at(&fixed).unwrap().items;
        assert_eq!(items.rounding_for("JPY"), Rounding::Nearest(10.into()));
        assert_eq!(
            items.rounding_for("EUR"),
            Rounding::Ending("0.99".parse().unwrap())
        );
        let bad = TEMPLATE.replace("feed_threshold = 100", "feed_threshold = 0");
        assert!(
            parse_at(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `items.feed_threshold`")
        );
    }
}
