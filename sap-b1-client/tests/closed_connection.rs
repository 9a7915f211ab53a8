//! A keep-alive connection the server closed while the client still held it in its pool: the
//! next request on it loses its answer ("connection closed before message completed"). `/Login`
//! and reads are sent once more on a new connection; a write is not (SAP may have run it).
//!
//! The server here answers the first request of every connection and closes the connection
//! after reading the second, which is what a Service Layer's Apache does when its keep-alive
//! timeout races the client's next request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sap_b1_client::{Error, RequestEvent, RetryPolicy, SapClient, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Requests seen: (connection number, request line).
type Log = Arc<Mutex<Vec<(usize, String)>>>;

async fn server() -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((stream, _)) = listener.accept().await {
            n += 1;
            tokio::spawn(connection(stream, n, seen.clone()));
        }
    });
    (format!("http://{addr}/b1s/v2"), log)
}

async fn connection(mut stream: TcpStream, n: usize, log: Log) {
    let mut buf = Vec::new();
    for index in 0.. {
        let Some(line) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        log.lock().unwrap().push((n, line.clone()));
        if index > 0 {
            // The keep-alive connection ends under the request: no answer.
            return;
        }
        let (status, extra, body) = answer(&line);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(body.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

fn answer(line: &str) -> (&'static str, &'static str, String) {
    if line.starts_with("POST /b1s/v2/Login") {
        let body = r#"{"SessionId":"s1","Version":"1000280","SessionTimeout":30}"#;
        (
            "200 OK",
            "Set-Cookie: B1SESSION=s1;HttpOnly;\r\nSet-Cookie: ROUTEID=.node1; path=/b1s\r\n",
            body.into(),
        )
    } else if line.starts_with("GET /ping/") {
        (
            "200 OK",
            "",
            r#"{"message":"pong","sender":"load balancer"}"#.into(),
        )
    } else if line.starts_with("GET /b1s/v2/Items('A1')") {
        (
            "200 OK",
            "",
            r#"{"ItemCode":"A1","ItemName":"Item A1"}"#.into(),
        )
    } else if line.starts_with("POST /b1s/v2/Invoices") {
        ("201 Created", "", r#"{"DocEntry":7,"DocNum":7}"#.into())
    } else {
        (
            "404 Not Found",
            "",
            r#"{"error":{"code":-1,"message":"no"}}"#.into(),
        )
    }
}

/// Reads one request (head and `Content-Length` body) and returns its request line.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let mut chunk = [0u8; 4096];
                let read = stream.read(&mut chunk).await.ok().filter(|&r| r > 0)?;
                buf.extend_from_slice(&chunk[..read]);
            }
            buf.drain(..end + 4 + length);
            return head.lines().next().map(str::to_owned);
        }
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.ok().filter(|&r| r > 0)?;
        buf.extend_from_slice(&chunk[..read]);
    }
}

/// (method, template, status, attempt) per attempt.
type Events = Arc<Mutex<Vec<(String, String, Option<u16>, u32)>>>;

fn client(base: &str, max_retries: u32) -> (SapClient, Events) {
    let events: Events = Arc::default();
    let sink = events.clone();
    let client = SapClient::builder(base)
        .company("SBODEMOUS")
        .credentials("manager", SecretString::from("s3cret".to_string()))
        .retry_policy(RetryPolicy {
            max_retries,
            initial_backoff: Duration::from_millis(1),
        })
        .observer(move |e: &RequestEvent<'_>| {
            sink.lock().unwrap().push((
                e.method.to_owned(),
                e.operation.to_owned(),
                e.status,
                e.attempt,
            ))
        })
        .build()
        .unwrap();
    (client, events)
}

fn lines(log: &Log) -> Vec<(usize, String)> {
    log.lock()
        .unwrap()
        .iter()
        .map(|(n, l)| {
            (
                *n,
                l.rsplit_once(' ').map_or(l.as_str(), |(a, _)| a).to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_login_lost_on_a_closed_connection_is_sent_again_on_a_new_one() {
    let (base, log) = server().await;
    let (sap, events) = client(&base, 2);
    sap.ping().await.unwrap();
    sap.connect().await.expect("the login is sent again");
    assert_eq!(
        lines(&log),
        [
            (1, "GET /ping/".into()),
            (1, "POST /b1s/v2/Login".into()),
            (2, "POST /b1s/v2/Login".into()),
        ]
    );
    let events = events.lock().unwrap();
    assert_eq!(
        events[1..],
        [
            ("POST".into(), "Login".into(), None, 1),
            ("POST".into(), "Login".into(), Some(200), 2),
        ]
    );
}

#[tokio::test]
async fn a_read_lost_on_a_closed_connection_is_sent_again_even_without_retries() {
    let (base, log) = server().await;
    let (sap, events) = client(&base, 0);
    sap.connect().await.unwrap();
    let item = sap.items().get("A1").await.expect("the read is sent again");
    assert_eq!(item.item_name.as_deref(), Some("Item A1"));
    assert_eq!(
        lines(&log),
        [
            (1, "POST /b1s/v2/Login".into()),
            (1, "GET /b1s/v2/Items('A1')".into()),
            (2, "GET /b1s/v2/Items('A1')".into()),
        ]
    );
    let events = events.lock().unwrap();
    assert_eq!(
        events[1..],
        [
            ("GET".into(), "Items({key})".into(), None, 1),
            ("GET".into(), "Items({key})".into(), Some(200), 2),
        ]
    );
}

#[tokio::test]
async fn a_write_lost_on_a_closed_connection_is_not_sent_again() {
    let (base, log) = server().await;
    let (sap, _) = client(&base, 2);
    sap.connect().await.unwrap();
    let invoice = sap_b1_client::entities::Document {
        card_code: Some("C1".into()),
        ..Default::default()
    };
    let err = sap.invoices().create(&invoice).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(
        lines(&log),
        [
            (1, "POST /b1s/v2/Login".into()),
            (1, "POST /b1s/v2/Invoices".into()),
        ],
        "one POST: the caller looks the document up by its key"
    );
}
