//! Summary posting mode on both sandbox worlds, read the way the right-books tests read per-order
//! mode: every settlement posted, clearing back to zero, each marketplace customer with nothing
//! open, the summary invoices' quantities per item equal to the settlements', stock moved as
//! per-order mode moves it for the same orders, and SAP's tax per code equal to per-order mode's
//! on the same world (both runs side by side). The number of summary documents of a settlement
//! does not follow its number of orders. A switch from per-order to summary at a date in the
//! middle of the world posts no order twice.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{TIME_SCALE, engine_for, start_sandbox_in, workspace};
use connector_app::config::PostingMode;
use connector_app::demo::{DemoSummary, run_flows, write_posting};
use rust_decimal::Decimal;
use sandbox::Sandbox;
use sandbox::world::WorldKind;
use serde_json::Value;

const SEED: u64 = 5;

/// Failpoints are process-wide: the crash test must not fire inside another test's run.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const ORDERS: usize = 120;

fn dec(v: &Value) -> Decimal {
    match v {
        Value::Number(n) => n.to_string().parse().unwrap_or_default(),
        Value::String(s) => s.parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

fn is_summary(d: &Value) -> bool {
    d["NumAtCard"]
        .as_str()
        .is_some_and(|n| n.starts_with("MLCS"))
}

/// Units per item code on A/R documents of `set` chosen by `keep`.
fn units(sb: &Sandbox, set: &str, keep: impl Fn(&Value) -> bool) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    for d in sb.sap_entities(set).iter().filter(|d| keep(d)) {
        // The items' units: not the shipping and promotion lines' configured items.
        for l in d["DocumentLines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["ItemCode"] != "SHIPPING" && l["ItemCode"] != "PROMOTION")
        {
            *out.entry(l["ItemCode"].as_str().unwrap_or_default().to_owned())
                .or_default() += dec(&l["Quantity"]);
        }
    }
    out.retain(|_, q: &mut Decimal| !q.is_zero());
    out
}

/// In-stock units per item over every warehouse.
fn stock(sb: &Sandbox) -> BTreeMap<String, Decimal> {
    sb.sap_entities("Items")
        .iter()
        .map(|i| {
            let units = i["ItemWarehouseInfoCollection"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| dec(&w["InStock"]))
                .sum();
            (i["ItemCode"].as_str().unwrap_or_default().to_owned(), units)
        })
        .collect()
}

/// Tax per (code, document currency) on A/R documents chosen by `keep` (credit notes negative),
/// in the document's currency, and the rows summed.
fn ar_tax(
    sb: &Sandbox,
    keep: impl Fn(&str, &Value) -> bool,
) -> BTreeMap<(String, String), (Decimal, u32)> {
    let mut out: BTreeMap<(String, String), (Decimal, u32)> = BTreeMap::new();
    for (set, sign) in [
        ("Invoices", Decimal::ONE),
        ("CreditNotes", Decimal::NEGATIVE_ONE),
    ] {
        for d in sb.sap_entities(set).iter().filter(|d| keep(set, d)) {
            let currency = d["DocCurrency"].as_str().unwrap_or_default().to_owned();
            let foreign = d["DocRate"].as_f64().is_some_and(|r| r != 1.0);
            let (row_tax, freight_tax) = if foreign {
                ("NetTaxAmountFC", "TaxSumFC")
            } else {
                ("TaxTotal", "TaxSum")
            };
            let rows = d["DocumentLines"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| (r, row_tax))
                .chain(
                    d["DocumentAdditionalExpenses"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| (r, freight_tax)),
                );
            for (r, field) in rows {
                let code = ["VatGroup", "TaxCode"]
                    .iter()
                    .find_map(|k| r[*k].as_str().filter(|c| !c.is_empty()));
                if let Some(code) = code {
                    let e = out.entry((code.to_owned(), currency.clone())).or_default();
                    e.0 += sign * dec(&r[field]);
                    e.1 += 1;
                }
            }
        }
    }
    out
}

async fn run_in(
    world: WorldKind,
    mode: PostingMode,
    from: Option<chrono::NaiveDate>,
) -> (
    Sandbox,
    tempfile::TempDir,
    std::path::PathBuf,
    DemoSummary,
    BTreeMap<String, Decimal>,
) {
    let sb = start_sandbox_in(world, SEED, ORDERS).await;
    let (dir, config) = workspace(&sb);
    write_posting(&config, mode, from).unwrap();
    let before = stock(&sb);
    let run = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(run.failed, 0, "{world}: {:?}", run.orders.failed);
    // Summarised orders are counted as such (not as cancelled), and every order read is counted.
    assert_eq!(
        run.orders_accounted(),
        run.orders_seen,
        "{world}: {:?}",
        run.orders
    );
    if mode == PostingMode::Summary {
        assert!(run.orders.summarised > 0, "{world}: {:?}", run.orders);
        assert!(run.orders_cancelled < run.orders.summarised, "{world}");
    }
    assert_eq!(run.duplicates_in_sap, 0, "{world}");
    let report = &run.settlements;
    assert!(
        report.held.is_empty(),
        "{world} {mode:?}: {:?}",
        report.held
    );
    assert!(
        report.failed.is_empty(),
        "{world} {mode:?}: {:?}",
        report.failed
    );
    assert_eq!(
        report.settlements_posted, report.settlements_seen,
        "{world} {mode:?}"
    );
    (sb, dir, config, run, before)
}

/// Orders and refunds of the settlements a run posted, by order id.
fn settled(sb: &Sandbox, run: &DemoSummary) -> (BTreeSet<String>, BTreeSet<String>) {
    let w = sb.world();
    let posted: BTreeSet<&str> = run
        .settlements
        .settlements
        .iter()
        .filter(|s| s.state == "posted")
        .map(|s| s.settlement_id.as_str())
        .collect();
    let mut sold = BTreeSet::new();
    let mut refunded = BTreeSet::new();
    for s in w
        .settlements
        .iter()
        .filter(|s| posted.contains(s.id.as_str()))
    {
        sold.extend(s.orders.iter().map(|&o| w.orders[o].id.clone()));
        refunded.extend(s.refunds.iter().map(|&o| w.orders[o].id.clone()));
    }
    (sold, refunded)
}

async fn summary_books(world: WorldKind) {
    let (sb, _dir, config, run, before) = run_in(world, PostingMode::Summary, None).await;
    let w = sb.world();
    // Orders post nothing in summary mode: every A/R document is a summary.
    assert!(
        sb.sap_entities("Invoices").iter().all(is_summary),
        "{world}: an invoice per order was posted"
    );
    assert!(run.invoices_posted == 0, "{world}: {}", run.invoices_posted);
    // Every settlement: clearing zero, the deposit on the bank; summaries closed.
    let engine = engine_for(&config);
    for s in run
        .settlements
        .settlements
        .iter()
        .filter(|s| s.state == "posted")
    {
        let rec = engine.reconcile_settlement(&s.settlement_id).await.unwrap();
        assert!(
            rec.clearing_balance.is_zero(),
            "{world} {}: clearing {}",
            s.settlement_id,
            rec.clearing_balance
        );
        for a in &s.applications {
            assert!(
                a.invoice_left_open.is_zero() && a.on_account.is_zero(),
                "{world} {}: {a:?} ({:?})",
                s.settlement_id,
                s.notes
            );
        }
    }
    for b in sb
        .sap_account_balances()
        .iter()
        .filter(|b| ["1420", "1421", "1422"].contains(&b.account.as_str()))
    {
        assert!(b.lc.is_zero() && b.fc.is_zero(), "{world}: {b:?}");
    }
    // Customer balances: nothing open, nothing on account.
    for m in &w.marketplaces {
        let open = sb.sap_open_items(m.customer);
        assert!(open.is_empty(), "{world} {}: {open:?}", m.customer);
    }
    // Quantities per item: the settlements' order rows.
    let (sold, refunded) = settled(&sb, &run);
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    for o in w.orders.iter().filter(|o| sold.contains(&o.id)) {
        for i in &o.items {
            *expected
                .entry(w.catalog[i.product].item_code.clone())
                .or_default() += Decimal::from(i.quantity);
        }
    }
    let invoiced = units(&sb, "Invoices", is_summary);
    assert_eq!(invoiced, expected, "{world}: summary quantities per item");
    // Stock moved by exactly those units (refunds are credited without restocking).
    let after = stock(&sb);
    for (item, q) in &expected {
        assert_eq!(before[item] - after[item], *q, "{world}: stock of {item}");
    }
    // Documents per settlement: a handful, whatever its number of orders.
    let mut per_settlement: Vec<(usize, usize)> = Vec::new();
    for s in w.settlements.iter() {
        let docs = ["Invoices", "CreditNotes"]
            .iter()
            .flat_map(|set| sb.sap_entities(set))
            .filter(|d| {
                d["NumAtCard"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&format!("MLCS{}-", s.id)))
            })
            .count();
        if docs > 0 {
            per_settlement.push((s.orders.len() + s.refunds.len(), docs));
        }
    }
    assert!(per_settlement.len() >= 2, "{world}: {per_settlement:?}");
    let most_orders = per_settlement.iter().map(|p| p.0).max().unwrap();
    assert!(most_orders >= 10, "{world}: {per_settlement:?}");
    for (orders, docs) in &per_settlement {
        assert!(
            *docs <= 4,
            "{world}: {docs} A/R documents for {orders} orders"
        );
    }
    // Side by side: per-order mode on the same world, its documents of the same orders.
    let (po, _po_dir, _po_config, po_run, po_before) =
        run_in(world, PostingMode::PerOrder, None).await;
    let (po_sold, po_refunded) = settled(&po, &po_run);
    assert_eq!(
        (&po_sold, &po_refunded),
        (&sold, &refunded),
        "{world}: same settlements"
    );
    let num = |d: &Value| d["NumAtCard"].as_str().unwrap_or_default().to_owned();
    let per_order_units = units(&po, "Invoices", |d| sold.contains(&num(d)));
    assert_eq!(
        per_order_units, invoiced,
        "{world}: per-order invoices of the same orders"
    );
    let po_after = stock(&po);
    for (item, q) in &expected {
        // Per-order mode also invoices orders no settlement has paid yet: at least these units.
        assert!(
            po_before[item] - po_after[item] >= *q,
            "{world}: per-order stock of {item}"
        );
    }
    let per_order = ar_tax(&po, |set, d| match set {
        "Invoices" => sold.contains(&num(d)),
        _ => refunded.contains(&num(d)),
    });
    let summary = ar_tax(&sb, |_, d| is_summary(d));
    eprintln!("{world} tax per code and currency, per-order | summary:");
    let mut taxed = 0;
    for key in per_order
        .keys()
        .chain(summary.keys())
        .collect::<BTreeSet<_>>()
    {
        let (a, lines) = per_order.get(key).copied().unwrap_or_default();
        let (b, _) = summary.get(key).copied().unwrap_or_default();
        eprintln!("  {} {}: {a} | {b}", key.0, key.1);
        taxed += usize::from(!a.is_zero());
        // Amazon rounds each order's tax, SAP each summary line's: half a cent per order line.
        assert!(
            (a - b).abs() <= Decimal::new(5, 3) * Decimal::from(lines.max(1)),
            "{world} tax code {key:?}: per order {a} on {lines} lines, summary {b}"
        );
    }
    assert!(taxed >= 1, "{world}: no tax compared");
    assert!(!per_order.is_empty(), "{world}: no tax compared");
    po.shutdown().await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_na_world_in_summary_mode() {
    let _serial = SERIAL.lock().await;
    summary_books(WorldKind::Na).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eu_world_in_summary_mode() {
    let _serial = SERIAL.lock().await;
    summary_books(WorldKind::Eu).await;
}

/// Summary from a date in the middle of the world: orders created before it are invoiced one by
/// one and paid per order, the others summarised; no order is on both, a second run adds
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_to_summary_mid_world_posts_nothing_twice() {
    let _serial = SERIAL.lock().await;
    let world = WorldKind::Eu;
    let sb0 = start_sandbox_in(world, SEED, ORDERS).await;
    let mut created: Vec<_> = sb0
        .world()
        .orders
        .iter()
        .map(|o| o.purchased.date_naive())
        .collect();
    sb0.shutdown().await;
    created.sort();
    let cut = created[created.len() / 2];
    let (sb, _dir, config, run, _) = run_in(world, PostingMode::Summary, Some(cut)).await;
    let w = sb.world();
    let (sold, _) = settled(&sb, &run);
    let per_order: BTreeSet<String> = sb
        .sap_entities("Invoices")
        .iter()
        .filter(|d| !is_summary(d))
        .map(|d| d["NumAtCard"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !per_order.is_empty(),
        "some orders before {cut} are invoiced one by one"
    );
    for o in w.orders.iter().filter(|o| per_order.contains(&o.id)) {
        assert!(
            o.purchased.date_naive() < cut,
            "order {} created {} has its own invoice",
            o.id,
            o.purchased
        );
    }
    // Every settled unit is invoiced once: per order or in a summary, never both.
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    for o in w.orders.iter().filter(|o| sold.contains(&o.id)) {
        for i in &o.items {
            *expected
                .entry(w.catalog[i.product].item_code.clone())
                .or_default() += Decimal::from(i.quantity);
        }
    }
    let mut got = units(&sb, "Invoices", |d| {
        is_summary(d) || sold.contains(d["NumAtCard"].as_str().unwrap_or_default())
    });
    got.retain(|_, q| !q.is_zero());
    assert_eq!(got, expected, "settled units invoiced exactly once");
    assert!(
        sb.sap_entities("Invoices").iter().any(is_summary),
        "orders after {cut} are summarised"
    );
    // Clearing zero, and a second run posts nothing more.
    for b in sb
        .sap_account_balances()
        .iter()
        .filter(|b| ["1420", "1421"].contains(&b.account.as_str()))
    {
        assert!(b.lc.is_zero() && b.fc.is_zero(), "{b:?}");
    }
    let counts = |sb: &Sandbox| {
        [
            "Invoices",
            "CreditNotes",
            "IncomingPayments",
            "JournalEntries",
        ]
        .map(|s| sb.sap_count(s))
    };
    let first = counts(&sb);
    let again = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(again.settlements.settlements_posted, 0);
    assert_eq!(counts(&sb), first, "the second run posted something");
    sb.shutdown().await;
}

/// A crash after SAP created a summary invoice but before the ledger knew: the next run finds it
/// by its key, applies it, and every summary document exists once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_a_summary_invoice_is_created_posts_it_once() {
    let _serial = SERIAL.lock().await;
    let world = WorldKind::Eu;
    let sb = std::sync::Arc::new(start_sandbox_in(world, SEED, ORDERS).await);
    let (_dir, config) = workspace(&sb);
    write_posting(&config, PostingMode::Summary, None).unwrap();
    let point = "invoice.after_2xx_before_posted";
    connector_app::failpoint::arm(point, 2);
    let (sb2, config2) = (sb.clone(), config.clone());
    let crashed =
        tokio::spawn(async move { run_flows(&sb2, &config2, SEED, TIME_SCALE).await }).await;
    connector_app::failpoint::clear();
    assert!(crashed.is_err(), "the run did not crash at {point}");
    assert_eq!(
        sb.sap_count("Invoices"),
        2,
        "SAP created the second summary invoice"
    );
    let after = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    assert!(after.settlements.held.is_empty() && after.settlements.failed.is_empty());
    assert_eq!(after.duplicates_in_sap, 0);
    let refs: Vec<String> = sb
        .sap_entities("Invoices")
        .iter()
        .map(|d| d["NumAtCard"].as_str().unwrap_or_default().to_owned())
        .collect();
    let unique: BTreeSet<&String> = refs.iter().collect();
    assert_eq!(
        unique.len(),
        refs.len(),
        "a summary invoice twice: {refs:?}"
    );
    for m in &sb.world().marketplaces {
        let open = sb.sap_open_items(m.customer);
        assert!(open.is_empty(), "{}: {open:?}", m.customer);
    }
    for b in sb
        .sap_account_balances()
        .iter()
        .filter(|b| ["1420", "1421"].contains(&b.account.as_str()))
    {
        assert!(b.lc.is_zero() && b.fc.is_zero(), "{b:?}");
    }
}

/// Settlements run before the orders flow has invoiced an order created before the cut-over: the
/// summary takes it, and the orders flow never invoices it a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_summarised_before_the_orders_flow_saw_it_is_never_invoiced_again() {
    use connector_app::flows::{Flow, RunOptions};
    use connector_app::ledger::{DocFilter, DocState, Ledger};
    let _serial = SERIAL.lock().await;
    let sb = start_sandbox_in(WorldKind::Eu, SEED, ORDERS).await;
    let (_dir, config) = workspace(&sb);
    // Summary from the world's first day: every order settles in summary, none is invoiced yet.
    let first = sb
        .world()
        .orders
        .iter()
        .map(|o| o.purchased.date_naive())
        .min()
        .unwrap();
    // A cut-over after every order's creation: the orders flow would invoice each of them.
    let cut = first + chrono::Duration::days(400);
    write_posting(&config, PostingMode::Summary, Some(first)).unwrap();
    let engine = common::writer_for(&config);
    let options = RunOptions {
        since: Some(chrono::Utc::now() - chrono::Duration::days(400)),
        dry_run: false,
    };
    engine.run_flow(Flow::Settlements, &options).await.unwrap();
    let summarised = common::ledger(&config)
        .list(&DocFilter {
            state: Some(DocState::Dismissed),
            flow: Some("orders".into()),
            ..DocFilter::default()
        })
        .unwrap();
    assert!(!summarised.is_empty(), "the summary claimed its orders");
    drop(engine);
    // Now the cut-over moves later (a seller switching back), so the orders flow would invoice
    // those orders: the claim keeps it from doing so.
    common::edit_config(
        &config,
        &format!("summary_from = \"{first}\""),
        &format!("summary_from = \"{cut}\""),
    );
    let engine = common::writer_for(&config);
    engine.run_flow(Flow::Orders, &options).await.unwrap();
    for d in &summarised {
        let order = d
            .key
            .split(":order:")
            .nth(1)
            .unwrap()
            .trim_end_matches(":invoice");
        let own: Vec<_> = sb
            .sap_by_num_at_card("Invoices", order)
            .into_iter()
            .filter(|i| !is_summary(i))
            .collect();
        assert!(own.is_empty(), "order {order} invoiced twice: {own:?}");
    }
    sb.shutdown().await;
}
