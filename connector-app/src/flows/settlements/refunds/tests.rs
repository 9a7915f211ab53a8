//! Credit notes of refunds, as SAP receives them.

use std::str::FromStr;

use serde_json::json;
use settlement_mapper::postings::{Refund, RefundLine};

use super::*;
use crate::config::{Config, TEMPLATE};

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn config() -> Config {
    Config::parse(std::path::Path::new("ml-connector.toml"), TEMPLATE).unwrap()
}

fn refund(lines: &[(&str, &str, &str)]) -> Refund {
    let lines: Vec<RefundLine> = lines
        .iter()
        .map(|(sku, amount, tax)| RefundLine {
            sku: (*sku).into(),
            amount: dec(amount),
            tax: dec(tax),
            promotion: Decimal::ZERO,
            promotion_tax: Decimal::ZERO,
            shipping: Decimal::ZERO,
            shipping_tax: Decimal::ZERO,
        })
        .collect();
    Refund {
        order_id: "202-1234567-1234567".into(),
        marketplace: "Amazon.co.uk".into(),
        amount: lines.iter().map(|l| l.amount).sum(),
        date: NaiveDate::from_ymd_opt(2026, 10, 24).unwrap(),
        rows: 3,
        lines,
    }
}

fn invoice() -> BaseInvoice {
    BaseInvoice {
        doc_entry: 17,
        doc_num: Some(1017),
        card_code: "C-AMZ-UK".into(),
        rows: vec![
            BaseRow {
                line_num: 0,
                item_code: "MUG-BLUE".into(),
                open_quantity: dec("2"),
                gross_price: dec("12.00"),
                net_price: dec("10.00"),
                tax: (Some("O1".into()), None),
            },
            BaseRow {
                line_num: 1,
                item_code: "BOOK-1".into(),
                open_quantity: dec("1"),
                gross_price: dec("8.99"),
                net_price: dec("8.99"),
                tax: (Some("O0".into()), None),
            },
            BaseRow {
                line_num: 2,
                item_code: "SHIPPING".into(),
                open_quantity: dec("1"),
                gross_price: dec("0"),
                net_price: dec("3.99"),
                tax: (Some("O1".into()), None),
            },
        ],
        expenses: vec![BaseExpense {
            expense_code: 1,
            tax: (Some("O1".into()), None),
        }],
    }
}

fn build(
    prices_include_tax: bool,
    r: &Refund,
    inv: &BaseInvoice,
) -> Result<serde_json::Value, String> {
    let config = config();
    let mut mapping = config.marketplaces.values().next().unwrap().clone();
    mapping.prices_include_tax = prices_include_tax;
    let input = CreditNoteInput {
        config: &config,
        mapping: &mapping,
        key: "creditnote:S:1:202-1234567-1234567:2026-10-24",
        settlement_id: "1",
        currency: "GBP",
    };
    credit_note(&input, r, inv).map(|d| serde_json::to_value(d).unwrap())
}

#[test]
fn a_vat_inclusive_refund_is_credited_gross_on_the_invoice_row_without_stock() {
    // One of two mugs back: 12.00 with 2.00 VAT inside.
    let doc = build(
        true,
        &refund(&[("MUG-BLUE", "-12.00", "-2.00")]),
        &invoice(),
    )
    .unwrap();
    assert_eq!(doc["CardCode"], "C-AMZ-UK");
    assert_eq!(doc["NumAtCard"], "202-1234567-1234567");
    assert_eq!(doc["DocCurrency"], "GBP");
    assert_eq!(doc["DocDate"], "2026-10-24");
    let line = &doc["DocumentLines"][0];
    assert_eq!(line["BaseType"], 13);
    assert_eq!(line["BaseEntry"], 17);
    assert_eq!(line["BaseLine"], 0);
    assert_eq!(line["Quantity"], "1");
    assert_eq!(line["PriceAfterVAT"], "12");
    assert_eq!(line.get("UnitPrice"), None);
    // No tax code sent: the row inherits the invoice row's.
    assert_eq!(line.get("VatGroup"), None);
    assert_eq!(line["WithoutInventoryMovement"], "tYES");
    assert!(
        doc["Comments"]
            .as_str()
            .unwrap()
            .ends_with("creditnote:S:1:202-1234567-1234567:2026-10-24")
    );
}

