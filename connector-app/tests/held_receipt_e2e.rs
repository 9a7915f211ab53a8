//! Settlement side of the right-books issue, end to end against the sandbox: a receipt further off
//! its invoice than the write-off tolerance is held under its own key while the rest of the
//! settlement posts (clearing keeps it), and `replay` posts it once the invoice is corrected; the
//! per-order cut-over skips the settlements before `settlements.start_after` and credits the
//! receipts of orders created before `orders.invoiced_from` to the opening receivable.

mod common;

use chrono::NaiveDate;
use common::{
    TIME_SCALE, cli, edit_config, engine_for, ledger, start_sandbox_in, workspace, writer_for,
};
use connector_app::config::Config;
use connector_app::demo::{BooksCheck, run_flows};
use connector_app::flows::orders::invoice_key;
use connector_app::flows::settlements::SettlementOptions;
use connector_app::ledger::Ledger;
use rust_decimal::Decimal;
use sandbox::world::WorldKind;
use serde_json::Value;

const SEED: u64 = 5;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// `doc` as SAP takes it back: the connector's planned invoice body.
fn document(v: &Value) -> sap_b1_client::entities::Document {
    serde_json::from_value(v.clone()).unwrap()
}

/// The live (not cancelled) invoices of an order in the fake SAP.
fn live_invoices(sb: &sandbox::Sandbox, order: &str) -> Vec<Value> {
    sb.sap_by_num_at_card("Invoices", order)
        .into_iter()
        .filter(|d| d["CancelStatus"] == "csNo" || d["CancelStatus"].is_null())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_off_its_invoice_is_held_the_rest_posts_and_replay_posts_it() {
    let sb = start_sandbox_in(WorldKind::Na, SEED, 60).await;
    let (_dir, config) = workspace(&sb);
    let since = common::since(&sb);
    let cfg = config.clone();
    let (code, out) = blocking(move || cli(&cfg, &["sync", "orders", "--since", &since])).await;
    assert_eq!(code, Some(0), "{out}");
    // A USD (the company's currency) settlement Amazon published, and one of its orders that is
    // never refunded.
    let w = sb.world();
    let (settlement, order) = w
        .settlements
        .iter()
        .filter(|s| s.currency == "USD" && sb.settlement_file(&s.id).is_some())
        .find_map(|s| {
            s.orders
                .iter()
                .map(|&i| &w.orders[i])
                .find(|o| o.refunded.is_none())
                .map(|o| (s, o))
        })
        .expect("a USD settlement paying an order never refunded");
    let seller = Config::load(&config).unwrap().amazon.seller_id;
    let key = invoice_key(&seller, &order.id);
    let right: Value =
        serde_json::from_str(&ledger(&config).get(&key).unwrap().unwrap().payload).unwrap();
    // The mistake: the invoice in SAP carries one unit too many (cancelled and re-entered by
    // hand). Amazon pays for what it sold, a unit's price less than the invoice says.
    let mut wrong = right.clone();
    let line = &mut wrong["DocumentLines"][0];
    let qty = common::dec(&line["Quantity"]);
    let unit = common::dec(&line["UnitPrice"]);
    line["Quantity"] = Value::from((qty + Decimal::ONE).to_string());
    line["LineTotal"] = Value::from((common::dec(&line["LineTotal"]) + unit).to_string());
    let engine = engine_for(&config);
    engine.sap.connect().await.unwrap();
    let original = live_invoices(&sb, &order.id);
    assert_eq!(original.len(), 1, "order {}", order.id);
    engine
        .sap
        .invoices()
        .action(original[0]["DocEntry"].as_i64().unwrap(), "Cancel")
        .await
        .unwrap();
    let wrong_doc = engine
        .sap
        .invoices()
        .create(&document(&wrong))
        .await
        .unwrap();
    drop(engine);

    // The settlements: everything posts but that order's receipt.
    let writer = writer_for(&config);
    let report = writer
        .sync_settlements(&SettlementOptions::default())
        .await
        .unwrap();
    drop(writer);
    assert!(
        report.held.is_empty() && report.failed.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.receipts_held.len(), 1, "{:?}", report.receipts_held);
    let held = &report.receipts_held[0];
    assert!(
        held.key.contains(":receipt:") && held.key.contains(&order.id),
        "{}",
        held.key
    );
    let doc_num = wrong_doc.doc_num.unwrap();
    assert!(
        held.reason.contains(&format!("invoice {doc_num}"))
            && held.reason.contains(" short")
            && held.reason.contains("clearing account keeps"),
        "{}",
        held.reason
    );
    let outcome = report
        .settlements
        .iter()
        .find(|s| s.settlement_id == settlement.id)
        .unwrap();
    assert_eq!(outcome.state, "posted", "{outcome:?}");
    let receipt = outcome.held_receipts[0].receipt;
    assert!(outcome.applications.iter().all(|a| a.order_id != order.id));
    let books = BooksCheck::of(&report);
    assert_eq!((books.receipts_held, books.amount_held), (1, receipt));
    // The rest of the settlement closed its invoices; the held order's stays open in full.
    for o in settlement.orders.iter().map(|&i| &w.orders[i]) {
        let inv = live_invoices(&sb, &o.id);
        let closed = inv.iter().all(|d| d["DocumentStatus"] == "bost_Close");
        if o.id == order.id {
            assert!(
                !closed && inv[0]["PaidToDate"].as_f64() == Some(0.0),
                "{inv:?}"
            );
        } else if !settlement.refunds.iter().any(|&r| w.orders[r].id == o.id) {
            assert!(closed, "order {} of the settlement: {inv:?}", o.id);
        }
    }
    // Meanwhile the clearing account keeps the receipt (a credit: the deposit took it out).
    let engine = engine_for(&config);
    let rec = engine.reconcile_settlement(&settlement.id).await.unwrap();
    assert_eq!(rec.clearing_balance, -receipt, "{}", rec.verdict());
    assert_eq!(rec.held_receipts.len(), 1);
    assert_eq!(rec.held_receipts[0].state, "HELD");
    assert!(!rec.reconciled);
    assert!(
        rec.verdict().contains("1 receipt(s) held"),
        "{}",
        rec.verdict()
    );
    // `status` lists it as needing attention.
    let status = common::status_of(&config);
    assert!(status.contains(&held.key), "{status}");

    // The fix: the wrong invoice cancelled, the right one posted again; replay posts the receipt.
    engine.sap.connect().await.unwrap();
    engine
        .sap
        .invoices()
        .action(i64::from(wrong_doc.doc_entry.unwrap().0), "Cancel")
        .await
        .unwrap();
    engine
        .sap
        .invoices()
        .create(&document(&right))
        .await
        .unwrap();
    drop(engine);
    let cfg = config.clone();
    let held_key = held.key.clone();
    let (code, out) = blocking(move || cli(&cfg, &["replay", &held_key])).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("posted"), "{out}");
    let live = live_invoices(&sb, &order.id);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["DocumentStatus"], "bost_Close", "{live:?}");
    let engine = engine_for(&config);
    let rec = engine.reconcile_settlement(&settlement.id).await.unwrap();
    assert!(rec.clearing_balance.is_zero(), "{}", rec.verdict());
    assert_eq!(rec.held_receipts[0].state, "POSTED");
    assert!(rec.reconciled, "{}", rec.verdict());
    // A second replay sends nothing.
    let cfg = config.clone();
    let held_key = held.key.clone();
    let (code, out) = blocking(move || cli(&cfg, &["replay", &held_key])).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("already posted"), "{out}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cut_over_skips_early_settlements_and_credits_early_orders_to_the_opening_receivable() {
    let sb = start_sandbox_in(WorldKind::Na, SEED, 60).await;
    let (_dir, config) = workspace(&sb);
    let w = sb.world();
    // Settlements ending by the first closed one's last day were booked before (skipped)...
    let cut: NaiveDate = w
        .settlements
        .iter()
        .filter(|s| s.end <= w.anchor)
        .map(|s| s.end.date_naive())
        .min()
        .unwrap();
    // ...and orders created before the day after it were invoiced there too (their receipts and
    // refunds in later settlements go to the opening receivable and to Refunds).
    let from = cut + chrono::Duration::days(1);
    edit_config(
        &config,
        "[orders]\n",
        &format!("[orders]\ninvoiced_from = \"{from}\"\n"),
    );
    edit_config(
        &config,
        "[settlements]\n",
        &format!("[settlements]\nstart_after = \"{cut}\"\nopening_receivable = \"1410\"\n"),
    );
    // The seller's account for what the earlier books left to collect.
    let engine = engine_for(&config);
    engine.sap.connect().await.unwrap();
    let account = serde_json::from_value(serde_json::json!({
        "Code": "1410", "Name": "Amazon receivable (earlier books)", "AcctCurrency": "##"
    }))
    .unwrap();
    engine
        .sap
        .chart_of_accounts()
        .create(&account)
        .await
        .unwrap();
    drop(engine);
    let run = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    let report = &run.settlements;
    assert!(
        report.held.is_empty() && report.failed.is_empty(),
        "{report:?}"
    );
    let listed: Vec<_> = w
        .settlements
        .iter()
        .filter(|s| report.settlements.iter().any(|x| x.settlement_id == s.id))
        .collect();
    let after: Vec<_> = listed.iter().filter(|s| s.end.date_naive() > cut).collect();
    let early: Vec<(&str, &str)> = after
        .iter()
        .flat_map(|s| {
            s.orders
                .iter()
                .chain(&s.refunds)
                .map(|&i| &w.orders[i])
                .filter(|o| o.purchased.date_naive() < from)
                .map(|o| (s.id.as_str(), o.id.as_str()))
        })
        .collect();
    assert!(
        !early.is_empty(),
        "a listed settlement pays an order from before {from}"
    );
    // Before the cut-over: listed as skipped, nothing in SAP.
    assert!(listed.iter().any(|s| s.end.date_naive() <= cut));
    for s in listed.iter().filter(|s| s.end.date_naive() <= cut) {
        let out = report
            .settlements
            .iter()
            .find(|x| x.settlement_id == s.id)
            .unwrap();
        assert_eq!(out.state, "skipped", "{out:?}");
        assert!(report.skipped.iter().any(|p| p.reason.contains(&s.id)));
        let prefix = format!("MLC{}-", s.id);
        assert!(
            sb.sap_entities("IncomingPayments")
                .iter()
                .chain(sb.sap_entities("JournalEntries").iter())
                .all(|d| !d["TransferReference"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(&prefix)
                    && !d["Reference2"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with(&prefix)),
            "settlement {} posted something",
            s.id
        );
    }
    // Orders before `invoiced_from`: never invoiced; their receipts credit account 1410.
    for (_, order) in &early {
        assert!(
            sb.sap_by_num_at_card("Invoices", order).is_empty(),
            "order {order} was invoiced"
        );
    }
    let engine = engine_for(&config);
    let mut on_opening = Decimal::ZERO;
    for s in &after {
        let out = report
            .settlements
            .iter()
            .find(|x| x.settlement_id == s.id)
            .unwrap();
        assert_eq!(out.state, "posted", "{out:?}");
        let expected: Decimal = out
            .applications
            .iter()
            .filter(|a| early.contains(&(s.id.as_str(), a.order_id.as_str())))
            .map(|a| a.receipt)
            .sum();
        let credited: Decimal = out.applications.iter().map(|a| a.opening_receivable).sum();
        assert_eq!(credited, expected, "settlement {}", s.id);
        on_opening += credited;
        let rec = engine.reconcile_settlement(&s.id).await.unwrap();
        assert!(rec.clearing_balance.is_zero(), "{} {}", s.id, rec.verdict());
        assert_eq!(rec.opening_receivable.amount, credited);
    }
    assert!(on_opening > Decimal::ZERO);
    // In SAP's ledger: account 1410 is credited with exactly those receipts, per settlement (in
    // its currency: FC amounts on a foreign settlement's lines).
    let num = |v: &Value| {
        if v.is_null() {
            Decimal::ZERO
        } else {
            common::dec(v)
        }
    };
    for s in &after {
        let out = report
            .settlements
            .iter()
            .find(|x| x.settlement_id == s.id)
            .unwrap();
        let credited: Decimal = out.applications.iter().map(|a| a.opening_receivable).sum();
        let in_sap: Decimal = sb
            .sap_entities("JournalEntries")
            .iter()
            .filter(|j| j["Reference"] == s.id.as_str())
            .flat_map(|j| {
                j["JournalEntryLines"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|l| l["AccountCode"] == "1410")
            .map(|l| {
                let fc = num(&l["FCCredit"]) - num(&l["FCDebit"]);
                if fc.is_zero() {
                    num(&l["Credit"]) - num(&l["Debit"])
                } else {
                    fc
                }
            })
            .sum();
        assert_eq!(in_sap, credited, "settlement {}", s.id);
    }
    sb.shutdown().await;
}
