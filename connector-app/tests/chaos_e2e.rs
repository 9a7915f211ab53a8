//! `ml-connector demo --faults chaos` ends with exactly the documents of a clean run of the same
//! seed, and no duplicates.

use std::process::Command;

mod common;

fn demo(extra: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args([
            "demo",
            "--seed",
            "9",
            "--orders",
            "120",
            "--time-scale",
            "1000",
            "--json",
        ])
        .args(extra)
        .env_remove("ML_CONNECTOR_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn chaos_ends_with_the_documents_of_a_clean_run() {
    let clean = demo(&[]);
    let chaos = demo(&["--faults", "chaos"]);
    assert_eq!(clean["duplicates_in_sap"], 0);
    assert_eq!(chaos["duplicates_in_sap"], 0);
    assert_eq!(chaos["unknown"], 0);
    assert_eq!(chaos["failed"], 0);
    assert!(
        chaos["rounds"].as_u64().unwrap() > 1,
        "the faults did bite: {chaos}"
    );
    assert!(clean["invoices_posted"].as_u64().unwrap() > 50);
    assert!(clean["settlements_posted"].as_u64().unwrap() > 0);
    assert_eq!(chaos["documents_in_sap"], clean["documents_in_sap"]);
    assert_eq!(
        chaos["documents_fingerprint"], clean["documents_fingerprint"],
        "same documents, document for document"
    );
    // The summary is over every round: what the rounds posted or found adds up to the clean run.
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap();
    assert_eq!(
        n(&chaos, "invoices_posted") + n(&chaos, "invoices_found_in_sap"),
        n(&clean, "invoices_posted"),
        "{chaos}"
    );
    assert_eq!(
        n(&chaos, "settlements_posted"),
        n(&clean, "settlements_posted")
    );
    assert!(
        n(&chaos, "rounds") > chaos["round_errors"].as_array().unwrap().len() as u64,
        "at least one round completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_that_ends_in_an_error_counts_in_the_totals() {
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};

    let sb = common::start_sandbox(9, 150).await;
    let (_dir, config) = common::workspace(&sb);
    // Amazon refuses the second page of orders once: round 1 posts the first page's invoices and
    // then ends in an error; round 2 completes.
    sb.add_fault(
        FaultRule::new(
            System::SpApi,
            "/orders/2026-01-01/orders",
            FaultKind::Status(400),
        )
        .method("GET")
        .trigger(Trigger::Sequence(vec![false, true])),
    );
    let s = connector_app::demo::run_rounds(&sb, &config, 9, common::TIME_SCALE, true, 4)
        .await
        .unwrap();
    assert_eq!(s.rounds, 2, "{:?}", s.round_errors);
    assert_eq!(s.round_errors.len(), 1);
    assert!(
        s.round_errors[0].starts_with("round 1: "),
        "{:?}",
        s.round_errors
    );
    let first_page = 100;
    assert!(s.orders_seen > first_page, "round 2 read every page");
    // The totals of all rounds add up to the orders the last round read.
    assert_eq!(s.orders_accounted(), s.orders_seen, "{s:?}");
    // Every invoice in SAP was posted by this demo, whichever round posted it.
    assert!(sb.sap_count("Invoices") > 50);
    assert_eq!(
        s.invoices_posted + s.invoices_found_in_sap,
        sb.sap_count("Invoices") as u64
    );
    assert_eq!(s.already_posted, 0, "nothing was posted before the demo");
    assert!(s.settlements_posted > 0);
    sb.shutdown().await;
}