#[test]
fn a_net_refund_goes_as_unit_price_and_total_and_a_full_refund_takes_every_unit() {
    // Facilitated (tax went to the pass-through) or zero-rated: the refund is the net.
    let doc = build(true, &refund(&[("MUG-BLUE", "-20.00", "0")]), &invoice()).unwrap();
    let line = &doc["DocumentLines"][0];
    assert_eq!(line["Quantity"], "2");
    assert_eq!(line["UnitPrice"], "10");
    assert_eq!(line["LineTotal"], "20.00");
    assert_eq!(line.get("PriceAfterVAT"), None);
    // US style: the seller-collected tax is taken out, SAP adds it back from the row's code.
    let doc = build(
        false,
        &refund(&[("MUG-BLUE", "-10.83", "-0.83")]),
        &invoice(),
    )
    .unwrap();
    let line = &doc["DocumentLines"][0];
    assert_eq!(
        (&line["Quantity"], &line["LineTotal"]),
        (&json!("1"), &json!("10.00"))
    );
}

#[test]
fn a_part_refund_credits_one_unit_at_the_amount_and_a_credited_row_is_not_a_base_again() {
    let doc = build(true, &refund(&[("BOOK-1", "-3.00", "0")]), &invoice()).unwrap();
    let line = &doc["DocumentLines"][0];
    assert_eq!(
        (&line["Quantity"], &line["UnitPrice"]),
        (&json!("1"), &json!("3"))
    );
    assert_eq!(line["BaseLine"], 1);
    let mut credited = invoice();
    credited.rows[1].open_quantity = Decimal::ZERO;
    let doc = build(true, &refund(&[("BOOK-1", "-3.00", "0")]), &credited).unwrap();
    let line = &doc["DocumentLines"][0];
    assert_eq!(line.get("BaseEntry"), None, "{line}");
    assert_eq!(line["ItemCode"], "BOOK-1");
}

#[test]
fn a_refund_the_invoice_cannot_carry_says_why() {
    let err = build(true, &refund(&[("LAMP-9", "-5.00", "0")]), &invoice()).unwrap_err();
    assert!(
        err.contains("SKU LAMP-9") && err.contains("invoice 1017"),
        "{err}"
    );
    let err = build(true, &refund(&[("MUG-BLUE", "4.00", "0")]), &invoice()).unwrap_err();
    assert!(err.contains("is positive"), "{err}");
}

#[test]
fn sap_applies_a_credit_note_to_its_open_invoice_first() {
    let mut open = dec("30.00");
    let c = simulate_credit(&mut open, dec("12.00"));
    assert_eq!((open, c.open), (dec("18.00"), Decimal::ZERO));
    let mut paid = Decimal::ZERO;
    let c = simulate_credit(&mut paid, dec("12.00"));
    assert_eq!((paid, c.open), (Decimal::ZERO, dec("12.00")));
}

