//! A refund's lines say which part takes back a promotion, so a credit note can carry it on the
//! promotion's own row (SAP then rounds the tax of the price and of the promotion apart, as
//! Amazon does).

use rust_decimal::Decimal;
use settlement_mapper::{MappingTable, SettlementPostings, map_settlement};

const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

fn row(kind: &str, order: &str, at: &str, desc: &str, amount: &str) -> String {
    format!(
        "1\t\t\t\t\t\t{kind}\t{order}\t{order}\t\tS1\tAmazon.ca\t{at}\t{desc}\t{amount}\tMFN\t2026-11-06\t2026-11-06 14:52:29 UTC\t1\t\t\tSKU-1\t1\t"
    )
}

fn map(rows: &[String]) -> SettlementPostings {
    let total: Decimal = rows
        .iter()
        .map(|r| r.split('\t').nth(14).unwrap().parse::<Decimal>().unwrap())
        .sum();
    let text = format!(
        "{HEADER}\n1\t2026-11-01 00:00:00 UTC\t2026-11-14 00:00:00 UTC\t2026-11-16 00:00:00 UTC\t{total}\tCAD\n{}\n",
        rows.join("\n")
    );
    map_settlement(text.as_bytes(), &MappingTable::from_toml("").unwrap()).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn a_refund_line_names_the_promotion_it_takes_back_and_its_tax() {
    let p = map(&[
        row("Refund", "702-1", "ItemPrice", "Principal", "-97.99"),
        row("Refund", "702-1", "ItemPrice", "Tax", "-12.74"),
        row("Refund", "702-1", "Promotion", "Principal", "9.80"),
        row("Refund", "702-1", "Promotion", "TaxDiscount", "1.27"),
        row("Refund", "702-1", "ItemFees", "Commission", "15.75"),
    ]);
    let refund = p.refunds.iter().find(|r| r.order_id == "702-1").unwrap();
    assert_eq!(refund.amount, dec("-99.66"));
    let line = &refund.lines[0];
    assert_eq!(line.sku, "SKU-1");
    assert_eq!(line.amount, dec("-99.66"));
    assert_eq!(line.tax, dec("-11.47"), "the promotion's tax is in the tax");
    assert_eq!(line.promotion, dec("9.80"));
    assert_eq!(line.promotion_tax, dec("1.27"));
}

#[test]
fn a_refund_without_promotion_has_none_and_a_shipping_promotion_is_not_the_item_s() {
    let p = map(&[
        row("Refund", "702-2", "ItemPrice", "Principal", "-20.00"),
        row("Refund", "702-2", "ItemPrice", "Shipping", "-5.00"),
        row("Refund", "702-2", "Promotion", "Shipping", "5.00"),
    ]);
    let line = &p.refunds[0].lines[0];
    assert_eq!(line.amount, dec("-20.00"));
    assert!(line.promotion.is_zero(), "{line:?}");
    assert!(line.promotion_tax.is_zero(), "{line:?}");
    // Not serialised when zero: the JSON of a refund without promotion is as it was.
    let json = serde_json::to_string(line).unwrap();
    assert!(!json.contains("promotion"), "{json}");
}
