//! Error shapes (v1, v2, HTML, empty), read retries, and writes whose outcome is unknown.

mod common;

use std::time::Duration;

use common::*;
use sap_b1_client::entities::Document;
use sap_b1_client::{Error, ErrorCode, Key, RetryPolicy};
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn logged_in_server() -> MockServer {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    server
}

async fn get_error(server: &MockServer, reply: ResponseTemplate, calls: u64) -> Error {
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items('X')")))
        .respond_with(reply)
        .expect(calls)
        .mount(server)
        .await;
    client(server).items().get("X").await.unwrap_err()
}

#[tokio::test]
async fn v1_error_shape_numeric_code_and_localised_message() {
    let server = logged_in_server().await;
    let reply = ResponseTemplate::new(400).set_body_json(serde_json::json!({
        "error": {"code": -10, "message": {"lang": "en-us", "value": "Item code 'i002' already exists"}}
    }));
    let err = get_error(&server, reply, 1).await;
    let Error::Validation(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code, Some(ErrorCode::Number(-10)));
    assert_eq!(
        e.message.as_deref(),
        Some("Item code 'i002' already exists")
    );
    assert!(e.body.contains("already exists"));
}

#[tokio::test]
async fn v2_error_shape_string_code_and_plain_message_maps_to_not_found() {
    let server = logged_in_server().await;
    let reply = ResponseTemplate::new(404).set_body_json(serde_json::json!({
        "error": {"code": "-2028", "details": [{"code": "", "message": ""}],
                  "message": "No matching records found (ODBC -2028)"}
    }));
    let err = get_error(&server, reply, 1).await;
    let Error::NotFound(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code.as_ref().and_then(ErrorCode::as_i64), Some(-2028));
    assert_eq!(
        e.message.as_deref(),
        Some("No matching records found (ODBC -2028)")
    );
}

#[tokio::test]
async fn etag_mismatch_is_a_conflict() {
    let server = logged_in_server().await;
    let reply = ResponseTemplate::new(412).set_body_json(serde_json::json!({
        "error": {"code": "-2039", "message": "Another user or another operation modified data"}
    }));
    assert!(matches!(
        get_error(&server, reply, 1).await,
        Error::Conflict(_)
    ));
}

#[tokio::test]
async fn html_502_on_a_read_is_transient_after_bounded_retries() {
    let server = logged_in_server().await;
    let html = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>502 Proxy Error</title>\n</head><body><h1>Proxy Error</h1></body></html>";
    let reply = ResponseTemplate::new(502).set_body_raw(html, "text/html; charset=iso-8859-1");
    // First attempt plus two retries (RetryPolicy in common::client).
    let err = get_error(&server, reply, 3).await;
    let Error::Transient(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((e.status, e.code.as_ref()), (502, None));
    assert!(err.to_string().contains("502 Proxy Error"), "{err}");
}

#[tokio::test]
async fn empty_500_is_transient() {
    let server = logged_in_server().await;
    let err = get_error(&server, ResponseTemplate::new(500), 3).await;
    let Error::Transient(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.body, "");
}

#[tokio::test]
async fn a_read_that_fails_once_is_retried_and_succeeds() {
    let server = logged_in_server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(item_json("X")))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    client(&server).items().get("X").await.unwrap();
}

#[tokio::test]
async fn retries_can_be_switched_off() {
    let server = logged_in_server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_with(&server, |b| {
        b.retry_policy(RetryPolicy {
            max_retries: 0,
            initial_backoff: Duration::ZERO,
        })
    });
    assert!(matches!(
        client.items().get("X").await,
        Err(Error::Transient(_))
    ));
}

async fn post_invoice(server: &MockServer, reply: ResponseTemplate) -> Error {
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Invoices")))
        .respond_with(reply)
        .expect(1) // never retried
        .mount(server)
        .await;
    let client = client_with(server, |b| b.timeout(Duration::from_millis(300)));
    let invoice = Document {
        card_code: Some("C20000".into()),
        num_at_card: Some("114-1234567-1234567".into()),
        ..Default::default()
    };
    client.invoices().create(&invoice).await.unwrap_err()
}

#[tokio::test]
async fn a_post_that_gets_502_is_outcome_unknown_and_not_retried() {
    let server = logged_in_server().await;
    let err = post_invoice(
        &server,
        ResponseTemplate::new(502).set_body_string("<html>Proxy Error</html>"),
    )
    .await;
    assert!(err.is_outcome_unknown(), "{err:?}");
    let Error::OutcomeUnknown {
        method,
        path,
        cause,
    } = &err
    else {
        unreachable!()
    };
    assert_eq!((method.as_str(), path.as_str()), ("POST", "Invoices"));
    assert!(matches!(**cause, Error::Transient(_)));
}

