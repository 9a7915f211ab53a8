//! The configuration file: connections, schedules, mappings and policies, validated at start.
//!
//! Every problem is reported with the file, the key and the reason (`ml-connector.toml: key
//! `sap.base_url`: must end in /b1s/v1 or /b1s/v2`). Secrets are not in this file: they live in the
//! encrypted credential store.
//!
//! One module per TOML section, each with the section as written (`Raw…`, serde) and its
//! validated form:
//! - [`workspace`]: `[workspace]`, the ledger, key and credential files.
//! - [`sap`]: `[sap]`, the Service Layer connection.
//! - [`amazon`]: `[amazon]`, the SP-API connection.
//! - [`schedule`]: `[schedule]`, when the daemon runs each flow.
//! - [`orders`]: `[orders]`, orders -> invoices.
//! - [`marketplaces`]: `[marketplaces.ID]`, customer and tax per marketplace.
//! - [`sku_map`]: `[sku_map]`, SKU -> ItemCode overrides.
//! - [`settlements`]: `[settlements]`, settlements -> receipts and journal entries.
//! - [`items`]: `[items]`, SAP items -> Amazon prices and quantities.
//! - [`allocation`]: `[items.allocation]`, how an item's stock is shared between marketplaces.
//! - [`fba`]: `[fba]`, the SAP warehouse that mirrors Amazon's FBA stock.
//! - [`posting`]: `[posting]`, per-order invoices or summary documents per settlement.
//! - [`ledger`]: `[ledger]`, SQLite (default) or a PostgreSQL database and tenant.
//! - [`template`]: the commented file `ml-connector init` writes.

pub mod allocation;
pub mod amazon;
pub mod fba;
pub mod items;
pub mod ledger;
pub mod marketplaces;
pub mod orders;
pub mod posting;
pub mod sap;
pub mod schedule;
pub mod settlements;
pub mod sku_map;
pub mod template;
pub mod workspace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use allocation::{AllocationConfig, AllocationGroup, AllocationPolicy};
pub use amazon::{AmazonConfig, RegionName};
pub use fba::{FbaConfig, FbaPost};
pub use items::{ItemPriceList, ItemsConfig, Rounding};
pub use ledger::LedgerBackend;
pub use marketplaces::MarketplaceMapping;
pub use orders::{InvoiceWhen, OrdersConfig, Shipping, TaxField};
pub use posting::{PostingConfig, PostingMode};
pub use sap::SapConfig;
pub use schedule::Schedules;
pub use settlements::{MissingInvoice, ReceiptGrouping, SettlementsConfig};
pub use template::TEMPLATE;
pub use workspace::WorkspacePaths;

/// A configuration problem, naming file and key.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {}{reason}", key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// The dotted key at fault, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from; relative paths resolve against its directory.
    pub path: PathBuf,
    /// Where the ledger, key and credentials live.
    pub workspace: WorkspacePaths,
    /// SAP Business One connection.
    pub sap: SapConfig,
    /// Amazon connection.
    pub amazon: AmazonConfig,
    /// Flow schedules.
    pub schedule: Schedules,
    /// Orders -> invoices settings.
    pub orders: OrdersConfig,
    /// Marketplace id -> customer and tax code.
    pub marketplaces: BTreeMap<String, MarketplaceMapping>,
    /// Amazon SKU -> SAP ItemCode overrides (default: identity).
    pub sku_map: BTreeMap<String, String>,
    /// Settlement settings.
    pub settlements: SettlementsConfig,
    /// SAP items -> Amazon prices and quantities.
    pub items: ItemsConfig,
    /// The SAP warehouse that mirrors Amazon's FBA stock.
    pub fba: FbaConfig,
    /// Per-order invoices or summary documents, per marketplace.
    pub posting: PostingConfig,
    /// The ledger's backend (`[ledger]`; the workspace's SQLite file when absent).
    pub ledger: LedgerBackend,
}

/// A problem found in one section: the dotted key and the reason ([`Config::parse`] adds the file).
#[derive(Debug)]
struct Invalid {
    key: String,
    reason: String,
}

