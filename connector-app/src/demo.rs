//! `ml-connector demo`: the whole job against the sandbox, on a throw-away (or given) workspace.

mod books;
mod fee_tax;
mod inspect;
mod posting;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sandbox::world::WorldKind;
use sandbox::{Sandbox, SandboxConfig};
use secrecy::SecretString;
use serde::Serialize;

pub use self::books::BooksCheck;
use self::inspect::duplicate_journals;
pub use self::inspect::{chaos_faults, fingerprint};
pub use self::posting::write_posting;
use crate::config::Config;
use crate::connect::{Secrets, amazon_client, sap_client};
use crate::credentials::{CredentialError, CredentialKey, CredentialStore};
use crate::flows::items::ItemsReport;
use crate::flows::orders::OrdersReport;
use crate::flows::settlements::SettlementsReport;
use crate::flows::{Engine, Flow, FlowReport, RunOptions};
use crate::ledger::SqliteLedger;

/// Name of the config file inside a demo workspace.
pub const CONFIG_FILE: &str = "ml-connector.toml";

/// Name of the settlement mapping file inside a demo workspace.
pub const MAPPING_FILE: &str = "mapping.toml";

/// The sandbox company's chart of accounts for the settlement mapping.
pub const SANDBOX_MAPPING: &str = r#"# Settlement mapping for the sandbox company (written by `ml-connector demo` or `sandbox serve --write-workspace`).
[accounts]
AmazonClearing = "1420"
Reserve = "1425"
FacilitatorTaxClearing = "1430"
Bank = "1200"
CardCharges = "1200"
SalesTax = "2200"
TaxWithheld = "2200"
Refunds = "7000"
Reimbursements = "4900"
OtherIncome = "4900"
ReferralFees = "6100"
SellingFees = "6100"
FbaFees = "6110"
Storage = "6120"
Advertising = "6190"
ShippingServices = "6190"
OtherFees = "6190"
Loans = "6190"
AmazonSuspense = "6190"
RoundingDifferences = "8110"
CurrencyConversion = "8120"
"#;

/// Writes (or rewrites) a workspace whose configuration points at a running sandbox: config with
/// the sandbox's URLs, marketplaces and SKU map, a key file, and the sandbox's credentials.
pub fn write_workspace(
    dir: &Path,
    sb: &Sandbox,
    sessions: usize,
    time_scale: f64,
) -> Result<PathBuf> {
    write_workspace_by(
        dir,
        sb,
        sessions,
        time_scale,
        "`ml-connector demo`; rewritten on every demo run",
    )
}

