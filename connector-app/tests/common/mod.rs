//! The harness the integration tests share: a sandbox with a seeded world, a workspace that points
//! at it, an engine over that workspace, the ledger, the binary, and readers of the fake SAP.
//!
//! Each test binary uses only part of it.
#![allow(dead_code)]

pub mod items;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use connector_app::config::Config;
use connector_app::connect::{Secrets, amazon_client, sap_client};
use connector_app::credentials::{CredentialKey, CredentialStore};
use connector_app::flows::Engine;
use connector_app::ledger::SqliteLedger;
use rust_decimal::Decimal;
use sandbox::world::WorldKind;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

/// How much faster than Amazon's real rates the sandbox runs in tests.
pub const TIME_SCALE: f64 = 1000.0;

/// SAP sessions a test workspace opens.
pub const SESSIONS: usize = 2;

/// Sandbox settings for world `seed` with `orders` orders at the tests' time scale, in the EU
/// world (a UK company on .co.uk, .de and .fr), which most tests name; [`sandbox_config_in`]
/// picks the world.
pub fn sandbox_config(seed: u64, orders: usize) -> SandboxConfig {
    sandbox_config_in(WorldKind::Eu, seed, orders)
}

/// [`sandbox_config`] in world `world`.
pub fn sandbox_config_in(world: WorldKind, seed: u64, orders: usize) -> SandboxConfig {
    SandboxConfig {
        world,
        seed,
        orders,
        time_scale: TIME_SCALE,
        // These tests read the fake catalog right after a push, so Amazon applies accepted
        // listing changes at once here; items_delay_e2e sets a real delay and covers it.
        listing_apply_delay: chrono::Duration::zero(),
        ..SandboxConfig::default()
    }
}

/// Starts a sandbox for world `seed` with `orders` orders.
pub async fn start_sandbox(seed: u64, orders: usize) -> Sandbox {
    Sandbox::start(sandbox_config(seed, orders)).await.unwrap()
}

/// Starts a sandbox of world `world`.
pub async fn start_sandbox_in(world: WorldKind, seed: u64, orders: usize) -> Sandbox {
    Sandbox::start(sandbox_config_in(world, seed, orders))
        .await
        .unwrap()
}

/// A fresh temporary workspace pointing at `sb` (the demo's config, mapping and credentials).
pub fn workspace(sb: &Sandbox) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_workspace(dir.path(), sb);
    (dir, config)
}

/// Writes the demo's workspace for `sb` into `dir`; returns its config file.
pub fn write_workspace(dir: &Path, sb: &Sandbox) -> PathBuf {
    connector_app::demo::write_workspace(dir, sb, SESSIONS, TIME_SCALE).unwrap()
}

/// Replaces `from` with `to` in a workspace's config file (`from` must be there).
pub fn edit_config(config: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(
        text.contains(from),
        "{from:?} is not in {}",
        config.display()
    );
    std::fs::write(config, text.replace(from, to)).unwrap();
}

/// An engine over a workspace's config, credentials and ledger.
pub fn engine_for(config_path: &Path) -> Engine {
    let config = Config::load(config_path).unwrap();
    let key = CredentialKey::load(&config.workspace.key_file, None).unwrap();
    let store = CredentialStore::open(&config.workspace.credentials, key).unwrap();
    let secrets = Secrets::load(&store).unwrap();
    let sap = sap_client(&config, secrets.sap_password).unwrap();
    let amazon = amazon_client(&config, secrets.lwa).unwrap();
    let ledger = SqliteLedger::open(&config.workspace.ledger).unwrap();
    Engine::new(config, ledger, sap, amazon)
}

/// [`engine_for`] holding the workspace's writer lock.
pub fn writer_for(config_path: &Path) -> Engine {
    engine_for(config_path).lock_writer("test").unwrap()
}

/// The ledger of the workspace whose config is `config`.
pub fn ledger(config: &Path) -> SqliteLedger {
    SqliteLedger::open(&config.parent().unwrap().join("ml-connector.db")).unwrap()
}

/// The `ml-connector` binary on a workspace, without a key from the environment.
pub fn bin(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ml-connector"));
    c.arg("--config").arg(config).env_remove("ML_CONNECTOR_KEY");
    c
}

/// Runs the binary on a workspace: (exit code, stdout then stderr).
pub fn cli(config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let o = bin(config).args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

/// What `ml-connector status` prints for a workspace.
pub fn status_of(config: &Path) -> String {
    cli(config, &["status"]).1
}

/// A JSON number or numeric string as a decimal; `null` is zero.
pub fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        Value::Null => Decimal::ZERO,
        other => panic!("not a number: {other}"),
    }
}

/// Documents in the fake SAP: invoices, incoming payments, journal entries.
pub fn sap_documents(sb: &Sandbox) -> [usize; 3] {
    [
        sb.sap_count("Invoices"),
        sb.sap_count("IncomingPayments"),
        sb.sap_count("JournalEntries"),
    ]
}

/// A `--since` date a day before the world's first order update: every order is in the window.
pub fn since(sb: &Sandbox) -> String {
    let first = sb
        .world()
        .orders
        .iter()
        .map(|o| o.last_updated)
        .min()
        .unwrap();
    (first - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string()
}
