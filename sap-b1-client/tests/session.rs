//! Login, cookies, 401 re-login (single-flight), idle timeout, logout, session pool.

mod common;

use std::time::Duration;

use common::*;
use sap_b1_client::Error;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn login_sets_both_cookies_and_both_are_sent_after() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items('A1')")))
        .and(header("Cookie", cookie("s1").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(item_json("A1")))
        .expect(2)
        .mount(&server)
        .await;

    let client = client(&server);
    let first = client.items().get("A1").await.unwrap();
    let second = client.items().get("A1").await.unwrap();
    assert_eq!(first.item_code.as_deref(), Some("A1"));
    assert_eq!(first, second);
}

#[tokio::test]
async fn a_401_mid_run_causes_exactly_one_relogin_and_the_call_succeeds() {
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
        .and(path(format!("{BASE}Items('A1')")))
        .and(header("Cookie", cookie("s2").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(item_json("A1")))
        .expect(1)
        .mount(&server)
        .await;

    let item = client(&server).items().get("A1").await.unwrap();
    assert_eq!(item.item_name.as_deref(), Some("Item A1"));
}

#[tokio::test]
async fn ten_concurrent_calls_on_an_expired_session_cause_one_login() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    mount_login(&server, "s2", 1, 2).await;
    Mock::given(method("GET"))
        .and(header("Cookie", cookie("s1").as_str()))
        .respond_with(session_expired())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("Cookie", cookie("s2").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(item_json("A1")))
        .expect(10)
        .mount(&server)
        .await;

    let client = client(&server);
    client.connect().await.unwrap();
    let calls = (0..10).map(|_| {
        let client = client.clone();
        async move { client.items().get("A1").await }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    // The mounted logins expect exactly one call each: s1 at connect, s2 once for all ten.
}

#[tokio::test]
async fn a_401_from_login_is_not_retried_and_is_a_clear_error() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Login")))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": {"code": "100000027", "message": "Login failed"}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server).items().get("A1").await.unwrap_err();
    let Error::Login(server_error) = &err else {
        panic!("expected Error::Login, got {err:?}")
    };
    assert_eq!(server_error.status, 401);
    assert_eq!(server_error.message.as_deref(), Some("Login failed"));
    assert!(!err.to_string().contains("s3cret"));
}

#[tokio::test]
async fn a_401_after_every_relogin_is_a_session_error_not_a_loop() {
    // The first login, then three renewals (a fresh session can be ended by another request's
    // expiry before this one is replayed), then the 401 is the answer.
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    mount_login(&server, "s2", 1, 2).await;
    mount_login(&server, "s3", 1, 3).await;
    mount_login(&server, "s4", 1, 4).await;
    Mock::given(method("GET"))
        .respond_with(session_expired())
        .expect(4)
        .mount(&server)
        .await;

    let err = client(&server).items().get("A1").await.unwrap_err();
    assert!(matches!(err, Error::Session(_)), "{err:?}");
}

#[tokio::test]
async fn minus_5002_is_a_validation_error_and_does_not_relogin() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Invoices")))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": {"code": -5002, "message": {"lang": "en-us", "value": "Internal error (-5002) occurred"}}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server)
        .invoices()
        .create(&Default::default())
        .await
        .unwrap_err();
    let Error::Validation(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code.unwrap().as_i64(), Some(-5002));
}

