//! Refunds as SAP books them: a credit note based on an open invoice is set against it; one based
//! on a paid invoice stays open and is paid back by an incoming payment's credit-note line or by
//! an outgoing payment to the customer (`VendorPayments`, `DocType` `rCustomer`); a payment's
//! means are never negative; a credit note row "without quantity posting" leaves stock alone.

mod common;

use common::*;
use serde_json::{Value, json};

fn stock(sb: &sandbox::Sandbox, item: &str) -> f64 {
    sb.sap_entities("Items")
        .iter()
        .find(|i| i["ItemCode"] == item)
        .and_then(|i| i["ItemWarehouseInfoCollection"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|w| w["InStock"].as_f64().unwrap_or_default())
        .sum()
}

fn credit(base: &Value, without_stock: bool) -> Value {
    let mut line =
        json!({"BaseType": 13, "BaseEntry": base["DocEntry"], "BaseLine": 0, "Quantity": 1});
    if without_stock {
        line["WithoutInventoryMovement"] = json!("tYES");
    }
    json!({"CardCode": "C-AMZ-UK", "NumAtCard": "r1", "DocDate": "2026-03-10", "DocumentLines": [line]})
}

fn payment(lines: Value, sum: f64) -> Value {
    json!({"CardCode": "C-AMZ-UK", "DocDate": "2026-03-10", "TransferAccount": "1420",
           "TransferSum": sum, "PaymentInvoices": lines})
}

#[tokio::test]
async fn a_credit_note_on_a_paid_invoice_stays_open_until_a_payment_applies_it() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    // Two mugs at 10.50 + 20 % VAT: 25.20; paid in full.
    let (_, inv) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "o1"),
    )
    .await;
    let pay = payment(
        json!([{"DocEntry": inv["DocEntry"], "SumApplied": 25.20, "InvoiceType": "it_Invoice"}]),
        25.20,
    );
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &pay).await;
    assert_eq!(s, 201, "{b}");
    let before = stock(&sb, "TM-MUG-0000");
    let (s, cn) = sap_post(&sb, &c, &cookie, "v2", "CreditNotes", &credit(&inv, true)).await;
    assert_eq!(s, 201, "{cn}");
    assert_eq!(cn["DocTotal"], 12.6, "one mug back, its VAT with it");
    assert_eq!(
        cn["DocumentStatus"], "bost_Open",
        "nothing left to set it against"
    );
    assert_eq!(
        stock(&sb, "TM-MUG-0000"),
        before,
        "without quantity posting"
    );
    // Its tax is reported reduced.
    let o1 = sb
        .sap_tax_report("2026-03-01", "2026-03-31")
        .into_iter()
        .find(|l| l.code == "O1")
        .unwrap();
    assert_eq!(o1.tax.normalize().to_string(), "2.1", "4.20 - 2.10");
    // A payment that would give money back is refused: payment means are never negative.
    let refund = payment(
        json!([{"DocEntry": cn["DocEntry"], "SumApplied": 12.60, "InvoiceType": "it_CredItnote"}]),
        -12.60,
    );
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "IncomingPayments", &refund).await;
    assert_eq!(s, 400, "{b}");
    // An outgoing payment to the customer pays the credit note back out of the account.
    let mut out = refund.clone();
    out["TransferSum"] = json!(12.60);
    out["DocType"] = json!("rCustomer");
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "VendorPayments", &out).await;
    assert_eq!(s, 201, "{b}");
    let cn = sb.sap_by_num_at_card("CreditNotes", "r1").remove(0);
    assert_eq!(cn["DocumentStatus"], "bost_Close");
    assert!(
        sb.sap_open_items("C-AMZ-UK").is_empty(),
        "{:?}",
        sb.sap_open_items("C-AMZ-UK")
    );
    let clearing: Vec<_> = sb
        .sap_account_balances()
        .into_iter()
        .filter(|b| b.account == "1420")
        .collect();
    assert_eq!(
        clearing[0].lc.normalize().to_string(),
        "12.6",
        "25.20 in, 12.60 out"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_credit_note_on_an_open_invoice_is_set_against_it_and_moves_stock_unless_told() {
    let sb = start(20).await;
    let c = client();
    let cookie = login(&sb, &c, "v2").await;
    let (_, inv) = sap_post(
        &sb,
        &c,
        &cookie,
        "v2",
        "Invoices",
        &invoice("TM-MUG-0000", "o2"),
    )
    .await;
    let before = stock(&sb, "TM-MUG-0000");
    let (s, cn) = sap_post(&sb, &c, &cookie, "v2", "CreditNotes", &credit(&inv, false)).await;
    assert_eq!(s, 201, "{cn}");
    assert_eq!(
        cn["DocumentStatus"], "bost_Close",
        "applied to the open invoice"
    );
    assert_eq!(
        stock(&sb, "TM-MUG-0000"),
        before + 1.0,
        "the mug is back in stock"
    );
    let inv = sb.sap_by_num_at_card("Invoices", "o2").remove(0);
    assert_eq!(inv["PaidToDate"], 12.6);
    // The rest of the invoice and a second credit note (nothing open on its row: one of the
    // two units is left) in one incoming payment whose total is what is still owed.
    let (_, cn2) = sap_post(&sb, &c, &cookie, "v2", "CreditNotes", &credit(&inv, true)).await;
    assert_eq!(cn2["DocumentStatus"], "bost_Close");
    let inv = sb.sap_by_num_at_card("Invoices", "o2").remove(0);
    assert_eq!(inv["DocumentStatus"], "bost_Close", "both mugs credited");
    // Crediting a third unit of a two-unit row is refused.
    let (s, b) = sap_post(&sb, &c, &cookie, "v2", "CreditNotes", &credit(&inv, true)).await;
    assert_eq!(s, 400, "{b}");
    sb.shutdown().await;
}
