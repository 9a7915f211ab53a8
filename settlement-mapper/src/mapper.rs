//! Folds a stream of settlement rows into postings.
//!
//! Memory holds per-order aggregates (receipt amounts, facilitator-tax state) and per-category totals,
//! never the rows themselves.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::error::ReadError;
use crate::mapping::{
    BANK, CLEARING, FACILITATOR_TAX, Journal, LookupCache, MappingTable, PostingDate, RESERVE,
    RowKey, Target, UnmappedPolicy,
};
use crate::postings::{
    CategoryTotal, Deposit, JournalEntry, JournalLine, Receipt, SettlementPostings, Status,
    UnmappedTriple,
};
use crate::reader::{SettlementReader, SettlementRow, Summary};

/// Reads a settlement file and maps it with `table`.
///
/// `Err` means the input could not be read (the error names line and column). A settlement that was
/// read but cannot be posted (unmapped triples, rows that do not sum to the total) comes back `Ok` with
/// `status == Held` and the reasons.
pub fn map_settlement<R: BufRead>(
    input: R,
    table: &MappingTable,
) -> Result<SettlementPostings, ReadError> {
    let mut reader = SettlementReader::new(input)?;
    let mut acc = Accumulator::new(reader.summary().clone(), table);
    for row in reader.by_ref() {
        acc.push(&row?);
    }
    let warnings = reader.take_warnings();
    Ok(acc.finish(warnings))
}

/// A posting period: `None` = the deposit date, `Some((year, month))` with the posted-month policy.
type Period = Option<(i32, u32)>;

/// Where an aggregated amount went, by interned ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Dest {
    Receipt,
    Account(usize),
    Unmapped,
    /// A receipt row without an order id: it cannot be applied to an invoice.
    OrderlessReceipt,
}

#[derive(Debug, Default)]
struct Sum {
    rows: u64,
    amount: Decimal,
    first_line: u64,
}

impl Sum {
    fn add(&mut self, rows: u64, amount: Decimal, line: u64) {
        if self.rows == 0 || line < self.first_line {
            self.first_line = line;
        }
        self.rows += rows;
        self.amount += amount;
    }
}

/// A row whose target depends on whether its order carries facilitator tax.
#[derive(Debug)]
struct Pending {
    rule: usize,
    key: usize,
    period: Period,
    sum: Sum,
}

#[derive(Debug, Default)]
struct OrderAcc {
    marketplace: String,
    receipts: Vec<(Period, Sum)>,
    /// Key ids of facilitator-tax rows seen for this order.
    facilitated: Vec<usize>,
    pending: Vec<Pending>,
    pass_through: Decimal,
}

struct Accumulator<'t> {
    table: &'t MappingTable,
    cache: LookupCache,
    summary: Summary,
    keys: Vec<[String; 3]>,
    key_ids: HashMap<usize, Vec<usize>>,
    accounts: Vec<String>,
    account_ids: HashMap<String, usize>,
    rows: u64,
    rows_sum: Decimal,
    categories: HashMap<(usize, Dest), Sum>,
    lines: HashMap<(Journal, Period, usize, usize), Sum>,
    orders: HashMap<String, OrderAcc>,
    orderless_receipt_lines: Vec<u64>,
    orderless_receipts: u64,
}

impl<'t> Accumulator<'t> {
    fn new(summary: Summary, table: &'t MappingTable) -> Self {
        Self {
            table,
            cache: LookupCache::default(),
            summary,
            keys: Vec::new(),
            key_ids: HashMap::new(),
            accounts: Vec::new(),
            account_ids: HashMap::new(),
            rows: 0,
            rows_sum: Decimal::ZERO,
            categories: HashMap::new(),
            lines: HashMap::new(),
            orders: HashMap::new(),
            orderless_receipt_lines: Vec::new(),
            orderless_receipts: 0,
        }
    }

    /// Interns (transaction-type, amount-type, amount-description); keyed by the rule-cache slot.
    fn key_id(&mut self, rule: Option<usize>, row: &SettlementRow) -> usize {
        // Bucket by rule index (+1, 0 = unmapped) so the scan stays short.
        let bucket = self.key_ids.entry(rule.map_or(0, |r| r + 1)).or_default();
        for &id in bucket.iter() {
            let k = &self.keys[id];
            if k[0] == row.transaction_type
                && k[1] == row.amount_type
                && k[2] == row.amount_description
            {
                return id;
            }
        }
        let id = self.keys.len();
        self.keys.push([
            row.transaction_type.clone(),
            row.amount_type.clone(),
            row.amount_description.clone(),
        ]);
        bucket.push(id);
        id
    }

