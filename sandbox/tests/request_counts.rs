//! The request counters of the inspection API: SP-API calls per operation (served and throttled)
//! and Service Layer requests per method and resource, reset with `reset_request_counts`.

mod common;

use common::*;
use sandbox::inspect::SpApiCalls;

const SEARCH: &str =
    "/orders/2026-01-01/orders?lastUpdatedAfter=2026-01-01T00:00:00Z&maxResultsPerPage=1";

#[tokio::test]
async fn sp_api_calls_are_counted_per_operation_with_429s_apart() {
    let sb = start(10).await;
    let c = client();
    let token = access_token(&sb, &c).await;
    for _ in 0..22 {
        sp_get(&sb, &c, &token, SEARCH).await;
    }
    sp_get(&sb, &c, &token, "/sellers/v1/marketplaceParticipations").await;
    // no valid token: refused before the bucket, not counted
    sp_get(&sb, &c, "bogus", SEARCH).await;
    let calls = sb.sp_api_calls();
    assert_eq!(
        calls["searchOrders"],
        SpApiCalls {
            accepted: 20,
            throttled: 2
        },
        "burst of 20, then two 429s"
    );
    assert_eq!(calls["getMarketplaceParticipations"].accepted, 1);
    assert_eq!(calls.len(), 2, "{calls:?}");
    sb.reset_request_counts();
    assert!(sb.sp_api_calls().is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn sap_requests_are_counted_per_method_and_resource() {
    let sb = start(10).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    for i in 0..3 {
        let (status, _) = sap_post(
            &sb,
            &c,
            &cookie,
            "v2",
            "Invoices",
            &invoice("TM-MUG-0000", &format!("RC-{i}")),
        )
        .await;
        assert_eq!(status, 201);
    }
    sap_get(&sb, &c, &cookie, "v2", "Items('TM-MUG-0000')").await;
    sap_get(&sb, &c, &cookie, "v2", "Items?$top=1").await;
    sap_get(&sb, &c, "B1SESSION=nope", "v2", "Items").await;
    let requests = sb.sap_requests();
    assert_eq!(requests["POST Login"], 1);
    assert_eq!(requests["POST Invoices"], 3);
    assert_eq!(
        requests["GET Items"], 2,
        "the request without a session is not counted"
    );
    assert_eq!(requests.len(), 3, "{requests:?}");
    sb.reset();
    assert!(sb.sap_requests().is_empty(), "reset clears the counters");
    sb.shutdown().await;
}