#[tokio::test]
async fn an_idle_session_is_refreshed_before_use() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    mount_login(&server, "s2", 1, 2).await;
    Mock::given(method("GET"))
        .and(header("Cookie", cookie("s1").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(item_json("A1")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("Cookie", cookie("s2").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(item_json("A1")))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    client.items().get("A1").await.unwrap();
    // SessionTimeout is 30 minutes; be idle for 31 on tokio's clock, then use real time again
    // for the network call.
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(31 * 60)).await;
    tokio::time::resume();
    client.items().get("A1").await.unwrap();
}

#[tokio::test]
async fn logout_posts_with_the_cookies_and_next_call_logs_in_again() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    mount_login(&server, "s2", 1, 2).await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Logout")))
        .and(header("Cookie", cookie("s1").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("Cookie", cookie("s2").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(item_json("A1")))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let info = client.connect().await.unwrap();
    assert_eq!(info.version.as_deref(), Some("1000280"));
    assert_eq!(info.timeout, Duration::from_secs(30 * 60));
    client.logout().await.unwrap();
    client.items().get("A1").await.unwrap();
}

#[tokio::test]
async fn a_pool_of_two_sessions_uses_both() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    mount_login(&server, "s2", 1, 2).await;
    for s in ["s1", "s2"] {
        Mock::given(method("GET"))
            .and(header("Cookie", cookie(s).as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(item_json("A1")))
            .expect(2)
            .mount(&server)
            .await;
    }
    let client = client_with(&server, |b| b.sessions(2));
    for _ in 0..4 {
        client.items().get("A1").await.unwrap();
    }
}

#[tokio::test]
async fn ping_needs_no_session_and_whoami_does() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/ping/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "message": "pong", "sender": "load balancer", "timestamp": "1555998764.740"
        })))
        .expect(1)
        .mount(&server)
        .await;
    mount_login(&server, "s1", 1, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Currencies")))
        .and(header("Cookie", cookie("s1").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"value": [{"Code": "EUR"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let pong = client.ping().await.unwrap();
    assert_eq!(pong.message.as_deref(), Some("pong"));
    let me = client.whoami().await.unwrap();
    assert_eq!(
        (me.company.as_str(), me.user.as_str()),
        ("SBODEMOUS", "manager")
    );
    assert_eq!(me.version.as_deref(), Some("1000280"));
}

#[test]
fn the_builder_validates_and_debug_hides_secrets() {
    use sap_b1_client::SapClient;
    use secrecy::SecretString;
    let pw = || SecretString::from("hunter2".to_string());
    assert!(matches!(
        SapClient::builder("ftp://x/b1s/v2")
            .company("C")
            .credentials("u", pw())
            .build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        SapClient::builder("https://x:50000/other")
            .company("C")
            .credentials("u", pw())
            .build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        SapClient::builder("https://x:50000/b1s/v1")
            .credentials("u", pw())
            .build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        SapClient::builder("https://x:50000/b1s/v1")
            .company("C")
            .credentials("u", pw())
            .sessions(0)
            .build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        SapClient::builder("https://x:50000/b1s/v1")
            .company("C")
            .credentials("u", pw())
            .add_root_certificate_pem(b"not a pem".to_vec())
            .build(),
        Err(Error::Config(_))
    ));
    let client = SapClient::builder("https://x:50000/b1s/v1")
        .company("C")
        .credentials("u", pw())
        .build()
        .unwrap();
    assert_eq!(client.odata_version(), sap_b1_client::ODataVersion::V3);
    assert_eq!(client.base_url().as_str(), "https://x:50000/b1s/v1/");
    let debug = format!("{client:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[tokio::test]
async fn ten_concurrent_calls_with_bad_credentials_try_the_login_once() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}Login")))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": {"code": "100000027", "message": "Login failed"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let calls = (0..10).map(|_| {
        let client = client.clone();
        async move { client.items().get("A1").await }
    });
    for result in futures::future::join_all(calls).await {
        assert!(matches!(result, Err(Error::Login(_))), "{result:?}");
    }
}

#[test]
fn request_debug_never_shows_the_body() {
    let request = sap_b1_client::Request::post("Login").json_body(r#"{"Password":"hunter2"}"#);
    let debug = format!("{request:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[tokio::test]
async fn a_pool_sends_a_call_to_the_idle_session_not_the_busy_one() {
    let server = server().await;
    mount_login(&server, "s1", 1, 1).await;
    mount_login(&server, "s2", 1, 2).await;
    // The first call to land on a session is slow; while it runs, every other call must go to
    // the other session.
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items('SLOW')")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(item_json("SLOW"))
                .set_delay(Duration::from_secs(2)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}Items('FAST')")))
        .respond_with(ResponseTemplate::new(200).set_body_json(item_json("FAST")))
        .expect(3)
        .mount(&server)
        .await;
    let client = client_with(&server, |b| b.sessions(2));
    client.connect().await.unwrap(); // s1 on session 0
    let items = client.items();
    let slow = items.get("SLOW");
    let fast = async {
        tokio::task::yield_now().await;
        for _ in 0..3 {
            client.items().get("FAST").await.unwrap();
        }
    };
    let (slow, ()) = tokio::join!(slow, fast);
    slow.unwrap();
    let requests = server.received_requests().await.unwrap();
    let cookie_of = |code: &str| -> Vec<String> {
        requests
            .iter()
            .filter(|r| r.url.path().ends_with(&format!("('{code}')")))
            .map(|r| {
                r.headers
                    .get("cookie")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let slow_cookie = cookie_of("SLOW");
    let fast_cookies = cookie_of("FAST");
    assert_eq!(slow_cookie.len(), 1);
    assert!(
        fast_cookies.iter().all(|c| *c != slow_cookie[0]),
        "{slow_cookie:?} {fast_cookies:?}"
    );
}
