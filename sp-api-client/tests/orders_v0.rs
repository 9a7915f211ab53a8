//! Orders v0 fallback: NextToken with the original filters, items per order, same domain type.

mod common;

use common::*;
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde_json::json;
use sp_api_client::orders::{FulfilledBy, FulfillmentStatus, Order, OrderSearch};
use sp_api_client::orders_v0::{OrderItemsListV0, OrdersListV0};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const MODEL: &str = "ordersV0.json";

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

#[tokio::test(start_paused = true)]
async fn v0_orders_are_paged_with_filters_repeated_and_items_mapped() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    // Amazon's own sandbox pages: TEST_CASE_200_NEXT_TOKEN and its second page.
    let cases = sandbox_cases(MODEL, "getOrders");
    let first = cases
        .iter()
        .find(|(_, p, _)| {
            p["CreatedAfter"]["value"] == "TEST_CASE_200_NEXT_TOKEN" && p.get("NextToken").is_none()
        })
        .unwrap()
        .2
        .clone();
    let mut second = cases
        .iter()
        .find(|(_, p, _)| p.get("NextToken").is_some())
        .unwrap()
        .2
        .clone();
    second["payload"]["Orders"][0]["AmazonOrderId"] = json!("902-0000000-0000002");
    for (token, body) in [
        (None, first),
        (Some("2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"), second),
    ] {
        let mut mock = Mock::given(method("GET"))
            .and(path("/orders/v0/orders"))
            .and(query_param("MarketplaceIds", "ATVPDKIKX0DER"))
            .and(query_param("LastUpdatedAfter", "2026-03-01T00:00:00Z"))
            .and(query_param("OrderStatuses", "Unshipped,Canceled"))
            .and(query_param("FulfillmentChannels", "MFN"));
        mock = match token {
            Some(tok) => mock.and(query_param("NextToken", tok)),
            None => mock.and(query_param_is_missing("NextToken")),
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let items = sandbox_response(MODEL, "getOrderItems", "200", 0);
    for id in ["902-3159896-1390916", "902-0000000-0000002"] {
        Mock::given(method("GET"))
            .and(path(format!("/orders/v0/orders/{id}/orderItems")))
            .respond_with(ResponseTemplate::new(200).set_body_json(&items))
            .expect(1)
            .mount(&server)
            .await;
    }
    let search = OrderSearch::last_updated_after(t("2026-03-01T00:00:00Z"))
        .marketplace_ids(["ATVPDKIKX0DER"])
        .fulfillment_statuses([FulfillmentStatus::Unshipped, FulfillmentStatus::Cancelled])
        .fulfilled_by([FulfilledBy::Merchant]);
    let orders: Vec<Order> = client(&server)
        .search_orders_v0(search)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(orders.len(), 2);
    let o = &orders[0];
    assert_eq!(o.order_id.as_str(), "902-3159896-1390916");
    assert_eq!(o.status(), Some(&FulfillmentStatus::Pending));
    assert_eq!(
        o.fulfillment.as_ref().unwrap().fulfilled_by,
        Some(FulfilledBy::Merchant)
    );
    let item = &o.order_items[0];
    assert_eq!(
        item.product.seller_sku.as_ref().unwrap().as_str(),
        "NABetaASINB00551Q3CS"
    );
    let proceeds = item.proceeds.as_ref().unwrap();
    // ItemPrice 10.00 + ItemTax 1.01 − PromotionDiscount 0.00.
    assert_eq!(
        proceeds.proceeds_total.as_ref().unwrap().amount,
        Decimal::new(1101, 2)
    );
    let kinds: Vec<_> = proceeds
        .breakdowns
        .iter()
        .map(|b| b.kind.as_str())
        .collect();
    assert_eq!(kinds, ["ITEM", "TAX", "DISCOUNT"]);
    assert_eq!(
        item.product
            .price
            .as_ref()
            .unwrap()
            .unit_price
            .as_ref()
            .unwrap()
            .amount,
        Decimal::new(1000, 2)
    );
}

#[test]
fn every_v0_sandbox_example_deserialises() {
    for (status, _, response) in sandbox_cases(MODEL, "getOrders") {
        if status == "200" {
            let page: OrdersListV0 = serde_json::from_value(response["payload"].clone()).unwrap();
            assert!(!page.orders.is_empty());
            for order in page.orders {
                let order = order.into_order(Vec::new());
                assert!(order.fulfillment.is_some());
            }
        }
    }
    // The sandbox's "CreatedBefore": "1.569521782042E9" is epoch seconds, read leniently.
    let first: OrdersListV0 =
        serde_json::from_value(sandbox_response(MODEL, "getOrders", "200", 0)["payload"].clone())
            .unwrap();
    assert_eq!(
        first.created_before.map(|t| t.timestamp()),
        Some(1_569_521_782)
    );
    assert_eq!(
        first.orders[0].order_total.as_ref().unwrap().amount,
        Decimal::new(1101, 2)
    );
    for (status, _, response) in sandbox_cases(MODEL, "getOrderItems") {
        if status == "200" {
            let page: OrderItemsListV0 =
                serde_json::from_value(response["payload"].clone()).unwrap();
            assert!(!page.order_items.is_empty());
        }
    }
}

#[test]
fn v0_discount_taxes_lower_the_tax_of_the_item() {
    // A UK line (prices include VAT): 2 × 12.00 with a 2.40 promotion and a 1.20 shipping
    // discount. ordersV0.json `OrderItem` carries the VAT of both discounts in
    // `PromotionDiscountTax` and `ShippingDiscountTax`; without them the line's VAT is overstated.
    let money = |a: &str| json!({"CurrencyCode": "GBP", "Amount": a});
    let item: sp_api_client::orders_v0::OrderItemV0 = serde_json::from_value(json!({
        "ASIN": "B00TEST001", "SellerSKU": "SKU-1", "OrderItemId": "1", "QuantityOrdered": 2,
        "ItemPrice": money("24.00"), "ItemTax": money("4.00"),
        "ShippingPrice": money("3.60"), "ShippingTax": money("0.60"),
        "PromotionDiscount": money("2.40"), "PromotionDiscountTax": money("0.40"),
        "ShippingDiscount": money("1.20"), "ShippingDiscountTax": money("0.20"),
    }))
    .unwrap();
    let proceeds = item.into_order_item().proceeds.unwrap();
    let tax = proceeds
        .breakdowns
        .iter()
        .find(|b| b.kind == "TAX")
        .unwrap();
    // 4.00 + 0.60 − 0.40 − 0.20
    assert_eq!(tax.subtotal.amount, Decimal::new(400, 2));
    let details: Vec<(&str, Decimal)> = tax
        .detailed_breakdowns
        .iter()
        .map(|d| (d.subtype.as_deref().unwrap(), d.value.amount))
        .collect();
    assert_eq!(
        details,
        [
            ("ITEM", Decimal::new(400, 2)),
            ("SHIPPING", Decimal::new(60, 2)),
            ("DISCOUNT", Decimal::new(-40, 2)),
            ("SHIPPING", Decimal::new(-20, 2)),
        ]
    );
    // A zero discount tax adds no detail (Amazon sends 0.00 on lines without a promotion).
    let plain: sp_api_client::orders_v0::OrderItemV0 = serde_json::from_value(json!({
        "ASIN": "B00TEST001", "OrderItemId": "2", "QuantityOrdered": 1,
        "ItemPrice": money("12.00"), "ItemTax": money("2.00"),
        "PromotionDiscount": money("0.00"), "PromotionDiscountTax": money("0.00"),
    }))
    .unwrap();
    let proceeds = plain.into_order_item().proceeds.unwrap();
    let tax = proceeds
        .breakdowns
        .iter()
        .find(|b| b.kind == "TAX")
        .unwrap();
    assert_eq!(tax.subtotal.amount, Decimal::new(200, 2));
    assert_eq!(tax.detailed_breakdowns.len(), 1);
}
