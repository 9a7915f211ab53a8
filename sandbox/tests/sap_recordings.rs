//! The sandbox's own Service Layer answers against real ones: the vcrpy recordings of a real
//! SL v2 in `../shared/reference/sap-b1` (login, one item, a page of five items), field by field:
//! every field the sandbox sends must exist in the real answer with the same JSON type (nulls
//! in the recording say nothing about the type), the fields the connector reads must be there,
//! and so must the headers that matter (Content-Type, ETag, OData-Version). There is no real
//! error recording: the error is checked against the v2 shape the notes quote (WSL p23,
//! `{"error":{"code":"…","message":"…"}}` with string code and message).

mod common;

use common::vcr::{response_bodies, response_headers};
use common::*;
use serde_json::Value;

const LOGIN_AND_ITEM: &str = "sap-b1/vcr-v2-login-and-get-item.yaml";
const LIST_ITEMS: &str = "sap-b1/vcr-v2-list-items-top5.yaml";

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences of `ours` from `real`: fields the real answer lacks (UDFs `U_*` aside, the
/// entity types are open) and type mismatches, recursing into objects and the first element of
/// arrays.
fn compare(ours: &Value, real: &Value, at: &str, out: &mut Vec<String>) {
    match (ours, real) {
        (_, Value::Null) | (Value::Null, _) => {}
        (Value::Object(o), Value::Object(r)) => {
            for (k, v) in o {
                match r.get(k) {
                    Some(rv) => compare(v, rv, &format!("{at}.{k}"), out),
                    None if k.starts_with("U_") => {}
                    None => out.push(format!("{at}.{k}: not in the real answer")),
                }
            }
        }
        (Value::Array(o), Value::Array(r)) => {
            if let (Some(o), Some(r)) = (o.first(), r.first()) {
                compare(o, r, &format!("{at}[0]"), out);
            }
        }
        (o, r) if kind(o) != kind(r) => out.push(format!(
            "{at}: {} here, {} in the real answer ({o} vs {r})",
            kind(o),
            kind(r)
        )),
        _ => {}
    }
}

fn assert_same_shape(ours: &Value, real: &Value, what: &str) {
    let mut out = Vec::new();
    compare(ours, real, what, &mut out);
    assert!(out.is_empty(), "{what}: {out:#?}");
}

/// The fields of an Item the connector reads; both answers must have them.
const ITEM_FIELDS: &[&str] = &[
    "@odata.etag",
    "ItemCode",
    "ItemName",
    "Valid",
    "Frozen",
    "UpdateDate",
    "UpdateTime",
    "ItemPrices",
    "ItemWarehouseInfoCollection",
];

fn assert_item_like(ours: &Value, real: &Value, what: &str) {
    for f in ITEM_FIELDS {
        assert!(!real[f].is_null(), "{what}: the recording has {f}");
        assert!(
            !ours[f].is_null(),
            "{what}: the sandbox sends no {f}\n{ours}"
        );
    }
    for f in ["PriceList", "Price", "Currency"] {
        assert!(
            ours["ItemPrices"][0].get(f).is_some(),
            "{what}: ItemPrices[0].{f}"
        );
    }
    for f in ["WarehouseCode", "InStock", "Committed", "Ordered"] {
        assert!(
            ours["ItemWarehouseInfoCollection"][0].get(f).is_some(),
            "{what}: ItemWarehouseInfoCollection[0].{f}"
        );
    }
    // v2 dates and times as the real server writes them.
    let date = ours["UpdateDate"].as_str().unwrap();
    assert!(
        date.len() == 20 && date.ends_with("T00:00:00Z"),
        "{what}: UpdateDate {date}"
    );
    let time = ours["UpdateTime"].as_str().unwrap();
    assert!(
        time.len() == 8 && time.as_bytes()[2] == b':',
        "{what}: UpdateTime {time}"
    );
    assert_same_shape(ours, real, what);
}

fn media_type(v: &str) -> String {
    v.to_ascii_lowercase().replace(' ', "")
}

#[tokio::test]
async fn login_item_page_and_error_look_like_the_real_service_layer() {
    let (Some(login_item), Some(list)) = (reference(LOGIN_AND_ITEM), reference(LIST_ITEMS)) else {
        return;
    };
    let bodies = response_bodies(&login_item);
    let real_login: Value = serde_json::from_str(&bodies[0]).unwrap();
    let real_item: Value = serde_json::from_str(&bodies[1]).unwrap();
    let real_page: Value = serde_json::from_str(&response_bodies(&list)[0]).unwrap();
    let real_ctype = response_headers(&login_item, "Content-Type");
    let real_etag = response_headers(&login_item, "ETag");
    let real_odata = response_headers(&login_item, "OData-Version");

    let sb = start(20).await;
    let c = client();
    let cr = sb.credentials();
    let base = sb.sap_base_url();

    // Login.
    let r = c
        .post(format!("{base}/Login"))
        .json(&serde_json::json!({"CompanyDB": cr.sap_company_db, "UserName": cr.sap_user, "Password": cr.sap_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(
        media_type(&ctype),
        media_type(real_ctype[0].as_deref().unwrap()),
        "login Content-Type"
    );
    let login: Value = r.json().await.unwrap();
    for f in ["@odata.context", "SessionId", "Version", "SessionTimeout"] {
        assert!(login.get(f).is_some(), "login: no {f} in {login}");
    }
    assert_same_shape(&login, &real_login, "login");
    assert!(
        login["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#B1Sessions/$entity"),
        "{login}"
    );

    // One item.
    let cookie = login_cookie(&sb, &c).await;
    let code = sb.world().catalog[0].item_code.clone();
    let r = c
        .get(format!("{base}/Items('{code}')"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        media_type(r.headers()["content-type"].to_str().unwrap()),
        media_type(real_ctype[1].as_deref().unwrap()),
        "item Content-Type"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(real_etag[1].as_deref().unwrap().starts_with("W/\""));
    assert!(
        etag.starts_with("W/\"") && etag.ends_with('"'),
        "ETag {etag}"
    );
    assert_eq!(
        r.headers()["odata-version"].to_str().unwrap(),
        real_odata[1].as_deref().unwrap()
    );
    let item: Value = r.json().await.unwrap();
    assert_eq!(item["@odata.etag"].as_str(), Some(etag.as_str()));
    assert_item_like(&item, &real_item, "item");

    // A page of items.
    let r = c
        .get(format!("{base}/Items?$top=5"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert!(
        page["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#Items")
    );
    let (ours, real) = (
        page["value"].as_array().unwrap(),
        real_page["value"].as_array().unwrap(),
    );
    assert_eq!(ours.len(), 5);
    assert_eq!(real.len(), 5);
    for (i, it) in ours.iter().enumerate() {
        assert_item_like(it, &real[i % real.len()], &format!("page[{i}]"));
    }
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let mut top: Vec<String> = keys(&page)
        .into_iter()
        .filter(|k| k != "@odata.nextLink")
        .collect();
    let mut real_top = keys(&real_page);
    top.sort();
    real_top.sort();
    assert_eq!(top, real_top, "page envelope");

    // An error: the v2 shape, string code and string message.
    let r = c
        .get(format!("{base}/Items('no-such-item')"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let err: Value = r.json().await.unwrap();
    let e = err["error"].as_object().expect("error object");
    assert!(e["code"].is_string(), "{err}");
    assert!(e["message"].is_string(), "{err}");
    assert!(
        e.keys()
            .all(|k| ["code", "message", "details"].contains(&k.as_str())),
        "{err}"
    );
    sb.shutdown().await;
}

async fn login_cookie(sb: &sandbox::Sandbox, c: &reqwest::Client) -> String {
    login(sb, c, "v2").await
}
