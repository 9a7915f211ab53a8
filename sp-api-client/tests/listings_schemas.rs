//! Every listings document the client sends, checked with a JSON Schema validator against
//! Amazon's own schemas in `../shared/reference/sp-api`: each `patchListingsItem` body against
//! `ListingsItemPatchRequest` of the Listings Items model, and the `JSON_LISTINGS_FEED` document
//! (as uploaded) against `listings-feed-schema-v2.json`, each of its messages against
//! `listings-feed-message-schema-v2.json`. The bodies are taken from what reached the server, so
//! a change anywhere between the builders and the wire is caught. The connector's items flow
//! builds its patches and feeds with these same constructors (`price`, `quantity`, `and`).

mod common;

use common::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sp_api_client::feeds::{ListingsFeed, ListingsFeedMessage};
use sp_api_client::listings::{ListingsItemPatchRequest, PatchMode, PatchOp};
use sp_api_client::{Money, Sku};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A validator for one definition of a Swagger 2.0 model (its `definitions` are JSON Schema).
fn model_validator(model: &str, definition: &str) -> Option<jsonschema::Validator> {
    let model: Value = serde_json::from_str(&reference(&format!("sp-api/models/{model}"))?).ok()?;
    let schema = json!({
        "definitions": model["definitions"],
        "allOf": [{"$ref": format!("#/definitions/{definition}")}],
    });
    Some(jsonschema::draft4::new(&schema).expect("the model's definitions compile"))
}

/// A validator for one of Amazon's draft-07 JSON Schemas.
fn schema_validator(file: &str) -> Option<jsonschema::Validator> {
    let schema: Value =
        serde_json::from_str(&reference(&format!("sp-api/schemas/{file}"))?).unwrap();
    Some(jsonschema::draft7::new(&schema).expect("Amazon's schema compiles"))
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Every kind of patch the client (and the connector through it) builds.
fn every_patch() -> Vec<(&'static str, ListingsItemPatchRequest)> {
    let eur = Money::new(Decimal::new(1999, 2), "EUR");
    let big = Money::new("12345678901234.10".parse().unwrap(), "GBP");
    vec![
        (
            "price",
            ListingsItemPatchRequest::price("PRODUCT", "A1PA6795UKMFR9", &eur),
        ),
        (
            "big price",
            ListingsItemPatchRequest::price("LUGGAGE", "A1F83G8C2ARO7P", &big),
        ),
        (
            "quantity",
            ListingsItemPatchRequest::quantity("PRODUCT", 20),
        ),
        (
            "quantity 0",
            ListingsItemPatchRequest::quantity("PRODUCT", 0),
        ),
        (
            "price and quantity",
            ListingsItemPatchRequest::price("PRODUCT", "A13V1IB3VIYZZH", &eur)
                .and(ListingsItemPatchRequest::quantity("PRODUCT", 3)),
        ),
        (
            "replace",
            ListingsItemPatchRequest::price("PRODUCT", "A1PA6795UKMFR9", &eur)
                .with_op(PatchOp::Replace),
        ),
    ]
}

async fn accept_everything(server: &MockServer) {
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sku": "SKU-1", "status": "ACCEPTED", "submissionId": "s-1", "issues": []
        })))
        .mount(server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn every_patch_body_sent_validates_against_the_listings_model() {
    let Some(validator) =
        model_validator("listingsItems_2021-08-01.json", "ListingsItemPatchRequest")
    else {
        return;
    };
    // The validator is not vacuous: a patch without path and value, an unknown op.
    assert!(
        !errors(
            &validator,
            &json!({"productType": "P", "patches": [{"op": "upsert"}]})
        )
        .is_empty()
    );
    assert!(!errors(&validator, &json!({"patches": []})).is_empty());

    let server = server().await;
    mount_lwa(&server, 1).await;
    accept_everything(&server).await;
    let client = client(&server);
    let sku = Sku::from("SKU-1");
    let patches = every_patch();
    for (_, patch) in &patches {
        client
            .patch_listings_item(&sku, "A1PA6795UKMFR9", patch, PatchMode::Apply)
            .await
            .unwrap();
    }
    let eur = Money::new(Decimal::new(5, 2), "EUR");
    client
        .set_price(
            &sku,
            "A1PA6795UKMFR9",
            "PRODUCT",
            &eur,
            PatchMode::ValidationPreview,
        )
        .await
        .unwrap();
    client
        .set_quantity(&sku, "A1PA6795UKMFR9", "PRODUCT", 1, PatchMode::Apply)
        .await
        .unwrap();

    let sent: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(sent.len(), patches.len() + 2);
    for body in &sent {
        let errs = errors(&validator, body);
        assert!(errs.is_empty(), "{errs:#?}\n{body}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_json_listings_feed_uploaded_validates_against_amazons_feed_schema() {
    let (Some(feed_schema), Some(message_schema)) = (
        schema_validator("listings-feed-schema-v2.json"),
        schema_validator("listings-feed-message-schema-v2.json"),
    ) else {
        return;
    };
    // Amazon's own example passes, and a feed of another version does not.
    let example: Value = serde_json::from_str(
        &reference("sp-api/schemas/listings-feed-schema-v2.example.json").unwrap(),
    )
    .unwrap();
    assert_eq!(errors(&feed_schema, &example), Vec::<String>::new());
    let mut wrong = example.clone();
    wrong["header"]["version"] = json!("1.0");
    assert!(!errors(&feed_schema, &wrong).is_empty());

    let messages: Vec<ListingsFeedMessage> = every_patch()
        .into_iter()
        .enumerate()
        .map(|(i, (_, p))| {
            ListingsFeedMessage::patch(i as u32 + 1, Sku::from(format!("SKU \"{i}\"").as_str()), p)
        })
        .collect();
    let feed = ListingsFeed {
        seller_id: "A2SELLER".into(),
        messages,
    };

    let server = server().await;
    mount_lwa(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/documents"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "feedDocumentId": "in-doc", "url": format!("{}/s3/upload", server.uri())
        })))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/s3/upload"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/feeds"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"feedId": "F1"})))
        .mount(&server)
        .await;
    client(&server)
        .submit_listings_feed(&feed, "A1PA6795UKMFR9")
        .await
        .unwrap();
    let uploaded: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(uploaded.len(), 1);
    let document = &uploaded[0];
    let errs = errors(&feed_schema, document);
    assert!(errs.is_empty(), "{errs:#?}\n{document}");
    let sent = document["messages"].as_array().unwrap();
    assert_eq!(sent.len(), every_patch().len());
    for message in sent {
        let errs = errors(&message_schema, message);
        assert!(errs.is_empty(), "{errs:#?}\n{message}");
    }
}
