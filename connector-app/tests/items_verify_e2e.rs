//! SAP items -> Amazon listings: pushes are read back, and issues, dropped changes and pending feeds
//! show until resolved.

mod common;

use common::items::*;
use common::{engine_for, ledger, start_sandbox, status_of};
use connector_app::flows::items::{ItemsOptions, listing_key};
use connector_app::ledger::{Ledger, ListingStatus};
use rust_decimal::Decimal;
use sandbox::world::Channel;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_issues_show_in_the_audit_and_status_until_fixed() {
    let sb = start_sandbox(SEED, 200).await;
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    // A configuration mistake: the UK marketplace priced from the EUR list. Amazon refuses.
    let wrong_uk = r#"{ price_list = 2, currency = "EUR" }"#;
    let config = items_workspace(
        &sb,
        dir.path(),
        &items_section("feed_threshold = 5", wrong_uk),
        "",
    );
    let engine = engine_for(&config);
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

    let cli = |args: &[&str]| common::cli(&config, args).1;
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
    let ledger = ledger(&config);
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
    let engine = engine_for(&config);
    let third = sync(&engine).await;
    assert!(third.planned.is_empty(), "{:?}", third.planned);
    assert!(!third.needs_attention(), "{:?}", third.issues);
    let status = cli(&["status"]);
    assert!(!status.contains("FAILED"), "{status}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_amazon_drops_after_accepting_it_is_flagged_on_read_back() {
    let sb = start_sandbox(SEED, 200).await;
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    let config = items_workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config);
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
    let ledger = ledger(&config);
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
    let sb = start_sandbox(SEED, 200).await;
    let world = sb.world();
    let dir = tempfile::tempdir().unwrap();
    // A rounding rule changes every price; the run does not wait for the feeds to finish.
    let config = items_workspace(
        &sb,
        dir.path(),
        &items_section(
            "rounding = \"nearest 1\"\nfeed_threshold = 5\nfeed_timeout = \"1s\"",
            UK_GBP,
        ),
        "",
    );
    let engine = engine_for(&config);
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
    let ledger = ledger(&config);
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
async fn a_pending_feed_amazon_does_not_know_is_dropped_and_planned_again() {
    let sb = start_sandbox(SEED, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = items_workspace(&sb, dir.path(), &items_section("", UK_GBP), "");
    let engine = engine_for(&config);
    sync(&engine).await;
    // A row left PENDING by a feed Amazon has no record of (e.g. a ledger restored from backup).
    let mut ledger = ledger(&config);
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
