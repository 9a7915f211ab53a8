//! Benchmark: the posting engine's batched path (`Engine::post_invoices`: several invoices per
//! `$batch` request, each in its own changeset with its `MLC_KEYS` key row) in `bench_posting`'s
//! setting: a fixed Service Layer latency per request, `--sessions` requests at once,
//! `--per-batch` invoices per request.
//!
//! ```text
//! cargo run --release -p connector-app --example bench_batch_posting -- [--orders 3000] [--latency-ms 50] [--sessions 1] [--per-batch 20]
//! ```
//! The invoices are planned into the ledger first (as the orders flow plans them, from
//! `searchOrders`, checked against SAP's masters), untimed; then the timed phase posts them all: chunks of `--per-batch` keys,
//! `--sessions` chunks in flight (as the orders flow does). Prints invoices/s against the
//! ceiling `sessions x per-batch / latency`, SAP requests per invoice, and asserts every planned
//! invoice is in SAP once.

use std::time::{Duration, Instant};

use connector_app::demo::{sandbox_config, write_workspace};
use connector_app::flows::orders::{Invoice, OrderPlan, invoice_key, plan_invoice};
use connector_app::ledger::{Ledger, OnFailed, PlanBody, PlanRequest};
use connector_app::posting::{KeyTable, PostOutcome, instance_id};
use futures::{StreamExt, TryStreamExt};
use sandbox::Sandbox;
use sp_api_client::orders::{IncludedData, OrderSearch};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (mut orders, mut latency_ms, mut sessions, mut per_batch) = (3000usize, 50u64, 1usize, 20);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--orders" => orders = value()?.parse()?,
            "--latency-ms" => latency_ms = value()?.parse()?,
            "--sessions" => sessions = value()?.parse()?,
            "--per-batch" => per_batch = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let time_scale = 100_000.0;
    let mut cfg = sandbox_config(9, orders, time_scale);
    cfg.sap_latency = Duration::from_millis(latency_ms);
    let sb = Sandbox::start(cfg).await?;
    let dir = tempfile::tempdir()?;
    let config =
        write_workspace(dir.path(), &sb, sessions, time_scale).map_err(|e| format!("{e:#}"))?;
    let engine = connector_app::commands::engine::load_writer(&config, "bench")
        .map_err(|e| format!("{e:#}"))?;
    engine.sap.connect().await?;
    KeyTable::new("MLC_KEYS", instance_id(&engine.config.workspace.ledger))
        .create(&engine.sap)
        .await
        .map_err(|e| format!("{e:#}"))?;
    sb.restart_service_layer();

    // Untimed: plan every shipped order's invoice into the ledger.
    let since = chrono::Utc::now() - chrono::Duration::days(60);
    let found: Vec<_> = engine
        .amazon
        .search_orders(
            OrderSearch::last_updated_after(since)
                .marketplace_ids(engine.config.amazon.marketplaces.clone())
                .included_data([IncludedData::Proceeds, IncludedData::Fulfillment]),
        )
        .try_collect()
        .await?;
    let mut keys = Vec::new();
    for order in &found {
        let key = invoice_key(&engine.config.amazon.seller_id, order.order_id.as_str());
        let plan = engine
            .check_plan(plan_invoice(order, &engine.config, &key))
            .await
            .map_err(|e| format!("{e:#}"))?;
        if let OrderPlan::Invoice(doc) = plan {
            let payload = serde_json::to_string(&Invoice(*doc))?;
            engine.ledger().plan_or_replan(&PlanRequest {
                key: &key,
                flow: "orders",
                kind: "invoice",
                source_id: None,
                body: PlanBody::Ready(&payload),
                on_failed: OnFailed::Keep,
            })?;
            keys.push(key);
        }
    }
    // Warm up: one login per session, the key table detected, one invoice posted.
    let warm = keys.split_off(keys.len() - 1);
    engine
        .posting_warnings()
        .await
        .map_err(|e| format!("{e:#}"))?;
    engine
        .post_invoices(&warm)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let before = sb.sap_requests();

    let started = Instant::now();
    let outcomes: Vec<Vec<(String, PostOutcome)>> = futures::stream::iter(keys.chunks(per_batch))
        .map(|chunk| engine.post_invoices(chunk))
        .buffer_unordered(sessions)
        .try_collect()
        .await
        .map_err(|e| format!("{e:#}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let posted = outcomes
        .iter()
        .flatten()
        .filter(|(_, o)| matches!(o, PostOutcome::Posted { .. }))
        .count();
    let mut other: Vec<String> = outcomes
        .iter()
        .flatten()
        .filter(|(_, o)| !matches!(o, PostOutcome::Posted { .. }))
        .map(|(_, o)| format!("{o:?}").chars().take(200).collect())
        .collect();
    other.dedup();
    other.truncate(3);
    if posted != keys.len() {
        eprintln!("not posted: {other:?}");
        return Err(format!("{posted} of {} posted", keys.len()).into());
    }
    if !sb.sap_duplicates("Invoices", "NumAtCard").is_empty() {
        return Err("duplicates in SAP".into());
    }
    let mut requests = sb.sap_requests();
    for (k, v) in before {
        if let Some(n) = requests.get_mut(&k) {
            *n -= v;
        }
    }
    let total: u64 = requests.values().sum();
    let rate = posted as f64 / seconds;
    let ceiling = sessions as f64 * per_batch as f64 * 1000.0 / latency_ms.max(1) as f64;
    println!(
        "{posted} invoices, {sessions} sessions, {per_batch} per $batch, {latency_ms} ms: {seconds:.2} s, {rate:.1} invoices/s = {:.3} of {ceiling:.0}; {total} SAP requests = {:.3} per invoice",
        rate / ceiling,
        total as f64 / posted as f64
    );
    println!(
        "RESULT sessions={sessions} per_batch={per_batch} invoices={posted} seconds={seconds:.3} invoices_per_s={rate:.1} ratio={:.3} requests_per_invoice={:.3}",
        rate / ceiling,
        total as f64 / posted as f64
    );
    Ok(())
}
