//! When the world goes away under a run: SAP stops answering, a signal arrives during an Amazon
//! back-off, the ledger file is deleted. Each ends the run at once with one clear message, and
//! nothing is lost or posted twice.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{bin, edit_config, start_sandbox, workspace};
use connector_app::ledger::{DocFilter, DocState, Ledger};
use sandbox::faults::{FaultKind, FaultRule, System, Trigger};
use tokio::net::{TcpListener, TcpStream};

/// Waits (at most `limit`, a guard against a hang, not a measurement) for `child` to exit;
/// returns (exit code, stdout, stderr).
async fn wait(mut child: Child, limit: Duration) -> (Option<i32>, String, String) {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < limit, "the process did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sigterm(child: &Child) {
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// A TCP forwarder to `target` that can be switched off: afterwards its port refuses connections
/// and the connections it carried are cut, as when the Service Layer's host goes down.
async fn proxy(target: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let target = target.clone();
            conns.spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (format!("http://{addr}"), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sap_going_down_mid_sync_ends_the_run_at_once_with_one_message() {
    let sb = start_sandbox(4, 400).await;
    let (_dir, config) = workspace(&sb);
    let origin = sb.sap_origin();
    let (proxy_url, proxy) = proxy(origin.trim_start_matches("http://").to_owned()).await;
    edit_config(&config, &origin, &proxy_url);
    // One invoice per request, each a little slow, so the outage falls in the middle of the run.
    edit_config(&config, "[sap]\n", "[sap]\ninvoices_per_batch = 1\n");
    sb.add_fault(
        FaultRule::new(
            System::Sap,
            "/$batch",
            FaultKind::Latency(Duration::from_millis(40)),
        )
        .trigger(Trigger::Always),
    );
    let child = bin(&config)
        .args(["sync", "orders", "--since", &common::since(&sb)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while sb.sap_count("Invoices") < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no invoice arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.abort();
    let _ = proxy.await;
    let posted_before_outage = sb.sap_count("Invoices");
    let (code, stdout, stderr) = wait(child, Duration::from_secs(120)).await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("is not reachable") && stderr.contains("Connection refused"),
        "{stderr}"
    );
    let warns = stderr.lines().filter(|l| l.contains("WARN")).count();
    assert!(warns <= 12, "{warns} warnings:\n{stderr}");
    let longest = stderr.lines().map(str::len).max().unwrap_or(0);
    assert!(
        longest < 500,
        "one short message, not a URL dump:\n{stderr}"
    );
    assert!(!stderr.contains("%24filter"), "{stderr}");
    // Nothing was refused or left in doubt by the outage: what was not sent is still planned.
    let ledger = common::ledger(&config);
    let failed = ledger
        .list(&DocFilter {
            state: Some(DocState::Failed),
            ..DocFilter::default()
        })
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        sb.sap_count("Invoices") <= posted_before_outage + 4,
        "the run stopped sending"
    );
    drop(ledger);
    // SAP is back: the next run posts the rest, nothing twice.
    edit_config(&config, &proxy_url, &origin);
    let (code, out) = common::cli(&config, &["sync", "orders", "--since", &common::since(&sb)]);
    assert!(code == Some(0) || code == Some(2), "{out}");
    assert_eq!(sb.sap_duplicates("Invoices", "NumAtCard").len(), 0);
    let planned = common::ledger(&config)
        .list(&DocFilter {
            state: Some(DocState::Planned),
            flow: Some("orders".into()),
            ..DocFilter::default()
        })
        .unwrap();
    assert!(planned.is_empty(), "{planned:?}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_amazon_back_off_stops_sync_within_the_grace() {
    let sb = common::start_sandbox_in(sandbox::world::WorldKind::Na, 4, 300).await;
    let (_dir, config) = workspace(&sb);
    // Amazon's real rates, so a 429 means a back-off of many seconds, as for a real seller.
    edit_config(&config, "rate_scale = 1000", "rate_scale = 1");
    // Pages of searchOrders, not the all-orders report a long window would read.
    edit_config(
        &config,
        "[orders]\n",
        "[orders]\nreport_backfill_after = \"365d\"\n",
    );
    // The first page is served; every later one is refused with 429.
    sb.add_fault(
        FaultRule::new(
            System::SpApi,
            "/orders/2026-01-01/orders",
            FaultKind::QuotaExceeded,
        )
        .trigger(Trigger::Sequence(
            std::iter::once(false).chain([true; 50]).collect(),
        )),
    );
    let child = bin(&config)
        .args(["sync", "orders", "--since", &common::since(&sb)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let served = || {
        sb.sp_api_calls()
            .get("searchOrders")
            .map_or(0, |c| c.accepted)
    };
    let started = Instant::now();
    while served() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no page served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first page is planned, the second refused: the client is backing off now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sigterm(&child);
    let (code, stdout, stderr) = wait(child, Duration::from_secs(30)).await;
    // 143 = 128 + SIGTERM: the command's own exit after a graceful stop (killed by the signal,
    // the process would have no exit code).
    assert_eq!(code, Some(143), "{stdout}{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    // The orders cursor did not move past the unread pages.
    assert!(common::ledger(&config).cursor("orders").unwrap().is_none());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_deleted_under_the_daemon_stops_it() {
    let sb = start_sandbox(3, 30).await;
    let (dir, config) = workspace(&sb);
    edit_config(
        &config,
        "[orders]\n",
        "[schedule]\norders = \"1s\"\nsettlements = \"1h\"\n\n[orders]\nreport_backfill_after = \"365d\"\n",
    );
    let child = bin(&config)
        .arg("run")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ledger = dir.path().join("ml-connector.db");
    let started = Instant::now();
    while common::ledger(&config).cursor("orders").unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no orders run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::remove_file(&ledger).unwrap();
    let _ = std::fs::remove_file(dir.path().join("ml-connector.db-wal"));
    let (code, stdout, stderr) = wait(child, Duration::from_secs(60)).await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("was deleted"), "{stderr}");
    sb.shutdown().await;
}
