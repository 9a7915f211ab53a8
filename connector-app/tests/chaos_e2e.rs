//! `ml-connector demo --faults chaos` ends with exactly the documents of a clean run of the same
//! seed, and no duplicates.

use std::process::Command;

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
}
