//! Orders -> invoices end to end against the sandbox over real HTTP.

mod common;

use common::{TIME_SCALE, cli, dec, edit_config, start_sandbox, workspace};
use connector_app::demo::{run_flows, toml_string};
use rust_decimal::Decimal;
use sandbox::Sandbox;
use sandbox::world::OrderStatus;

const SEED: u64 = 11;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sync_posts_one_invoice_per_shipped_order_and_a_second_posts_none() {
    let sb = start_sandbox(SEED, 80).await;
    let (_dir, config) = workspace(&sb);

    let first = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    let world = sb.world();
    let shipped: Vec<_> = world
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::Shipped)
        .collect();
    assert!(shipped.len() > 20, "the world has shipped orders");
    assert_eq!(first.failed, 0, "{:?}", first.orders.failed);
    assert_eq!(first.unknown, 0, "{:?}", first.orders.unknown);
    assert_eq!(
        first.invoices_posted as usize + first.held,
        shipped.len(),
        "{:?}",
        first.orders.held
    );
    assert_eq!(first.duplicates_in_sap, 0);

    // Every posted invoice: right customer, items, quantities and totals.
    for o in &shipped {
        let docs = sb.sap_by_num_at_card("Invoices", &o.id);
        if first.orders.held.iter().any(|h| h.key.contains(&o.id)) {
            assert!(docs.is_empty());
            continue;
        }
        assert_eq!(docs.len(), 1, "order {}", o.id);
        let inv = &docs[0];
        let m = &world.marketplaces[o.marketplace];
        assert_eq!(inv["CardCode"], m.customer, "order {}", o.id);
        assert_eq!(inv["DocCurrency"], m.currency);
        // Dated by the day its package was handed to the carrier where Amazon gives packages
        // (merchant-fulfilled orders), else by Amazon's last update, in the marketplace's zone.
        let zone = sp_api_client::time_zone::MarketplaceZone::of(m.id).unwrap();
        let dated = match o.channel {
            sandbox::world::Channel::Mfn => o.shipped.unwrap(),
            sandbox::world::Channel::Afn => o.last_updated,
        };
        let day = zone.local_date(dated).to_string();
        assert_eq!(inv["DocDate"], day, "order {} {:?}", o.id, o.channel);
        assert_eq!(inv["TaxDate"], day, "order {}", o.id);
        // The items' lines (the shipping and promotion lines carry the configured items).
        let lines: Vec<&serde_json::Value> = inv["DocumentLines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["ItemCode"] != "SHIPPING" && l["ItemCode"] != "PROMOTION")
            .collect();
        assert_eq!(lines.len(), o.items.len());
        for (line, item) in lines.iter().zip(&o.items) {
            assert_eq!(line["ItemCode"], world.catalog[item.product].item_code);
            assert_eq!(dec(&line["Quantity"]), Decimal::from(item.quantity));
        }
        // What the buyer paid (VAT-inclusive) is the invoice total where the seller charges the VAT;
        // where Amazon collects it, the invoice is the net amount.
        let gross: Decimal = o
            .items
            .iter()
            .map(|i| i.item_price + i.shipping - i.promotion)
            .sum();
        let vat: Decimal = o.items.iter().map(|i| i.item_tax + i.shipping_tax).sum();
        // In the order's currency: DocTotalFc on a foreign-currency invoice (DocTotal is local).
        let total_fc = dec(&inv["DocTotalFc"]);
        let total = if total_fc.is_zero() {
            dec(&inv["DocTotal"])
        } else {
            total_fc
        };
        if m.facilitator_vat {
            // The tax the promotions took off, as Amazon reports it per item (reduced rates too).
            let promo_vat: Decimal = o.items.iter().map(|i| i.promotion_tax).sum();
            assert_eq!(total, gross - vat + promo_vat, "order {}", o.id);
        } else {
            // To the cent: items and shipping are sent gross (`PriceAfterVAT`).
            assert_eq!(total, gross, "order {}", o.id);
        }
    }

    eprintln!(
        "first run: posted {} held {} seen {} not yet {}",
        first.invoices_posted, first.held, first.orders_seen, first.not_yet_shipped
    );
    // Every order read is in exactly one of the summary's counts (cancelled ones too).
    assert_eq!(first.orders_accounted(), first.orders_seen, "{first:?}");
    assert_eq!(first.orders.orders_accounted(), first.orders_seen);
    let second = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(second.orders_accounted(), second.orders_seen, "{second:?}");
    assert_eq!(second.invoices_posted, 0);
    assert_eq!(second.invoices_found_in_sap, 0);
    assert_eq!(second.already_posted, first.invoices_posted);
    assert_eq!(second.duplicates_in_sap, 0);
    assert_eq!(sb.sap_count("Invoices"), first.invoices_posted as usize);
    sb.shutdown().await;
}