/// [`write_workspace`], its header naming what wrote it (`written_by`).
pub fn write_workspace_by(
    dir: &Path,
    sb: &Sandbox,
    sessions: usize,
    time_scale: f64,
    written_by: &str,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let world = sb.world();
    let creds = sb.credentials();
    // The NA company is a US sales-tax localisation (lines carry `TaxCode`), the UK one a VAT
    // localisation (`VatGroup`).
    let tax_field = match world.kind {
        WorldKind::Na => "tax-code",
        WorldKind::Eu => "vat-group",
    };
    let mut text = format!(
        "# Written by {written_by}, for the sandbox's {} world.\n\n\
         [sap]\nbase_url = \"{}\"\ncompany_db = \"{}\"\nuser = \"{}\"\nsessions = {sessions}\n\n\
         [amazon]\nregion = \"{}\"\nseller_id = \"{}\"\nmarketplaces = [{}]\nendpoint = \"{}\"\nlwa_token_url = \"{}\"\nrate_scale = {}\n\n\
         [orders]\nshipping = \"item-line\"\nshipping_item = \"SHIPPING\"\npromotion_item = \"PROMOTION\"\nlookback = \"400d\"\ntax_field = \"{tax_field}\"\n\n",
        world.kind,
        sb.sap_base_url(),
        creds.sap_company_db,
        creds.sap_user,
        world.kind.code(),
        world.seller_id,
        world
            .marketplaces
            .iter()
            .map(|m| format!("\"{}\"", m.id))
            .collect::<Vec<_>>()
            .join(", "),
        sb.sp_api_base_url(),
        sb.lwa_token_url(),
        time_scale,
    );
    for m in &world.marketplaces {
        // One code per marketplace is all the connector takes: the code of the marketplace's
        // first (largest) jurisdiction for standard-rated goods. Where Amazon collects the tax
        // (US facilitator states, EU deemed supplier) that code carries none (`MPF`, `OS`).
        let tax = m.jurisdictions[0].tax_code[0];
        // Where the seller collects the tax, the rate Amazon charged picks the code (a
        // zero-rated book is not invoiced at the standard rate).
        let mut rates = std::collections::BTreeMap::new();
        for j in m
            .jurisdictions
            .iter()
            .filter(|j| j.facilitator_bp == [0, 0])
        {
            for (bp, code) in j.seller_bp.iter().zip(j.tax_code) {
                rates
                    .entry(rust_decimal::Decimal::new(i64::from(*bp), 2).normalize())
                    .or_insert(code);
            }
        }
        let tax_codes = rates
            .iter()
            .map(|(rate, code)| format!("\"{rate}\" = \"{code}\""))
            .collect::<Vec<_>>()
            .join(", ");
        // Items Amazon reports collecting the tax of (`taxCollections`) take the code of the
        // jurisdictions where it does, whatever the rate.
        let facilitated = m
            .jurisdictions
            .iter()
            .find(|j| j.facilitator_bp != [0, 0])
            .map(|j| format!("facilitated_tax_code = \"{}\"\n", j.tax_code[0]))
            .unwrap_or_default();
        text.push_str(&format!(
            "[marketplaces.{}]   # {}, {}\ncustomer = \"{}\"\ntax_code = \"{tax}\"\ntax_codes = {{ {tax_codes} }}\n{facilitated}prices_include_tax = {}\n\n",
            m.id, m.name, m.currency, m.customer, m.prices_include_tax
        ));
    }
    // A settlement currency other than the company's clears through an account kept in it.
    let mut mapping = SANDBOX_MAPPING.to_owned();
    let mut seen = std::collections::BTreeSet::new();
    for m in &world.marketplaces {
        let account = sandbox::world::sap_company::clearing_account(world.kind, m.currency);
        let local =
            sandbox::world::sap_company::clearing_account(world.kind, world.kind.local_currency());
        if account != local && seen.insert(m.currency) {
            mapping.push_str(&format!(
                "\"AmazonClearing.{}\" = \"{account}\"\n",
                m.currency
            ));
        }
    }
    mapping.push_str(&fee_tax::fee_tax_mapping(&world));
    std::fs::write(dir.join(MAPPING_FILE), mapping)
        .with_context(|| format!("cannot write {}", dir.join(MAPPING_FILE).display()))?;
    // Cent residues (SAP's VAT on net freight, Amazon's per-unit rounding) are written off.
    // Payouts Amazon converts into the company's currency (the NA seller's CAD and MXN) are
    // deposited as converted.
    let mut converted: Vec<&str> = world
        .marketplaces
        .iter()
        .map(|m| m.currency)
        .filter(|c| sandbox::world::converter::payout_currency(world.kind, c).is_some())
        .collect();
    converted.dedup();
    let converted = converted
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    text.push_str(&format!(
        "[settlements]\nmapping = \"{MAPPING_FILE}\"\nwrite_off = \"0.05\"\ncurrency_converter = [{converted}]\n\n"
    ));
    // Prices from the sandbox company's price list per marketplace, stock from warehouse 01.
    text.push_str("[items]\nwarehouses = [\"01\"]\nfeed_threshold = 100\nverify_after = \"1s\"\nfeed_poll = \"1s\"\n\n[items.price_lists]\n");
    for m in &world.marketplaces {
        text.push_str(&format!(
            "{} = {{ price_list = {}, currency = \"{}\" }}\n",
            m.id, m.price_list, m.currency
        ));
    }
    text.push_str("\n[sku_map]\n");
    for (sku, item) in world.sku_mappings() {
        text.push_str(&format!("{} = {}\n", toml_string(&sku), toml_string(&item)));
    }
    let config_path = dir.join(CONFIG_FILE);
    std::fs::write(&config_path, text)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let config = Config::load(&config_path)?;
    let key = match CredentialKey::create_file(&config.workspace.key_file) {
        Ok(key) => key,
        Err(CredentialError::KeyExists(path)) => CredentialKey::load(&path, None)?,
        Err(e) => return Err(e.into()),
    };
    let mut store = CredentialStore::open(&config.workspace.credentials, key)?;
    let field = |v: &str| SecretString::from(v.to_owned());
    store.set(
        "sap",
        [("password".to_owned(), field(&creds.sap_password))].into(),
        Utc::now(),
    )?;
    store.set(
        "amazon",
        [
            ("client_id".to_owned(), field(&creds.lwa_client_id)),
            ("client_secret".to_owned(), field(&creds.lwa_client_secret)),
            ("refresh_token".to_owned(), field(&creds.lwa_refresh_token)),
        ]
        .into(),
        Utc::now(),
    )?;
    Ok(config_path)
}

