//! The real v2 recordings (login, one item, five items) deserialise through the client.

mod common;

use chrono::{NaiveDate, NaiveTime};
use common::*;
use sap_b1_client::Query;
use sap_b1_client::entities::{Item, SapDate, SapTime, YesNo};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const LOGIN_AND_ITEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/sap-b1/vcr-v2-login-and-get-item.yaml"
));
const LIST_ITEMS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/sap-b1/vcr-v2-list-items-top5.yaml"
));

/// The response bodies of a vcrpy cassette, in order (`string:` scalars, YAML-unquoted).
fn response_bodies(yaml: &str) -> Vec<String> {
    yaml.match_indices("      string: ")
        .map(|(i, m)| {
            let rest = &yaml[i + m.len()..];
            match rest.chars().next() {
                Some('\'') => single_quoted(&rest[1..]),
                Some('"') => double_quoted(&rest[1..]),
                _ => panic!("unexpected scalar style"),
            }
        })
        .collect()
}

fn fold_line_break<I: Iterator<Item = char>>(chars: &mut std::iter::Peekable<I>, out: &mut String) {
    while out.ends_with([' ', '\t']) {
        out.pop();
    }
    while matches!(chars.peek(), Some(' ' | '\t')) {
        chars.next();
    }
    out.push(' ');
}

fn single_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\'' => return out,
            '\n' => fold_line_break(&mut chars, &mut out),
            c => out.push(c),
        }
    }
    panic!("unterminated single-quoted scalar")
}

fn double_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => return out,
            '\\' => match chars.next().expect("escape") {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                ' ' => out.push(' '),
                '\n' => {
                    while matches!(chars.peek(), Some(' ' | '\t')) {
                        chars.next();
                    }
                }
                'u' => {
                    let hex: String = (0..4).map(|_| chars.next().unwrap()).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                other => panic!("unsupported escape \\{other}"),
            },
            '\n' => fold_line_break(&mut chars, &mut out),
            c => out.push(c),
        }
    }
    panic!("unterminated double-quoted scalar")
}

#[tokio::test]
async fn recorded_v2_login_and_item_deserialise() {
    let bodies = response_bodies(LOGIN_AND_ITEM);
    assert_eq!(bodies.len(), 2);
    let server = server().await;
    // The recorder redacted Set-Cookie; the client falls back to SessionId as B1SESSION.
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Login")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            bodies[0].clone(),
            "application/json;odata.metadata=minimal;charset=utf-8",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items('9990140071261')")))
        .and(header("Cookie", "B1SESSION=REDACTED-SESSION-ID"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            bodies[1].clone(),
            "application/json;odata.metadata=minimal;charset=utf-8",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let info = client.connect().await.unwrap();
    assert_eq!(info.version.as_deref(), Some("1000280"));
    let item: Item = client.items().get("9990140071261").await.unwrap();
    assert_eq!(item.item_name.as_deref(), Some("QUESO OAXACA"));
    assert_eq!(item.purchase_item, Some(YesNo::Yes));
    assert_eq!(
        item.update_date,
        Some(SapDate(NaiveDate::from_ymd_opt(2023, 10, 26).unwrap()))
    );
    assert_eq!(
        item.update_time,
        Some(SapTime(NaiveTime::from_hms_opt(13, 14, 45).unwrap()))
    );
    assert!(item.etag().is_some_and(|e| e.starts_with("W/")));
    assert!(!item.item_prices.as_ref().unwrap().is_empty());
    let warehouses = item.item_warehouse_info_collection.as_ref().unwrap();
    assert!(!warehouses.is_empty());
    assert!(warehouses.iter().all(|w| w.available().is_some()));
}

#[tokio::test]
async fn recorded_v2_item_list_deserialises() {
    let bodies = response_bodies(LIST_ITEMS);
    assert_eq!(bodies.len(), 1);
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items")))
        .and(query_param("$top", "5"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(bodies[0].clone(), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .items()
        .page(&Query::new().top(5))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(!page.has_next());
    assert!(
        page.items
            .iter()
            .all(|i| i.item_code.is_some() && i.create_date.is_some())
    );
    // Fields we do not model, UDFs included, are kept rather than dropped.
    assert!(
        page.items[0].extra.len() > 50,
        "{}",
        page.items[0].extra.len()
    );
}
