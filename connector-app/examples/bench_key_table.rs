//! Benchmark: what SAP-enforced exactly-once (the `MLC_KEYS` key row in the same changeset as each
//! invoice) costs per invoice, against the lookup-before-POST it replaces for new documents.
//!
//! ```text
//! cargo run --release -p connector-app --example bench_key_table -- [--orders 1000] [--latency-ms 20] [--sessions 2] [--per-batch 20]
//! ```
//! Runs the real orders flow three times on fresh sandboxes with a fixed Service Layer latency per
//! request: without the key table (a lookup GET, then a POST per invoice), with it and one invoice
//! per `$batch` request (`[sap] invoices_per_batch = 1`: key row + invoice in one changeset; no
//! lookup for a document never sent), and with it and `--per-batch` invoices per request (each
//! in its own changeset). Prints Service Layer requests per invoice, wall time per invoice of the
//! orders sync, and invoices/s against the ceiling `sessions x invoices per request / latency`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connector_app::demo::{sandbox_config, write_workspace};
use connector_app::flows::{Flow, FlowReport, RunOptions};
use connector_app::posting::{KeyTable, instance_id};
use sandbox::Sandbox;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Figures {
    invoices: u64,
    requests: BTreeMap<String, u64>,
    seconds: f64,
}

async fn run(
    orders: usize,
    latency: Duration,
    sessions: usize,
    keys: bool,
    per_batch: usize,
) -> Result<Figures, BoxError> {
    let time_scale = 100_000.0;
    let mut cfg = sandbox_config(7, orders, time_scale);
    cfg.sap_latency = latency;
    let sb = Sandbox::start(cfg).await?;
    let dir = tempfile::tempdir()?;
    let config =
        write_workspace(dir.path(), &sb, sessions, time_scale).map_err(|e| format!("{e:#}"))?;
    let text = std::fs::read_to_string(&config)?;
    let text = text.replacen(
        "[sap]\n",
        &format!("[sap]\ninvoices_per_batch = {per_batch}\n"),
        1,
    );
    std::fs::write(&config, text)?;
    let engine = connector_app::commands::engine::load_writer(&config, "bench")
        .map_err(|e| format!("{e:#}"))?;
    if keys {
        engine.sap.connect().await?;
        let table = KeyTable::new("MLC_KEYS", instance_id(&engine.config.workspace.ledger));
        table
            .create(&engine.sap)
            .await
            .map_err(|e| format!("{e:#}"))?;
        sb.restart_service_layer();
    }
    let since = sb
        .world()
        .orders
        .iter()
        .map(|o| o.last_updated)
        .min()
        .ok_or("no orders")?
        - chrono::Duration::days(1);
    let before = sb.sap_requests();
    let started = Instant::now();
    let report = engine
        .run_flow(
            Flow::Orders,
            &RunOptions {
                dry_run: false,
                since: Some(since),
            },
        )
        .await
        .map_err(|e| format!("{e:#}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let FlowReport::Orders(report) = report else {
        return Err("not an orders report".into());
    };
    let mut requests = sb.sap_requests();
    for (k, v) in before {
        if let Some(n) = requests.get_mut(&k) {
            *n -= v;
        }
    }
    requests.retain(|_, n| *n > 0);
    if !sb.sap_duplicates("Invoices", "NumAtCard").is_empty() {
        return Err("duplicates in SAP".into());
    }
    Ok(Figures {
        invoices: report.invoices_posted,
        requests,
        seconds,
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (mut orders, mut latency_ms, mut sessions, mut per_batch) = (1000usize, 20u64, 2usize, 20);
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
    println!(
        "orders sync, {orders} orders, Service Layer latency {latency_ms} ms per request, {sessions} sessions"
    );
    for (keys, n) in [(false, 1), (true, 1), (true, per_batch)] {
        let f = run(orders, Duration::from_millis(latency_ms), sessions, keys, n).await?;
        let total: u64 = f.requests.values().sum();
        let per = |n: u64| n as f64 / f.invoices.max(1) as f64;
        let rate = f.invoices as f64 / f.seconds;
        let ceiling = sessions as f64 * n as f64 * 1000.0 / latency_ms.max(1) as f64;
        let mode = if keys {
            format!("key table, {n:>2} per $batch")
        } else {
            "lookup only           ".to_owned()
        };
        println!(
            "{mode}: {} invoices in {:.2} s = {:.1} ms per invoice, {rate:.1} invoices/s ({:.3} of {ceiling:.0}); {} SAP requests = {:.3} per invoice",
            f.invoices,
            f.seconds,
            f.seconds * 1000.0 / f.invoices.max(1) as f64,
            rate / ceiling,
            total,
            per(total)
        );
        println!(
            "RESULT mode={} per_batch={n} invoices={} seconds={:.3} invoices_per_s={rate:.1} ratio_to_ceiling={:.3} sap_requests={total} per_invoice={:.3}",
            if keys { "keys" } else { "lookup" },
            f.invoices,
            f.seconds,
            rate / ceiling,
            per(total)
        );
        for (what, n) in &f.requests {
            println!("    {what:<32} {n:>6}  {:.3} per invoice", per(*n));
        }
    }
    Ok(())
}
