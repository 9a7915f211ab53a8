//! FBA reconciliation on both worlds: the per-item difference between the fake Amazon's FBA
//! stock (orders, inbound shipments, returns, losses) and the fake SAP's FBA warehouse, read
//! through `getInventorySummaries` and the Service Layer, equals what the two fakes hold; it
//! follows new FBA orders; the command exits 2 and prints it.

mod common;

use std::collections::BTreeMap;

use common::{bin, cli, start_sandbox_in, write_workspace, writer_for};
use connector_app::flows::fba::FbaReport;
use rust_decimal::Decimal;
use sandbox::Sandbox;
use sandbox::world::WorldKind;
use sandbox::world::fba::fba_stock;

/// (Amazon on hand, SAP InStock) per ItemCode, from the fakes' own state.
fn truth(sb: &Sandbox) -> BTreeMap<String, (i64, Decimal)> {
    let world = sb.world();
    let mut out: BTreeMap<String, (i64, Decimal)> = BTreeMap::new();
    for (sku, s) in fba_stock(&world) {
        let p = world.catalog.iter().find(|p| p.sku == sku).unwrap();
        out.entry(p.item_code.clone()).or_default().0 += s.on_hand();
    }
    for item in sb.sap_entities("Items") {
        let code = item["ItemCode"].as_str().unwrap().to_owned();
        for r in item["ItemWarehouseInfoCollection"].as_array().unwrap() {
            let units = common::dec(&r["InStock"]);
            if r["WarehouseCode"] == "FBA" && !units.is_zero() {
                out.entry(code.clone()).or_default().1 += units;
            }
        }
    }
    out
}

/// Units per ItemCode of the FBA orders whose invoice the connector holds (not in SAP yet).
fn held_fba_units(sb: &Sandbox, config: &std::path::Path) -> BTreeMap<String, i64> {
    use connector_app::ledger::{DocFilter, DocState, Ledger};
    let world = sb.world();
    let held: Vec<String> = common::ledger(config)
        .list(&DocFilter {
            state: Some(DocState::Held),
            flow: Some("orders".into()),
            ..DocFilter::default()
        })
        .unwrap()
        .into_iter()
        .filter_map(|d| Some(d.key.split(":order:").nth(1)?.split(':').next()?.to_owned()))
        .collect();
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for o in world
        .orders
        .iter()
        .filter(|o| o.channel == sandbox::world::Channel::Afn && held.contains(&o.id))
    {
        for it in &o.items {
            *out.entry(world.catalog[it.product].item_code.clone())
                .or_default() += i64::from(it.quantity);
        }
    }
    out
}

fn assert_matches_truth(report: &FbaReport, sb: &Sandbox, config: &std::path::Path) -> usize {
    let held = held_fba_units(sb, config);
    let expected: BTreeMap<String, Decimal> = truth(sb)
        .into_iter()
        .map(|(code, (amazon, sap))| {
            let pending = Decimal::from(held.get(&code).copied().unwrap_or(0));
            (code, Decimal::from(amazon) - (sap - pending))
        })
        .filter(|(_, d)| !d.is_zero())
        .collect();
    let got: BTreeMap<String, Decimal> = report
        .differences
        .iter()
        .map(|l| (l.item_code.clone(), l.difference))
        .collect();
    assert_eq!(got, expected);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    expected.len()
}

async fn reconciliation_lists_the_difference_per_item(world: WorldKind) {
    let sb = start_sandbox_in(world, 23, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_workspace(dir.path(), &sb);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\n[fba]\nwarehouse = \"FBA\"\n")).unwrap();
    // The first marketplace's invoices are held (its customer is not in SAP): their FBA units
    // left Amazon but are still in SAP, which the report counts apart, not as a difference.
    let held_market = &sb.world().marketplaces[0];
    common::edit_config(
        &config,
        &format!("customer = \"{}\"", held_market.customer),
        "customer = \"NO-SUCH-CUSTOMER\"",
    );
    let engine = writer_for(&config);
    let afn = sb
        .world()
        .catalog
        .iter()
        .filter(|p| p.channel == sandbox::world::Channel::Afn)
        .count();

    let before = engine.reconcile_fba().await.unwrap();
    assert_matches_truth(&before, &sb, &config);
    // The orders flow books the shipped FBA orders: SAP's FBA warehouse follows Amazon's, and
    // what is left are the network's own events.
    engine
        .sync_orders(&connector_app::flows::orders::SyncOptions::default())
        .await
        .unwrap();
    let first = engine.reconcile_fba().await.unwrap();
    assert!(first.differences.len() < before.differences.len());
    let held: i64 = held_fba_units(&sb, &config).values().sum();
    assert!(held > 0, "some FBA invoices are held");
    assert_eq!(first.sap_unbooked, held, "their units are counted apart");
    assert_eq!(
        first.skus_read as usize, afn,
        "every FBA SKU, over pages of 50"
    );
    let differing = assert_matches_truth(&first, &sb, &config);
    assert!(
        differing > 0,
        "inbound shipments, returns, losses and shipped orders"
    );
    assert!(first.matched > 0, "untouched items agree");

    // New FBA orders leave Amazon's stock; the next run follows.
    sb.add_orders(40);
    let second = engine.reconcile_fba().await.unwrap();
    assert_matches_truth(&second, &sb, &config);
    assert!(
        second.amazon_on_hand < first.amazon_on_hand,
        "{} -> {}",
        first.amazon_on_hand,
        second.amazon_on_hand
    );

    // The registered `fba` flow (what `run` schedules) gives the same report.
    let flow = engine
        .run_flow(connector_app::flows::Flow::Fba, &Default::default())
        .await
        .unwrap();
    let connector_app::flows::FlowReport::Fba(flow) = flow else {
        panic!("the fba flow reports an FbaReport")
    };
    assert_eq!(flow.differences, second.differences);
    let out = bin(&config)
        .args(["fba", "reconcile", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["differences"].as_array().unwrap().len(),
        second.differences.len()
    );
    let (code, out) = cli(&config, &["fba", "reconcile"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("DIFFERENCE"), "{out}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eu_fba_reconciliation_lists_the_difference_per_item() {
    reconciliation_lists_the_difference_per_item(WorldKind::Eu).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn na_fba_reconciliation_lists_the_difference_per_item() {
    reconciliation_lists_the_difference_per_item(WorldKind::Na).await;
}
