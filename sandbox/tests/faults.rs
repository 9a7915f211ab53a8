//! Every fault kind: commit then drop ("outcome unknown"), close the connection, 5xx with SAP's
//! HTML bodies or Amazon's JSON, forced session expiry, LWA outage, 429 storms, latency,
//! probabilities that are reproducible from the seed.

mod common;

use std::time::{Duration, Instant};

use common::*;
use sandbox::faults::{FaultKind, FaultRule, System, Trigger};
use serde_json::Value;

#[tokio::test]
async fn commit_then_drop_leaves_the_document_but_loses_the_response() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    sb.add_fault(
        FaultRule::new(System::Sap, "/Invoices", FaultKind::CommitThenDrop)
            .method("POST")
            .trigger(Trigger::Times(1)),
    );
    let r = c
        .post(format!("{}/Invoices", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .json(&invoice("TM-MUG-0000", "amz:1"))
        .send()
        .await;
    assert!(r.is_err(), "the client sees a transport error: {r:?}");
    assert_eq!(
        sb.sap_by_num_at_card("Invoices", "amz:1").len(),
        1,
        "but the invoice was committed"
    );
    // the lookup a careful client makes afterwards finds it; the rule is spent
    let (s, b) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices?$filter=NumAtCard%20eq%20'amz:1'&$select=DocEntry,DocNum",
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["value"][0]["DocEntry"], 1);
    assert!(sb.sap_duplicates("Invoices", "NumAtCard").is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn close_connection_drops_without_executing() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    sb.add_fault(
        FaultRule::new(System::Sap, "/Invoices", FaultKind::CloseConnection).method("POST"),
    );
    let r = c
        .post(format!("{}/Invoices", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .json(&invoice("TM-MUG-0000", "amz:2"))
        .send()
        .await;
    assert!(r.is_err());
    assert_eq!(sb.sap_count("Invoices"), 0);
    sb.clear_faults();
    let (s, _) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "amz:2"),
    )
    .await;
    assert_eq!(s, 201);
    sb.shutdown().await;
}

#[tokio::test]
async fn server_errors_carry_the_upstream_bodies() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    sb.add_fault(
        FaultRule::new(System::Sap, "/Items", FaultKind::Status(502))
            .trigger(Trigger::Sequence(vec![true, false])),
    );
    let r = c
        .get(format!("{}/Items", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("Proxy Error"));
    assert_eq!(sap_get(&sb, &c, &cookie, "v2", "Items?$top=1").await.0, 200);
    sb.add_fault(FaultRule::new(
        System::Sap,
        "/Warehouses",
        FaultKind::Status(503),
    ));
    let r = c
        .get(format!("{}/Warehouses", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("Service Unavailable"));
    let token = access_token(&sb, &c).await;
    sb.add_fault(
        FaultRule::new(System::SpApi, "/sellers", FaultKind::Status(500))
            .trigger(Trigger::Times(1)),
    );
    let r = sp_get(&sb, &c, &token, "/sellers/v1/marketplaceParticipations").await;
    assert_eq!(r.status(), 500);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"][0]["code"],
        "InternalFailure"
    );
    assert_eq!(
        sp_get(&sb, &c, &token, "/sellers/v1/marketplaceParticipations")
            .await
            .status(),
        200
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn forced_session_expiry_answers_401_301() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    sb.add_fault(
        FaultRule::new(System::Sap, "/Items", FaultKind::ExpireSession).trigger(Trigger::Times(1)),
    );
    let (s, b) = sap_get(&sb, &c, &cookie, "v2", "Items?$top=1").await;
    assert_eq!(s, 401);
    assert_eq!(b["error"]["code"], "301");
    let cookie = login(&sb, &c, "v2").await;
    assert_eq!(sap_get(&sb, &c, &cookie, "v2", "Items?$top=1").await.0, 200);
    sb.expire_sap_sessions();
    assert_eq!(sap_get(&sb, &c, &cookie, "v2", "Items?$top=1").await.0, 401);
    sb.shutdown().await;
}

#[tokio::test]
async fn lwa_outage_and_429_storm() {
    let sb = start(10).await;
    let c = client();
    sb.add_fault(
        FaultRule::new(System::Lwa, "/auth/o2/token", FaultKind::LwaOutage)
            .trigger(Trigger::Times(2)),
    );
    let cr = sb.credentials().clone();
    for _ in 0..2 {
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
        assert_eq!(r.status(), 503);
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "temporarily_unavailable"
        );
    }
    let token = access_token(&sb, &c).await;
    sb.add_fault(
        FaultRule::new(System::SpApi, "/orders/", FaultKind::QuotaExceeded)
            .trigger(Trigger::Sequence(vec![true, true, false])),
    );
    let path = "/orders/2026-01-01/orders?createdAfter=2026-01-01T00:00:00Z";
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(sp_get(&sb, &c, &token, path).await.status().as_u16());
        }
        v
    };
    assert_eq!(statuses, vec![429, 429, 200]);
    sb.shutdown().await;
}

#[tokio::test]
async fn latency_is_added() {
    let sb = start(10).await;
    let c = client();
    sb.add_fault(FaultRule::new(
        System::Sap,
        "/ping",
        FaultKind::Latency(Duration::from_millis(60)),
    ));
    let t = Instant::now();
    let r = c
        .get(format!("{}/ping/", sb.sap_origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(60));
    sb.shutdown().await;
}

#[tokio::test]
async fn probabilistic_faults_are_reproducible_from_the_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sb = start(10).await;
        let c = client();
        sb.add_fault(
            FaultRule::new(System::Sap, "/ping", FaultKind::Status(503))
                .trigger(Trigger::Probability(0.5)),
        );
        let mut pattern = Vec::new();
        for _ in 0..24 {
            pattern.push(
                c.get(format!("{}/ping/", sb.sap_origin()))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        runs.push(pattern);
        sb.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    let fired = runs[0].iter().filter(|s| **s == 503).count();
    assert!((3..=21).contains(&fired), "{fired}");
}

#[tokio::test]
async fn reset_restores_the_initial_state() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "r1"),
    )
    .await;
    sb.add_fault(FaultRule::new(System::Sap, "/", FaultKind::Status(500)));
    sb.reset();
    assert_eq!(sb.sap_count("Invoices"), 0);
    assert_eq!(sb.sap_session_count(), 0);
    let cookie = login(&sb, &c, "v2").await;
    assert_eq!(sap_get(&sb, &c, &cookie, "v2", "Invoices").await.0, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn expect_100_continue_gets_an_empty_500_from_the_load_balancer() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let r = c
        .post(format!("{}/Invoices", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .header("Expect", "100-continue")
        .json(&invoice("TM-MUG-0000", "e1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.bytes().await.unwrap().is_empty());
    assert_eq!(sb.sap_count("Invoices"), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn corrupt_record_spoils_only_the_first_record_of_a_list() {
    let sb = start(10).await;
    let c = client();
    sb.add_fault(
        FaultRule::new(
            System::Sap,
            "/Items",
            FaultKind::CorruptRecord("value".into()),
        )
        .method("GET")
        .trigger(Trigger::Times(1)),
    );
    let cookie = login(&sb, &c, "v2").await;
    let (s, v) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        "Items?$select=ItemCode,QuantityOnStock&$top=2",
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["value"][0]["QuantityOnStock"], "two", "{v}");
    assert!(v["value"][1]["QuantityOnStock"].is_number(), "{v}");
}
