//! Output of `ml-connector sync items`: the planned listing changes as a table.

use comfy_table::Table;
use rust_decimal::Decimal;

use crate::flows::items::{ItemsReport, PlannedChange};

fn price(v: Option<Decimal>) -> String {
    v.map_or_else(|| "?".to_owned(), |p| p.to_string())
}

fn quantity(v: Option<i64>) -> String {
    v.map_or_else(|| "?".to_owned(), |q| q.to_string())
}

/// The price column: `old -> new CUR`, or `unchanged`.
fn price_cell(c: &PlannedChange) -> String {
    match c.price_new {
        Some(new) => format!(
            "{} -> {new} {}",
            price(c.price_old),
            c.currency.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_owned(),
        None => "unchanged".to_owned(),
    }
}

/// The quantity column: `old -> new`, `unchanged`, or `FBA` (Amazon's stock, never sent).
fn quantity_cell(c: &PlannedChange) -> String {
    match (c.fba, c.quantity_new) {
        (true, _) => "FBA (not sent)".to_owned(),
        (false, Some(new)) => format!("{} -> {new}", quantity(c.quantity_old)),
        (false, None) => "unchanged".to_owned(),
    }
}

/// Renders the plan table (SKU, marketplace, price old -> new, quantity old -> new).
pub fn plan_table(report: &ItemsReport) -> String {
    let rows: Vec<[String; 4]> = report
        .planned
        .iter()
        .map(|c| {
            [
                c.sku.clone(),
                c.marketplace.clone(),
                price_cell(c),
                quantity_cell(c),
            ]
        })
        .collect();
    let mut table = Table::new();
    table
        .load_style(comfy_table::presets::NOTHING)
        .set_header(["SKU", "MARKETPLACE", "PRICE", "QUANTITY"])
        .add_rows(rows);
    // Two spaces between columns, none at the edges.
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table
        .lines()
        .map(|line| line.trim_end().to_owned() + "\n")
        .collect()
}

/// Prints the planned changes and a summary of what the run did.
pub fn print_plan(report: &ItemsReport) {
    if !report.enabled {
        println!("items: no [items] section in the configuration; nothing to sync");
        return;
    }
    if report.planned.is_empty() {
        println!("items: no listing changes");
    } else {
        let verb = if report.dry_run { "would send" } else { "sent" };
        println!("items: {verb} {} listing changes", report.planned.len());
        print!("{}", plan_table(report));
    }
    if !report.dry_run {
        println!(
            "  accepted {}  (by patch {}, by feed {})  rejected {}  failed {}",
            report.listings_updated,
            report.sent_by_patch,
            report.sent_by_feed,
            report.rejected,
            report.failed
        );
        println!(
            "  verified {}  awaiting verification {}",
            report.verified, report.awaiting_verification
        );
    }
    if report.orders_reserved > 0 {
        println!(
            "  held back for {} merchant orders SAP does not know yet: {} units",
            report.orders_reserved, report.units_reserved
        );
    }
    if report.not_listed > 0 {
        println!("  SKUs without a listing (not sent): {}", report.not_listed);
    }
    if report.still_rejected > 0 {
        println!(
            "  refused earlier and not sent again: {}",
            report.still_rejected
        );
    }
    if !report.issues.is_empty() {
        println!("  needs attention {}:", report.issues.len());
        for p in report.issues.iter().take(20) {
            println!("    {}  {}", p.key, p.reason);
        }
        if report.issues.len() > 20 {
            println!(
                "    ... and {} more (ml-connector status, ml-connector audit list)",
                report.issues.len() - 20
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_old_and_new_values() {
        let report = ItemsReport {
            enabled: true,
            dry_run: true,
            planned: vec![
                PlannedChange {
                    sku: "O'Brien Mug 12\" / blue".into(),
                    item_code: "A1".into(),
                    marketplace: "A1PA6795UKMFR9".into(),
                    currency: Some("EUR".into()),
                    price_old: Some("19.99".parse().unwrap()),
                    price_new: Some("21.50".parse().unwrap()),
                    quantity_old: Some(7),
                    quantity_new: Some(0),
                    fba: false,
                },
                PlannedChange {
                    sku: "TM-LAM-0001".into(),
                    item_code: "TM-LAM-0001".into(),
                    marketplace: "A1F83G8C2ARO7P".into(),
                    currency: Some("GBP".into()),
                    price_old: Some("10".parse().unwrap()),
                    price_new: Some("11".parse().unwrap()),
                    quantity_old: None,
                    quantity_new: None,
                    fba: true,
                },
            ],
            ..ItemsReport::default()
        };
        let table = plan_table(&report);
        assert_eq!(
            table,
            "SKU                     MARKETPLACE     PRICE               QUANTITY\n\
             O'Brien Mug 12\" / blue  A1PA6795UKMFR9  19.99 -> 21.50 EUR  7 -> 0\n\
             TM-LAM-0001             A1F83G8C2ARO7P  10 -> 11 GBP        FBA (not sent)\n"
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["SKU", "MARKETPLACE", "PRICE", "QUANTITY"]
        );
        assert!(
            lines[1].contains("19.99 -> 21.50 EUR") && lines[1].ends_with("7 -> 0"),
            "{table}"
        );
        assert!(
            lines[2].contains("10 -> 11 GBP") && lines[2].ends_with("FBA (not sent)"),
            "{table}"
        );
    }
}
