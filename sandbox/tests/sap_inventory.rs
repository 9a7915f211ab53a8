//! Inventory transactions in the fake Service Layer (issue #23): goods receipts
//! (`InventoryGenEntries`), goods issues (`InventoryGenExits`) and inventory transfers
//! (`StockTransfers`) move `InStock` per warehouse as SAP does; an issue or transfer that would
//! take a warehouse below zero is refused when the company blocks negative inventory.

mod common;

use common::*;
use rust_decimal::Decimal;
use sandbox::Sandbox;
use sandbox::sap::store::Key;
use sandbox::world::Channel;
use serde_json::{Value, json};

/// `InStock` of `item` in warehouse `wh`.
fn stock(sb: &Sandbox, item: &str, wh: &str) -> Decimal {
    let it = sb
        .sap_entity("Items", &Key::Str(item.to_owned()))
        .expect("item");
    it["ItemWarehouseInfoCollection"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["WarehouseCode"] == wh)
        .map(|r| r["InStock"].to_string().trim_matches('"').parse().unwrap())
        .unwrap_or_default()
}

fn message(b: &Value) -> &str {
    let m = &b["error"]["message"];
    m.as_str()
        .or_else(|| m["value"].as_str())
        .unwrap_or_default()
}

/// An Amazon-fulfilled item (its units are in `FBA`, none in `01`).
fn fba_item(sb: &Sandbox) -> String {
    sb.world()
        .catalog
        .iter()
        .find(|p| p.channel == Channel::Afn && p.stock > 2)
        .expect("an FBA product")
        .item_code
        .clone()
}

fn rows(item: &str, qty: i64, wh: &str) -> Value {
    json!([{"ItemCode": item, "Quantity": qty, "WarehouseCode": wh}])
}

#[tokio::test]
async fn receipts_issues_and_transfers_move_stock_per_warehouse() {
    let sb = start(40).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let item = fba_item(&sb);
    let fba = stock(&sb, &item, "FBA");
    assert_eq!(stock(&sb, &item, "01"), Decimal::ZERO);

    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "InventoryGenEntries",
        &json!({"Comments": "found k1", "DocumentLines": rows(&item, 7, "01")}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["DocObjectCode"], "oInventoryGenEntry");
    assert_eq!(stock(&sb, &item, "01"), Decimal::from(7));

    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "StockTransfers",
        &json!({
        "FromWarehouse": "01", "ToWarehouse": "FBA", "Comments": "inbound k2",
        "StockTransferLines": [{"ItemCode": item, "Quantity": 5}]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["StockTransferLines"][0]["FromWarehouseCode"], "01");
    assert_eq!(b["StockTransferLines"][0]["WarehouseCode"], "FBA");
    assert_eq!(stock(&sb, &item, "01"), Decimal::from(2));
    assert_eq!(stock(&sb, &item, "FBA"), fba + Decimal::from(5));

    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "InventoryGenExits",
        &json!({"Comments": "lost k3", "DocumentLines": rows(&item, 3, "FBA")}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(stock(&sb, &item, "FBA"), fba + Decimal::from(2));
    let entry = b["DocEntry"].as_i64().unwrap();

    // Read back, and found by the text in their comments (how the connector finds its own).
    let (s, b) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        &format!("InventoryGenExits({entry})"),
    )
    .await;
    assert_eq!((s, b["Comments"].as_str()), (200, Some("lost k3")), "{b}");
    let (s, b) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        "StockTransfers?$filter=contains(Comments,'k2')&$select=DocEntry,Comments",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["value"].as_array().unwrap().len(), 1, "{b}");
    sb.shutdown().await;
}

