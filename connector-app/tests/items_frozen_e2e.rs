//! Items SAP does not let be sold today (inactive, or inside a frozen window) offer 0 on every
//! marketplace, and their stock comes back once they may be sold again; on both worlds.

mod common;

use chrono::{Duration, Utc};
use common::items::sync;
use common::{start_sandbox_in, write_workspace, writer_for};
use sandbox::world::{Channel, WorldKind};
use serde_json::json;

async fn frozen_items_go_to_zero_and_come_back(world: WorldKind) {
    let sb = start_sandbox_in(world, 23, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_workspace(dir.path(), &sb);
    // Quantities only: the fake Amazon.com.mx offers carry USD-sized prices that the MXN price
    // list would lift past Amazon's pricing guardrail, which is not what this test is about.
    let text = std::fs::read_to_string(&config).unwrap();
    let (a, b) = (
        text.find("[items.price_lists]").unwrap(),
        text.find("[sku_map]").unwrap(),
    );
    std::fs::write(&config, format!("{}{}", &text[..a], &text[b..])).unwrap();
    let engine = writer_for(&config);
    let w = sb.world();
    let mfn: Vec<_> = w
        .catalog
        .iter()
        .filter(|p| p.channel == Channel::Mfn)
        .collect();
    let ids: Vec<&str> = w.marketplaces.iter().map(|m| m.id).collect();
    let first = sync(&engine).await;
    assert!(!first.needs_attention(), "{:?}", first.issues);
    let quantity = |sku: &str, m: &str| sb.listing(sku, m).unwrap().quantity;
    let (frozen, window, past, seasonal) = (mfn[0], mfn[1], mfn[2], mfn[3]);
    let before: Vec<Vec<i64>> = [frozen, window, past, seasonal]
        .iter()
        .map(|p| ids.iter().map(|m| quantity(&p.sku, m)).collect())
        .collect();
    assert!(before.iter().flatten().all(|q| *q > 0), "{before:?}");

    let day = |d: i64| {
        (Utc::now() + Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let patch = |code: &str, body: serde_json::Value| {
        let engine = &engine;
        let code = code.to_owned();
        async move {
            engine
                .sap
                .items()
                .update(code.as_str(), &body)
                .await
                .unwrap()
        }
    };
    // Inactive outright; frozen in a window around today; frozen in a window that is over;
    // active only in a window that starts tomorrow.
    patch(&frozen.item_code, json!({"Valid": "tNO", "Frozen": "tYES"})).await;
    patch(
        &window.item_code,
        json!({"Valid": "tNO", "Frozen": "tYES", "FrozenFrom": day(-1), "FrozenTo": day(3)}),
    )
    .await;
    patch(
        &past.item_code,
        json!({"Valid": "tNO", "Frozen": "tYES", "FrozenFrom": day(-9), "FrozenTo": day(-2)}),
    )
    .await;
    patch(
        &seasonal.item_code,
        json!({"Valid": "tYES", "Frozen": "tNO", "ValidFrom": day(1), "ValidTo": day(30)}),
    )
    .await;
    let second = sync(&engine).await;
    assert!(!second.needs_attention(), "{:?}", second.issues);
    for m in &ids {
        assert_eq!(quantity(&frozen.sku, m), 0, "inactive");
        assert_eq!(quantity(&window.sku, m), 0, "inside its frozen window");
        assert_eq!(quantity(&seasonal.sku, m), 0, "before its active window");
    }
    let past_now: Vec<i64> = ids.iter().map(|m| quantity(&past.sku, m)).collect();
    assert_eq!(
        past_now, before[2],
        "a frozen window that is over changes nothing"
    );

    // Sellable again: active, the frozen window moved into the past, the active window open now.
    patch(&frozen.item_code, json!({"Valid": "tYES", "Frozen": "tNO"})).await;
    patch(
        &window.item_code,
        json!({"FrozenFrom": day(-5), "FrozenTo": day(-1)}),
    )
    .await;
    patch(&seasonal.item_code, json!({"ValidFrom": day(-1)})).await;
    let third = sync(&engine).await;
    assert!(!third.needs_attention(), "{:?}", third.issues);
    for (i, p) in [frozen, window, past, seasonal].iter().enumerate() {
        let now: Vec<i64> = ids.iter().map(|m| quantity(&p.sku, m)).collect();
        assert_eq!(now, before[i], "{} offers its stock again", p.sku);
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eu_frozen_items_go_to_zero_and_come_back() {
    frozen_items_go_to_zero_and_come_back(WorldKind::Eu).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn na_frozen_items_go_to_zero_and_come_back() {
    frozen_items_go_to_zero_and_come_back(WorldKind::Na).await;
}
