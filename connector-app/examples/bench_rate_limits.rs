//! Benchmark: how close the SP-API client's pacing comes to the sandbox's token buckets.
//!
//! ```text
//! cargo run --release -p connector-app --example bench_rate_limits -- \
//!     [--scale 1000] [--sim-seconds N] [--concurrency 4] [--client-scale S] \
//!     [search-orders] [report-document] [patch-listings]
//! ```
//! For each operation: starts a sandbox whose buckets refill at Amazon's published rate x `scale`,
//! builds an `SpApiClient` against it (its limiter scaled by `--client-scale`, default the same
//! scale, as the connector's `amazon.rate_scale` does) and keeps the operation busy for a fixed
//! simulated duration (real seconds = simulated / scale). `searchOrders` is driven the way the
//! orders flow does it: one paginated stream, page after page, a new search when it ends;
//! `getReportDocument` and `patchListingsItem` by `--concurrency` callers.
//!
//! Reported: calls served and 429s received (both counted by the sandbox), and the steady-state
//! efficiency: calls completed after the initial burst divided by what the bucket allows in that
//! time (rate x scale per second). Target >= 0.95 with zero 429s.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use sandbox::{Sandbox, SandboxConfig};
use sp_api_client::listings::PatchMode;
use sp_api_client::orders::OrderSearch;
use sp_api_client::reports::ReportQuery;
use sp_api_client::{LwaCredentials, Operation, RateLimiter, Sku, SpApiClient};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy)]
enum Op {
    SearchOrders,
    ReportDocument,
    PatchListings,
}

impl Op {
    fn operation(self) -> Operation {
        match self {
            Op::SearchOrders => Operation::SearchOrders,
            Op::ReportDocument => Operation::GetReportDocument,
            Op::PatchListings => Operation::PatchListingsItem,
        }
    }

    /// Enough simulated time for about 150 calls after the burst.
    fn default_sim_seconds(self) -> f64 {
        match self {
            Op::SearchOrders => 8.0 * 3600.0,
            Op::ReportDocument => 3.0 * 3600.0,
            Op::PatchListings => 120.0,
        }
    }
}

struct Args {
    scale: f64,
    client_scale: Option<f64>,
    sim_seconds: Option<f64>,
    concurrency: usize,
    ops: Vec<Op>,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = Args {
        scale: 1000.0,
        client_scale: None,
        sim_seconds: None,
        concurrency: 4,
        ops: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--scale" => args.scale = value()?.parse()?,
            "--client-scale" => args.client_scale = Some(value()?.parse()?),
            "--sim-seconds" => args.sim_seconds = Some(value()?.parse()?),
            "--concurrency" => args.concurrency = value()?.parse()?,
            "search-orders" => args.ops.push(Op::SearchOrders),
            "report-document" => args.ops.push(Op::ReportDocument),
            "patch-listings" => args.ops.push(Op::PatchListings),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if args.ops.is_empty() {
        args.ops = vec![Op::SearchOrders, Op::ReportDocument, Op::PatchListings];
    }
    Ok(args)
}

fn client_for(sb: &Sandbox, client_scale: f64) -> Result<SpApiClient, BoxError> {
    let creds = sb.credentials();
    Ok(SpApiClient::builder()
        .base_url(sb.sp_api_base_url())
        .lwa_token_url(sb.lwa_token_url())
        .credentials(LwaCredentials::new(
            creds.lwa_client_id.clone(),
            creds.lwa_client_secret.clone(),
            creds.lwa_refresh_token.clone(),
        ))
        .seller_id(sb.seller_id())
        .rate_limiter(RateLimiter::with_time_scale(client_scale))
        .build()?)
}

/// Completion instants of successful calls, shared by the callers.
type Completions = Arc<Mutex<Vec<Instant>>>;

async fn drive(
    op: Op,
    sb: &Sandbox,
    client: &SpApiClient,
    deadline: Instant,
    concurrency: usize,
    done: Completions,
) -> Result<u64, BoxError> {
    let errors = Arc::new(Mutex::new(0u64));
    let mut tasks = Vec::new();
    match op {
        Op::SearchOrders => {
            let search = OrderSearch::last_updated_after(Utc::now() - chrono::Duration::days(60))
                .marketplace_ids(sb.marketplace_ids())
                .max_results_per_page(10);
            let (client, done, errors) = (client.clone(), done.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let mut token: Option<String> = None;
                    loop {
                        match client.search_orders_page(&search, token.as_deref()).await {
                            Ok(page) => {
                                done.lock().expect("done").push(Instant::now());
                                token = page.pagination.and_then(|p| p.next_token);
                            }
                            Err(_) => *errors.lock().expect("errors") += 1,
                        }
                        if token.is_none() || Instant::now() >= deadline {
                            break;
                        }
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
            }));
        }
        Op::ReportDocument => {
            let report = client
                .get_reports(ReportQuery::types([
                    "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
                ]))
                .next()
                .await
                .ok_or("no settlement report in the sandbox")??;
            let document = report
                .report_document_id
                .ok_or("settlement report without document")?;
            for _ in 0..concurrency {
                let (client, done, errors, document) = (
                    client.clone(),
                    done.clone(),
                    errors.clone(),
                    document.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < deadline {
                        match client.get_report_document(&document).await {
                            Ok(_) => done.lock().expect("done").push(Instant::now()),
                            Err(_) => *errors.lock().expect("errors") += 1,
                        }
                    }
                }));
            }
        }
        Op::PatchListings => {
            let listing = sb.catalog().into_iter().next().ok_or("empty catalog")?;
            for i in 0..concurrency {
                let (client, done, errors, listing) = (
                    client.clone(),
                    done.clone(),
                    errors.clone(),
                    listing.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let sku = Sku::from(listing.sku.as_str());
                    let mut quantity = i as u32 * 1000;
                    while Instant::now() < deadline {
                        quantity += 1;
                        match client
                            .set_quantity(
                                &sku,
                                &listing.marketplace_id,
                                &listing.product_type,
                                quantity,
                                PatchMode::Apply,
                            )
                            .await
                        {
                            Ok(_) => done.lock().expect("done").push(Instant::now()),
                            Err(_) => *errors.lock().expect("errors") += 1,
                        }
                    }
                }));
            }
        }
    }
    // Callers asleep in the limiter past the deadline are cut off there.
    tokio::time::sleep_until(deadline.into()).await;
    for t in tasks {
        t.abort();
    }
    let errors = *errors.lock().expect("errors");
    Ok(errors)
}

