//! What the binary signals to a person and a script: no panic on a closed pipe or a huge cell,
//! exit codes as the README's table says, `audit list` newest first, `init` refusing to orphan
//! stored credentials.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Stdio;

use common::{bin, cli, start_sandbox, workspace};
use connector_app::ledger::{DocFilter, Ledger};

const SEED: u64 = 16;

/// Runs `args` with standard output closed before the command writes: (exit code, stderr).
fn with_closed_stdout(config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = bin(config)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away at once, like `head` after its first line.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap().code(), stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_early_ends_the_command_quietly() {
    let sb = start_sandbox(SEED, 5).await;
    let (_dir, config) = workspace(&sb);
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["audit", "list"],
        &["audit", "list", "--json"],
        // Printed with `println!`: the broken pipe is caught for every command, not only these.
        &["credentials", "list"],
    ] {
        let (code, stderr) = with_closed_stdout(&config, args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
    sb.shutdown().await;
}

#[test]
fn preview_of_a_cell_of_65536_characters_or_more_prints_a_shortened_cell() {
    let sample = include_str!("../../examples/data/settlement-de-sample.txt");
    let header: Vec<&str> = sample.lines().next().unwrap().split('\t').collect();
    let column = header
        .iter()
        .position(|h| *h == "amount-description")
        .unwrap();
    let huge = "x".repeat(70_000);
    let mut lines: Vec<String> = sample.lines().map(str::to_owned).collect();
    let row = lines
        .iter()
        .skip(1)
        .position(|l| l.split('\t').nth(column).is_some_and(|c| !c.is_empty()))
        .unwrap()
        + 1;
    let mut cells: Vec<String> = lines[row].split('\t').map(str::to_owned).collect();
    cells[column] = huge.clone();
    lines[row] = cells.join("\t");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge-cell.txt");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let (code, out) = cli(
        &dir.path().join("unused.toml"),
        &["settlement", "preview", file.to_str().unwrap()],
    );
    assert!(!out.contains("panicked"), "{}", &out[..out.len().min(2000)]);
    // Amount descriptions of item prices map by their type: the sample stays ready.
    assert_eq!(code, Some(0), "{}", &out[..out.len().min(2000)]);
    assert!(
        out.contains("By category") && out.contains("xxx…"),
        "{out:.2000}"
    );
    assert!(
        out.lines().all(|l| l.chars().count() < 1_000),
        "a cell is shortened in the table"
    );
    // JSON, the contract for tools, keeps the whole value.
    let (code, json) = cli(
        &dir.path().join("unused.toml"),
        &[
            "settlement",
            "preview",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(0));
    assert!(json.contains(&huge));
}

/// Stores `lines` (one value per line) as the credentials of `system`.
fn set_credentials(config: &Path, system: &str, lines: &str) {
    use std::io::Write;
    let mut child = bin(config)
        .args(["credentials", "set", system])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_or_missing_credentials_make_sync_exit_3() {
    let sb = start_sandbox(SEED, 5).await;

    let (_wrong_password, config) = workspace(&sb);
    set_credentials(&config, "sap", "not-the-password\n");
    let (code, out) = cli(&config, &["sync", "orders"]);
    assert_eq!(code, Some(3), "wrong SAP password: {out}");
    assert!(out.contains("login rejected"), "{out}");

    let (_missing, config) = workspace(&sb);
    let (code, out) = cli(&config, &["credentials", "delete", "amazon"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = cli(&config, &["sync", "orders"]);
    assert_eq!(code, Some(3), "missing credentials: {out}");
    assert!(out.contains("credentials set amazon"), "{out}");

    // Last: the revoked token holds for every workspace on this sandbox.
    let (_revoked, config) = workspace(&sb);
    sb.revoke_refresh_token();
    let (code, out) = cli(&config, &["sync", "orders"]);
    assert_eq!(code, Some(3), "revoked refresh token: {out}");
    assert!(out.contains("invalid_grant"), "{out}");
    sb.shutdown().await;
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ml-connector.toml");
    for args in [
        &["sync", "--bogus"][..],
        &["frobnicate"],
        &["sync"],
        &["audit", "list", "--limit", "many"],
    ] {
        let (code, out) = cli(&config, args);
        assert_eq!(code, Some(64), "{args:?}: {out}");
        assert!(out.contains("error") || out.contains("Usage"), "{out}");
    }
    for args in [&["--help"][..], &["--version"], &["sync", "--help"]] {
        let (code, out) = cli(&config, args);
        assert_eq!(code, Some(0), "{args:?}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_of_an_unreadable_file_fails_like_preview() {
    let sb = start_sandbox(SEED, 5).await;
    let (dir, config) = workspace(&sb);
    let garbage = dir.path().join("not-a-settlement.txt");
    std::fs::write(&garbage, "this is\tnot\na settlement file\n").unwrap();
    let missing = dir.path().join("missing.txt");
    for file in [&garbage, &missing] {
        let file = file.to_str().unwrap();
        let (code, out) = cli(&config, &["settlement", "preview", file]);
        assert_eq!(code, Some(1), "preview {file}: {out}");
        let (code, out) = cli(&config, &["settlement", "import", file]);
        assert_eq!(code, Some(1), "import {file}: {out}");
        assert!(out.contains(file), "the message names the file: {out}");
    }
    let ledger = common::ledger(&config);
    assert!(
        ledger.list(&DocFilter::default()).unwrap().is_empty(),
        "nothing planned"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_2_while_it_lists_something_that_needs_attention() {
    let sb = start_sandbox(SEED, 5).await;
    let (_dir, config) = workspace(&sb);
    let (code, out) = cli(&config, &["status"]);
    assert_eq!(code, Some(0), "{out}");
    let mut ledger = common::ledger(&config);
    ledger
        .plan(
            "amz:test:order:1:invoice",
            "orders",
            "invoice",
            None,
            "{}",
            Some("SKU X is not mapped"),
        )
        .unwrap();
    for args in [&["status"][..], &["status", "--json"]] {
        let (code, out) = cli(&config, args);
        assert_eq!(code, Some(2), "{args:?}: {out}");
        assert!(out.contains("SKU X is not mapped"), "{out}");
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_list_shows_the_latest_state_changes_first() {
    let sb = start_sandbox(SEED, 5).await;
    let (_dir, config) = workspace(&sb);
    let mut ledger = common::ledger(&config);
    let keys = ["amz:test:order:a", "amz:test:order:b", "amz:test:order:c"];
    for key in keys {
        ledger
            .plan(key, "orders", "invoice", None, "{}", None)
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // The oldest document changes last.
    ledger
        .transition(keys[0], connector_app::ledger::DocState::Held, "test")
        .unwrap();
    let listed = |limit: &str| -> Vec<String> {
        let (code, out) = cli(&config, &["audit", "list", "--limit", limit]);
        assert_eq!(code, Some(0), "{out}");
        out.lines()
            .map(|l| l.split_whitespace().nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed("100"), [keys[0], keys[2], keys[1]]);
    assert_eq!(
        listed("2"),
        [keys[0], keys[2]],
        "the limit keeps the newest"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_refuses_a_new_key_while_credentials_need_the_missing_one() {
    let sb = start_sandbox(SEED, 5).await;
    let (dir, config) = workspace(&sb);
    let key = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "key"))
        .expect("the workspace has a key file");
    std::fs::remove_file(&key).unwrap();
    let (code, out) = cli(&config, &["init"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(!key.exists(), "no new key was made");
    assert!(
        out.contains("credentials.json")
            && out.contains(&key.display().to_string())
            && out.contains("restore")
            && out.contains("delete"),
        "{out}"
    );
    sb.shutdown().await;
}
