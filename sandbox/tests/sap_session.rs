//! Session and cookie rules, v1/v2 shapes of Login and errors, idle expiry, Logout, ping.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn login_sets_both_cookies_like_the_real_service_layer() {
    let sb = start(10).await;
    let c = client();
    let cr = sb.credentials();
    let r = c
        .post(format!("{}/Login", sb.sap_base_url()))
        .json(&json!({"CompanyDB": cr.sap_company_db, "UserName": cr.sap_user, "Password": cr.sap_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["odata-version"], "4.0");
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(cookies.len(), 2);
    assert!(
        cookies[0].starts_with("B1SESSION=") && cookies[0].ends_with(";HttpOnly;"),
        "{cookies:?}"
    );
    assert_eq!(cookies[1], "ROUTEID=.node1; path=/b1s");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["SessionTimeout"], 30);
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#B1Sessions/$entity")
    );
    let id = body["SessionId"].as_str().unwrap();
    assert!(cookies[0].contains(id));
    sb.shutdown().await;
}

#[tokio::test]
async fn v1_login_and_errors_have_the_odata_v3_shape() {
    let sb = start(10).await;
    let c = client();
    let cr = sb.credentials();
    let r = c
        .post(format!("{}/b1s/v1/Login", sb.sap_origin()))
        .json(&json!({"CompanyDB": cr.sap_company_db, "UserName": cr.sap_user, "Password": cr.sap_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["dataserviceversion"], "3.0");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["odata.metadata"]
            .as_str()
            .unwrap()
            .ends_with("#B1Sessions/@Element")
    );
    // v1 error: numeric code, message {lang, value}
    let r = c
        .get(format!("{}/b1s/v1/Items", sb.sap_origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 301);
    assert_eq!(
        body["error"]["message"]["value"],
        "Invalid session or session already timeout."
    );
    // v2 error: string code, string message
    let r = c
        .get(format!("{}/Items", sb.sap_base_url()))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "301");
    assert_eq!(
        body["error"]["message"],
        "Invalid session or session already timeout."
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn both_cookies_are_required() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let only_session = cookie
        .split("; ")
        .find(|p| p.starts_with("B1SESSION"))
        .unwrap()
        .to_string();
    let (s, _) = sap_get(&sb, &c, &only_session, "v2", "Items?$top=1").await;
    assert_eq!(s, 401);
    let only_route = "ROUTEID=.node1".to_string();
    let (s, _) = sap_get(&sb, &c, &only_route, "v2", "Items?$top=1").await;
    assert_eq!(s, 401);
    let (s, _) = sap_get(&sb, &c, &cookie, "v2", "Items?$top=1").await;
    assert_eq!(s, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_fail_login() {
    let sb = start(10).await;
    let r = client()
        .post(format!("{}/Login", sb.sap_base_url()))
        .json(&json!({"CompanyDB": sb.credentials().sap_company_db, "UserName": "manager", "Password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "100000027");
    sb.shutdown().await;
}

#[tokio::test]
async fn idle_session_expires_with_401_code_301_and_use_keeps_it_alive() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    sb.advance_clock(chrono::Duration::minutes(20));
    assert_eq!(sap_get(&sb, &c, &cookie, "v2", "Warehouses").await.0, 200);
    sb.advance_clock(chrono::Duration::minutes(20));
    // 40 minutes after login but only 20 idle: still valid (sliding).
    assert_eq!(sap_get(&sb, &c, &cookie, "v2", "Warehouses").await.0, 200);
    sb.advance_clock(chrono::Duration::minutes(31));
    let (s, body) = sap_get(&sb, &c, &cookie, "v2", "Warehouses").await;
    assert_eq!(s, 401);
    assert_eq!(body["error"]["code"], "301");
    assert_eq!(sb.sap_session_count(), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn logout_ends_the_session_and_ping_needs_none() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let r = c
        .post(format!("{}/Logout", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(sap_get(&sb, &c, &cookie, "v2", "Items").await.0, 401);
    let r = c
        .get(format!("{}/ping/", sb.sap_origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["message"], "pong");
    assert_eq!(body["sender"], "load balancer");
    sb.shutdown().await;
}

#[tokio::test]
async fn calls_of_one_session_are_served_one_at_a_time_with_the_configured_latency() {
    let latency = std::time::Duration::from_millis(40);
    let sb = sandbox::Sandbox::start(sandbox::SandboxConfig {
        sap_latency: latency,
        ..config(10)
    })
    .await
    .unwrap();
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let t = std::time::Instant::now();
    let (a, b, d) = tokio::join!(
        sap_get(&sb, &c, &cookie, "v2", "Warehouses"),
        sap_get(&sb, &c, &cookie, "v2", "PriceLists"),
        sap_get(&sb, &c, &cookie, "v2", "ChartOfAccounts")
    );
    assert_eq!((a.0, b.0, d.0), (200, 200, 200));
    assert!(
        t.elapsed() >= latency * 3,
        "three calls of one session queue behind each other"
    );
    sb.shutdown().await;
}