async fn bench(op: Op, args: &Args) -> Result<(), BoxError> {
    let scale = args.scale;
    let client_scale = args.client_scale.unwrap_or(scale);
    let sim_seconds = args.sim_seconds.unwrap_or(op.default_sim_seconds());
    let real = Duration::from_secs_f64(sim_seconds / scale);
    let sb = Sandbox::start(SandboxConfig {
        seed: 7,
        orders: 2000,
        time_scale: scale,
        ..SandboxConfig::default()
    })
    .await?;
    let client = client_for(&sb, client_scale)?;
    let plan = op
        .operation()
        .default_plan()
        .ok_or("not an SP-API operation")?;
    let max_rate = plan.rate * scale;
    // Fetch the LWA token (and open the connection) before the clock starts: another
    // operation, so the measured bucket stays full.
    client.get_marketplace_participations().await?;
    let done: Completions = Arc::default();
    let started = Instant::now();
    let deadline = started + real;
    let errors = drive(op, &sb, &client, deadline, args.concurrency, done.clone()).await?;
    let completions = done.lock().expect("done").clone();
    let counted = sb
        .sp_api_calls()
        .get(op.operation().name())
        .copied()
        .unwrap_or_default();
    // The burst: the first `burst` calls ride on the full bucket; the steady state starts when
    // the burst-th call completes.
    let burst = plan.burst as usize;
    let in_window: Vec<Instant> = completions.into_iter().filter(|t| *t <= deadline).collect();
    let (steady_calls, steady_secs) = match in_window.get(burst.saturating_sub(1)) {
        Some(&t_burst) => (
            in_window.len() - burst,
            deadline.duration_since(t_burst).as_secs_f64(),
        ),
        None => (0, 0.0),
    };
    let steady_rate = if steady_secs > 0.0 {
        steady_calls as f64 / steady_secs
    } else {
        0.0
    };
    println!(
        "{:<18} scale x{scale} (client x{client_scale}), {:.0} simulated s = {:.1} real s, concurrency {}",
        op.operation().name(),
        sim_seconds,
        real.as_secs_f64(),
        match op {
            Op::SearchOrders => 1,
            _ => args.concurrency,
        }
    );
    println!(
        "  bucket: {} rps x {scale} = {max_rate:.3} calls/s sustained, burst {}",
        plan.rate, plan.burst
    );
    println!(
        "  served {} (in window {}), 429s received {}, client errors {errors}",
        counted.accepted,
        in_window.len(),
        counted.throttled
    );
    println!(
        "  steady state: {steady_calls} calls in {steady_secs:.2} s = {steady_rate:.3} calls/s; efficiency {:.3}",
        steady_rate / max_rate
    );
    println!(
        "RESULT op={} scale={scale} client_scale={client_scale} served={} throttled={} steady_calls={steady_calls} steady_rate={steady_rate:.4} max_rate={max_rate:.4} efficiency={:.4}",
        op.operation().name(),
        counted.accepted,
        counted.throttled,
        steady_rate / max_rate
    );
    sb.shutdown().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    for &op in &args.ops {
        bench(op, &args).await?;
    }
    Ok(())
}
