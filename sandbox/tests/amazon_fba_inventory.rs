//! FBA Inventory v1 `getInventorySummaries` on the fake: the parameters the model requires, pages
//! of 50 by `nextToken`, and quantities that are the world's FBA stock.

mod common;

use common::*;
use sandbox::world::fba::fba_stock;
use serde_json::Value;

#[tokio::test]
async fn summaries_need_marketplace_granularity_and_page_through_the_worlds_stock() {
    // Amazon's usage plan is 2 requests a second, burst 2: a fast clock keeps the test short.
    let sb = sandbox::Sandbox::start(sandbox::SandboxConfig {
        time_scale: 100_000.0,
        ..config(1200)
    })
    .await
    .unwrap();
    let c = client();
    let token = access_token(&sb, &c).await;
    let de = "A1PA6795UKMFR9";
    let status = |path: String| {
        let (sb, c, token) = (&sb, &c, &token);
        async move { sp_get(sb, c, token, &path).await.status().as_u16() }
    };
    assert_eq!(
        status(format!(
            "/fba/inventory/v1/summaries?granularityId={de}&marketplaceIds={de}"
        ))
        .await,
        400,
        "granularityType is required"
    );
    assert_eq!(
        status(format!(
            "/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId={de}&marketplaceIds={de},A13V1IB3VIYZZH"
        ))
        .await,
        400,
        "one marketplace per call"
    );
    let stock = fba_stock(&sb.world());
    assert!(
        stock.len() > 50,
        "{} FBA SKUs: more than one page",
        stock.len()
    );
    let mut seen = 0;
    let mut token_next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!(
            "/fba/inventory/v1/summaries?details=true&granularityType=Marketplace&granularityId={de}&marketplaceIds={de}"
        );
        if let Some(t) = &token_next {
            path.push_str(&format!("&nextToken={t}"));
        }
        let body: Value = sp_get(&sb, &c, &token, &path).await.json().await.unwrap();
        pages += 1;
        for s in body["payload"]["inventorySummaries"].as_array().unwrap() {
            let want = stock[s["sellerSku"].as_str().unwrap()];
            let d = &s["inventoryDetails"];
            assert_eq!(d["fulfillableQuantity"], want.fulfillable);
            assert_eq!(
                d["reservedQuantity"]["totalReservedQuantity"],
                want.reserved
            );
            assert_eq!(s["totalQuantity"], want.on_hand() + want.inbound_shipped);
            seen += 1;
        }
        token_next = body["pagination"]["nextToken"].as_str().map(str::to_owned);
        if token_next.is_none() {
            break;
        }
    }
    assert_eq!(seen, stock.len());
    assert!(pages > 1);
}
