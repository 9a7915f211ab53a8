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

fn assert_matches_truth(report: &FbaReport, sb: &Sandbox) -> usize {
    let expected: BTreeMap<String, Decimal> = truth(sb)
        .into_iter()
        .map(|(code, (amazon, sap))| (code, Decimal::from(amazon) - sap))
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
    let engine = writer_for(&config);
    let afn = sb
        .world()
        .catalog
        .iter()
        .filter(|p| p.channel == sandbox::world::Channel::Afn)
        .count();

    let before = engine.reconcile_fba().await.unwrap();
    assert_matches_truth(&before, &sb);
    // The orders flow books the shipped FBA orders: SAP's FBA warehouse follows Amazon's, and
    // what is left are the network's own events.
    engine
        .sync_orders(&connector_app::flows::orders::SyncOptions::default())
        .await
        .unwrap();
    let first = engine.reconcile_fba().await.unwrap();
    assert!(first.differences.len() < before.differences.len());
    assert_eq!(
        first.skus_read as usize, afn,
        "every FBA SKU, over pages of 50"
    );
    let differing = assert_matches_truth(&first, &sb);
    assert!(
        differing > 0,
        "inbound shipments, returns, losses and shipped orders"
    );
    assert!(first.matched > 0, "untouched items agree");

    // New FBA orders leave Amazon's stock; the next run follows.
    sb.add_orders(40);
    let second = engine.reconcile_fba().await.unwrap();
    assert_matches_truth(&second, &sb);
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