    fn account_id(&mut self, symbol: &str) -> usize {
        if let Some(&id) = self.account_ids.get(symbol) {
            return id;
        }
        let id = self.accounts.len();
        self.accounts.push(symbol.to_owned());
        self.account_ids.insert(symbol.to_owned(), id);
        id
    }

    fn period(&self, row: &SettlementRow) -> Period {
        match self.table.policy.posting_date {
            PostingDate::DepositDate => None,
            PostingDate::PostedMonth => {
                let d = row
                    .posted_date
                    .unwrap_or(self.summary.deposit_date.date_naive());
                Some((d.year(), d.month()))
            }
        }
    }

    fn push(&mut self, row: &SettlementRow) {
        self.rows += 1;
        self.rows_sum += row.amount;
        let rk = RowKey {
            transaction_type: &row.transaction_type,
            amount_type: &row.amount_type,
            amount_description: &row.amount_description,
            marketplace: &row.marketplace_name,
            fulfillment: &row.fulfillment_id,
        };
        let table = self.table;
        let rule_idx = self.cache.lookup(table, &rk);
        let key = self.key_id(rule_idx, row);
        let period = self.period(row);
        let Some(rule_idx) = rule_idx else {
            self.categories
                .entry((key, Dest::Unmapped))
                .or_default()
                .add(1, row.amount, row.line);
            if table.policy.unmapped == UnmappedPolicy::Suspense {
                let acct = self.account_id(&table.policy.suspense_account);
                self.lines
                    .entry((Journal::Suspense, period, acct, key))
                    .or_default()
                    .add(1, row.amount, row.line);
            }
            return;
        };
        let rule = table.rule(rule_idx);
        let needs_order =
            rule.to == Target::Receipt || rule.facilitator || rule.when_facilitated.is_some();
        if needs_order && row.order_id.is_empty() {
            if rule.to == Target::Receipt {
                self.orderless_receipts += 1;
                if self.orderless_receipt_lines.len() < 10 {
                    self.orderless_receipt_lines.push(row.line);
                }
                self.categories
                    .entry((key, Dest::OrderlessReceipt))
                    .or_default()
                    .add(1, row.amount, row.line);
                return;
            }
            self.post_account(rule.to.label(), rule.journal, period, key, row);
            return;
        }
        if let Some(_reroute) = &rule.when_facilitated {
            let order = self.orders.entry(row.order_id.clone()).or_default();
            note_marketplace(order, row);
            match order
                .pending
                .iter_mut()
                .find(|p| p.rule == rule_idx && p.key == key && p.period == period)
            {
                Some(p) => p.sum.add(1, row.amount, row.line),
                None => {
                    let mut sum = Sum::default();
                    sum.add(1, row.amount, row.line);
                    order.pending.push(Pending {
                        rule: rule_idx,
                        key,
                        period,
                        sum,
                    });
                }
            }
            return;
        }
        match &rule.to {
            Target::Receipt => {
                self.categories
                    .entry((key, Dest::Receipt))
                    .or_default()
                    .add(1, row.amount, row.line);
                let order = self.orders.entry(row.order_id.clone()).or_default();
                note_marketplace(order, row);
                add_receipt(order, period, 1, row.amount, row.line);
            }
            Target::Account(symbol) => {
                if rule.facilitator {
                    let order = self.orders.entry(row.order_id.clone()).or_default();
                    note_marketplace(order, row);
                    if !order.facilitated.contains(&key) {
                        order.facilitated.push(key);
                    }
                    order.pass_through += row.amount;
                }
                self.post_account(symbol, rule.journal, period, key, row);
            }
        }
    }

    fn post_account(
        &mut self,
        symbol: &str,
        journal: Journal,
        period: Period,
        key: usize,
        row: &SettlementRow,
    ) {
        let acct = self.account_id(symbol);
        self.categories
            .entry((key, Dest::Account(acct)))
            .or_default()
            .add(1, row.amount, row.line);
        self.lines
            .entry((journal, period, acct, key))
            .or_default()
            .add(1, row.amount, row.line);
    }