/// A TOML basic string (usable as a key too): quotes, backslashes and control characters escaped.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An engine for a workspace's config file.
pub fn engine_for(config_path: &Path) -> Result<Engine> {
    let config = Config::load(config_path)?;
    let key = CredentialKey::load(&config.workspace.key_file, None)?;
    let store = CredentialStore::open(&config.workspace.credentials, key)?;
    let secrets = Secrets::load(&store)?;
    let sap = sap_client(&config, secrets.sap_password)?;
    let amazon = amazon_client(&config, secrets.lwa)?;
    let ledger = SqliteLedger::open(&config.workspace.ledger)?;
    Ok(Engine::new(config, ledger, sap, amazon))
}

/// [`engine_for`] holding the workspace's writer lock.
pub fn writer_for(config_path: &Path) -> Result<Engine> {
    Ok(engine_for(config_path)?.lock_writer("demo")?)
}

/// What `demo` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// World seed.
    pub seed: u64,
    /// Orders in the sandbox world.
    pub world_orders: usize,
    /// Orders Amazon returned to the sync.
    pub orders_seen: u64,
    /// Invoices created in SAP by this run.
    pub invoices_posted: u64,
    /// Invoices found in SAP by their key instead of being sent again.
    pub invoices_found_in_sap: u64,
    /// Orders posted by an earlier run.
    pub already_posted: u64,
    /// Orders not invoiceable yet.
    pub not_yet_shipped: u64,
    /// Cancelled orders and orders of channels not synced (never invoiced).
    pub orders_cancelled: u64,
    /// Held records.
    pub held: usize,
    /// Failed records.
    pub failed: usize,
    /// Records with an unknown outcome.
    pub unknown: usize,
    /// Amazon listings whose price or quantity this run changed.
    pub listings_updated: u64,
    /// Settlements posted by this run.
    pub settlements_posted: u64,
    /// Of those, settlements whose rows tie out and whose clearing nets to zero.
    pub settlements_tied_out: u64,
    /// Settlements posted by earlier runs.
    pub settlements_already_posted: u64,
    /// Held settlements.
    pub settlements_held: usize,
    /// Documents in the fake SAP sharing a key (invoices by NumAtCard, payments and journal
    /// entries by their part reference): must be 0.
    pub duplicates_in_sap: usize,
    /// Documents in the fake SAP: invoices, incoming payments, journal entries.
    pub documents_in_sap: [usize; 3],
    /// SHA-256 over every document's identity and amount, sorted: equal for equal end states.
    pub documents_fingerprint: String,
    /// The books after the settlements: credit notes, invoices left open, amounts on account,
    /// residues written off.
    pub books: BooksCheck,
    /// Rounds run, including those that ended in an error (more than one when faults left
    /// documents to resolve).
    pub rounds: u32,
    /// Why rounds ended early (a fault outlasting the retries), one entry per such round.
    pub round_errors: Vec<String>,
    /// Wall time of the flows, in seconds.
    pub seconds: f64,
    /// Time scale the sandbox ran at (Amazon's rates multiplied by this).
    pub time_scale: f64,
    /// The workspace used.
    pub workspace: String,
    /// Details of the orders flow.
    pub orders: OrdersReport,
    /// Details of the settlements flow.
    pub settlements: SettlementsReport,
    /// Details of the items flow.
    pub items: ItemsReport,
}

