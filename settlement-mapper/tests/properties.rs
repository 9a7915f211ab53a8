//! Property tests over generated settlements: the accounting invariants of DESIGN.md §3.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::Decimal;
use settlement_mapper::mapping::{CLEARING, Journal};
use settlement_mapper::synth::{Locale, SynthOptions, write_settlement};
use settlement_mapper::{
    MappingTable, PostingDate, SettlementPostings, Status, UnmappedPolicy, map_settlement,
};

fn render(opts: &SynthOptions) -> Vec<u8> {
    let mut out = Vec::new();
    write_settlement(opts, &mut out).unwrap();
    out
}

fn map(bytes: &[u8], table: &MappingTable) -> SettlementPostings {
    map_settlement(bytes, table).unwrap()
}

fn table(posting: PostingDate, unmapped: UnmappedPolicy) -> MappingTable {
    let mut t = MappingTable::default_table();
    t.policy.posting_date = posting;
    t.policy.unmapped = unmapped;
    t
}

/// Net debit per symbolic account over all journal entries except the payout.
fn account_totals(p: &SettlementPostings) -> BTreeMap<String, Decimal> {
    let mut totals = BTreeMap::new();
    for je in p
        .journal_entries
        .iter()
        .filter(|je| !matches!(je.kind, Journal::Deposit | Journal::CarriedBalance))
    {
        for l in &je.lines {
            *totals.entry(l.symbol.clone()).or_insert(Decimal::ZERO) += l.debit - l.credit;
        }
    }
    totals.retain(|_, v| !v.is_zero());
    totals
}

fn locale() -> impl Strategy<Value = Locale> {
    prop_oneof![Just(Locale::Eu), Just(Locale::Na), Just(Locale::Mixed)]
}

