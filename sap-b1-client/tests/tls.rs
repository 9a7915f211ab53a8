//! TLS against a local rustls server with a private CA: verification on by default, an extra CA
//! PEM makes it work, and the explicit opt-out accepts anything.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sap_b1_client::{Error, SapClient, SecretString};

const CA: &str = include_str!("resources/test-ca.pem");
const CERT: &str = include_str!("resources/test-server.pem");
const KEY: &str = include_str!("resources/test-server.key");

/// An HTTPS server on 127.0.0.1 answering every request with a `/ping/` body.
fn tls_server() -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(CERT.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            let complete = loop {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break false,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
                if request.windows(4).any(|w| w == b"\r\n\r\n") {
                    break true;
                }
            };
            if complete {
                let body = r#"{"message":"pong","sender":"load balancer"}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes());
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
    });
    port
}

fn builder(port: u16) -> sap_b1_client::SapClientBuilder {
    SapClient::builder(format!("https://127.0.0.1:{port}/b1s/v2"))
        .company("SBODEMOUS")
        .credentials("manager", SecretString::from("x".to_string()))
}

#[tokio::test]
async fn an_unknown_certificate_is_rejected_by_default() {
    let port = tls_server();
    let err = builder(port).build().unwrap().ping().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn an_extra_ca_pem_makes_a_self_signed_server_trusted() {
    let port = tls_server();
    let client = builder(port)
        .add_root_certificate_pem(CA.as_bytes().to_vec())
        .build()
        .unwrap();
    assert_eq!(
        client.ping().await.unwrap().message.as_deref(),
        Some("pong")
    );
}

#[tokio::test]
async fn the_explicit_opt_out_accepts_any_certificate() {
    let port = tls_server();
    let client = builder(port)
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(
        client.ping().await.unwrap().sender.as_deref(),
        Some("load balancer")
    );
}

#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_opt_out_is_logged_loudly() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        builder(1)
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("WARN") && log.contains("verification is DISABLED"),
        "{log}"
    );
}