    /// Settles rows that waited for their order's facilitator-tax status.
    fn resolve_pending(&mut self) -> Vec<String> {
        let table = self.table;
        let mut not_netting = Vec::new();
        let mut orders = std::mem::take(&mut self.orders);
        for (order_id, order) in &mut orders {
            for p in std::mem::take(&mut order.pending) {
                let rule = table.rule(p.rule);
                let tt = &self.keys[p.key][0];
                let facilitated = order.facilitated.iter().any(|&k| &self.keys[k][0] == tt);
                if facilitated {
                    let symbol = rule.when_facilitated.as_deref().unwrap_or(FACILITATOR_TAX);
                    let acct = self.account_id(symbol);
                    order.pass_through += p.sum.amount;
                    self.categories
                        .entry((p.key, Dest::Account(acct)))
                        .or_default()
                        .add(p.sum.rows, p.sum.amount, p.sum.first_line);
                    self.lines
                        .entry((Journal::FacilitatorTax, p.period, acct, p.key))
                        .or_default()
                        .add(p.sum.rows, p.sum.amount, p.sum.first_line);
                } else {
                    match &rule.to {
                        Target::Receipt => {
                            self.categories
                                .entry((p.key, Dest::Receipt))
                                .or_default()
                                .add(p.sum.rows, p.sum.amount, p.sum.first_line);
                            add_receipt(
                                order,
                                p.period,
                                p.sum.rows,
                                p.sum.amount,
                                p.sum.first_line,
                            );
                        }
                        Target::Account(symbol) => {
                            let acct = self.account_id(symbol);
                            self.categories
                                .entry((p.key, Dest::Account(acct)))
                                .or_default()
                                .add(p.sum.rows, p.sum.amount, p.sum.first_line);
                            self.lines
                                .entry((rule.journal, p.period, acct, p.key))
                                .or_default()
                                .add(p.sum.rows, p.sum.amount, p.sum.first_line);
                        }
                    }
                }
            }
            if !order.facilitated.is_empty() && !order.pass_through.is_zero() {
                not_netting.push(format!("{order_id} ({})", order.pass_through));
            }
        }
        self.orders = orders;
        not_netting.sort();
        not_netting
    }

    fn finish(mut self, mut warnings: Vec<String>) -> SettlementPostings {
        let not_netting = self.resolve_pending();
        if !not_netting.is_empty() {
            warnings.push(format!(
                "marketplace facilitator tax does not net to zero for {} order(s): {}",
                not_netting.len(),
                abbreviate(&not_netting, 5)
            ));
        }
        let table = self.table;
        let s = &self.summary;
        let minor = minor_units(&s.currency);
        let money = |d: Decimal| money(d, minor);
        let deposit_day = s.deposit_date.date_naive();
        let date_of = |p: Period| period_date(p, deposit_day);
        let reference = s.settlement_id.clone();

        // Receipts.
        let mut receipts = Vec::new();
        for (order_id, order) in self.orders.drain() {
            for (period, sum) in &order.receipts {
                receipts.push(Receipt {
                    order_id: order_id.clone(),
                    marketplace: order.marketplace.clone(),
                    amount: money(sum.amount),
                    date: date_of(*period),
                    rows: sum.rows,
                });
            }
        }
        receipts.sort_by(|a, b| (a.date, &a.order_id).cmp(&(b.date, &b.order_id)));
        let negative = receipts
            .iter()
            .filter(|r| r.amount.is_sign_negative() && !r.amount.is_zero())
            .count();
        if negative > 0 {
            warnings.push(format!(
                "{negative} order(s) have a negative receipt in this settlement (promotions or adjustments without the sale): check them against their invoices"
            ));
        }

        // Journal entries: one per (journal, period), lines per (account, category), clearing balances.
        // (account id, category key id, total) per journal entry.
        type Members<'a> = Vec<(usize, usize, &'a Sum)>;
        let mut groups: BTreeMap<(Journal, Period), Members<'_>> = BTreeMap::new();
        for ((journal, period, acct, key), sum) in &self.lines {
            groups
                .entry((*journal, *period))
                .or_default()
                .push((*acct, *key, sum));
        }
        let clearing_gl = table.resolve(CLEARING).to_owned();
        let mut journal_entries = Vec::new();
        for ((journal, period), mut members) in groups {
            members.sort_by(|a, b| {
                (&self.accounts[a.0], &self.keys[a.1]).cmp(&(&self.accounts[b.0], &self.keys[b.1]))
            });
            let mut lines = Vec::with_capacity(members.len() + 1);
            let mut net = Decimal::ZERO;
            for (acct, key, sum) in members {
                let symbol = &self.accounts[acct];
                let k = &self.keys[key];
                net += sum.amount;
                let (debit, credit) = split(sum.amount);
                lines.push(JournalLine {
                    account: table.resolve(symbol).to_owned(),
                    symbol: symbol.clone(),
                    debit: money(debit),
                    credit: money(credit),
                    memo: format!("{} - {} / {}", k[2], k[0], k[1]),
                    rows: sum.rows,
                });
            }
            if !net.is_zero() {
                // Positive rows mean Amazon owes more: clearing is debited by the net.
                let (credit, debit) = split(net);
                lines.push(JournalLine {
                    account: clearing_gl.clone(),
                    symbol: CLEARING.to_owned(),
                    debit: money(debit),
                    credit: money(credit),
                    memo: format!("Amazon clearing, settlement {reference}"),
                    rows: 0,
                });
            }
            journal_entries.push(JournalEntry {
                kind: journal,
                memo: format!("Amazon settlement {reference}: {}", journal.label()),
                reference: reference.clone(),
                date: date_of(period),
                lines,
            });
        }

