//! Samples of the fake's SP-API responses validated against Amazon's Swagger models in
//! `../shared/reference/sp-api/models` (types, required fields, enums, and no undeclared properties).

mod common;

use common::*;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

fn load(file: &str) -> Option<Value> {
    let text = reference(&format!("sp-api/models/{file}"))?;
    Some(serde_json::from_str(&text).expect("a model is JSON"))
}

fn validate(model: &Value, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap();
        let def = &model["definitions"][name];
        assert!(!def.is_null(), "unresolved {r}");
        return validate(model, def, v, path, errs);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(model, s, v, path, errs);
        }
        return;
    }
    let ty = schema
        .get("type")
        .and_then(Value::as_str)
        .or(if schema.get("properties").is_some() {
            Some("object")
        } else {
            None
        });
    match ty {
        Some("object") => {
            let Some(obj) = v.as_object() else {
                return errs.push(format!("{path}: expected object, got {v}"));
            };
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let req = req.as_str().unwrap();
                if !obj.contains_key(req) {
                    errs.push(format!("{path}: missing required '{req}'"));
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(ps) => validate(model, ps, val, &format!("{path}.{k}"), errs),
                    None => match additional {
                        Some(Value::Object(a)) if !a.is_empty() => validate(
                            model,
                            &Value::Object(a.clone()),
                            val,
                            &format!("{path}.{k}"),
                            errs,
                        ),
                        Some(Value::Bool(true)) | Some(Value::Object(_)) => {}
                        _ => errs.push(format!("{path}: undeclared property '{k}'")),
                    },
                }
            }
        }
        Some("array") => {
            let Some(items) = v.as_array() else {
                return errs.push(format!("{path}: expected array"));
            };
            for (i, it) in items.iter().enumerate() {
                validate(model, &schema["items"], it, &format!("{path}[{i}]"), errs);
            }
        }
        Some("string") => match v.as_str() {
            None => errs.push(format!("{path}: expected string, got {v}")),
            Some(s) => {
                if let Some(e) = schema.get("enum").and_then(Value::as_array)
                    && !e.iter().any(|x| x == s)
                {
                    errs.push(format!("{path}: '{s}' not in enum"));
                }
            }
        },
        Some("integer") if !v.is_i64() && !v.is_u64() => {
            errs.push(format!("{path}: expected integer, got {v}"))
        }
        Some("number") if !v.is_number() => errs.push(format!("{path}: expected number, got {v}")),
        Some("boolean") if !v.is_boolean() => {
            errs.push(format!("{path}: expected boolean, got {v}"))
        }
        _ => {}
    }
}

fn check(model: &Value, definition: &str, v: &Value) {
    let mut errs = Vec::new();
    validate(
        model,
        &json!({"$ref": format!("#/definitions/{definition}")}),
        v,
        definition,
        &mut errs,
    );
    assert!(errs.is_empty(), "{definition}: {errs:#?}\n{v}");
}

