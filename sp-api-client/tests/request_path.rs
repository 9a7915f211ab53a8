//! Auth, rate limiting and retries: the request path every operation shares.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use sp_api_client::{AmazonOrderId, Error, LwaErrorCode, Operation};
use tokio::time::Instant;
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, ResponseTemplate};

fn order_json(id: &str) -> serde_json::Value {
    json!({"order": {
        "orderId": id,
        "createdTime": "2026-03-01T10:00:00Z",
        "lastUpdatedTime": "2026-03-01T11:00:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
        "orderItems": []
    }})
}

async fn mount_order(server: &wiremock::MockServer, times: u64) {
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .and(header("x-amz-access-token", "Atza|test-access-token"))
        .and(header_exists("x-amz-date"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-amzn-RequestId", "req-1")
                .set_body_json(order_json("028-0000000-0000001")),
        )
        .expect(times)
        .named("getOrder")
        .mount(server)
        .await;
}

fn order_id() -> AmazonOrderId {
    AmazonOrderId::from("028-0000000-0000001")
}

#[tokio::test(start_paused = true)]
async fn token_is_cached_and_refreshed_before_expiry() {
    let server = server().await;
    mount_lwa(&server, 2).await;
    mount_order(&server, 3).await;
    let client = client(&server);

    client.get_order(&order_id(), &[]).await.unwrap();
    tokio::time::advance(Duration::from_secs(3000)).await;
    client.get_order(&order_id(), &[]).await.unwrap();
    assert_eq!(
        client.token_refresh_count(),
        1,
        "token reused within its life"
    );

    // 3600 s lifetime minus the 60 s margin: at 3545 s the token must be renewed.
    tokio::time::advance(Duration::from_secs(545)).await;
    client.get_order(&order_id(), &[]).await.unwrap();
    assert_eq!(
        client.token_refresh_count(),
        2,
        "refreshed 60 s before expiry"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_refresh() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(200))
                .set_body_json(json!({"access_token": "Atza|test-access-token", "token_type": "bearer", "expires_in": 3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_order(&server, 4).await;
    let client = client(&server);
    let clone = client.clone();
    let id = order_id();
    let (a, b, c, d) = tokio::join!(
        client.get_order(&id, &[]),
        clone.get_order(&id, &[]),
        client.get_order(&id, &[]),
        clone.get_order(&id, &[]),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    d.unwrap();
    assert_eq!(client.token_refresh_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn expired_token_403_triggers_one_refresh_and_one_retry() {
    let server = server().await;
    mount_lwa(&server, 2).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"errors": [{
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The access token you provided has expired."
        }]})))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_order(&server, 1).await;
    let client = client(&server);
    let order = client.get_order(&order_id(), &[]).await.unwrap();
    assert_eq!(order.order_id, order_id());
    assert_eq!(client.token_refresh_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn other_403_is_reported_not_retried() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-amzn-RequestId", "req-403")
                .set_body_json(json!({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_order(&order_id(), &[])
        .await
        .unwrap_err();
    let Error::Api(api) = err else {
        panic!("expected a server-reported error, got {err:?}")
    };
    assert_eq!(api.status.as_u16(), 403);
    assert_eq!(api.code(), Some("Unauthorized"));
    assert_eq!(api.request_id.as_deref(), Some("req-403"));
}

#[tokio::test(start_paused = true)]
async fn lwa_invalid_grant_is_a_typed_error_with_advice() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error_description": "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission.",
            "error": "invalid_grant"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_order(&order_id(), &[])
        .await
        .unwrap_err();
    let Error::Auth(sp_api_client::LwaError::Rejected { code, .. }) = &err else {
        panic!("expected an LWA rejection, got {err:?}")
    };
    assert_eq!(*code, LwaErrorCode::InvalidGrant);
    let text = err.to_string();
    assert!(text.contains("authorise the app again"), "{text}");
    assert!(
        !text.contains("client-secret") && !text.contains("Atzr|"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn rotated_client_secret_is_used_for_the_next_refresh() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .and(wiremock::matchers::body_string_contains("client_secret=new-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "Atza|test-access-token", "token_type": "bearer", "expires_in": 3600})))
        .expect(1)
        .mount(&server)
        .await;
    mount_order(&server, 1).await;
    let client = client(&server);
    client.set_client_secret("new-secret".to_owned().into());
    client.get_order(&order_id(), &[]).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn secrets_never_appear_in_debug_output() {
    let server = server().await;
    let client = client(&server);
    let creds = sp_api_client::LwaCredentials::new("id", "client-secret", "Atzr|refresh");
    let text = format!("{client:?} {creds:?}");
    assert!(
        !text.contains("client-secret") && !text.contains("Atzr|refresh"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_burst_beyond_the_bucket_is_paced_not_throttled() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    // getOrder: rate 0.5/s, burst 30. 36 calls: 30 at once, then one every 2 s.
    mount_order(&server, 36).await;
    let client = client(&server);
    let start = Instant::now();
    let id = order_id();
    // Half the calls go through a clone: the bucket is shared.
    let clone = client.clone();
    let calls = (0..36).map(|i| {
        let c = if i % 2 == 0 {
            client.clone()
        } else {
            clone.clone()
        };
        let id = id.clone();
        async move { c.get_order(&id, &[]).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    let elapsed = start.elapsed();
    eprintln!("36 getOrder calls (rate 0.5/s, burst 30) took {elapsed:?} of virtual time");
    assert!(
        elapsed >= Duration::from_secs(12),
        "6 extra calls at 0.5/s take 12 s, took {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(14),
        "no needless waiting: {elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn rate_limit_header_updates_the_bucket() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-amzn-RateLimit-Limit", "0.2")
                .set_body_json(order_json("028-0000000-0000001")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.current_rate(Operation::GetOrder), Some(0.5));
    client.get_order(&order_id(), &[]).await.unwrap();
    assert_eq!(client.current_rate(Operation::GetOrder), Some(0.2));
}

#[tokio::test(start_paused = true)]
async fn a_429_then_success_is_retried_with_growing_delays() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    mount_order(&server, 1).await;
    let client = client(&server);
    let start = Instant::now();
    client.get_order(&order_id(), &[]).await.unwrap();
    // getOrder is 0.5/s, so each wait is at least 1/rate = 2 s, doubled for the second: 2 + 4.
    let elapsed = start.elapsed();
    eprintln!("429, 429, 200 took {elapsed:?} of virtual time");
    assert!(elapsed >= Duration::from_secs(6), "{elapsed:?}");
    assert!(
        elapsed <= Duration::from_millis(7_500 + 100),
        "jitter is bounded: {elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_of_429s_ends_in_a_clear_error_after_the_bound() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-amzn-RequestId", "req-429")
                .set_body_json(json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})),
        )
        .expect(4)
        .mount(&server)
        .await;
    let err = client_with_retry(&server, 4)
        .get_order(&order_id(), &[])
        .await
        .unwrap_err();
    let Error::RetriesExhausted { attempts, last, .. } = &err else {
        panic!("expected RetriesExhausted, got {err:?}")
    };
    assert_eq!(*attempts, 4);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    let Error::Api(api) = last.as_ref() else {
        panic!()
    };
    assert_eq!(api.code(), Some("QuotaExceeded"));
    assert!(
        err.to_string().contains("gave up after 4 attempts"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn server_errors_on_reads_are_retried() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]})))
        .up_to_n_times(1)
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    mount_order(&server, 1).await;
    client(&server).get_order(&order_id(), &[]).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_bad_body_is_a_parse_error_with_path_and_body() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-amzn-RequestId", "req-p")
                .set_body_json(json!({"order": {
                    "orderId": "028-0000000-0000001",
                    "createdTime": "2026-03-01T10:00:00Z",
                    "lastUpdatedTime": "2026-03-01T11:00:00Z",
                    "salesChannel": {"channelName": "AMAZON"},
                    "orderItems": [{"orderItemId": "1", "quantityOrdered": "two", "product": {}}]
                }})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_order(&order_id(), &[])
        .await
        .unwrap_err();
    let Error::Parse(parse) = err else {
        panic!("expected parse error, got {err:?}")
    };
    assert_eq!(parse.path, "order.orderItems[0].quantityOrdered");
    assert!(parse.body.contains("\"two\""));
    assert_eq!(parse.request_id.as_deref(), Some("req-p"));
}

#[test]
fn builder_validates() {
    let err = sp_api_client::SpApiClient::builder().build().unwrap_err();
    assert!(err.to_string().contains("credentials"), "{err}");
    let err = sp_api_client::SpApiClient::builder()
        .credentials(sp_api_client::LwaCredentials::new("id", "secret", "token"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("region or base_url"), "{err}");
    let err = sp_api_client::SpApiClient::builder()
        .credentials(sp_api_client::LwaCredentials::new("id", "", "token"))
        .region(sp_api_client::Region::Europe)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("client secret"), "{err}");
    let err = sp_api_client::SpApiClient::builder()
        .credentials(sp_api_client::LwaCredentials::new("id", "s", "token"))
        .base_url("ftp://example.com")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("scheme"), "{err}");
}

#[test]
fn retry_delay_grows_and_respects_one_over_rate() {
    let p = sp_api_client::RetryPolicy::default();
    for _ in 0..50 {
        let d1 = p.delay(1, Some(0.5));
        let d2 = p.delay(2, Some(0.5));
        let d3 = p.delay(3, Some(0.5));
        assert!(d1 >= Duration::from_secs(2) && d1 <= Duration::from_millis(2500));
        assert!(d2 >= Duration::from_secs(4) && d2 <= Duration::from_secs(5));
        assert!(d3 >= Duration::from_secs(8) && d3 <= Duration::from_secs(10));
        // searchOrders: 1/rate is ~179 s, so even the first retry waits that long.
        assert!(p.delay(1, Some(0.0056)) >= Duration::from_secs(178));
    }
}

#[tokio::test(start_paused = true)]
async fn transient_lwa_failures_are_retried() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            json!({"error": "temporarily_unavailable", "error_description": "try later"}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_lwa(&server, 1).await;
    mount_order(&server, 1).await;
    let client = client(&server);
    client.get_order(&order_id(), &[]).await.unwrap();
    assert_eq!(client.token_refresh_count(), 2);
}

#[test]
fn every_sandbox_error_example_parses_as_amazon_error_list() {
    let ops = [
        ("orders_2026-01-01.json", "searchOrders"),
        ("orders_2026-01-01.json", "getOrder"),
        ("ordersV0.json", "getOrders"),
        ("ordersV0.json", "getOrderItems"),
        ("reports_2021-06-30.json", "getReports"),
        ("reports_2021-06-30.json", "getReport"),
        ("reports_2021-06-30.json", "createReport"),
        ("reports_2021-06-30.json", "getReportDocument"),
        ("listingsItems_2021-08-01.json", "getListingsItem"),
        ("listingsItems_2021-08-01.json", "patchListingsItem"),
        ("feeds_2021-06-30.json", "createFeedDocument"),
        ("feeds_2021-06-30.json", "createFeed"),
        ("feeds_2021-06-30.json", "getFeed"),
        ("feeds_2021-06-30.json", "getFeedDocument"),
        ("financesV0.json", "listFinancialEventGroups"),
        ("finances_2024-06-19.json", "listTransactions"),
    ];
    let mut n = 0;
    for (model, op) in ops {
        for (status, _, response) in sandbox_cases(model, op) {
            if status.starts_with('4') {
                let errors: Vec<sp_api_client::ApiErrorDetail> =
                    serde_json::from_value(response["errors"].clone())
                        .unwrap_or_else(|e| panic!("{op}: {e}"));
                assert!(!errors.is_empty() && !errors[0].code.is_empty(), "{op}");
                n += 1;
            }
        }
    }
    assert_eq!(n, ops.len());
}

#[tokio::test(start_paused = true)]
async fn unreachable_host_is_a_transport_error_retried_then_reported() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    // A port nobody listens on: the connection is refused, so the request never left.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = builder(&server)
        .base_url(dead)
        .retry_policy(sp_api_client::RetryPolicy {
            max_attempts: 3,
            ..Default::default()
        })
        .build()
        .unwrap();
    let err = client.get_order(&order_id(), &[]).await.unwrap_err();
    let Error::RetriesExhausted { attempts, last, .. } = &err else {
        panic!("expected RetriesExhausted, got {err:?}")
    };
    assert_eq!(*attempts, 3);
    assert!(matches!(last.as_ref(), Error::Transport { .. }), "{last:?}");
}
