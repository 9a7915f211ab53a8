//! What real Amazon refuses and the fake used to accept (issue #15): `includedData=identifiers`
//! outside previews, the preview and `JSON_LISTINGS_FEED` limits, several marketplaces on one
//! listings feed, code-less feed-level issues, finance windows over 180 days, and page tokens
//! used with other arguments.

mod common;

use common::*;
use reqwest::Client;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

const DE: &str = "A1PA6795UKMFR9";
const FR: &str = "A13V1IB3VIYZZH";

/// Amazon's own rates (time scale 1): the buckets refill in real time, so a second call right
/// after the first finds an empty bucket of burst 1.
async fn real_rates() -> Sandbox {
    Sandbox::start(SandboxConfig {
        time_scale: 1.0,
        ..config(50)
    })
    .await
    .unwrap()
}

fn listing_url(sb: &Sandbox, query: &str) -> String {
    let sku = sb
        .world()
        .catalog
        .iter()
        .find(|p| {
            p.channel == sandbox::world::Channel::Mfn
                && p.sku
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .expect("a merchant-fulfilled SKU that needs no encoding")
        .sku
        .clone();
    format!(
        "{}/listings/2021-08-01/items/{}/{sku}?marketplaceIds={DE}{query}",
        sb.sp_api_base_url(),
        sb.seller_id()
    )
}

fn quantity_patch() -> Value {
    json!({"productType": "PRODUCT", "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability", "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 5}]}]})
}

async fn patch(c: &Client, token: &str, url: &str) -> (u16, Value) {
    let r = c
        .patch(url)
        .header("x-amz-access-token", token)
        .json(&quantity_patch())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn identifiers_are_refused_outside_a_validation_preview() {
    let sb = Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config(50)
    })
    .await
    .unwrap();
    let c = client();
    let token = access_token(&sb, &c).await;
    // listingsItems_2021-08-01.json: `identifiers` "Can only be requested when `mode` is
    // `VALIDATION_PREVIEW`".
    let (status, body) = patch(
        &c,
        &token,
        &listing_url(&sb, "&includedData=issues,identifiers"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["code"], "InvalidInput");
    let (status, body) = patch(&c, &token, &listing_url(&sb, "&includedData=issues")).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("ACCEPTED")),
        "{body}"
    );
    let (status, body) = patch(
        &c,
        &token,
        &listing_url(
            &sb,
            "&includedData=issues,identifiers&mode=VALIDATION_PREVIEW",
        ),
    )
    .await;
    assert_eq!((status, &body["status"]), (200, &json!("VALID")), "{body}");
    sb.shutdown().await;
}

#[tokio::test]
async fn previews_have_their_own_limit_of_one_per_second() {
    let sb = real_rates().await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let preview = listing_url(&sb, "&mode=VALIDATION_PREVIEW");
    assert_eq!(patch(&c, &token, &preview).await.0, 200);
    let (status, body) = patch(&c, &token, &preview).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["errors"][0]["code"], "QuotaExceeded");
    // Applied patches keep their 5 rps bucket (4 tokens left of the burst of 5).
    assert_eq!(patch(&c, &token, &listing_url(&sb, "")).await.0, 200);
    sb.shutdown().await;
}

/// Creates a feed document and uploads `content`; returns its id.
async fn uploaded_document(sb: &Sandbox, c: &Client, token: &str, content: &str) -> String {
    let ct = "application/json; charset=UTF-8";
    let doc: Value = c
        .post(format!(
            "{}/feeds/2021-06-30/documents",
            sb.sp_api_base_url()
        ))
        .header("x-amz-access-token", token)
        .json(&json!({"contentType": ct}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = c
        .put(doc["url"].as_str().unwrap())
        .header("Content-Type", ct)
        .body(content.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    doc["feedDocumentId"].as_str().unwrap().to_string()
}

async fn create_feed(
    c: &Client,
    sb: &Sandbox,
    token: &str,
    doc: &str,
    markets: &[&str],
) -> (u16, Value) {
    let r = c
        .post(format!("{}/feeds/2021-06-30/feeds", sb.sp_api_base_url()))
        .header("x-amz-access-token", token)
        .json(&json!({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": markets, "inputFeedDocumentId": doc}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn listings_feeds_take_one_marketplace_and_five_per_five_minutes() {
    let sb = real_rates().await;
    let c = client();
    let token = access_token(&sb, &c).await;
    let content = json!({"header": {"sellerId": sb.seller_id(), "version": "2.0"}, "messages": []});
    let doc = uploaded_document(&sb, &c, &token, &content.to_string()).await;
    let (status, body) = create_feed(&c, &sb, &token, &doc, &[DE, FR]).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0]["message"],
        "Too many 'marketplaceIds' values provided. Expected a maximum of 1."
    );
    for _ in 0..5 {
        assert_eq!(create_feed(&c, &sb, &token, &doc, &[DE]).await.0, 202);
    }
    // createFeed's own bucket (burst 15) has tokens left; the feed type's regional limit not.
    let (status, body) = create_feed(&c, &sb, &token, &doc, &[DE]).await;
    assert_eq!(status, 429, "{body}");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_malformed_feed_reports_one_issue_without_code_or_message_id() {
    let sb = Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config(50)
    })
    .await
    .unwrap();
    let c = client();
    let token = access_token(&sb, &c).await;
    let doc = uploaded_document(&sb, &c, &token, "this is not JSON").await;
    let (status, body) = create_feed(&c, &sb, &token, &doc, &[DE]).await;
    assert_eq!(status, 202, "{body}");
    sb.advance_clock(chrono::Duration::seconds(10));
    let feed: Value = sp_get(
        &sb,
        &c,
        &token,
        &format!(
            "/feeds/2021-06-30/feeds/{}",
            body["feedId"].as_str().unwrap()
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(feed["processingStatus"], "DONE");
    let document: Value = sp_get(
        &sb,
        &c,
        &token,
        &format!(
            "/feeds/2021-06-30/documents/{}",
            feed["resultFeedDocumentId"].as_str().unwrap()
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    let gz = c
        .get(document["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    let issues = report["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{report}");
    assert_eq!(issues[0]["severity"], "ERROR");
    assert!(issues[0].get("code").is_none(), "{report}");
    assert!(issues[0].get("messageId").is_none(), "{report}");
    sb.shutdown().await;
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn finance_windows_over_180_days_come_back_empty() {
    let sb = Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config(50)
    })
    .await
    .unwrap();
    let c = client();
    let token = access_token(&sb, &c).await;
    let now = sb.now();
    let before = iso(now - chrono::Duration::minutes(5));
    let groups = |after: chrono::Duration| {
        format!(
            "/finances/v0/financialEventGroups?FinancialEventGroupStartedAfter={}&FinancialEventGroupStartedBefore={before}",
            iso(now - after)
        )
    };
    let count = |body: Value, list: &str| body["payload"][list].as_array().unwrap().len();
    let within: Value = sp_get(&sb, &c, &token, &groups(chrono::Duration::days(179)))
        .await
        .json()
        .await
        .unwrap();
    assert!(count(within, "FinancialEventGroupList") > 0);
    // financesV0.json: "more than 180 days apart, no financial event groups are returned".
    let over: Value = sp_get(&sb, &c, &token, &groups(chrono::Duration::days(181)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(count(over, "FinancialEventGroupList"), 0);
    let txs = |after: chrono::Duration| {
        format!(
            "/finances/2024-06-19/transactions?postedAfter={}",
            iso(now - after)
        )
    };
    let within: Value = sp_get(&sb, &c, &token, &txs(chrono::Duration::days(179)))
        .await
        .json()
        .await
        .unwrap();
    assert!(count(within, "transactions") > 0);
    // finances_2024-06-19.json: "more than 180 days apart, the response is empty" (the end
    // defaults to two minutes before the request).
    let over: Value = sp_get(&sb, &c, &token, &txs(chrono::Duration::days(181)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(count(over, "transactions"), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_finances_page_token_only_goes_with_its_original_arguments() {
    let sb = Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config(50)
    })
    .await
    .unwrap();
    let c = client();
    let token = access_token(&sb, &c).await;
    let first: Value = sp_get(
        &sb,
        &c,
        &token,
        "/finances/v0/financialEventGroups?MaxResultsPerPage=2",
    )
    .await
    .json()
    .await
    .unwrap();
    let next = first["payload"]["NextToken"]
        .as_str()
        .expect("more than 2 groups")
        .to_string();
    let same = sp_get(
        &sb,
        &c,
        &token,
        &format!("/finances/v0/financialEventGroups?MaxResultsPerPage=2&NextToken={next}"),
    )
    .await;
    assert_eq!(same.status(), 200);
    // financesV0.json: "call the operation with this token and include the same arguments as
    // the call that produced the token".
    let other = sp_get(
        &sb,
        &c,
        &token,
        &format!("/finances/v0/financialEventGroups?MaxResultsPerPage=3&NextToken={next}"),
    )
    .await;
    assert_eq!(other.status(), 400);
    let alone = sp_get(
        &sb,
        &c,
        &token,
        &format!("/finances/v0/financialEventGroups?NextToken={next}"),
    )
    .await;
    assert_eq!(alone.status(), 400);
    sb.shutdown().await;
}
