//! Documented commands through the binary, each checked by what it changes (or must not change):
//! `sync orders --dry-run`, `ping`, `credentials delete`, and a second `demo --workspace`.

mod common;

use common::{cli, ledger, sap_documents, start_sandbox, workspace};
use connector_app::ledger::{DocFilter, Ledger};
use sandbox::world::OrderStatus;
use serde_json::Value;

const SEED: u64 = 13;

/// The first number under `key` anywhere in a JSON document.
fn find_number(v: &Value, key: &str) -> Option<u64> {
    match v {
        Value::Object(m) => m
            .get(key)
            .and_then(Value::as_u64)
            .or_else(|| m.values().find_map(|x| find_number(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find_number(x, key)),
        _ => None,
    }
}

/// Everything the ledger holds that a run could change: documents, audit rows, cursors.
fn ledger_dump(config: &std::path::Path) -> (usize, usize, Vec<(String, String, String)>) {
    let l = ledger(config);
    (
        l.list(&DocFilter::default()).unwrap().len(),
        l.audit_rows(None, None).unwrap().len(),
        l.cursors().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_orders_dry_run_changes_nothing_in_sap_or_the_ledger() {
    let sb = start_sandbox(SEED, 40).await;
    let (_dir, config) = workspace(&sb);
    let world = sb.world();
    let since = (world.orders.iter().map(|o| o.last_updated).min().unwrap()
        - chrono::Duration::days(1))
    .to_rfc3339();
    let shipped = world
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::Shipped)
        .count() as u64;
    let before = ledger_dump(&config);
    assert_eq!(before.0 + before.1 + before.2.len(), 0, "a new ledger");

    let out = common::bin(&config)
        .args(["sync", "orders", "--dry-run", "--since", &since, "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let would_post = find_number(&report, "would_post").unwrap();
    assert_eq!(would_post, shipped, "every shipped order would be invoiced");
    assert_eq!(sap_documents(&sb), [0, 0, 0], "nothing in SAP");
    assert_eq!(ledger_dump(&config), before, "nothing in the ledger");
    let l = ledger(&config);
    assert!(
        world
            .orders
            .iter()
            .all(|o| l.latest_source("order", &o.id).unwrap().is_none()),
        "no order stored"
    );
    drop(l);

    // The real run posts what the dry run said it would.
    let (code, out) = cli(&config, &["sync", "orders", "--since", &since]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(sb.sap_count("Invoices") as u64, would_post);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_checks_both_systems_and_credentials_delete_removes_them() {
    let sb = start_sandbox(SEED, 10).await;
    let (_dir, config) = workspace(&sb);
    let creds = sb.credentials().clone();

    let (code, out) = cli(&config, &["ping"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "SAP: logged in to {} as {}",
            creds.sap_company_db, creds.sap_user
        )),
        "{out}"
    );
    assert!(out.contains("Amazon: token obtained"), "{out}");
    for m in &sb.world().marketplaces {
        assert!(out.contains(m.id), "marketplace {} listed: {out}", m.id);
    }
    assert!(!out.contains(&creds.sap_password), "{out}");
    assert_eq!(sb.sap_session_count(), 0, "ping logs out of SAP");

    // Amazon revokes the refresh token: ping says which system failed and exits 3.
    sb.revoke_refresh_token();
    let (code, out) = cli(&config, &["ping"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("SAP: logged in") && out.contains("Amazon: FAILED"),
        "{out}"
    );

    // credentials delete removes the SAP password: list no longer shows it, ping cannot log in.
    let (code, out) = cli(&config, &["credentials", "delete", "sap"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("deleted sap credentials"), "{out}");
    let (_, listed) = cli(&config, &["credentials", "list"]);
    assert!(
        listed.contains("amazon") && !listed.contains("password"),
        "{listed}"
    );
    let (code, out) = cli(&config, &["ping"]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("sap"), "names the missing credentials: {out}");
    let (code, out) = cli(&config, &["credentials", "delete", "sap"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("no sap credentials were stored"), "{out}");
    sb.shutdown().await;
}

/// `demo --json` on a kept workspace.
fn demo(dir: &std::path::Path) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args([
            "demo",
            "--seed",
            "13",
            "--orders",
            "40",
            "--time-scale",
            "1000",
            "--json",
            "--workspace",
        ])
        .arg(dir)
        .env_remove("ML_CONNECTOR_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn a_second_demo_on_the_same_workspace_posts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = demo(dir.path());
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert!(n(&first, "invoices_posted") > 10, "{first}");
    assert!(n(&first, "settlements_posted") > 0, "{first}");
    let second = demo(dir.path());
    assert_eq!(n(&second, "invoices_posted"), 0, "{second}");
    assert_eq!(n(&second, "invoices_found_in_sap"), 0);
    assert_eq!(n(&second, "settlements_posted"), 0);
    assert_eq!(n(&second, "listings_updated"), 0);
    assert_eq!(n(&second, "already_posted"), n(&first, "invoices_posted"));
    assert_eq!(
        n(&second, "settlements_already_posted"),
        n(&first, "settlements_posted")
    );
    assert_eq!(second["documents_in_sap"], first["documents_in_sap"]);
    assert_eq!(
        second["documents_fingerprint"], first["documents_fingerprint"],
        "the same documents in SAP, none added"
    );
    assert_eq!(n(&second, "duplicates_in_sap"), 0);
}
