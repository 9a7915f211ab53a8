//! FBA adjustments on both worlds (issue #23): with `[fba] post = "hold"` a reconciliation plans
//! one adjustment per item that differs, HELD for review and naming the settlement reimbursement
//! of lost units; `replay KEY` posts each (a transfer from the seller's warehouse for units
//! received, a goods receipt for the rest, a goods issue for units lost), after which SAP's FBA
//! warehouse equals Amazon's; with `post = "post"`, `fba reconcile --post` posts them directly.
//! Every adjustment is traceable in `audit`.

mod common;

use common::{bin, cli, start_sandbox_in, write_workspace, writer_for};
use connector_app::flows::fba::{FbaAdjustment, FbaReport, adjustment_key};
use connector_app::flows::orders::{ReplayOutcome, SyncOptions};
use connector_app::flows::settlements::SettlementOptions;
use connector_app::ledger::{DocFilter, DocState, Ledger};
use connector_app::posting::PostOutcome;
use rust_decimal::Decimal;
use sandbox::Sandbox;
use sandbox::sap::store::Key;
use sandbox::world::WorldKind;
use sandbox::world::fba::FbaEventKind;
use serde_json::{Value, json};

/// `InStock` of `item` in warehouse `wh` in the fake SAP.
fn in_stock(sb: &Sandbox, item: &str, wh: &str) -> Decimal {
    let it = sb
        .sap_entity("Items", &Key::Str(item.to_owned()))
        .expect("item");
    it["ItemWarehouseInfoCollection"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["WarehouseCode"] == wh)
        .map(|r| common::dec(&r["InStock"]))
        .unwrap_or_default()
}

/// A settlement file (V2) paying `amount` for `units` of `sku` lost in the warehouse.
fn reimbursement_file(id: &str, currency: &str, sku: &str, units: u32, amount: &str) -> String {
    let header = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";
    let row = |cells: &[(usize, &str)]| {
        let mut v = vec![""; 24];
        for (i, c) in cells {
            v[*i] = c;
        }
        v.join("\t")
    };
    let summary = row(&[
        (0, id),
        (1, "2026-11-01 00:00:00 UTC"),
        (2, "2026-11-15 00:00:00 UTC"),
        (3, "2026-11-17 00:00:00 UTC"),
        (4, amount),
        (5, currency),
    ]);
    let units = units.to_string();
    let line = row(&[
        (0, id),
        (5, currency),
        (6, "other-transaction"),
        (12, "FBA Inventory Reimbursement"),
        (13, "WAREHOUSE_LOST"),
        (14, amount),
        (16, "2026-11-10 00:00:00 UTC"),
        (17, "2026-11-10 09:00:00 UTC"),
        (21, sku),
        (22, &units),
    ]);
    format!("{header}\n{summary}\n{line}\n")
}

/// Two Amazon-fulfilled items SAP and Amazon agree on, with units to lose: (sku, item).
/// A workspace for `sb` whose FBA adjustments are held for review, transfers coming from "01".
fn fba_workspace(sb: &Sandbox) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_workspace(dir.path(), sb);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[fba]\nwarehouse = \"FBA\"\npost = \"hold\"\ninbound_from = \"01\"\n"),
    )
    .unwrap();
    (dir, config)
}

fn agreeing_items(report: &FbaReport, sb: &Sandbox) -> Vec<(String, String)> {
    let world = sb.world();
    let stock = sandbox::world::fba::fba_stock(&world);
    world
        .catalog
        .iter()
        .filter(|p| stock.get(&p.sku).is_some_and(|s| s.fulfillable >= 5))
        .filter(|p| {
            !report
                .differences
                .iter()
                .any(|d| d.item_code == p.item_code)
        })
        .filter(|p| {
            world
                .catalog
                .iter()
                .filter(|o| o.item_code == p.item_code)
                .count()
                == 1
        })
        .map(|p| (p.sku.clone(), p.item_code.clone()))
        .take(2)
        .collect()
}

