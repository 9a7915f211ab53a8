//! `$batch`: changesets commit together or roll back completely; execution stops at the first
//! failure; v2 needs Content-ID in changeset parts; `$n` references; CRLF framing.

mod common;

use common::*;
use serde_json::{Value, json};

fn part(method: &str, url: &str, content_id: Option<u32>, body: Option<&Value>) -> String {
    let mut s =
        String::from("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
    if let Some(id) = content_id {
        s.push_str(&format!("Content-ID: {id}\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(&format!("{method} {url} HTTP/1.1\r\n"));
    match body {
        Some(b) => s.push_str(&format!("Content-Type: application/json\r\n\r\n{b}\r\n")),
        None => s.push_str("\r\n\r\n"),
    }
    s
}

fn batch(changeset_parts: &[String], trailing_get: Option<String>) -> String {
    let mut s =
        String::from("--batch_b1\r\nContent-Type: multipart/mixed;boundary=changeset_c1\r\n\r\n");
    for p in changeset_parts {
        s.push_str("--changeset_c1\r\n");
        s.push_str(p);
    }
    s.push_str("--changeset_c1--\r\n");
    if let Some(g) = trailing_get {
        s.push_str("--batch_b1\r\n");
        s.push_str(&g);
    }
    s.push_str("--batch_b1--\r\n");
    s
}

async fn send(sb: &sandbox::Sandbox, version: &str, body: String) -> (u16, String) {
    let c = client();
    let cookie = login(sb, &c, version).await;
    let r = c
        .post(format!("{}/b1s/{version}/$batch", sb.sap_origin()))
        .header("Cookie", cookie)
        .header("Content-Type", "multipart/mixed;boundary=batch_b1")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

fn je(amount: f64, credit: f64, reference: &str) -> Value {
    json!({"Reference": reference, "JournalEntryLines": [{"AccountCode": "6100", "Debit": amount}, {"AccountCode": "1420", "Credit": credit}]})
}

#[tokio::test]
async fn a_changeset_commits_every_part() {
    let sb = start(20).await;
    let parts = vec![
        part(
            "POST",
            "/b1s/v2/Invoices",
            Some(1),
            Some(&invoice("TM-MUG-0000", "s1")),
        ),
        part(
            "POST",
            "/b1s/v2/JournalEntries",
            Some(2),
            Some(&je(5.0, 5.0, "s1-fees")),
        ),
        part(
            "PATCH",
            "$1",
            Some(3),
            Some(&json!({"Comments": "settled"})),
        ),
    ];
    let (s, text) = send(
        &sb,
        "v2",
        batch(
            &parts,
            Some(part(
                "GET",
                "/b1s/v2/Invoices(1)?$select=Comments",
                None,
                None,
            )),
        ),
    )
    .await;
    assert_eq!(s, 200, "{text}");
    assert!(text.contains("--changesetresponse_"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 201 Created").count(), 2, "{text}");
    assert!(text.contains("HTTP/1.1 204 No Content"));
    assert!(text.contains("\"Comments\": \"settled\""), "{text}");
    assert!(
        text.contains("Content-ID: 1\r\n\r\nHTTP/1.1 201"),
        "v2 puts Content-ID before the status line"
    );
    assert_eq!(sb.sap_count("Invoices"), 1);
    assert_eq!(sb.sap_count("JournalEntries"), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_failing_part_rolls_back_the_whole_changeset_and_stops() {
    let sb = start(20).await;
    let stock_before = sb
        .sap_entity(
            "Items",
            &sandbox::sap::store::Key::Str("TM-MUG-0000".into()),
        )
        .unwrap()["QuantityOnStock"]
        .clone();
    let parts = vec![
        part(
            "POST",
            "/b1s/v2/Invoices",
            Some(1),
            Some(&invoice("TM-MUG-0000", "s2")),
        ),
        part(
            "POST",
            "/b1s/v2/JournalEntries",
            Some(2),
            Some(&je(5.0, 5.0, "ok")),
        ),
        part(
            "POST",
            "/b1s/v2/JournalEntries",
            Some(3),
            Some(&je(5.0, 4.0, "unbalanced")),
        ),
    ];
    let (s, text) = send(
        &sb,
        "v2",
        batch(
            &parts,
            Some(part("GET", "/b1s/v2/Items('TM-MUG-0000')", None, None)),
        ),
    )
    .await;
    assert_eq!(s, 200);
    assert!(text.contains("HTTP/1.1 400 Bad Request"), "{text}");
    assert!(text.contains("-5002"));
    assert!(
        !text.contains("201 Created"),
        "a failed changeset answers with one error part: {text}"
    );
    assert!(
        !text.contains("ItemCode"),
        "execution stops at the first failure"
    );
    assert_eq!(sb.sap_count("Invoices"), 0);
    assert_eq!(sb.sap_count("JournalEntries"), 0);
    let stock_after = sb
        .sap_entity(
            "Items",
            &sandbox::sap::store::Key::Str("TM-MUG-0000".into()),
        )
        .unwrap()["QuantityOnStock"]
        .clone();
    assert_eq!(stock_before, stock_after, "stock movement rolled back too");
    // numbering was rolled back as well: the next invoice is DocEntry 1
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (_, inv) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "s3"),
    )
    .await;
    assert_eq!(inv["DocEntry"], 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn v2_changeset_parts_need_content_id_v1_answers_202() {
    let sb = start(20).await;
    // WSL p85 / B1SL#8: a format error refuses the whole batch with HTTP 400, nothing runs
    // (here the first part is fine, the second lacks its Content-ID).
    let parts = vec![
        part(
            "POST",
            "/b1s/v2/JournalEntries",
            Some(1),
            Some(&je(1.0, 1.0, "ok")),
        ),
        part(
            "POST",
            "/b1s/v2/JournalEntries",
            None,
            Some(&je(1.0, 1.0, "x")),
        ),
    ];
    let (s, text) = send(&sb, "v2", batch(&parts, None)).await;
    assert_eq!(s, 400, "{text}");
    assert!(
        !text.contains("HTTP/1.1"),
        "no parts, one error body: {text}"
    );
    assert!(
        text.contains("\"244\"")
            && text.contains("Content ID should be specified in each change set request."),
        "{text}"
    );
    assert_eq!(sb.sap_count("JournalEntries"), 0);
    let parts = vec![part(
        "POST",
        "/b1s/v1/JournalEntries",
        None,
        Some(&je(1.0, 1.0, "x")),
    )];
    let (s, text) = send(&sb, "v1", batch(&parts, None)).await;
    assert_eq!(s, 202, "{text}");
    assert_eq!(sb.sap_count("JournalEntries"), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn malformed_batches_are_rejected() {
    let sb = start(20).await;
    let (s, text) = send(&sb, "v2", "--batch_b1\r\nno end".into()).await;
    assert_eq!(s, 400);
    assert!(text.contains("Incomplete Batch Request Body!"));
    // LF-only framing inside a sub-request
    let lf = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\nPOST /b1s/v2/JournalEntries HTTP/1.1\nContent-Type: application/json\n\n{}\r\n".to_string();
    let (s, text) = send(&sb, "v2", batch(&[lf], None)).await;
    assert_eq!(s, 400, "a framing error refuses the whole batch: {text}");
    assert!(text.contains("there should be two"), "{text}");
    assert_eq!(sb.sap_count("JournalEntries"), 0);
    sb.shutdown().await;
}
