//! Listings: SKU encoding, one marketplace per call, preview mode, typed issues, and patch
//! bodies that validate against the Listings Items model's schema.

mod common;

use common::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sp_api_client::listings::{
    IssueSeverity, ListingsIncludedData, ListingsItem, ListingsItemPatchRequest,
    ListingsItemSubmissionResponse, PatchMode, SubmissionStatus,
};
use sp_api_client::{Error, Money, Sku};
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const MODEL: &str = "listingsItems_2021-08-01.json";
const MODEL_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/sp-api/models/listingsItems_2021-08-01.json"
));

/// A small validator for the Swagger 2.0 subset the Listings model uses.
fn validate(defs: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        return validate(defs, &defs[name], value, at, errors);
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {t}, got {value}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        errors.push(format!("{at}: {value} not in {e:?}"));
    }
    if let Some(obj) = value.as_object() {
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(req.as_str().unwrap()) {
                errors.push(format!("{at}: missing required {req}"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(defs, s, v, &format!("{at}.{k}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: unexpected property {k}"))
                }
                None => {}
            }
        }
    }
    if let Some(arr) = value.as_array() {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (arr.len() as u64) < min
        {
            errors.push(format!("{at}: fewer than {min} items"));
        }
        if let Some(items) = schema.get("items") {
            for (i, v) in arr.iter().enumerate() {
                validate(defs, items, v, &format!("{at}[{i}]"), errors);
            }
        }
    }
}

