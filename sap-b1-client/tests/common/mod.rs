//! Shared test set-up: one wiremock server per test with a loud catch-all, and login mocks.
#![allow(dead_code)]

use std::time::Duration;

use sap_b1_client::{RetryPolicy, SapClient};
use secrecy::SecretString;
use wiremock::matchers::{any, body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const BASE: &str = "/b1s/v2/";

/// A server whose unmatched requests answer 599 and fail the test when the server drops.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .named("catch-all: no unexpected requests")
        .expect(0)
        .mount(&server)
        .await;
    server
}

pub fn client(server: &MockServer) -> SapClient {
    client_with(server, |b| b)
}

pub fn client_with(
    server: &MockServer,
    configure: impl FnOnce(sap_b1_client::SapClientBuilder) -> sap_b1_client::SapClientBuilder,
) -> SapClient {
    let builder = SapClient::builder(format!("{}/b1s/v2", server.uri()))
        .company("SBODEMOUS")
        .credentials("manager", SecretString::from("s3cret".to_string()))
        .retry_policy(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
        });
    configure(builder).build().expect("valid test client")
}

/// The login body our client must send.
pub fn login_body() -> serde_json::Value {
    serde_json::json!({"CompanyDB": "SBODEMOUS", "UserName": "manager", "Password": "s3cret"})
}

/// A successful login answer with SAP's cookie syntax.
pub fn login_ok(session: &str, route: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .append_header(
            "Set-Cookie",
            format!("B1SESSION={session};HttpOnly;").as_str(),
        )
        .append_header("Set-Cookie", format!("ROUTEID={route}; path=/b1s").as_str())
        .set_body_json(serde_json::json!({
            "@odata.context": "https://sap/b1s/v2/$metadata#B1Sessions/$entity",
            "SessionId": session,
            "Version": "1000280",
            "SessionTimeout": 30
        }))
}

/// Mount a login that hands out `session` `times` times, with the given priority.
pub async fn mount_login(server: &MockServer, session: &str, times: u64, priority: u8) {
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Login")))
        .and(body_json(login_body()))
        .respond_with(login_ok(session, ".node1"))
        .up_to_n_times(times)
        .with_priority(priority)
        .expect(times)
        .named(format!("login -> {session}"))
        .mount(server)
        .await;
}

pub fn cookie(session: &str) -> String {
    format!("B1SESSION={session}; ROUTEID=.node1")
}

/// SAP's 401 for an expired session (v1 documented shape).
pub fn session_expired() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(serde_json::json!({
        "error": {"code": 301, "message": {"lang": "en-us", "value": "Invalid session or session already timeout."}}
    }))
}

pub fn item_json(code: &str) -> serde_json::Value {
    serde_json::json!({"ItemCode": code, "ItemName": format!("Item {code}")})
}
