//! Tests of the allocation: fixed cases, then properties over random pools and policies.
use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;

const M: [&str; 3] = ["A1PA6795UKMFR9", "A13V1IB3VIYZZH", "A1F83G8C2ARO7P"];

fn listed(n: usize) -> Vec<String> {
    M[..n].iter().map(|m| (*m).to_owned()).collect()
}

fn shares(w: [u32; 3]) -> AllocationPolicy {
    AllocationPolicy::Shares(M.iter().zip(w).map(|(m, w)| ((*m).to_owned(), w)).collect())
}

fn values(b: &BTreeMap<String, u32>) -> Vec<u32> {
    M.iter().filter_map(|m| b.get(*m).copied()).collect()
}

#[test]
fn shares_round_by_largest_remainder_and_never_give_more_than_the_pool() {
    // 13 units by 1:1:1 = 4.33 each: floors 4+4+4, the one left goes to the first.
    assert_eq!(
        values(&split(&shares([1, 1, 1]), 13, &listed(3))),
        [5, 4, 4]
    );
    // 10 by 2:1:1 = 5, 2.5, 2.5: the tie goes to the earlier marketplace.
    assert_eq!(
        values(&split(&shares([2, 1, 1]), 10, &listed(3))),
        [5, 3, 2]
    );
    // A marketplace the item is not offered on drops out; its weight does not hold units back.
    assert_eq!(values(&split(&shares([1, 1, 1]), 7, &listed(2))), [4, 3]);
    assert_eq!(values(&split(&shares([0, 0, 5]), 7, &listed(2))), [0, 0]);
    assert_eq!(
        values(&split(&AllocationPolicy::Full, 7, &listed(3))),
        [7, 7, 7]
    );
}

#[test]
fn priority_gives_minimums_in_order_and_the_rest_to_the_first() {
    let p = AllocationPolicy::Priority {
        order: vec![M[2].into(), M[0].into()],
        minimum: 3,
    };
    // UK first: 3 to UK, 3 to DE, the remaining 4 to UK; FR is not named: 0.
    assert_eq!(values(&split(&p, 10, &listed(3))), [3, 0, 7]);
    // Not enough for every minimum: the first in order is served first.
    assert_eq!(values(&split(&p, 4, &listed(3))), [1, 0, 3]);
    assert_eq!(
        values(&split(
            &AllocationPolicy::Single(M[1].into()),
            9,
            &listed(3)
        )),
        [0, 9, 0]
    );
}

fn config(allocation: &str) -> Config {
    let text = format!(
        r#"
        [sap]
        base_url = "https://sap.example.com:50000/b1s/v2"
        company_db = "SBO"
        user = "manager"
        [amazon]
        region = "eu"
        seller_id = "A1SELLER"
        marketplaces = ["{0}", "{1}", "{2}"]
        [marketplaces.{0}]
        customer = "C-DE"
        [marketplaces.{1}]
        customer = "C-FR"
        [marketplaces.{2}]
        customer = "C-UK"
        [sku_map]
        "AMZ-MUG" = "A00042"
        "AMZ-MUG-2" = "A00042"
        [items]
        warehouses = ["01"]
        [items.allocation]
        {allocation}
        "#,
        M[0], M[1], M[2]
    );
    Config::parse(Path::new("/tmp/t.toml"), &text).unwrap()
}

fn target(sku: &str, item: &str, m: &str, q: u32) -> Target {
    Target {
        sku: sku.into(),
        item_code: item.into(),
        marketplace: m.into(),
        price: None,
        quantity: Some(q),
    }
}

#[test]
fn an_items_skus_share_one_pool_after_the_orders_sap_does_not_know() {
    let c = config(
        "policy = \"shares\"\nshares = { A1PA6795UKMFR9 = 1, A13V1IB3VIYZZH = 1, A1F83G8C2ARO7P = 1 }",
    );
    let mut targets = vec![
        target("AMZ-MUG", "A00042", M[0], 13),
        target("AMZ-MUG-2", "A00042", M[0], 13),
        target("AMZ-MUG", "A00042", M[1], 13),
        target("AMZ-MUG", "A00042", M[2], 13),
        target("FBA-1", "FBA-1", M[0], 50),
    ];
    let reserved = BTreeMap::from([("A00042".to_owned(), 3)]);
    let pools = allocate(
        &mut targets,
        &c.items.allocation,
        &listed(3),
        &reserved,
        |t| t.sku != "FBA-1",
    );
    // 13 - 3 reserved = 10 -> 4, 3, 3; DE's 4 split between its two SKUs.
    let q: Vec<u32> = targets.iter().map(|t| t.quantity.unwrap()).collect();
    assert_eq!(q, [2, 2, 3, 3, 50]);
    assert_eq!(pools.len(), 1);
    assert_eq!((pools[0].available, pools[0].reserved), (13, 3));
}