#[tokio::test]
async fn negative_stock_is_refused_when_the_company_blocks_it() {
    let sb = start(40).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let item = fba_item(&sb);
    let fba = stock(&sb, &item, "FBA");
    let too_many = fba.to_string().parse::<i64>().unwrap() + 1;

    // Not blocked: SAP lets the warehouse go below zero.
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "InventoryGenExits",
        &json!({"DocumentLines": rows(&item, too_many, "FBA")}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(stock(&sb, &item, "FBA"), Decimal::NEGATIVE_ONE);
    let (s, _) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "InventoryGenEntries",
        &json!({"DocumentLines": rows(&item, too_many, "FBA")}),
    )
    .await;
    assert_eq!(s, 201);

    sb.set_sap_admin_info(json!({"BlockStockNegativeQuantity": "tYES"}));
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "InventoryGenExits",
        &json!({"DocumentLines": rows(&item, too_many, "FBA")}),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        message(&b),
        "Quantity falls into negative inventory [IGE1.ItemCode][line:1]"
    );
    assert_eq!(stock(&sb, &item, "FBA"), fba, "nothing moved");
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "StockTransfers",
        &json!({
        "FromWarehouse": "01", "ToWarehouse": "FBA",
        "StockTransferLines": [{"ItemCode": item, "Quantity": 1}]}),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        message(&b),
        "Quantity falls into negative inventory [WTR1.ItemCode][line:1]"
    );
    // Exactly what is there may go.
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "InventoryGenExits",
        &json!({"DocumentLines": rows(&item, too_many - 1, "FBA")}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(stock(&sb, &item, "FBA"), Decimal::ZERO);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_transfer_needs_two_different_warehouses_and_rows() {
    let sb = start(40).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let item = fba_item(&sb);
    let line = json!([{"ItemCode": item, "Quantity": 1}]);
    for (body, want) in [
        (
            json!({"FromWarehouse": "FBA", "StockTransferLines": line}),
            "To Warehouse",
        ),
        (
            json!({"ToWarehouse": "01", "StockTransferLines": line}),
            "From Warehouse",
        ),
        (
            json!({"FromWarehouse": "FBA", "ToWarehouse": "FBA", "StockTransferLines": line}),
            "must differ",
        ),
        (
            json!({"FromWarehouse": "FBA", "ToWarehouse": "01"}),
            "at least one row",
        ),
    ] {
        let (s, b) = sap_post(&sb, &c, &cookie, "v2", "StockTransfers", &body).await;
        assert_eq!(s, 400, "{body}: {b}");
        assert!(message(&b).contains(want), "{body}: {b}");
    }
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "InventoryGenEntries",
        &json!({"DocumentLines": rows(&item, 1, "NOPE")}),
    )
    .await;
    assert_eq!(s, 400, "unknown warehouse: {b}");
    let (s, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "InventoryGenExits",
        &json!({"DocumentLines": rows(&item, 0, "FBA")}),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert!(message(&b).contains("Quantity must be positive"), "{b}");
    sb.shutdown().await;
}

/// One `$batch` changeset (v2 framing, a Content-ID per part) of POSTs.
fn changeset(posts: &[(&str, Value)]) -> String {
    let mut s =
        String::from("--batch_b1\r\nContent-Type: multipart/mixed;boundary=changeset_c1\r\n\r\n");
    for (i, (set, body)) in posts.iter().enumerate() {
        s.push_str("--changeset_c1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
        s.push_str(&format!("Content-ID: {}\r\n\r\n", i + 1));
        s.push_str(&format!(
            "POST /b1s/v2/{set} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{body}\r\n"
        ));
    }
    s.push_str("--changeset_c1--\r\n--batch_b1--\r\n");
    s
}

#[tokio::test]
async fn a_refused_issue_rolls_back_the_transfer_of_its_changeset() {
    let sb = start(40).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let item = fba_item(&sb);
    let fba = stock(&sb, &item, "FBA");
    let (s, _) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "InventoryGenEntries",
        &json!({"DocumentLines": rows(&item, 3, "01")}),
    )
    .await;
    assert_eq!(s, 201);
    sb.set_sap_admin_info(json!({"BlockStockNegativeQuantity": "tYES"}));
    let too_many = fba.to_string().parse::<i64>().unwrap() + 10;
    let body = changeset(&[
        (
            "StockTransfers",
            json!({"FromWarehouse": "01", "ToWarehouse": "FBA",
            "StockTransferLines": [{"ItemCode": item, "Quantity": 3}]}),
        ),
        (
            "InventoryGenExits",
            json!({"DocumentLines": rows(&item, too_many, "FBA")}),
        ),
    ]);
    let r = c
        .post(format!("{}/b1s/v2/$batch", sb.sap_origin()))
        .header("Cookie", &cookie)
        .header("Content-Type", "multipart/mixed;boundary=batch_b1")
        .body(body)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Quantity falls into negative inventory [IGE1.ItemCode][line:1]"),
        "{text}"
    );
    assert_eq!(
        stock(&sb, &item, "01"),
        Decimal::from(3),
        "the transfer rolled back"
    );
    assert_eq!(stock(&sb, &item, "FBA"), fba);
    assert!(sb.sap_entities("StockTransfers").is_empty());
    sb.shutdown().await;
}
