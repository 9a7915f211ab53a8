//! The request observer: one event per HTTP attempt, with the operation id (never the URL), the
//! status, the attempt number and a duration.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;
use sp_api_client::{AmazonOrderId, Operation, RequestEvent};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const ORDER_PATH: &str = "/orders/2026-01-01/orders/028-0000000-0000001";

/// What the observer saw: (operation, method, status, attempt, throttled, retry).
type Seen = Arc<Mutex<Vec<(Operation, String, Option<u16>, u32, bool, bool)>>>;

fn recording(server: &wiremock::MockServer) -> (sp_api_client::SpApiClient, Seen) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let client = builder(server)
        .observer(move |e: &RequestEvent<'_>| {
            sink.lock().unwrap().push((
                e.operation,
                e.method.to_owned(),
                e.status,
                e.attempt,
                e.is_throttled(),
                e.is_retry(),
            ));
        })
        .build()
        .unwrap();
    (client, seen)
}

async fn mount_order(server: &wiremock::MockServer) {
    Mock::given(method("GET"))
        .and(path(ORDER_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"order": {
            "orderId": "028-0000000-0000001",
            "createdTime": "2026-03-01T10:00:00Z",
            "lastUpdatedTime": "2026-03-01T11:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
            "orderItems": []
        }})))
        .expect(1)
        .mount(server)
        .await;
}

fn counts(seen: &Seen) -> (usize, usize, usize) {
    let seen = seen.lock().unwrap();
    let throttled = seen.iter().filter(|s| s.4).count();
    let retries = seen.iter().filter(|s| s.5).count();
    (seen.len(), throttled, retries)
}

#[tokio::test(start_paused = true)]
async fn a_429_then_success_is_one_throttle_and_one_retry() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path(ORDER_PATH))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_order(&server).await;
    let (client, seen) = recording(&server);
    client
        .get_order(&AmazonOrderId::from("028-0000000-0000001"), &[])
        .await
        .unwrap();
    assert_eq!(counts(&seen), (2, 1, 1), "{:?}", seen.lock().unwrap());
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[0],
        (Operation::GetOrder, "GET".into(), Some(429), 1, true, false)
    );
    assert_eq!(
        seen[1],
        (Operation::GetOrder, "GET".into(), Some(200), 2, false, true)
    );
    assert_eq!(
        seen[0].0.name(),
        "getOrder",
        "the label: Amazon's operation id"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_error_then_success_is_a_retry_without_a_throttle() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("GET"))
        .and(path(ORDER_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_order(&server).await;
    let (client, seen) = recording(&server);
    client
        .get_order(&AmazonOrderId::from("028-0000000-0000001"), &[])
        .await
        .unwrap();
    assert_eq!(counts(&seen), (2, 0, 1));
    assert_eq!(seen.lock().unwrap()[0].2, Some(503));
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_an_attempt_without_a_status() {
    // A port nobody listens on: each attempt fails before an answer; the policy allows 2.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let server = server().await;
    mount_lwa(&server, 1).await;
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let client = builder(&server)
        .base_url(format!("http://{addr}"))
        .retry_policy(sp_api_client::RetryPolicy {
            max_attempts: 2,
            ..Default::default()
        })
        .observer(move |e: &RequestEvent<'_>| {
            sink.lock().unwrap().push((
                e.operation,
                e.method.into(),
                e.status,
                e.attempt,
                false,
                e.is_retry(),
            ))
        })
        .build()
        .unwrap();
    client
        .get_order(&AmazonOrderId::from("028-0000000-0000001"), &[])
        .await
        .unwrap_err();
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.iter().map(|s| (s.2, s.3)).collect::<Vec<_>>(),
        [(None, 1), (None, 2)]
    );
}
