//! OData: `$filter` subset with `''` escapes, `$select`, `$orderby`, `$top`/`$skip`, server paging
//! with nextLink in both versions, `Prefer: odata.maxpagesize`, counts, date/time forms.

mod common;

use common::*;
use serde_json::Value;

fn enc(s: &str) -> String {
    s.replace('%', "%25")
        .replace(' ', "%20")
        .replace('\'', "%27")
        .replace('"', "%22")
        .replace('#', "%23")
        .replace('&', "%26")
}

#[tokio::test]
async fn default_page_is_20_with_relative_next_link_in_v2_and_absolute_path_in_v1() {
    let sb = start(600).await;
    let c = client();
    let items = sb.sap_count("Items");
    assert!(items > 40, "{items}");
    let cookie = login(&sb, &c, "v2").await;
    let (s, body) = sap_get(&sb, &c, &cookie, "v2", "Items?$select=ItemCode").await;
    assert_eq!(s, 200);
    assert_eq!(body["value"].as_array().unwrap().len(), 20);
    assert_eq!(body["@odata.nextLink"], "Items?$select=ItemCode&$skip=20");
    // follow every page
    let mut seen = 0;
    let mut next = Some("Items?$select=ItemCode".to_string());
    while let Some(n) = next {
        let (_, b) = sap_get(&sb, &c, &cookie, "v2", &n).await;
        seen += b["value"].as_array().unwrap().len();
        next = b["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen, items);
    let cookie1 = login(&sb, &c, "v1").await;
    let (_, body) = sap_get(&sb, &c, &cookie1, "v1", "Items?$select=ItemCode").await;
    assert_eq!(
        body["odata.nextLink"],
        "/b1s/v1/Items?$select=ItemCode&$skip=20"
    );
    assert!(
        body["odata.metadata"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#Items")
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn maxpagesize_top_and_skip_interact_like_sap() {
    let sb = start(400).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let r = c
        .get(format!(
            "{}/Items?$select=ItemCode&$top=7&$skip=3&$orderby=ItemCode desc",
            sb.sap_base_url()
        ))
        .header("Cookie", &cookie)
        .header("Prefer", "odata.maxpagesize=5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["preference-applied"], "odata.maxpagesize=5");
    let body: Value = r.json().await.unwrap();
    let page1: Vec<String> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["ItemCode"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page1.len(), 5);
    let mut sorted = page1.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(page1, sorted);
    let next = body["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.contains("$top=2") && next.contains("$skip=8"),
        "{next}"
    );
    let (_, b2) = sap_get(&sb, &c, &cookie, "v2", next).await;
    assert_eq!(b2["value"].as_array().unwrap().len(), 2);
    assert!(b2.get("@odata.nextLink").is_none());
    // $top without paging headers still pages at 20
    let (_, b3) = sap_get(&sb, &c, &cookie, "v2", "Items?$top=30&$select=ItemCode").await;
    assert_eq!(b3["value"].as_array().unwrap().len(), 20);
    assert!(b3["@odata.nextLink"].as_str().unwrap().contains("$top=10"));
    sb.shutdown().await;
}

#[tokio::test]
async fn filter_with_doubled_quotes_finds_skus_with_quotes_and_spaces() {
    let sb = start(100).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let code = sb
        .world()
        .catalog
        .iter()
        .find(|p| p.item_code.contains('\''))
        .unwrap()
        .item_code
        .clone();
    let filter = format!("ItemCode eq '{}'", code.replace('\'', "''"));
    let (s, body) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        &format!("Items?$filter={}&$select=ItemCode,ItemName", enc(&filter)),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let v = body["value"].as_array().unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["ItemCode"], code.as_str());
    let keys: Vec<&String> = v[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["@odata.etag", "ItemCode", "ItemName"],
        "$select trims the entity (the ETag stays)"
    );
    // single key access with the same escaping
    let (s, one) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        &format!("Items('{}')", enc(&code.replace('\'', "''"))),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(one["ItemCode"], code.as_str());
    assert!(
        one["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#Items/$entity")
    );
    // an unescaped quote is a syntax error, not a match
    let bad = format!("ItemCode eq '{code}'");
    let (s, _) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        &format!("Items?$filter={}", enc(&bad)),
    )
    .await;
    assert_eq!(s, 400);
    sb.shutdown().await;
}

#[tokio::test]
async fn filter_operators_functions_and_counts() {
    let sb = start(200).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let f = "startswith(ItemCode,'TM-') and not (ItemCode eq 'TM-MUG-0000') or CardCode eq null";
    let (s, body) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        &format!("Items?$filter={}&$count=true&$select=ItemCode", enc(f)),
    )
    .await;
    assert_eq!(s, 400, "CardCode is not an Item property: {body}");
    assert_eq!(body["error"]["code"], "-1000");
    let f = "startswith(ItemCode,'TM-') and not (ItemCode eq 'TM-MUG-0000')";
    let (_, body) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        &format!("Items?$filter={}&$count=true&$select=ItemCode", enc(f)),
    )
    .await;
    let expected = sb
        .world()
        .catalog
        .iter()
        .filter(|p| p.item_code.starts_with("TM-") && p.item_code != "TM-MUG-0000")
        .count();
    assert_eq!(body["@odata.count"], expected);
    let r = c
        .get(format!(
            "{}/Items/$count?$filter={}",
            sb.sap_base_url(),
            enc("contains(ItemCode,'AMZ')")
        ))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.text().await.unwrap(),
        "0",
        "mapped SKUs are not ItemCodes"
    );
    let (_, body) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        &format!(
            "BusinessPartners?$filter={}",
            enc("CardType eq 'cCustomer' and Frozen eq 'tNO'")
        ),
    )
    .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 3);
    let cookie1 = login(&sb, &c, "v1").await;
    let (_, body) = sap_get(
        &sb,
        &c,
        &cookie1,
        "v1",
        &format!(
            "Warehouses?$inlinecount=allpages&$filter={}",
            enc("substringof('BA',WarehouseCode)")
        ),
    )
    .await;
    assert_eq!(body["odata.count"], "1", "v1 inline count is a string");
    sb.shutdown().await;
}

