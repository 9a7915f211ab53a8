//! SAP items, prices and stock -> Amazon listings: what changes is pushed, exactly once.

mod common;

use std::collections::BTreeSet;
use std::time::Instant;

use common::items::*;
use common::{engine_for, ledger, start_sandbox};
use connector_app::flows::items::listing_key;
use connector_app::ledger::{Ledger, ListingStatus};
use rust_decimal::Decimal;
use sandbox::amazon::listings::Listing;
use sandbox::world::Channel;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_and_stock_changes_update_exactly_those_skus_and_a_second_run_sends_nothing() {
    let sb = start_sandbox(SEED, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = items_workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config);
    let world = sb.world();
    let start = catalog(&sb);

    // First run: every listing is read once; SAP and Amazon already agree, so nothing is sent.
    let first = sync(&engine).await;
    assert_eq!(first.listings_read as usize, world.catalog.len() * 3);
    assert!(first.planned.is_empty(), "{:?}", first.planned);
    assert!(!first.needs_attention(), "{:?}", first.issues);
    assert_eq!(catalog(&sb), start);

    // Change some items in the fake SAP: prices through the Service Layer, stock like a goods movement.
    let mfn: Vec<_> = world
        .catalog
        .iter()
        .filter(|p| p.channel == Channel::Mfn)
        .collect();
    let afn: Vec<_> = world
        .catalog
        .iter()
        .filter(|p| p.channel == Channel::Afn)
        .collect();
    let (priced, restocked, frozen) = (mfn[0], mfn[1], mfn[2]);
    let fba = afn[0];
    engine
        .sap
        .items()
        .update(
            priced.item_code.as_str(),
            &json!({"ItemPrices": [{"PriceList": 2, "Price": 33.33}]}),
        )
        .await
        .unwrap();
    engine
        .sap
        .items()
        .update(
            fba.item_code.as_str(),
            &json!({"ItemPrices": [{"PriceList": 3, "Price": 12.5}]}),
        )
        .await
        .unwrap();
    assert!(sb.set_item_stock(&fba.item_code, "FBA", 3));
    assert!(sb.set_item_stock(&restocked.item_code, "01", 7));
    engine
        .sap
        .items()
        .update(frozen.item_code.as_str(), &json!({"Frozen": "tYES"}))
        .await
        .unwrap();

    let second = sync(&engine).await;
    let expected: BTreeSet<(String, String)> = [
        (&priced.sku, DE),
        (&priced.sku, FR),
        (&fba.sku, UK),
        (&restocked.sku, DE),
        (&restocked.sku, FR),
        (&restocked.sku, UK),
        (&frozen.sku, DE),
        (&frozen.sku, FR),
        (&frozen.sku, UK),
    ]
    .into_iter()
    .map(|(s, m)| (s.clone(), m.to_owned()))
    .collect();
    assert_eq!(pairs(&second), expected);
    assert_eq!(second.listings_updated, 9);
    assert_eq!(second.sent_by_patch, 9);
    assert!(!second.needs_attention(), "{:?}", second.issues);
    let after = catalog(&sb);
    for (key, listing) in &after {
        if !expected.contains(key) {
            assert_eq!(listing, &start[key], "{key:?} was not to change");
        }
    }
    let at = |sku: &str, m: &str| after[&(sku.to_owned(), m.to_owned())].clone();
    assert_eq!(at(&priced.sku, DE).price, dec("33.33"));
    assert_eq!(at(&priced.sku, DE).currency, "EUR");
    assert_eq!(
        at(&priced.sku, UK),
        start[&(priced.sku.clone(), UK.to_owned())]
    );
    assert_eq!(at(&fba.sku, UK).price, dec("12.5"));
    assert_eq!(at(&fba.sku, UK).currency, "GBP");
    for m in [DE, FR, UK] {
        // 7 in SAP, less the world's open orders of it (SAP does not know them yet).
        let open = open_units(&sb, &restocked.item_code);
        assert_eq!(at(&restocked.sku, m).quantity, (7 - open).max(0));
        assert_eq!(
            at(&frozen.sku, m).quantity,
            0,
            "frozen: quantity 0, listing kept"
        );
        assert_eq!(at(&fba.sku, m).quantity, fba.stock, "FBA stock is Amazon's");
    }
    // FBA SKUs never get a quantity.
    for p in &afn {
        for m in [DE, FR, UK] {
            assert_eq!(at(&p.sku, m).quantity, p.stock, "{} {m}", p.sku);
        }
    }
    let fba_change = second.planned.iter().find(|c| c.sku == fba.sku).unwrap();
    assert!(fba_change.fba && fba_change.quantity_new.is_none());

    // The audit trail has before, after and Amazon's answer.
    let ledger = ledger(&config);
    let key = listing_key(&world.seller_id, DE, &priced.sku);
    let rows = ledger.audit_rows(Some(&key), None).unwrap();
    let push = rows.iter().find(|r| r.event == "push").expect("a push row");
    let detail: serde_json::Value = serde_json::from_str(&push.detail).unwrap();
    assert_eq!(detail["after"]["price"], "33.33");
    assert_eq!(detail["before"]["price"], priced.price_eur.to_string());
    assert_eq!(detail["response"]["status"], "ACCEPTED");

    // Nothing changed: nothing is sent; the accepted changes are read back and verified.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let third = sync(&engine).await;
    assert!(third.planned.is_empty(), "{:?}", third.planned);
    assert_eq!(third.listings_updated, 0);
    assert_eq!(third.sent_by_patch + third.sent_by_feed, 0);
    assert_eq!(third.verified, 9);
    assert_eq!(catalog(&sb), after);
    let states = ledger.listing_states().unwrap();
    assert_eq!(
        states
            .iter()
            .filter(|s| s.status == ListingStatus::Verified)
            .count(),
        9
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skus_with_quotes_and_slashes_round_trip() {
    let sb = start_sandbox(SEED, 200).await;
    let world = sb.world();
    let quoted = world
        .catalog
        .iter()
        .find(|p| p.sku.contains('\'') && p.sku.contains('"'))
        .expect("the world has SKUs with quotes");
    // One item feeds two SKUs: its own code and a SKU with a slash, a quote and a double quote.
    let mug = world
        .catalog
        .iter()
        .find(|p| p.channel == Channel::Mfn && p.sku == p.item_code && !p.sku.contains('\''))
        .unwrap();
    let slashed = "MUG/BLUE 12\" O'Neil";
    sb.add_listing(Listing {
        sku: slashed.into(),
        marketplace_id: DE.into(),
        asin: "B0SLASH001".into(),
        title: "Mug, blue".into(),
        product_type: "PRODUCT".into(),
        fulfillment_channel_code: "DEFAULT".into(),
        price: dec("30.00"),
        currency: "EUR".into(),
        quantity: 1,
        last_updated: None,
    });
    let dir = tempfile::tempdir().unwrap();
    let sku_map = format!(
        "{} = {}\n{} = {}\n",
        toml_key(slashed),
        toml_key(&mug.item_code),
        toml_key(&mug.sku),
        toml_key(&mug.item_code),
    );
    let config = items_workspace(&sb, dir.path(), &items_section("", UK_GBP), &sku_map);
    let engine = engine_for(&config);
    // The quoted item's price changes through the Service Layer (its key has quotes).
    engine
        .sap
        .items()
        .update(
            quoted.item_code.as_str(),
            &json!({"ItemPrices": [{"PriceList": 2, "Price": 44.4}]}),
        )
        .await
        .unwrap();

    let first = sync(&engine).await;
    assert!(!first.needs_attention(), "{:?}", first.issues);
    assert_eq!(first.not_listed, 2, "the slash SKU is listed in DE only");
    let listing = sb.listing(slashed, DE).unwrap();
    assert_eq!(listing.price, mug.price_eur);
    assert_eq!(listing.quantity, mug.stock);
    assert_eq!(sb.listing(&quoted.sku, DE).unwrap().price, dec("44.4"));
    assert_eq!(sb.listing(&quoted.sku, FR).unwrap().price, dec("44.4"));
    assert_eq!(
        pairs(&first),
        [
            (quoted.sku.clone(), DE.to_owned()),
            (quoted.sku.clone(), FR.to_owned()),
            (slashed.to_owned(), DE.to_owned()),
        ]
        .into_iter()
        .collect()
    );
    let ledger = ledger(&config);
    let states = ledger.listing_states().unwrap();
    assert!(
        states
            .iter()
            .any(|s| s.sku == slashed && s.status == ListingStatus::Accepted)
    );
    let rows = ledger
        .audit_rows(Some(&listing_key(&world.seller_id, DE, slashed)), None)
        .unwrap();
    assert!(rows.iter().any(|r| r.event == "push"));

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = sync(&engine).await;
    assert!(second.planned.is_empty(), "{:?}", second.planned);
    assert_eq!(second.verified, 3);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_changed_skus_go_out_as_one_feed_with_a_result_per_sku() {
    let t0 = Instant::now();
    let sb = start_sandbox(SEED, 20_000).await;
    let world = sb.world();
    assert_eq!(world.catalog.len(), 2000);
    let dir = tempfile::tempdir().unwrap();
    let items = format!(
        r#"
[items]
marketplaces = ["{DE}"]
warehouses = ["01"]
feed_threshold = 500
verify_after = "1s"
feed_poll = "1s"

[items.price_lists]
{DE} = {{ price_list = 2, currency = "EUR" }}
"#
    );
    let config = items_workspace(&sb, dir.path(), &items, "");
    let engine = engine_for(&config);
    eprintln!("sandbox with 2000 items ready in {:?}", t0.elapsed());

    // Every price changes in SAP (through the Service Layer).
    let t1 = Instant::now();
    let sap = engine.sap.clone();
    let updates: Vec<_> = world
        .catalog
        .iter()
        .map(|p| (p.item_code.clone(), p.price_eur + Decimal::ONE))
        .collect();
    use futures::StreamExt;
    let results: Vec<_> = futures::stream::iter(updates)
        .map(|(code, price)| {
            let sap = sap.clone();
            async move {
                sap.items()
                    .update(
                        code.as_str(),
                        &json!({"ItemPrices": [{"PriceList": 2, "Price": price}]}),
                    )
                    .await
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok));
    eprintln!("2000 SAP price changes in {:?}", t1.elapsed());

    let t2 = Instant::now();
    let report = sync(&engine).await;
    eprintln!("items sync of 2000 changes in {:?}", t2.elapsed());
    assert_eq!(report.planned.len(), 2000);
    assert_eq!(report.sent_by_feed, 2000);
    assert_eq!(report.sent_by_patch, 0);
    assert_eq!(report.feeds.len(), 1);
    assert_eq!(report.listings_updated, 2000);
    assert!(!report.needs_attention(), "{:?}", report.issues);
    let listings = catalog(&sb);
    for p in &world.catalog {
        let l = &listings[&(p.sku.clone(), DE.to_owned())];
        assert_eq!(l.price, p.price_eur + Decimal::ONE, "{}", p.sku);
        let other = &listings[&(p.sku.clone(), FR.to_owned())];
        assert_eq!(other.price, p.price_eur, "FR is not synced");
    }
    // Each SKU's result is recorded: state, feed message and an audit row of the processing report.
    let ledger = ledger(&config);
    let states = ledger.listing_states().unwrap();
    let feed = &report.feeds[0];
    let accepted: Vec<_> = states
        .iter()
        .filter(|s| {
            s.status == ListingStatus::Accepted
                && s.submission
                    .as_deref()
                    .is_some_and(|x| x.starts_with(&format!("feed:{feed}:")))
        })
        .collect();
    assert_eq!(accepted.len(), 2000);
    let results = ledger
        .audit_rows(None, None)
        .unwrap()
        .into_iter()
        .filter(|r| r.event == "feed-result")
        .count();
    assert_eq!(results, 2000);
    eprintln!("total {:?}", t0.elapsed());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_the_orders_flow_invoices_reaches_amazon_for_mfn_skus_only() {
    let sb = start_sandbox(SEED, 200).await;
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    let config = items_workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let demo = connector_app::demo::run_flows(&sb, &config, SEED, common::TIME_SCALE)
        .await
        .unwrap();
    assert!(demo.invoices_posted > 0);
    // The demo runs the items flow after the orders flow: the stock the invoices took is pushed.
    let report = demo.items.clone();
    assert!(!report.needs_attention(), "{:?}", report.issues);
    assert!(report.listings_updated > 0, "invoices moved stock");
    for c in &report.planned {
        let p = world.catalog.iter().find(|p| p.sku == c.sku).unwrap();
        assert_eq!(p.channel, Channel::Mfn, "{}: FBA stock is Amazon's", c.sku);
        assert!(c.price_new.is_none(), "prices did not change");
        let item = sb
            .sap_entity("Items", &sandbox::sap::store::Key::Str(p.item_code.clone()))
            .unwrap();
        let in_01 = item["ItemWarehouseInfoCollection"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["WarehouseCode"] == "01")
            .unwrap()["InStock"]
            .as_i64()
            .unwrap();
        // Less the world's open orders, which SAP does not know yet.
        let offered = (in_01 - open_units(&sb, &p.item_code)).max(0);
        assert_eq!(c.quantity_new, Some(offered as u32), "{}", c.sku);
        assert_eq!(
            sb.listing(&c.sku, &c.marketplace).unwrap().quantity,
            offered
        );
    }
    sb.shutdown().await;
}
