//! `ml-connector sandbox serve`: its arguments as a plain struct (the command line parses them in
//! `connector-app`) and the function the CLI calls.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::{Sandbox, SandboxConfig, SandboxError};

/// Arguments of `sandbox serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeArgs {
    /// Which world: a US seller (`na`) or a UK seller (`eu`).
    pub world: crate::world::WorldKind,
    /// World seed.
    pub seed: u64,
    /// Number of orders in the world (a handful to 100000).
    pub orders: usize,
    /// First port: the Service Layer listens here, SP-API + LWA on the next one (0 = any free ports).
    pub port: u16,
    /// Multiplies Amazon's token-bucket refill rates (1 = Amazon's real numbers).
    pub time_scale: f64,
    /// Print the URLs and credentials as one JSON line.
    pub json: bool,
    /// Latency added to every Service Layer request, in milliseconds.
    pub sap_latency_ms: u64,
    /// Latency added to every SP-API request, in milliseconds.
    pub sp_api_latency_ms: u64,
    /// Seconds after which the Service Layer closes idle connections (0 = never).
    pub sap_keep_alive_secs: u64,
    /// Service Layer idle session timeout, in minutes.
    pub session_timeout_minutes: i64,
    /// Keep the sandbox's state in this file: restored on start if it exists, saved on Ctrl-C /
    /// SIGTERM.
    pub state_file: Option<PathBuf>,
    /// The Service Layer release whose property sets are served (10.0 FP 22xx, or 9.3).
    pub sap_profile: crate::sap::schema::SapProfile,
}

impl Default for ServeArgs {
    /// The command line's defaults.
    fn default() -> Self {
        Self {
            world: crate::world::WorldKind::Na,
            seed: 1,
            orders: 500,
            port: 0,
            time_scale: 1.0,
            json: false,
            sap_latency_ms: 0,
            sp_api_latency_ms: 0,
            sap_keep_alive_secs: 5,
            session_timeout_minutes: 30,
            state_file: None,
            sap_profile: crate::sap::schema::SapProfile::default(),
        }
    }
}

impl ServeArgs {
    /// The sandbox configuration these arguments describe.
    pub fn config(&self) -> SandboxConfig {
        SandboxConfig {
            world: self.world,
            seed: self.seed,
            orders: self.orders,
            port: self.port,
            time_scale: self.time_scale,
            sap_latency: Duration::from_millis(self.sap_latency_ms),
            sp_api_latency: Duration::from_millis(self.sp_api_latency_ms),
            sap_session_timeout: chrono::Duration::minutes(self.session_timeout_minutes.max(1)),
            sap_keep_alive: (self.sap_keep_alive_secs > 0)
                .then(|| Duration::from_secs(self.sap_keep_alive_secs)),
            state_file: self.state_file.clone(),
            sap_profile: self.sap_profile,
            ..SandboxConfig::default()
        }
    }
}

/// What `serve` prints: URLs and demo credentials.
pub fn connection_info(sb: &Sandbox) -> serde_json::Value {
    let c = sb.credentials();
    json!({
        "sap_base_url": sb.sap_base_url(),
        "sp_api_base_url": sb.sp_api_base_url(),
        "lwa_token_url": sb.lwa_token_url(),
        "sap_company_db": c.sap_company_db,
        "sap_user": c.sap_user,
        "sap_password": c.sap_password,
        "lwa_client_id": c.lwa_client_id,
        "lwa_client_secret": c.lwa_client_secret,
        "lwa_refresh_token": c.lwa_refresh_token,
        "world": sb.world().kind.code(),
        "seller_id": sb.seller_id(),
        "marketplace_ids": sb.marketplace_ids(),
    })
}

/// Starts both fakes on loopback, prints their URLs and the demo credentials (or one JSON line
/// with `--json`), and serves until Ctrl-C / SIGTERM, then saves `--state-file` if given.
pub async fn run_serve(args: ServeArgs) -> Result<(), SandboxError> {
    serve_until(args, wait_for_signal(), |line| println!("{line}")).await
}

/// Like [`run_serve`], but prints through `print` and stops when `until` completes (for tests
/// and embedding). With `--state-file`, the state is saved when `until` completes.
pub async fn serve_until(
    args: ServeArgs,
    until: impl Future<Output = ()>,
    mut print: impl FnMut(&str),
) -> Result<(), SandboxError> {
    let sb = Sandbox::start(args.config()).await?;
    let info = connection_info(&sb);
    let s = |k: &str| info[k].as_str().unwrap_or_default().to_string();
    if args.json {
        print(&info.to_string());
    } else {
        let w = sb.world();
        print(&format!(
            "ml-connector sandbox ({} world, seed {}, {} orders, {} settlements, time scale {})",
            args.world,
            args.seed,
            w.orders.len(),
            w.settlements.len(),
            args.time_scale
        ));
        print(&format!(
            "  SAP Service Layer  {}  (also {}/b1s/v1, ping {}/ping/)",
            s("sap_base_url"),
            sb.sap_origin(),
            sb.sap_origin()
        ));
        print(&format!(
            "    CompanyDB {}  user {}  password {}",
            s("sap_company_db"),
            s("sap_user"),
            s("sap_password")
        ));
        print(&format!("  SP-API             {}", s("sp_api_base_url")));
        print(&format!("  LWA token URL      {}", s("lwa_token_url")));
        print(&format!("    client_id      {}", s("lwa_client_id")));
        print(&format!("    client_secret  {}", s("lwa_client_secret")));
        print(&format!("    refresh_token  {}", s("lwa_refresh_token")));
        print(&format!(
            "  seller {}  marketplaces {}",
            s("seller_id"),
            sb.marketplace_ids().join(",")
        ));
        let mappings = w.sku_mappings();
        if let Some((sku, item)) = mappings.first() {
            print(&format!(
                "  {} SKUs need an ItemCode mapping, e.g. {sku} -> {item}",
                mappings.len()
            ));
        }
        if let Some(path) = &args.state_file {
            print(&format!(
                "  state file {} ({})",
                path.display(),
                if sb.restored() {
                    "restored"
                } else {
                    "new world, saved on exit"
                }
            ));
        }
        print("Serving until killed (Ctrl-C).");
    }
    until.await;
    sb.close().await
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