        // Payout.
        let total = s.total_amount;
        let mut deposit = None;
        if total > Decimal::ZERO {
            let bank = table.resolve(BANK).to_owned();
            deposit = Some(Deposit {
                amount: money(total),
                date: deposit_day,
                from_account: clearing_gl.clone(),
                to_account: bank.clone(),
            });
            journal_entries.push(JournalEntry {
                kind: Journal::Deposit,
                memo: format!("Amazon settlement {reference}: deposit"),
                reference: reference.clone(),
                date: deposit_day,
                lines: vec![
                    JournalLine {
                        account: bank,
                        symbol: BANK.to_owned(),
                        debit: money(total),
                        credit: money(Decimal::ZERO),
                        memo: format!("Amazon payout, settlement {reference}"),
                        rows: 0,
                    },
                    JournalLine {
                        account: clearing_gl.clone(),
                        symbol: CLEARING.to_owned(),
                        debit: money(Decimal::ZERO),
                        credit: money(total),
                        memo: format!("Amazon payout, settlement {reference}"),
                        rows: 0,
                    },
                ],
            });
        } else if total < Decimal::ZERO {
            let owed = -total;
            journal_entries.push(JournalEntry {
                kind: Journal::CarriedBalance,
                memo: format!(
                    "Amazon settlement {reference}: negative balance carried (no deposit)"
                ),
                reference: reference.clone(),
                date: deposit_day,
                lines: vec![
                    JournalLine {
                        account: clearing_gl.clone(),
                        symbol: CLEARING.to_owned(),
                        debit: money(owed),
                        credit: money(Decimal::ZERO),
                        memo: format!("Negative settlement {reference} carried"),
                        rows: 0,
                    },
                    JournalLine {
                        account: table.resolve(RESERVE).to_owned(),
                        symbol: RESERVE.to_owned(),
                        debit: money(Decimal::ZERO),
                        credit: money(owed),
                        memo: format!("Owed to Amazon after settlement {reference}"),
                        rows: 0,
                    },
                ],
            });
            warnings.push(format!(
                "negative settlement: no deposit; {} carried as owed to Amazon on {}",
                money(owed),
                RESERVE
            ));
        }

        // Categories and unmapped triples.
        let mut by_category: Vec<CategoryTotal> = self
            .categories
            .iter()
            .map(|((key, dest), sum)| {
                let k = &self.keys[*key];
                CategoryTotal {
                    transaction_type: k[0].clone(),
                    amount_type: k[1].clone(),
                    amount_description: k[2].clone(),
                    target: match dest {
                        Dest::Receipt => "receipt".to_owned(),
                        Dest::Account(a) => self.accounts[*a].clone(),
                        Dest::Unmapped => "unmapped".to_owned(),
                        Dest::OrderlessReceipt => "receipt without order-id".to_owned(),
                    },
                    rows: sum.rows,
                    amount: money(sum.amount),
                }
            })
            .collect();
        by_category.sort_by(|a, b| {
            (
                &a.transaction_type,
                &a.amount_type,
                &a.amount_description,
                &a.target,
            )
                .cmp(&(
                    &b.transaction_type,
                    &b.amount_type,
                    &b.amount_description,
                    &b.target,
                ))
        });
        let mut unmapped: BTreeMap<&[String; 3], Sum> = BTreeMap::new();
        for ((key, dest), sum) in &self.categories {
            if *dest == Dest::Unmapped {
                unmapped.entry(&self.keys[*key]).or_default().add(
                    sum.rows,
                    sum.amount,
                    sum.first_line,
                );
            }
        }
        let unmapped: Vec<UnmappedTriple> = unmapped
            .into_iter()
            .map(|(k, sum)| UnmappedTriple {
                transaction_type: k[0].clone(),
                amount_type: k[1].clone(),
                amount_description: k[2].clone(),
                rows: sum.rows,
                amount: money(sum.amount),
                first_line: sum.first_line,
            })
            .collect();

