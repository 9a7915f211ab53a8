//! Merchant-fulfilled stock shared between marketplaces: on both worlds, with orders arriving
//! between runs (some invoiced, some held, some still open on Amazon), the units offered across
//! marketplaces never exceed what is left in SAP after the orders SAP does not know yet.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::items::sync;
use common::{edit_config, ledger, start_sandbox_in, write_workspace, writer_for};
use connector_app::flows::orders::SyncOptions;
use connector_app::ledger::{DocFilter, DocState, Ledger};
use sandbox::Sandbox;
use sandbox::world::{Channel, OrderStatus, WorldKind};

/// What is left per ItemCode, computed from the fakes alone: SAP's `InStock - Committed` in
/// warehouse 01, less the units of the world's open merchant orders and of the shipped merchant
/// orders whose invoice the connector holds (SAP has not booked them).
fn left_per_item(sb: &Sandbox, config: &std::path::Path) -> BTreeMap<String, i64> {
    let world = sb.world();
    let mut left: BTreeMap<String, i64> = BTreeMap::new();
    for item in sb.sap_entities("Items") {
        let code = item["ItemCode"].as_str().unwrap().to_owned();
        let rows = item["ItemWarehouseInfoCollection"].as_array().unwrap();
        let free: f64 = rows
            .iter()
            .filter(|r| r["WarehouseCode"] == "01")
            .map(|r| r["InStock"].as_f64().unwrap_or(0.0) - r["Committed"].as_f64().unwrap_or(0.0))
            .sum();
        left.insert(code, free as i64);
    }
    let not_in_sap: BTreeSet<String> = [DocState::Held, DocState::Failed, DocState::Planned]
        .into_iter()
        .flat_map(|state| {
            ledger(config)
                .list(&DocFilter {
                    state: Some(state),
                    flow: Some("orders".into()),
                    ..DocFilter::default()
                })
                .unwrap()
        })
        .filter_map(|d| Some(d.key.split(":order:").nth(1)?.split(':').next()?.to_owned()))
        .collect();
    for o in &world.orders {
        let open = matches!(o.status, OrderStatus::Pending | OrderStatus::Unshipped);
        if o.channel != Channel::Mfn || !(open || not_in_sap.contains(&o.id)) {
            continue;
        }
        for it in &o.items {
            let code = &world.catalog[it.product].item_code;
            *left.entry(code.clone()).or_default() -= i64::from(it.quantity);
        }
    }
    left
}

/// Units offered per ItemCode over every marketplace (merchant offers of the fake Amazon).
fn offered_per_item(sb: &Sandbox) -> BTreeMap<String, i64> {
    let world = sb.world();
    let code_of: BTreeMap<&str, &str> = world
        .catalog
        .iter()
        .map(|p| (p.sku.as_str(), p.item_code.as_str()))
        .collect();
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for l in sb.catalog() {
        if l.fulfillment_channel_code == "DEFAULT" {
            *out.entry(code_of[l.sku.as_str()].to_owned()).or_default() += l.quantity;
        }
    }
    out
}

fn assert_never_oversold(sb: &Sandbox, config: &std::path::Path, when: &str) -> usize {
    let left = left_per_item(sb, config);
    let mut exact = 0;
    for (item, offered) in offered_per_item(sb) {
        let left = left[&item].max(0);
        assert!(
            offered <= left,
            "{when}: {item} offers {offered} across marketplaces, only {left} are left"
        );
        exact += usize::from(offered == left);
    }
    exact
}

async fn never_offers_more_than_is_left(world: WorldKind) {
    let sb = start_sandbox_in(world, 23, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_workspace(dir.path(), &sb);
    let w = sb.world();
    let ids: Vec<&str> = w.marketplaces.iter().map(|m| m.id).collect();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{text}\n[items.allocation]\npolicy = \"shares\"\nshares = {{ {} = 2, {} = 1, {} = 1 }}\n",
            ids[0], ids[1], ids[2]
        ),
    )
    .unwrap();
    // Orders of the third marketplace are held (its customer is not in SAP): shipped, not booked.
    let held = &w.marketplaces[2];
    edit_config(
        &config,
        &format!("customer = \"{}\"", held.customer),
        "customer = \"NO-SUCH-CUSTOMER\"",
    );
    let engine = writer_for(&config);
    let mfn = w
        .catalog
        .iter()
        .filter(|p| p.channel == Channel::Mfn)
        .count();

    // First run: the seeded offers show SAP's stock on every marketplace; they are shared now.
    let first = sync(&engine).await;
    assert!(!first.planned.is_empty());
    assert!(
        first.units_reserved > 0,
        "the world has open merchant orders"
    );
    let exact = assert_never_oversold(&sb, &config, "first run");
    assert!(
        exact * 2 > mfn,
        "most items offer exactly what is left ({exact} of {mfn})"
    );

    // Orders arrive; the orders flow invoices the shipped ones and holds the third marketplace's.
    sb.add_orders(60);
    let orders = engine.sync_orders(&SyncOptions::default()).await.unwrap();
    assert!(!orders.held.is_empty(), "some invoices are held");
    let second = sync(&engine).await;
    assert!(second.units_reserved > 0);
    assert_never_oversold(&sb, &config, "after orders arrived");
    // A sale that only Amazon knows of (a new open order) lowers the next offer at once.
    sb.add_orders(30);
    sync(&engine).await;
    let exact = assert_never_oversold(&sb, &config, "after more orders");
    assert!(exact * 2 > mfn, "({exact} of {mfn})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eu_shared_stock_never_offers_more_than_is_left() {
    never_offers_more_than_is_left(WorldKind::Eu).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn na_shared_stock_never_offers_more_than_is_left() {
    never_offers_more_than_is_left(WorldKind::Na).await;
}
