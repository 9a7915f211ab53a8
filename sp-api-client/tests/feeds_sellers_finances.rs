//! Feeds (JSON_LISTINGS_FEED end to end), Sellers (connection check) and Finances (exact
//! numbers, pagination).

mod common;

use std::time::Duration;

use common::*;
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sp_api_client::feeds::{Feed, FeedDocument, FeedOutcome, ListingsFeed, ListingsFeedMessage};
use sp_api_client::finances::{
    EventGroupQuery, FinancialEventGroup, FinancialEventGroupsPage, TransactionQuery,
    TransactionsPage,
};
use sp_api_client::listings::{IssueSeverity, ListingsItemPatchRequest};
use sp_api_client::{Error, Sku};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

#[tokio::test(start_paused = true)]
async fn json_listings_feed_is_uploaded_created_waited_for_and_its_report_parsed() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let content_type = "application/json; charset=UTF-8";
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/documents"))
        .and(body_json(json!({"contentType": content_type})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "feedDocumentId": "in-doc", "url": format!("{}/s3/upload", server.uri())
        })))
        .expect(1)
        .mount(&server)
        .await;
    let expected_feed = json!({
        "header": {"sellerId": "A2SELLER", "version": "2.0", "issueLocale": "en_US"},
        "messages": [{"messageId": 1, "sku": "SKU-1", "operationType": "PATCH", "productType": "PRODUCT",
            "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}]}]}]
    });
    Mock::given(method("PUT"))
        .and(path("/s3/upload"))
        .and(header("content-type", content_type))
        .and(body_json(&expected_feed))
        .and(|req: &wiremock::Request| !req.headers.contains_key("x-amz-access-token"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/feeds"))
        .and(body_json(json!({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": ["A1PA6795UKMFR9"], "inputFeedDocumentId": "in-doc"})))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"feedId": "F1"})))
        .expect(1)
        .mount(&server)
        .await;
    let feed = |status: &str| {
        json!({"feedId": "F1", "feedType": "JSON_LISTINGS_FEED", "createdTime": "2026-05-01T00:00:00Z",
        "processingStatus": status, "resultFeedDocumentId": "out-doc"})
    };
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/feeds/F1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(feed("IN_PROGRESS")))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/feeds/F1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(feed("DONE")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/documents/out-doc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "feedDocumentId": "out-doc", "url": format!("{}/s3/report", server.uri())
        })))
        .expect(1)
        .mount(&server)
        .await;
    let report = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/sp-api/schemas/listings-feed-processing-report-schema-v2.example.json"
    ));
    Mock::given(method("GET"))
        .and(path("/s3/report"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(report),
        )
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let feed_doc = ListingsFeed {
        seller_id: "A2SELLER".into(),
        messages: vec![ListingsFeedMessage::patch(
            1,
            Sku::from("SKU-1"),
            ListingsItemPatchRequest::quantity("PRODUCT", 4),
        )],
    };
    let handle = client
        .submit_listings_feed(&feed_doc, "A1PA6795UKMFR9")
        .await
        .unwrap();
    let outcome = handle
        .wait(Duration::from_secs(30), Duration::from_secs(3600))
        .await
        .unwrap();
    let FeedOutcome::Done(feed) = outcome else {
        panic!("{outcome:?}")
    };
    let report = client.listings_feed_result(&feed).await.unwrap();
    assert!(!report.issues.is_empty());
    assert_eq!(report.issues[0].severity, IssueSeverity::Error);
    assert_eq!(report.issues[0].sku.as_ref().unwrap().as_str(), "My-SKU-B");
    assert!(report.summary.is_some());
}

#[test]
fn feeds_sandbox_examples_deserialise() {
    const MODEL: &str = "feeds_2021-06-30.json";
    for (status, _, r) in sandbox_cases(MODEL, "getFeed") {
        if status == "200" {
            serde_json::from_value::<Feed>(r).unwrap();
        }
    }
    for (status, _, r) in sandbox_cases(MODEL, "createFeed") {
        if status == "202" {
            assert!(r["feedId"].is_string());
        }
    }
    for op in ["getFeedDocument", "createFeedDocument"] {
        for (status, _, r) in sandbox_cases(MODEL, op) {
            if status.starts_with('2') {
                serde_json::from_value::<FeedDocument>(r).unwrap();
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn marketplace_participations_serve_as_connection_check() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let model: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/sp-api/models/sellers.json"
    )))
    .unwrap();
    let example = model["paths"]["/sellers/v1/marketplaceParticipations"]["get"]["responses"]["200"]
        ["x-amzn-api-sandbox"]["static"][0]["response"]
        .clone();
    Mock::given(method("GET"))
        .and(path("/sellers/v1/marketplaceParticipations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(example))
        .expect(1)
        .mount(&server)
        .await;
    let list = client(&server)
        .get_marketplace_participations()
        .await
        .unwrap();
    assert_eq!(list[0].marketplace.id, "ATVPDKIKX0DER");
    assert!(list[0].participation.is_participating);
}

#[tokio::test(start_paused = true)]
async fn event_groups_are_paged_and_amounts_stay_exact() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    // Literal JSON numbers that a float would not hold exactly.
    let page1 = r#"{"payload": {"NextToken": "n2", "FinancialEventGroupList": [
        {"FinancialEventGroupId": "G1", "ProcessingStatus": "Closed",
         "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": 1234567890123.0100000001},
         "FinancialEventGroupStart": "2026-04-01T00:00:00Z"}]}}"#;
    let page2 = r#"{"payload": {"FinancialEventGroupList": [
        {"FinancialEventGroupId": "G2", "ProcessingStatus": "Open",
         "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": 0.1}}]}}"#;
    Mock::given(method("GET"))
        .and(path("/finances/v0/financialEventGroups"))
        .and(query_param(
            "FinancialEventGroupStartedAfter",
            "2026-04-01T00:00:00Z",
        ))
        .and(query_param("MaxResultsPerPage", "100"))
        .and(query_param_is_missing("NextToken"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page1, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/finances/v0/financialEventGroups"))
        .and(query_param(
            "FinancialEventGroupStartedAfter",
            "2026-04-01T00:00:00Z",
        ))
        .and(query_param("NextToken", "n2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page2, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    // A window within Amazon's 180 days: one window, paged.
    let query = EventGroupQuery {
        started_before: Some(t("2026-06-01T00:00:00Z")),
        ..EventGroupQuery::started_after(t("2026-04-01T00:00:00Z"))
    };
    let groups: Vec<FinancialEventGroup> = client(&server)
        .list_financial_event_groups(query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        groups[0].original_total.as_ref().unwrap().amount,
        "1234567890123.0100000001".parse::<Decimal>().unwrap()
    );
    assert_eq!(
        groups[1].original_total.as_ref().unwrap().amount,
        Decimal::new(1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn transactions_are_paged_by_next_token() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let page1 = r#"{"payload": {"nextToken": "t2", "transactions": [{"transactionType": "Shipment", "postedDate": "2026-04-02T00:00:00Z",
        "relatedIdentifiers": [{"relatedIdentifierName": "FINANCIAL_EVENT_GROUP_ID", "relatedIdentifierValue": "G9"}],
        "totalAmount": {"currencyCode": "EUR", "currencyAmount": 19.99},
        "breakdowns": [{"breakdownType": "Tax", "breakdownAmount": {"currencyCode": "EUR", "currencyAmount": 3.19}}]}]}}"#;
    let page2 = r#"{"payload": {"transactions": [{"transactionType": "Refund", "totalAmount": {"currencyCode": "EUR", "currencyAmount": -5}}]}}"#;
    Mock::given(method("GET"))
        .and(path("/finances/2024-06-19/transactions"))
        .and(query_param("postedAfter", "2026-04-01T00:00:00Z"))
        .and(query_param_is_missing("nextToken"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page1, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/finances/2024-06-19/transactions"))
        .and(query_param("nextToken", "t2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page2, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let query = TransactionQuery {
        posted_before: Some(t("2026-06-01T00:00:00Z")),
        ..TransactionQuery::posted_after(t("2026-04-01T00:00:00Z"))
    };
    let txs: Vec<_> = client(&server)
        .list_transactions(query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(txs.len(), 2);
    assert_eq!(txs[0].related("FINANCIAL_EVENT_GROUP_ID"), Some("G9"));
    assert_eq!(
        txs[0].total_amount.as_ref().unwrap().amount,
        Decimal::new(1999, 2)
    );
    assert_eq!(
        txs[0].breakdowns[0]
            .breakdown_amount
            .as_ref()
            .unwrap()
            .amount,
        Decimal::new(319, 2)
    );
    assert_eq!(
        txs[1].total_amount.as_ref().unwrap().amount,
        Decimal::from(-5)
    );
}

#[tokio::test(start_paused = true)]
async fn transactions_need_a_start_or_a_related_identifier() {
    let server = server().await;
    let err = client(&server)
        .list_transactions_page(&TransactionQuery::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
}

#[test]
fn finances_sandbox_examples_deserialise() {
    let r = sandbox_response("financesV0.json", "listFinancialEventGroups", "200", 0);
    let page: FinancialEventGroupsPage = serde_json::from_str(&r["payload"].to_string()).unwrap();
    assert_eq!(
        page.financial_event_group_list[0]
            .original_total
            .as_ref()
            .unwrap()
            .amount,
        Decimal::new(1034, 2)
    );
    let r = sandbox_response("finances_2024-06-19.json", "listTransactions", "200", 0);
    let page: TransactionsPage = serde_json::from_str(&r["payload"].to_string()).unwrap();
    assert_eq!(
        page.transactions[0].total_amount.as_ref().unwrap().amount,
        Decimal::from(10)
    );
}
