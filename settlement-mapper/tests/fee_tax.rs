//! Fee lines carry their tax code: a gross (VAT-inclusive) fee keeps its amount and says so, and the
//! FBA fee of an order without item tax takes the untaxed-order code.

use rust_decimal::Decimal;
use settlement_mapper::mapping::{Journal, LineTax};
use settlement_mapper::{MappingTable, SettlementPostings, map_settlement};

const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

const TABLE: &str = r#"
[tax_rates]
I1 = "20"
I0 = "0"
[[tax]]
account = "*Fees"
tax_code = "I1"
tax_gross = true
[[tax]]
account = "FbaFees"
tax_code = "I1"
tax_gross = true
tax_code_untaxed_order = "I0"
"#;

fn row(order: &str, at: &str, desc: &str, amount: &str) -> String {
    format!(
        "1\t\t\t\t\t\tOrder\t{order}\t{order}\t\tS1\tAmazon.co.uk\t{at}\t{desc}\t{amount}\tAFN\t25.09.2024\t25.09.2024 14:36:27 UTC\t1\t\t\tSKU\t1\t"
    )
}

fn map(rows: &[String]) -> SettlementPostings {
    let total: Decimal = rows
        .iter()
        .map(|r| r.split('\t').nth(14).unwrap().parse::<Decimal>().unwrap())
        .sum();
    let text = format!(
        "{HEADER}\n1\t13.09.2024 08:59:52 UTC\t27.09.2024 08:59:52 UTC\t29.09.2024 08:59:52 UTC\t{total}\tGBP\n{}\n",
        rows.join("\n")
    );
    map_settlement(text.as_bytes(), &MappingTable::from_toml(TABLE).unwrap()).unwrap()
}

#[test]
fn fee_lines_carry_their_code_and_untaxed_orders_take_theirs() {
    let p = map(&[
        // A 20 % order: Tax row, commission and FBA fee with VAT.
        row("A", "ItemPrice", "Principal", "39.99"),
        row("A", "ItemPrice", "Tax", "8.00"),
        row("A", "ItemFees", "FBAPerUnitFulfillmentFee", "-3.96"),
        row("A", "ItemFees", "Commission", "-8.64"),
        // A zero-rated order (Tax 0.00): the FBA fee without VAT, the commission with it.
        row("B", "ItemPrice", "Principal", "47.99"),
        row("B", "ItemPrice", "Tax", "0.00"),
        row("B", "ItemFees", "FBAPerUnitFulfillmentFee", "-3.30"),
        row("B", "ItemFees", "Commission", "-8.64"),
        // Its FBA fee may come before its Tax row: still the order's status decides.
        row("C", "ItemFees", "FBAPerUnitFulfillmentFee", "-3.96"),
        row("C", "ItemPrice", "Principal", "39.99"),
        row("C", "ItemPrice", "Tax", "8.00"),
    ]);
    assert!(p.is_ready(), "{:?}", p.held);
    let fees = p
        .journal_entries
        .iter()
        .find(|je| je.kind == Journal::Fees)
        .unwrap();
    let line = |symbol: &str, code: &str| {
        fees.lines
            .iter()
            .find(|l| l.symbol == symbol && l.tax.as_ref().is_some_and(|t| t.code == code))
            .map(|l| (l.debit, l.rows, l.tax.clone().unwrap()))
    };
    let gross = |code: &str| LineTax {
        code: code.into(),
        gross: true,
    };
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    assert_eq!(line("FbaFees", "I1"), Some((d("7.92"), 2, gross("I1"))));
    assert_eq!(line("FbaFees", "I0"), Some((d("3.30"), 1, gross("I0"))));
    assert_eq!(
        line("ReferralFees", "I1"),
        Some((d("17.28"), 2, gross("I1")))
    );
    let clearing = fees.lines.iter().find(|l| l.tax.is_none()).unwrap();
    assert_eq!(clearing.credit, d("28.50"));
    assert!(fees.is_balanced());
    assert_eq!(p.clearing_balance_after_payout(), Decimal::ZERO);
}

#[test]
fn without_tax_settings_lines_carry_none() {
    let text = format!(
        "{HEADER}\n1\t13.09.2024 08:59:52 UTC\t27.09.2024 08:59:52 UTC\t29.09.2024 08:59:52 UTC\t36.03\tGBP\n{}\n{}\n",
        row("A", "ItemPrice", "Principal", "39.99"),
        row("A", "ItemFees", "FBAPerUnitFulfillmentFee", "-3.96"),
    );
    let p = map_settlement(text.as_bytes(), &MappingTable::default_table()).unwrap();
    assert!(
        p.journal_entries
            .iter()
            .flat_map(|je| &je.lines)
            .all(|l| l.tax.is_none())
    );
}