fn options() -> impl Strategy<Value = SynthOptions> {
    (
        any::<u64>(),
        0usize..25,
        locale(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(seed, orders, locale, facilitator_tax, narrow, high_value, group_thousands)| {
                SynthOptions {
                    seed,
                    orders,
                    locale,
                    facilitator_tax,
                    narrow,
                    high_value,
                    group_thousands,
                    ..SynthOptions::default()
                }
            },
        )
}

/// Settlements whose detail rows carry amounts in the thousands, written with thousands
/// separators, in EU (`1.234,56`) or US (`1,234.56`) style.
fn thousands() -> impl Strategy<Value = SynthOptions> {
    (
        options(),
        1usize..25,
        prop_oneof![Just(Locale::Eu), Just(Locale::Na)],
    )
        .prop_map(|(opts, orders, locale)| SynthOptions {
            orders,
            locale,
            high_value: true,
            group_thousands: true,
            ..opts
        })
}

/// The amount cells of the detail rows, read from the file itself (header row names the columns;
/// the summary row is the second line), not through the mapper.
fn detail_amounts(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = header.iter().position(|c| *c == "amount").unwrap();
    lines
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').nth(col).unwrap_or_default().to_owned())
        .filter(|a| !a.is_empty())
        .collect()
}

/// An amount cell as a decimal, independently of the mapper: every amount has two decimals, so
/// the last `.` or `,` is the decimal separator and any other is a thousands separator.
fn parse_amount(cell: &str) -> Decimal {
    let cut = cell.rfind(['.', ',']).unwrap();
    let int: String = cell[..cut]
        .chars()
        .filter(|c| *c != '.' && *c != ',')
        .collect();
    format!("{int}.{}", &cell[cut + 1..]).parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn consistent_settlements_balance_and_clear(opts in options(), split in any::<bool>()) {
        let posting = if split { PostingDate::PostedMonth } else { PostingDate::DepositDate };
        let p = map(&render(&opts), &table(posting, UnmappedPolicy::Hold));
        prop_assert!(p.ties_out);
        prop_assert_eq!(p.rows_sum, p.total_amount);
        prop_assert_eq!(p.status, Status::Ready, "{:?}", p.held);
        for je in &p.journal_entries {
            prop_assert!(je.is_balanced(), "{} does not balance", je.memo);
        }
        // Clearing moves by exactly total-amount, and the payout brings it back to zero.
        prop_assert_eq!(p.clearing_movement_before_payout(), p.total_amount);
        prop_assert!(p.clearing_balance_after_payout().is_zero());
        prop_assert_eq!(p.deposit.is_some(), p.total_amount > Decimal::ZERO);
        // Every amount-bearing row lands on exactly one output line.
        let on_lines: u64 = p.journal_entries.iter().flat_map(|je| &je.lines).map(|l| l.rows).sum::<u64>()
            + p.receipts.iter().map(|r| r.rows).sum::<u64>()
            + p.refunds.iter().map(|r| r.rows).sum::<u64>();
        prop_assert_eq!(on_lines, p.rows);
        let by_category: u64 = p.by_category.iter().map(|c| c.rows).sum();
        prop_assert_eq!(by_category, p.rows);
        // ...and the mapper counted and summed the rows the file has, read without the mapper.
        let cells = detail_amounts(&render(&opts));
        prop_assert_eq!(p.rows, cells.len() as u64);
        prop_assert_eq!(p.rows_sum, cells.iter().map(|c| parse_amount(c)).sum::<Decimal>());
        // Facilitator tax nets to zero.
        for je in p.journal_entries.iter().filter(|je| je.kind == Journal::FacilitatorTax) {
            prop_assert!(je.lines.iter().all(|l| l.symbol != CLEARING) || je.clearing_movement().is_zero());
        }
    }

    #[test]
    fn detail_amounts_in_the_thousands_with_separators_map_in_both_styles(opts in thousands()) {
        let bytes = render(&opts);
        let cells = detail_amounts(&bytes);
        let (group, decimal) = if opts.locale == Locale::Eu { ('.', ',') } else { (',', '.') };
        // The file really has detail amounts of 1,000 or more, grouped in the locale's style.
        let large: Vec<_> = cells
            .iter()
            .filter(|c| parse_amount(c).abs() >= Decimal::ONE_THOUSAND)
            .collect();
        prop_assert!(!large.is_empty());
        for c in &large {
            prop_assert!(c.contains(group), "{} has no thousands separator", c);
            prop_assert_eq!(c.chars().rev().nth(2), Some(decimal), "{}", c);
        }
        let p = map(&bytes, &table(PostingDate::DepositDate, UnmappedPolicy::Hold));
        prop_assert_eq!(p.status, Status::Ready, "{:?}", p.held);
        prop_assert!(p.ties_out);
        prop_assert_eq!(p.rows, cells.len() as u64);
        prop_assert_eq!(p.rows_sum, cells.iter().map(|c| parse_amount(c)).sum::<Decimal>());
        prop_assert!(p.clearing_balance_after_payout().is_zero());
        // The same settlement without separators maps to exactly the same postings.
        let plain = map(
            &render(&SynthOptions { group_thousands: false, ..opts.clone() }),
            &table(PostingDate::DepositDate, UnmappedPolicy::Hold),
        );
        prop_assert_eq!(p, plain);
    }

    #[test]
    fn rows_that_do_not_sum_to_the_total_are_held(opts in options(), cents in prop_oneof![-500i64..-1, 1i64..500]) {
        let opts = SynthOptions { total_skew: Decimal::new(cents, 2), ..opts };
        let p = map(&render(&opts), &table(PostingDate::DepositDate, UnmappedPolicy::Hold));
        prop_assert!(!p.ties_out);
        prop_assert_eq!(p.status, Status::Held);
        prop_assert!(p.held.iter().any(|h| h.contains("inconsistent")), "{:?}", p.held);
        prop_assert_eq!(p.total_amount - p.rows_sum, Decimal::new(cents, 2));
    }

    #[test]
    fn unknown_triples_are_held_or_sent_to_suspense(opts in options(), unknown in 1usize..4) {
        let opts = SynthOptions { unknown_rows: unknown, ..opts };
        let bytes = render(&opts);
        let held = map(&bytes, &table(PostingDate::DepositDate, UnmappedPolicy::Hold));
        prop_assert_eq!(held.status, Status::Held);
        prop_assert_eq!(held.unmapped.len(), 1);
        prop_assert_eq!(held.unmapped[0].rows, unknown as u64);
        prop_assert!(held.journal_entries.iter().all(|je| je.kind != Journal::Suspense));

        let suspense = map(&bytes, &table(PostingDate::DepositDate, UnmappedPolicy::Suspense));
        prop_assert_eq!(suspense.status, Status::Ready, "{:?}", suspense.held);
        prop_assert!(suspense.warnings.iter().any(|w| w.contains("suspense")));
        let je = suspense.journal_entries.iter().find(|je| je.kind == Journal::Suspense).unwrap();
        prop_assert!(je.is_balanced());
        prop_assert!(suspense.clearing_balance_after_payout().is_zero());
    }

    #[test]
    fn same_input_same_output(opts in options()) {
        let bytes = render(&opts);
        let t = MappingTable::default_table();
        prop_assert_eq!(map(&bytes, &t), map(&bytes, &t));
    }

    #[test]
    fn parse_ignores_number_locale_and_column_order(
        opts in options(),
        order in Just((0..24).collect::<Vec<usize>>()).prop_shuffle(),
        other in locale(),
    ) {
        let t = MappingTable::default_table();
        let plain = map(&render(&SynthOptions { locale: Locale::Na, column_order: None, ..opts.clone() }), &t);
        let shuffled = map(&render(&SynthOptions { locale: other, column_order: Some(order), ..opts }), &t);
        prop_assert_eq!(plain, shuffled);
    }

    #[test]
    fn month_split_parts_sum_to_the_whole(opts in options()) {
        // A period that crosses a month boundary.
        let start = chrono::DateTime::parse_from_rfc3339("2024-09-24T08:00:00Z").unwrap().to_utc();
        let opts = SynthOptions { start, ..opts };
        let bytes = render(&opts);
        let whole = map(&bytes, &table(PostingDate::DepositDate, UnmappedPolicy::Hold));
        let split = map(&bytes, &table(PostingDate::PostedMonth, UnmappedPolicy::Hold));
        prop_assert_eq!(account_totals(&whole), account_totals(&split));
        let sum = |p: &SettlementPostings| p.receipts.iter().map(|r| r.amount).sum::<Decimal>();
        prop_assert_eq!(sum(&whole), sum(&split));
        prop_assert!(split.clearing_balance_after_payout().is_zero());
        // The split is real: September lines post on 30 September, the rest on the deposit date.
        let dates: std::collections::BTreeSet<_> = split.journal_entries.iter().map(|je| je.date).collect();
        prop_assert!(dates.contains(&chrono::NaiveDate::from_ymd_opt(2024, 9, 30).unwrap()), "{:?}", dates);
        prop_assert!(dates.len() >= 2);
    }
}

const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The reader never panics, whatever the bytes: alone, or after a valid header.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), with_header in any::<bool>()) {
        let mut input = if with_header { HEADER.as_bytes().to_vec() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        let _ = map_settlement(&input[..], &MappingTable::default_table());
    }

    /// Tab-separated cells of plausible characters after a valid header and summary never panic.
    #[test]
    fn arbitrary_cells_never_panic(cells in proptest::collection::vec("[0-9a-zA-Z.,: -]{0,12}", 0..200)) {
        let mut input = format!("{HEADER}1\t01.01.2024 00:00:00 UTC\t14.01.2024 00:00:00 UTC\t16.01.2024 00:00:00 UTC\t1,00\tEUR\n");
        for (i, c) in cells.iter().enumerate() {
            input.push_str(c);
            input.push(if i % 24 == 23 { '\n' } else { '\t' });
        }
        let _ = map_settlement(input.as_bytes(), &MappingTable::default_table());
    }
}
