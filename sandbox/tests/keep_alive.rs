//! The Service Layer's Apache closes connections idle for `Keep-Alive: timeout` seconds, never a
//! request in progress.

mod common;

use std::time::Duration;

use common::*;
use sandbox::{Sandbox, SandboxConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn idle_connections_are_closed_but_slow_requests_are_not() {
    let sb = Sandbox::start(SandboxConfig {
        sap_keep_alive: Some(Duration::from_millis(150)),
        sap_latency: Duration::from_millis(300),
        ..config(10)
    })
    .await
    .unwrap();
    let addr = sb.sap_origin().trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(format!("GET /ping/ HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("keep-alive: timeout="),
        "{head}"
    );
    // idle: the server closes, the next read sees end-of-stream
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("closed before 5 s")
        .unwrap();
    assert_eq!(n, 0);
    // a request slower than the idle timeout (300 ms latency inside the session) completes
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    assert_eq!(sap_get(&sb, &c, &cookie, "v2", "Warehouses").await.0, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_connection_carries_at_most_100_requests() {
    let sb = Sandbox::start(config(10)).await.unwrap();
    let addr = sb.sap_origin().trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = vec![0u8; 8192];
    for i in 1..=100 {
        s.write_all(format!("GET /ping/ HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let n = s.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{i}: {head}");
        assert_eq!(head.contains("connection: close"), i == 100, "{i}");
    }
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0, "closed after the 100th response");
    sb.shutdown().await;
}
