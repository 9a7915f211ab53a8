//! Benchmark: invoices per second into the sandbox Service Layer with a fixed latency per request,
//! for several session counts, one POST per invoice or `$batch`.
//!
//! ```text
//! cargo run --release -p connector-app --example bench_posting -- [--latency-ms 50] [--seconds 10] [--batch 20]
//! ```
//! Uses `sap-b1-client` directly, posting the way the orders flow does: `invoices().create(..)`
//! through `buffer_unordered(sessions)` on a client built with `.sessions(n)`. With `$batch`,
//! each request carries `--batch` invoices, one changeset each.
//!
//! The sandbox runs on its own runtime; the client on a single-threaded runtime in a thread of
//! its own, so the CPU time of that thread (`/proc/thread-self/schedstat`, nanoseconds) is the
//! connector's share: JSON, HTTP, session pool, not the fake SAP.
//!
//! Theoretical maximum: the sandbox serves the calls of one session one at a time and adds the
//! latency to each, so `sessions / latency` requests per second (times the batch size).

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use sandbox::{Sandbox, SandboxConfig};
use sap_b1_client::SapClient;
use sap_b1_client::batch::{Batch, ChangeSet};
use sap_b1_client::entities::Document;
use secrecy::SecretString;
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// CPU time of the calling thread so far.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

fn invoice(n: usize) -> serde_json::Value {
    json!({
        "CardCode": "C-AMZ-DE",
        "NumAtCard": format!("BENCH-{n:07}"),
        "DocDate": "2026-03-09",
        "DocDueDate": "2026-03-09",
        "DocumentLines": [
            {"ItemCode": "TM-MUG-0000", "Quantity": 2, "UnitPrice": 10.5, "TaxCode": "DE19", "WarehouseCode": "01"},
            {"ItemCode": "TM-MUG-0000", "Quantity": 1, "UnitPrice": 4.2, "TaxCode": "DE19", "WarehouseCode": "01"},
        ],
    })
}

struct Run {
    invoices: usize,
    seconds: f64,
    cpu: Duration,
}

/// Posts for about `seconds` (whole requests), after one warm-up request per session.
async fn post(
    client: SapClient,
    sessions: usize,
    batch: usize,
    seconds: f64,
    latency: Duration,
) -> Result<Run, BoxError> {
    let per_request = batch.max(1);
    // requests that fit into `seconds` at the theoretical maximum
    let requests = ((seconds / latency.as_secs_f64()) as usize * sessions).max(sessions);
    let send = |first: usize| {
        let client = client.clone();
        async move {
            if batch == 0 {
                let doc: Document = serde_json::from_value(invoice(first))?;
                client.invoices().create(&doc).await?;
            } else {
                let mut b = Batch::new();
                for n in first..first + batch {
                    b = b.changeset(ChangeSet::new().post("Invoices", &invoice(n))?);
                }
                let resp = client.batch(&b).await?;
                if let Some(e) = resp.first_error() {
                    return Err(Box::new(e) as BoxError);
                }
            }
            Ok::<_, BoxError>(())
        }
    };
    // Warm-up: log every session in.
    futures::stream::iter(0..sessions)
        .map(|i| send(10_000_000 + i * per_request))
        .buffer_unordered(sessions)
        .try_collect::<Vec<_>>()
        .await?;
    let cpu_before = thread_cpu();
    let started = Instant::now();
    futures::stream::iter(0..requests)
        .map(|i| send(i * per_request))
        .buffer_unordered(sessions)
        .try_collect::<Vec<_>>()
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = thread_cpu().saturating_sub(cpu_before);
    Ok(Run {
        invoices: requests * per_request,
        seconds: elapsed,
        cpu,
    })
}

