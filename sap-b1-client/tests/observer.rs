//! The request observer: one event per HTTP attempt with a path template (no key, no query),
//! the status, the attempt number and a duration.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use sap_b1_client::{Query, RequestEvent};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

/// (method, template, status, attempt, throttled, retry) per attempt.
type Events = Arc<Mutex<Vec<(String, String, Option<u16>, u32, bool, bool)>>>;

fn observed(server: &wiremock::MockServer) -> (sap_b1_client::SapClient, Events) {
    let events: Events = Arc::default();
    let sink = events.clone();
    let client = client_with(server, |b| {
        b.observer(move |e: &RequestEvent<'_>| {
            sink.lock().unwrap().push((
                e.method.to_owned(),
                e.operation.to_owned(),
                e.status,
                e.attempt,
                e.is_throttled(),
                e.is_retry(),
            ))
        })
    });
    (client, events)
}

fn counts(events: &Events) -> (usize, usize, usize) {
    let e = events.lock().unwrap();
    (
        e.len(),
        e.iter().filter(|x| x.4).count(),
        e.iter().filter(|x| x.5).count(),
    )
}

#[tokio::test]
async fn a_503_then_success_is_one_retry_and_keys_never_reach_the_observer() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items('SECRET-SKU')")))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>busy</html>"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items('SECRET-SKU')")))
        .respond_with(ResponseTemplate::new(200).set_body_json(item_json("SECRET-SKU")))
        .expect(1)
        .mount(&server)
        .await;
    let (client, events) = observed(&server);
    client.items().get("SECRET-SKU").await.unwrap();
    assert_eq!(counts(&events), (3, 0, 1));
    let e = events.lock().unwrap();
    assert_eq!(
        e.iter()
            .map(|x| (x.0.as_str(), x.1.as_str(), x.2, x.3))
            .collect::<Vec<_>>(),
        [
            ("POST", "Login", Some(200), 1),
            ("GET", "Items({key})", Some(503), 1),
            ("GET", "Items({key})", Some(200), 2),
        ]
    );
    assert!(!format!("{e:?}").contains("SECRET"), "{e:?}");
}

#[tokio::test]
async fn a_replay_after_a_401_is_a_retry_and_the_query_is_left_out() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    mount_login(&server, "s2", 1, 2).await;
    Mock::given(method("GET"))
        .and(header("Cookie", cookie("s1").as_str()))
        .respond_with(session_expired())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items")))
        .and(header("Cookie", cookie("s2").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, events) = observed(&server);
    let page = client
        .items()
        .page(&Query::new().select(["ItemCode"]).top(5))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    let e = events.lock().unwrap();
    assert_eq!(
        e.iter()
            .map(|x| (x.1.as_str(), x.2, x.3))
            .collect::<Vec<_>>(),
        [
            ("Login", Some(200), 1),
            ("Items", Some(401), 1),
            ("Login", Some(200), 1),
            ("Items", Some(200), 2),
        ]
    );
}

#[tokio::test]
async fn a_429_is_seen_as_a_throttle() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items('A1')")))
        .respond_with(ResponseTemplate::new(429).set_body_string("Too Many Requests"))
        .expect(1)
        .mount(&server)
        .await;
    let (client, events) = observed(&server);
    client.items().get("A1").await.unwrap_err();
    assert_eq!(counts(&events), (2, 1, 0));
}
