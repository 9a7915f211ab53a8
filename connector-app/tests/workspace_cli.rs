//! `init`, `credentials`, `status` and `audit` through the binary; secrets never reach any output.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SAP_SECRET: &str = "sap-pa55-Zq8!unique";
const LWA_SECRET: &str = "amzn1.oa2-cs.v1.secret-unique-42";
const REFRESH: &str = "Atzr|IwEBrefresh-unique-77";

fn bin(config: &Path) -> Command {
    let mut c = common::bin(config);
    c.env_remove("ML_CONNECTOR_CONFIG");
    c
}

fn run(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = bin(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_no_secret(what: &str, output: &str) {
    for secret in [SAP_SECRET, LWA_SECRET, REFRESH] {
        assert!(
            !output.contains(secret),
            "{what} printed a secret: {output}"
        );
    }
}

fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ml-connector.toml");
    let o = run(&config, &["init"], None);
    assert!(o.status.success(), "{}", text(&o));
    (dir, config)
}

#[test]
fn init_writes_a_valid_template_and_a_private_key() {
    let (dir, config) = workspace();
    assert!(config.exists());
    let key = dir.path().join("ml-connector.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let before = std::fs::read(&key).unwrap();
    let again = run(&config, &["init"], None);
    assert!(again.status.success());
    assert!(text(&again).contains("exists already"));
    assert_eq!(
        std::fs::read(&key).unwrap(),
        before,
        "init never replaces a key"
    );
}

#[test]
fn credentials_are_stored_encrypted_and_never_printed() {
    let (dir, config) = workspace();
    let o = run(
        &config,
        &["credentials", "set", "sap"],
        Some(&format!("{SAP_SECRET}\n")),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_no_secret("credentials set", &text(&o));
    let o = run(
        &config,
        &["credentials", "set", "amazon"],
        Some(&format!(
            "amzn1.application-oa2-client.x\n{LWA_SECRET}\n{REFRESH}\n"
        )),
    );
    assert!(o.status.success(), "{}", text(&o));

    let raw = std::fs::read_to_string(dir.path().join("credentials.json")).unwrap();
    assert_no_secret("the credentials file", &raw);

    let list = run(&config, &["credentials", "list"], None);
    assert!(list.status.success());
    let listed = text(&list);
    assert!(
        listed.contains("sap") && listed.contains("password") && listed.contains("refresh_token"),
        "{listed}"
    );
    assert_no_secret("credentials list", &listed);
    for args in [
        vec!["--help"],
        vec!["credentials", "--help"],
        vec!["credentials", "set", "--help"],
        vec!["status"],
        vec!["audit", "list"],
        vec!["-vvv", "status", "--json"],
    ] {
        let o = run(&config, &args, None);
        assert_no_secret(&args.join(" "), &text(&o));
    }
}

#[test]
fn short_stdin_stores_nothing() {
    let (dir, config) = workspace();
    let o = run(
        &config,
        &["credentials", "set", "amazon"],
        Some("only-one-line\n"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("standard input ended before amazon `client_secret`"),
        "{}",
        text(&o)
    );
    assert!(!dir.path().join("credentials.json").exists());
}

#[test]
fn wrong_key_is_refused_without_damage() {
    let (dir, config) = workspace();
    assert!(
        run(
            &config,
            &["credentials", "set", "sap"],
            Some(&format!("{SAP_SECRET}\n"))
        )
        .status
        .success()
    );
    let store = dir.path().join("credentials.json");
    let before = std::fs::read(&store).unwrap();
    let o = bin(&config)
        .args(["credentials", "set", "sap"])
        .env("ML_CONNECTOR_KEY", "11".repeat(32))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("stored with a different key"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(&store).unwrap(), before);
}

#[test]
fn invalid_config_names_file_key_and_reason() {
    let (_dir, config) = workspace();
    let t = std::fs::read_to_string(&config)
        .unwrap()
        .replace("region = \"eu\"", "region = \"eu\"\nregoin = \"na\"");
    std::fs::write(&config, t).unwrap();
    let o = run(&config, &["status"], None);
    assert_eq!(o.status.code(), Some(3));
    let e = text(&o);
    assert!(
        e.contains("ml-connector.toml") && e.contains("regoin"),
        "{e}"
    );
}

#[test]
fn status_and_audit_on_an_empty_ledger() {
    let (_dir, config) = workspace();
    let o = run(&config, &["status"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no documents yet"));
    let o = run(&config, &["audit", "show", "amz:none"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no document or audit trail with key `amz:none`"));
}
