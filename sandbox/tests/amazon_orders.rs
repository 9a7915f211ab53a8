//! Orders v2026-01-01 searchOrders/getOrder and v0 getOrders/getOrderItems over HTTP.

mod common;

use common::*;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

async fn big_bucket_sandbox(orders: usize) -> Sandbox {
    Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config(orders)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn search_orders_pages_with_pagination_token_and_sees_every_order_once() {
    let sb = big_bucket_sandbox(250).await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let base = "/orders/2026-01-01/orders?lastUpdatedAfter=2025-01-01T00:00:00Z&maxResultsPerPage=40&includedData=PROCEEDS,FULFILLMENT";
    let mut url = base.to_string();
    let mut ids = Vec::new();
    loop {
        let r = sp_get(&sb, &c, &token, &url).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert!(body["lastUpdatedBefore"].is_string());
        for o in body["orders"].as_array().unwrap() {
            ids.push(o["orderId"].as_str().unwrap().to_string());
            assert!(o["orderItems"].as_array().is_some_and(|i| !i.is_empty()));
            assert!(o["fulfillment"]["fulfillmentStatus"].is_string());
        }
        match body["pagination"]["nextToken"].as_str() {
            Some(t) => url = format!("{base}&paginationToken={t}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 250);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250);
    // a token with changed filters is refused
    let r = sp_get(&sb, &c, &token, &format!("{base}&maxResultsPerPage=40")).await;
    let t = r.json::<Value>().await.unwrap()["pagination"]["nextToken"]
        .as_str()
        .unwrap()
        .to_string();
    let r = sp_get(
        &sb,
        &c,
        &token,
        &format!(
            "/orders/2026-01-01/orders?lastUpdatedAfter=2026-01-01T00:00:00Z&paginationToken={t}"
        ),
    )
    .await;
    assert_eq!(r.status(), 400);
    // tokens expire after 24 hours
    let r = sp_get(&sb, &c, &token, base).await;
    let t = r.json::<Value>().await.unwrap()["pagination"]["nextToken"]
        .as_str()
        .unwrap()
        .to_string();
    sb.advance_clock(chrono::Duration::hours(25));
    let token = access_token(&sb, &c).await;
    let r = sp_get(&sb, &c, &token, &format!("{base}&paginationToken={t}")).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("expired"));
    sb.shutdown().await;
}

#[tokio::test]
async fn windows_must_end_two_minutes_before_now_and_need_one_start() {
    let sb = big_bucket_sandbox(20).await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let r = sp_get(&sb, &c, &token, "/orders/2026-01-01/orders").await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"][0]["code"],
        "InvalidInput"
    );
    let now = sb.now();
    let too_late =
        (now - chrono::Duration::seconds(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = sp_get(
        &sb,
        &c,
        &token,
        &format!(
            "/orders/2026-01-01/orders?createdAfter=2026-01-01T00:00:00Z&createdBefore={too_late}"
        ),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("2 minutes"));
    sb.shutdown().await;
}

#[tokio::test]
async fn get_order_and_v0_shapes() {
    let sb = big_bucket_sandbox(60).await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let world = sb.world();
    let o = world
        .orders
        .iter()
        .find(|o| o.status == sandbox::world::OrderStatus::Shipped)
        .unwrap();
    let r = sp_get(
        &sb,
        &c,
        &token,
        &format!("/orders/2026-01-01/orders/{}?includedData=PROCEEDS", o.id),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let order = &body["order"];
    assert_eq!(order["orderId"], o.id.as_str());
    let total = order["proceeds"]["grandTotal"]["amount"].as_str().unwrap();
    assert_eq!(
        total,
        format!("{:.2}", o.total()),
        "money is a decimal string"
    );
    let sku = order["orderItems"][0]["product"]["sellerSku"]
        .as_str()
        .unwrap();
    assert_eq!(sku, world.catalog[o.items[0].product].sku);
    let market = world.marketplaces[o.marketplace].id;
    let r = sp_get(
        &sb,
        &c,
        &token,
        &format!("/orders/v0/orders?MarketplaceIds={market}&CreatedAfter=2025-01-01T00:00:00Z"),
    )
    .await;
    let body: Value = r.json().await.unwrap();
    let list = body["payload"]["Orders"].as_array().unwrap();
    assert!(list.iter().all(|x| x["MarketplaceId"] == market));
    assert!(list.iter().any(|x| x["AmazonOrderId"] == o.id.as_str()));
    let r = sp_get(
        &sb,
        &c,
        &token,
        &format!("/orders/v0/orders/{}/orderItems", o.id),
    )
    .await;
    let body: Value = r.json().await.unwrap();
    let item = &body["payload"]["OrderItems"][0];
    assert_eq!(
        item["ItemPrice"]["Amount"],
        format!("{:.2}", o.items[0].item_price)
    );
    assert_eq!(item["IsGift"], "false");
    let r = sp_get(&sb, &c, &token, "/orders/v0/orders/999-0000000-0000000").await;
    assert_eq!(r.status(), 404);
    assert!(r.headers().contains_key("x-amzn-ratelimit-limit"));
    sb.shutdown().await;
}

#[tokio::test]
async fn orders_added_later_show_up_in_incremental_searches() {
    let sb = big_bucket_sandbox(30).await;
    let c = client();
    sb.advance_clock(chrono::Duration::hours(3));
    let token = access_token(&sb, &c).await;
    let since =
        (sb.now() - chrono::Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let url = format!("/orders/2026-01-01/orders?lastUpdatedAfter={since}");
    let before: Value = sp_get(&sb, &c, &token, &url).await.json().await.unwrap();
    assert_eq!(before["orders"].as_array().unwrap().len(), 0);
    let ids = sb.add_orders(5);
    let after: Value = sp_get(&sb, &c, &token, &url).await.json().await.unwrap();
    let got: Vec<&str> = after["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(got.len(), 5);
    for id in &ids {
        assert!(got.contains(&id.as_str()));
    }
    sb.shutdown().await;
}

/// In the NA world the tax comes on top of the price: v0 `OrderTotal` and v2026 `grandTotal` are
/// price + shipping − promotion + tax, v0 items carry `ItemTax` and, where Amazon collects it, a
/// `TaxCollection`; a marketplace filter returns that marketplace's orders in its currency.
#[tokio::test]
async fn na_orders_add_sales_tax_and_name_who_collects_it() {
    let sb = Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config_in(sandbox::world::WorldKind::Na, 300)
    })
    .await
    .unwrap();
    let c = client();
    let token = access_token(&sb, &c).await;
    let world = sb.world();
    let taxed = world
        .orders
        .iter()
        .filter(|o| o.status == sandbox::world::OrderStatus::Shipped && o.marketplace == 0)
        .find(|o| !o.tax().withheld.is_zero())
        .unwrap();
    let v0: Value = sp_get(&sb, &c, &token, &format!("/orders/v0/orders/{}", taxed.id))
        .await
        .json()
        .await
        .unwrap();
    let total = v0["payload"]["OrderTotal"].clone();
    assert_eq!(total["CurrencyCode"], "USD");
    let before_tax: rust_decimal::Decimal = taxed
        .items
        .iter()
        .map(|i| i.item_price + i.shipping - i.promotion)
        .sum();
    assert_eq!(
        total["Amount"],
        format!("{:.2}", before_tax + taxed.tax().total)
    );
    let items: Value = sp_get(
        &sb,
        &c,
        &token,
        &format!("/orders/v0/orders/{}/orderItems", taxed.id),
    )
    .await
    .json()
    .await
    .unwrap();
    let first = &items["payload"]["OrderItems"][0];
    assert_eq!(
        first["ItemTax"]["Amount"],
        format!("{:.2}", taxed.items[0].item_tax)
    );
    assert_eq!(
        first["TaxCollection"]["ResponsibleParty"],
        "Amazon Services, Inc."
    );

    let ca = "A2EUQ1WTGCTBG2";
    let body: Value = sp_get(
        &sb,
        &c,
        &token,
        &format!("/orders/2026-01-01/orders?createdAfter=2025-01-01T00:00:00Z&marketplaceIds={ca}&includedData=PROCEEDS,TAX"),
    )
    .await
    .json()
    .await
    .unwrap();
    let orders = body["orders"].as_array().unwrap();
    assert!(!orders.is_empty());
    for o in orders {
        assert_eq!(o["salesChannel"]["marketplaceName"], "Amazon.ca");
        if let Some(total) = o["proceeds"]["grandTotal"].as_object() {
            assert_eq!(total["currencyCode"], "CAD");
        }
        assert!(
            o["orderItems"][0]["tax"]["taxCollections"].is_null(),
            "the seller collects GST/HST itself"
        );
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn shipped_merchant_orders_have_a_package_with_its_ship_time_and_fba_orders_none() {
    use chrono::SubsecRound;
    use sandbox::world::{Channel, OrderStatus};
    let sb = big_bucket_sandbox(60).await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let world = sb.world();
    let shipped = |ch: Channel| {
        world
            .orders
            .iter()
            .find(|o| o.status == OrderStatus::Shipped && o.channel == ch)
            .unwrap()
    };
    let get = |id: &str, included: &str| {
        format!("/orders/2026-01-01/orders/{id}?includedData={included}")
    };
    let mfn = shipped(Channel::Mfn);
    let r = sp_get(&sb, &c, &token, &get(&mfn.id, "FULFILLMENT,PACKAGES")).await;
    let body: Value = r.json().await.unwrap();
    let packages = body["order"]["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1, "{body}");
    let p = &packages[0];
    assert_eq!(p["packageStatus"]["status"], "SHIPPED");
    let ship_time = chrono::DateTime::parse_from_rfc3339(p["shipTime"].as_str().unwrap()).unwrap();
    assert_eq!(ship_time.to_utc(), mfn.shipped.unwrap().trunc_subsecs(0));
    let units: u64 = p["packageItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["quantity"].as_u64().unwrap())
        .sum();
    assert_eq!(
        units,
        mfn.items.iter().map(|i| u64::from(i.quantity)).sum::<u64>()
    );
    // Only with includedData=PACKAGES, and never for FBA orders.
    let r = sp_get(&sb, &c, &token, &get(&mfn.id, "FULFILLMENT")).await;
    assert!(
        r.json::<Value>().await.unwrap()["order"]
            .get("packages")
            .is_none()
    );
    let afn = shipped(Channel::Afn);
    let r = sp_get(&sb, &c, &token, &get(&afn.id, "FULFILLMENT,PACKAGES")).await;
    assert!(
        r.json::<Value>().await.unwrap()["order"]
            .get("packages")
            .is_none()
    );
    sb.shutdown().await;
}