impl DemoSummary {
    /// Orders the summary's counts account for; equal to `orders_seen` when every order read is
    /// in exactly one of them (posted, found, earlier, not shipped, cancelled, held, failed,
    /// unknown).
    pub fn orders_accounted(&self) -> u64 {
        self.invoices_posted
            + self.invoices_found_in_sap
            + self.already_posted
            + self.not_yet_shipped
            + self.orders_cancelled
            + self.orders.dismissed
            + self.orders.summarised
            + self.orders.credit_notes_posted
            + self.orders.would_credit
            + (self.held + self.failed + self.unknown) as u64
    }
}

/// Runs the demo against an already started sandbox with `config_path` pointing at it.
pub async fn run_flows(
    sb: &Sandbox,
    config_path: &Path,
    seed: u64,
    time_scale: f64,
) -> Result<DemoSummary> {
    let engine = writer_for(config_path)?;
    let world = sb.world();
    let since: DateTime<Utc> = world
        .orders
        .iter()
        .map(|o| o.last_updated)
        .min()
        .unwrap_or_else(Utc::now)
        - chrono::Duration::days(1);
    let started = Instant::now();
    let options = RunOptions {
        since: Some(since),
        dry_run: false,
    };
    let (mut report, mut settlements, mut items) = (
        OrdersReport::default(),
        SettlementsReport::default(),
        ItemsReport::default(),
    );
    for flow in Flow::ALL {
        match engine.run_flow(flow, &options).await? {
            FlowReport::Orders(r) => report = r,
            FlowReport::Settlements(r) => settlements = r,
            FlowReport::Items(r) => items = r,
            FlowReport::Fba(_) => {}
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = engine.sap.logout().await;
    Ok(DemoSummary {
        seed,
        world_orders: world.orders.len(),
        orders_seen: report.orders_seen,
        invoices_posted: report.invoices_posted,
        invoices_found_in_sap: report.found_in_sap,
        already_posted: report.already_posted,
        not_yet_shipped: report.not_yet,
        orders_cancelled: report.never,
        held: report.held.len(),
        failed: report.failed.len(),
        unknown: report.unknown.len(),
        listings_updated: items.listings_updated,
        settlements_posted: settlements.settlements_posted,
        settlements_tied_out: settlements.settlements_tied_out,
        settlements_already_posted: settlements.already_posted,
        settlements_held: settlements.held.len(),
        duplicates_in_sap: sb.sap_duplicates("Invoices", "NumAtCard").len()
            + sb.sap_duplicates("CreditNotes", "Comments").len()
            + sb.sap_duplicates("IncomingPayments", "TransferReference")
                .len()
            + sb.sap_duplicates("VendorPayments", "TransferReference")
                .len()
            + duplicate_journals(sb),
        documents_in_sap: [
            sb.sap_count("Invoices"),
            sb.sap_count("IncomingPayments"),
            sb.sap_count("JournalEntries"),
        ],
        documents_fingerprint: fingerprint(sb),
        books: BooksCheck::of(&settlements),
        rounds: 1,
        round_errors: Vec::new(),
        seconds,
        time_scale,
        workspace: config_path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        orders: report,
        settlements,
        items,
    })
}

/// Runs the flows; with `repeat` (faults injected), again until nothing is left unknown, at most
/// `max_rounds` times: each round resolves what the previous one could not know, and a round a
/// fault ends early is followed by another. The summary covers every round: documents posted
/// are counted in the ledger before and after (so a round that ended in an error counts too),
/// `rounds` is every round run, and `round_errors` says why rounds ended early.
pub async fn run_rounds(
    sb: &Sandbox,
    config_path: &Path,
    seed: u64,
    time_scale: f64,
    repeat: bool,
    max_rounds: u32,
) -> Result<DemoSummary> {
    let started = Instant::now();
    let before = posted_documents(config_path)?;
    let mut total: Option<DemoSummary> = None;
    let mut round_errors = Vec::new();
    let mut rounds = 0;
    while rounds < max_rounds {
        rounds += 1;
        match run_flows(sb, config_path, seed, time_scale).await {
            Ok(s) => {
                let settled = s.unknown == 0 && s.failed == 0 && !s.settlements.needs_attention();
                total = Some(match total.take() {
                    None => s,
                    Some(t) => DemoSummary {
                        invoices_found_in_sap: t.invoices_found_in_sap + s.invoices_found_in_sap,
                        settlements_tied_out: t.settlements_tied_out + s.settlements_tied_out,
                        listings_updated: t.listings_updated + s.listings_updated,
                        books: t.books.plus(s.books.clone()),
                        ..s
                    },
                });
                if settled || !repeat {
                    break;
                }
            }
            Err(e) if repeat => round_errors.push(format!("round {rounds}: {e:#}")),
            Err(e) => return Err(e),
        }
    }
    let mut total =
        total.ok_or_else(|| anyhow::anyhow!("no round completed: {}", round_errors.join("; ")))?;
    let after = posted_documents(config_path)?;
    total.invoices_posted =
        (after.invoices - before.invoices).saturating_sub(total.invoices_found_in_sap);
    total.already_posted = before.invoices;
    total.settlements_posted = after.settlements - before.settlements;
    total.settlements_already_posted = before.settlements;
    total.rounds = rounds;
    total.round_errors = round_errors;
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}

/// POSTED invoices and settlements in a workspace's ledger.
struct Posted {
    invoices: u64,
    settlements: u64,
}

fn posted_documents(config_path: &Path) -> Result<Posted> {
    use crate::ledger::{DocFilter, DocState, Ledger};
    let config = Config::load(config_path)?;
    let ledger = SqliteLedger::open(&config.workspace.ledger)?;
    let posted = ledger.list(&DocFilter {
        state: Some(DocState::Posted),
        ..DocFilter::default()
    })?;
    let count = |kind: &str| posted.iter().filter(|d| d.kind == kind).count() as u64;
    // Invoices of orders: a summary invoice (settlements flow) is not an order's.
    let order_invoices = posted
        .iter()
        .filter(|d| d.kind == "invoice" && d.flow == crate::flows::orders::FLOW)
        .count() as u64;
    Ok(Posted {
        invoices: order_invoices,
        settlements: count("settlement"),
    })
}

/// Sandbox settings for a demo.
pub fn sandbox_config(seed: u64, orders: usize, time_scale: f64) -> SandboxConfig {
    SandboxConfig {
        seed,
        orders,
        time_scale,
        ..SandboxConfig::default()
    }
}

/// Name of the sandbox's state file inside a demo workspace: the fake SAP and Amazon live there.
pub const SANDBOX_STATE_FILE: &str = "sandbox.json";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RegionName, TaxField};

    /// The workspace `demo` writes is one the connector accepts, in both worlds, and it names the
    /// world's region, marketplaces, customers, tax settings and price lists.
    #[tokio::test]
    async fn the_demo_workspace_fits_each_world() {
        for (world, region, tax_field, home_tax, included) in [
            (
                WorldKind::Na,
                RegionName::Na,
                TaxField::TaxCode,
                "MPF",
                false,
            ),
            (
                WorldKind::Eu,
                RegionName::Eu,
                TaxField::VatGroup,
                "O1",
                true,
            ),
        ] {
            let sb = Sandbox::start(SandboxConfig {
                world,
                orders: 20,
                ..SandboxConfig::default()
            })
            .await
            .unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = write_workspace(dir.path(), &sb, 1, 1.0).unwrap();
            let config = Config::load(&path).unwrap();
            assert_eq!(config.amazon.region, region);
            assert_eq!(config.orders.tax_field, tax_field);
            let w = sb.world();
            let home = &config.marketplaces[w.marketplaces[0].id];
            assert_eq!(home.customer, w.marketplaces[0].customer);
            assert_eq!(home.tax_code.as_deref(), Some(home_tax));
            assert_eq!(home.prices_include_tax, included);
            for m in &w.marketplaces {
                let list = &config.items.price_lists[m.id];
                assert_eq!(list.currency, m.currency);
                assert_eq!(i64::from(list.price_list), m.price_list);
            }
            sb.shutdown().await;
        }
    }
}
