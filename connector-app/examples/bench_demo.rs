//! Benchmark: the demo (orders and settlements against the sandbox) with API calls counted by the
//! sandbox.
//!
//! ```text
//! cargo run --release -p connector-app --example bench_demo -- [--orders 10000] [--time-scale 60] [--sessions 2] [--seed 1]
//! ```
//! Does what `ml-connector demo` does (same sandbox settings, workspace and flows, through
//! `connector_app::demo`), then prints the sandbox's request counters: SP-API calls per
//! operation (and 429s) and Service Layer requests per resource, per order seen; wall time of
//! the flows and the process's peak resident memory (VmHWM, sandbox included).

use std::time::Instant;

use connector_app::demo::{run_flows, sandbox_config, write_workspace};
use sandbox::Sandbox;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (mut orders, mut time_scale, mut sessions, mut seed) = (10_000usize, 60.0f64, 2usize, 1u64);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--orders" => orders = value()?.parse()?,
            "--time-scale" => time_scale = value()?.parse()?,
            "--sessions" => sessions = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let sb = Sandbox::start(sandbox_config(seed, orders, time_scale)).await?;
    let world_secs = started.elapsed().as_secs_f64();
    let config = write_workspace(dir.path(), &sb, sessions, time_scale)
        .map_err(|e| format!("workspace: {e:#}"))?;
    let summary = run_flows(&sb, &config, seed, time_scale)
        .await
        .map_err(|e| format!("demo: {e:#}"))?;
    let sp_api = sb.sp_api_calls();
    let sap = sb.sap_requests();
    let seen = summary.orders_seen.max(1) as f64;
    println!(
        "demo: {orders} orders, seed {seed}, time scale x{time_scale}, {sessions} SAP sessions; world generated in {world_secs:.1} s"
    );
    println!(
        "orders seen {}, invoices posted {}, found in SAP {}, not yet shipped {}, held {}, failed {}; settlements posted {} (tied out {}), held {}; duplicates in SAP {}",
        summary.orders_seen,
        summary.invoices_posted,
        summary.invoices_found_in_sap,
        summary.not_yet_shipped,
        summary.held,
        summary.failed,
        summary.settlements_posted,
        summary.settlements_tied_out,
        summary.settlements_held,
        summary.duplicates_in_sap
    );
    println!(
        "flows wall time {:.1} s; peak RSS {:.1} MiB (sandbox included)",
        summary.seconds,
        peak_rss_mib().unwrap_or(0.0)
    );
    let mut sp_total = 0;
    println!("SP-API calls (served / 429):");
    for (op, c) in &sp_api {
        sp_total += c.accepted;
        println!(
            "  {op:<28} {:>7} / {:<4} {:.4} per order",
            c.accepted,
            c.throttled,
            c.accepted as f64 / seen
        );
    }
    let mut sap_total = 0;
    println!("Service Layer requests:");
    for (what, n) in &sap {
        sap_total += n;
        println!("  {what:<28} {n:>7}   {:.4} per order", *n as f64 / seen);
    }
    let search = sp_api
        .get("searchOrders")
        .map(|c| c.accepted)
        .unwrap_or_default();
    println!(
        "RESULT orders_seen={} invoices_posted={} settlements_posted={} seconds={:.2} peak_rss_mib={:.1} sp_api_calls={sp_total} sp_api_per_order={:.4} search_orders={search} orders_per_search={:.1} sap_requests={sap_total} sap_per_order={:.3} throttled={}",
        summary.orders_seen,
        summary.invoices_posted,
        summary.settlements_posted,
        summary.seconds,
        peak_rss_mib().unwrap_or(0.0),
        sp_total as f64 / seen,
        summary.orders_seen as f64 / search.max(1) as f64,
        sap_total as f64 / seen,
        sp_api.values().map(|c| c.throttled).sum::<u64>()
    );
    stored_bytes(&sb);
    sb.shutdown().await;
    Ok(())
}

fn rss_kib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Bytes per stored invoice: as the sandbox holds it (packed), and as a `serde_json::Map` (the
/// stored form before issue 20), measured as the growth of resident memory while every invoice
/// is held as a map at once.
fn stored_bytes(sb: &Sandbox) {
    let n = sb.sap_count("Invoices").max(1) as f64;
    let packed = sb.sap_stored_bytes("Invoices") as f64;
    let before = rss_kib().unwrap_or(0.0);
    let maps = sb.sap_entities("Invoices");
    let after = rss_kib().unwrap_or(0.0);
    println!(
        "STORED invoices={} packed_bytes_per_invoice={:.0} map_bytes_per_invoice={:.0}",
        maps.len(),
        packed / n,
        (after - before) * 1024.0 / n
    );
}
