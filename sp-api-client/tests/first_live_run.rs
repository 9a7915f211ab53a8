//! Calls a permissive fake accepted and real Amazon refuses or answers differently (issue #15):
//! `includedData` per patch mode, the preview and `JSON_LISTINGS_FEED` limits, one marketplace per
//! feed, code-less feed issues, 180-day finance windows, empty order windows, and the request
//! path's order of LWA token and rate-limit token.

mod common;

use std::time::Duration;

use common::*;
use futures::TryStreamExt;
use serde_json::json;
use sp_api_client::feeds::{JSON_LISTINGS_FEED, ListingsFeed, ListingsFeedMessage};
use sp_api_client::finances::{EventGroupQuery, FinancialEventGroup, TransactionQuery};
use sp_api_client::listings::{ListingsItemPatchRequest, PatchMode, SubmissionStatus};
use sp_api_client::orders::OrderSearch;
use sp_api_client::types::FeedDocumentId;
use sp_api_client::{Error, Sku};
use tokio::time::Instant;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn accepted() -> serde_json::Value {
    json!({"sku": "SKU-1", "status": "ACCEPTED", "submissionId": "s1", "issues": []})
}

#[tokio::test(start_paused = true)]
async fn an_applied_patch_asks_only_for_issues_and_a_preview_also_for_identifiers() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    // listingsItems_2021-08-01.json, patchListingsItem.includedData: `identifiers` "Can only be
    // requested when `mode` is `VALIDATION_PREVIEW`"; Amazon answers 400 otherwise.
    Mock::given(method("PATCH"))
        .and(path("/listings/2021-08-01/items/A2SELLER/SKU-1"))
        .and(query_param("includedData", "issues"))
        .and(query_param_is_missing("mode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(accepted()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/listings/2021-08-01/items/A2SELLER/SKU-1"))
        .and(query_param("includedData", "issues,identifiers"))
        .and(query_param("mode", "VALIDATION_PREVIEW"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"sku": "SKU-1", "status": "VALID", "submissionId": "s2", "issues": []}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let sku = Sku::from("SKU-1");
    let price = sp_api_client::Money::new(rust_decimal::Decimal::new(1999, 2), "EUR");
    let r = client
        .set_price(&sku, "A1PA6795UKMFR9", "PRODUCT", &price, PatchMode::Apply)
        .await
        .unwrap();
    assert_eq!(r.status, SubmissionStatus::Accepted);
    let r = client
        .set_quantity(&sku, "A1PA6795UKMFR9", "PRODUCT", 3, PatchMode::Apply)
        .await
        .unwrap();
    assert_eq!(r.status, SubmissionStatus::Accepted);
    let r = client
        .set_quantity(
            &sku,
            "A1PA6795UKMFR9",
            "PRODUCT",
            3,
            PatchMode::ValidationPreview,
        )
        .await
        .unwrap();
    assert_eq!(r.status, SubmissionStatus::Valid);
}

#[tokio::test(start_paused = true)]
async fn previews_are_paced_at_one_per_second_and_do_not_slow_applied_patches() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("PATCH"))
        .and(path("/listings/2021-08-01/items/A2SELLER/SKU-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(accepted()))
        .expect(7)
        .mount(&server)
        .await;
    let client = client(&server);
    let sku = Sku::from("SKU-1");
    let start = Instant::now();
    for _ in 0..4 {
        client
            .set_quantity(&sku, "A1PA6795UKMFR9", "PRODUCT", 1, PatchMode::Apply)
            .await
            .unwrap();
    }
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "applies: burst 5"
    );
    // Changelog 2024-01-31: "a throttling rate of one request per second when mode is
    // VALIDATION_PREVIEW". Three previews: one now, then one per second.
    let start = Instant::now();
    for _ in 0..3 {
        client
            .set_quantity(
                &sku,
                "A1PA6795UKMFR9",
                "PRODUCT",
                1,
                PatchMode::ValidationPreview,
            )
            .await
            .unwrap();
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_500), "{elapsed:?}");
}

async fn mount_feed_calls(server: &MockServer, feeds: u64) {
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/documents"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "feedDocumentId": "doc-1", "url": format!("{}/s3/upload", server.uri())
        })))
        .expect(feeds)
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/s3/upload"))
        .respond_with(ResponseTemplate::new(200))
        .expect(feeds)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/feeds"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"feedId": "F1"})))
        .expect(feeds)
        .mount(server)
        .await;
}

fn one_message_feed() -> ListingsFeed {
    ListingsFeed {
        seller_id: "A2SELLER".into(),
        messages: vec![ListingsFeedMessage::patch(
            1,
            Sku::from("SKU-1"),
            ListingsItemPatchRequest::quantity("PRODUCT", 4),
        )],
    }
}

