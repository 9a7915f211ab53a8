//! The configuration file: connections, schedules, mappings and policies, validated at start.
//!
//! Every problem is reported with the file, the key and the reason (`ml-connector.toml: key
//! `sap.base_url`: must end in /b1s/v1 or /b1s/v2`). Secrets are not in this file: they live in the
//! encrypted credential store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::schedule::{Schedule, parse_duration};

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
}

/// Files of the workspace (resolved to absolute paths).
#[derive(Debug, Clone)]
pub struct WorkspacePaths {
    /// SQLite ledger.
    pub ledger: PathBuf,
    /// Encrypted credential store.
    pub credentials: PathBuf,
    /// Key file.
    pub key_file: PathBuf,
}

/// SAP connection (password in the credential store under `sap`).
#[derive(Debug, Clone)]
pub struct SapConfig {
    /// Full Service Layer base URL, `/b1s/v1` or `/b1s/v2`.
    pub base_url: String,
    /// Company database.
    pub company_db: String,
    /// User name.
    pub user: String,
    /// Extra CA certificate (PEM) for self-signed on-premise servers.
    pub ca_file: Option<PathBuf>,
    /// Skip TLS verification (logged loudly; never in production).
    pub accept_invalid_certs: bool,
    /// Parallel Service Layer sessions.
    pub sessions: usize,
    /// UDF on documents that also carries the ledger key (e.g. `U_MLC_Key`).
    pub key_udf: Option<String>,
}

/// Amazon region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionName {
    /// North America.
    Na,
    /// Europe (incl. UK, India, Middle East).
    Eu,
    /// Far East.
    Fe,
}

/// Amazon connection (LWA client id, secret and refresh token in the credential store under `amazon`).
#[derive(Debug, Clone)]
pub struct AmazonConfig {
    /// Region.
    pub region: RegionName,
    /// Merchant token (seller id).
    pub seller_id: String,
    /// Marketplaces to sync.
    pub marketplaces: Vec<String>,
    /// SP-API base URL override (sandbox, tests).
    pub endpoint: Option<String>,
    /// LWA token URL override (sandbox, tests).
    pub lwa_token_url: Option<String>,
    /// Multiplies Amazon's published rate limits: only for the sandbox, whose clock runs faster.
    pub rate_scale: f64,
}

/// Flow schedules.
#[derive(Debug, Clone)]
pub struct Schedules {
    /// Orders -> invoices.
    pub orders: Schedule,
    /// Settlements -> receipts and journal entries.
    pub settlements: Schedule,
    /// SAP items -> Amazon listings.
    pub items: Schedule,
}

/// When an order becomes an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvoiceWhen {
    /// Once Amazon reports it shipped (default).
    Shipped,
    /// As soon as it is unshipped or later (not pending, not cancelled).
    Accepted,
}

/// How shipping charges are invoiced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shipping {
    /// As an item line with this ItemCode.
    ItemLine(String),
    /// As a document additional expense with this ExpenseCode.
    Expense(i32),
}

/// Orders -> invoices.
#[derive(Debug, Clone)]
pub struct OrdersConfig {
    /// Invoice when shipped (default) or accepted.
    pub invoice_when: InvoiceWhen,
    /// First run: how far back to look.
    pub lookback: std::time::Duration,
    /// Each run re-reads this much before the cursor (orders change after creation).
    pub overlap: std::time::Duration,
    /// Shipping treatment.
    pub shipping: Shipping,
    /// Warehouse for invoice lines.
    pub warehouse: Option<String>,
    /// Which line field carries the marketplace's tax code.
    pub tax_field: TaxField,
}

/// Which document-line field carries the tax code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaxField {
    /// `VatGroup` (VAT localisations: EU, UK).
    VatGroup,
    /// `TaxCode` (US / Canada sales-tax localisations).
    TaxCode,
}

/// Marketplace -> SAP customer and tax.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketplaceMapping {
    /// SAP customer CardCode.
    pub customer: String,
    /// Tax code (VatGroup in EU localisations, TaxCode in US ones).
    #[serde(default)]
    pub tax_code: Option<String>,
    /// Whether Amazon's item and shipping prices include the tax (EU/UK VAT: yes; US sales tax: no).
    #[serde(default = "default_true")]
    pub prices_include_tax: bool,
}