fn assert_valid_patch_body(body: &Value) {
    let model: Value = serde_json::from_str(MODEL_JSON).unwrap();
    let defs = &model["definitions"];
    let mut errors = Vec::new();
    validate(
        defs,
        &json!({"$ref": "#/definitions/ListingsItemPatchRequest"}),
        body,
        "$",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:#?}\n{body}");
    // And the validator does catch a broken body.
    let mut broken = Vec::new();
    validate(
        defs,
        &json!({"$ref": "#/definitions/ListingsItemPatchRequest"}),
        &json!({"patches": [{"op": "upsert"}]}),
        "$",
        &mut broken,
    );
    assert_eq!(broken.len(), 3, "{broken:?}");
}

#[test]
fn price_and_quantity_patches_validate_against_the_model_schema() {
    let price = ListingsItemPatchRequest::price(
        "LUGGAGE",
        "ATVPDKIKX0DER",
        &Money::new(Decimal::new(1549, 2), "USD"),
    );
    let body: Value = serde_json::to_value(&price).unwrap();
    assert_valid_patch_body(&body);
    assert_eq!(
        body,
        json!({"productType": "LUGGAGE", "patches": [{
            "op": "merge",
            "path": "/attributes/purchasable_offer",
            "value": [{"marketplace_id": "ATVPDKIKX0DER", "currency": "USD", "audience": "ALL",
                       "our_price": [{"schedule": [{"value_with_tax": 15.49}]}]}]
        }]})
    );
    // The number is written exactly as the decimal's text, never via a float.
    let text = serde_json::to_string(&ListingsItemPatchRequest::price(
        "PRODUCT",
        "A1PA6795UKMFR9",
        &Money::new("12345678901234.10".parse().unwrap(), "EUR"),
    ))
    .unwrap();
    assert!(
        text.contains(r#""value_with_tax":12345678901234.1"#),
        "{text}"
    );

    let qty = ListingsItemPatchRequest::quantity("PRODUCT", 20);
    let body: Value = serde_json::to_value(&qty).unwrap();
    assert_valid_patch_body(&body);
    assert_eq!(
        body["patches"][0],
        json!({"op": "merge", "path": "/attributes/fulfillment_availability",
               "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 20}]})
    );
}

#[tokio::test(start_paused = true)]
async fn patch_encodes_the_sku_and_previews_with_typed_issues() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let invalid = sandbox_response(MODEL, "patchListingsItem", "200", 2);
    Mock::given(method("PATCH"))
        .and(path("/listings/2021-08-01/items/A2SELLER/AB%2F12%20%23x"))
        .and(query_param("marketplaceIds", "A1PA6795UKMFR9"))
        .and(query_param("mode", "VALIDATION_PREVIEW"))
        .and(query_param("includedData", "issues,identifiers"))
        .and(body_json(json!({"productType": "PRODUCT", "patches": [{
            "op": "merge", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(invalid))
        .expect(1)
        .mount(&server)
        .await;
    let response = client(&server)
        .set_quantity(
            &Sku::from("AB/12 #x"),
            "A1PA6795UKMFR9",
            "PRODUCT",
            7,
            PatchMode::ValidationPreview,
        )
        .await
        .unwrap();
    assert_eq!(response.status, SubmissionStatus::Invalid);
    assert!(!response.is_ok());
    assert_eq!(response.issues[0].severity, IssueSeverity::Error);
    assert_eq!(response.issues[0].attribute_names, ["fake_attribute"]);
}

#[tokio::test(start_paused = true)]
async fn patch_apply_sends_no_mode_and_is_not_retried_on_server_error() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("PATCH"))
        .and(path("/listings/2021-08-01/items/A2SELLER/SKU-1"))
        .and(query_param_is_missing("mode"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .set_price(
            &Sku::from("SKU-1"),
            "A1PA6795UKMFR9",
            "PRODUCT",
            &Money::new(Decimal::new(999, 2), "EUR"),
            PatchMode::Apply,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn patch_is_retried_after_429_because_amazon_did_not_process_it() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("PATCH"))
        .and(path("/listings/2021-08-01/items/A2SELLER/SKU-1"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    let accepted = sandbox_response(MODEL, "patchListingsItem", "200", 0);
    Mock::given(method("PATCH"))
        .and(path("/listings/2021-08-01/items/A2SELLER/SKU-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(accepted))
        .expect(1)
        .mount(&server)
        .await;
    let r = client(&server)
        .set_quantity(
            &Sku::from("SKU-1"),
            "A1PA6795UKMFR9",
            "PRODUCT",
            3,
            PatchMode::Apply,
        )
        .await
        .unwrap();
    assert_eq!(r.status, SubmissionStatus::Accepted);
}

#[tokio::test(start_paused = true)]
async fn get_listings_item_reads_price_and_quantity() {
    let server = server().await;
    mount_lwa(&server, 1).await;
    let item = sandbox_response(MODEL, "getListingsItem", "200", 0);
    Mock::given(method("GET"))
        .and(path("/listings/2021-08-01/items/A2SELLER/GM-ZDPI-9B4E"))
        .and(query_param("marketplaceIds", "ATVPDKIKX0DER"))
        .and(query_param(
            "includedData",
            "summaries,offers,fulfillmentAvailability,issues",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(item))
        .expect(1)
        .mount(&server)
        .await;
    let item = client(&server)
        .get_listings_item(
            &Sku::from("GM-ZDPI-9B4E"),
            "ATVPDKIKX0DER",
            &[
                ListingsIncludedData::Summaries,
                ListingsIncludedData::Offers,
                ListingsIncludedData::FulfillmentAvailability,
                ListingsIncludedData::Issues,
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        item.price_in("ATVPDKIKX0DER").unwrap().amount,
        Decimal::new(10000, 2)
    );
    assert_eq!(item.merchant_quantity(), Some(100));
    assert_eq!(item.summaries[0].product_type, "LUGGAGE");
}

#[test]
fn listings_requests_need_a_seller_id_and_top_level_paths() {
    let mut patch = ListingsItemPatchRequest::quantity("PRODUCT", 1);
    patch.patches[0].path = "/attributes/purchasable_offer/0".into();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = server().await;
        let client = builder(&server).build().unwrap();
        let err = client
            .patch_listings_item(&Sku::from("S"), "A1PA6795UKMFR9", &patch, PatchMode::Apply)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(ref m) if m.contains("top-level")),
            "{err:?}"
        );
    });
}

#[test]
fn every_listings_sandbox_example_deserialises() {
    for (status, _, response) in sandbox_cases(MODEL, "getListingsItem") {
        if status == "200" {
            serde_json::from_value::<ListingsItem>(response).unwrap();
        }
    }
    for (status, _, response) in sandbox_cases(MODEL, "patchListingsItem") {
        if status == "200" {
            serde_json::from_value::<ListingsItemSubmissionResponse>(response).unwrap();
        }
    }
}
