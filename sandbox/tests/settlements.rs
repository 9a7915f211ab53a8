//! Generated settlements: V2 flat files with each region's quirks (NA: ISO dates, decimal points;
//! EU: dotted dates, decimal commas in EUR) that tie out to the cent; reports appear only after the
//! settlement closes; documents are gzip with a charset and expire like S3 URLs.

mod common;

use std::io::Read;
use std::str::FromStr;

use common::*;
use rust_decimal::Decimal;
use sandbox::world::WorldKind;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

/// Parses an amount exactly: `128,84`, `-3,79`, `253.43`.
fn amount(s: &str) -> Decimal {
    Decimal::from_str(&s.trim().replace(',', ".")).unwrap_or_else(|_| panic!("amount {s:?}"))
}

struct Parsed {
    total: Decimal,
    sum: Decimal,
    rows: Vec<Vec<String>>,
    header: Vec<String>,
}

fn parse(text: &str) -> Parsed {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split('\t')
        .map(str::to_string)
        .collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (total_col, amount_col) = (col("total-amount"), col("amount"));
    let summary: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(summary.len(), header.len());
    let total = amount(summary[total_col]);
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let sum = rows
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len());
            amount(&r[amount_col])
        })
        .sum();
    Parsed {
        total,
        sum,
        rows,
        header,
    }
}

#[tokio::test]
async fn every_settlement_ties_out_to_the_cent_with_its_region_formats() {
    for kind in [WorldKind::Na, WorldKind::Eu] {
        every_settlement_ties_out_in(kind).await;
    }
}

async fn every_settlement_ties_out_in(kind: WorldKind) {
    let sb = start_in(kind, 600).await;
    let world = sb.world();
    assert_eq!(world.settlements.len(), 12, "4 periods x 3 marketplaces");
    let mut negative = 0;
    for s in &world.settlements {
        let text = sb.settlement_file(&s.id).unwrap();
        let p = parse(&text);
        assert_eq!(p.sum, p.total, "settlement {} does not tie out", s.id);
        assert_eq!(p.total, s.total);
        if p.total < Decimal::ZERO {
            negative += 1;
        }
        let eur = s.currency == "EUR";
        let summary = text.lines().nth(1).unwrap();
        let start_date = summary.split('\t').nth(1).unwrap();
        assert!(start_date.ends_with(" UTC"));
        match kind {
            WorldKind::Na => assert_eq!(start_date.as_bytes()[4], b'-', "YYYY-MM-DD: {start_date}"),
            WorldKind::Eu => assert_eq!(start_date.as_bytes()[2], b'.', "DD.MM.YYYY: {start_date}"),
        }
        let amount_col = p.header.iter().position(|h| h == "amount").unwrap();
        for r in &p.rows {
            assert_eq!(
                r[amount_col].contains(','),
                eur,
                "decimal comma only in EUR files: {}",
                r[amount_col]
            );
        }
    }
    assert!(negative >= 1, "at least one negative settlement");
    sb.shutdown().await;
}

#[tokio::test]
async fn settlements_carry_reserves_refunds_fees_and_facilitator_vat() {
    let sb = start(600).await;
    let world = sb.world();
    let de_index = world.marketplace("A1PA6795UKMFR9").unwrap();
    let de = world
        .settlements
        .iter()
        .filter(|s| s.marketplace == de_index)
        .collect::<Vec<_>>();
    let descs = |id: &str| -> Vec<(String, String, Decimal)> {
        let p = parse(&sb.settlement_file(id).unwrap());
        let c = |n: &str| p.header.iter().position(|h| h == n).unwrap();
        p.rows
            .iter()
            .map(|r| {
                (
                    r[c("transaction-type")].clone(),
                    r[c("amount-description")].clone(),
                    amount(&r[c("amount")]),
                )
            })
            .collect()
    };
    for pair in de.windows(2) {
        let current: Decimal = descs(&pair[0].id)
            .iter()
            .filter(|d| d.1 == "Current Reserve Amount")
            .map(|d| d.2)
            .sum();
        let previous: Decimal = descs(&pair[1].id)
            .iter()
            .filter(|d| d.1 == "Previous Reserve Amount Balance")
            .map(|d| d.2)
            .sum();
        assert_eq!(
            previous, -current,
            "reserve carried from {} to {}",
            pair[0].id, pair[1].id
        );
    }
    let all: Vec<(String, String, Decimal)> = world
        .settlements
        .iter()
        .flat_map(|s| descs(&s.id))
        .collect();
    let has = |t: &str, d: &str| all.iter().any(|x| x.0 == t && x.1 == d);
    assert!(has("Refund", "Commission") && has("Refund", "RefundCommission"));
    assert!(
        all.iter()
            .filter(|x| x.0 == "Refund" && x.1 == "Commission")
            .all(|x| x.2 > Decimal::ZERO),
        "commission reversals are positive"
    );
    assert!(has("Order", "FBAPerUnitFulfillmentFee"));
    assert!(has("Order", "MarketplaceFacilitatorVAT-Principal"));
    assert!(
        has("other-transaction", "Payable to Amazon")
            && has("other-transaction", "Successful charge")
    );
    // facilitator VAT nets the Tax rows of DE/FR orders to zero
    let de_rows: Vec<_> = de
        .iter()
        .flat_map(|s| descs(&s.id))
        .filter(|x| x.0 == "Order")
        .collect();
    let tax: Decimal = de_rows
        .iter()
        .filter(|x| x.1 == "Tax" || x.1 == "ShippingTax" || x.1 == "TaxDiscount")
        .map(|x| x.2)
        .sum();
    let withheld: Decimal = de_rows
        .iter()
        .filter(|x| x.1.starts_with("MarketplaceFacilitatorVAT"))
        .map(|x| x.2)
        .sum();
    assert_eq!(tax + withheld, Decimal::ZERO);
    sb.shutdown().await;
}