#[tokio::test]
async fn a_post_that_gets_an_empty_500_is_outcome_unknown() {
    let server = logged_in_server().await;
    let err = post_invoice(&server, ResponseTemplate::new(500)).await;
    assert!(err.is_outcome_unknown(), "{err:?}");
}

#[tokio::test]
async fn a_post_that_times_out_is_outcome_unknown_and_not_retried() {
    let server = logged_in_server().await;
    let slow = ResponseTemplate::new(201)
        .set_body_json(serde_json::json!({"DocEntry": 1}))
        .set_delay(Duration::from_secs(3));
    let err = post_invoice(&server, slow).await;
    let Error::OutcomeUnknown { cause, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(**cause, Error::Transport { .. }), "{cause:?}");
}

#[tokio::test]
async fn a_post_answered_401_is_replayed_after_relogin() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    mount_login(&server, "s2", 1, 2).await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Invoices")))
        .and(header("Cookie", cookie("s1").as_str()))
        .respond_with(session_expired())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Invoices")))
        .and(header("Cookie", cookie("s2").as_str()))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"DocEntry": 42, "DocNum": 1001})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let created = client(&server)
        .invoices()
        .create(&Document::default())
        .await
        .unwrap();
    assert_eq!(created.doc_entry.map(|d| d.0), Some(42));
}

#[tokio::test]
async fn create_returning_key_reads_location() {
    let server = logged_in_server().await;
    // SAP's Apache answers `Expect: 100-continue` with an empty 500: we must never send it.
    Mock::given(header_exists("Expect"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Invoices")))
        .and(header("Prefer", "return-no-content"))
        .respond_with(
            ResponseTemplate::new(204)
                .append_header("Location", "https://sap:50000/b1s/v2/Invoices(123)")
                .append_header("Preference-Applied", "return-no-content"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let key = client(&server)
        .invoices()
        .create_returning_key(&Document::default())
        .await
        .unwrap();
    assert_eq!(key, Key::Int(123));
}

#[tokio::test]
async fn patch_and_actions_hit_the_keyed_path() {
    let server = logged_in_server().await;
    Mock::given(method("PATCH"))
        .and(path(format!("{BASE}Items('O''Brien')")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Invoices(7)/Cancel")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    client
        .items()
        .update("O'Brien", &serde_json::json!({"ItemName": "mug"}))
        .await
        .unwrap();
    client.invoices().action(7, "Cancel").await.unwrap();
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_a_parse_error_with_path_and_body() {
    let server = logged_in_server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "ItemCode": "X", "ItemPrices": [{"PriceList": 1, "Price": "not a number"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).items().get("X").await.unwrap_err();
    let Error::Parse {
        json_path, body, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(json_path, "ItemPrices[0].Price");
    assert!(body.contains("not a number"));
}

#[tokio::test]
async fn conditional_and_collection_replacing_updates_send_their_headers() {
    let server = logged_in_server().await;
    Mock::given(method("PATCH"))
        .and(path(format!("{BASE}Invoices(7)")))
        .and(header("If-Match", "W/\"abc\""))
        .respond_with(ResponseTemplate::new(412).set_body_json(serde_json::json!({
            "error": {"code": "-2039", "message": "Another user or another operation modified data"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{BASE}Invoices(8)")))
        .and(header("B1S-ReplaceCollectionsOnPatch", "true"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let patch = serde_json::json!({"Comments": "x"});
    let err = client
        .invoices()
        .update_if_match(7, "W/\"abc\"", &patch)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    client
        .invoices()
        .update_replacing_collections(8, &patch)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_post_that_never_connected_is_a_plain_transport_error() {
    // A server that answers one login and then goes away: the POST cannot reach SAP, so its
    // outcome is known and it is a plain transport error.
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        let body = r#"{"SessionId":"s1","Version":"1000280","SessionTimeout":30}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\nSet-Cookie: B1SESSION=s1;HttpOnly;\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).unwrap();
        // Listener and stream drop here: the port is closed.
    });
    let client = sap_b1_client::SapClient::builder(format!("http://127.0.0.1:{port}/b1s/v1"))
        .company("SBODEMOUS")
        .credentials(
            "manager",
            sap_b1_client::SecretString::from("x".to_string()),
        )
        .build()
        .unwrap();
    client.connect().await.unwrap();
    server.join().unwrap();
    let err = client
        .invoices()
        .create(&Document::default())
        .await
        .unwrap_err();
    let Error::Transport { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(source.is_connect(), "{source:?}");
    assert!(!err.is_outcome_unknown());
}
