//! Folds a stream of settlement rows into postings.
//!
//! Memory holds per-order aggregates (receipt amounts, facilitator-tax state) and per-category totals,
//! never the rows themselves; the `finish` submodule turns those totals into postings.

use std::collections::HashMap;
use std::io::BufRead;

use chrono::Datelike;
use rust_decimal::Decimal;

use crate::error::ReadError;
use crate::mapping::{
    Journal, LineTax, LookupCache, MappingTable, PostingDate, RowKey, Target, UnmappedPolicy,
};
use crate::postings::SettlementPostings;
use crate::reader::{SettlementReader, SettlementRow, Summary};

mod finish;

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
    Refund,
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

/// The amount-type and amount-description of an order's item tax: an order none of whose rows of
/// it is non-zero (a sale and its refund in one settlement still count as taxed) is untaxed (zero-rated or exported), and Amazon charges its FBA fee without VAT
/// (reviews/accounting.md B2: the genuine UK file's zero-rated order has no Tax row and an FBA fee
/// of −3.30 where the others pay 3.30 × 1.20).
const ITEM_TAX: (&str, &str) = ("ItemPrice", "Tax");

/// Where a journal line's amount is summed: (journal, period, account id, category key id, tax id).
type LineKey = (Journal, Period, usize, usize, Option<usize>);

/// A row's tax ids: (any order, an order without item tax when that differs).
type TaxIds = (Option<usize>, Option<Option<usize>>);

/// An account row whose tax code depends on whether its order carries item tax.
#[derive(Debug)]
struct TaxPending {
    journal: Journal,
    period: Period,
    acct: usize,
    key: usize,
    /// Tax id when the order carries item tax.
    taxed: Option<usize>,
    /// Tax id when it carries none.
    untaxed: Option<usize>,
    sum: Sum,
}

/// A row whose target depends on whether its order carries facilitator tax.
#[derive(Debug)]
struct Pending {
    rule: usize,
    key: usize,
    period: Period,
    /// The row's SKU when its rule routes to the order's refund (kept per SKU), else empty.
    sku: String,
    sum: Sum,
}

/// What one SKU of an order gave back in one period (refund rows).
#[derive(Debug)]
struct RefundSku {
    period: Period,
    sku: String,
    amount: Decimal,
    /// The part of `amount` on tax rows (`*Tax`, `TaxDiscount`).
    tax: Decimal,
}

#[derive(Debug, Default)]
struct OrderAcc {
    marketplace: String,
    receipts: Vec<(Period, Sum)>,
    /// Refund rows per period (negative: what the buyer got back).
    refunds: Vec<(Period, Sum)>,
    /// The same refunds per SKU, with their tax.
    refund_skus: Vec<RefundSku>,
    /// Key ids of facilitator-tax rows seen for this order.
    facilitated: Vec<usize>,
    pending: Vec<Pending>,
    pass_through: Decimal,
    /// Whether any of the order's item-tax rows in this settlement is non-zero.
    item_taxed: bool,
    /// Account rows waiting for the order's item-tax status.
    tax_pending: Vec<TaxPending>,
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
    lines: HashMap<LineKey, Sum>,
    /// Interned line taxes (tax ids index it).
    taxes: Vec<LineTax>,
    /// Interned (marketplace, fulfilment) pairs.
    channels: Vec<(String, String)>,
    /// Resolved tax per (rule, channel id): (tax id, tax id for an untaxed order if it differs).
    tax_cache: HashMap<(usize, usize), TaxIds>,
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
            taxes: Vec::new(),
            channels: Vec::new(),
            tax_cache: HashMap::new(),
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

    fn tax_id(&mut self, tax: Option<LineTax>) -> Option<usize> {
        let tax = tax?;
        if let Some(i) = self.taxes.iter().position(|t| *t == tax) {
            return Some(i);
        }
        self.taxes.push(tax);
        Some(self.taxes.len() - 1)
    }