async fn adjustments_leave_sap_equal_to_amazon(world: WorldKind) {
    let sb = start_sandbox_in(world, 23, 200).await;
    let (_dir, config) = fba_workspace(&sb);
    let seller = sb.seller_id();
    let engine = writer_for(&config);
    engine.sync_orders(&SyncOptions::default()).await.unwrap();
    let first = engine.reconcile_fba().await.unwrap();
    assert!(first.adjustments.is_empty(), "reconcile changes nothing");
    let picked = agreeing_items(&first, &sb);
    assert_eq!(picked.len(), 2, "two items that agree");
    let (lost_sku, lost_item) = picked[0].clone();
    let (recv_sku, recv_item) = picked[1].clone();

    // Amazon loses 2 units of one item (and pays for them), receives 6 of another, 4 of which
    // the seller still holds in its own warehouse in SAP.
    assert!(sb.add_fba_event(&lost_sku, FbaEventKind::Lost, 2));
    assert!(sb.add_fba_event(&recv_sku, FbaEventKind::Received, 6));
    let sap_set =
        |set: &'static str| sap_b1_client::EntitySet::<Value>::new(engine.sap.clone(), set);
    sap_set("InventoryGenEntries")
        .create(&json!({"DocumentLines": [{"ItemCode": recv_item, "Quantity": 4, "WarehouseCode": "01"}]}))
        .await
        .unwrap();
    let currency = sb.world().marketplaces[0].currency;
    let file = reimbursement_file("90023", currency, &lost_sku, 2, "31.40");
    engine
        .import_settlement(
            file.as_bytes(),
            "reimbursement.txt",
            &SettlementOptions::default(),
        )
        .await
        .unwrap();

    // The read-only report names the reimbursement of the lost units.
    let report = engine.reconcile_fba().await.unwrap();
    let lost_line = report
        .differences
        .iter()
        .find(|d| d.item_code == lost_item)
        .unwrap();
    assert_eq!(lost_line.difference, Decimal::from(-2));
    assert_eq!(
        lost_line
            .reimbursements
            .iter()
            .map(|r| (r.settlement_id.as_str(), r.amount, r.quantity))
            .collect::<Vec<_>>(),
        [("90023", "31.40".parse().unwrap(), 2)]
    );
    let (code, out) = cli(&config, &["fba", "reconcile"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("settlement 90023 WAREHOUSE_LOST 31.40"),
        "{out}"
    );

    // Held for review: nothing reaches SAP.
    let fba_before = in_stock(&sb, &lost_item, "FBA");
    let held = engine.sync_fba().await.unwrap();
    assert!(!held.differences.is_empty());
    assert_eq!(held.adjustments.len(), held.differences.len());
    assert!(
        held.adjustments
            .iter()
            .all(|a| a.state == "held" && a.detail.starts_with("review: ")),
        "{:?}",
        held.adjustments
    );
    assert_eq!(in_stock(&sb, &lost_item, "FBA"), fba_before);
    let lost_key = adjustment_key(&seller, &lost_item, 1);
    let lost = held.adjustments.iter().find(|a| a.key == lost_key).unwrap();
    assert_eq!(lost.units, Decimal::from(-2));
    assert!(
        lost.detail.contains("goods issue of 2")
            && lost
                .detail
                .contains("settlement 90023 WAREHOUSE_LOST 31.40"),
        "{}",
        lost.detail
    );
    let recv_key = adjustment_key(&seller, &recv_item, 1);
    let recv = held.adjustments.iter().find(|a| a.key == recv_key).unwrap();
    assert!(
        recv.detail.contains("transfer 4 from 01") && recv.detail.contains("goods receipt of 2"),
        "{}",
        recv.detail
    );
    // A second run holds the same documents again, under the same keys.
    let again = engine.sync_fba().await.unwrap();
    let keys = |r: &FbaReport| {
        r.adjustments
            .iter()
            .map(|a| a.key.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&again), keys(&held));

    // The reviewer approves each one.
    for a in &held.adjustments {
        match engine.replay(&a.key).await.unwrap() {
            ReplayOutcome::Posted(PostOutcome::Posted { .. }) => {}
            other => panic!("{}: {other:?}", a.key),
        }
    }
    let after = engine.reconcile_fba().await.unwrap();
    assert!(after.differences.is_empty(), "{:?}", after.differences);
    assert!(!after.needs_attention());
    assert_eq!(
        in_stock(&sb, &lost_item, "FBA"),
        fba_before - Decimal::from(2)
    );
    assert_eq!(
        in_stock(&sb, &recv_item, "01"),
        Decimal::ZERO,
        "4 transferred"
    );
    let transfers = sb.sap_entities("StockTransfers");
    assert_eq!(transfers.len(), 1);
    assert!(
        transfers[0]["Comments"]
            .as_str()
            .unwrap()
            .ends_with(&recv_key)
    );
    // Posted once: a replay again sends nothing.
    assert!(matches!(
        engine.replay(&lost_key).await.unwrap(),
        ReplayOutcome::AlreadyPosted { .. }
    ));
    let (code, out) = cli(&config, &["audit", "show", &lost_key]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("POSTED") && out.contains("HELD"), "{out}");
    assert!(out.contains("InventoryGenExits"), "{out}");
    drop(engine);

    // Posting on: `fba reconcile --post` adjusts directly, under the item's next key.
    common::edit_config(&config, "post = \"hold\"", "post = \"post\"");
    assert!(sb.add_fba_event(&lost_sku, FbaEventKind::Lost, 1));
    let run = bin(&config)
        .args(["fba", "reconcile", "--post", "--json"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{out}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let next = adjustment_key(&seller, &lost_item, 2);
    assert_eq!(json["adjustments"][0]["key"], json!(next), "{out}");
    assert_eq!(json["adjustments"][0]["state"], "posted", "{out}");
    let (code, out) = cli(&config, &["fba", "reconcile"]);
    assert_eq!(code, Some(0), "SAP equals Amazon: {out}");
    let docs = common::ledger(&config)
        .list(&DocFilter {
            flow: Some("fba".into()),
            ..DocFilter::default()
        })
        .unwrap();
    assert!(docs.iter().all(|d| d.state == DocState::Posted), "{docs:?}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eu_fba_adjustments_leave_sap_equal_to_amazon() {
    adjustments_leave_sap_equal_to_amazon(WorldKind::Eu).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn na_fba_adjustments_leave_sap_equal_to_amazon() {
    adjustments_leave_sap_equal_to_amazon(WorldKind::Na).await;
}

/// An adjustment whose answer was lost (SAP holds its document, the ledger is UNKNOWN) is found in
/// SAP by the key at the end of its comments on the next run: posted once, never twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adjustment_in_doubt_is_found_in_sap_not_sent_twice() {
    let sb = start_sandbox_in(WorldKind::Na, 31, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_workspace(dir.path(), &sb);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[fba]\nwarehouse = \"FBA\"\npost = \"hold\"\n"),
    )
    .unwrap();
    let engine = writer_for(&config);
    engine.sync_orders(&SyncOptions::default()).await.unwrap();
    let first = engine.reconcile_fba().await.unwrap();
    let (sku, item) = agreeing_items(&first, &sb)[0].clone();
    assert!(sb.add_fba_event(&sku, FbaEventKind::Lost, 1));
    engine.sync_fba().await.unwrap();
    let key = adjustment_key(&sb.seller_id(), &item, 1);
    let planned: FbaAdjustment =
        serde_json::from_str(&engine.ledger().get(&key).unwrap().unwrap().payload).unwrap();
    let exits_before = sb.sap_entities("InventoryGenExits").len();
    // Sent, the answer lost: SAP has it, the ledger does not know.
    for (set, body) in planned.bodies() {
        sap_b1_client::EntitySet::<Value>::new(engine.sap.clone(), set)
            .create(&body)
            .await
            .unwrap();
    }
    {
        let mut ledger = engine.ledger();
        ledger
            .transition(&key, DocState::Planned, "approved")
            .unwrap();
        ledger.transition(&key, DocState::Sending, "POST").unwrap();
        ledger
            .transition(&key, DocState::Unknown, "timeout")
            .unwrap();
    }
    engine.sync_fba().await.unwrap();
    let rec = engine.ledger().get(&key).unwrap().unwrap();
    assert_eq!(rec.state, DocState::Posted);
    assert_eq!(
        sb.sap_entities("InventoryGenExits").len(),
        exits_before + 1,
        "one goods issue"
    );
    let after = engine.reconcile_fba().await.unwrap();
    assert!(after.differences.iter().all(|d| d.item_code != item));
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_adjustment_no_longer_needed_is_closed_and_a_new_difference_gets_a_new_one() {
    let sb = start_sandbox_in(WorldKind::Eu, 23, 200).await;
    let (_dir, config) = fba_workspace(&sb);
    let seller = sb.seller_id();
    let engine = writer_for(&config);
    engine.sync_orders(&SyncOptions::default()).await.unwrap();
    let first = engine.reconcile_fba().await.unwrap();
    let (sku, item) = agreeing_items(&first, &sb)[0].clone();
    assert!(sb.add_fba_event(&sku, FbaEventKind::Lost, 2));
    let held = engine.sync_fba().await.unwrap();
    let key = adjustment_key(&seller, &item, 1);
    assert!(
        held.adjustments
            .iter()
            .any(|a| a.key == key && a.state == "held")
    );
    // The units turn up again at Amazon: nothing is left to post, and nothing needs a person.
    assert!(sb.add_fba_event(&sku, FbaEventKind::Returned, 2));
    let closed = engine.sync_fba().await.unwrap();
    assert!(
        closed
            .adjustments
            .iter()
            .any(|a| a.key == key && a.state == "closed"),
        "{:?}",
        closed.adjustments
    );
    // (`status` lists HELD, FAILED and UNKNOWN documents: a closed one is none of them.)
    let rec = common::ledger(&config).get(&key).unwrap().unwrap();
    assert_eq!(rec.state, DocState::Dismissed, "closed, not refused");
    // A later difference of the same item is a new adjustment under the next key.
    assert!(sb.add_fba_event(&sku, FbaEventKind::Lost, 1));
    let again = engine.sync_fba().await.unwrap();
    let next = adjustment_key(&seller, &item, 2);
    assert!(
        again
            .adjustments
            .iter()
            .any(|a| a.key == next && a.state == "held"),
        "{:?}",
        again.adjustments
    );
    sb.shutdown().await;
}
