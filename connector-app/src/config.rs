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
    /// SAP items -> Amazon prices and quantities.
    pub items: ItemsConfig,
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
    /// One incoming payment per settlement and customer, or one per order.
    pub receipts: ReceiptGrouping,
    /// What to do with an order the settlement pays that has no invoice in SAP.
    pub missing_invoice: MissingInvoice,
    /// Most documents in one `$batch` changeset; larger settlements are posted in parts.
    pub max_documents_per_batch: usize,
    /// How far back to list settlement reports (Amazon keeps 90 days).
    pub lookback: std::time::Duration,
}

/// How receipts are grouped into incoming payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReceiptGrouping {
    /// One payment per settlement and customer, one line per invoice (default).
    PerSettlement,
    /// One payment per order.
    PerOrder,
}

/// An order paid by a settlement without an invoice in SAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissingInvoice {
    /// Hold the whole settlement and list the orders (default).
    Hold,
    /// Post the amount as a payment on account of the marketplace's customer.
    OnAccount,
    /// Create the invoice from the settlement's own order rows (SKU, quantity, principal, shipping),
    /// then apply the receipt to it.
    CreateInvoice,
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
    #[serde(default)]
    items: Option<RawItems>,
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
    receipts: Option<ReceiptGrouping>,
    missing_invoice: Option<String>,
    max_documents_per_batch: Option<usize>,
    lookback: Option<String>,
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
        let st = &raw.settlements;
        let missing_invoice = match st.missing_invoice.as_deref().unwrap_or("hold") {
            "hold" => MissingInvoice::Hold,
            "on-account" => MissingInvoice::OnAccount,
            "create-invoice" => MissingInvoice::CreateInvoice,
            other => {
                return Err(fail(
                    "settlements.missing_invoice",
                    format!("`{other}` is not `hold`, `on-account` or `create-invoice`"),
                ));
            }
        };
        let max_documents_per_batch = st.max_documents_per_batch.unwrap_or(50);
        if !(1..=500).contains(&max_documents_per_batch) {
            return Err(fail(
                "settlements.max_documents_per_batch",
                format!("{max_documents_per_batch} is outside 1-500"),
            ));
        }
        for (sku, item) in &raw.sku_map {
            if item.trim().is_empty() {
                return Err(fail(
                    &format!("sku_map.\"{sku}\""),
                    "must name a SAP ItemCode".into(),
                ));
            }
        }
        let items = parse_items(raw.items, &raw.amazon.marketplaces)
            .map_err(|(key, reason)| fail(&key, reason))?;
        Ok(Self {
            path: path.to_owned(),
            items,
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
                mapping: raw.settlements.mapping.clone().map(resolve),
                receipts: raw
                    .settlements
                    .receipts
                    .unwrap_or(ReceiptGrouping::PerSettlement),
                missing_invoice,
                max_documents_per_batch,
                lookback: duration("settlements.lookback", &raw.settlements.lookback, "90d")?,
            },
        })
    }

    /// The SAP ItemCode for an Amazon SKU: the configured override, else the SKU itself.
    pub fn item_code<'a>(&'a self, sku: &'a str) -> &'a str {
        self.sku_map.get(sku).map_or(sku, String::as_str)
    }
}

/// SAP items -> Amazon listings (`[items]`; absent = the flow is off).
#[derive(Debug, Clone, Default)]
pub struct ItemsConfig {
    /// Whether an `[items]` section exists.
    pub enabled: bool,
    /// Marketplaces whose listings follow SAP.
    pub marketplaces: Vec<String>,
    /// Marketplace -> the SAP price list its price comes from (none: price not synced there).
    pub price_lists: BTreeMap<String, ItemPriceList>,
    /// Warehouses whose available stock is the MFN quantity (empty: quantity not synced).
    pub warehouses: Vec<String>,
    /// Units held back from Amazon per SKU.
    pub safety_buffer: u32,
    /// How prices are rounded (default: to the cent).
    pub rounding: Rounding,
    /// More changes than this in one marketplace go as one `JSON_LISTINGS_FEED`.
    pub feed_threshold: usize,
    /// Each run re-reads items changed this long before the cursor.
    pub overlap: std::time::Duration,
    /// Accepted changes are read back from Amazon once they are this old.
    pub verify_after: std::time::Duration,
    /// How often a submitted feed is polled.
    pub feed_poll: std::time::Duration,
    /// How long a run waits for a feed (its result is read on a later run otherwise).
    pub feed_timeout: std::time::Duration,
}

/// A marketplace's SAP price list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPriceList {
    /// `PriceListNo`.
    pub price_list: i32,
    /// ISO currency of the marketplace (the item price must be in it).
    pub currency: String,
}

/// How prices are rounded before they go to Amazon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// To the nearest multiple of the step, halves up (`nearest 0.05`; default `nearest 0.01`).
    Nearest(rust_decimal::Decimal),
    /// Up to the next multiple of the step (`up 0.10`).
    Up(rust_decimal::Decimal),
    /// Up to the next price ending in this fraction (`ending 0.99`: 12.30 -> 12.99).
    Ending(rust_decimal::Decimal),
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding::Nearest(rust_decimal::Decimal::new(1, 2))
    }
}

