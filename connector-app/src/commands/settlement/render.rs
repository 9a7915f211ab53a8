//! Text and JSON for the settlement commands: the preview tables, the check result, the
//! reconciliation report in its three formats and the summary of a settlements run.

use std::fmt::Write as _;

use anyhow::Result;
use comfy_table::{CellAlignment, Table};
use settlement_mapper::Status;
use settlement_mapper::postings::SettlementPostings;

use super::ReportFormat;
use crate::flows::settlements::report::{Reconciliation, to_csv, to_html};
use crate::flows::settlements::{CheckedSettlement, SettlementsReport};

/// The reconciliation report in `format`.
pub fn report(rec: &Reconciliation, format: ReportFormat) -> Result<String> {
    Ok(match format {
        ReportFormat::Html => to_html(rec),
        ReportFormat::Csv => to_csv(rec),
        ReportFormat::Json => serde_json::to_string_pretty(rec)? + "\n",
    })
}

/// The result of `settlement check`: the settlement, then what would be posted or every problem.
pub fn check(name: &str, checked: &CheckedSettlement) -> String {
    let mut s = String::new();
    let p = &checked.postings;
    let _ = writeln!(
        s,
        "settlement {} ({}, total {} {}, {} rows, {})",
        p.settlement_id,
        name,
        p.total_amount,
        p.currency,
        p.rows,
        if p.ties_out {
            "ties out"
        } else {
            "DOES NOT TIE OUT"
        }
    );
    if let Some(known) = &checked.known {
        let _ = writeln!(
            s,
            "{}: {}",
            if known.needs_attention {
                "held"
            } else {
                "nothing to do"
            },
            known.text
        );
        return s;
    }
    match &checked.plan {
        Ok(plan) => {
            let _ = writeln!(
                s,
                "ready: {} incoming payment(s) and {} journal entr{} would be posted",
                plan.payments.len(),
                plan.journal_entries.len(),
                if plan.journal_entries.len() == 1 {
                    "y"
                } else {
                    "ies"
                }
            );
            for n in &plan.notes {
                let _ = writeln!(s, "  note: {n}");
            }
            let opening: rust_decimal::Decimal =
                plan.applications.iter().map(|a| a.opening_receivable).sum();
            if !opening.is_zero() {
                let _ = writeln!(
                    s,
                    "  opening receivable: {opening} {} of orders from before orders.invoiced_from",
                    p.currency
                );
            }
            if !plan.held.is_empty() {
                let _ = writeln!(
                    s,
                    "receipts held: {} (the rest would post; the clearing account keeps them until replayed)",
                    plan.held.len()
                );
                for h in &plan.held {
                    let _ = writeln!(s, "  - {}", h.reason(&p.currency));
                }
            }
        }
        Err(problems) => {
            let _ = writeln!(s, "held: {} problem(s)", problems.len());
            for problem in problems {
                let _ = writeln!(s, "  - {problem}");
            }
        }
    }
    s
}

/// Per-order notes a sync summary shows per settlement (the roll-up above them covers all).
const NOTES_SHOWN: usize = 5;

/// The `preview --format json` document (pretty, with a final newline), serialised straight into
/// `out`: a settlement of a hundred thousand orders is never held as text.
pub fn preview_json(p: &SettlementPostings, out: impl std::io::Write) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, p)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// How many receipts the table shows before pointing at the JSON.
const RECEIPTS_SHOWN: usize = 25;

