//! Items-flow helpers: the `[items]` section, a workspace with it, one sync, the fake catalog.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use connector_app::flows::Engine;
use connector_app::flows::items::{ItemsOptions, ItemsReport};
use rust_decimal::Decimal;
use sandbox::Sandbox;
use sandbox::amazon::listings::Listing;

use super::write_workspace;

/// The world the items tests use.
pub const SEED: u64 = 23;
/// Amazon.de.
pub const DE: &str = "A1PA6795UKMFR9";
/// Amazon.fr.
pub const FR: &str = "A13V1IB3VIYZZH";
/// Amazon.co.uk.
pub const UK: &str = "A1F83G8C2ARO7P";

/// The `[items]` section for the sandbox's demo company.
pub fn items_section(extra: &str, uk: &str) -> String {
    format!(
        r#"
[items]
warehouses = ["01"]
verify_after = "1s"
feed_poll = "1s"
{extra}

[items.price_lists]
{DE} = {{ price_list = 2, currency = "EUR" }}
{FR} = {{ price_list = 2, currency = "EUR" }}
{UK} = {uk}
"#
    )
}

/// The UK marketplace priced from the GBP price list.
pub const UK_GBP: &str = r#"{ price_list = 3, currency = "GBP" }"#;

/// A workspace for the sandbox plus an `[items]` section (and extra `[sku_map]` lines).
pub fn items_workspace(sb: &Sandbox, dir: &Path, items: &str, sku_map: &str) -> PathBuf {
    let config = write_workspace(dir, sb);
    let mut text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("[sku_map]\n"));
    // Replace the demo's own [items] sections with this test's.
    if let (Some(a), Some(b)) = (text.find("[items]\n"), text.find("[sku_map]\n")) {
        text.replace_range(a..b, "");
    }
    let text = text.replace("[sku_map]\n", &format!("[sku_map]\n{sku_map}"));
    std::fs::write(&config, text + items).unwrap();
    config
}

/// One items sync (not a dry run), logged.
pub async fn sync(engine: &Engine) -> ItemsReport {
    let report = engine
        .sync_items(&ItemsOptions { dry_run: false })
        .await
        .unwrap();
    eprintln!(
        "items: changed {} read {} planned {} updated {} verified {} issues {:?}",
        report.items_changed,
        report.listings_read,
        report.planned.len(),
        report.listings_updated,
        report.verified,
        report.issues
    );
    report
}

/// The fake Amazon catalog by (SKU, marketplace).
pub fn catalog(sb: &Sandbox) -> BTreeMap<(String, String), Listing> {
    sb.catalog()
        .into_iter()
        .map(|l| ((l.sku.clone(), l.marketplace_id.clone()), l))
        .collect()
}

/// A TOML basic string (usable as a key, unlike the multi-line form `toml` picks for `"`).
pub fn toml_key(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A decimal literal.
pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The (SKU, marketplace) pairs a run planned to change.
pub fn pairs(report: &ItemsReport) -> BTreeSet<(String, String)> {
    report
        .planned
        .iter()
        .map(|c| (c.sku.clone(), c.marketplace.clone()))
        .collect()
}

/// The items cursor's time (`YYYY-MM-DDTHH:MM:SS`, without the price-rule fingerprint).
pub fn items_cursor(config: &Path) -> Option<String> {
    use connector_app::ledger::Ledger;
    super::ledger(config).cursor("items").unwrap().map(|c| {
        c.split_once(' ')
            .expect("time and fingerprint")
            .0
            .to_owned()
    })
}

/// The newest change of any item in the fake SAP (`UpdateDate`T`UpdateTime`): where the items
/// cursor stands after a run that read every change.
pub fn newest_item_change(sb: &Sandbox) -> String {
    sb.sap_entities("Items")
        .iter()
        .filter_map(|i| {
            Some(format!(
                "{}T{}",
                i["UpdateDate"].as_str()?,
                i["UpdateTime"].as_str()?
            ))
        })
        .max()
        .expect("items in SAP")
}

/// An items cursor time minus the workspace's overlap: where the next run reads from.
pub fn minus_overlap(config: &Path, cursor: &str) -> String {
    let overlap = connector_app::config::Config::load(config)
        .unwrap()
        .items
        .overlap;
    let at = chrono::NaiveDateTime::parse_from_str(cursor, "%Y-%m-%dT%H:%M:%S").unwrap();
    (at - chrono::Duration::from_std(overlap).unwrap())
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// Units of the world's open (pending, unshipped) merchant orders of an item: SAP does not know
/// them, so the items flow offers that many fewer.
pub fn open_units(sb: &Sandbox, item_code: &str) -> i64 {
    use sandbox::world::{Channel, OrderStatus};
    let world = sb.world();
    world
        .orders
        .iter()
        .filter(|o| {
            o.channel == Channel::Mfn
                && matches!(o.status, OrderStatus::Pending | OrderStatus::Unshipped)
        })
        .flat_map(|o| &o.items)
        .filter(|it| world.catalog[it.product].item_code == item_code)
        .map(|it| i64::from(it.quantity))
        .sum()
}
