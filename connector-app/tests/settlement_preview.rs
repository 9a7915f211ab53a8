//! `ml-connector settlement preview`: exit codes, the JSON contract, and messages that name where.

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ml-connector"))
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn shared(name: &str) -> PathBuf {
    repo(&format!("../shared/reference/settlements/{name}"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ml-connector-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn bundled_sample_previews_and_ties_out() {
    let out = run(&["settlement", "preview"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("TIES OUT"), "{text}");
    assert!(text.contains("Status: READY to post"), "{text}");
    assert!(text.contains("Journal entries"), "{text}");
}

#[test]
fn json_contract_for_the_german_settlement() {
    let file = shared("thetis_EU-DE_V2_22988491762.txt");
    let out = run(&[
        "settlement",
        "preview",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["settlement_id"], "22988491762");
    assert_eq!(v["currency"], "EUR");
    assert_eq!(v["start"], "2024-09-13T08:59:52Z");
    assert_eq!(v["end"], "2024-09-27T08:59:52Z");
    assert_eq!(v["deposit_date"], "2024-09-29T08:59:52Z");
    assert_eq!(v["total_amount"], "128.84");
    assert_eq!(v["rows"], 51);
    assert_eq!(v["rows_sum"], "128.84");
    assert_eq!(v["ties_out"], true);
    let receipts = v["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 6);
    assert!(
        receipts
            .iter()
            .all(|r| r["order_id"].is_string() && r["amount"].is_string())
    );
    let jes = v["journal_entries"].as_array().unwrap();
    assert!(!jes.is_empty());
    for je in jes {
        assert!(je["memo"].as_str().unwrap().contains("22988491762"));
        assert_eq!(je["date"].as_str().unwrap().len(), 10);
        for line in je["lines"].as_array().unwrap() {
            for key in ["account", "debit", "credit", "memo"] {
                assert!(line[key].is_string(), "{key} in {line}");
            }
            // Amounts are decimal strings with a dot and two places.
            let debit = line["debit"].as_str().unwrap();
            assert!(debit.contains('.') && !debit.contains(','), "{debit}");
        }
    }
    let cats = v["by_category"].as_array().unwrap();
    let commission = cats
        .iter()
        .find(|c| c["transaction_type"] == "Order" && c["amount_description"] == "Commission")
        .unwrap();
    assert_eq!(commission["target"], "ReferralFees");
    assert_eq!(commission["rows"], 6);
    assert_eq!(commission["amount"], "-62.64");
    assert_eq!(v["unmapped"].as_array().unwrap().len(), 0);
    assert!(v["warnings"].is_array());
}

#[test]
fn mapping_file_maps_symbols_to_gl_codes() {
    let file = shared("thetis_EU-DE_V2_22988491762.txt");
    let mapping = repo("examples/mapping.toml");
    let out = run(&[
        "settlement",
        "preview",
        file.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let accounts: Vec<&str> = v["journal_entries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|je| je["lines"].as_array().unwrap())
        .map(|l| l["account"].as_str().unwrap())
        .collect();
    assert!(accounts.contains(&"6110"), "{accounts:?}");
    assert!(accounts.contains(&"1420"), "{accounts:?}");
    assert!(accounts.contains(&"1200"), "{accounts:?}");
}

#[test]
fn held_settlements_exit_2_and_still_print() {
    let file = shared("HANDMADE_xieyi138_V2_US_synthetic.txt");
    let out = run(&[
        "settlement",
        "preview",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["status"], "held");
    assert!(!v["unmapped"].as_array().unwrap().is_empty());

    let text =
        String::from_utf8(run(&["settlement", "preview", file.to_str().unwrap()]).stdout).unwrap();
    assert!(text.contains("Status: HELD"), "{text}");
    assert!(text.contains("Unmapped categories"), "{text}");
}

#[test]
fn total_that_does_not_tie_out_exits_2() {
    let good = std::fs::read_to_string(shared("thetis_EU-DE_V2_22988491762.txt")).unwrap();
    let bad = good.replacen("\t128,84\tEUR", "\t128,85\tEUR", 1);
    assert_ne!(good, bad);
    let path = temp_file("not-tied.txt", bad.as_bytes());
    let out = run(&["settlement", "preview", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("DOES NOT TIE OUT"), "{text}");
    assert!(text.contains("inconsistent settlement"), "{text}");
}

#[test]
fn unreadable_input_exits_1_naming_file_line_and_column() {
    let good = std::fs::read_to_string(shared("thetis_EU-DE_V2_22988491762.txt")).unwrap();
    let bad = good.replacen("\t54,20\t", "\t54;20\t", 1);
    let path = temp_file("bad-amount.txt", bad.as_bytes());
    let out = run(&["settlement", "preview", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad-amount.txt: line 3, column `amount`: `54;20` is not a number"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let missing = run(&["settlement", "preview", "/nonexistent/settlement.txt"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("cannot open settlement file /nonexistent/settlement.txt")
    );

    let empty = temp_file("empty.txt", b"");
    let out = run(&["settlement", "preview", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty.txt: the file is empty"));
}

#[test]
fn bad_mapping_file_exits_1_naming_the_rule() {
    let mapping = temp_file(
        "bad-mapping.toml",
        b"[[rule]]\ntransaction_type = \"Order\"\namount_type = \"ItemFees\"\nto = \"\"\n",
    );
    let out = run(&[
        "settlement",
        "preview",
        "--mapping",
        mapping.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad-mapping.toml") && err.contains("rule 1 (Order / ItemFees / *)"),
        "{err}"
    );
}

#[test]
fn garbage_never_panics() {
    let path = temp_file(
        "garbage.bin",
        &[0xff, 0x00, b'\t', b'\n', 0xfe, b'-', b',', b'\n', 0x80],
    );
    let out = run(&["settlement", "preview", path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
