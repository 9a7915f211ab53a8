//! The summary planner: documents whose totals are what Amazon paid, a line per (SKU, tax code),
//! the settlement's quantities, and a number of documents that does not grow with the orders.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use settlement_mapper::map_settlement;
use settlement_mapper::mapping::MappingTable;
use settlement_mapper::synth::{SynthOptions, write_settlement};
use settlement_mapper::{SettlementReader, SettlementRow};

use super::*;
use crate::config::{Config, TEMPLATE};

fn config() -> Config {
    Config::parse(std::path::Path::new("ml-connector.toml"), TEMPLATE).unwrap()
}

/// A generated Amazon.de settlement: its postings and rows.
fn settlement(orders: usize, facilitator_tax: bool) -> (SettlementPostings, Vec<SettlementRow>) {
    let mut file = Vec::new();
    write_settlement(
        &SynthOptions {
            seed: 11,
            orders,
            facilitator_tax,
            ..SynthOptions::default()
        },
        &mut file,
    )
    .unwrap();
    let postings = map_settlement(file.as_slice(), &MappingTable::default_table()).unwrap();
    let rows = SettlementReader::new(file.as_slice())
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    (postings, rows)
}

fn marketplaces(config: &Config) -> BTreeMap<String, SummaryMarketplace> {
    let mut mapping = config.marketplaces["A1PA6795UKMFR9"].clone();
    mapping.tax_codes = [
        ("19".to_owned(), "O1".to_owned()),
        ("7".to_owned(), "O2".to_owned()),
    ]
    .into_iter()
    .collect();
    [(
        "amazon.de".to_owned(),
        SummaryMarketplace {
            id: "A1PA6795UKMFR9".into(),
            mapping,
        },
    )]
    .into_iter()
    .collect()
}

fn plan(
    postings: &SettlementPostings,
    rows: &[SettlementRow],
    summarised: &BTreeSet<String>,
) -> Result<Vec<SummaryGroup>, Vec<String>> {
    let config = config();
    let marketplaces = marketplaces(&config);
    plan_summary(&SummaryInput {
        config: &config,
        seller: "S1",
        postings,
        rows,
        summarised,
        marketplaces: &marketplaces,
        posted_month: false,
    })
}

fn all_orders(p: &SettlementPostings) -> BTreeSet<String> {
    p.receipts
        .iter()
        .map(|r| r.order_id.clone())
        .chain(p.refunds.iter().map(|r| r.order_id.clone()))
        .collect()
}

/// A planned document's total as SAP will keep it: gross rows as sent; net rows and freight
/// plus nothing (the generator's orders carry their VAT on item rows only where it is collected).
fn gross_total(doc: &sap_b1_client::entities::Document) -> Decimal {
    let lines: Decimal = doc
        .document_lines
        .iter()
        .flatten()
        .map(|l| match l.price_after_vat {
            Some(g) => (g * l.quantity.unwrap()).round_dp(2),
            None => l.line_total.unwrap_or_default(),
        })
        .sum();
    lines
}

#[test]
fn the_documents_total_what_amazon_paid_and_gave_back() {
    for facilitated in [false, true] {
        let (p, rows) = settlement(40, facilitated);
        let groups = plan(&p, &rows, &all_orders(&p)).unwrap();
        assert_eq!(groups.len(), 1, "one part, one marketplace");
        let g = &groups[0];
        let paid: Decimal = p.receipts.iter().map(|r| r.amount).sum();
        let back: Decimal = p.refunds.iter().map(|r| r.amount).sum();
        assert_eq!(g.receipts, paid);
        assert_eq!(g.refunds, back);
        let invoiced: Decimal = g.invoices.iter().map(|d| d.expected).sum();
        assert_eq!(invoiced, paid, "facilitated {facilitated}");
        if let Some(cn) = &g.credit_note {
            assert_eq!(cn.expected, -back);
            assert_eq!(gross_total(&cn.doc), -back, "credit note rows");
            for l in cn.doc.document_lines.iter().flatten() {
                assert_eq!(l.without_inventory_movement, Some(YesNo::Yes));
            }
        }
        for d in &g.invoices {
            let freight: Decimal = d
                .doc
                .document_additional_expenses
                .iter()
                .flatten()
                .map(|x| x.line_total.unwrap_or_default())
                .sum();
            // Gross item rows plus the freight's net: the freight's tax SAP adds.
            assert!(gross_total(&d.doc) + freight <= d.expected, "{d:?}");
            assert_eq!(d.doc.card_code.as_deref(), Some("C-AMZ-DE"));
            assert!(d.doc.comments.as_deref().unwrap().ends_with(&d.key));
        }
    }
}

#[test]
fn a_line_per_sku_and_tax_code_with_the_settlement_s_quantities() {
    let (p, rows) = settlement(60, false);
    let groups = plan(&p, &rows, &all_orders(&p)).unwrap();
    // Units per SKU as the settlement's order rows give them (repeated per row, once per order).
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for r in rows.iter().filter(|r| r.transaction_type == "Order") {
        if let Some(q) = r.quantity_purchased
            && seen.insert((r.order_id.clone(), r.sku.clone()))
        {
            *expected.entry(r.sku.clone()).or_default() += Decimal::from(q);
        }
    }
    let mut on_invoices: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut keys = BTreeSet::new();
    for d in groups.iter().flat_map(|g| &g.invoices) {
        for l in d.doc.document_lines.iter().flatten() {
            // The template invoices shipping as an item line: not a SKU.
            let Some(sku) = l
                .free_text
                .as_deref()
                .and_then(|t| t.strip_prefix("Amazon SKU "))
            else {
                continue;
            };
            let sku = sku.to_owned();
            *on_invoices.entry(sku.clone()).or_default() += l.quantity.unwrap();
            assert!(
                keys.insert((sku, l.vat_group.clone(), l.price_after_vat.is_some())),
                "one line per SKU and tax code"
            );
        }
    }
    assert_eq!(on_invoices, expected);
    assert_eq!(groups[0].quantities, expected);
}

#[test]
fn the_number_of_documents_does_not_grow_with_the_orders() {
    let count = |orders| {
        let (p, rows) = settlement(orders, false);
        let groups = plan(&p, &rows, &all_orders(&p)).unwrap();
        groups
            .iter()
            .map(|g| g.invoices.len() + usize::from(g.credit_note.is_some()))
            .sum::<usize>()
    };
    let (small, large) = (count(30), count(300));
    assert!(large <= small + 1 && large <= 4, "{small} vs {large}");
}

#[test]
fn only_the_summarised_orders_are_on_it_and_rows_that_do_not_add_up_hold() {
    let (p, rows) = settlement(20, false);
    let some: BTreeSet<String> = p
        .receipts
        .iter()
        .take(5)
        .map(|r| r.order_id.clone())
        .collect();
    let groups = plan(&p, &rows, &some).unwrap();
    let paid: Decimal = p
        .receipts
        .iter()
        .filter(|r| some.contains(&r.order_id))
        .map(|r| r.amount)
        .sum();
    assert_eq!(groups[0].receipts, paid);
    // A receipt the rows do not explain (a mapping routing a row elsewhere) holds the summary.
    let mut skewed = p.clone();
    let first = skewed
        .receipts
        .iter_mut()
        .find(|r| some.contains(&r.order_id))
        .unwrap();
    first.amount += Decimal::ONE;
    let order = first.order_id.clone();
    let why = plan(&skewed, &rows, &some).unwrap_err();
    assert!(why.iter().any(|w| w.contains(&order)), "{why:?}");
}