/// The `preview` table: categories, receipts, journal entries, unmapped rows and the tie-out.
pub fn preview(name: &str, p: &SettlementPostings) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Settlement {} ({}, {:?} flat file) from {name}",
        p.settlement_id, p.currency, p.layout
    );
    let _ = writeln!(
        s,
        "Period {} to {}, deposit date {}",
        p.start.format("%Y-%m-%d %H:%M UTC"),
        p.end.format("%Y-%m-%d %H:%M UTC"),
        p.deposit_date.format("%Y-%m-%d")
    );
    s.push('\n');

    let _ = writeln!(s, "By category");
    let rows: Vec<Vec<String>> = p
        .by_category
        .iter()
        .map(|c| {
            vec![
                c.transaction_type.clone(),
                c.amount_type.clone(),
                c.amount_description.clone(),
                c.target.clone(),
                c.rows.to_string(),
                c.amount.to_string(),
            ]
        })
        .collect();
    table(
        &mut s,
        &[
            "transaction-type",
            "amount-type",
            "amount-description",
            "posts to",
            "rows",
            "amount",
        ],
        &rows,
        &[4, 5],
    );

    let receipts_total: rust_decimal::Decimal = p.receipts.iter().map(|r| r.amount).sum();
    let _ = writeln!(
        s,
        "\nReceipts: {} order(s), {} {}",
        p.receipts.len(),
        receipts_total,
        p.currency
    );
    let rows: Vec<Vec<String>> = p
        .receipts
        .iter()
        .take(RECEIPTS_SHOWN)
        .map(|r| {
            vec![
                r.order_id.clone(),
                r.marketplace.clone(),
                r.date.to_string(),
                r.rows.to_string(),
                r.amount.to_string(),
            ]
        })
        .collect();
    table(
        &mut s,
        &["order", "marketplace", "date", "rows", "amount"],
        &rows,
        &[3, 4],
    );
    if p.receipts.len() > RECEIPTS_SHOWN {
        let _ = writeln!(
            s,
            "  ... and {} more (use --format json for all)",
            p.receipts.len() - RECEIPTS_SHOWN
        );
    }

    let _ = writeln!(s, "\nJournal entries");
    for je in &p.journal_entries {
        let _ = writeln!(s, "  {}  {}  (ref {})", je.date, je.memo, je.reference);
        let rows: Vec<Vec<String>> = je
            .lines
            .iter()
            .map(|l| {
                let blank = |d: rust_decimal::Decimal| {
                    if d.is_zero() {
                        String::new()
                    } else {
                        d.to_string()
                    }
                };
                let memo = match &l.tax {
                    Some(t) if t.gross => format!("{} [tax {}, incl.]", l.memo, t.code),
                    Some(t) => format!("{} [tax {}]", l.memo, t.code),
                    None => l.memo.clone(),
                };
                vec![l.account.clone(), blank(l.debit), blank(l.credit), memo]
            })
            .collect();
        let mut sub = String::new();
        table(
            &mut sub,
            &["account", "debit", "credit", "memo"],
            &rows,
            &[1, 2],
        );
        for line in sub.lines() {
            let _ = writeln!(s, "  {line}");
        }
        let _ = writeln!(
            s,
            "    balanced: debits {} = credits {}",
            je.debits(),
            je.credits()
        );
    }

    if !p.unmapped.is_empty() {
        let _ = writeln!(s, "\nUnmapped categories (add rules with --mapping)");
        let rows: Vec<Vec<String>> = p
            .unmapped
            .iter()
            .map(|u| {
                vec![
                    u.transaction_type.clone(),
                    u.amount_type.clone(),
                    u.amount_description.clone(),
                    u.rows.to_string(),
                    u.amount.to_string(),
                    u.first_line.to_string(),
                ]
            })
            .collect();
        table(
            &mut s,
            &[
                "transaction-type",
                "amount-type",
                "amount-description",
                "rows",
                "amount",
                "first line",
            ],
            &rows,
            &[3, 4, 5],
        );
    }
    if !p.warnings.is_empty() {
        let _ = writeln!(s, "\nWarnings");
        for w in &p.warnings {
            let _ = writeln!(s, "  - {w}");
        }
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "Tie-out: {} rows sum to {} against total-amount {} {}: {}",
        p.rows,
        p.rows_sum,
        p.total_amount,
        p.currency,
        if p.ties_out {
            "TIES OUT"
        } else {
            "DOES NOT TIE OUT"
        }
    );
    match &p.deposit {
        Some(d) => {
            let _ = writeln!(
                s,
                "Deposit: {} {} from {} to {} on {}",
                d.amount, p.currency, d.from_account, d.to_account, d.date
            );
        }
        None => {
            let _ = writeln!(
                s,
                "Deposit: none (total is {} {})",
                p.total_amount, p.currency
            );
        }
    }
    match p.status {
        Status::Ready => {
            let _ = writeln!(s, "Status: READY to post");
        }
        Status::Held => {
            let _ = writeln!(s, "Status: HELD");
            for h in &p.held {
                let _ = writeln!(s, "  - {h}");
            }
        }
    }
    s
}