/// (order id, DocTotal) of every invoice in the fake SAP, sorted.
fn invoices(sb: &Sandbox) -> Vec<(String, Decimal)> {
    let mut v: Vec<_> = sb
        .sap_entities("Invoices")
        .iter()
        .map(|d| {
            (
                d["NumAtCard"].as_str().unwrap_or_default().to_owned(),
                dec(&d["DocTotal"]),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_429_storms_and_lost_responses_change_nothing_in_the_result() {
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};

    let clean = start_sandbox(SEED, 60).await;
    let (_clean_dir, clean_cfg) = workspace(&clean);
    run_flows(&clean, &clean_cfg, SEED, TIME_SCALE)
        .await
        .unwrap();
    let expected = invoices(&clean);
    clean.shutdown().await;

    let sb = start_sandbox(SEED, 60).await;
    sb.add_fault(
        FaultRule::new(System::Sap, "/Invoices", FaultKind::ExpireSession)
            .method("POST")
            .trigger(Trigger::Probability(0.3)),
    );
    sb.add_fault(
        FaultRule::new(System::SpApi, "/orders/", FaultKind::QuotaExceeded)
            .trigger(Trigger::Times(3)),
    );
    sb.add_fault(
        FaultRule::new(System::Sap, "/Invoices", FaultKind::CommitThenDrop)
            .method("POST")
            .trigger(Trigger::Times(2)),
    );
    let (_dir, cfg) = workspace(&sb);
    let first = run_flows(&sb, &cfg, SEED, TIME_SCALE).await.unwrap();
    // Two responses were lost after SAP committed: those invoices are UNKNOWN, not re-sent blindly.
    assert_eq!(first.unknown, 2, "{:?}", first.orders.unknown);
    assert_eq!(first.duplicates_in_sap, 0);
    let second = run_flows(&sb, &cfg, SEED, TIME_SCALE).await.unwrap();
    // Each one was looked up first: found -> kept, absent (the fault hit before SAP committed) -> sent.
    assert!(
        second.invoices_found_in_sap >= 1,
        "a committed-then-dropped invoice is found, not re-sent"
    );
    assert_eq!(second.invoices_found_in_sap + second.invoices_posted, 2);
    assert_eq!(second.unknown + second.failed + second.held, 0);
    assert_eq!(second.duplicates_in_sap, 0);
    assert_eq!(invoices(&sb), expected, "same documents as a clean run");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmapped_sku_holds_its_order_the_rest_post_and_replay_posts_it_after_the_fix() {
    let sb = start_sandbox(SEED, 60).await;
    let (_dir, config) = workspace(&sb);
    let world = sb.world();
    // Forget the mapping of a SKU that a shipped order uses.
    let (sku, item_code) = world
        .sku_mappings()
        .into_iter()
        .find(|(sku, _)| {
            world.orders.iter().any(|o| {
                o.status == OrderStatus::Shipped
                    && o.items.iter().any(|i| &world.catalog[i.product].sku == sku)
            })
        })
        .expect("a shipped order uses a mapped SKU");
    let original = std::fs::read_to_string(&config).unwrap();
    let line = format!("{} = {}\n", toml_string(&sku), toml_string(&item_code));
    assert!(original.contains(&line));
    std::fs::write(&config, original.replace(&line, "")).unwrap();

    let run = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    assert!(run.held >= 1);
    let held = &run.orders.held[0];
    assert!(
        held.reason
            .contains(&format!("item {sku} does not exist in SAP")),
        "{}",
        held.reason
    );
    assert!(run.invoices_posted > 10, "the other orders post");
    let order_id = held.key.split(':').nth(3).unwrap().to_owned();
    assert!(sb.sap_by_num_at_card("Invoices", &order_id).is_empty());

    // status and audit show it (through the binary, as a user would see it).
    let cli = |args: &[&str]| cli(&config, args);
    let (_, status) = cli(&["status"]);
    assert!(
        status.contains("HELD") && status.contains(&held.key),
        "{status}"
    );
    let (_, audit) = cli(&["audit", "show", &held.key]);
    assert!(
        audit.contains("-> HELD") && audit.contains("does not exist in SAP"),
        "{audit}"
    );

    // Still unmapped: replay keeps it held and says why.
    let (code, out) = cli(&["replay", &held.key]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("still held"), "{out}");

    // Fix the mapping; replay posts it from the stored source.
    std::fs::write(&config, &original).unwrap();
    let (code, out) = cli(&["replay", &held.key]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("posted (DocEntry"), "{out}");
    let docs = sb.sap_by_num_at_card("Invoices", &order_id);
    assert_eq!(docs.len(), 1);
    assert!(
        docs[0]["DocumentLines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["ItemCode"] == item_code.as_str())
    );
    let (_, again) = cli(&["replay", &held.key]);
    assert!(again.contains("already posted"), "{again}");
    assert_eq!(sb.sap_duplicates("Invoices", "NumAtCard").len(), 0);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_amazon_sends_malformed_is_reported_and_the_others_post() {
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};

    let sb = start_sandbox(SEED, 60).await;
    let (_dir, config) = workspace(&sb);
    // searchOrders is what this test corrupts: keep its long windows off the all-orders report.
    edit_config(
        &config,
        "[orders]\n",
        "[orders]\nreport_backfill_after = \"365d\"\n",
    );
    sb.add_fault(
        FaultRule::new(
            System::SpApi,
            "/orders/2026-01-01/orders",
            FaultKind::CorruptRecord("orders".into()),
        )
        .method("GET")
        .trigger(Trigger::Times(1)),
    );
    let first = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(first.failed, 1, "{:?}", first.orders.failed);
    let problem = &first.orders.failed[0];
    assert!(problem.key.contains("orders[0] (order "), "{problem:?}");
    assert!(problem.reason.contains("cannot read"), "{problem:?}");
    assert!(first.invoices_posted > 10, "the other orders post");
    // The cursor did not move past it; the next run reads the window again and posts the order.
    let orders_cursor = || {
        use connector_app::ledger::Ledger;
        common::ledger(&config).cursor("orders").unwrap()
    };
    assert_eq!(orders_cursor(), None, "the cursor did not move");
    let second = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(second.failed, 0);
    assert_eq!(
        orders_cursor(),
        second.orders.window_end.map(|e| e.to_rfc3339()),
        "the complete run moved it to its window's end"
    );
    let shipped = sb
        .world()
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::Shipped)
        .count();
    assert_eq!(sb.sap_count("Invoices"), shipped);
    assert_eq!(second.duplicates_in_sap, 0);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orders_cursor_moves_only_over_windows_read_completely_and_joined_to_it() {
    use chrono::{DateTime, Duration, Utc};
    use connector_app::flows::orders::SyncOptions;
    use connector_app::ledger::Ledger;
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};

    let sb = start_sandbox(SEED, 40).await;
    let (_dir, config) = workspace(&sb);
    // searchOrders is what this test corrupts: keep its long windows off the all-orders report.
    edit_config(
        &config,
        "[orders]\n",
        "[orders]\nreport_backfill_after = \"365d\"\n",
    );
    let engine = common::writer_for(&config);
    let cursor = || {
        engine
            .ledger()
            .cursor("orders")
            .unwrap()
            .map(|c| DateTime::parse_from_rfc3339(&c).unwrap().to_utc())
    };
    let since = |at: DateTime<Utc>| SyncOptions {
        since: Some(at),
        dry_run: false,
    };
    let corrupt_one_order = || {
        sb.add_fault(
            FaultRule::new(
                System::SpApi,
                "/orders/2026-01-01/orders",
                FaultKind::CorruptRecord("orders".into()),
            )
            .method("GET")
            .trigger(Trigger::Times(1)),
        )
    };
    let oldest = sb
        .world()
        .orders
        .iter()
        .map(|o| o.last_updated)
        .min()
        .unwrap()
        - Duration::days(1);
    assert_eq!(cursor(), None, "a new workspace has no cursor");

    // A run that could not read one order: the window is not complete, no cursor.
    corrupt_one_order();
    let failed = engine.sync_orders(&since(oldest)).await.unwrap();
    assert_eq!(failed.failed.len(), 1, "{:?}", failed.failed);
    assert_eq!(cursor(), None, "a failed run moves no cursor");

    // A complete run: the cursor is the end of the window it read.
    let full = engine.sync_orders(&since(oldest)).await.unwrap();
    assert!(full.failed.is_empty(), "{:?}", full.failed);
    assert!(full.window_end.is_some());
    assert_eq!(cursor(), full.window_end);

    // Without --since the next window starts at the cursor minus the overlap (10m) and the cursor
    // moves to its end.
    let next = engine.sync_orders(&SyncOptions::default()).await.unwrap();
    assert_eq!(
        next.window_start,
        full.window_end.map(|e| e - Duration::minutes(10))
    );
    assert!(next.window_end >= full.window_end);
    assert_eq!(cursor(), next.window_end);

    // A cursor from days ago: a --since window that starts after it leaves a gap between the two,
    // so the cursor must not jump over the unread part.
    let old_cursor = oldest + Duration::days(1);
    engine
        .ledger()
        .set_cursor("orders", &old_cursor.to_rfc3339())
        .unwrap();
    // A failed run from the cursor leaves it where it was.
    corrupt_one_order();
    let failed = engine.sync_orders(&SyncOptions::default()).await.unwrap();
    assert_eq!(failed.failed.len(), 1, "{:?}", failed.failed);
    assert_eq!(cursor(), Some(old_cursor), "a failed run moves no cursor");
    let later = engine
        .sync_orders(&since(old_cursor + Duration::hours(1)))
        .await
        .unwrap();
    assert!(later.window_end.is_some() && later.failed.is_empty());
    assert_eq!(
        cursor(),
        Some(old_cursor),
        "a later --since never moves the cursor past what was read"
    );

    // A --since window that starts at or before the cursor covers it: the cursor moves.
    let covering = engine
        .sync_orders(&since(old_cursor - Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(cursor(), covering.window_end);
    assert_eq!(sb.sap_duplicates("Invoices", "NumAtCard").len(), 0);
    drop(engine);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_invoiced_when_accepted_then_cancelled_gets_one_credit_note_based_on_its_invoice()
{
    use chrono::Duration;
    use connector_app::flows::orders::SyncOptions;

    let sb = start_sandbox(SEED, 40).await;
    let (_dir, config) = workspace(&sb);
    edit_config(
        &config,
        "[orders]\n",
        "[orders]\ninvoice_when = \"accepted\"\n",
    );
    // An order paid for and not shipped yet: invoiced when accepted.
    let id = sb
        .world()
        .orders
        .iter()
        .find(|o| o.status == OrderStatus::Shipped && o.refunded.is_none())
        .unwrap()
        .id
        .clone();
    assert!(sb.set_order_status(&id, OrderStatus::Unshipped, sb.now() - Duration::hours(2)));
    let engine = common::engine_for(&config);
    let first = engine.sync_orders(&SyncOptions::default()).await.unwrap();
    assert!(
        first.failed.is_empty() && first.held.is_empty(),
        "{first:?}"
    );
    let invoices = sb.sap_by_num_at_card("Invoices", &id);
    assert_eq!(invoices.len(), 1, "invoiced when accepted");
    let invoice = &invoices[0];
    assert!(
        invoice["Comments"]
            .as_str()
            .unwrap()
            .contains("invoiced when accepted, not shipped yet"),
        "{invoice}"
    );
    assert!(sb.sap_by_num_at_card("CreditNotes", &id).is_empty());

    // Amazon cancels it before it ships.
    assert!(sb.set_order_status(&id, OrderStatus::Canceled, sb.now() - Duration::minutes(5)));
    let second = engine.sync_orders(&SyncOptions::default()).await.unwrap();
    assert_eq!(second.credit_notes_posted, 1, "{second:?}");
    assert_eq!(second.orders_accounted(), second.orders_seen, "{second:?}");
    let notes = sb.sap_by_num_at_card("CreditNotes", &id);
    assert_eq!(notes.len(), 1);
    let note = &notes[0];
    let rows = note["DocumentLines"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        invoice["DocumentLines"].as_array().unwrap().len()
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["BaseType"], 13, "{row}");
        assert_eq!(row["BaseEntry"], invoice["DocEntry"], "{row}");
        assert_eq!(row["BaseLine"], i, "{row}");
    }
    assert_eq!(dec(&note["DocTotal"]), dec(&invoice["DocTotal"]));
    assert_eq!(
        dec(&note["VatSum"]),
        dec(&invoice["VatSum"]),
        "the tax is reversed"
    );
    // SAP applied it to the open invoice: both are settled.
    let invoice = &sb.sap_by_num_at_card("Invoices", &id)[0];
    assert_eq!(
        dec(&invoice["PaidToDate"]),
        dec(&invoice["DocTotal"]),
        "{invoice}"
    );

    // Exactly once: the next runs post nothing more.
    let third = engine.sync_orders(&SyncOptions::default()).await.unwrap();
    assert_eq!(third.credit_notes_posted, 0, "{third:?}");
    assert_eq!(third.orders_accounted(), third.orders_seen, "{third:?}");
    assert_eq!(sb.sap_by_num_at_card("CreditNotes", &id).len(), 1);
    assert_eq!(sb.sap_count("CreditNotes"), 1);
    sb.shutdown().await;
}
