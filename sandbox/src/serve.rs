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

/// [`run_serve`] with [`serve_with`]'s `after_start`.
pub async fn run_serve_with(
    args: ServeArgs,
    after_start: impl FnOnce(&Sandbox) -> Result<Extra, String>,
) -> Result<(), SandboxError> {
    serve_with(
        args,
        wait_for_signal(),
        |line| println!("{line}"),
        after_start,
    )
    .await
}

/// Like [`run_serve`], but prints through `print` and stops when `until` completes (for tests
/// and embedding). With `--state-file`, the state is saved when `until` completes.
pub async fn serve_until(
    args: ServeArgs,
    until: impl Future<Output = ()>,
    print: impl FnMut(&str),
) -> Result<(), SandboxError> {
    serve_with(args, until, print, |_| Ok(Vec::new())).await
}

/// What a caller of [`serve_with`] adds to the printout once the sandbox runs: `(key, value)`
/// pairs, printed as `  key  value` lines and added to the JSON line.
pub type Extra = Vec<(&'static str, String)>;

/// Like [`serve_until`], with `after_start` run on the started sandbox before anything is
/// printed (the connector writes a workspace for it there). Its pairs are printed with the
/// rest; an error it returns stops the sandbox and is returned.
pub async fn serve_with(
    args: ServeArgs,
    until: impl Future<Output = ()>,
    mut print: impl FnMut(&str),
    after_start: impl FnOnce(&Sandbox) -> Result<Extra, String>,
) -> Result<(), SandboxError> {
    let sb = Sandbox::start(args.config()).await?;
    let extra = match after_start(&sb) {
        Ok(extra) => extra,
        Err(message) => {
            sb.close().await?;
            return Err(SandboxError::Setup(message));
        }
    };
    let mut info = connection_info(&sb);
    let s = |k: &str| info[k].as_str().unwrap_or_default().to_string();
    if args.json {
        for (k, v) in &extra {
            info[*k] = json!(v);
        }
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
        for line in world_lines(&sb, !extra.is_empty()) {
            print(&line);
        }
        for (k, v) in &extra {
            print(&format!("  {k}  {v}"));
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

/// What a configuration for this world needs: its marketplaces (customer, currency, tax codes),
/// the G/L accounts a settlement mapping may name and the SKU map. With `brief` (a workspace was
/// written that holds them) only the counts.
pub fn world_lines(sb: &Sandbox, brief: bool) -> Vec<String> {
    let w = sb.world();
    let mut out = Vec::new();
    let mappings = w.sku_mappings();
    let accounts: Vec<_> = crate::world::sap_company::accounts(w.kind)
        .into_iter()
        .filter(|a| a.2 && !a.3 && !a.5)
        .collect();
    if brief {
        out.push(format!(
            "  {} marketplaces, {} postable G/L accounts, {} SKUs mapped to other ItemCodes: all in the workspace below",
            w.marketplaces.len(),
            accounts.len(),
            mappings.len()
        ));
        return out;
    }
    out.push(
        "  marketplaces (customer, currency, tax codes standard/reduced by jurisdiction):".into(),
    );
    for m in &w.marketplaces {
        let codes: Vec<String> = m
            .jurisdictions
            .iter()
            .map(|j| {
                let collector = if j.facilitator_bp == [0, 0] {
                    ""
                } else {
                    " (Amazon collects)"
                };
                format!("{} {}{collector}", j.code, j.tax_code.join("/"))
            })
            .collect();
        out.push(format!(
            "    {} {}  customer {}  {}  price list {}  tax codes {}",
            m.id,
            m.name,
            m.customer,
            m.currency,
            m.price_list,
            codes.join(", ")
        ));
    }
    out.push("  G/L accounts a settlement mapping can use (ChartOfAccounts):".into());
    for (code, name, ..) in &accounts {
        out.push(format!("    {code}  {name}"));
    }
    out.push(format!(
        "  [sku_map] ({} SKUs whose SAP ItemCode differs):",
        mappings.len()
    ));
    for (sku, item) in &mappings {
        out.push(format!("    \"{sku}\" = \"{item}\""));
    }
    out.push(
        "  (`--write-workspace DIR` writes a complete workspace with all of this instead)".into(),
    );
    out
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
