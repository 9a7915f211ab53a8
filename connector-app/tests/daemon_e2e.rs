//! `ml-connector run`: flows on their schedules until a signal, then a clean stop.

use std::time::{Duration, Instant};

mod common;

use common::{bin, edit_config, start_sandbox, workspace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_posts_on_schedule_and_stops_cleanly_on_sigterm() {
    let sb = start_sandbox(3, 40).await;
    let (_dir, config) = workspace(&sb);
    edit_config(
        &config,
        "[orders]\n",
        "[schedule]\norders = \"1s\"\nsettlements = \"1h\"\n\n[orders]\n",
    );
    let mut child = bin(&config)
        .arg("run")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first runs start at once: wait for invoices and settlements to arrive in the fake SAP.
    let started = Instant::now();
    while (sb.sap_count("Invoices") == 0 || sb.sap_count("JournalEntries") == 0)
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(sb.sap_count("Invoices") > 0, "the daemon posted invoices");
    assert!(
        sb.sap_count("JournalEntries") > 0,
        "the daemon posted settlements"
    );
    // The orders flow runs again a second later, on its schedule: its cursor moves to the end of
    // the second run's window.
    let cursor = || {
        use connector_app::ledger::Ledger;
        common::ledger(&config)
            .cursor("orders")
            .unwrap()
            .map(|c| chrono::DateTime::parse_from_rfc3339(&c).unwrap())
    };
    let first = cursor().expect("the first orders run set the cursor");
    let searches = || {
        sb.sp_api_calls()
            .get("searchOrders")
            .map_or(0, |c| c.accepted)
    };
    let searches_after_first = searches();
    let started = Instant::now();
    while cursor().as_ref() == Some(&first) && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let second = cursor().unwrap();
    assert!(
        second > first,
        "a second scheduled orders run moved the cursor: {first} -> {second}"
    );
    assert!(
        searches() > searches_after_first,
        "the second run searched Amazon again"
    );
    // A second writer on the same workspace is refused while the daemon runs, and says who holds it.
    let second = bin(&config).args(["sync", "orders"]).output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(
        err.contains("another ml-connector is writing to this workspace")
            && err.contains(&format!("pid {} running `run`", child.id())),
        "{err}"
    );
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the daemon stops after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        exit.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ml-connector running") && stdout.contains("ml-connector stopped"),
        "{stdout}"
    );
    assert_eq!(sb.sap_duplicates("Invoices", "NumAtCard").len(), 0);
    sb.shutdown().await;
}