#[tokio::test]
async fn tiny_and_large_worlds_tie_out() {
    for orders in [3usize, 5000] {
        let sb = start(orders).await;
        let w = sb.world();
        assert_eq!(w.orders.len(), orders);
        for s in &w.settlements {
            let p = parse(&sb.settlement_file(&s.id).unwrap());
            assert_eq!(p.sum, p.total);
        }
        sb.shutdown().await;
    }
}

async fn list_settlement_reports(sb: &Sandbox, c: &reqwest::Client, token: &str) -> Vec<Value> {
    let r = sp_get(sb, c, token, "/reports/2021-06-30/reports?reportTypes=GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2&pageSize=100").await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["reports"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn settlement_reports_appear_after_closing_and_download_as_gzip() {
    let sb = Sandbox::start(SandboxConfig {
        time_scale: 100_000.0,
        ..config(300)
    })
    .await
    .unwrap();
    let c = client();
    let token = access_token(&sb, &c).await;
    let before = list_settlement_reports(&sb, &c, &token).await;
    assert_eq!(
        before.len(),
        9,
        "the open period of each marketplace is not listed"
    );
    assert!(before.iter().all(|r| r["processingStatus"] == "DONE"));
    sb.advance_clock(chrono::Duration::days(15));
    let token = access_token(&sb, &c).await;
    let after = list_settlement_reports(&sb, &c, &token).await;
    assert_eq!(after.len(), 12, "closed settlements appear");
    let r = sp_get(&sb, &c, &token, "/reports/2021-06-30/reports?reportTypes=GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2&pageSize=5").await;
    let page: Value = r.json().await.unwrap();
    let next = page["nextToken"].as_str().unwrap();
    let r = sp_get(
        &sb,
        &c,
        &token,
        &format!("/reports/2021-06-30/reports?nextToken={next}&pageSize=5"),
    )
    .await;
    assert_eq!(r.status(), 400, "nextToken must be sent alone");
    let r = sp_get(
        &sb,
        &c,
        &token,
        &format!("/reports/2021-06-30/reports?nextToken={next}"),
    )
    .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["reports"]
            .as_array()
            .unwrap()
            .len(),
        5
    );

    let report = &after[0];
    let doc_id = report["reportDocumentId"].as_str().unwrap();
    let r = sp_get(
        &sb,
        &c,
        &token,
        &format!("/reports/2021-06-30/documents/{doc_id}"),
    )
    .await;
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["compressionAlgorithm"], "GZIP");
    let url = doc["url"].as_str().unwrap().to_string();
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain;charset=UTF-8");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip magic");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let sid = text.lines().nth(1).unwrap().split('\t').next().unwrap();
    assert_eq!(Some(text.clone()), sb.settlement_file(sid));
    let p = parse(&text);
    assert_eq!(p.sum, p.total);
    sb.advance_clock(chrono::Duration::minutes(6));
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 403, "pre-signed URLs expire after 5 minutes");
    assert!(r.text().await.unwrap().contains("Request has expired"));
    let r = c
        .post(format!("{}/reports/2021-06-30/reports", sb.sp_api_base_url()))
        .header("x-amz-access-token", access_token(&sb, &c).await)
        .json(&serde_json::json!({"reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", "marketplaceIds": ["A1PA6795UKMFR9"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "settlement reports cannot be requested");
    sb.shutdown().await;
}

/// Sizing check (run with `cargo test -p sandbox --test settlements -- --ignored --nocapture`).
#[tokio::test]
#[ignore]
async fn hundred_thousand_orders() {
    let t = std::time::Instant::now();
    let sb = start(100_000).await;
    let started = t.elapsed();
    let w = sb.world();
    let mut rows = 0;
    for s in &w.settlements {
        let p = parse(&sb.settlement_file(&s.id).unwrap());
        assert_eq!(p.sum, p.total);
        rows += p.rows.len();
    }
    println!(
        "100k orders: start {started:?}, {} settlements, {rows} rows, all tie out, total {:?}",
        w.settlements.len(),
        t.elapsed()
    );
    sb.shutdown().await;
}