        // Verdict.
        let ties_out = self.rows_sum == total;
        let mut held = Vec::new();
        if !ties_out {
            held.push(format!(
                "inconsistent settlement: the {} detail rows sum to {} but total-amount is {} (difference {}); Amazon sometimes omits a reserve or loan line — ask for a corrected report",
                self.rows,
                money(self.rows_sum),
                money(total),
                money(total - self.rows_sum)
            ));
        }
        if self.orderless_receipts > 0 {
            held.push(format!(
                "{} receipt row(s) have no order-id, so they cannot be applied to an invoice (lines {})",
                self.orderless_receipts,
                self.orderless_receipt_lines.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
        if !unmapped.is_empty() {
            let list = unmapped
                .iter()
                .map(|u| {
                    format!(
                        "{} / {} / {} ({} rows, {})",
                        u.transaction_type, u.amount_type, u.amount_description, u.rows, u.amount
                    )
                })
                .collect::<Vec<_>>();
            match table.policy.unmapped {
                UnmappedPolicy::Hold => held.push(format!(
                    "{} unmapped categor{}: {}; add rules for them to the mapping table",
                    list.len(),
                    if list.len() == 1 { "y" } else { "ies" },
                    list.join("; ")
                )),
                UnmappedPolicy::Suspense => warnings.push(format!(
                    "{} unmapped categor{} posted to suspense account {}: {}",
                    list.len(),
                    if list.len() == 1 { "y" } else { "ies" },
                    table.policy.suspense_account,
                    list.join("; ")
                )),
            }
        }
        let status = if held.is_empty() {
            Status::Ready
        } else {
            Status::Held
        };
        SettlementPostings {
            settlement_id: s.settlement_id.clone(),
            currency: s.currency.clone(),
            layout: s.layout,
            start: s.start,
            end: s.end,
            deposit_date: s.deposit_date,
            total_amount: money(total),
            rows: self.rows,
            rows_sum: money(self.rows_sum),
            ties_out,
            status,
            held,
            receipts,
            journal_entries,
            deposit,
            by_category,
            unmapped,
            warnings,
        }
    }
}

fn note_marketplace(order: &mut OrderAcc, row: &SettlementRow) {
    if order.marketplace.is_empty() && !row.marketplace_name.is_empty() {
        order.marketplace = row.marketplace_name.clone();
    }
}

fn add_receipt(order: &mut OrderAcc, period: Period, rows: u64, amount: Decimal, line: u64) {
    match order.receipts.iter_mut().find(|(p, _)| *p == period) {
        Some((_, sum)) => sum.add(rows, amount, line),
        None => {
            let mut sum = Sum::default();
            sum.add(rows, amount, line);
            order.receipts.push((period, sum));
        }
    }
}

/// A signed amount as (debit, credit) on the contra account of a row: a positive row credits it.
fn split(amount: Decimal) -> (Decimal, Decimal) {
    if amount.is_sign_negative() && !amount.is_zero() {
        (-amount, Decimal::ZERO)
    } else {
        (Decimal::ZERO, amount)
    }
}

/// The posting date of a period: the deposit date, or the last day of an earlier month.
fn period_date(period: Period, deposit_day: NaiveDate) -> NaiveDate {
    match period {
        Some((y, m)) if (y, m) < (deposit_day.year(), deposit_day.month()) => {
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            NaiveDate::from_ymd_opt(ny, nm, 1)
                .and_then(|d| d.pred_opt())
                .unwrap_or(deposit_day)
        }
        _ => deposit_day,
    }
}

/// Decimal places of a currency's minor unit.
fn minor_units(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "CLP" | "VND" => 0,
        _ => 2,
    }
}

/// Shows at least the currency's decimals, never a negative zero; never rounds.
fn money(mut d: Decimal, minor: u32) -> Decimal {
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    if d.scale() < minor {
        d.rescale(minor);
    }
    d
}

fn abbreviate(items: &[String], n: usize) -> String {
    if items.len() <= n {
        items.join(", ")
    } else {
        format!("{}, and {} more", items[..n].join(", "), items.len() - n)
    }
}
