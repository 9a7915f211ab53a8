//! Spans carry the operation and Amazon's request id, and never a token or secret.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;
use sp_api_client::AmazonOrderId;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn logs_name_operation_and_request_id_but_no_secrets() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = server().await;
    mount_lwa(&server, 2).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-amzn-RequestId", "req-expired")
                .set_body_json(json!({"errors": [{"code": "Unauthorized", "message": "The access token you provided has expired."}]})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})))
        .up_to_n_times(1)
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/028-0000000-0000001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"order": {
            "orderId": "028-0000000-0000001", "createdTime": "2026-03-01T10:00:00Z",
            "lastUpdatedTime": "2026-03-01T11:00:00Z", "salesChannel": {"channelName": "AMAZON"}, "orderItems": []}})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .get_order(&AmazonOrderId::from("028-0000000-0000001"), &[])
        .await
        .unwrap();

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("operation=getOrder"), "{logs}");
    assert!(
        logs.contains("request_id=\"req-expired\"") || logs.contains("request_id=req-expired"),
        "{logs}"
    );
    assert!(
        logs.contains("QuotaExceeded"),
        "the retry is logged: {logs}"
    );
    for secret in [
        "Atza|test-access-token",
        "client-secret",
        "Atzr|test-refresh-token",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked: {logs}");
    }
}
