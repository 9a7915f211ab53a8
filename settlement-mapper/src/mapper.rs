//! Folds a stream of settlement rows into postings.
//!
//! Memory holds per-order aggregates (receipt amounts, facilitator-tax state, in the `orders`
//! submodule) and per-category totals, never the rows themselves; the `finish` submodule turns those
//! totals into postings. Rows come borrowed from the reader's line buffer; each distinct
//! (row key, marketplace, fulfilment) is resolved and interned once, and the aggregates are keyed
//! by small ids through a fast non-cryptographic hash (the input is a file the seller downloaded, and
//! the keys are few: no flooding to defend against).

use std::collections::HashMap;
use std::io::BufRead;

use chrono::Datelike;
use rust_decimal::Decimal;

use crate::error::ReadError;
use crate::mapping::{
    Journal, LineTax, LookupCache, MappingTable, PostingDate, RowKey, Target, UnmappedPolicy,
};
use crate::postings::SettlementPostings;
use crate::reader::{RowRef, SettlementReader, Summary};

mod finish;
mod orders;
mod sort;

use orders::{Orders, Pending, RefundPart, TaxPending, add_receipt, add_refund_sku, push_exact};

/// The hash maps of the accumulator: foldhash, seeded per process.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

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
    while reader.next_rows(&mut |row: &RowRef<'_>| acc.push(row))? {}
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

/// What a distinct (row key, marketplace, fulfilment) resolves to: the rule (None: unmapped), the
/// interned (transaction-type, amount-type, amount-description) and the interned channel.
#[derive(Debug, Clone, Copy)]
struct RowIds {
    rule: Option<usize>,
    key: usize,
    channel: usize,
}

/// Where a journal line's amount is summed: (journal, period, account id, category key id, tax id).
type LineKey = (Journal, Period, usize, usize, Option<usize>);

/// A row's tax ids: (any order, an order without item tax when that differs).
type TaxIds = (Option<usize>, Option<Option<usize>>);

struct Accumulator<'t> {
    table: &'t MappingTable,
    /// (rule, key id, channel id) per distinct (row key, marketplace, fulfilment).
    cache: LookupCache<RowIds>,
    summary: Summary,
    keys: Vec<[String; 3]>,
    key_ids: FastMap<usize, Vec<usize>>,
    accounts: Vec<String>,
    account_ids: FastMap<String, usize>,
    rows: u64,
    rows_sum: Decimal,
    categories: FastMap<(usize, Dest), Sum>,
    lines: FastMap<LineKey, Sum>,
    /// Interned line taxes (tax ids index it).
    taxes: Vec<LineTax>,
    /// Interned (marketplace, fulfilment) pairs.
    channels: Vec<(String, String)>,
    /// Interned marketplace names of orders.
    marketplaces: Vec<String>,
    /// Resolved tax per (rule, channel id): (tax id, tax id for an untaxed order if it differs).
    tax_cache: FastMap<(usize, usize), TaxIds>,
    orders: Orders,
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
            key_ids: FastMap::default(),
            accounts: Vec::new(),
            account_ids: FastMap::default(),
            rows: 0,
            rows_sum: Decimal::ZERO,
            categories: FastMap::default(),
            lines: FastMap::default(),
            taxes: Vec::new(),
            channels: Vec::new(),
            marketplaces: Vec::new(),
            tax_cache: FastMap::default(),
            orders: Orders::default(),
            orderless_receipt_lines: Vec::new(),
            orderless_receipts: 0,
        }
    }

    /// Interns (transaction-type, amount-type, amount-description); keyed by the rule-cache slot.
    fn key_id(&mut self, rule: Option<usize>, row: &RowRef<'_>) -> usize {
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
            row.transaction_type.to_owned(),
            row.amount_type.to_owned(),
            row.amount_description.to_owned(),
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
    fn tax_of(&mut self, rule: usize, symbol: &str, channel: usize, row: &RowRef<'_>) -> TaxIds {
        if let Some(hit) = self.tax_cache.get(&(rule, channel)) {
            return *hit;
        }
        let choice = self
            .table
            .tax_for(rule, symbol, row.marketplace_name, row.fulfillment_id);
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

    /// Interns a (marketplace, fulfilment) pair.
    fn channel_id(&mut self, row: &RowRef<'_>) -> usize {
        match self
            .channels
            .iter()
            .position(|(m, f)| *m == row.marketplace_name && *f == row.fulfillment_id)
        {
            Some(i) => i,
            None => {
                self.channels.push((
                    row.marketplace_name.to_owned(),
                    row.fulfillment_id.to_owned(),
                ));
                self.channels.len() - 1
            }
        }
    }

    /// The rule, key and channel of a row, resolved once per distinct (row key, marketplace,
    /// fulfilment).
    fn row_ids(&mut self, row: &RowRef<'_>) -> RowIds {
        let rk = RowKey {
            transaction_type: row.transaction_type,
            amount_type: row.amount_type,
            amount_description: row.amount_description,
            marketplace: row.marketplace_name,
            fulfillment: row.fulfillment_id,
        };
        if let Some(ids) = self.cache.get(&rk) {
            return ids;
        }
        let rule = self.table.lookup(&rk);
        let ids = RowIds {
            rule,
            key: self.key_id(rule, row),
            channel: self.channel_id(row),
        };
        self.cache.insert(&rk, ids);
        ids
    }

    /// Notes the order's marketplace from its first row that names one.
    fn note_marketplace(&mut self, order_id: &str, row: &RowRef<'_>) {
        let order = self.orders.get(order_id);
        if order.marketplace.is_none() && !row.marketplace_name.is_empty() {
            let id = match self
                .marketplaces
                .iter()
                .position(|m| m == row.marketplace_name)
            {
                Some(i) => i,
                None => {
                    self.marketplaces.push(row.marketplace_name.to_owned());
                    self.marketplaces.len() - 1
                }
            };
            self.orders.get(order_id).marketplace =
                Some(u32::try_from(id).expect("fewer than 2^32 marketplaces"));
        }
    }

    fn period(&self, row: &RowRef<'_>) -> Period {
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

    fn push(&mut self, row: &RowRef<'_>) {
        self.rows += 1;
        self.rows_sum += row.amount;
        let table = self.table;
        let RowIds { rule, key, channel } = self.row_ids(row);
        let period = self.period(row);
        let Some(rule_idx) = rule else {
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
        let order_id = row.order_id;
        if !order_id.is_empty() && (row.amount_type, row.amount_description) == ITEM_TAX {
            self.note_marketplace(order_id, row);
            self.orders.get(order_id).item_taxed |= !row.amount.is_zero();
        }
        let per_order = matches!(rule.to, Target::Receipt | Target::Refund);
        let needs_order = per_order || rule.facilitator || rule.when_facilitated.is_some();
        if needs_order && order_id.is_empty() {
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
            let (tax, _) = self.tax_of(rule_idx, rule.to.label(), channel, row);
            self.post_account(rule.to.label(), rule.journal, (period, key, tax), row);
            return;
        }
        if let Some(_reroute) = &rule.when_facilitated {
            self.note_marketplace(order_id, row);
            let order = self.orders.get(order_id);
            let sku = if rule.to == Target::Refund {
                row.sku
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
                    push_exact(
                        &mut order.pending,
                        Pending {
                            rule: rule_idx,
                            key,
                            period,
                            sku: sku.to_owned(),
                            part: refund_part(row),
                            sum,
                        },
                    );
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
                self.note_marketplace(order_id, row);
                let order = self.orders.get(order_id);
                add_receipt(&mut order.receipts, period, 1, row.amount, row.line);
            }
            Target::Refund => {
                self.categories
                    .entry((key, Dest::Refund))
                    .or_default()
                    .add(1, row.amount, row.line);
                self.note_marketplace(order_id, row);
                let order = self.orders.get(order_id);
                add_receipt(&mut order.refunds, period, 1, row.amount, row.line);
                add_refund_sku(
                    order,
                    period,
                    row.sku,
                    row.amount,
                    (refund_part(row), is_shipping(row)),
                );
            }
            Target::Account(symbol) => {
                if rule.facilitator {
                    self.note_marketplace(order_id, row);
                    let order = self.orders.get(order_id);
                    if !order.facilitated.contains(&key) {
                        push_exact(&mut order.facilitated, key);
                    }
                    order.pass_through += row.amount;
                }
                let (tax, untaxed) = self.tax_of(rule_idx, symbol, channel, row);
                match untaxed {
                    Some(untaxed) if !order_id.is_empty() => {
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
        row: &RowRef<'_>,
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
        row: &RowRef<'_>,
    ) {
        let acct = self.account_id(symbol);
        self.categories
            .entry((key, Dest::Account(acct)))
            .or_default()
            .add(1, row.amount, row.line);
        self.note_marketplace(row.order_id, row);
        let order = self.orders.get(row.order_id);
        match order.tax_pending.iter_mut().find(|p| {
            (p.journal, p.period, p.acct, p.key, p.taxed, p.untaxed)
                == (journal, period, acct, key, taxed, untaxed)
        }) {
            Some(p) => p.sum.add(1, row.amount, row.line),
            None => {
                let mut sum = Sum::default();
                sum.add(1, row.amount, row.line);
                push_exact(
                    &mut order.tax_pending,
                    TaxPending {
                        journal,
                        period,
                        acct,
                        key,
                        taxed,
                        untaxed,
                        sum,
                    },
                );
            }
        }
    }
}

/// Whether a row carries tax (Amazon names those `Tax`, `ShippingTax`, `GiftWrapTax`,
/// `TaxDiscount`...).
/// A shipping row of an order: the charge (`Shipping`, V1 `ShippingCharge`), its tax
/// (`ShippingTax`) and a shipping promotion (`Promotion` / `Shipping`).
fn is_shipping(row: &RowRef<'_>) -> bool {
    row.amount_description.starts_with("Shipping")
}

fn is_tax(row: &RowRef<'_>) -> bool {
    row.amount_description.ends_with("Tax") || row.amount_description == "TaxDiscount"
}

/// What a refund row gives back: price, tax, or a promotion taken back and its tax.
fn refund_part(row: &RowRef<'_>) -> RefundPart {
    let promotion = row.amount_type == "Promotion";
    match (promotion, is_tax(row)) {
        (true, true) => RefundPart::PromotionTax,
        (false, true) => RefundPart::Tax,
        (true, false) if !row.amount_description.starts_with("Shipping") => RefundPart::Promotion,
        _ => RefundPart::Price,
    }
}