#[tokio::test(start_paused = true)]
async fn a_sixth_listings_feed_within_five_minutes_waits_for_the_regional_limit() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    mount_feed_calls(&server, 6).await;
    let client = client(&server);
    let start = Instant::now();
    for _ in 0..5 {
        client
            .submit_listings_feed(&one_message_feed(), "A1PA6795UKMFR9")
            .await
            .unwrap();
    }
    assert!(start.elapsed() < Duration::from_secs(1));
    // Changelog 2025-05-06: "five feed submissions per five minutes" per region, although
    // createFeed's own bucket (burst 15) would let it through at once.
    client
        .submit_listings_feed(&one_message_feed(), "A1PA6795UKMFR9")
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_secs(59), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(61), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_listings_feed_for_two_marketplaces_is_refused_before_it_is_sent() {
    let server = server().await;
    let err = client(&server)
        .create_feed(
            JSON_LISTINGS_FEED,
            &["A1PA6795UKMFR9", "A13V1IB3VIYZZH"],
            &FeedDocumentId::from("doc-1"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}

#[test]
fn a_feed_level_issue_without_code_is_read() {
    // listings-feed-processing-report-schema-v2.json: an issue requires only severity and
    // message; messageId is absent for feed formatting issues.
    let report: sp_api_client::feeds::ProcessingReport = serde_json::from_value(json!({
        "header": {"sellerId": "A2SELLER", "version": "2.0", "feedId": "F1"},
        "issues": [
            {"severity": "ERROR", "message": "The feed could not be parsed."},
            {"messageId": 1, "sku": "SKU-1", "code": "90220", "severity": "ERROR", "message": "x"}
        ],
        "summary": {"errors": 1, "warnings": 0, "messagesProcessed": 0, "messagesAccepted": 0, "messagesInvalid": 0}
    }))
    .unwrap();
    assert_eq!(report.issues.len(), 2);
    assert_eq!(report.issues[0].code, None);
    assert_eq!(report.issues[0].message_id, None);
    assert_eq!(report.issues[1].code.as_deref(), Some("90220"));
}

async fn mount_group_window(server: &MockServer, after: &str, before: &str, id: &str) {
    Mock::given(method("GET"))
        .and(path("/finances/v0/financialEventGroups"))
        .and(query_param("FinancialEventGroupStartedAfter", after))
        .and(query_param("FinancialEventGroupStartedBefore", before))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"payload": {
            "FinancialEventGroupList": [{"FinancialEventGroupId": id, "ProcessingStatus": "Closed"}]
        }})))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn event_groups_over_180_days_are_asked_for_in_windows_amazon_answers() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    // financesV0.json: "If FinancialEventGroupStartedAfter and FinancialEventGroupStartedBefore
    // are more than 180 days apart, no financial event groups are returned." 400 days: 180+180+40.
    mount_group_window(
        &server,
        "2025-01-01T00:00:00Z",
        "2025-06-30T00:00:00Z",
        "G1",
    )
    .await;
    mount_group_window(
        &server,
        "2025-06-30T00:00:00Z",
        "2025-12-27T00:00:00Z",
        "G2",
    )
    .await;
    mount_group_window(
        &server,
        "2025-12-27T00:00:00Z",
        "2026-02-05T00:00:00Z",
        "G3",
    )
    .await;
    let query = EventGroupQuery {
        started_before: Some(t("2026-02-05T00:00:00Z")),
        ..EventGroupQuery::started_after(t("2025-01-01T00:00:00Z"))
    };
    let groups: Vec<FinancialEventGroup> = client(&server)
        .list_financial_event_groups(query)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = groups
        .iter()
        .map(|g| g.financial_event_group_id.as_str())
        .collect();
    assert_eq!(ids, ["G1", "G2", "G3"]);
}

