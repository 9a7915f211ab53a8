//! Backfill through the all-orders report: a long `sync orders --since` window is read from
//! 30-day reports (plus `getOrder` where a report lacks what an invoice needs), posts the same
//! invoices `searchOrders` would, and never posts an invoice twice with the incremental sync,
//! whichever runs first.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use common::{edit_config, since, start_sandbox, workspace, writer_for};
use connector_app::flows::orders::{OrdersReport, SyncOptions};
use connector_app::posting::{KeyTable, instance_id};
use sandbox::Sandbox;
use sandbox::world::OrderStatus;
use serde_json::Value;

const ORDERS: usize = 300;

fn since_of(sb: &Sandbox) -> DateTime<Utc> {
    chrono::NaiveDate::parse_from_str(&since(sb), "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
}

async fn sync(config: &Path, since: DateTime<Utc>) -> OrdersReport {
    writer_for(config)
        .sync_orders(&SyncOptions {
            since: Some(since),
            dry_run: false,
        })
        .await
        .unwrap()
}

fn calls(sb: &Sandbox, op: &str) -> u64 {
    sb.sp_api_calls().get(op).map_or(0, |c| c.accepted)
}

/// Every invoice in SAP by NumAtCard: what the invoice says (customer, total, lines).
fn invoices(sb: &Sandbox) -> BTreeMap<String, Value> {
    sb.sap_entities("Invoices")
        .into_iter()
        .map(|d| {
            let lines: Vec<Value> = d["DocumentLines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    serde_json::json!([
                        l["ItemCode"],
                        l["Quantity"],
                        l["Price"],
                        l["PriceAfterVAT"],
                        l["LineTotal"],
                        l["VatGroup"],
                        l["TaxCode"]
                    ])
                })
                .collect();
            let key = d["NumAtCard"].as_str().unwrap().to_owned();
            let what = serde_json::json!([
                d["CardCode"],
                d["DocDate"],
                d["DocTotal"],
                d["VatSum"],
                d["DocCurrency"],
                lines,
                d["DocumentAdditionalExpenses"]
            ]);
            (key, what)
        })
        .collect()
}

fn shipped(sb: &Sandbox) -> usize {
    sb.world()
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::Shipped)
        .count()
}

async fn with_key_table(sb: &Sandbox, config: &Path) {
    let engine = writer_for(config);
    engine.sap.connect().await.unwrap();
    KeyTable::new("MLC_KEYS", instance_id(&engine.config.workspace.ledger))
        .create(&engine.sap)
        .await
        .unwrap();
    sb.restart_service_layer();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_through_the_report_posts_the_invoices_search_orders_would() {
    for world in [sandbox::world::WorldKind::Na, sandbox::world::WorldKind::Eu] {
        let by_report = common::start_sandbox_in(world, 71, ORDERS).await;
        let by_search = common::start_sandbox_in(world, 71, ORDERS).await;
        let (_d1, report_config) = workspace(&by_report);
        let (_d2, search_config) = workspace(&by_search);
        edit_config(
            &search_config,
            "[orders]\n",
            "[orders]\nreport_backfill_after = \"365d\"\n",
        );
        // NA without the v0 lane (every gap by getOrder), EU with it.
        let v0 = world == sandbox::world::WorldKind::Eu;
        edit_config(
            &report_config,
            "[orders]\n",
            &format!("[orders]\nbackfill_order_items_v0 = {v0}\n"),
        );
        let since = since_of(&by_report);
        assert!(
            Utc::now() - since > Duration::days(31),
            "two report windows"
        );
        let a = sync(&report_config, since).await;
        let b = sync(&search_config, since).await;
        assert!(!a.needs_attention() && !b.needs_attention(), "{a:?}\n{b:?}");
        assert_eq!(calls(&by_report, "searchOrders"), 0, "{world:?}");
        assert_eq!(calls(&by_report, "createReport"), 2, "two 30-day windows");
        assert_eq!(calls(&by_search, "createReport"), 0);
        // Orders with a promotion (the report has no promotion tax) come from getOrder, or with
        // the v0 lane from getOrderItems as well; shipped merchant orders (the report has no ship
        // time, which dates the invoice) from getOrder.
        let promoted = by_report
            .world()
            .orders
            .iter()
            .filter(|o| o.status != OrderStatus::Pending)
            .filter(|o| {
                o.items.iter().any(|i| !i.promotion.is_zero())
                    || (o.status == OrderStatus::Shipped
                        && o.channel == sandbox::world::Channel::Mfn)
            })
            .count() as u64;
        assert!(promoted > 0);
        let (get_order, items_v0) = (
            calls(&by_report, "getOrder"),
            calls(&by_report, "getOrderItems"),
        );
        assert_eq!(get_order + items_v0, promoted, "{world:?}");
        if v0 {
            assert!(
                items_v0 > 0 && get_order > 0,
                "both lanes worked: {get_order} / {items_v0}"
            );
        } else {
            assert_eq!(items_v0, 0);
        }
        assert_eq!(a.orders_seen, b.orders_seen);
        assert_eq!(a.invoices_posted, shipped(&by_report) as u64);
        assert_eq!(
            (a.invoices_posted, a.not_yet, a.never),
            (b.invoices_posted, b.not_yet, b.never)
        );
        let (ia, ib) = (invoices(&by_report), invoices(&by_search));
        assert_eq!(ia.len(), ib.len());
        for (order, invoice) in &ia {
            assert_eq!(Some(invoice), ib.get(order), "{world:?} order {order}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_and_the_incremental_sync_never_post_an_invoice_twice() {
    let sb = start_sandbox(72, ORDERS).await;
    let (_d, config) = workspace(&sb);
    with_key_table(&sb, &config).await;
    let since = since_of(&sb);
    // The incremental path first: the last 10 days by searchOrders.
    let recent = sync(&config, Utc::now() - Duration::days(10)).await;
    assert!(recent.invoices_posted > 0, "{recent:?}");
    assert_eq!(calls(&sb, "createReport"), 0);
    // Then the backfill of everything: the recent invoices are in the ledger already.
    let backfill = sync(&config, since).await;
    assert_eq!(calls(&sb, "createReport"), 2);
    assert_eq!(
        backfill.already_posted, recent.invoices_posted,
        "{backfill:?}"
    );
    assert_eq!(
        recent.invoices_posted + backfill.invoices_posted,
        shipped(&sb) as u64
    );
    // The incremental sync after it: nothing new.
    let again = sync(&config, Utc::now() - Duration::days(10)).await;
    assert_eq!(again.invoices_posted + again.found_in_sap, 0, "{again:?}");
    assert!(sb.sap_duplicates("Invoices", "NumAtCard").is_empty());
    assert_eq!(sb.sap_count("Invoices"), shipped(&sb));

    // A second workspace (another ledger, e.g. a reinstall) backfilling the same company finds
    // every invoice by its key row: the backfill's keys are the incremental path's.
    let (_d2, other) = workspace(&sb);
    let second = sync(&other, since).await;
    assert_eq!(second.invoices_posted, 0, "{second:?}");
    assert_eq!(second.found_in_sap, shipped(&sb) as u64);
    assert!(sb.sap_duplicates("Invoices", "NumAtCard").is_empty());
}
