//! Helpers shared by the integration tests: start a sandbox, log in with plain reqwest.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use reqwest::Client;
use sandbox::world::WorldKind;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// A fixed start time so worlds are reproducible. The EU world: the tests written before the NA
/// world existed name its marketplaces, customers and currencies.
pub fn config(orders: usize) -> SandboxConfig {
    config_in(WorldKind::Eu, orders)
}

/// [`config`] for the world `world`.
pub fn config_in(world: WorldKind, orders: usize) -> SandboxConfig {
    SandboxConfig {
        world,
        orders,
        start_time: Some(Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()),
        ..SandboxConfig::default()
    }
}

/// Starts a sandbox of `world` with `orders` orders at the fixed start time.
pub async fn start_in(world: WorldKind, orders: usize) -> Sandbox {
    Sandbox::start(config_in(world, orders))
        .await
        .expect("sandbox starts")
}

pub async fn start(orders: usize) -> Sandbox {
    Sandbox::start(config(orders))
        .await
        .expect("sandbox starts")
}

pub fn client() -> Client {
    // reqwest is built with `rustls-no-provider`; plain http needs no TLS but the builder wants a provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().no_proxy().build().expect("client")
}

/// Logs in and returns the Cookie header value built from the two Set-Cookie lines.
pub async fn login(sb: &Sandbox, c: &Client, version: &str) -> String {
    let cr = sb.credentials();
    let r = c
        .post(format!("{}/b1s/{version}/Login", sb.sap_origin()))
        .json(&json!({"CompanyDB": cr.sap_company_db, "UserName": cr.sap_user, "Password": cr.sap_password}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            v.to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim()
                .to_string()
        })
        .collect();
    cookies.join("; ")
}

/// GET on the Service Layer with the session cookie; returns status and JSON.
pub async fn sap_get(
    sb: &Sandbox,
    c: &Client,
    cookie: &str,
    version: &str,
    path_and_query: &str,
) -> (u16, Value) {
    let r = c
        .get(format!(
            "{}/b1s/{version}/{path_and_query}",
            sb.sap_origin()
        ))
        .header("Cookie", cookie)
        .send()
        .await
        .expect("get");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// POST on the Service Layer with the session cookie; returns status and JSON.
pub async fn sap_post(
    sb: &Sandbox,
    c: &Client,
    cookie: &str,
    version: &str,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let r = c
        .post(format!("{}/b1s/{version}/{path}", sb.sap_origin()))
        .header("Cookie", cookie)
        .json(body)
        .send()
        .await
        .expect("post");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// An LWA access token.
pub async fn access_token(sb: &Sandbox, c: &Client) -> String {
    let cr = sb.credentials();
    let r: Value = c
        .post(sb.lwa_token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", cr.lwa_refresh_token.as_str()),
            ("client_id", cr.lwa_client_id.as_str()),
            ("client_secret", cr.lwa_client_secret.as_str()),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    r["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// GET on SP-API with a token.
pub async fn sp_get(
    sb: &Sandbox,
    c: &Client,
    token: &str,
    path_and_query: &str,
) -> reqwest::Response {
    c.get(format!("{}{path_and_query}", sb.sp_api_base_url()))
        .header("x-amz-access-token", token)
        .send()
        .await
        .expect("sp get")
}

/// A minimal valid invoice for the DE customer.
pub fn invoice(item_code: &str, num_at_card: &str) -> Value {
    json!({
        "CardCode": "C-AMZ-UK",
        "NumAtCard": num_at_card,
        "DocDate": "2026-03-09",
        "DocumentLines": [{"ItemCode": item_code, "Quantity": 2, "UnitPrice": 10.5, "VatGroup": "O1"}],
    })
}

pub mod vcr;

/// The text of a file under `../shared/reference` (e.g. `sap-b1/vcr-v2-list-items-top5.yaml`).
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
