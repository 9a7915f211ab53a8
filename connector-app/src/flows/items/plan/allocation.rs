//! Sharing one item's merchant-fulfilled stock between the marketplaces (and SKUs) it is offered
//! on, so that the sum offered never exceeds what is available; and the units of orders SAP does
//! not know yet, taken out of that pool first. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use sp_api_client::orders::{FulfilledBy, Order};

use super::Target;
use crate::config::{AllocationConfig, AllocationPolicy, Config};

/// Units per marketplace for a pool of `units`, over the marketplaces the item is offered on
/// merchant-fulfilled (`listed`, in configuration order). Every marketplace of `listed` is in the
/// result. Except under [`AllocationPolicy::Full`], the values sum to `units` or less.
pub fn split(policy: &AllocationPolicy, units: u32, listed: &[String]) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = listed.iter().map(|m| (m.clone(), 0)).collect();
    match policy {
        AllocationPolicy::Full => out.values_mut().for_each(|q| *q = units),
        AllocationPolicy::Single(m) => {
            if let Some(q) = out.get_mut(m) {
                *q = units;
            }
        }
        AllocationPolicy::Shares(weights) => {
            let weights: Vec<u64> = listed
                .iter()
                .map(|m| u64::from(weights.get(m).copied().unwrap_or(0)))
                .collect();
            for (m, q) in listed.iter().zip(largest_remainder(units, &weights)) {
                out.insert(m.clone(), q);
            }
        }
        AllocationPolicy::Priority { order, minimum } => {
            let ranked: Vec<&String> = order.iter().filter(|m| out.contains_key(*m)).collect();
            let mut left = units;
            for m in &ranked {
                let give = left.min(*minimum);
                out.insert((*m).clone(), give);
                left -= give;
            }
            if let Some(first) = ranked.first() {
                *out.get_mut(*first).expect("ranked are listed") += left;
            }
        }
    }
    out
}

/// `units` in proportion to `weights` (all zero: nothing), floors first, then one unit each to the
/// largest remainders (earlier index first on ties): the result sums to exactly `units` unless
/// every weight is 0.
pub fn largest_remainder(units: u32, weights: &[u64]) -> Vec<u32> {
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let units64 = u64::from(units);
    let mut out: Vec<u32> = weights
        .iter()
        .map(|w| u32::try_from(units64 * w / total).expect("a share is at most units"))
        .collect();
    let given: u32 = out.iter().sum();
    let mut by_remainder: Vec<(u64, usize)> = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0)
        .map(|(i, w)| (units64 * w % total, i))
        .collect();
    by_remainder.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in by_remainder.into_iter().take((units - given) as usize) {
        out[i] += 1;
    }
    out
}

/// One item's pool as the planner shared it (for the run report).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Allocation {
    /// SAP ItemCode.
    pub item_code: String,
    /// SAP's available quantity (after the safety buffer).
    pub available: u32,
    /// Units of orders SAP does not know yet, taken out first.
    pub reserved: u32,
    /// Units offered per marketplace (summed over the item's SKUs there).
    pub offered: BTreeMap<String, u32>,
}

/// Shares each item's quantity between its merchant-fulfilled targets: `reserved` units (per
/// ItemCode) come off first, then the item's policy splits the rest across the marketplaces in
/// `marketplaces` order, and a marketplace's units are split evenly between the item's SKUs there.
/// `merchant(target)` says whether that SKU is offered merchant-fulfilled in that marketplace
/// (FBA and unlisted targets keep their quantity: it is never sent). Returns what each pool got.
pub fn allocate(
    targets: &mut [Target],
    cfg: &AllocationConfig,
    marketplaces: &[String],
    reserved: &BTreeMap<String, u32>,
    merchant: impl Fn(&Target) -> bool,
) -> Vec<Allocation> {
    let mut by_item: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, t) in targets.iter().enumerate() {
        if t.quantity.is_some() && merchant(t) {
            by_item.entry(t.item_code.clone()).or_default().push(i);
        }
    }
    let mut report = Vec::new();
    for (item_code, members) in by_item {
        let available = targets[members[0]].quantity.unwrap_or(0);
        let held = reserved.get(&item_code).copied().unwrap_or(0);
        let units = available.saturating_sub(held);
        let skus: BTreeSet<&str> = members.iter().map(|i| targets[*i].sku.as_str()).collect();
        let policy = cfg.policy_for(skus.iter().copied());
        let listed: Vec<String> = marketplaces
            .iter()
            .filter(|m| members.iter().any(|i| targets[*i].marketplace == **m))
            .cloned()
            .collect();
        let offered = split(policy, units, &listed);
        for (m, q) in &offered {
            let mut here: Vec<usize> = members
                .iter()
                .copied()
                .filter(|i| targets[*i].marketplace == *m)
                .collect();
            here.sort_by(|a, b| targets[*a].sku.cmp(&targets[*b].sku));
            let each = if *policy == AllocationPolicy::Full {
                vec![*q; here.len()]
            } else {
                largest_remainder(*q, &vec![1; here.len()])
            };
            for (i, q) in here.into_iter().zip(each) {
                targets[i].quantity = Some(q);
            }
        }
        report.push(Allocation {
            item_code,
            available,
            reserved: held,
            offered,
        });
    }
    report
}

/// Units per ItemCode in merchant-fulfilled orders SAP has not booked yet (each order once, by id;
/// FBA orders leave Amazon's stock, not the seller's). The caller picks the orders: open ones from
/// Amazon and shipped ones whose invoice is not in SAP yet.
pub fn unbooked_units<'a>(
    orders: impl IntoIterator<Item = &'a Order>,
    config: &Config,
) -> BTreeMap<String, u32> {
    units_by_item(orders, config, false)
}

/// Units per ItemCode in Amazon-fulfilled orders among `orders` (each once): shipped from
/// Amazon's stock, still in SAP's FBA warehouse while their invoice is not posted.
pub fn unbooked_fba_units<'a>(
    orders: impl IntoIterator<Item = &'a Order>,
    config: &Config,
) -> BTreeMap<String, u32> {
    units_by_item(orders, config, true)
}

/// Units per ItemCode of the orders fulfilled by Amazon (`fba`) or not (unknown counts as not).
fn units_by_item<'a>(
    orders: impl IntoIterator<Item = &'a Order>,
    config: &Config,
    fba: bool,
) -> BTreeMap<String, u32> {
    let mut seen = BTreeSet::new();
    let mut out: BTreeMap<String, u32> = BTreeMap::new();
    for order in orders {
        let by_amazon = order
            .fulfillment
            .as_ref()
            .and_then(|f| f.fulfilled_by.as_ref())
            == Some(&FulfilledBy::Amazon);
        if by_amazon != fba || !seen.insert(order.order_id.as_str().to_owned()) {
            continue;
        }
        for line in &order.order_items {
            let Some(sku) = line.product.seller_sku.as_ref() else {
                continue;
            };
            let sku = sku.as_str();
            let item = config.sku_map.get(sku).map_or(sku, String::as_str);
            *out.entry(item.to_owned()).or_default() += line.quantity_ordered;
        }
    }
    out
}

#[cfg(test)]
mod tests;
