//! Turns the folded totals into postings, one named step at a time: facilitator-tax netting, receipts,
//! journal entries, the payout (deposit or carried negative balance), category totals, unmapped
//! triples and the tie-out verdict.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::sort::sort_receipts;
use super::{Accumulator, Dest, Period, Sum, add_receipt, add_refund_sku};
use crate::mapping::{
    BANK, CLEARING, FACILITATOR_TAX, Journal, MappingTable, RESERVE, Target, UnmappedPolicy,
};
use crate::postings::{
    CategoryTotal, Deposit, JournalEntry, JournalLine, Receipt, Refund, RefundLine,
    SettlementPostings, Status, UnmappedTriple,
};

/// Settlement-wide values every finishing step formats with.
struct Context<'t> {
    table: &'t MappingTable,
    /// Decimal places of the settlement currency's minor unit.
    minor: u32,
    deposit_day: NaiveDate,
    /// The settlement id, used as the reference of every journal entry.
    reference: String,
    /// The GL code of the Amazon clearing account.
    clearing_gl: String,
    total: Decimal,
}

impl<'t> Context<'t> {
    fn new(acc: &Accumulator<'t>) -> Self {
        let s = &acc.summary;
        Self {
            table: acc.table,
            minor: minor_units(&s.currency),
            deposit_day: s.deposit_date.date_naive(),
            reference: s.settlement_id.clone(),
            clearing_gl: acc.table.resolve(CLEARING).to_owned(),
            total: s.total_amount,
        }
    }

    fn money(&self, d: Decimal) -> Decimal {
        money(d, self.minor)
    }

    fn date_of(&self, period: Period) -> NaiveDate {
        period_date(period, self.deposit_day)
    }
}

/// (account id, category key id, tax id, total) of one line of a journal entry.
type Members<'a> = Vec<(usize, usize, Option<usize>, &'a Sum)>;

