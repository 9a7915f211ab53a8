//! A refund's shipping rows (`Shipping`/`ShippingCharge`, `ShippingTax`, shipping promotions) are
//! kept apart on its SKU line, so the credit note can put them where the invoice carried shipping.

use rust_decimal::Decimal;
use settlement_mapper::{MappingTable, map_settlement};

const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

fn row(tt: &str, at: &str, desc: &str, amount: &str) -> String {
    format!(
        "1\t\t\t\t\t\t{tt}\tA\tA\t\tS1\tAmazon.co.uk\t{at}\t{desc}\t{amount}\tAFN\t25.09.2024\t25.09.2024 14:36:27 UTC\t1\t\t\tMUG\t1\t"
    )
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn a_refunds_shipping_and_its_tax_are_kept_apart_on_its_line() {
    let rows = [
        row("Order", "ItemPrice", "Principal", "12.00"),
        row("Order", "ItemPrice", "Shipping", "4.79"),
        row("Refund", "ItemPrice", "Principal", "-10.00"),
        row("Refund", "ItemPrice", "Tax", "-2.00"),
        row("Refund", "ItemPrice", "ShippingCharge", "-3.99"),
        row("Refund", "ItemPrice", "ShippingTax", "-0.80"),
        row("Refund", "Promotion", "Shipping", "1.00"),
    ];
    let total: Decimal = rows
        .iter()
        .map(|r| r.split('\t').nth(14).unwrap().parse::<Decimal>().unwrap())
        .sum();
    let text = format!(
        "{HEADER}\n1\t13.09.2024 08:59:52 UTC\t27.09.2024 08:59:52 UTC\t29.09.2024 08:59:52 UTC\t{total}\tGBP\n{}\n",
        rows.join("\n")
    );
    let p = map_settlement(text.as_bytes(), &MappingTable::default_table()).unwrap();
    assert!(p.is_ready(), "{:?}", p.held);
    let line = &p.refunds[0].lines[0];
    assert_eq!(line.amount, dec("-15.79"));
    assert_eq!(line.tax, dec("-2.80"));
    assert_eq!(
        line.shipping,
        dec("-3.79"),
        "charge, its tax and the promotion"
    );
    assert_eq!(line.shipping_tax, dec("-0.80"));
}
