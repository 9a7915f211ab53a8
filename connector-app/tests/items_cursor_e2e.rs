//! SAP items -> Amazon listings: the items cursor rereads only what changed, stays put on failures,
//! and price-list rules decide what is sent.

mod common;

use common::items::*;
use common::{engine_for, ledger, start_sandbox};
use connector_app::ledger::Ledger;
use rust_decimal::Decimal;
use sandbox::amazon::listings::Listing;
use sandbox::world::Channel;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cursor_rereads_only_an_overlap_and_a_newly_mapped_sku_gets_its_price() {
    let sb = start_sandbox(SEED, 200).await;
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    let config = items_workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config);
    let mfn: Vec<_> = world
        .catalog
        .iter()
        .filter(|p| p.channel == Channel::Mfn && p.sku == p.item_code)
        .collect();
    let (x, y, w) = (mfn[0], mfn[1], mfn[2]);
    let set_price = |code: &str, price: Decimal| {
        let sap = engine.sap.clone();
        let code = code.to_owned();
        async move {
            sap.items()
                .update(
                    code.as_str(),
                    &json!({"ItemPrices": [{"PriceList": 2, "Price": price}]}),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(items_cursor(&config), None);
    let first = sync(&engine).await;
    assert_eq!(first.changed_since, None, "no cursor: every item is read");
    assert_eq!(
        items_cursor(&config),
        Some(newest_item_change(&sb)),
        "the cursor is the newest change read"
    );
    set_price(&x.item_code, x.price_eur + Decimal::ONE).await;
    let second = sync(&engine).await;
    assert_eq!(second.listings_updated, 2);
    let after_second = items_cursor(&config).unwrap();
    assert_eq!(after_second, newest_item_change(&sb), "x's change");

    // An hour later another item changes: only the items changed since the cursor minus the
    // overlap are read (x again, inside the overlap, and not sent again).
    sb.advance_clock(chrono::Duration::hours(1));
    set_price(&y.item_code, y.price_eur + Decimal::TWO).await;
    // And a SKU is newly mapped to an item that did not change: its price is fetched anyway.
    let new_sku = "NEW/SKU 1";
    sb.add_listing(Listing {
        sku: new_sku.into(),
        marketplace_id: DE.into(),
        asin: "B0NEWSKU01".into(),
        title: "New listing".into(),
        product_type: "PRODUCT".into(),
        fulfillment_channel_code: "DEFAULT".into(),
        price: w.price_eur - Decimal::ONE,
        currency: "EUR".into(),
        quantity: 0,
        last_updated: None,
    });
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[sku_map]\n",
        &format!(
            "[sku_map]\n{} = {}\n{} = {}\n",
            toml_key(new_sku),
            toml_key(&w.item_code),
            toml_key(&w.sku),
            toml_key(&w.item_code)
        ),
    );
    std::fs::write(&config, text).unwrap();
    let engine = engine_for(&config);
    let third = sync(&engine).await;
    assert_eq!(
        third.changed_since,
        Some(minus_overlap(&config, &after_second)),
        "read from the cursor minus the overlap"
    );
    let after_third = items_cursor(&config).unwrap();
    assert!(
        after_third > after_second,
        "{after_third} after {after_second}"
    );
    assert_eq!(
        after_third,
        newest_item_change(&sb),
        "y's change, an hour later"
    );
    assert_eq!(third.items_changed, 2, "x (overlap) and y");
    assert_eq!(third.listings_read, 3, "the new SKU in three marketplaces");
    assert_eq!(third.not_listed, 2);
    assert_eq!(
        pairs(&third),
        [
            (y.sku.clone(), DE.to_owned()),
            (y.sku.clone(), FR.to_owned()),
            (new_sku.to_owned(), DE.to_owned()),
        ]
        .into_iter()
        .collect()
    );
    let new = sb.listing(new_sku, DE).unwrap();
    assert_eq!(new.price, w.price_eur);
    assert_eq!(
        new.quantity,
        (w.stock - open_units(&sb, &w.item_code)).max(0)
    );
    assert_eq!(
        sb.listing(&y.sku, FR).unwrap().price,
        y.price_eur + Decimal::TWO
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_net_price_list_for_a_vat_marketplace_sends_no_prices_and_a_new_rule_rereads_all() {
    let sb = start_sandbox(SEED, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let net = format!("{DE} = {{ price_list = 2, currency = \"EUR\" }}");
    let config = items_workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    // Price list 1 (Base Price) is net: Amazon.de prices include VAT.
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains(&net));
    std::fs::write(
        &config,
        text.replace(
            &net,
            &format!("{DE} = {{ price_list = 1, currency = \"EUR\" }}"),
        ),
    )
    .unwrap();
    let engine = engine_for(&config);
    let before = catalog(&sb);
    let first = sync(&engine).await;
    assert!(first.planned.is_empty(), "{:?}", first.planned);
    assert_eq!(first.issues.len(), 1, "{:?}", first.issues);
    assert_eq!(first.issues[0].key, format!("sap:price-list:1:{DE}"));
    assert!(first.issues[0].reason.contains("net prices"));
    assert_eq!(catalog(&sb), before);

    std::fs::write(&config, text.clone()).unwrap();
    let engine = engine_for(&config);
    let fixed = sync(&engine).await;
    assert!(fixed.planned.is_empty() && !fixed.needs_attention());
    let again = sync(&engine).await;
    assert!(again.changed_since.is_some(), "the cursor is used");
    // A new rounding rule changes what every price should be: all prices are read again.
    std::fs::write(
        &config,
        text.replace("[items]\n", "[items]\nrounding = \"nearest 1\"\n"),
    )
    .unwrap();
    let engine = engine_for(&config);
    let rounded = sync(&engine).await;
    assert_eq!(rounded.changed_since, None);
    assert_eq!(rounded.planned.len(), sb.world().catalog.len() * 3);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_waited_out_and_a_failed_push_is_retried_from_the_same_cursor() {
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};

    let sb = start_sandbox(SEED, 200).await;
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    let config = items_workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config);
    // 429 storms on reads are waited out by the client.
    sb.add_fault(
        FaultRule::new(System::SpApi, "/listings/", FaultKind::QuotaExceeded)
            .method("GET")
            .trigger(Trigger::Times(5)),
    );
    let first = sync(&engine).await;
    assert_eq!(first.listings_read as usize, world.catalog.len() * 3);
    let cursor = || ledger(&config).cursor("items").unwrap();
    let after_first = cursor();
    assert!(after_first.is_some());

    let p = world
        .catalog
        .iter()
        .find(|p| p.channel == Channel::Mfn)
        .unwrap();
    engine
        .sap
        .items()
        .update(
            p.item_code.as_str(),
            &json!({"ItemPrices": [{"PriceList": 2, "Price": 77.7}]}),
        )
        .await
        .unwrap();
    // Amazon's listings endpoint is down for writes: nothing is recorded as sent, the cursor stays.
    sb.add_fault(
        FaultRule::new(System::SpApi, "/listings/", FaultKind::Status(503))
            .method("PATCH")
            .trigger(Trigger::Always),
    );
    let failed = sync(&engine).await;
    assert_eq!(failed.planned.len(), 2);
    assert_eq!(failed.failed, 2);
    assert_eq!(failed.listings_updated, 0);
    assert!(failed.needs_attention());
    assert_eq!(cursor(), after_first, "the cursor did not move");

    sb.clear_faults();
    let retried = sync(&engine).await;
    assert_eq!(retried.listings_updated, 2);
    assert!(!retried.needs_attention(), "{:?}", retried.issues);
    assert_eq!(sb.listing(&p.sku, FR).unwrap().price, dec("77.7"));
    assert_ne!(cursor(), after_first);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_sap_sends_malformed_is_reported_and_the_others_sync() {
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};

    let sb = start_sandbox(SEED, 100).await;
    let dir = tempfile::tempdir().unwrap();
    let config = items_workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config);
    // The first page of SAP's Items answer carries one record that does not parse.
    sb.add_fault(
        FaultRule::new(
            System::Sap,
            "/Items",
            FaultKind::CorruptRecord("value".into()),
        )
        .method("GET")
        .trigger(Trigger::Times(1)),
    );
    assert_eq!(items_cursor(&config), None);
    let first = sync(&engine).await;
    assert_eq!(first.failed, 1, "{:?}", first.issues);
    assert_eq!(
        items_cursor(&config),
        None,
        "a run with a failure moves no cursor"
    );
    assert!(
        first
            .issues
            .iter()
            .any(|i| i.key.starts_with("sap Items record 0") && i.reason.contains("cannot read")),
        "{:?}",
        first.issues
    );
    assert!(
        first.listings_read > 0,
        "the other items were read and their listings checked"
    );
    // The cursor did not move, so the next run reads the record again, now readable.
    let second = sync(&engine).await;
    assert_eq!(second.failed, 0, "{:?}", second.issues);
    assert!(!second.needs_attention(), "{:?}", second.issues);
    assert_eq!(items_cursor(&config), Some(newest_item_change(&sb)));
    sb.shutdown().await;
}
