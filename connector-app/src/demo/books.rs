//! What an accountant checks first after the demo's settlements, from their own applications:
//! refunds credited, invoices left open, amounts on account, residues written off.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::flows::settlements::SettlementsReport;

/// The books' loose ends after the settlements a run posted (all zero on the demo worlds, but
/// the written-off cents and a foreign-currency residue within one local cent).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BooksCheck {
    /// Refunds posted as credit notes.
    pub credit_notes: usize,
    /// Invoices the settlements paid that stay partly open.
    pub invoices_left_open: usize,
    /// What they leave open, summed over currencies: zero only when nothing is open in any
    /// currency (the amounts per currency are in `by_currency`).
    pub amount_left_open: Decimal,
    /// Amounts left on customers' accounts (absolute, summed over currencies, as above).
    pub amount_on_account: Decimal,
    /// Residues written off (absolute, summed over currencies, as above).
    pub written_off: Decimal,
    /// The three amounts per settlement currency (ISO), for the currencies where one is not zero.
    pub by_currency: BTreeMap<String, LooseEnds>,
    /// Receipts held for a difference above the tolerance (the clearing account keeps them).
    pub receipts_held: usize,
    /// What they amount to, summed.
    pub amount_held: Decimal,
}

/// Amounts a settlement currency's receipts left loose.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LooseEnds {
    /// Left open on the invoices paid.
    pub left_open: Decimal,
    /// Left on customers' accounts (absolute).
    pub on_account: Decimal,
    /// Written off (absolute).
    pub written_off: Decimal,
}

impl LooseEnds {
    fn is_zero(&self) -> bool {
        self.left_open.is_zero() && self.on_account.is_zero() && self.written_off.is_zero()
    }

    fn plus(&mut self, other: &Self) {
        self.left_open += other.left_open;
        self.on_account += other.on_account;
        self.written_off += other.written_off;
    }
}

/// An amount with at least the two decimals of money ("0.00", not "0").
fn cents(d: Decimal) -> Decimal {
    let mut d = d;
    if d.scale() < 2 {
        d.rescale(2);
    }
    d
}

impl BooksCheck {
    /// The check of one run's settlements report.
    pub fn of(report: &SettlementsReport) -> Self {
        let mut out = Self::default();
        for s in &report.settlements {
            let mut loose = LooseEnds::default();
            for a in &s.applications {
                out.credit_notes += usize::from(a.credit_note.is_some());
                if !a.invoice_left_open.is_zero() {
                    out.invoices_left_open += 1;
                    loose.left_open += a.invoice_left_open;
                }
                loose.on_account += a.on_account.abs();
                loose.written_off += a.written_off.abs();
            }
            if !loose.is_zero() {
                out.by_currency
                    .entry(s.currency.clone())
                    .or_default()
                    .plus(&loose);
            }
        }
        for h in report.settlements.iter().flat_map(|s| &s.held_receipts) {
            out.receipts_held += 1;
            out.amount_held += h.receipt;
        }
        out.totals()
    }

    /// Two runs' checks together (each run posts other settlements).
    pub fn plus(self, other: Self) -> Self {
        let mut by_currency = self.by_currency;
        for (c, l) in other.by_currency {
            by_currency.entry(c).or_default().plus(&l);
        }
        Self {
            credit_notes: self.credit_notes + other.credit_notes,
            invoices_left_open: self.invoices_left_open + other.invoices_left_open,
            by_currency,
            receipts_held: self.receipts_held + other.receipts_held,
            amount_held: self.amount_held + other.amount_held,
            ..Self::default()
        }
        .totals()
    }

    fn totals(mut self) -> Self {
        let l = self
            .by_currency
            .values_mut()
            .fold(LooseEnds::default(), |mut t, l| {
                l.left_open = cents(l.left_open);
                l.on_account = cents(l.on_account);
                l.written_off = cents(l.written_off);
                t.plus(l);
                t
            });
        self.amount_left_open = cents(l.left_open);
        self.amount_on_account = cents(l.on_account);
        self.written_off = cents(l.written_off);
        self.amount_held = cents(self.amount_held);
        self
    }
}
