//! Documents like SAP: DocEntry/DocNum, computed totals, UpdateDate/UpdateTime, and validation
//! errors with SAP-style codes (unknown property, unknown ItemCode/CardCode, inactive customer,
//! title or inactive account, unbalanced journal entry, overpaid invoice).
//!
//! These run on the generated world's company. Rows name their tax code in `VatGroup`, the VAT
//! localisations' property, which a company seeded without settings (no `AdminInfo`) accepts
//! too; the money rules of a company with settings are in `sap_company.rs` and `sap_tax.rs`.

mod common;

use common::*;
use serde_json::{Value, json};

/// A minimal valid invoice for the DE customer (tax code in `VatGroup`).
fn invoice(item_code: &str, num_at_card: &str) -> Value {
    let mut b = common::invoice(item_code, num_at_card);
    let line = &mut b["DocumentLines"][0];
    line["VatGroup"] = line["TaxCode"].take();
    line.as_object_mut().unwrap().remove("TaxCode");
    b
}

#[tokio::test]
async fn invoices_get_doc_entry_doc_num_and_totals() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (s, a) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "amz:S:order:1:invoice"),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let (_, b) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "amz:S:order:2:invoice"),
    )
    .await;
    assert_eq!(a["DocEntry"], 1);
    assert_eq!(b["DocEntry"], 2);
    assert_eq!(a["DocNum"], 100001);
    assert_eq!(b["DocNum"], 100002);
    assert_eq!(a["DocTotal"], 25.2, "2 x 10.50 = 21.00 + 20 % VAT 4.20");
    assert_eq!(a["VatSum"], 4.2);
    assert_eq!(a["DocumentStatus"], "bost_Open");
    assert_eq!(a["CardName"], "Amazon customers Amazon.co.uk");
    assert!(a["UpdateDate"].as_str().unwrap().starts_with("2026-03-10"));
    assert_eq!(
        sb.sap_by_num_at_card("Invoices", "amz:S:order:1:invoice")
            .len(),
        1
    );
    // Prefer: return-no-content gives 204 and a Location
    let r = c
        .post(format!("{}/Invoices", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .header("Prefer", "return-no-content")
        .json(&invoice("TM-MUG-0000", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/b1s/v2/Invoices(3)")
    );
    sb.shutdown().await;
}

async fn expect_error(
    sb: &sandbox::Sandbox,
    path: &str,
    body: Value,
    status: u16,
    code: &str,
    contains: &str,
) {
    let c = client();
    let cookie = login(sb, &c, "v2").await;
    let (s, b) = sap_post(sb, &c, &cookie, "v2", path, &body).await;
    assert_eq!(s, status, "{b}");
    assert_eq!(b["error"]["code"], code, "{b}");
    assert!(
        b["error"]["message"].as_str().unwrap().contains(contains),
        "{b}"
    );
}

#[tokio::test]
async fn validation_errors_look_like_sap() {
    let sb = start(20).await;
    let mut bad = invoice("TM-MUG-0000", "x");
    bad["AmazonOrderId"] = json!("1");
    expect_error(
        &sb,
        "Invoices",
        bad,
        400,
        "-1000",
        "Property 'AmazonOrderId' of 'Document' is invalid",
    )
    .await;
    let mut bad_line = invoice("TM-MUG-0000", "x");
    bad_line["DocumentLines"][0]["Sku"] = json!("1");
    expect_error(
        &sb,
        "Invoices",
        bad_line,
        400,
        "-1000",
        "Property 'Sku' of 'DocumentLine' is invalid",
    )
    .await;
    expect_error(
        &sb,
        "Invoices",
        invoice("NO-SUCH-ITEM", "x"),
        400,
        "-2028",
        "No matching records found",
    )
    .await;
    let mut no_bp = invoice("TM-MUG-0000", "x");
    no_bp["CardCode"] = json!("C-NOPE");
    expect_error(&sb, "Invoices", no_bp, 400, "-2028", "ODBC -2028").await;
    let mut inactive = invoice("TM-MUG-0000", "x");
    inactive["CardCode"] = json!("C-INACTIVE");
    expect_error(
        &sb,
        "Invoices",
        inactive,
        400,
        "-10",
        "10001071 - Customer C-INACTIVE is inactive",
    )
    .await;
    let mut tax = invoice("TM-MUG-0000", "x");
    tax["DocumentLines"][0]["VatGroup"] = json!("XX99");
    expect_error(
        &sb,
        "Invoices",
        tax,
        400,
        "-10",
        "10000180 - Specify valid tax code",
    )
    .await;
    expect_error(
        &sb,
        "Items",
        json!({"ItemCode": "TM-MUG-0000"}),
        400,
        "-10",
        "Item code 'TM-MUG-0000' already exists",
    )
    .await;
    expect_error(
        &sb,
        "BusinessPartners",
        json!({"CardCode": "C-AMZ-DE"}),
        400,
        "-10",
        "1320000140",
    )
    .await;
    let je = |a: &str, d: f64, c: f64| json!({"Memo": "x", "JournalEntryLines": [{"AccountCode": a, "Debit": d}, {"AccountCode": "1420", "Credit": c}]});
    expect_error(
        &sb,
        "JournalEntries",
        je("1000", 10.0, 10.0),
        400,
        "-10",
        "title account",
    )
    .await;
    expect_error(
        &sb,
        "JournalEntries",
        je("1499", 10.0, 10.0),
        400,
        "-10",
        "inactive",
    )
    .await;
    expect_error(
        &sb,
        "JournalEntries",
        je("9999", 10.0, 10.0),
        400,
        "-2028",
        "ODBC",
    )
    .await;
    expect_error(
        &sb,
        "JournalEntries",
        je("6100", 10.0, 10.01),
        400,
        "-5002",
        "Unbalanced",
    )
    .await;
    assert_eq!(sb.sap_count("Invoices"), 0);
    assert_eq!(sb.sap_count("JournalEntries"), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn payments_apply_to_invoices_and_refuse_overpayment() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (_, inv) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "o1"),
    )
    .await;
    let pay = |sum: f64| json!({"CardCode": "C-AMZ-UK", "TransferAccount": "1420", "TransferSum": sum, "PaymentInvoices": [{"DocEntry": inv["DocEntry"], "SumApplied": sum, "InvoiceType": "it_Invoice"}]});
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &pay(25.21)).await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds its open balance")
    );
    let (s, p) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &pay(20.00)).await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["DocNum"], 200001);
    let (_, inv2) = sap_get(&sb, &c, &cookie, "v2", "Invoices(1)").await;
    assert_eq!(inv2["PaidToDate"], 20.0);
    assert_eq!(inv2["DocumentStatus"], "bost_Open");
    let (s, _) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &pay(5.20)).await;
    assert_eq!(s, 201);
    let (_, inv3) = sap_get(&sb, &c, &cookie, "v2", "Invoices(1)").await;
    assert_eq!(inv3["DocumentStatus"], "bost_Close");
    let (s, _) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &pay(0.01)).await;
    assert_eq!(s, 400, "a paid invoice takes no more");
    let mut to_title = pay(1.0);
    to_title["TransferAccount"] = json!("2000");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &to_title).await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("title account")
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn patch_updates_prices_and_stamps_update_time_and_documents_cannot_be_deleted() {
    let sb = start(20).await;
    let c = client();
    sb.advance_clock(chrono::Duration::minutes(90));
    let cookie = login(&sb, &c, "v2").await;
    let r = c
        .patch(format!("{}/Items('TM-MUG-0000')", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .json(&json!({"ItemPrices": [{"PriceList": 2, "Price": 42.5}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, item) = sap_get(&sb, &c, &cookie, "v2", "Items('TM-MUG-0000')").await;
    let prices = item["ItemPrices"].as_array().unwrap();
    assert_eq!(prices.len(), 3, "PATCH merges collection rows");
    assert_eq!(
        prices.iter().find(|p| p["PriceList"] == 2).unwrap()["Price"],
        42.5
    );
    assert!(
        item["UpdateTime"].as_str().unwrap().starts_with("13:3"),
        "{}",
        item["UpdateTime"]
    );
    let (_, inv) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "o1"),
    )
    .await;
    let r = c
        .delete(format!(
            "{}/Invoices({})",
            sb.sap_base_url(),
            inv["DocEntry"]
        ))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "-5006");
    let (s, _) = sap_get(&sb, &c, &cookie, "v2", "Invoices(999)").await;
    assert_eq!(s, 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn stock_is_read_only_in_item_bodies_and_moves_with_invoices() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (_, before) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        "Items('TM-MUG-0000')?$select=QuantityOnStock,ItemWarehouseInfoCollection",
    )
    .await;
    let stock = before["QuantityOnStock"].as_f64().unwrap();
    assert_eq!(stock, sb.world().catalog[0].stock as f64);
    let r = c
        .patch(format!("{}/Items('TM-MUG-0000')", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .json(&json!({"ItemWarehouseInfoCollection": [{"WarehouseCode": "01", "InStock": 99999}], "QuantityOnStock": 99999}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, same) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        "Items('TM-MUG-0000')?$select=QuantityOnStock",
    )
    .await;
    assert_eq!(
        same["QuantityOnStock"].as_f64().unwrap(),
        stock,
        "read-only properties are silently ignored"
    );
    sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "s"),
    )
    .await;
    let (_, after) = sap_get(
        &sb,
        &c,
        &cookie,
        "v2",
        "Items('TM-MUG-0000')?$select=QuantityOnStock",
    )
    .await;
    assert_eq!(after["QuantityOnStock"].as_f64().unwrap(), stock - 2.0);
    sb.shutdown().await;
}

#[tokio::test]
async fn v2_etags_change_with_every_write_and_guard_patches() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let r = c
        .get(format!("{}/Items('TM-MUG-0000')", sb.sap_base_url()))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with("W/\""));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["@odata.etag"], etag.as_str());
    let patch = |tag: String| {
        let (c, cookie, url) = (
            c.clone(),
            cookie.clone(),
            format!("{}/Items('TM-MUG-0000')", sb.sap_base_url()),
        );
        async move {
            c.patch(url)
                .header("Cookie", cookie)
                .header("If-Match", tag)
                .json(&json!({"ItemName": "renamed"}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(patch(etag.clone()).await.status(), 204);
    let stale = patch(etag.clone()).await;
    assert_eq!(stale.status(), 412);
    let b: Value = stale.json().await.unwrap();
    assert_eq!(b["error"]["code"], "-2039");
    assert_eq!(patch("*".into()).await.status(), 204);
    let cookie1 = login(&sb, &c, "v1").await;
    let (_, v1) = sap_get(&sb, &c, &cookie1, "v1", "Items('TM-MUG-0000')").await;
    assert!(v1.get("@odata.etag").is_none(), "v1 has no ETags");
    sb.shutdown().await;
}

#[tokio::test]
async fn absurd_amounts_are_refused_not_crashed_on() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let mut inv = invoice("TM-MUG-0000", "big");
    inv["DocumentLines"][0]["Quantity"] = json!(1e20);
    inv["DocumentLines"][0]["UnitPrice"] = json!("99999999999999999999");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        sap_post(
            &sb,
            &c,
            &cookie,
            "v2",
            "Invoices",
            &invoice("TM-MUG-0000", "ok")
        )
        .await
        .0,
        201
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn credit_notes_need_an_existing_base_invoice() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (_, inv) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "o1"),
    )
    .await;
    let credit = |entry: Value| json!({"CardCode": "C-AMZ-UK", "NumAtCard": "r1", "DocumentLines": [{"ItemCode": "TM-MUG-0000", "Quantity": 1, "UnitPrice": 10.5, "VatGroup": "O1", "BaseType": 13, "BaseEntry": entry, "BaseLine": 0}]});
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "CreditNotes", &credit(json!(77))).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("-2028")));
    let (s, cn) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "CreditNotes",
        &credit(inv["DocEntry"].clone()),
    )
    .await;
    assert_eq!(s, 201, "{cn}");
    assert_eq!(cn["DocNum"], 600001);
    assert_eq!(cn["DocObjectCode"], "oCreditNotes");
    sb.shutdown().await;
}

#[tokio::test]
async fn freight_needs_a_known_expense_code_and_currencies_answer_the_session_check() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (s, b) = sap_get(&sb, &c, &cookie, "v2", "Currencies?$top=1&$select=Code").await;
    assert_eq!(s, 200);
    assert!(b["value"][0]["Code"].is_string(), "{b}");
    let mut inv = invoice("TM-MUG-0000", "f1");
    inv["DocumentAdditionalExpenses"] =
        json!([{"ExpenseCode": 1, "LineTotal": 4.19, "VatGroup": "O1"}]);
    let (s, doc) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!(s, 201, "{doc}");
    assert_eq!(
        doc["DocTotal"], 30.23,
        "21.00 + 4.19 net, 20 % VAT 4.20 + 0.84"
    );
    inv["DocumentAdditionalExpenses"][0]["ExpenseCode"] = json!(9);
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "Invoices", &inv).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("-2028")));
    sb.shutdown().await;
}