/// Human summary of a settlements run.
pub fn print_settlements_report(r: &SettlementsReport) {
    if r.reports_listed > 0 {
        println!(
            "reports: {} listed, {} downloaded, {} read by an earlier run (taken from the ledger)",
            r.reports_listed, r.reports_downloaded, r.reports_from_ledger
        );
    }
    println!(
        "settlements: {} read, {} posted ({} tied out), {} posted earlier, {} part(s) posted, {} found in SAP",
        r.settlements_seen,
        r.settlements_posted,
        r.settlements_tied_out,
        r.already_posted,
        r.parts_posted,
        r.parts_found_in_sap
    );
    for s in &r.settlements {
        println!(
            "  {} {:>12} {}  {:<14} {} document(s)",
            s.settlement_id, s.total_amount, s.currency, s.state, s.documents
        );
        for line in &s.rollup {
            println!("      {line}");
        }
        for n in s.notes.iter().take(NOTES_SHOWN) {
            println!("      note: {n}");
        }
        if s.notes.len() > NOTES_SHOWN {
            println!(
                "      ... and {} more note(s): `ml-connector settlement report {}` lists every order",
                s.notes.len() - NOTES_SHOWN,
                s.settlement_id
            );
        }
    }
    for (label, list) in [
        ("held", &r.held),
        ("receipt held", &r.receipts_held),
        ("skipped", &r.skipped),
        ("failed", &r.failed),
        ("outcome unknown", &r.unknown),
    ] {
        for p in list {
            println!("  {label}: {}  {}", p.key, p.reason);
        }
    }
}

/// The longest cell a table shows, in characters; longer ones end in `…` (`--format json` has them
/// whole). Besides keeping rows readable, this keeps column widths far below 65,536, where the
/// table's width formatting panics ("Formatting argument out of range").
const CELL_CHARS: usize = 120;

/// `cell`, shortened to [`CELL_CHARS`] characters.
fn shorten(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.char_indices().nth(CELL_CHARS) {
        None => cell.into(),
        Some(_) => {
            let cut = cell
                .char_indices()
                .nth(CELL_CHARS - 1)
                .map_or(cell.len(), |(i, _)| i);
            format!("{}…", &cell[..cut]).into()
        }
    }
}

/// Writes an aligned table, indented by two spaces with two between columns; `right` lists the
/// columns to right-align. Cells longer than [`CELL_CHARS`] are shortened.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>], right: &[usize]) {
    let mut t = Table::new();
    t.load_style(comfy_table::presets::NOTHING)
        .set_header(header.iter().copied())
        .add_rows(rows.iter().map(|r| r.iter().map(|c| shorten(c))));
    for (i, column) in t.column_iter_mut().enumerate() {
        column.set_padding((2, 0));
        if right.contains(&i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    for line in t.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_cells_are_shortened_to_cell_chars() {
        assert_eq!(shorten("short"), "short");
        let exact = "é".repeat(CELL_CHARS);
        assert_eq!(shorten(&exact), exact);
        let long = shorten(&"é".repeat(70_000)).into_owned();
        assert_eq!(long.chars().count(), CELL_CHARS);
        assert!(long.ends_with("é…"), "{long}");
    }

    #[test]
    fn tables_are_indented_aligned_and_trimmed() {
        let rows = vec![
            vec!["Order".to_owned(), "12.50".to_owned(), String::new()],
            vec![
                "Refund, partial".to_owned(),
                "-1".to_owned(),
                "memo".to_owned(),
            ],
        ];
        let mut out = String::new();
        table(&mut out, &["type", "amount", "memo"], &rows, &[1]);
        assert_eq!(
            out,
            "  type             amount  memo\n\
             \x20 Order             12.50\n\
             \x20 Refund, partial      -1  memo\n"
        );
    }

    #[test]
    fn the_sample_previews_as_ready() {
        let sample = include_bytes!("../../../../examples/data/settlement-de-sample.txt");
        let p = settlement_mapper::map_settlement(
            &sample[..],
            &settlement_mapper::MappingTable::default_table(),
        )
        .unwrap();
        let text = preview("sample", &p);
        assert!(text.contains("By category\n  transaction-type "), "{text}");
        assert!(text.contains("\n    account "), "{text}");
        assert!(text.ends_with("Status: READY to post\n"), "{text}");
        assert!(!text.contains("[tax "), "{text}");
        let taxed = settlement_mapper::MappingTable::from_toml(
            "[tax_rates]\nI1 = \"20\"\n[[tax]]\naccount = \"ReferralFees\"\ntax_code = \"I1\"\ntax_gross = true\n",
        )
        .unwrap();
        let p = settlement_mapper::map_settlement(&sample[..], &taxed).unwrap();
        let text = preview("sample", &p);
        assert!(
            text.contains("Commission - Order / ItemFees [tax I1, incl.]"),
            "{text}"
        );
    }
}
