//! Amazon applies an ACCEPTED listing change later ("Accepted does not mean the process is
//! complete", https://developer-docs.amazon.com/sp-api/docs/manage-listings-issues); the sandbox
//! models that with `listing_apply_delay`. The items flow's read-back must treat "not visible
//! yet" as pending (no issue, not sent again), flag it for a person once it is more than 24 h
//! old, and mark it verified once Amazon shows it.

mod common;

use common::items::*;
use common::*;
use connector_app::flows::items::listing_key;
use connector_app::ledger::{Ledger, ListingStatus};
use rust_decimal::Decimal;
use sandbox::world::Channel;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_change_not_shown_yet_is_pending_then_overdue_then_verified() {
    // Two hours in Amazon's time, 7.2 s at the tests' time scale.
    let sb = Sandbox::start(SandboxConfig {
        listing_apply_delay: chrono::Duration::hours(2),
        ..sandbox_config(SEED, 200)
    })
    .await
    .unwrap();
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
    let new_price = p.price_eur + Decimal::ONE;
    engine
        .sap
        .items()
        .update(
            p.item_code.as_str(),
            &json!({"ItemPrices": [{"PriceList": 2, "Price": new_price}]}),
        )
        .await
        .unwrap();
    let pushed = sync(&engine).await;
    assert_eq!(pushed.listings_updated, 2, "DE and FR accepted");
    assert_eq!(
        sb.listing(&p.sku, DE).unwrap().price,
        p.price_eur,
        "not shown yet"
    );

    // Read back after verify_after: Amazon does not show it yet. Pending, not a problem.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let early = sync(&engine).await;
    assert_eq!(
        sb.listing(&p.sku, DE).unwrap().price,
        p.price_eur,
        "still not shown"
    );
    assert_eq!(early.verified, 0);
    assert!(early.awaiting_verification >= 2, "{early:?}");
    assert!(early.issues.is_empty(), "{:?}", early.issues);
    assert!(early.planned.is_empty(), "not sent again while pending");
    let key = listing_key(&world.seller_id, DE, &p.sku);
    assert!(!status_of(&config).contains(&key));

    // The same change accepted more than 24 h ago and still not shown needs a person.
    let mut ledger = ledger(&config);
    let old = (chrono::Utc::now() - chrono::Duration::hours(25)).to_rfc3339();
    let states: Vec<_> = ledger
        .listing_states()
        .unwrap()
        .into_iter()
        .filter(|s| s.sku == p.sku && s.status == ListingStatus::Accepted)
        .map(|mut s| {
            s.pushed_at = Some(old.clone());
            s
        })
        .collect();
    assert_eq!(states.len(), 2);
    ledger.put_listing_states(&states, &[]).unwrap();
    let overdue = sync(&engine).await;
    assert_eq!(overdue.verified, 0);
    assert!(
        overdue
            .issues
            .iter()
            .any(|i| i.reason.contains("accepted more than 24 h ago")),
        "{:?}",
        overdue.issues
    );

    // Amazon shows it at last: verified, nothing left waiting for this SKU.
    sb.advance_clock(chrono::Duration::hours(3));
    let late = sync(&engine).await;
    assert_eq!(sb.listing(&p.sku, DE).unwrap().price, new_price);
    assert_eq!(late.verified, 2, "{late:?}");
    assert!(late.issues.is_empty(), "{:?}", late.issues);
    let states = ledger.listing_states().unwrap();
    assert!(
        states
            .iter()
            .filter(|s| s.sku == p.sku)
            .all(|s| s.status != ListingStatus::Accepted),
        "{states:?}"
    );
    sb.shutdown().await;
}
