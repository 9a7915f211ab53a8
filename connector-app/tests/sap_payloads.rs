//! Snapshots of every document body the connector sends to SAP for a small, fixed world: the A/R
//! invoices (`POST Invoices`) and the settlement documents (`IncomingPayments` and `JournalEntries`,
//! sent inside `$batch`), as the sandbox received them. A change to what we send to SAP shows up
//! here as a snapshot diff to review (`cargo insta review`, or `INSTA_UPDATE=always`).
//!
//! What depends on the day the test runs (dates) or on which session posted first (the DocEntry an
//! incoming payment applies to) is replaced before the snapshot: dates by `[date]`, an invoice's
//! DocEntry by the order it invoices. Documents are sorted, so concurrency does not reorder them.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{TIME_SCALE, start_sandbox, workspace};
use connector_app::demo::run_flows;
use sandbox::capture::SapWrite;
use serde_json::Value;

/// A world small enough to read in a snapshot, with orders, refunds and a settlement.
const SEED: u64 = 5;
const ORDERS: usize = 8;

/// One request the connector sent: `POST Invoices`, or a part of a `$batch`.
struct Sent {
    method: String,
    resource: String,
    body: Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documents_sent_to_sap_match_the_snapshots() {
    let sb = start_sandbox(SEED, ORDERS).await;
    sb.capture_sap_writes(true);
    let (_dir, config) = workspace(&sb);
    let run = run_flows(&sb, &config, SEED, TIME_SCALE).await.unwrap();
    assert_eq!(run.failed + run.unknown + run.held, 0, "{:?}", run.orders);
    assert_eq!(run.settlements_held, 0, "{:?}", run.settlements);
    assert!(
        run.invoices_posted > 0 && run.settlements_posted > 0,
        "{run:?}"
    );

    let sent: Vec<Sent> = sb.sap_writes().iter().flat_map(requests).collect();
    // Which invoice a DocEntry is: the order it invoices (NumAtCard).
    let orders: HashMap<i64, String> = sb
        .sap_entities("Invoices")
        .iter()
        .map(|i| {
            (
                i["DocEntry"].as_i64().unwrap(),
                i["NumAtCard"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut by_kind: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for s in sent {
        let mut body = s.body;
        redact(&mut body, &orders);
        by_kind
            .entry(format!("{} {}", s.method, s.resource))
            .or_default()
            .push(body);
    }
    for docs in by_kind.values_mut() {
        docs.sort_by_cached_key(sort_key);
    }
    let kinds: BTreeMap<&str, usize> = by_kind.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
    insta::assert_json_snapshot!("requests", kinds);
    let mut take = |kind: &str| by_kind.remove(kind).unwrap_or_default();
    insta::assert_json_snapshot!("invoices", take("POST Invoices"));
    insta::assert_json_snapshot!("incoming_payments", take("POST IncomingPayments"));
    insta::assert_json_snapshot!("journal_entries", take("POST JournalEntries"));
    // Any other kind of write would be in `requests` and is snapshotted whole here.
    insta::assert_json_snapshot!("other_writes", by_kind);
    sb.shutdown().await;
}

/// The document requests in one captured write: itself, or each part of a `$batch`. Session calls
/// (`Logout`) are not documents.
fn requests(w: &SapWrite) -> Vec<Sent> {
    let body = String::from_utf8_lossy(&w.body);
    if w.path == "$batch" {
        return batch_parts(&body, &w.content_type);
    }
    if w.path == "Logout" {
        return Vec::new();
    }
    vec![Sent {
        method: w.method.clone(),
        resource: resource(&w.path),
        body: json_or_text(&body),
    }]
}

/// The sub-requests of a multipart `$batch` body, changesets included, in order.
fn batch_parts(body: &str, content_type: &str) -> Vec<Sent> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .expect("a multipart boundary")
        .trim_matches('"');
    let mut out = Vec::new();
    for chunk in body.split(&format!("--{boundary}")).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk.trim_start_matches(['\r', '\n']);
        let (head, content) = chunk.split_once("\r\n\r\n").expect("part headers");
        let ctype = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.trim())
            .unwrap_or_default();
        if ctype.starts_with("multipart/mixed") {
            out.extend(batch_parts(content, ctype));
            continue;
        }
        let (request_head, request_body) = content.split_once("\r\n\r\n").unwrap_or((content, ""));
        let mut request_line = request_head.lines().next().unwrap().split_whitespace();
        let method = request_line.next().unwrap().to_owned();
        let target = request_line.next().unwrap();
        let path = target.rsplit_once("/b1s/").map_or(target, |(_, p)| p);
        let path = path.split_once('/').map_or(path, |(_, p)| p);
        out.push(Sent {
            method,
            resource: resource(path),
            body: json_or_text(request_body.trim_end()),
        });
    }
    out
}

/// Documents by what identifies them (order, payment reference, journal part and memo), then by
/// their whole body.
fn sort_key(doc: &Value) -> (String, String, String) {
    let id = ["NumAtCard", "TransferReference", "Reference2"]
        .iter()
        .find_map(|k| doc[*k].as_str())
        .unwrap_or_default();
    let memo = doc["Memo"].as_str().unwrap_or_default();
    (id.to_owned(), memo.to_owned(), doc.to_string())
}

/// `Invoices(12)` -> `Invoices`.
fn resource(path: &str) -> String {
    path.split(['(', '/', '?']).next().unwrap().to_owned()
}

fn json_or_text(body: &str) -> Value {
    if body.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

/// Replaces what depends on the day or on posting order: date strings, and invoice DocEntries.
fn redact(v: &mut Value, orders: &HashMap<i64, String>) {
    match v {
        Value::String(s) if is_date(s) => *s = "[date]".to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|i| redact(i, orders)),
        Value::Object(map) => {
            for (k, field) in map.iter_mut() {
                if k == "DocEntry"
                    && let Some(order) = field.as_i64().and_then(|e| orders.get(&e))
                {
                    *field = Value::String(format!("[invoice of order {order}]"));
                } else {
                    redact(field, orders);
                }
            }
        }
        _ => {}
    }
}

/// `YYYY-MM-DD`, optionally followed by a time.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (b.len() == 10 || b[10] == b'T' || b[10] == b' ')
}
