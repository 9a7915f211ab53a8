//! FBA Inventory v1 `getInventorySummaries`: the request Amazon's model asks for, pagination by
//! `pagination.nextToken` with the same parameters, and the quantities read from the model's
//! own sandbox response shape.

mod common;

use common::*;
use futures::TryStreamExt;
use sp_api_client::fba_inventory::InventoryQuery;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const DE: &str = "A1PA6795UKMFR9";

#[tokio::test(start_paused = true)]
async fn summaries_are_paged_and_on_hand_excludes_inbound() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    // The shape of the model's static sandbox response (fbaInventory.json, 200).
    let page1 = r#"{"pagination": {"nextToken": "seed"}, "payload": {
        "granularity": {"granularityType": "Marketplace", "granularityId": "A1PA6795UKMFR9"},
        "inventorySummaries": [{"asin": "B00T9QONN6", "fnSku": "B00T9QONN6", "sellerSku": "Silicon Power 32GB",
          "condition": "NewItem", "lastUpdatedTime": "2018-03-31T23:40:39Z", "productName": "SP", "totalQuantity": 87,
          "inventoryDetails": {"fulfillableQuantity": 66, "inboundWorkingQuantity": 21, "inboundShippedQuantity": 0,
            "inboundReceivingQuantity": 0,
            "reservedQuantity": {"totalReservedQuantity": 0, "pendingCustomerOrderQuantity": 0,
              "pendingTransshipmentQuantity": 0, "fcProcessingQuantity": 0},
            "researchingQuantity": {"totalResearchingQuantity": 0, "researchingQuantityBreakdown": []},
            "unfulfillableQuantity": {"totalUnfulfillableQuantity": 0, "customerDamagedQuantity": 0}}}]}}"#;
    let page2 = r#"{"payload": {"granularity": {"granularityType": "Marketplace", "granularityId": "A1PA6795UKMFR9"},
        "inventorySummaries": [{"sellerSku": "EMTEC 1 GB", "lastUpdatedTime": "", "totalQuantity": 9,
          "inventoryDetails": {"fulfillableQuantity": 4,
            "reservedQuantity": {"totalReservedQuantity": 2},
            "unfulfillableQuantity": {"totalUnfulfillableQuantity": 3}}}]}}"#;
    let first = Mock::given(method("GET"))
        .and(path("/fba/inventory/v1/summaries"))
        .and(query_param("granularityType", "Marketplace"))
        .and(query_param("granularityId", DE))
        .and(query_param("marketplaceIds", DE))
        .and(query_param("details", "true"));
    first
        .and(query_param_is_missing("nextToken"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page1, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/fba/inventory/v1/summaries"))
        .and(query_param("granularityId", DE))
        .and(query_param("nextToken", "seed"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page2, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let all: Vec<_> = client(&server)
        .get_inventory_summaries(InventoryQuery::marketplace(DE))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].seller_sku.as_deref(), Some("Silicon Power 32GB"));
    assert_eq!((all[0].on_hand(), all[0].inbound()), (Some(66), Some(21)));
    assert_eq!((all[1].on_hand(), all[1].inbound()), (Some(9), Some(0)));
}

#[tokio::test(start_paused = true)]
async fn more_than_fifty_skus_are_refused_before_any_request() {
    let server = server().await;
    let query = InventoryQuery {
        seller_skus: (0..51).map(|i| format!("SKU-{i}")).collect(),
        ..InventoryQuery::marketplace(DE)
    };
    let err = client(&server)
        .get_inventory_summaries_page(&query, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at most 50 sellerSkus"), "{err}");
}