impl Accumulator<'_> {
    /// Builds the postings from everything pushed so far.
    pub(super) fn finish(mut self, mut warnings: Vec<String>) -> SettlementPostings {
        self.net_facilitator_tax(&mut warnings);
        self.resolve_untaxed_orders();
        let ctx = Context::new(&self);
        let (receipts, refunds) = self.receipts(&ctx, &mut warnings);
        let mut journal_entries = self.journal_entries(&ctx);
        let deposit = payout(&ctx, &mut journal_entries, &mut warnings);
        let by_category = self.category_totals(&ctx);
        let unmapped = self.unmapped_triples(&ctx);
        let ties_out = self.rows_sum == ctx.total;
        let held = self.held_reasons(&ctx, ties_out, &unmapped, &mut warnings);
        let status = if held.is_empty() {
            Status::Ready
        } else {
            Status::Held
        };
        let s = &self.summary;
        SettlementPostings {
            settlement_id: s.settlement_id.clone(),
            currency: s.currency.clone(),
            layout: s.layout,
            start: s.start,
            end: s.end,
            deposit_date: s.deposit_date,
            total_amount: ctx.money(ctx.total),
            rows: self.rows,
            rows_sum: ctx.money(self.rows_sum),
            ties_out,
            status,
            held,
            receipts,
            refunds,
            journal_entries,
            deposit,
            by_category,
            unmapped,
            warnings,
        }
    }

    /// Facilitator netting: resolves the rows that waited for their order's facilitator-tax status
    /// and warns about orders whose pass-through tax does not net to zero.
    fn net_facilitator_tax(&mut self, warnings: &mut Vec<String>) {
        let not_netting = self.resolve_pending();
        if !not_netting.is_empty() {
            warnings.push(format!(
                "marketplace facilitator tax does not net to zero for {} order(s): {}",
                not_netting.len(),
                abbreviate(&not_netting, 5)
            ));
        }
    }

    /// Settles rows that waited for their order's facilitator-tax status.
    fn resolve_pending(&mut self) -> Vec<String> {
        let table = self.table;
        let mut not_netting = Vec::new();
        let mut orders = std::mem::take(&mut self.orders);
        for order in orders.iter_mut() {
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
                        .entry((Journal::FacilitatorTax, p.period, acct, p.key, None))
                        .or_default()
                        .add(p.sum.rows, p.sum.amount, p.sum.first_line);
                } else {
                    match &rule.to {
                        Target::Receipt | Target::Refund => {
                            let (dest, sums) = if rule.to == Target::Receipt {
                                (Dest::Receipt, &mut order.receipts)
                            } else {
                                (Dest::Refund, &mut order.refunds)
                            };
                            self.categories.entry((p.key, dest)).or_default().add(
                                p.sum.rows,
                                p.sum.amount,
                                p.sum.first_line,
                            );
                            add_receipt(sums, p.period, p.sum.rows, p.sum.amount, p.sum.first_line);
                            if rule.to == Target::Refund {
                                // Only tax rows wait for the facilitator status.
                                let shipping = self.keys[p.key][2].starts_with("Shipping");
                                add_refund_sku(
                                    order,
                                    p.period,
                                    &p.sku,
                                    p.sum.amount,
                                    (p.part, shipping),
                                );
                            }
                        }
                        Target::Account(symbol) => {
                            let acct = self.account_id(symbol);
                            self.categories
                                .entry((p.key, Dest::Account(acct)))
                                .or_default()
                                .add(p.sum.rows, p.sum.amount, p.sum.first_line);
                            self.lines
                                .entry((rule.journal, p.period, acct, p.key, None))
                                .or_default()
                                .add(p.sum.rows, p.sum.amount, p.sum.first_line);
                        }
                    }
                }
            }
            if !order.facilitated.is_empty() && !order.pass_through.is_zero() {
                not_netting.push(format!("{} ({})", order.id, order.pass_through));
            }
        }
        self.orders = orders;
        not_netting.sort();
        not_netting
    }

    /// Account rows whose tax code depends on their order's item tax: an order without a
    /// non-zero item-tax row takes the untaxed-order code.
    fn resolve_untaxed_orders(&mut self) {
        for order in self.orders.iter_mut() {
            let untaxed = !order.item_taxed;
            for p in std::mem::take(&mut order.tax_pending) {
                let tax = if untaxed { p.untaxed } else { p.taxed };
                self.lines
                    .entry((p.journal, p.period, p.acct, p.key, tax))
                    .or_default()
                    .add(p.sum.rows, p.sum.amount, p.sum.first_line);
            }
        }
    }

    /// Receipts and refunds: one per (order, period) each, sorted by date then order id; warns
    /// about negative receipts.
    fn receipts(
        &mut self,
        ctx: &Context<'_>,
        warnings: &mut Vec<String>,
    ) -> (Vec<Receipt>, Vec<Refund>) {
        let mut receipts = Vec::new();
        let mut refunds = Vec::new();
        for order in self.orders.take_all() {
            let order_id = String::from(order.id);
            let marketplace = order
                .marketplace
                .map_or_else(String::new, |m| self.marketplaces[m as usize].clone());
            for (period, sum) in &order.receipts {
                receipts.push(Receipt {
                    order_id: order_id.clone(),
                    marketplace: marketplace.clone(),
                    amount: ctx.money(sum.amount),
                    date: ctx.date_of(*period),
                    rows: sum.rows,
                });
            }
            for (period, sum) in &order.refunds {
                let mut lines: Vec<RefundLine> = order
                    .refund_skus
                    .iter()
                    .filter(|r| r.period == *period)
                    .map(|r| RefundLine {
                        sku: r.sku.clone(),
                        amount: ctx.money(r.amount),
                        tax: ctx.money(r.tax),
                        promotion: ctx.money(r.promotion),
                        promotion_tax: ctx.money(r.promotion_tax),
                        shipping: ctx.money(r.shipping),
                        shipping_tax: ctx.money(r.shipping_tax),
                    })
                    .collect();
                lines.sort_by(|a, b| a.sku.cmp(&b.sku));
                refunds.push(Refund {
                    order_id: order_id.clone(),
                    marketplace: marketplace.clone(),
                    amount: ctx.money(sum.amount),
                    date: ctx.date_of(*period),
                    rows: sum.rows,
                    lines,
                });
            }
        }
        sort_receipts(&mut receipts);
        refunds.sort_by(|a, b| (a.date, &a.order_id).cmp(&(b.date, &b.order_id)));
        let negative = receipts
            .iter()
            .filter(|r| r.amount.is_sign_negative() && !r.amount.is_zero())
            .count();
        if negative > 0 {
            warnings.push(format!(
                "{negative} order(s) have a negative receipt in this settlement (promotions or adjustments without the sale): check them against their invoices"
            ));
        }
        (receipts, refunds)
    }

    /// Journal groups: one entry per (journal, period), lines per (account, category), sorted by
    /// account and category, with a clearing line that balances the entry.
    fn journal_entries(&self, ctx: &Context<'_>) -> Vec<JournalEntry> {
        let mut groups: BTreeMap<(Journal, Period), Members<'_>> = BTreeMap::new();
        for ((journal, period, acct, key, tax), sum) in &self.lines {
            groups
                .entry((*journal, *period))
                .or_default()
                .push((*acct, *key, *tax, sum));
        }
        groups
            .into_iter()
            .map(|((journal, period), members)| self.journal_entry(ctx, journal, period, members))
            .collect()
    }

    /// One journal entry of a group, balanced against the clearing account.
    fn journal_entry(
        &self,
        ctx: &Context<'_>,
        journal: Journal,
        period: Period,
        mut members: Members<'_>,
    ) -> JournalEntry {
        let reference = &ctx.reference;
        let tax = |t: Option<usize>| t.map(|i| &self.taxes[i]);
        members.sort_by(|a, b| {
            (&self.accounts[a.0], &self.keys[a.1], tax(a.2)).cmp(&(
                &self.accounts[b.0],
                &self.keys[b.1],
                tax(b.2),
            ))
        });
        let mut lines = Vec::with_capacity(members.len() + 1);
        let mut net = Decimal::ZERO;
        for (acct, key, tax_id, sum) in members {
            let symbol = &self.accounts[acct];
            let k = &self.keys[key];
            net += sum.amount;
            let (debit, credit) = split(sum.amount);
            lines.push(JournalLine {
                account: ctx.table.resolve(symbol).to_owned(),
                symbol: symbol.clone(),
                debit: ctx.money(debit),
                credit: ctx.money(credit),
                memo: format!("{} - {} / {}", k[2], k[0], k[1]),
                rows: sum.rows,
                tax: tax(tax_id).cloned(),
            });
        }
        if !net.is_zero() {
            // Positive rows mean Amazon owes more: clearing is debited by the net.
            let (credit, debit) = split(net);
            lines.push(JournalLine {
                account: ctx.clearing_gl.clone(),
                symbol: CLEARING.to_owned(),
                debit: ctx.money(debit),
                credit: ctx.money(credit),
                memo: format!("Amazon clearing, settlement {reference}"),
                rows: 0,
                tax: None,
            });
        }
        JournalEntry {
            kind: journal,
            memo: format!("Amazon settlement {reference}: {}", journal.label()),
            reference: reference.clone(),
            date: ctx.date_of(period),
            lines,
        }
    }

    /// Category totals: every (category, destination) with its rows and amount, sorted.
    fn category_totals(&self, ctx: &Context<'_>) -> Vec<CategoryTotal> {
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
                        Dest::Refund => "refund".to_owned(),
                        Dest::Account(a) => self.accounts[*a].clone(),
                        Dest::Unmapped => "unmapped".to_owned(),
                        Dest::OrderlessReceipt => "receipt without order-id".to_owned(),
                    },
                    rows: sum.rows,
                    amount: ctx.money(sum.amount),
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
        by_category
    }

    /// Unmapped triples: the categories no rule matched, by key, with their first line.
    fn unmapped_triples(&self, ctx: &Context<'_>) -> Vec<UnmappedTriple> {
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
        unmapped
            .into_iter()
            .map(|(k, sum)| UnmappedTriple {
                transaction_type: k[0].clone(),
                amount_type: k[1].clone(),
                amount_description: k[2].clone(),
                rows: sum.rows,
                amount: ctx.money(sum.amount),
                first_line: sum.first_line,
            })
            .collect()
    }

    /// Tie-out verdict: why the settlement must be held (rows not summing to the total, receipts
    /// without an order id, unmapped categories under the hold policy); unmapped categories under
    /// the suspense policy only warn.
    fn held_reasons(
        &self,
        ctx: &Context<'_>,
        ties_out: bool,
        unmapped: &[UnmappedTriple],
        warnings: &mut Vec<String>,
    ) -> Vec<String> {
        let table = ctx.table;
        let total = ctx.total;
        let mut held = Vec::new();
        if !ties_out {
            held.push(format!(
                "inconsistent settlement: the {} detail rows sum to {} but total-amount is {} (difference {}); Amazon sometimes omits a reserve or loan line — ask for a corrected report",
                self.rows,
                ctx.money(self.rows_sum),
                ctx.money(total),
                ctx.money(total - self.rows_sum)
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
        held
    }
}

/// Deposit or negative balance: a positive total is paid out to the bank (a deposit and its journal
/// entry); a negative total is carried as owed to Amazon on the reserve account, with a warning.
fn payout(
    ctx: &Context<'_>,
    journal_entries: &mut Vec<JournalEntry>,
    warnings: &mut Vec<String>,
) -> Option<Deposit> {
    let table = ctx.table;
    let total = ctx.total;
    let reference = &ctx.reference;
    let deposit_day = ctx.deposit_day;
    let clearing_gl = &ctx.clearing_gl;
    let mut deposit = None;
    if total > Decimal::ZERO {
        let bank = table.resolve(BANK).to_owned();
        deposit = Some(Deposit {
            amount: ctx.money(total),
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
                    debit: ctx.money(total),
                    credit: ctx.money(Decimal::ZERO),
                    memo: format!("Amazon payout, settlement {reference}"),
                    rows: 0,
                    tax: None,
                },
                JournalLine {
                    account: clearing_gl.clone(),
                    symbol: CLEARING.to_owned(),
                    debit: ctx.money(Decimal::ZERO),
                    credit: ctx.money(total),
                    memo: format!("Amazon payout, settlement {reference}"),
                    rows: 0,
                    tax: None,
                },
            ],
        });
    } else if total < Decimal::ZERO {
        let owed = -total;
        journal_entries.push(JournalEntry {
            kind: Journal::CarriedBalance,
            memo: format!("Amazon settlement {reference}: negative balance carried (no deposit)"),
            reference: reference.clone(),
            date: deposit_day,
            lines: vec![
                JournalLine {
                    account: clearing_gl.clone(),
                    symbol: CLEARING.to_owned(),
                    debit: ctx.money(owed),
                    credit: ctx.money(Decimal::ZERO),
                    memo: format!("Negative settlement {reference} carried"),
                    rows: 0,
                    tax: None,
                },
                JournalLine {
                    account: table.resolve(RESERVE).to_owned(),
                    symbol: RESERVE.to_owned(),
                    debit: ctx.money(Decimal::ZERO),
                    credit: ctx.money(owed),
                    memo: format!("Owed to Amazon after settlement {reference}"),
                    rows: 0,
                    tax: None,
                },
            ],
        });
        warnings.push(format!(
            "negative settlement: no deposit; {} carried as owed to Amazon on {}",
            ctx.money(owed),
            RESERVE
        ));
    }
    deposit
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

/// The first `n` items, then how many more there are.
fn abbreviate(items: &[String], n: usize) -> String {
    if items.len() <= n {
        items.join(", ")
    } else {
        format!("{}, and {} more", items[..n].join(", "), items.len() - n)
    }
}