#[test]
fn a_promotion_taken_back_goes_on_the_invoice_s_promotion_row() {
    // The invoice carried the item at 97.99 and its promotion on the next row (quantity -1,
    // `orders.promotion_item`); the refund gives back 97.99 + 12.74 tax less the promotion 9.80
    // and its 1.27 tax.
    let mut config = config();
    config.orders.promotion_item = Some("PROMO".into());
    let mut mapping = config.marketplaces.values().next().unwrap().clone();
    mapping.prices_include_tax = false;
    let inv = BaseInvoice {
        doc_entry: 58,
        doc_num: Some(100058),
        card_code: "C-AMZ-CA".into(),
        rows: vec![
            BaseRow {
                line_num: 0,
                item_code: "CANDLE".into(),
                open_quantity: dec("1"),
                gross_price: dec("97.99"),
                net_price: dec("97.99"),
                tax: (None, Some("HST13".into())),
            },
            BaseRow {
                line_num: 1,
                item_code: "PROMO".into(),
                open_quantity: dec("-1"),
                gross_price: dec("9.80"),
                net_price: dec("9.80"),
                tax: (None, Some("HST13".into())),
            },
        ],
        expenses: Vec::new(),
    };
    let mut r = refund(&[("CANDLE", "-99.66", "-11.47")]);
    r.lines[0].promotion = dec("9.80");
    r.lines[0].promotion_tax = dec("1.27");
    let input = CreditNoteInput {
        config: &config,
        mapping: &mapping,
        key: "creditnote:S:1:702-1:2026-11-06",
        settlement_id: "1",
        currency: "CAD",
    };
    let doc = serde_json::to_value(credit_note(&input, &r, &inv).unwrap()).unwrap();
    let lines = doc["DocumentLines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["BaseLine"], 0);
    assert_eq!(lines[0]["Quantity"], "1");
    assert_eq!(
        lines[0]["LineTotal"], "97.99",
        "the price before the promotion"
    );
    assert_eq!(lines[1]["ItemCode"], "PROMO");
    assert_eq!(lines[1]["BaseEntry"], 58);
    assert_eq!(lines[1]["BaseLine"], 1);
    assert_eq!(lines[1]["Quantity"], "-1");
    assert_eq!(lines[1]["UnitPrice"], "9.8");
    assert_eq!(lines[1]["LineTotal"], "-9.80");
    // Without the promotion item configured the refund is one net line, as before.
    let mut plain = config.clone();
    plain.orders.promotion_item = None;
    let input = CreditNoteInput {
        config: &plain,
        ..input
    };
    let doc = serde_json::to_value(credit_note(&input, &r, &inv).unwrap()).unwrap();
    assert_eq!(doc["DocumentLines"].as_array().unwrap().len(), 1);
    assert_eq!(doc["DocumentLines"][0]["LineTotal"], "88.19");
}

/// A refund of a mug with its shipping: item 12.00 (2.00 VAT), shipping 4.79 (0.80 VAT).
fn with_shipping() -> Refund {
    let mut r = refund(&[("MUG-BLUE", "-16.79", "-2.80")]);
    r.lines[0].shipping = dec("-4.79");
    r.lines[0].shipping_tax = dec("-0.80");
    r
}

#[test]
fn refunded_shipping_goes_on_the_invoices_shipping_line_net_with_its_tax() {
    let doc = build(true, &with_shipping(), &invoice()).unwrap();
    let lines = doc["DocumentLines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{doc}");
    // The item carries only its own part.
    assert_eq!(lines[0]["ItemCode"], "MUG-BLUE");
    assert_eq!(lines[0]["PriceAfterVAT"], "12");
    // The shipping, gross like the invoice's shipping line where prices include VAT, based on
    // it (its tax code follows).
    let ship = &lines[1];
    assert_eq!(ship["ItemCode"], "SHIPPING");
    assert_eq!(ship["PriceAfterVAT"], "4.79");
    assert_eq!(ship.get("UnitPrice"), None);
    assert_eq!(
        (&ship["BaseType"], &ship["BaseLine"]),
        (&json!(13), &json!(2))
    );
    assert_eq!(doc.get("DocumentAdditionalExpenses"), None);
    // A second shipping refund on a credited shipping row names the row's tax code itself.
    let mut credited = invoice();
    credited.rows[2].open_quantity = Decimal::ZERO;
    let doc = build(true, &with_shipping(), &credited).unwrap();
    let ship = &doc["DocumentLines"][1];
    assert_eq!(
        (ship.get("BaseEntry"), &ship["VatGroup"]),
        (None, &json!("O1"))
    );
    // A shipping-only refund is a credit note with the shipping line alone.
    let mut only = refund(&[("MUG-BLUE", "-4.79", "-0.80")]);
    only.lines[0].shipping = dec("-4.79");
    only.lines[0].shipping_tax = dec("-0.80");
    let doc = build(true, &only, &invoice()).unwrap();
    let lines = doc["DocumentLines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{doc}");
    assert_eq!(lines[0]["ItemCode"], "SHIPPING");
}

#[test]
fn refunded_shipping_goes_on_the_freight_where_the_invoice_carried_it_there() {
    let text = TEMPLATE
        .replace("shipping = \"item-line\"", "shipping = \"expense\"")
        .replace("# shipping_expense_code = 1", "shipping_expense_code = 1");
    let config = Config::parse(std::path::Path::new("ml-connector.toml"), &text).unwrap();
    let mut mapping = config.marketplaces.values().next().unwrap().clone();
    mapping.prices_include_tax = true;
    let input = CreditNoteInput {
        config: &config,
        mapping: &mapping,
        key: "k",
        settlement_id: "1",
        currency: "GBP",
    };
    let doc =
        serde_json::to_value(credit_note(&input, &with_shipping(), &invoice()).unwrap()).unwrap();
    assert_eq!(doc["DocumentLines"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(
        doc["DocumentLines"][0]["PriceAfterVAT"], "12",
        "the item without the shipping"
    );
    let x = &doc["DocumentAdditionalExpenses"][0];
    assert_eq!(x["ExpenseCode"], 1);
    assert_eq!(x["LineTotal"], "3.99");
    assert_eq!(x["VatGroup"], "O1");
    // An invoice without that freight cannot take the shipping back: said, not dropped.
    let mut bare = invoice();
    bare.expenses.clear();
    let err = credit_note(&input, &with_shipping(), &bare).unwrap_err();
    assert!(err.contains("no freight with expense code 1"), "{err}");
}
