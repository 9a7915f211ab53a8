//! createReport: a report type the sandbox can generate (the all-orders flat file) finishes DONE
//! with a document holding the world's order items of the window and marketplace; a window
//! without data ends CANCELLED, as Amazon documents ("automatically cancelled if there is no
//! data to return"); a type the sandbox cannot generate ends CANCELLED (a stub, marked INVENTED).

mod common;

use common::*;
use serde_json::{Value, json};

const ALL_ORDERS: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";

async fn create(sb: &sandbox::Sandbox, c: &reqwest::Client, token: &str, body: Value) -> String {
    let r = c
        .post(format!(
            "{}/reports/2021-06-30/reports",
            sb.sp_api_base_url()
        ))
        .header("x-amz-access-token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    v["reportId"].as_str().unwrap().to_string()
}

async fn report(sb: &sandbox::Sandbox, c: &reqwest::Client, token: &str, id: &str) -> Value {
    sp_get(sb, c, token, &format!("/reports/2021-06-30/reports/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn created_reports_finish_with_data_or_cancelled_without() {
    let sb = start(200).await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let world = sb.world();
    let de = "A1PA6795UKMFR9";
    let now = sb.now();
    let start_at = now - chrono::Duration::days(10);
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let with_data = create(
        &sb,
        &c,
        &token,
        json!({"reportType": ALL_ORDERS, "marketplaceIds": [de],
               "dataStartTime": iso(start_at), "dataEndTime": iso(now)}),
    )
    .await;
    let empty = create(
        &sb,
        &c,
        &token,
        json!({"reportType": ALL_ORDERS, "marketplaceIds": [de],
               "dataStartTime": "2001-01-01T00:00:00Z", "dataEndTime": "2001-01-02T00:00:00Z"}),
    )
    .await;
    let other = create(
        &sb,
        &c,
        &token,
        json!({"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [de]}),
    )
    .await;
    assert_eq!(
        report(&sb, &c, &token, &with_data).await["processingStatus"],
        "IN_QUEUE"
    );

    sb.advance_clock(chrono::Duration::minutes(1));
    let done = report(&sb, &c, &token, &with_data).await;
    assert_eq!(done["processingStatus"], "DONE", "{done}");
    assert_eq!(
        report(&sb, &c, &token, &empty).await["processingStatus"],
        "CANCELLED"
    );
    let stub = report(&sb, &c, &token, &other).await;
    assert_eq!(stub["processingStatus"], "CANCELLED");
    assert!(stub.get("reportDocumentId").is_none());

    let doc_id = done["reportDocumentId"].as_str().expect("a document");
    let doc: Value = sp_get(
        &sb,
        &c,
        &token,
        &format!("/reports/2021-06-30/documents/{doc_id}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(doc["compressionAlgorithm"], "GZIP");
    let bytes = c
        .get(doc["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert!(header.contains(&"amazon-order-id") && header.contains(&"item-price"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let expected: usize = world
        .orders
        .iter()
        .filter(|o| world.marketplaces[o.marketplace].id == de)
        .filter(|o| o.last_updated >= start_at && o.last_updated <= now)
        .map(|o| o.items.len())
        .sum();
    assert!(expected > 0);
    assert_eq!(rows.len(), expected, "one row per order item in the window");
    sb.shutdown().await;
}
