//! Shared test scaffolding: one wiremock server per test, an LWA mock and a loud catch-all.
#![allow(dead_code)]

use serde_json::{Value, json};
use sp_api_client::{LwaCredentials, RetryPolicy, SpApiClient};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const SANDBOX_EXAMPLES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/sp-api/sandbox-examples.json"
));

/// A server whose unexpected requests fail the test when it is dropped.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .expect(0)
        .named("catch-all: no unexpected requests")
        .mount(&server)
        .await;
    server
}

/// Mounts the LWA token endpoint, expecting exactly `times` token requests.
pub async fn mount_lwa(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("client_id=client-id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "Atza|test-access-token",
            "token_type": "bearer",
            "expires_in": 3600,
            "refresh_token": "Atzr|test-refresh-token"
        })))
        .expect(times)
        .named("LWA token")
        .mount(server)
        .await;
}

pub fn builder(server: &MockServer) -> sp_api_client::SpApiClientBuilder {
    SpApiClient::builder()
        .base_url(server.uri())
        .lwa_token_url(format!("{}/auth/o2/token", server.uri()))
        .credentials(LwaCredentials::new(
            "client-id",
            "client-secret",
            "Atzr|test-refresh-token",
        ))
        .seller_id("A2SELLER")
        .app_id("ml-connector-tests/0.1")
        .without_timeouts()
}

pub fn client(server: &MockServer) -> SpApiClient {
    builder(server).build().expect("valid client")
}

pub fn client_with_retry(server: &MockServer, max_attempts: u32) -> SpApiClient {
    builder(server)
        .retry_policy(RetryPolicy {
            max_attempts,
            ..RetryPolicy::default()
        })
        .build()
        .expect("valid client")
}

/// The sandbox cases of one operation: `(status, request parameters, response)`.
pub fn sandbox_cases(model: &str, operation: &str) -> Vec<(String, Value, Value)> {
    let all: Value = serde_json::from_str(SANDBOX_EXAMPLES).unwrap();
    let op = &all[model][operation];
    assert!(
        op.is_object(),
        "no sandbox examples for {model} {operation}"
    );
    let mut out = Vec::new();
    for (status, r) in op["responses"].as_object().unwrap() {
        for case in r["static"].as_array().unwrap() {
            out.push((
                status.clone(),
                case["request"]["parameters"].clone(),
                case["response"].clone(),
            ));
        }
    }
    out
}

pub fn sandbox_response(model: &str, operation: &str, status: &str, index: usize) -> Value {
    sandbox_cases(model, operation)
        .into_iter()
        .filter(|(s, _, _)| s == status)
        .nth(index)
        .map(|(_, _, r)| r)
        .expect("sandbox case")
}

/// The text of a file under `../shared/reference` (e.g. `sp-api/models/feeds_2021-06-30.json`).
/// Outside CI a missing folder skips the caller (`None`, with a note on stderr): the product
/// builds without it. With `CI=true` it panics, so a missing reference can never pass silently.
pub fn reference(rel: &str) -> Option<String> {
    let path = format!(
        "{}/../../shared/reference/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and the reference file {path} cannot be read: {e}")
        }
        Err(e) => {
            eprintln!("skipping: {path} not readable ({e}); set CI=true to make this fail");
            None
        }
    }
}
