//! Benchmark: importing historical orders by paging `searchOrders` under Amazon's published
//! limits (time-scaled), and what the all-orders report path costs in calls.
//!
//! ```text
//! cargo run --release -p connector-app --example bench_backfill -- [--orders 10000] [--scale 1000]
//! ```
//! Pages every order of a sandbox world through `SpApiClient::search_orders` (100 per page, the
//! maximum) with the client's limiter and the sandbox's buckets both at `scale`, and reports the
//! wall time, pages, 429s, and the same run at Amazon's real rates: the burst is free, every
//! further page waits 1 / 0.0056 s. Then requests the all-orders report (`createReport`) and
//! polls it once a (simulated) minute: the sandbox does not generate that report (created
//! reports end `CANCELLED`), so its timing is stated, not measured.

use std::time::Instant;

use chrono::Utc;
use futures::TryStreamExt;
use sandbox::{Sandbox, SandboxConfig};
use sp_api_client::orders::OrderSearch;
use sp_api_client::{LwaCredentials, Operation, RateLimiter, SpApiClient};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (mut orders, mut scale) = (10_000usize, 1000.0f64);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--orders" => orders = value()?.parse()?,
            "--scale" => scale = value()?.parse()?,
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
    let since = sb
        .world()
        .orders
        .iter()
        .map(|o| o.last_updated)
        .min()
        .unwrap_or_else(Utc::now)
        - chrono::Duration::days(1);
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

    // The report path: one createReport, polls of getReport, one getReportDocument.
    let mids = sb.marketplace_ids();
    let ids: Vec<&str> = mids.iter().map(String::as_str).collect();
    let handle = client.request_all_orders_report(&ids, since, None).await?;
    let status = client.get_report(&handle.report_id).await?;
    println!(
        "all-orders report: createReport accepted ({:?}); the sandbox does not build this report (created reports end CANCELLED), so the report path is not measured here",
        status.processing_status
    );
    println!(
        "RESULT orders={} pages={} throttled={} wall_s={wall:.2} scale={scale} real_limits_s={real_secs:.0}",
        got.len(),
        calls.accepted,
        calls.throttled
    );
    sb.shutdown().await;
    Ok(())
}