fn default_true() -> bool {
    true
}

/// Settlement settings.
#[derive(Debug, Clone)]
pub struct SettlementsConfig {
    /// Mapping table file (TOML), relative to the config file.
    pub mapping: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    workspace: RawWorkspace,
    sap: RawSap,
    amazon: RawAmazon,
    #[serde(default)]
    schedule: RawSchedule,
    #[serde(default)]
    orders: RawOrders,
    #[serde(default)]
    marketplaces: BTreeMap<String, MarketplaceMapping>,
    #[serde(default)]
    sku_map: BTreeMap<String, String>,
    #[serde(default)]
    settlements: RawSettlements,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWorkspace {
    ledger: Option<PathBuf>,
    credentials: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSap {
    base_url: String,
    company_db: String,
    user: String,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    accept_invalid_certs: bool,
    #[serde(default)]
    sessions: Option<usize>,
    #[serde(default)]
    key_udf: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAmazon {
    region: RegionName,
    seller_id: String,
    marketplaces: Vec<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    lwa_token_url: Option<String>,
    #[serde(default)]
    rate_scale: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    orders: Option<String>,
    settlements: Option<String>,
    items: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOrders {
    invoice_when: Option<InvoiceWhen>,
    lookback: Option<String>,
    overlap: Option<String>,
    shipping: Option<String>,
    shipping_item: Option<String>,
    shipping_expense_code: Option<i32>,
    warehouse: Option<String>,
    tax_field: Option<TaxField>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettlements {
    mapping: Option<PathBuf>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            key: None,
            reason: format!("cannot read: {e} (create one with `ml-connector init`)"),
        })?;
        Self::parse(path, &text)
    }

    /// Validates config text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let fail = |key: &str, reason: String| ConfigError {
            file: path.to_owned(),
            key: Some(key.to_owned()),
            reason,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| ConfigError {
            file: path.to_owned(),
            key: None,
            reason: e.to_string().trim_end().to_owned(),
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };

        let base = raw.sap.base_url.trim().trim_end_matches('/').to_owned();
        let scheme_ok = base.starts_with("https://") || base.starts_with("http://");
        if !scheme_ok || !(base.ends_with("/b1s/v1") || base.ends_with("/b1s/v2")) {
            return Err(fail(
                "sap.base_url",
                format!(
                    "`{}` must be the full Service Layer URL, http(s)://host:port/b1s/v1 or /b1s/v2",
                    raw.sap.base_url
                ),
            ));
        }
        for (key, value) in [
            ("sap.company_db", &raw.sap.company_db),
            ("sap.user", &raw.sap.user),
        ] {
            if value.trim().is_empty() {
                return Err(fail(key, "must not be empty".into()));
            }
        }
        let sessions = raw.sap.sessions.unwrap_or(1);
        if !(1..=16).contains(&sessions) {
            return Err(fail("sap.sessions", format!("{sessions} is outside 1-16")));
        }
        if let Some(udf) = &raw.sap.key_udf
            && !udf.starts_with("U_")
        {
            return Err(fail(
                "sap.key_udf",
                format!("`{udf}` is not a user-defined field (they start with U_)"),
            ));
        }
        if raw.amazon.seller_id.trim().is_empty() {
            return Err(fail("amazon.seller_id", "must not be empty".into()));
        }
        if raw.amazon.marketplaces.is_empty() {
            return Err(fail(
                "amazon.marketplaces",
                "list at least one marketplace id".into(),
            ));
        }
        for id in &raw.amazon.marketplaces {
            if !raw.marketplaces.contains_key(id) {
                return Err(fail(
                    &format!("marketplaces.{id}"),
                    format!(
                        "marketplace {id} is synced but has no [marketplaces.{id}] section with its SAP customer"
                    ),
                ));
            }
        }
        for (id, m) in &raw.marketplaces {
            if m.customer.trim().is_empty() {
                return Err(fail(
                    &format!("marketplaces.{id}.customer"),
                    "must name a SAP CardCode".into(),
                ));
            }
        }
        for (key, value) in [
            ("amazon.endpoint", &raw.amazon.endpoint),
            ("amazon.lwa_token_url", &raw.amazon.lwa_token_url),
        ] {
            if let Some(v) = value
                && !(v.starts_with("https://") || v.starts_with("http://"))
            {
                return Err(fail(key, format!("`{v}` is not an http(s) URL")));
            }
        }
        let rate_scale = raw.amazon.rate_scale.unwrap_or(1.0);
        if !(rate_scale.is_finite() && rate_scale >= 1.0) {
            return Err(fail(
                "amazon.rate_scale",
                format!("{rate_scale} must be 1 or more (and above 1 only against the sandbox)"),
            ));
        }
        let schedule = |key: &str, v: &Option<String>, default: &str| {
            Schedule::parse(v.as_deref().unwrap_or(default)).map_err(|e| fail(key, e))
        };
        let duration = |key: &str, v: &Option<String>, default: &str| {
            parse_duration(v.as_deref().unwrap_or(default)).map_err(|e| fail(key, e))
        };
        let o = &raw.orders;
        let shipping = match o.shipping.as_deref().unwrap_or("item-line") {
            "item-line" => Shipping::ItemLine(
                o.shipping_item
                    .clone()
                    .unwrap_or_else(|| "SHIPPING".to_owned()),
            ),
            "expense" => Shipping::Expense(o.shipping_expense_code.ok_or_else(|| {
                fail(
                    "orders.shipping_expense_code",
                    "required when orders.shipping = \"expense\"".into(),
                )
            })?),
            other => {
                return Err(fail(
                    "orders.shipping",
                    format!("`{other}` is not `item-line` or `expense`"),
                ));
            }
        };
        for (sku, item) in &raw.sku_map {
            if item.trim().is_empty() {
                return Err(fail(
                    &format!("sku_map.\"{sku}\""),
                    "must name a SAP ItemCode".into(),
                ));
            }
        }
        Ok(Self {
            path: path.to_owned(),
            workspace: WorkspacePaths {
                ledger: resolve(
                    raw.workspace
                        .ledger
                        .unwrap_or_else(|| "ml-connector.db".into()),
                ),
                credentials: resolve(
                    raw.workspace
                        .credentials
                        .unwrap_or_else(|| "credentials.json".into()),
                ),
                key_file: resolve(
                    raw.workspace
                        .key_file
                        .unwrap_or_else(|| "ml-connector.key".into()),
                ),
            },
            sap: SapConfig {
                base_url: base,
                company_db: raw.sap.company_db,
                user: raw.sap.user,
                ca_file: raw.sap.ca_file.map(resolve),
                accept_invalid_certs: raw.sap.accept_invalid_certs,
                sessions,
                key_udf: raw.sap.key_udf,
            },
            amazon: AmazonConfig {
                region: raw.amazon.region,
                seller_id: raw.amazon.seller_id,
                marketplaces: raw.amazon.marketplaces,
                endpoint: raw.amazon.endpoint,
                lwa_token_url: raw.amazon.lwa_token_url,
                rate_scale,
            },
            schedule: Schedules {
                orders: schedule("schedule.orders", &raw.schedule.orders, "15m")?,
                settlements: schedule("schedule.settlements", &raw.schedule.settlements, "6h")?,
                items: schedule("schedule.items", &raw.schedule.items, "30m")?,
            },
            orders: OrdersConfig {
                invoice_when: o.invoice_when.unwrap_or(InvoiceWhen::Shipped),
                lookback: duration("orders.lookback", &o.lookback, "7d")?,
                overlap: duration("orders.overlap", &o.overlap, "10m")?,
                shipping,
                warehouse: o.warehouse.clone(),
                tax_field: o.tax_field.unwrap_or(TaxField::VatGroup),
            },
            marketplaces: raw.marketplaces,
            sku_map: raw.sku_map,
            settlements: SettlementsConfig {
                mapping: raw.settlements.mapping.map(resolve),
            },
        })
    }

    /// The SAP ItemCode for an Amazon SKU: the configured override, else the SKU itself.
    pub fn item_code<'a>(&'a self, sku: &'a str) -> &'a str {
        self.sku_map.get(sku).map_or(sku, String::as_str)
    }
}

/// The commented template `ml-connector init` writes.
pub const TEMPLATE: &str = r#"# ml-connector configuration. Secrets are not stored here: use `ml-connector credentials set sap|amazon`.

[workspace]
ledger = "ml-connector.db"          # SQLite ledger (documents, audit trail, raw sources, cursors)
credentials = "credentials.json"    # encrypted credential store
key_file = "ml-connector.key"       # encryption key (0600); or set ML_CONNECTOR_KEY

[sap]
base_url = "https://sap.example.com:50000/b1s/v2"   # your Service Layer, /b1s/v1 or /b1s/v2
company_db = "SBODEMOUS"
user = "manager"
# ca_file = "sap-ca.pem"             # extra CA certificate for a self-signed on-premise server
# accept_invalid_certs = false       # never in production; logged loudly
sessions = 2                         # parallel Service Layer sessions for posting
# key_udf = "U_MLC_Key"              # also write the ledger key into this UDF

[amazon]
region = "eu"                        # na | eu | fe
seller_id = "A1EXAMPLESELLER"
marketplaces = ["A1PA6795UKMFR9"]    # Amazon.de
# endpoint = "http://127.0.0.1:8443" # SP-API override (sandbox)
# lwa_token_url = "http://127.0.0.1:8443/auth/o2/token"

[schedule]                           # interval (30s, 15m, 6h, 1d) or cron "*/15 * * * *" (UTC)
orders = "15m"
settlements = "6h"
items = "30m"

[orders]
invoice_when = "shipped"             # shipped | accepted
lookback = "7d"                      # first run
overlap = "10m"                      # each run re-reads this much before the cursor
shipping = "item-line"               # item-line | expense
shipping_item = "SHIPPING"           # ItemCode for shipping lines
# shipping_expense_code = 1          # with shipping = "expense"
# warehouse = "01"
tax_field = "vat-group"              # vat-group (VAT localisations) | tax-code (US/CA sales tax)

[marketplaces.A1PA6795UKMFR9]
customer = "C-AMZ-DE"                # SAP CardCode the marketplace's invoices go to
tax_code = "S1"                      # VatGroup / TaxCode for its lines
prices_include_tax = true            # EU/UK prices include VAT; false for US/CA sales tax

[sku_map]                            # Amazon SKU -> SAP ItemCode (default: the same code)
# "AMZ-BLUE-MUG" = "A00042"

[settlements]
# mapping = "mapping.toml"           # settlement mapping: symbolic accounts -> G/L codes, extra rules
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/mlc/ml-connector.toml"), text)
    }

    #[test]
    fn the_template_is_valid() {
        let c = parse(TEMPLATE).unwrap();
        assert_eq!(c.sap.base_url, "https://sap.example.com:50000/b1s/v2");
        assert_eq!(c.workspace.ledger, Path::new("/etc/mlc/ml-connector.db"));
        assert_eq!(c.marketplaces["A1PA6795UKMFR9"].customer, "C-AMZ-DE");
        assert_eq!(c.item_code("X-1"), "X-1");
        assert_eq!(c.orders.shipping, Shipping::ItemLine("SHIPPING".into()));
    }

    #[test]
    fn errors_name_file_key_and_reason() {
        let bad = TEMPLATE.replace("/b1s/v2\"", "/api\"");
        assert_eq!(
            parse(&bad).unwrap_err().to_string(),
            "/etc/mlc/ml-connector.toml: key `sap.base_url`: `https://sap.example.com:50000/api` must be the full Service Layer URL, http(s)://host:port/b1s/v1 or /b1s/v2"
        );
        let bad = TEMPLATE.replace("orders = \"15m\"", "orders = \"sometimes\"");
        assert!(
            parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `schedule.orders`: `sometimes` is not a duration")
        );
        let bad = TEMPLATE.replace(
            "[marketplaces.A1PA6795UKMFR9]",
            "[marketplaces.A13V1IB3VIYZZH]",
        );
        assert!(
            parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("key `marketplaces.A1PA6795UKMFR9`")
        );
        let bad = TEMPLATE.replace("region = \"eu\"", "region = \"mars\"");
        let e = parse(&bad).unwrap_err().to_string();
        assert!(
            e.contains("/etc/mlc/ml-connector.toml") && e.contains("mars"),
            "{e}"
        );
        let bad = TEMPLATE.replace("[sku_map]", "[sku_map]\nunknown_key = 1\n[typo]");
        assert!(parse(&bad).is_err());
        let bad = TEMPLATE.replace("shipping = \"item-line\"", "shipping = \"expense\"");
        assert!(
            parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("orders.shipping_expense_code")
        );
    }
}
