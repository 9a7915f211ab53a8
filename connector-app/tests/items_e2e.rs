//! SAP items, prices and stock -> Amazon listings, end to end against the sandbox over real HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use connector_app::demo::{engine_for, sandbox_config, write_workspace};
use connector_app::flows::Engine;
use connector_app::flows::items::{ItemsOptions, ItemsReport, listing_key};
use connector_app::ledger::{Ledger, ListingStatus, SqliteLedger};
use rust_decimal::Decimal;
use sandbox::Sandbox;
use sandbox::amazon::listings::Listing;
use sandbox::world::Channel;
use serde_json::json;

const SEED: u64 = 23;
const DE: &str = "A1PA6795UKMFR9";
const FR: &str = "A13V1IB3VIYZZH";
const UK: &str = "A1F83G8C2ARO7P";

/// The `[items]` section for the sandbox's demo company.
fn items_section(extra: &str, uk: &str) -> String {
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

const UK_GBP: &str = r#"{ price_list = 3, currency = "GBP" }"#;

/// A workspace for the sandbox plus an `[items]` section (and extra `[sku_map]` lines).
fn workspace(sb: &Sandbox, dir: &Path, items: &str, sku_map: &str) -> PathBuf {
    let config = write_workspace(dir, sb, 2, 1000.0).unwrap();
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

async fn sync(engine: &Engine) -> ItemsReport {
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

fn catalog(sb: &Sandbox) -> BTreeMap<(String, String), Listing> {
    sb.catalog()
        .into_iter()
        .map(|l| ((l.sku.clone(), l.marketplace_id.clone()), l))
        .collect()
}

/// A TOML basic string (usable as a key, unlike the multi-line form `toml` picks for `"`).
fn toml_key(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn pairs(report: &ItemsReport) -> BTreeSet<(String, String)> {
    report
        .planned
        .iter()
        .map(|c| (c.sku.clone(), c.marketplace.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_and_stock_changes_update_exactly_those_skus_and_a_second_run_sends_nothing() {
    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config).unwrap();
    let world = sb.world();
    let start = catalog(&sb);

    // First run: every listing is read once; SAP and Amazon already agree, so nothing is sent.
    let first = sync(&engine).await;
    assert_eq!(first.listings_read as usize, world.catalog.len() * 3);
    assert!(first.planned.is_empty(), "{:?}", first.planned);
    assert!(!first.needs_attention(), "{:?}", first.issues);
    assert_eq!(catalog(&sb), start);

    // Change some items in the fake SAP: prices through the Service Layer, stock like a goods movement.
    let mfn: Vec<_> = world
        .catalog
        .iter()
        .filter(|p| p.channel == Channel::Mfn)
        .collect();
    let afn: Vec<_> = world
        .catalog
        .iter()
        .filter(|p| p.channel == Channel::Afn)
        .collect();
    let (priced, restocked, frozen) = (mfn[0], mfn[1], mfn[2]);
    let fba = afn[0];
    engine
        .sap
        .items()
        .update(
            priced.item_code.as_str(),
            &json!({"ItemPrices": [{"PriceList": 2, "Price": 33.33}]}),
        )
        .await
        .unwrap();
    engine
        .sap
        .items()
        .update(
            fba.item_code.as_str(),
            &json!({"ItemPrices": [{"PriceList": 3, "Price": 12.5}]}),
        )
        .await
        .unwrap();
    assert!(sb.set_item_stock(&fba.item_code, "FBA", 3));
    assert!(sb.set_item_stock(&restocked.item_code, "01", 7));
    engine
        .sap
        .items()
        .update(frozen.item_code.as_str(), &json!({"Frozen": "tYES"}))
        .await
        .unwrap();

    let second = sync(&engine).await;
    let expected: BTreeSet<(String, String)> = [
        (&priced.sku, DE),
        (&priced.sku, FR),
        (&fba.sku, UK),
        (&restocked.sku, DE),
        (&restocked.sku, FR),
        (&restocked.sku, UK),
        (&frozen.sku, DE),
        (&frozen.sku, FR),
        (&frozen.sku, UK),
    ]
    .into_iter()
    .map(|(s, m)| (s.clone(), m.to_owned()))
    .collect();
    assert_eq!(pairs(&second), expected);
    assert_eq!(second.listings_updated, 9);
    assert_eq!(second.sent_by_patch, 9);
    assert!(!second.needs_attention(), "{:?}", second.issues);
    let after = catalog(&sb);
    for (key, listing) in &after {
        if !expected.contains(key) {
            assert_eq!(listing, &start[key], "{key:?} was not to change");
        }
    }
    let at = |sku: &str, m: &str| after[&(sku.to_owned(), m.to_owned())].clone();
    assert_eq!(at(&priced.sku, DE).price, dec("33.33"));
    assert_eq!(at(&priced.sku, DE).currency, "EUR");
    assert_eq!(
        at(&priced.sku, UK),
        start[&(priced.sku.clone(), UK.to_owned())]
    );
    assert_eq!(at(&fba.sku, UK).price, dec("12.5"));
    assert_eq!(at(&fba.sku, UK).currency, "GBP");
    for m in [DE, FR, UK] {
        assert_eq!(at(&restocked.sku, m).quantity, 7);
        assert_eq!(
            at(&frozen.sku, m).quantity,
            0,
            "frozen: quantity 0, listing kept"
        );
        assert_eq!(at(&fba.sku, m).quantity, fba.stock, "FBA stock is Amazon's");
    }
    // FBA SKUs never get a quantity.
    for p in &afn {
        for m in [DE, FR, UK] {
            assert_eq!(at(&p.sku, m).quantity, p.stock, "{} {m}", p.sku);
        }
    }
    let fba_change = second.planned.iter().find(|c| c.sku == fba.sku).unwrap();
    assert!(fba_change.fba && fba_change.quantity_new.is_none());

    // The audit trail has before, after and Amazon's answer.
    let ledger = SqliteLedger::open(&dir.path().join("ml-connector.db")).unwrap();
    let key = listing_key(&world.seller_id, DE, &priced.sku);
    let rows = ledger.audit_rows(Some(&key), None).unwrap();
    let push = rows.iter().find(|r| r.event == "push").expect("a push row");
    let detail: serde_json::Value = serde_json::from_str(&push.detail).unwrap();
    assert_eq!(detail["after"]["price"], "33.33");
    assert_eq!(detail["before"]["price"], priced.price_eur.to_string());
    assert_eq!(detail["response"]["status"], "ACCEPTED");

    // Nothing changed: nothing is sent; the accepted changes are read back and verified.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let third = sync(&engine).await;
    assert!(third.planned.is_empty(), "{:?}", third.planned);
    assert_eq!(third.listings_updated, 0);
    assert_eq!(third.sent_by_patch + third.sent_by_feed, 0);
    assert_eq!(third.verified, 9);
    assert_eq!(catalog(&sb), after);
    let states = ledger.listing_states().unwrap();
    assert_eq!(
        states
            .iter()
            .filter(|s| s.status == ListingStatus::Verified)
            .count(),
        9
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skus_with_quotes_and_slashes_round_trip() {
    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let world = sb.world();
    let quoted = world
        .catalog
        .iter()
        .find(|p| p.sku.contains('\'') && p.sku.contains('"'))
        .expect("the world has SKUs with quotes");
    // One item feeds two SKUs: its own code and a SKU with a slash, a quote and a double quote.
    let mug = world
        .catalog
        .iter()
        .find(|p| p.channel == Channel::Mfn && p.sku == p.item_code && !p.sku.contains('\''))
        .unwrap();
    let slashed = "MUG/BLUE 12\" O'Neil";
    sb.add_listing(Listing {
        sku: slashed.into(),
        marketplace_id: DE.into(),
        asin: "B0SLASH001".into(),
        title: "Mug, blue".into(),
        product_type: "PRODUCT".into(),
        fulfillment_channel_code: "DEFAULT".into(),
        price: dec("30.00"),
        currency: "EUR".into(),
        quantity: 1,
        last_updated: None,
    });
    let dir = tempfile::tempdir().unwrap();
    let sku_map = format!(
        "{} = {}\n{} = {}\n",
        toml_key(slashed),
        toml_key(&mug.item_code),
        toml_key(&mug.sku),
        toml_key(&mug.item_code),
    );
    let config = workspace(&sb, dir.path(), &items_section("", UK_GBP), &sku_map);
    let engine = engine_for(&config).unwrap();
    // The quoted item's price changes through the Service Layer (its key has quotes).
    engine
        .sap
        .items()
        .update(
            quoted.item_code.as_str(),
            &json!({"ItemPrices": [{"PriceList": 2, "Price": 44.4}]}),
        )
        .await
        .unwrap();

    let first = sync(&engine).await;
    assert!(!first.needs_attention(), "{:?}", first.issues);
    assert_eq!(first.not_listed, 2, "the slash SKU is listed in DE only");
    let listing = sb.listing(slashed, DE).unwrap();
    assert_eq!(listing.price, mug.price_eur);
    assert_eq!(listing.quantity, mug.stock);
    assert_eq!(sb.listing(&quoted.sku, DE).unwrap().price, dec("44.4"));
    assert_eq!(sb.listing(&quoted.sku, FR).unwrap().price, dec("44.4"));
    assert_eq!(
        pairs(&first),
        [
            (quoted.sku.clone(), DE.to_owned()),
            (quoted.sku.clone(), FR.to_owned()),
            (slashed.to_owned(), DE.to_owned()),
        ]
        .into_iter()
        .collect()
    );
    let ledger = SqliteLedger::open(&dir.path().join("ml-connector.db")).unwrap();
    let states = ledger.listing_states().unwrap();
    assert!(
        states
            .iter()
            .any(|s| s.sku == slashed && s.status == ListingStatus::Accepted)
    );
    let rows = ledger
        .audit_rows(Some(&listing_key(&world.seller_id, DE, slashed)), None)
        .unwrap();
    assert!(rows.iter().any(|r| r.event == "push"));

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = sync(&engine).await;
    assert!(second.planned.is_empty(), "{:?}", second.planned);
    assert_eq!(second.verified, 3);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_issues_show_in_the_audit_and_status_until_fixed() {
    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    // A configuration mistake: the UK marketplace priced from the EUR list. Amazon refuses.
    let wrong_uk = r#"{ price_list = 2, currency = "EUR" }"#;
    let config = workspace(
        &sb,
        dir.path(),
        &items_section("feed_threshold = 5", wrong_uk),
        "",
    );
    let engine = engine_for(&config).unwrap();
    let before = catalog(&sb);
    let first = sync(&engine).await;
    let n = world.catalog.len();
    assert_eq!(first.planned.len(), n, "every UK price differs");
    assert_eq!(first.sent_by_feed as usize, n, "more than 5: one feed");
    assert_eq!(first.rejected as usize, n);
    assert_eq!(first.listings_updated, 0);
    assert!(first.needs_attention());
    assert!(
        first.issues[0].reason.contains("4000001"),
        "{:?}",
        first.issues
    );
    assert_eq!(catalog(&sb), before, "nothing applied");

    let cli = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_ml-connector"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("ML_CONNECTOR_KEY")
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };
    let sku = &world.catalog[0].sku;
    let key = listing_key(&world.seller_id, UK, sku);
    let status = cli(&["status"]);
    assert!(
        status.contains("FAILED") && status.contains(&key) && status.contains("4000001"),
        "{status}"
    );
    // `audit list` finds the SKU's open problem, `audit show` has Amazon's answer on it.
    let list = cli(&["audit", "list", "--key", &key]);
    assert!(
        list.contains("FAILED") && list.contains("4000001"),
        "{list}"
    );
    let problem = list.split_whitespace().nth(1).unwrap().to_owned();
    assert!(problem.starts_with(&key), "{list}");
    let audit = cli(&["audit", "show", &problem]);
    assert!(
        audit.contains("feed-result") && audit.contains("4000001") && audit.contains("-> FAILED"),
        "{audit}"
    );
    // The listing's own trail has every push with before and after.
    let ledger = SqliteLedger::open(&dir.path().join("ml-connector.db")).unwrap();
    let rows = ledger.audit_rows(Some(&key), None).unwrap();
    assert!(
        rows.iter()
            .any(|r| r.event == "push" && r.detail.contains("\"before\""))
    );
    assert!(
        rows.iter()
            .any(|r| r.event == "feed-result" && r.detail.contains("INVALID"))
    );

    // Same configuration: the refused values are not sent again.
    let second = sync(&engine).await;
    assert!(second.planned.is_empty());
    assert_eq!(second.still_rejected as usize, n);

    // Fixed: SAP's GBP list equals what Amazon has, so the refusals are closed without a push.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&format!("{UK} = {wrong_uk}"), &format!("{UK} = {UK_GBP}"));
    std::fs::write(&config, text).unwrap();
    let engine = engine_for(&config).unwrap();
    let third = sync(&engine).await;
    assert!(third.planned.is_empty(), "{:?}", third.planned);
    assert!(!third.needs_attention(), "{:?}", third.issues);
    let status = cli(&["status"]);
    assert!(!status.contains("FAILED"), "{status}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_changed_skus_go_out_as_one_feed_with_a_result_per_sku() {
    let t0 = Instant::now();
    let sb = Sandbox::start(sandbox_config(SEED, 20_000, 1000.0))
        .await
        .unwrap();
    let world = sb.world();
    assert_eq!(world.catalog.len(), 2000);
    let dir = tempfile::tempdir().unwrap();
    let items = format!(
        r#"
[items]
marketplaces = ["{DE}"]
warehouses = ["01"]
feed_threshold = 500
verify_after = "1s"
feed_poll = "1s"

[items.price_lists]
{DE} = {{ price_list = 2, currency = "EUR" }}
"#
    );
    let config = workspace(&sb, dir.path(), &items, "");
    let engine = engine_for(&config).unwrap();
    eprintln!("sandbox with 2000 items ready in {:?}", t0.elapsed());

    // Every price changes in SAP (through the Service Layer).
    let t1 = Instant::now();
    let sap = engine.sap.clone();
    let updates: Vec<_> = world
        .catalog
        .iter()
        .map(|p| (p.item_code.clone(), p.price_eur + Decimal::ONE))
        .collect();
    use futures::StreamExt;
    let results: Vec<_> = futures::stream::iter(updates)
        .map(|(code, price)| {
            let sap = sap.clone();
            async move {
                sap.items()
                    .update(
                        code.as_str(),
                        &json!({"ItemPrices": [{"PriceList": 2, "Price": price}]}),
                    )
                    .await
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok));
    eprintln!("2000 SAP price changes in {:?}", t1.elapsed());

    let t2 = Instant::now();
    let report = sync(&engine).await;
    eprintln!("items sync of 2000 changes in {:?}", t2.elapsed());
    assert_eq!(report.planned.len(), 2000);
    assert_eq!(report.sent_by_feed, 2000);
    assert_eq!(report.sent_by_patch, 0);
    assert_eq!(report.feeds.len(), 1);
    assert_eq!(report.listings_updated, 2000);
    assert!(!report.needs_attention(), "{:?}", report.issues);
    let listings = catalog(&sb);
    for p in &world.catalog {
        let l = &listings[&(p.sku.clone(), DE.to_owned())];
        assert_eq!(l.price, p.price_eur + Decimal::ONE, "{}", p.sku);
        let other = &listings[&(p.sku.clone(), FR.to_owned())];
        assert_eq!(other.price, p.price_eur, "FR is not synced");
    }
    // Each SKU's result is recorded: state, feed message and an audit row of the processing report.
    let ledger = SqliteLedger::open(&dir.path().join("ml-connector.db")).unwrap();
    let states = ledger.listing_states().unwrap();
    let feed = &report.feeds[0];
    let accepted: Vec<_> = states
        .iter()
        .filter(|s| {
            s.status == ListingStatus::Accepted
                && s.submission
                    .as_deref()
                    .is_some_and(|x| x.starts_with(&format!("feed:{feed}:")))
        })
        .collect();
    assert_eq!(accepted.len(), 2000);
    let results = ledger
        .audit_rows(None, None)
        .unwrap()
        .into_iter()
        .filter(|r| r.event == "feed-result")
        .count();
    assert_eq!(results, 2000);
    eprintln!("total {:?}", t0.elapsed());
    sb.shutdown().await;
}

fn status_of(config: &Path) -> String {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .arg("--config")
        .arg(config)
        .arg("status")
        .env_remove("ML_CONNECTOR_KEY")
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_amazon_drops_after_accepting_it_is_flagged_on_read_back() {
    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    let config = workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config).unwrap();
    sync(&engine).await;
    let p = world
        .catalog
        .iter()
        .find(|p| p.channel == Channel::Mfn)
        .unwrap();
    let set_price = |price: Decimal| {
        let sap = engine.sap.clone();
        let code = p.item_code.clone();
        async move {
            sap.items()
                .update(
                    code.as_str(),
                    &json!({"ItemPrices": [{"PriceList": 2, "Price": price}]}),
                )
                .await
                .unwrap()
        }
    };
    // A typo in SAP: twenty times the price. Amazon accepts the submission, then its pricing
    // guardrail keeps the old price and reports an issue on the listing.
    set_price(p.price_eur * Decimal::from(20)).await;
    let pushed = sync(&engine).await;
    assert_eq!(pushed.listings_updated, 2, "DE and FR accepted");
    assert_eq!(sb.listing(&p.sku, DE).unwrap().price, p.price_eur);

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let verified = sync(&engine).await;
    assert_eq!(verified.rejected, 2);
    assert!(verified.planned.is_empty());
    assert!(
        verified
            .issues
            .iter()
            .all(|i| i.reason.contains("90001001") && i.reason.contains("Potential pricing error")),
        "{:?}",
        verified.issues
    );
    let key = listing_key(&world.seller_id, DE, &p.sku);
    let status = status_of(&config);
    assert!(
        status.contains("FAILED") && status.contains(&key),
        "{status}"
    );
    let ledger = SqliteLedger::open(&dir.path().join("ml-connector.db")).unwrap();
    let rows = ledger.audit_rows(Some(&key), None).unwrap();
    assert!(
        rows.iter()
            .any(|r| r.event == "verify" && r.detail.contains("Potential pricing error")),
        "{rows:?}"
    );

    // Not sent again while SAP still asks for it.
    let again = sync(&engine).await;
    assert!(again.planned.is_empty());
    assert_eq!(again.still_rejected, 2);

    // Corrected in SAP: sent, accepted, and the problem is closed.
    set_price(p.price_eur + Decimal::ONE).await;
    let fixed = sync(&engine).await;
    assert_eq!(fixed.listings_updated, 2);
    assert!(!fixed.needs_attention(), "{:?}", fixed.issues);
    assert_eq!(
        sb.listing(&p.sku, DE).unwrap().price,
        p.price_eur + Decimal::ONE
    );
    let status = status_of(&config);
    assert!(!status.contains("FAILED"), "{status}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_still_processing_is_read_on_the_next_run_and_a_dry_run_changes_nothing() {
    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    // A rounding rule changes every price; the run does not wait for the feeds to finish.
    let config = workspace(
        &sb,
        dir.path(),
        &items_section(
            "rounding = \"nearest 1\"\nfeed_threshold = 5\nfeed_timeout = \"1s\"",
            UK_GBP,
        ),
        "",
    );
    let engine = engine_for(&config).unwrap();
    let before = catalog(&sb);

    let dry = engine
        .sync_items(&ItemsOptions { dry_run: true })
        .await
        .unwrap();
    assert_eq!(dry.planned.len(), world.catalog.len() * 3);
    let table = connector_app::commands::items::plan_table(&dry);
    let first = &dry.planned[0];
    assert!(
        table.contains(&format!(
            "{} -> {} {}",
            first.price_old.unwrap(),
            first.price_new.unwrap(),
            first.currency.as_deref().unwrap()
        )),
        "{table}"
    );
    assert_eq!(catalog(&sb), before, "a dry run sends nothing");
    let ledger = SqliteLedger::open(&dir.path().join("ml-connector.db")).unwrap();
    assert!(ledger.listing_states().unwrap().is_empty());
    assert!(ledger.cursor("items").unwrap().is_none());

    let submitted = sync(&engine).await;
    assert_eq!(submitted.feeds.len(), 3, "one feed per marketplace");
    assert_eq!(submitted.sent_by_feed as usize, world.catalog.len() * 3);
    assert_eq!(submitted.listings_updated, 0, "results not read yet");
    let pending = ledger
        .listing_states()
        .unwrap()
        .into_iter()
        .filter(|s| s.status == ListingStatus::Pending)
        .count();
    assert_eq!(pending, world.catalog.len() * 3);

    // The feeds finish five seconds after submission; the next run reads their reports.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let resolved = sync(&engine).await;
    assert!(resolved.planned.is_empty(), "{:?}", resolved.planned);
    assert_eq!(resolved.listings_updated as usize, world.catalog.len() * 3);
    assert!(!resolved.needs_attention(), "{:?}", resolved.issues);
    let listings = catalog(&sb);
    for p in &world.catalog {
        assert_eq!(
            listings[&(p.sku.clone(), DE.to_owned())].price,
            p.price_eur.round()
        );
        assert_eq!(
            listings[&(p.sku.clone(), UK.to_owned())].price,
            p.price_gbp.round()
        );
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cursor_rereads_only_an_overlap_and_a_newly_mapped_sku_gets_its_price() {
    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    let config = workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config).unwrap();
    let mfn: Vec<_> = world
        .catalog
        .iter()
        .filter(|p| p.channel == Channel::Mfn && p.sku == p.item_code)
        .collect();
    let (x, y, w) = (mfn[0], mfn[1], mfn[2]);
    let set_price = |code: &str, price: Decimal| {
        let sap = engine.sap.clone();
        let code = code.to_owned();
        async move {
            sap.items()
                .update(
                    code.as_str(),
                    &json!({"ItemPrices": [{"PriceList": 2, "Price": price}]}),
                )
                .await
                .unwrap()
        }
    };
    let first = sync(&engine).await;
    assert_eq!(first.changed_since, None, "no cursor: every item is read");
    set_price(&x.item_code, x.price_eur + Decimal::ONE).await;
    let second = sync(&engine).await;
    assert_eq!(second.listings_updated, 2);

    // An hour later another item changes: only the items changed since the cursor minus the
    // overlap are read (x again, inside the overlap, and not sent again).
    sb.advance_clock(chrono::Duration::hours(1));
    set_price(&y.item_code, y.price_eur + Decimal::TWO).await;
    // And a SKU is newly mapped to an item that did not change: its price is fetched anyway.
    let new_sku = "NEW/SKU 1";
    sb.add_listing(Listing {
        sku: new_sku.into(),
        marketplace_id: DE.into(),
        asin: "B0NEWSKU01".into(),
        title: "New listing".into(),
        product_type: "PRODUCT".into(),
        fulfillment_channel_code: "DEFAULT".into(),
        price: w.price_eur - Decimal::ONE,
        currency: "EUR".into(),
        quantity: 0,
        last_updated: None,
    });
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[sku_map]\n",
        &format!(
            "[sku_map]\n{} = {}\n{} = {}\n",
            toml_key(new_sku),
            toml_key(&w.item_code),
            toml_key(&w.sku),
            toml_key(&w.item_code)
        ),
    );
    std::fs::write(&config, text).unwrap();
    let engine = engine_for(&config).unwrap();
    let third = sync(&engine).await;
    assert!(third.changed_since.is_some());
    assert_eq!(third.items_changed, 2, "x (overlap) and y");
    assert_eq!(third.listings_read, 3, "the new SKU in three marketplaces");
    assert_eq!(third.not_listed, 2);
    assert_eq!(
        pairs(&third),
        [
            (y.sku.clone(), DE.to_owned()),
            (y.sku.clone(), FR.to_owned()),
            (new_sku.to_owned(), DE.to_owned()),
        ]
        .into_iter()
        .collect()
    );
    let new = sb.listing(new_sku, DE).unwrap();
    assert_eq!(new.price, w.price_eur);
    assert_eq!(new.quantity, w.stock);
    assert_eq!(
        sb.listing(&y.sku, FR).unwrap().price,
        y.price_eur + Decimal::TWO
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_the_orders_flow_invoices_reaches_amazon_for_mfn_skus_only() {
    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    let config = workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let demo = connector_app::demo::run_flows(&sb, &config, SEED, 1000.0)
        .await
        .unwrap();
    assert!(demo.invoices_posted > 0);
    // The demo runs the items flow after the orders flow: the stock the invoices took is pushed.
    let report = demo.items.clone();
    assert!(!report.needs_attention(), "{:?}", report.issues);
    assert!(report.listings_updated > 0, "invoices moved stock");
    for c in &report.planned {
        let p = world.catalog.iter().find(|p| p.sku == c.sku).unwrap();
        assert_eq!(p.channel, Channel::Mfn, "{}: FBA stock is Amazon's", c.sku);
        assert!(c.price_new.is_none(), "prices did not change");
        let item = sb
            .sap_entity("Items", &sandbox::sap::store::Key::Str(p.item_code.clone()))
            .unwrap();
        let in_01 = item["ItemWarehouseInfoCollection"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["WarehouseCode"] == "01")
            .unwrap()["InStock"]
            .as_i64()
            .unwrap();
        assert_eq!(c.quantity_new, Some(in_01 as u32), "{}", c.sku);
        assert_eq!(sb.listing(&c.sku, &c.marketplace).unwrap().quantity, in_01);
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_net_price_list_for_a_vat_marketplace_sends_no_prices_and_a_new_rule_rereads_all() {
    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let net = format!("{DE} = {{ price_list = 2, currency = \"EUR\" }}");
    let config = workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    // Price list 1 (Base Price) is net: Amazon.de prices include VAT.
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains(&net));
    std::fs::write(
        &config,
        text.replace(
            &net,
            &format!("{DE} = {{ price_list = 1, currency = \"EUR\" }}"),
        ),
    )
    .unwrap();
    let engine = engine_for(&config).unwrap();
    let before = catalog(&sb);
    let first = sync(&engine).await;
    assert!(first.planned.is_empty(), "{:?}", first.planned);
    assert_eq!(first.issues.len(), 1, "{:?}", first.issues);
    assert_eq!(first.issues[0].key, format!("sap:price-list:1:{DE}"));
    assert!(first.issues[0].reason.contains("net prices"));
    assert_eq!(catalog(&sb), before);

    std::fs::write(&config, text.clone()).unwrap();
    let engine = engine_for(&config).unwrap();
    let fixed = sync(&engine).await;
    assert!(fixed.planned.is_empty() && !fixed.needs_attention());
    let again = sync(&engine).await;
    assert!(again.changed_since.is_some(), "the cursor is used");
    // A new rounding rule changes what every price should be: all prices are read again.
    std::fs::write(
        &config,
        text.replace("[items]\n", "[items]\nrounding = \"nearest 1\"\n"),
    )
    .unwrap();
    let engine = engine_for(&config).unwrap();
    let rounded = sync(&engine).await;
    assert_eq!(rounded.changed_since, None);
    assert_eq!(rounded.planned.len(), sb.world().catalog.len() * 3);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_feed_amazon_does_not_know_is_dropped_and_planned_again() {
    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config).unwrap();
    sync(&engine).await;
    // A row left PENDING by a feed Amazon has no record of (e.g. a ledger restored from backup).
    let mut ledger = SqliteLedger::open(&dir.path().join("ml-connector.db")).unwrap();
    let mut row = ledger
        .listing_states()
        .unwrap()
        .into_iter()
        .find(|s| s.channel.as_deref() == Some("DEFAULT"))
        .unwrap();
    row.status = ListingStatus::Pending;
    row.sent_price = row.price.map(|p| p + Decimal::TEN);
    row.submission = Some("feed:123456789:1".into());
    ledger.put_listing_states(&[row.clone()], &[]).unwrap();

    let second = sync(&engine).await;
    assert_eq!(second.failed, 1);
    assert!(
        second.issues[0].reason.contains("unknown to Amazon"),
        "{:?}",
        second.issues
    );
    let now = ledger
        .listing_states()
        .unwrap()
        .into_iter()
        .find(|s| s.sku == row.sku && s.marketplace == row.marketplace)
        .unwrap();
    assert_eq!(now.status, ListingStatus::Observed);
    assert_eq!(now.sent_price, None);
    // SAP still asks for what Amazon has: nothing to send, nothing to flag.
    let third = sync(&engine).await;
    assert!(third.planned.is_empty() && !third.needs_attention());
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_waited_out_and_a_failed_push_is_retried_from_the_same_cursor() {
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};

    let sb = Sandbox::start(sandbox_config(SEED, 200, 1000.0))
        .await
        .unwrap();
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    let config = workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config).unwrap();
    // 429 storms on reads are waited out by the client.
    sb.add_fault(
        FaultRule::new(System::SpApi, "/listings/", FaultKind::QuotaExceeded)
            .method("GET")
            .trigger(Trigger::Times(5)),
    );
    let first = sync(&engine).await;
    assert_eq!(first.listings_read as usize, world.catalog.len() * 3);
    let cursor = |dir: &Path| {
        SqliteLedger::open(&dir.join("ml-connector.db"))
            .unwrap()
            .cursor("items")
            .unwrap()
    };
    let after_first = cursor(dir.path());
    assert!(after_first.is_some());

    let p = world
        .catalog
        .iter()
        .find(|p| p.channel == Channel::Mfn)
        .unwrap();
    engine
        .sap
        .items()
        .update(
            p.item_code.as_str(),
            &json!({"ItemPrices": [{"PriceList": 2, "Price": 77.7}]}),
        )
        .await
        .unwrap();
    // Amazon's listings endpoint is down for writes: nothing is recorded as sent, the cursor stays.
    sb.add_fault(
        FaultRule::new(System::SpApi, "/listings/", FaultKind::Status(503))
            .method("PATCH")
            .trigger(Trigger::Always),
    );
    let failed = sync(&engine).await;
    assert_eq!(failed.planned.len(), 2);
    assert_eq!(failed.failed, 2);
    assert_eq!(failed.listings_updated, 0);
    assert!(failed.needs_attention());
    assert_eq!(cursor(dir.path()), after_first, "the cursor did not move");

    sb.clear_faults();
    let retried = sync(&engine).await;
    assert_eq!(retried.listings_updated, 2);
    assert!(!retried.needs_attention(), "{:?}", retried.issues);
    assert_eq!(sb.listing(&p.sku, FR).unwrap().price, dec("77.7"));
    assert_ne!(cursor(dir.path()), after_first);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_sap_sends_malformed_is_reported_and_the_others_sync() {
    use sandbox::faults::{FaultKind, FaultRule, System, Trigger};

    let sb = Sandbox::start(sandbox_config(SEED, 100, 1000.0))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config).unwrap();
    // The first page of SAP's Items answer carries one record that does not parse.
    sb.add_fault(
        FaultRule::new(
            System::Sap,
            "/Items",
            FaultKind::CorruptRecord("value".into()),
        )
        .method("GET")
        .trigger(Trigger::Times(1)),
    );
    let first = sync(&engine).await;
    assert_eq!(first.failed, 1, "{:?}", first.issues);
    assert!(
        first
            .issues
            .iter()
            .any(|i| i.key.starts_with("sap Items record 0") && i.reason.contains("cannot read")),
        "{:?}",
        first.issues
    );
    assert!(
        first.listings_read > 0,
        "the other items were read and their listings checked"
    );
    // The cursor did not move, so the next run reads the record again, now readable.
    let second = sync(&engine).await;
    assert_eq!(second.failed, 0, "{:?}", second.issues);
    assert!(!second.needs_attention(), "{:?}", second.issues);
    sb.shutdown().await;
}