impl std::str::FromStr for Rounding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not `nearest STEP`, `up STEP` or `ending FRACTION` (e.g. `ending 0.99`)"
            )
        };
        let (kind, value) = s.trim().split_once(' ').ok_or_else(bad)?;
        let value: rust_decimal::Decimal = value.trim().parse().map_err(|_| bad())?;
        let one = rust_decimal::Decimal::ONE;
        match kind {
            "nearest" if value > rust_decimal::Decimal::ZERO => Ok(Rounding::Nearest(value)),
            "up" if value > rust_decimal::Decimal::ZERO => Ok(Rounding::Up(value)),
            "ending" if value >= rust_decimal::Decimal::ZERO && value < one => {
                Ok(Rounding::Ending(value))
            }
            _ => Err(bad()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItems {
    marketplaces: Option<Vec<String>>,
    #[serde(default)]
    warehouses: Vec<String>,
    safety_buffer: Option<u32>,
    rounding: Option<String>,
    feed_threshold: Option<usize>,
    overlap: Option<String>,
    verify_after: Option<String>,
    feed_poll: Option<String>,
    feed_timeout: Option<String>,
    #[serde(default)]
    price_lists: BTreeMap<String, RawItemPriceList>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItemPriceList {
    price_list: i32,
    currency: String,
}

/// Validates `[items]`; errors are (key, reason).
fn parse_items(raw: Option<RawItems>, synced: &[String]) -> Result<ItemsConfig, (String, String)> {
    let Some(raw) = raw else {
        return Ok(ItemsConfig::default());
    };
    let fail = |key: &str, reason: String| (key.to_owned(), reason);
    let duration = |key: &str, v: &Option<String>, default: &str| {
        parse_duration(v.as_deref().unwrap_or(default)).map_err(|e| fail(key, e))
    };
    let marketplaces = raw.marketplaces.unwrap_or_else(|| synced.to_vec());
    if marketplaces.is_empty() {
        return Err(fail(
            "items.marketplaces",
            "list at least one marketplace id".into(),
        ));
    }
    for m in &marketplaces {
        if !synced.contains(m) {
            return Err(fail(
                "items.marketplaces",
                format!("{m} is not in amazon.marketplaces"),
            ));
        }
    }
    let mut price_lists = BTreeMap::new();
    for (m, p) in raw.price_lists {
        let key = format!("items.price_lists.{m}");
        if !marketplaces.contains(&m) {
            return Err(fail(
                &key,
                format!("{m} is not one of the items marketplaces"),
            ));
        }
        if p.price_list < 1 {
            return Err(fail(
                &key,
                format!(
                    "price_list {} is not a SAP PriceListNo (1 or more)",
                    p.price_list
                ),
            ));
        }
        let currency = p.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(fail(
                &key,
                format!("currency `{}` is not an ISO code like EUR", p.currency),
            ));
        }
        price_lists.insert(
            m,
            ItemPriceList {
                price_list: p.price_list,
                currency,
            },
        );
    }
    if raw.warehouses.iter().any(|w| w.trim().is_empty()) {
        return Err(fail("items.warehouses", "a warehouse code is empty".into()));
    }
    if price_lists.is_empty() && raw.warehouses.is_empty() {
        return Err(fail(
            "items",
            "set price_lists, warehouses or both (otherwise there is nothing to sync)".into(),
        ));
    }
    let rounding = match &raw.rounding {
        Some(r) => r.parse().map_err(|e| fail("items.rounding", e))?,
        None => Rounding::default(),
    };
    let feed_threshold = raw.feed_threshold.unwrap_or(100);
    if !(1..=25_000).contains(&feed_threshold) {
        return Err(fail(
            "items.feed_threshold",
            format!("{feed_threshold} is outside 1-25000 (a feed holds at most 25,000 messages)"),
        ));
    }
    Ok(ItemsConfig {
        enabled: true,
        marketplaces,
        price_lists,
        warehouses: raw.warehouses,
        safety_buffer: raw.safety_buffer.unwrap_or(0),
        rounding,
        feed_threshold,
        overlap: duration("items.overlap", &raw.overlap, "10m")?,
        verify_after: duration("items.verify_after", &raw.verify_after, "5m")?,
        feed_poll: duration("items.feed_poll", &raw.feed_poll, "30s")?,
        feed_timeout: duration("items.feed_timeout", &raw.feed_timeout, "45m")?,
    })
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
receipts = "per-settlement"          # per-settlement (one payment per customer) | per-order
missing_invoice = "hold"             # hold | on-account | create-invoice
max_documents_per_batch = 50         # larger settlements post in parts, each atomic
lookback = "90d"                     # Amazon lists settlement reports for 90 days

[items]                              # SAP items -> Amazon prices and merchant-fulfilled (MFN) quantities
# marketplaces = ["A1PA6795UKMFR9"]  # default: every amazon.marketplaces entry
warehouses = ["01"]                  # quantity = InStock - Committed summed over these (MFN SKUs only)
safety_buffer = 0                    # units held back per SKU (never below 0)
# rounding = "ending 0.99"           # or "nearest 0.05" / "up 0.10"; default: to the cent
feed_threshold = 100                 # more changes than this in a marketplace go as one JSON_LISTINGS_FEED
overlap = "10m"                      # each run re-reads items changed this long before the cursor
verify_after = "5m"                  # read accepted changes back from Amazon after this long
# feed_poll = "30s"                  # how often a submitted feed is polled
# feed_timeout = "45m"               # then its result is read on a later run

[items.price_lists]                  # marketplace -> SAP price list (gross prices) and its currency
A1PA6795UKMFR9 = { price_list = 2, currency = "EUR" }
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
