//! Orders v2026-01-01: search with pagination, getOrder, exact money, sandbox examples.

mod common;

use common::*;
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde_json::json;
use sp_api_client::orders::{
    FulfilledBy, FulfillmentStatus, IncludedData, Order, OrderSearch, SearchOrdersResponse,
};
use sp_api_client::{AmazonOrderId, Error};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const MODEL: &str = "orders_2026-01-01.json";

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn order(id: &str, total: &str) -> serde_json::Value {
    json!({
        "orderId": id,
        "createdTime": "2026-03-01T10:00:00Z",
        "lastUpdatedTime": "2026-03-01T11:00:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9", "marketplaceName": "Amazon.de"},
        "proceeds": {"grandTotal": {"amount": total, "currencyCode": "EUR"}},
        "fulfillment": {"fulfillmentStatus": "SHIPPED", "fulfilledBy": "AMAZON"},
        "orderItems": [{
            "orderItemId": "1",
            "quantityOrdered": 2,
            "product": {"asin": "B000000001", "sellerSku": "SKU/1", "price": {"unitPrice": {"amount": "0.10", "currencyCode": "EUR"}}}
        }]
    })
}

/// The parameters every page must repeat.
fn search_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("lastUpdatedAfter", "2026-03-01T00:00:00Z"),
        ("lastUpdatedBefore", "2026-03-02T00:00:00Z"),
        ("marketplaceIds", "A1PA6795UKMFR9,A13V1IB3VIYZZH"),
        ("fulfillmentStatuses", "UNSHIPPED,SHIPPED"),
        ("fulfilledBy", "AMAZON"),
        ("includedData", "PROCEEDS,FULFILLMENT"),
        ("maxResultsPerPage", "2"),
    ]
}

#[tokio::test(start_paused = true)]
async fn search_orders_pages_with_pagination_token_and_unchanged_parameters() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let pages = [
        (
            None,
            json!({"orders": [order("028-1-1", "10.01"), order("028-1-2", "0.30")], "pagination": {"nextToken": "tok-2"}}),
        ),
        (
            Some("tok-2"),
            json!({"orders": [order("028-1-3", "7")], "pagination": {"nextToken": "tok-3"}}),
        ),
        (
            Some("tok-3"),
            json!({"orders": [], "lastUpdatedBefore": "2026-03-02T00:00:00Z"}),
        ),
    ];
    for (token, body) in pages {
        let mut mock = Mock::given(method("GET")).and(path("/orders/2026-01-01/orders"));
        for (k, v) in search_params() {
            mock = mock.and(query_param(k, v));
        }
        mock = match token {
            Some(tok) => mock.and(query_param("paginationToken", tok)),
            None => mock.and(query_param_is_missing("paginationToken")),
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let search = OrderSearch::last_updated_after(t("2026-03-01T00:00:00Z"))
        .before(t("2026-03-02T00:00:00Z"))
        .marketplace_ids(["A1PA6795UKMFR9", "A13V1IB3VIYZZH"])
        .fulfillment_statuses([FulfillmentStatus::Unshipped, FulfillmentStatus::Shipped])
        .fulfilled_by([FulfilledBy::Amazon])
        .included_data([IncludedData::Proceeds, IncludedData::Fulfillment])
        .max_results_per_page(2);
    let orders: Vec<Order> = client(&server)
        .search_orders(search)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["028-1-1", "028-1-2", "028-1-3"]);
    let total: Decimal = orders
        .iter()
        .filter_map(|o| o.proceeds.as_ref()?.grand_total.as_ref())
        .map(|m| m.amount)
        .sum();
    assert_eq!(total, Decimal::new(1731, 2), "exact: 10.01 + 0.30 + 7");
    assert_eq!(orders[0].status(), Some(&FulfillmentStatus::Shipped));
    assert_eq!(
        orders[0].order_items[0]
            .product
            .seller_sku
            .as_ref()
            .unwrap()
            .as_str(),
        "SKU/1"
    );
}

#[tokio::test(start_paused = true)]
async fn search_orders_400_is_a_typed_server_error() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let response = sandbox_response(MODEL, "searchOrders", "400", 0);
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-amzn-RequestId", "r-400")
                .set_body_json(response),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .search_orders_page(&OrderSearch::created_after(t("2026-01-01T00:00:00Z")), None)
        .await
        .unwrap_err();
    let Error::Api(api) = err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status.as_u16(), 400);
    assert_eq!(api.code(), Some("InvalidInput"));
    assert_eq!(api.request_id.as_deref(), Some("r-400"));
}

#[tokio::test(start_paused = true)]
async fn get_order_requests_included_data() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let response = sandbox_response(MODEL, "getOrder", "200", 0);
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/171-9876543-2109876"))
        .and(query_param("includedData", "BUYER,PROCEEDS"))
        .respond_with(ResponseTemplate::new(200).set_body_json(response))
        .expect(1)
        .mount(&server)
        .await;
    let order = client(&server)
        .get_order(
            &AmazonOrderId::from("171-9876543-2109876"),
            &[IncludedData::Buyer, IncludedData::Proceeds],
        )
        .await
        .unwrap();
    assert_eq!(order.order_id.as_str(), "171-9876543-2109876");
    assert!(!order.order_items.is_empty());
}

#[test]
fn every_orders_sandbox_example_deserialises() {
    let mut n = 0;
    for (status, _, response) in sandbox_cases(MODEL, "searchOrders") {
        if status == "200" {
            let page: SearchOrdersResponse = serde_json::from_value(response).unwrap();
            assert!(!page.orders.is_empty());
            n += 1;
        }
    }
    for (status, _, response) in sandbox_cases(MODEL, "getOrder") {
        if status == "200" {
            let order: Order = serde_json::from_value(response["order"].clone()).unwrap();
            assert!(!order.order_items.is_empty());
            n += 1;
        }
    }
    assert_eq!(n, 6);
    let first: SearchOrdersResponse =
        serde_json::from_value(sandbox_response(MODEL, "searchOrders", "200", 0)).unwrap();
    let order = &first.orders[0];
    assert_eq!(order.seller_order_id(), Some("JP-ORDER-2024-001"));
    assert_eq!(
        order
            .proceeds
            .as_ref()
            .unwrap()
            .grand_total
            .as_ref()
            .unwrap()
            .amount,
        Decimal::from(19940)
    );
}

#[tokio::test(start_paused = true)]
async fn a_malformed_order_is_an_error_naming_it_and_the_stream_goes_on() {
    use futures::StreamExt;
    let server = server().await;
    mount_lwa(&server, 1).await;
    let mut bad = order("028-9-9", "1.00");
    bad["orderItems"][0]["quantityOrdered"] = json!("two");
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"orders": [order("028-1-1", "10.01"), bad, order("028-1-3", "3.00")]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let items: Vec<_> = client(&server)
        .search_orders(OrderSearch::created_after(t("2026-01-01T00:00:00Z")))
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().order_id.as_str(), "028-1-1");
    assert_eq!(items[2].as_ref().unwrap().order_id.as_str(), "028-1-3");
    let Err(Error::Parse(p)) = &items[1] else {
        panic!("{:?}", items[1])
    };
    assert_eq!(
        p.path,
        "orders[1] (order 028-9-9).orderItems[0].quantityOrdered"
    );
    assert!(p.body.contains("\"two\""), "the record's JSON is kept");
}
