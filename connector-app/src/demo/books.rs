//! What an accountant checks first after the demo's settlements, from their own applications:
//! refunds credited, invoices left open, amounts on account, residues written off.

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
    /// What they leave open, summed (each in its settlement's currency).
    pub amount_left_open: Decimal,
    /// Amounts left on customers' accounts (absolute, summed).
    pub amount_on_account: Decimal,
    /// Residues written off (absolute, summed).
    pub written_off: Decimal,
    /// Receipts held for a difference above the tolerance (the clearing account keeps them).
    pub receipts_held: usize,
    /// What they amount to, summed.
    pub amount_held: Decimal,
}

impl BooksCheck {
    /// The check of one run's settlements report.
    pub fn of(report: &SettlementsReport) -> Self {
        let mut out = Self::default();
        for a in report.settlements.iter().flat_map(|s| &s.applications) {
            out.credit_notes += usize::from(a.credit_note.is_some());
            if !a.invoice_left_open.is_zero() {
                out.invoices_left_open += 1;
                out.amount_left_open += a.invoice_left_open;
            }
            out.amount_on_account += a.on_account.abs();
            out.written_off += a.written_off.abs();
        }
        for h in report.settlements.iter().flat_map(|s| &s.held_receipts) {
            out.receipts_held += 1;
            out.amount_held += h.receipt;
        }
        out
    }

    /// Two runs' checks together (each run posts other settlements).
    pub fn plus(self, other: Self) -> Self {
        Self {
            credit_notes: self.credit_notes + other.credit_notes,
            invoices_left_open: self.invoices_left_open + other.invoices_left_open,
            amount_left_open: self.amount_left_open + other.amount_left_open,
            amount_on_account: self.amount_on_account + other.amount_on_account,
            written_off: self.written_off + other.written_off,
            receipts_held: self.receipts_held + other.receipts_held,
            amount_held: self.amount_held + other.amount_held,
        }
    }
}