impl Invalid {
    fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// A duration setting (`7d`, `10m`), or its default.
fn duration(key: &str, value: Option<&str>, default: &str) -> Result<Duration, Invalid> {
    crate::schedule::parse_duration(value.unwrap_or(default)).map_err(|e| Invalid::new(key, e))
}

/// A path from the file, relative to the config file's directory `dir` unless absolute.
fn resolve(dir: &Path, p: PathBuf) -> PathBuf {
    if p.is_absolute() { p } else { dir.join(p) }
}

/// The whole file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    workspace: workspace::RawWorkspace,
    sap: sap::RawSap,
    amazon: amazon::RawAmazon,
    #[serde(default)]
    schedule: schedule::RawSchedule,
    #[serde(default)]
    orders: orders::RawOrders,
    #[serde(default)]
    marketplaces: BTreeMap<String, MarketplaceMapping>,
    #[serde(default)]
    sku_map: BTreeMap<String, String>,
    #[serde(default)]
    settlements: settlements::RawSettlements,
    #[serde(default)]
    items: Option<items::RawItems>,
    #[serde(default)]
    fba: Option<fba::RawFba>,
    #[serde(default)]
    posting: posting::RawPosting,
    #[serde(default)]
    ledger: ledger::RawLedger,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            key: None,
            reason: if path.is_dir() {
                // `--config` names the file, not the workspace folder it lives in.
                format!(
                    "is a directory: give the configuration file (e.g. {})",
                    path.join("ml-connector.toml").display()
                )
            } else {
                format!("cannot read: {e} (create one with `ml-connector init`)")
            },
        })?;
        Self::parse(path, &text)
    }

    /// Validates config text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: Raw = toml::from_str(text).map_err(|e| ConfigError {
            file: path.to_owned(),
            key: None,
            reason: e.to_string().trim_end().to_owned(),
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::validate(path, &dir, raw).map_err(|Invalid { key, reason }| ConfigError {
            file: path.to_owned(),
            key: Some(key),
            reason,
        })
    }

    /// Validates each section, then the rules that span sections.
    fn validate(path: &Path, dir: &Path, raw: Raw) -> Result<Self, Invalid> {
        let sap = raw.sap.validate(dir)?;
        let amazon = raw.amazon.validate()?;
        marketplaces::validate(&raw.marketplaces, &amazon.marketplaces)?;
        let orders = raw.orders.validate()?;
        let settlements = raw.settlements.validate(dir)?;
        if let (Some(from), None) = (orders.invoiced_from, &settlements.opening_receivable) {
            return Err(Invalid::new(
                "settlements.opening_receivable",
                format!(
                    "required with orders.invoiced_from ({from}): receipts of orders from before \
                     it are credited to this G/L account, never invoiced again"
                ),
            ));
        }
        sku_map::validate(&raw.sku_map)?;
        let items = match raw.items {
            Some(items) => items.validate(&amazon.marketplaces)?,
            None => ItemsConfig::default(),
        };
        let fba = match raw.fba {
            Some(fba) => fba.validate(&amazon.marketplaces)?,
            None => FbaConfig::default(),
        };
        let posting = raw.posting.validate(&amazon.marketplaces)?;
        let schedule = raw.schedule.validate()?;
        let ledger = raw.ledger.validate(dir)?;
        Ok(Self {
            path: path.to_owned(),
            workspace: raw.workspace.resolve(dir),
            sap,
            amazon,
            schedule,
            orders,
            marketplaces: raw.marketplaces,
            sku_map: raw.sku_map,
            settlements,
            items,
            fba,
            posting,
            ledger,
        })
    }

    /// The SAP ItemCode for an Amazon SKU: the configured override, else the SKU itself.
    pub fn item_code<'a>(&'a self, sku: &'a str) -> &'a str {
        self.sku_map.get(sku).map_or(sku, String::as_str)
    }
}

/// The template parsed as if it were `/etc/mlc/ml-connector.toml` (for the sections' tests).
#[cfg(test)]
fn parse_at(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("/etc/mlc/ml-connector.toml"), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_key_and_reason() {
        let unreadable = Config::load(Path::new("/nonexistent/ml-connector.toml")).unwrap_err();
        assert_eq!(unreadable.key, None);
        assert!(
            unreadable
                .to_string()
                .starts_with("/nonexistent/ml-connector.toml: cannot read: ")
                && unreadable
                    .to_string()
                    .ends_with("(create one with `ml-connector init`)"),
            "{unreadable}"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = Config::load(dir.path()).unwrap_err();
        assert!(
            e.to_string()
                .contains("is a directory: give the configuration file")
                && !e.to_string().contains("ml-connector init"),
            "{e}"
        );
        let bad = TEMPLATE.replace("sessions = 2", "sessions = 0");
        let e = parse_at(&bad).unwrap_err();
        assert_eq!(
            (e.file.as_path(), e.key.as_deref()),
            (
                Path::new("/etc/mlc/ml-connector.toml"),
                Some("sap.sessions")
            )
        );
        assert_eq!(
            e.to_string(),
            "/etc/mlc/ml-connector.toml: key `sap.sessions`: 0 is outside 1-16"
        );
        let typo = TEMPLATE.replace("[sku_map]", "[typo]");
        let e = parse_at(&typo).unwrap_err();
        assert_eq!(e.key, None);
        assert!(e.to_string().contains("typo"), "{e}");
    }
}