#[tokio::test]
async fn responses_match_the_amazon_models() {
    let Some(orders) = load("orders_2026-01-01.json") else {
        eprintln!("skipping: models not present");
        return;
    };
    // the validator itself rejects wrong shapes
    let mut errs = Vec::new();
    validate(
        &orders,
        &json!({"$ref": "#/definitions/SearchOrdersResponse"}),
        &json!({"orders": [{"orderId": 1}], "extra": true}),
        "x",
        &mut errs,
    );
    assert!(errs.len() >= 4, "{errs:?}");
    let orders_v0 = load("ordersV0.json").unwrap();
    let reports = load("reports_2021-06-30.json").unwrap();
    let finances = load("financesV0.json").unwrap();
    let finances_2024 = load("finances_2024-06-19.json").unwrap();
    let listings = load("listingsItems_2021-08-01.json").unwrap();
    let feeds = load("feeds_2021-06-30.json").unwrap();
    let sellers = load("sellers.json").unwrap();

    let sb = Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config(300)
    })
    .await
    .unwrap();
    let c = client();
    let t = access_token(&sb, &c).await;
    let get = |p: String| {
        let (c, t, sb) = (c.clone(), t.clone(), &sb);
        async move { sp_get(sb, &c, &t, &p).await.json::<Value>().await.unwrap() }
    };
    let all_data = "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES";
    let search = get(format!("/orders/2026-01-01/orders?createdAfter=2025-01-01T00:00:00Z&maxResultsPerPage=100&includedData={all_data}")).await;
    check(&orders, "SearchOrdersResponse", &search);
    let id = search["orders"][0]["orderId"].as_str().unwrap().to_string();
    check(
        &orders,
        "GetOrderResponse",
        &get(format!(
            "/orders/2026-01-01/orders/{id}?includedData={all_data}"
        ))
        .await,
    );
    check(
        &orders,
        "ErrorList",
        &get("/orders/2026-01-01/orders".into()).await,
    );
    let market = "A1PA6795UKMFR9";
    check(
        &orders_v0,
        "GetOrdersResponse",
        &get(format!(
            "/orders/v0/orders?MarketplaceIds={market}&CreatedAfter=2025-01-01T00:00:00Z"
        ))
        .await,
    );
    check(
        &orders_v0,
        "GetOrderResponse",
        &get(format!("/orders/v0/orders/{id}")).await,
    );
    check(
        &orders_v0,
        "GetOrderItemsResponse",
        &get(format!("/orders/v0/orders/{id}/orderItems")).await,
    );

    let list = get("/reports/2021-06-30/reports?reportTypes=GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2&pageSize=2".into()).await;
    check(&reports, "GetReportsResponse", &list);
    let rid = list["reports"][0]["reportId"].as_str().unwrap();
    let report = get(format!("/reports/2021-06-30/reports/{rid}")).await;
    check(&reports, "Report", &report);
    check(
        &reports,
        "ReportDocument",
        &get(format!(
            "/reports/2021-06-30/documents/{}",
            report["reportDocumentId"].as_str().unwrap()
        ))
        .await,
    );
    let created: Value = c
        .post(format!("{}/reports/2021-06-30/reports", sb.sp_api_base_url()))
        .header("x-amz-access-token", &t)
        .json(&json!({"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL", "marketplaceIds": [market]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check(&reports, "CreateReportResponse", &created);
    check(
        &reports,
        "Report",
        &get(format!(
            "/reports/2021-06-30/reports/{}",
            created["reportId"].as_str().unwrap()
        ))
        .await,
    );

    check(
        &finances,
        "ListFinancialEventGroupsResponse",
        &get("/finances/v0/financialEventGroups?MaxResultsPerPage=100".into()).await,
    );
    check(
        &finances_2024,
        "ListTransactionsResponse",
        &get("/finances/2024-06-19/transactions?postedAfter=2025-01-01T00:00:00Z".into()).await,
    );
    check(
        &sellers,
        "GetMarketplaceParticipationsResponse",
        &get("/sellers/v1/marketplaceParticipations".into()).await,
    );

    let sku = sb.world().catalog[0].sku.clone();
    let seller = sb.seller_id();
    let item = get(format!("/listings/2021-08-01/items/{seller}/{sku}?marketplaceIds={market}&includedData=summaries,attributes,offers,fulfillmentAvailability,issues")).await;
    check(&listings, "Item", &item);
    let patched: Value = c
        .patch(format!("{}/listings/2021-08-01/items/{seller}/{sku}?marketplaceIds={market}", sb.sp_api_base_url()))
        .header("x-amz-access-token", &t)
        .json(&json!({"productType": "PRODUCT", "patches": [{"op": "replace", "path": "/attributes/purchasable_offer/0", "value": []}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check(&listings, "ListingsItemSubmissionResponse", &patched);

    let doc: Value = c
        .post(format!(
            "{}/feeds/2021-06-30/documents",
            sb.sp_api_base_url()
        ))
        .header("x-amz-access-token", &t)
        .json(&json!({"contentType": "application/json"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check(&feeds, "CreateFeedDocumentResponse", &doc);
    c.put(doc["url"].as_str().unwrap())
        .header("Content-Type", "application/json")
        .body("{\"header\":{},\"messages\":[]}")
        .send()
        .await
        .unwrap();
    let feed: Value = c
        .post(format!("{}/feeds/2021-06-30/feeds", sb.sp_api_base_url()))
        .header("x-amz-access-token", &t)
        .json(&json!({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [market], "inputFeedDocumentId": doc["feedDocumentId"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check(&feeds, "CreateFeedResponse", &feed);
    sb.advance_clock(chrono::Duration::seconds(10));
    let t = access_token(&sb, &c).await;
    let f: Value = sp_get(
        &sb,
        &c,
        &t,
        &format!(
            "/feeds/2021-06-30/feeds/{}",
            feed["feedId"].as_str().unwrap()
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    check(&feeds, "Feed", &f);
    let fd: Value = sp_get(
        &sb,
        &c,
        &t,
        &format!(
            "/feeds/2021-06-30/documents/{}",
            f["resultFeedDocumentId"].as_str().unwrap()
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    check(&feeds, "FeedDocument", &fd);
    sb.shutdown().await;
}

/// The NA world's orders (sales tax on top, facilitator `TaxCollection`s, USD/CAD/MXN), its
/// marketplaces and its settlements' transactions match Amazon's models too.
#[tokio::test]
async fn na_world_responses_match_the_amazon_models() {
    let Some(orders) = load("orders_2026-01-01.json") else {
        eprintln!("skipping: models not present");
        return;
    };
    let orders_v0 = load("ordersV0.json").unwrap();
    let sellers = load("sellers.json").unwrap();
    let finances_2024 = load("finances_2024-06-19.json").unwrap();
    let sb = Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config_in(sandbox::world::WorldKind::Na, 300)
    })
    .await
    .unwrap();
    let c = client();
    let t = access_token(&sb, &c).await;
    let get = |p: String| {
        let (c, t, sb) = (c.clone(), t.clone(), &sb);
        async move { sp_get(sb, &c, &t, &p).await.json::<Value>().await.unwrap() }
    };
    let search = get("/orders/2026-01-01/orders?createdAfter=2025-01-01T00:00:00Z&maxResultsPerPage=100&includedData=PROCEEDS,TAX,PROMOTION,FULFILLMENT".into()).await;
    check(&orders, "SearchOrdersResponse", &search);
    let facilitated = search["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            o["orderItems"][0]["tax"]["taxCollections"][0]["responsibleParty"]
                == "Amazon Services, Inc."
        })
        .expect("an order whose tax Amazon collects");
    let id = facilitated["orderId"].as_str().unwrap();
    let items = get(format!("/orders/v0/orders/{id}/orderItems")).await;
    check(&orders_v0, "GetOrderItemsResponse", &items);
    assert_eq!(
        items["payload"]["OrderItems"][0]["TaxCollection"]["Model"],
        "MarketplaceFacilitator"
    );
    check(
        &orders_v0,
        "GetOrderResponse",
        &get(format!("/orders/v0/orders/{id}")).await,
    );
    check(
        &sellers,
        "GetMarketplaceParticipationsResponse",
        &get("/sellers/v1/marketplaceParticipations".into()).await,
    );
    check(
        &finances_2024,
        "ListTransactionsResponse",
        &get("/finances/2024-06-19/transactions?postedAfter=2025-01-01T00:00:00Z".into()).await,
    );
    sb.shutdown().await;
}
