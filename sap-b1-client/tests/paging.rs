//! Paging over nextLinks in both annotation styles and all link forms.

mod common;

use common::*;
use futures::TryStreamExt;
use sap_b1_client::entities::Item;
use sap_b1_client::{Error, Query, prop};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Copy, Debug)]
enum LinkForm {
    Relative,
    AbsolutePath,
    AbsoluteUrl,
}

fn link(server: &MockServer, form: LinkForm, skip: u32) -> String {
    let tail = format!("Items?$filter=startswith(ItemCode, 'A')&$skip={skip}");
    match form {
        LinkForm::Relative => tail,
        LinkForm::AbsolutePath => format!("/b1s/v2/{tail}"),
        LinkForm::AbsoluteUrl => format!("{}/b1s/v2/{tail}", server.uri()),
    }
}

async fn three_pages(annotation: &str, form: LinkForm) {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    let page = |codes: &[&str], next: Option<String>| {
        let mut body = serde_json::json!({
            "value": codes.iter().map(|c| item_json(c)).collect::<Vec<_>>(),
        });
        if let Some(next) = next {
            body[annotation] = serde_json::Value::String(next);
        }
        ResponseTemplate::new(200).set_body_json(body)
    };
    let items = || {
        Mock::given(method("GET"))
            .and(path(format!("{BASE}Items")))
            .and(query_param("$filter", "startswith(ItemCode, 'A')"))
            .and(header("Prefer", "odata.maxpagesize=2"))
            .and(header("Cookie", cookie("s1").as_str()))
    };
    items()
        .and(query_param_is_missing("$skip"))
        .respond_with(page(&["A1", "A2"], Some(link(&server, form, 2))))
        .expect(1)
        .mount(&server)
        .await;
    items()
        .and(query_param("$skip", "2"))
        .respond_with(page(&["A3", "A4"], Some(link(&server, form, 4))))
        .expect(1)
        .mount(&server)
        .await;
    items()
        .and(query_param("$skip", "4"))
        .respond_with(page(&["A5"], None))
        .expect(1)
        .mount(&server)
        .await;

    let query = Query::new()
        .filter(prop("ItemCode").starts_with("A"))
        .page_size(2);
    let all: Vec<Item> = client(&server)
        .items()
        .stream(&query)
        .try_collect()
        .await
        .unwrap();
    let codes: Vec<_> = all.iter().filter_map(|i| i.item_code.as_deref()).collect();
    assert_eq!(
        codes,
        ["A1", "A2", "A3", "A4", "A5"],
        "{annotation} {form:?}"
    );
}

#[tokio::test]
async fn v2_style_relative_links() {
    three_pages("@odata.nextLink", LinkForm::Relative).await;
}

#[tokio::test]
async fn v2_style_absolute_urls() {
    three_pages("@odata.nextLink", LinkForm::AbsoluteUrl).await;
}

#[tokio::test]
async fn v1_style_relative_links() {
    three_pages("odata.nextLink", LinkForm::Relative).await;
}

#[tokio::test]
async fn v1_style_absolute_paths() {
    three_pages("odata.nextLink", LinkForm::AbsolutePath).await;
}

#[tokio::test]
async fn v1_style_absolute_urls() {
    three_pages("odata.nextLink", LinkForm::AbsoluteUrl).await;
}

#[tokio::test]
async fn page_at_a_time_with_string_count() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items")))
        .and(query_param_is_missing("$skip"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "odata.count": "3", "value": [item_json("A1")], "odata.nextLink": "Items?$skip=1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items")))
        .and(query_param("$skip", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.count": 3, "value": [item_json("A2")]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let items = client(&server).items();
    let first = items.page(&Query::new()).await.unwrap();
    assert_eq!(
        (first.items.len(), first.count, first.has_next()),
        (1, Some(3), true)
    );
    let second = items.next_page(&first).await.unwrap().unwrap();
    assert_eq!((second.count, second.has_next()), (Some(3), false));
    assert!(items.next_page(&second).await.unwrap().is_none());
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused_before_sending_cookies() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "value": [item_json("A1")], "@odata.nextLink": "https://evil.example/b1s/v2/Items?$skip=1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let results: Vec<_> =
        futures::StreamExt::collect::<Vec<_>>(client(&server).items().stream(&Query::new())).await;
    assert!(results[0].is_ok());
    assert!(
        matches!(results[1], Err(Error::UnexpectedResponse { .. })),
        "{:?}",
        results[1]
    );
}

#[tokio::test]
async fn count_reads_a_plain_number() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items/$count")))
        .and(query_param("$filter", "Valid eq 'tYES'"))
        .respond_with(ResponseTemplate::new(200).set_body_string("1234"))
        .expect(1)
        .mount(&server)
        .await;
    let n = client(&server)
        .items()
        .count(&Query::new().filter(prop("Valid").eq(sap_b1_client::entities::YesNo::Yes)))
        .await
        .unwrap();
    assert_eq!(n, 1234);
}

#[tokio::test]
async fn a_malformed_record_is_an_error_naming_it_and_the_stream_goes_on() {
    use futures::StreamExt;
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    let mut bad = item_json("B'2");
    bad["QuantityOnStock"] = serde_json::json!({"not": "a number"});
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"value": [item_json("B1"), bad, item_json("B3")]}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let all: Vec<Result<Item, Error>> = client(&server)
        .items()
        .stream(&Query::new())
        .collect()
        .await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].as_ref().unwrap().item_code.as_deref(), Some("B1"));
    assert_eq!(all[2].as_ref().unwrap().item_code.as_deref(), Some("B3"));
    let Err(Error::Parse {
        context,
        json_path,
        body,
        ..
    }) = &all[1]
    else {
        panic!("{:?}", all[1])
    };
    assert_eq!(context, "Items record 1 (ItemCode \"B'2\")");
    assert_eq!(json_path, "QuantityOnStock");
    assert!(body.contains("not"), "the record's JSON is kept");
}
