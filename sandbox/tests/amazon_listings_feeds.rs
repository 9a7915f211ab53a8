//! Listings get/patch on the fake catalog (URL-encoded SKUs, VALIDATION_PREVIEW, top-level paths),
//! JSON_LISTINGS_FEED upload/process/result, Sellers and Finances.

mod common;

use std::io::Read;

use common::*;
use rust_decimal::Decimal;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn sb() -> Sandbox {
    Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config(100)
    })
    .await
    .unwrap()
}

fn price_patch(marketplace: &str, currency: &str, price: f64) -> Value {
    json!({"productType": "PRODUCT", "patches": [{"op": "replace", "path": "/attributes/purchasable_offer", "value": [{"marketplace_id": marketplace, "currency": currency, "audience": "ALL", "our_price": [{"schedule": [{"value_with_tax": price}]}]}]}]})
}

#[tokio::test]
async fn patch_price_and_quantity_with_url_encoded_skus() {
    let sb = sb().await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let seller = sb.seller_id();
    let world = sb.world();
    let quoted = world
        .catalog
        .iter()
        .find(|p| p.sku.contains('\'') && p.channel == sandbox::world::Channel::Mfn)
        .or(world.catalog.iter().find(|p| p.sku.contains('\'')))
        .unwrap();
    let de = "A1PA6795UKMFR9";
    let url = format!(
        "{}/listings/2021-08-01/items/{seller}/{}?marketplaceIds={de}",
        sb.sp_api_base_url(),
        enc(&quoted.sku)
    );
    let r = c
        .get(format!(
            "{url}&includedData=summaries,offers,fulfillmentAvailability"
        ))
        .header("x-amz-access-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["sku"], quoted.sku.as_str());
    assert_eq!(
        got["offers"][0]["price"]["amount"],
        format!("{:.2}", quoted.price_eur)
    );
    // preview validates without applying
    let r = c
        .patch(format!("{url}&mode=VALIDATION_PREVIEW"))
        .header("x-amz-access-token", &token)
        .json(&price_patch(de, "EUR", 12.34))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "VALID");
    assert_eq!(sb.listing(&quoted.sku, de).unwrap().price, quoted.price_eur);
    let r = c
        .patch(url.clone())
        .header("x-amz-access-token", &token)
        .json(&price_patch(de, "EUR", 12.34))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ACCEPTED", "{body}");
    // Accepted is applied later (sandbox::LISTING_APPLY_DELAY, divided by the time scale).
    sb.advance_clock(sandbox::LISTING_APPLY_DELAY);
    assert_eq!(
        sb.listing(&quoted.sku, de).unwrap().price,
        Decimal::new(1234, 2)
    );
    // nested paths are rejected like Amazon does
    let mut nested = price_patch(de, "EUR", 1.0);
    nested["patches"][0]["path"] = json!("/attributes/purchasable_offer/0");
    let body: Value = c
        .patch(url.clone())
        .header("x-amz-access-token", &token)
        .json(&nested)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "INVALID");
    assert!(
        body["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid path provided in patch at index of 0")
    );
    // quantity on an MFN SKU
    let mfn = world
        .catalog
        .iter()
        .find(|p| p.channel == sandbox::world::Channel::Mfn)
        .unwrap();
    let qurl = format!(
        "{}/listings/2021-08-01/items/{seller}/{}?marketplaceIds={de}",
        sb.sp_api_base_url(),
        enc(&mfn.sku)
    );
    let q = json!({"productType": "PRODUCT", "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability", "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}]});
    let body: Value = c
        .patch(qurl)
        .header("x-amz-access-token", &token)
        .json(&q)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ACCEPTED");
    sb.advance_clock(sandbox::LISTING_APPLY_DELAY);
    assert_eq!(sb.listing(&mfn.sku, de).unwrap().quantity, 7);
    let r = c
        .get(format!(
            "{}/listings/2021-08-01/items/{seller}/NOPE?marketplaceIds={de}",
            sb.sp_api_base_url()
        ))
        .header("x-amz-access-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn json_listings_feed_round_trip() {
    let sb = sb().await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let base = sb.sp_api_base_url();
    let world = sb.world();
    let mfn = world
        .catalog
        .iter()
        .find(|p| p.channel == sandbox::world::Channel::Mfn)
        .unwrap();
    let ct = "application/json; charset=UTF-8";
    let doc: Value = c
        .post(format!("{base}/feeds/2021-06-30/documents"))
        .header("x-amz-access-token", &token)
        .json(&json!({"contentType": ct}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let put_url = doc["url"].as_str().unwrap();
    let feed = json!({"header": {"sellerId": sb.seller_id(), "version": "2.0", "issueLocale": "en_US"}, "messages": [
        {"messageId": 1, "sku": mfn.sku, "operationType": "PATCH", "productType": "PRODUCT", "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability", "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]}]},
        {"messageId": 2, "sku": "NO-SUCH-SKU", "operationType": "PATCH", "productType": "PRODUCT", "patches": []},
    ]});
    let r = c
        .put(put_url)
        .header("Content-Type", "text/plain")
        .body(feed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "the upload must use the declared Content-Type"
    );
    let r = c
        .put(put_url)
        .header("Content-Type", ct)
        .body(feed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{base}/feeds/2021-06-30/feeds"))
        .header("x-amz-access-token", &token)
        .json(&json!({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": ["A1PA6795UKMFR9"], "inputFeedDocumentId": doc["feedDocumentId"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let feed_id = r.json::<Value>().await.unwrap()["feedId"]
        .as_str()
        .unwrap()
        .to_string();
    let status = |c: reqwest::Client, token: String, base: String, id: String| async move {
        c.get(format!("{base}/feeds/2021-06-30/feeds/{id}"))
            .header("x-amz-access-token", token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let f = status(c.clone(), token.clone(), base.clone(), feed_id.clone()).await;
    assert!(
        f["processingStatus"] == "IN_QUEUE" || f["processingStatus"] == "IN_PROGRESS",
        "{f}"
    );
    sb.advance_clock(chrono::Duration::seconds(10));
    let f = status(c.clone(), token.clone(), base.clone(), feed_id.clone()).await;
    assert_eq!(f["processingStatus"], "DONE");
    let result: Value = c
        .get(format!(
            "{base}/feeds/2021-06-30/documents/{}",
            f["resultFeedDocumentId"].as_str().unwrap()
        ))
        .header("x-amz-access-token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bytes = c
        .get(result["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["summary"]["messagesAccepted"], 1);
    assert_eq!(report["summary"]["messagesInvalid"], 1);
    assert_eq!(report["issues"][0]["messageId"], 2);
    assert_eq!(sb.listing(&mfn.sku, "A1PA6795UKMFR9").unwrap().quantity, 3);
    sb.shutdown().await;
}

#[tokio::test]
async fn sellers_and_financial_event_groups() {
    let sb = sb().await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let body: Value = sp_get(&sb, &c, &token, "/sellers/v1/marketplaceParticipations")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = body["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["marketplace"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, sb.marketplace_ids());
    let body: Value = sp_get(
        &sb,
        &c,
        &token,
        "/finances/v0/financialEventGroups?MaxResultsPerPage=100",
    )
    .await
    .json()
    .await
    .unwrap();
    let groups = body["payload"]["FinancialEventGroupList"]
        .as_array()
        .unwrap();
    assert_eq!(groups.len(), 12);
    assert_eq!(
        groups
            .iter()
            .filter(|g| g["ProcessingStatus"] == "Open")
            .count(),
        3
    );
    let world = sb.world();
    for g in groups.iter().filter(|g| g["ProcessingStatus"] == "Closed") {
        let s = world
            .settlements
            .iter()
            .find(|s| s.group_id == g["FinancialEventGroupId"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            g["OriginalTotal"]["CurrencyAmount"].to_string(),
            s.total.normalize().to_string(),
            "a JSON number, exact"
        );
        assert_ne!(s.group_id, s.id, "group id is not the settlement id");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn list_transactions_add_up_to_each_settlement() {
    let sb = sb().await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let world = sb.world();
    let closed = world
        .settlements
        .iter()
        .find(|s| s.end <= sb.now() && s.total != Decimal::ZERO)
        .unwrap();
    let mut sum = Decimal::ZERO;
    let mut next: Option<String> = None;
    loop {
        let mut url = format!(
            "/finances/2024-06-19/transactions?relatedIdentifierName=FINANCIAL_EVENT_GROUP_ID&relatedIdentifierValue={}",
            closed.group_id
        );
        if let Some(n) = &next {
            url.push_str(&format!("&nextToken={n}"));
        }
        let body: Value = sp_get(&sb, &c, &token, &url).await.json().await.unwrap();
        for t in body["payload"]["transactions"].as_array().unwrap() {
            sum +=
                Decimal::from_str_exact(&t["totalAmount"]["currencyAmount"].to_string()).unwrap();
            assert!(
                t["relatedIdentifiers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["relatedIdentifierName"] == "SETTLEMENT_ID"
                        && r["relatedIdentifierValue"] == closed.id.as_str())
            );
        }
        match body["payload"]["nextToken"].as_str() {
            Some(n) => next = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(sum, closed.total);
    let r = sp_get(&sb, &c, &token, "/finances/2024-06-19/transactions").await;
    assert_eq!(
        r.status(),
        400,
        "postedAfter is required without a related identifier"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn accepted_submissions_can_take_a_while_to_show() {
    let sb = Sandbox::start(SandboxConfig {
        // Amazon's own time: the delay is divided by the time scale.
        time_scale: 1.0,
        listing_apply_delay: chrono::Duration::minutes(3),
        ..config(50)
    })
    .await
    .unwrap();
    let c = client();
    let token = access_token(&sb, &c).await;
    let de = "A1PA6795UKMFR9";
    let sku = sb.world().catalog[0].sku.clone();
    let url = format!(
        "{}/listings/2021-08-01/items/{}/{}?marketplaceIds={de}",
        sb.sp_api_base_url(),
        sb.seller_id(),
        enc(&sku)
    );
    let before = sb.listing(&sku, de).unwrap().price;
    let body: Value = c
        .patch(&url)
        .header("x-amz-access-token", &token)
        .json(&price_patch(de, "EUR", 9.99))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ACCEPTED");
    assert_eq!(
        sb.listing(&sku, de).unwrap().price,
        before,
        "not applied yet"
    );
    sb.advance_clock(chrono::Duration::minutes(4));
    assert_eq!(sb.listing(&sku, de).unwrap().price, Decimal::new(999, 2));
    sb.shutdown().await;
}