#[tokio::test(start_paused = true)]
async fn transactions_over_180_days_are_asked_for_in_windows_with_their_own_pages() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let tx = |id: &str| json!({"transactionId": id, "transactionType": "Shipment"});
    // First window: two pages; the token goes with that window's parameters.
    Mock::given(method("GET"))
        .and(path("/finances/2024-06-19/transactions"))
        .and(query_param("postedAfter", "2025-01-01T00:00:00Z"))
        .and(query_param("postedBefore", "2025-06-30T00:00:00Z"))
        .and(query_param_is_missing("nextToken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"payload": {"nextToken": "p2", "transactions": [tx("T1")]}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/finances/2024-06-19/transactions"))
        .and(query_param("postedAfter", "2025-01-01T00:00:00Z"))
        .and(query_param("postedBefore", "2025-06-30T00:00:00Z"))
        .and(query_param("nextToken", "p2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"payload": {"transactions": [tx("T2")]}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/finances/2024-06-19/transactions"))
        .and(query_param("postedAfter", "2025-06-30T00:00:00Z"))
        .and(query_param("postedBefore", "2025-08-01T00:00:00Z"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"payload": {"transactions": [tx("T3")]}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let query = TransactionQuery {
        posted_before: Some(t("2025-08-01T00:00:00Z")),
        ..TransactionQuery::posted_after(t("2025-01-01T00:00:00Z"))
    };
    let txs: Vec<_> = client(&server)
        .list_transactions(query)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = txs
        .iter()
        .map(|t| t.transaction_id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, ["T1", "T2", "T3"]);
}

#[tokio::test(start_paused = true)]
async fn an_order_window_whose_start_equals_its_end_is_sent() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    // orders_2026-01-01.json: createdBefore "must be equal to or after the createdAfter date".
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders"))
        .and(query_param("createdAfter", "2026-03-01T00:00:00Z"))
        .and(query_param("createdBefore", "2026-03-01T00:00:00Z"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"orders": [], "createdBefore": "2026-03-01T00:00:00Z"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let at = t("2026-03-01T00:00:00Z");
    let orders: Vec<_> = client(&server)
        .search_orders(OrderSearch::created_after(at).before(at))
        .try_collect()
        .await
        .unwrap();
    assert!(orders.is_empty());
}

/// A getOrder endpoint that throttles like Amazon: a token bucket of `burst` refilled at `rate`
/// per second of real time, created full at the first request. Half a token of slack absorbs the
/// local HTTP jitter; a call sent a whole token early is still a 429.
struct Throttled {
    rate: f64,
    burst: f64,
    bucket: std::sync::Mutex<Option<(f64, std::time::Instant)>>,
    throttled: std::sync::atomic::AtomicU32,
}

impl wiremock::Respond for Throttled {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let now = std::time::Instant::now();
        let mut bucket = self.bucket.lock().unwrap();
        let (tokens, last) = bucket.get_or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 0.5 {
            *tokens -= 1.0;
            ResponseTemplate::new(200).set_body_json(json!({"order": {
                "orderId": "028-0000000-0000001", "createdTime": "2026-03-01T10:00:00Z",
                "lastUpdatedTime": "2026-03-01T10:00:00Z",
                "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
                "orderItems": []}}))
        } else {
            self.throttled
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(429).set_body_json(json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]}))
        }
    }
}

#[tokio::test]
async fn a_slow_first_token_does_not_make_paced_calls_arrive_together() {
    let server = MockServer::start().await;
    // LWA answers after 1 s, longer than the 0.2 s between two paced calls.
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(1))
                .set_body_json(
                    json!({"access_token": "Atza|t", "token_type": "bearer", "expires_in": 3600}),
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    // getOrder 0.5/s burst 30, on a clock 10 times faster: 5/s.
    let scale = 10.0;
    let amazon = std::sync::Arc::new(Throttled {
        rate: 0.5 * scale,
        burst: 30.0,
        bucket: std::sync::Mutex::new(None),
        throttled: std::sync::atomic::AtomicU32::new(0),
    });
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(SharedResponder(amazon.clone()))
        .mount(&server)
        .await;
    let client = builder(&server)
        .rate_limiter(sp_api_client::RateLimiter::with_time_scale(scale))
        .build()
        .unwrap();
    let id = sp_api_client::AmazonOrderId::from("028-0000000-0000001");
    let calls = (0..34).map(|_| {
        let (client, id) = (client.clone(), id.clone());
        async move { client.get_order(&id, &[]).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    // Before the fix the four calls beyond the burst took their rate-limit tokens while the
    // first LWA call was under way and all arrived with the burst: four 429s.
    assert_eq!(
        amazon.throttled.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "calls paced by the client were throttled by Amazon"
    );
}

struct SharedResponder(std::sync::Arc<Throttled>);

impl wiremock::Respond for SharedResponder {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

#[tokio::test(start_paused = true)]
async fn the_retry_delay_after_a_429_runs_on_the_limiters_clock() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"order": {
            "orderId": "028-0000000-0000001", "createdTime": "2026-03-01T10:00:00Z",
            "lastUpdatedTime": "2026-03-01T10:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
            "orderItems": []}})))
        .expect(1)
        .mount(&server)
        .await;
    // 100 times faster: getOrder refills at 50/s, and the policy's 1 s floor becomes 10 ms.
    let client = builder(&server)
        .rate_limiter(sp_api_client::RateLimiter::with_time_scale(100.0))
        .build()
        .unwrap();
    let start = Instant::now();
    client
        .get_order(
            &sp_api_client::AmazonOrderId::from("028-0000000-0000001"),
            &[],
        )
        .await
        .unwrap();
    let elapsed = start.elapsed();
    // max(10 ms, 1/50 s) plus at most 25 % jitter; the unscaled floor was 1 s.
    assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
    assert!(elapsed <= Duration::from_millis(30), "{elapsed:?}");
}
