//! Benchmark: importing 90 days of historical orders by paging `searchOrders`, against the
//! backfill through the all-orders report, under Amazon's published limits (time-scaled).
//!
//! ```text
//! cargo run --release -p connector-app --example bench_backfill -- [--orders 10000] [--scale 1000] [--days 90] [--v0]
//! ```
//! 1. Pages every order updated in the last `--days` through `SpApiClient::search_orders` (100
//!    per page, the maximum) with the client's limiter and the sandbox's buckets both at `scale`:
//!    wall time, pages, 429s, and the time at Amazon's real rates (the burst is free, every
//!    further page waits 1 / 0.0056 s).
//! 2. Reads the same window the way `sync orders --since` does for a long window
//!    (`Engine::report_orders`: one all-orders report per 30 days, all requested at once, then
//!    `getOrder` for the orders a report cannot invoice), on a workspace whose client runs at the
//!    same scale: wall time, calls per operation, and the time at Amazon's real rates =
//!    report generation (not published; the sandbox's 30 s, and 5 / 15 min for comparison) +
//!    the waits of every operation past its burst: max(0, calls - burst) / rate, summed, except
//!    that `getOrder` and v0 `getOrderItems` run at once on their own buckets (the longer counts).
//!    `--v0` turns the `getOrderItems` lane on (`orders.backfill_order_items_v0 = true`).

use std::time::Instant;

use chrono::Utc;
use connector_app::demo::write_workspace;
use futures::TryStreamExt;
use sandbox::{Sandbox, SandboxConfig};
use sp_api_client::orders::OrderSearch;
use sp_api_client::{LwaCredentials, Operation, RateLimiter, SpApiClient};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (mut orders, mut scale, mut days, mut v0) = (10_000usize, 1000.0f64, 90i64, false);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--orders" => orders = value()?.parse()?,
            "--scale" => scale = value()?.parse()?,
            "--days" => days = value()?.parse()?,
            "--v0" => v0 = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let sb = Sandbox::start(SandboxConfig {
        seed: 1,
        orders,
        time_scale: scale,
        ..SandboxConfig::default()
    })
    .await?;
    let creds = sb.credentials();
    let client = SpApiClient::builder()
        .base_url(sb.sp_api_base_url())
        .lwa_token_url(sb.lwa_token_url())
        .credentials(LwaCredentials::new(
            creds.lwa_client_id.clone(),
            creds.lwa_client_secret.clone(),
            creds.lwa_refresh_token.clone(),
        ))
        .seller_id(sb.seller_id())
        .rate_limiter(RateLimiter::with_time_scale(scale))
        .build()?;
    let since = Utc::now() - chrono::Duration::days(days);
    let first = sb.world().orders.iter().map(|o| o.last_updated).min();
    println!(
        "world: {orders} orders, first update {first:?}; backfill window {days} days from {since}"
    );
    let started = Instant::now();
    let got: Vec<_> = client
        .search_orders(
            OrderSearch::last_updated_after(since)
                .marketplace_ids(sb.marketplace_ids())
                .max_results_per_page(100),
        )
        .try_collect()
        .await?;
    let wall = started.elapsed().as_secs_f64();
    let calls = sb
        .sp_api_calls()
        .get("searchOrders")
        .copied()
        .unwrap_or_default();
    let plan = Operation::SearchOrders
        .default_plan()
        .ok_or("searchOrders has a plan")?;
    let paced = (calls.accepted as f64 - f64::from(plan.burst)).max(0.0);
    let real_secs = paced / plan.rate;
    println!(
        "searchOrders backfill: {} orders in {} pages, {} 429s; {wall:.1} s at x{scale} (client x{scale})",
        got.len(),
        calls.accepted,
        calls.throttled
    );
    println!(
        "  at Amazon's published limits ({} rps, burst {}): {} pages after the burst x {:.1} s = {:.0} s ({:.2} h); measured x scale = {:.0} s",
        plan.rate,
        plan.burst,
        paced,
        1.0 / plan.rate,
        real_secs,
        real_secs / 3600.0,
        wall * scale
    );

    // The report path, as `sync orders --since` takes it for a long window.
    let dir = tempfile::tempdir()?;
    let config = write_workspace(dir.path(), &sb, 1, scale).map_err(|e| format!("{e:#}"))?;
    if v0 {
        let text = std::fs::read_to_string(&config)?;
        let text = text.replacen(
            "[orders]\n",
            "[orders]\nbackfill_order_items_v0 = true\n",
            1,
        );
        std::fs::write(&config, text)?;
    }
    let engine = connector_app::commands::engine::load_writer(&config, "bench")
        .map_err(|e| format!("{e:#}"))?;
    let before = sb.sp_api_calls();
    let end = Utc::now() - chrono::Duration::minutes(3);
    let started = Instant::now();
    let by_report: Vec<_> = engine.report_orders(since, end).try_collect().await?;
    let report_wall = started.elapsed().as_secs_f64();
    let after = sb.sp_api_calls();
    let delta = |op: &str| {
        let a = after.get(op).copied().unwrap_or_default();
        let b = before.get(op).copied().unwrap_or_default();
        (a.accepted - b.accepted, a.throttled - b.throttled)
    };
    println!(
        "all-orders report backfill: {} orders in {report_wall:.2} s at x{scale}",
        by_report.len()
    );
    let mut waits = 0.0;
    let mut lanes = 0.0f64;
    for (op, name) in [
        (Operation::CreateReport, "createReport"),
        (Operation::GetReport, "getReport"),
        (Operation::GetReportDocument, "getReportDocument"),
        (Operation::GetOrder, "getOrder"),
        (Operation::GetOrderItemsV0, "getOrderItems"),
    ] {
        let (n, throttled) = delta(name);
        let plan = op.default_plan().ok_or("a published plan")?;
        let wait = (n as f64 - f64::from(plan.burst)).max(0.0) / plan.rate;
        // getReport polls wait for the generation, not for their bucket; getOrder and
        // getOrderItems run at once on their own buckets, so the longer of the two counts.
        match name {
            "getReport" => {}
            "getOrder" | "getOrderItems" => lanes = lanes.max(wait),
            _ => waits += wait,
        }
        println!(
            "  {name:<18} {n:>5} calls, {throttled} x 429 (rate {} /s, burst {}): {wait:.0} s past the burst",
            plan.rate, plan.burst
        );
    }
    waits += lanes;
    println!(
        "  at Amazon's published limits: generation + waits = 30 s + {waits:.0} s = {:.0} s ({:.1} min); with 5 min / 15 min generation: {:.0} s / {:.0} s; measured x scale = {:.0} s",
        30.0 + waits,
        (30.0 + waits) / 60.0,
        300.0 + waits,
        900.0 + waits,
        report_wall * scale
    );
    println!(
        "  searchOrders / report at published limits: {:.1}x (30 s generation), {:.1}x (5 min), {:.1}x (15 min)",
        real_secs / (30.0 + waits),
        real_secs / (300.0 + waits),
        real_secs / (900.0 + waits)
    );
    if by_report.len() != got.len() {
        return Err(format!(
            "the report path read {} orders, searchOrders {}",
            by_report.len(),
            got.len()
        )
        .into());
    }
    println!(
        "RESULT orders={} pages={} throttled={} wall_s={wall:.2} scale={scale} real_limits_s={real_secs:.0} report_wall_s={report_wall:.2} report_real_limits_s={:.0} get_order={} get_order_items_v0={}",
        got.len(),
        calls.accepted,
        calls.throttled,
        30.0 + waits,
        delta("getOrder").0,
        delta("getOrderItems").0
    );
    sb.shutdown().await;
    Ok(())
}