    /// The tax ids of rows of rule `rule` posting to `symbol` from the row's marketplace and
    /// fulfilment channel: (any order, an order without item tax when that differs).
    fn tax_of(&mut self, rule: usize, symbol: &str, row: &SettlementRow) -> TaxIds {
        let channel = match self
            .channels
            .iter()
            .position(|(m, f)| *m == row.marketplace_name && *f == row.fulfillment_id)
        {
            Some(i) => i,
            None => {
                self.channels
                    .push((row.marketplace_name.clone(), row.fulfillment_id.clone()));
                self.channels.len() - 1
            }
        };
        if let Some(hit) = self.tax_cache.get(&(rule, channel)) {
            return *hit;
        }
        let choice = self
            .table
            .tax_for(rule, symbol, &row.marketplace_name, &row.fulfillment_id);
        let taxed = self.tax_id(choice.taxed);
        let untaxed = match choice.untaxed_order {
            Some(t) => {
                let id = self.tax_id(t);
                (id != taxed).then_some(id)
            }
            None => None,
        };
        self.tax_cache.insert((rule, channel), (taxed, untaxed));
        (taxed, untaxed)
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
                    .entry((Journal::Suspense, period, acct, key, None))
                    .or_default()
                    .add(1, row.amount, row.line);
            }
            return;
        };
        let rule = table.rule(rule_idx);
        if !row.order_id.is_empty()
            && (row.amount_type.as_str(), row.amount_description.as_str()) == ITEM_TAX
        {
            let order = self.orders.entry(row.order_id.clone()).or_default();
            note_marketplace(order, row);
            order.item_taxed |= !row.amount.is_zero();
        }
        let per_order = matches!(rule.to, Target::Receipt | Target::Refund);
        let needs_order = per_order || rule.facilitator || rule.when_facilitated.is_some();
        if needs_order && row.order_id.is_empty() {
            if per_order {
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
            let (tax, _) = self.tax_of(rule_idx, rule.to.label(), row);
            self.post_account(rule.to.label(), rule.journal, (period, key, tax), row);
            return;
        }
        if let Some(_reroute) = &rule.when_facilitated {
            let order = self.orders.entry(row.order_id.clone()).or_default();
            note_marketplace(order, row);
            let sku = if rule.to == Target::Refund {
                row.sku.as_str()
            } else {
                ""
            };
            match order
                .pending
                .iter_mut()
                .find(|p| p.rule == rule_idx && p.key == key && p.period == period && p.sku == sku)
            {
                Some(p) => p.sum.add(1, row.amount, row.line),
                None => {
                    let mut sum = Sum::default();
                    sum.add(1, row.amount, row.line);
                    order.pending.push(Pending {
                        rule: rule_idx,
                        key,
                        period,
                        sku: sku.to_owned(),
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
                add_receipt(&mut order.receipts, period, 1, row.amount, row.line);
            }
            Target::Refund => {
                self.categories
                    .entry((key, Dest::Refund))
                    .or_default()
                    .add(1, row.amount, row.line);
                let order = self.orders.entry(row.order_id.clone()).or_default();
                note_marketplace(order, row);
                add_receipt(&mut order.refunds, period, 1, row.amount, row.line);
                add_refund_sku(order, period, &row.sku, row.amount, is_tax(row));
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
                let (tax, untaxed) = self.tax_of(rule_idx, symbol, row);
                match untaxed {
                    Some(untaxed) if !row.order_id.is_empty() => {
                        self.defer_tax(symbol, rule.journal, (period, key, tax), untaxed, row);
                    }
                    _ => self.post_account(symbol, rule.journal, (period, key, tax), row),
                }
            }
        }
    }

    fn post_account(
        &mut self,
        symbol: &str,
        journal: Journal,
        (period, key, tax): (Period, usize, Option<usize>),
        row: &SettlementRow,
    ) {
        let acct = self.account_id(symbol);
        self.categories
            .entry((key, Dest::Account(acct)))
            .or_default()
            .add(1, row.amount, row.line);
        self.lines
            .entry((journal, period, acct, key, tax))
            .or_default()
            .add(1, row.amount, row.line);
    }

    /// An account row whose tax waits for its order's item-tax status (resolved in `finish`).
    fn defer_tax(
        &mut self,
        symbol: &str,
        journal: Journal,
        (period, key, taxed): (Period, usize, Option<usize>),
        untaxed: Option<usize>,
        row: &SettlementRow,
    ) {
        let acct = self.account_id(symbol);
        self.categories
            .entry((key, Dest::Account(acct)))
            .or_default()
            .add(1, row.amount, row.line);
        let order = self.orders.entry(row.order_id.clone()).or_default();
        note_marketplace(order, row);
        match order.tax_pending.iter_mut().find(|p| {
            (p.journal, p.period, p.acct, p.key, p.taxed, p.untaxed)
                == (journal, period, acct, key, taxed, untaxed)
        }) {
            Some(p) => p.sum.add(1, row.amount, row.line),
            None => {
                let mut sum = Sum::default();
                sum.add(1, row.amount, row.line);
                order.tax_pending.push(TaxPending {
                    journal,
                    period,
                    acct,
                    key,
                    taxed,
                    untaxed,
                    sum,
                });
            }
        }
    }
}

fn note_marketplace(order: &mut OrderAcc, row: &SettlementRow) {
    if order.marketplace.is_empty() && !row.marketplace_name.is_empty() {
        order.marketplace = row.marketplace_name.clone();
    }
}

/// Whether a row carries tax (Amazon names those `Tax`, `ShippingTax`, `GiftWrapTax`,
/// `TaxDiscount`...).
fn is_tax(row: &SettlementRow) -> bool {
    row.amount_description.ends_with("Tax") || row.amount_description == "TaxDiscount"
}

/// Adds a refund amount to an order's SKU of one period.
fn add_refund_sku(order: &mut OrderAcc, period: Period, sku: &str, amount: Decimal, tax: bool) {
    let tax = if tax { amount } else { Decimal::ZERO };
    match order
        .refund_skus
        .iter_mut()
        .find(|r| r.period == period && r.sku == sku)
    {
        Some(r) => {
            r.amount += amount;
            r.tax += tax;
        }
        None => order.refund_skus.push(RefundSku {
            period,
            sku: sku.to_owned(),
            amount,
            tax,
        }),
    }
}

/// Adds to an order's receipts (or refunds) of one period.
fn add_receipt(
    sums: &mut Vec<(Period, Sum)>,
    period: Period,
    rows: u64,
    amount: Decimal,
    line: u64,
) {
    match sums.iter_mut().find(|(p, _)| *p == period) {
        Some((_, sum)) => sum.add(rows, amount, line),
        None => {
            let mut sum = Sum::default();
            sum.add(rows, amount, line);
            sums.push((period, sum));
        }
    }
}