/// Every `NumAtCard` in `sent` is on exactly one invoice in SAP, and SAP has no other invoice.
fn check_exactly_once(sb: &Sandbox, sent: &[String]) -> Result<(), BoxError> {
    let mut in_sap: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for inv in sb.sap_entities("Invoices") {
        let key = inv["NumAtCard"].as_str().unwrap_or_default().to_owned();
        *in_sap.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = in_sap.iter().filter(|(_, n)| **n > 1).collect();
    if !twice.is_empty() {
        return Err(format!("duplicate invoices in SAP: {twice:?}").into());
    }
    let missing: Vec<_> = sent.iter().filter(|k| !in_sap.contains_key(*k)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} invoice(s) sent but not in SAP: {missing:?}",
            missing.len()
        )
        .into());
    }
    if in_sap.len() != sent.len() {
        return Err(format!(
            "SAP holds {} invoices, {} were sent",
            in_sap.len(),
            sent.len()
        )
        .into());
    }
    Ok(())
}

async fn bench(
    sessions: usize,
    batch: usize,
    seconds: f64,
    latency: Duration,
) -> Result<(), BoxError> {
    let sb = Sandbox::start(SandboxConfig {
        seed: 1,
        orders: 20,
        sap_latency: latency,
        ..SandboxConfig::default()
    })
    .await?;
    let creds = sb.credentials().clone();
    let client = SapClient::builder(sb.sap_base_url())
        .company(creds.sap_company_db.clone())
        .credentials(
            creds.sap_user.clone(),
            SecretString::from(creds.sap_password.clone()),
        )
        .sessions(sessions)
        .build()?;
    // The client on a runtime of its own, in a thread of its own, so that thread's CPU is the
    // connector's.
    let run = std::thread::spawn(move || -> Result<Run, BoxError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(post(client, sessions, batch, seconds, latency))
    })
    .join()
    .map_err(|_| "posting thread panicked")??;
    let posted = sb.sap_count("Invoices");
    // Exactly once: every invoice sent is in SAP once, and nothing else is (a re-sent POST, a
    // lost one or a stray warm-up would all show here).
    let per_request = batch.max(1);
    let warm_up = (0..sessions).flat_map(|i| {
        let first = 10_000_000 + i * per_request;
        first..first + per_request
    });
    let sent: Vec<String> = warm_up
        .chain(0..run.invoices)
        .map(|n| format!("BENCH-{n:07}"))
        .collect();
    check_exactly_once(&sb, &sent)?;
    assert_eq!(
        posted,
        sent.len(),
        "invoices in SAP: the {} measured and {} warm-up",
        run.invoices,
        sent.len() - run.invoices
    );
    let max = sessions as f64 * per_request as f64 / latency.as_secs_f64();
    let rate = run.invoices as f64 / run.seconds;
    let cpu_per_invoice_us = run.cpu.as_secs_f64() * 1e6 / run.invoices as f64;
    let mode = if batch == 0 {
        "POST per invoice".to_string()
    } else {
        format!("$batch of {batch}")
    };
    println!(
        "{sessions} session(s), {mode:<17} {:>5} invoices in {:.2} s = {rate:>7.1}/s; max {max:.0}/s; ratio {:.3}; client CPU {cpu_per_invoice_us:.0} us/invoice ({} in SAP)",
        run.invoices,
        run.seconds,
        rate / max,
        posted
    );
    println!(
        "RESULT sessions={sessions} batch={batch} invoices={} seconds={:.3} rate={rate:.2} max={max:.1} ratio={:.4} cpu_us_per_invoice={cpu_per_invoice_us:.1}",
        run.invoices,
        run.seconds,
        rate / max
    );
    sb.shutdown().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let mut latency_ms = 50u64;
    let mut seconds = 10.0;
    let mut batch = 20usize;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--latency-ms" => latency_ms = value()?.parse()?,
            "--seconds" => seconds = value()?.parse()?,
            "--batch" => batch = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let latency = Duration::from_millis(latency_ms);
    for (sessions, b) in [(1, 0), (2, 0), (4, 0), (1, batch), (2, batch), (4, batch)] {
        bench(sessions, b, seconds, latency).await?;
    }
    Ok(())
}