#[tokio::test]
async fn dates_render_per_version_and_filter_by_day_and_minute() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (s, inv) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "K1"),
    )
    .await;
    assert_eq!(s, 201, "{inv}");
    assert_eq!(inv["DocDate"], "2026-03-09T00:00:00Z");
    let update_time = inv["UpdateTime"].as_str().unwrap().to_string();
    let cookie1 = login(&sb, &c, "v1").await;
    let (_, inv1) = sap_get(
        &sb,
        &c,
        &cookie1,
        "v1",
        &format!("Invoices({})", inv["DocEntry"]),
    )
    .await;
    assert_eq!(inv1["DocDate"], "2026-03-09");
    for f in [
        "DocDate eq '2026-03-09'",
        "DocDate eq '20260309'",
        "DocDate ge '2026-03-09T00:00:00Z'",
        "DocDate eq datetime'2026-03-09T15:00:00'",
    ] {
        let (_, b) = sap_get(
            &sb,
            &c,
            &cookie,
            "v2",
            &format!("Invoices?$filter={}", enc(f)),
        )
        .await;
        assert_eq!(b["value"].as_array().map(Vec::len), Some(1), "{f}: {b}");
    }
    // UpdateTime filters honour hours and minutes only
    let minute = &update_time[..5];
    let f = format!(
        "UpdateDate eq '{}' and UpdateTime ge '{minute}'",
        inv["UpdateDate"].as_str().unwrap()
    );
    let (_, b) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        &format!("Invoices?$filter={}", enc(&f)),
    )
    .await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1, "{f}");
    sb.shutdown().await;
}

#[tokio::test]
async fn v1_filters_accept_enum_values_as_well_as_names() {
    let sb = start(20).await;
    let c = client();
    let cookie1 = login(&sb, &c, "v1").await;
    let (_, by_name) = sap_get(
        &sb,
        &c,
        &cookie1,
        "v1",
        &format!(
            "BusinessPartners?$filter={}",
            enc("CardType eq 'cCustomer'")
        ),
    )
    .await;
    let (_, by_letter) = sap_get(
        &sb,
        &c,
        &cookie1,
        "v1",
        &format!("BusinessPartners?$filter={}", enc("CardType eq 'C'")),
    )
    .await;
    assert_eq!(by_name["value"].as_array().unwrap().len(), 4);
    assert_eq!(by_name["value"], by_letter["value"]);
    assert_eq!(
        by_letter["value"][0]["CardType"], "cCustomer",
        "JSON uses names in both versions"
    );
    let cookie2 = login(&sb, &c, "v2").await;
    let (_, v2) = sap_get(
        &sb,
        &c,
        &cookie2,
        "v2",
        &format!(
            "BusinessPartners?$filter={}",
            enc("CardType eq SAPB1.BoCardTypes'cSupplier'")
        ),
    )
    .await;
    assert_eq!(v2["value"].as_array().unwrap().len(), 1);
    sb.shutdown().await;
}
