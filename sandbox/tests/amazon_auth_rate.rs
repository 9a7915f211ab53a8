//! LWA (refresh grant, 1 h expiry, invalid_grant, invalid_client), the access-token check on
//! every call, and per-operation token buckets with Amazon's numbers (scaled) and 429s.

mod common;

use common::*;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

const SEARCH: &str =
    "/orders/2026-01-01/orders?lastUpdatedAfter=2026-01-01T00:00:00Z&maxResultsPerPage=1";

#[tokio::test]
async fn token_endpoint_issues_one_hour_tokens_and_rejects_bad_grants() {
    let sb = start(10).await;
    let c = client();
    let cr = sb.credentials().clone();
    let r = c
        .post(sb.lwa_token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &cr.lwa_refresh_token),
            ("client_id", &cr.lwa_client_id),
            ("client_secret", &cr.lwa_client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["refresh_token"], cr.lwa_refresh_token.as_str());
    assert!(body["access_token"].as_str().unwrap().starts_with("Atza|"));
    let r = c
        .post(sb.lwa_token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &cr.lwa_refresh_token),
            ("client_id", &cr.lwa_client_id),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    sb.revoke_refresh_token();
    let r = c
        .post(sb.lwa_token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &cr.lwa_refresh_token),
            ("client_id", &cr.lwa_client_id),
            ("client_secret", &cr.lwa_client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn every_call_needs_a_live_access_token() {
    let sb = start(10).await;
    let c = client();
    let r = c
        .get(format!(
            "{}/sellers/v1/marketplaceParticipations",
            sb.sp_api_base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().contains_key("x-amzn-requestid"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "Unauthorized");
    assert_eq!(
        body["errors"][0]["message"],
        "Access to requested resource is denied."
    );
    let r = sp_get(
        &sb,
        &c,
        "Atza|forged",
        "/sellers/v1/marketplaceParticipations",
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("revoked, malformed or invalid")
    );
    let token = access_token(&sb, &c).await;
    assert_eq!(
        sp_get(&sb, &c, &token, "/sellers/v1/marketplaceParticipations")
            .await
            .status(),
        200
    );
    sb.advance_clock(chrono::Duration::minutes(61));
    let r = sp_get(&sb, &c, &token, "/sellers/v1/marketplaceParticipations").await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["details"],
        "The access token you provided has expired."
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn search_orders_bucket_allows_the_burst_of_20_then_429s_without_rate_header() {
    let sb = start(10).await;
    let c = client();
    let token = access_token(&sb, &c).await;
    for i in 0..20 {
        let r = sp_get(&sb, &c, &token, SEARCH).await;
        assert_eq!(r.status(), 200, "call {i}");
        assert_eq!(r.headers()["x-amzn-ratelimit-limit"], "0.0056");
    }
    let r = sp_get(&sb, &c, &token, SEARCH).await;
    assert_eq!(r.status(), 429);
    assert!(
        !r.headers().contains_key("x-amzn-ratelimit-limit"),
        "no rate header on 429"
    );
    assert!(r.headers().contains_key("x-amzn-requestid"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "QuotaExceeded");
    // another operation has its own bucket
    assert_eq!(
        sp_get(&sb, &c, &token, "/sellers/v1/marketplaceParticipations")
            .await
            .status(),
        200
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn time_scale_multiplies_the_refill_rate() {
    // searchOrders: 0.0056 rps, burst 20. At 200x it refills 1.12 tokens/s.
    let sb = Sandbox::start(SandboxConfig {
        time_scale: 200.0,
        ..config(10)
    })
    .await
    .unwrap();
    let c = client();
    let token = access_token(&sb, &c).await;
    let mut first_429 = None;
    for i in 0..40 {
        let r = sp_get(&sb, &c, &token, SEARCH).await;
        if r.status() == 200 {
            assert_eq!(
                r.headers()["x-amzn-ratelimit-limit"],
                "1.12",
                "the header reports the applied rate"
            );
        } else {
            assert_eq!(r.status(), 429);
            first_429 = Some(i);
            break;
        }
    }
    let first = first_429.expect("the burst runs out");
    // never before the burst of 20 is used up; soon after, even on a loaded machine
    assert!((20..=30).contains(&first), "burst is 20, got {first}");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        sp_get(&sb, &c, &token, SEARCH).await.status(),
        200,
        "a token came back after 1/1.12 s"
    );
    sb.shutdown().await;
}