fn order(id: &str, by: &str, lines: &[(&str, u32)]) -> Order {
    let items: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, (sku, q))| {
            serde_json::json!({"orderItemId": i.to_string(), "quantityOrdered": q,
                "product": {"sellerSku": sku}})
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "orderId": id, "createdTime": "2026-12-01T10:00:00Z", "lastUpdatedTime": "2026-12-01T10:00:00Z",
        "salesChannel": {"marketplaceId": M[0], "channelName": "AMAZON"},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": by},
        "orderItems": items,
    }))
    .unwrap()
}

#[test]
fn unbooked_units_count_merchant_orders_once_by_item() {
    let c = config("");
    let a = order(
        "028-1",
        "MERCHANT",
        &[("AMZ-MUG", 2), ("AMZ-MUG-2", 1), ("X", 4)],
    );
    let fba = order("028-2", "AMAZON", &[("AMZ-MUG", 5)]);
    let units = unbooked_units([&a, &fba, &a], &c);
    assert_eq!(
        units,
        BTreeMap::from([("A00042".into(), 3), ("X".into(), 4)])
    );
    let fba_units = unbooked_fba_units([&a, &fba], &c);
    assert_eq!(fba_units, BTreeMap::from([("A00042".into(), 5)]));
}

fn policy() -> impl Strategy<Value = AllocationPolicy> {
    prop_oneof![
        prop::array::uniform3(0u32..20).prop_map(shares),
        (prop::sample::subsequence(M.to_vec(), 1..=3), 0u32..50).prop_map(|(o, minimum)| {
            AllocationPolicy::Priority {
                order: o.into_iter().rev().map(str::to_owned).collect(),
                minimum,
            }
        }),
        prop::sample::select(M.to_vec()).prop_map(|m| AllocationPolicy::Single(m.into())),
    ]
}

proptest! {
    #[test]
    fn the_sum_offered_never_exceeds_what_is_left(
        stock in 0u32..100_000,
        held in 0u32..200,
        policy in policy(),
        skus_per_market in prop::array::uniform3(0usize..4),
    ) {
        let cfg = AllocationConfig { default: policy.clone(), ..AllocationConfig::default() };
        let mut targets = Vec::new();
        for (m, n) in M.iter().zip(skus_per_market) {
            for s in 0..n {
                targets.push(target(&format!("SKU-{s}"), "ITEM", m, stock));
            }
        }
        let reserved = BTreeMap::from([("ITEM".to_owned(), held)]);
        let pools = allocate(&mut targets, &cfg, &listed(3), &reserved, |_| true);
        let offered: u64 = targets.iter().map(|t| u64::from(t.quantity.unwrap())).sum();
        let left = u64::from(stock.saturating_sub(held));
        prop_assert!(offered <= left, "{offered} offered of {left} ({policy:?})");
        // Nothing is held back when a listed marketplace can take it.
        let mut listed_ms: Vec<&str> = Vec::new();
        for (m, n) in M.iter().zip(skus_per_market) {
            if n > 0 { listed_ms.push(m); }
        }
        let takes = match &policy {
            AllocationPolicy::Shares(w) => listed_ms.iter().any(|m| w.get(*m).copied().unwrap_or(0) > 0),
            AllocationPolicy::Priority { order, .. } => order.iter().any(|m| listed_ms.contains(&m.as_str())),
            AllocationPolicy::Single(m) => listed_ms.contains(&m.as_str()),
            AllocationPolicy::Full => true,
        };
        if takes {
            prop_assert_eq!(offered, left, "{:?}", policy);
        }
        prop_assert!(pools.iter().all(|p| p.offered.values().map(|q| u64::from(*q)).sum::<u64>() <= left));
    }
}
