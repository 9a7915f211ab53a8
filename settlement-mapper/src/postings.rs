//! The mapper's output, in neutral accounting terms (no SAP JSON here).
//!
//! Scheme ("Amazon as a bank account"): every row moves the clearing account by its signed amount.
//! Receipts move the order's amount from the customer (A/R) into clearing; every journal entry posts its
//! rows to their accounts against clearing; the deposit moves clearing to the bank, or a negative total is
//! carried on the reserve account. After all of it, clearing is back where it started.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::mapping::{CLEARING, Journal, LineTax};
use crate::reader::Layout;

/// Everything one settlement posts, plus what a person needs to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementPostings {
    /// Amazon's settlement id.
    pub settlement_id: String,
    /// Settlement currency.
    pub currency: String,
    /// File layout the settlement was read from.
    pub layout: Layout,
    /// Period start (UTC).
    pub start: DateTime<Utc>,
    /// Period end (UTC).
    pub end: DateTime<Utc>,
    /// Projected deposit date (UTC).
    pub deposit_date: DateTime<Utc>,
    /// The summary row's total-amount.
    pub total_amount: Decimal,
    /// Amount-bearing detail rows read.
    pub rows: u64,
    /// Sum of those rows.
    pub rows_sum: Decimal,
    /// `rows_sum == total_amount`.
    pub ties_out: bool,
    /// `ready` to post, or `held`.
    pub status: Status,
    /// Why the settlement is held (empty when ready).
    pub held: Vec<String>,
    /// Per order (and posting period) the amount to apply to its invoice.
    pub receipts: Vec<Receipt>,
    /// Per order (and posting period) what was refunded to the buyer (negative), to be credited
    /// on its invoice by a credit note (rules with `to = "refund"`).
    pub refunds: Vec<Refund>,
    /// Balanced journal entries, deposit or carried balance included.
    pub journal_entries: Vec<JournalEntry>,
    /// The payout transfer, when the total is positive.
    pub deposit: Option<Deposit>,
    /// Totals per (transaction-type, amount-type, amount-description, target).
    pub by_category: Vec<CategoryTotal>,
    /// Triples no rule matched.
    pub unmapped: Vec<UnmappedTriple>,
    /// Things a person should look at.
    pub warnings: Vec<String>,
}

/// Whether a settlement can be posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ties out and fully mapped.
    Ready,
    /// Waiting for a person: unmapped triples, inconsistent totals or unusable rows.
    Held,
}

/// A customer receipt for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Amazon order id.
    pub order_id: String,
    /// Marketplace of the order's rows.
    pub marketplace: String,
    /// Amount received for the order in this settlement.
    pub amount: Decimal,
    /// Posting date.
    pub date: NaiveDate,
    /// Rows summed into the receipt.
    pub rows: u64,
}

/// What one order gave back to its buyer in one posting period (refund rows routed to `refund`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    /// Amazon order id.
    pub order_id: String,
    /// Marketplace of the order's rows.
    pub marketplace: String,
    /// The refund (negative: money back to the buyer).
    pub amount: Decimal,
    /// Posting date.
    pub date: NaiveDate,
    /// Rows summed into it.
    pub rows: u64,
    /// Per SKU: what it gave back and the tax in it; the lines sum to `amount`.
    pub lines: Vec<RefundLine>,
}

/// One SKU of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundLine {
    /// Amazon SKU (empty when the rows carry none).
    pub sku: String,
    /// Amount (negative), tax included where the seller collected it.
    pub amount: Decimal,
    /// The tax in `amount` (refund rows named `*Tax` or `TaxDiscount`).
    pub tax: Decimal,
    /// The part of `amount` that takes back a promotion on the item (`Promotion` rows other than
    /// shipping and tax; positive: the buyer's discount is not given back), tax excluded.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub promotion: Decimal,
    /// The tax of that promotion (`Promotion` / `TaxDiscount`; included in `tax`).
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub promotion_tax: Decimal,
    /// The shipping part of `amount` (rows named `Shipping*`: the charge, its tax, its
    /// promotions), which the credit note puts where the invoice carried the shipping.
    pub shipping: Decimal,
    /// The tax in `shipping` (`ShippingTax`).
    pub shipping_tax: Decimal,
}

/// A balanced journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// Which group of rows it carries.
    pub kind: Journal,
    /// Memo naming the settlement.
    pub memo: String,
    /// Reference for the accounting system: the settlement id.
    pub reference: String,
    /// Posting date.
    pub date: NaiveDate,
    /// Lines; debits equal credits.
    pub lines: Vec<JournalLine>,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalLine {
    /// GL account code (the symbol when the table maps none).
    pub account: String,
    /// Symbolic account name.
    pub symbol: String,
    /// Debit amount (zero when credit).
    pub debit: Decimal,
    /// Credit amount (zero when debit).
    pub credit: Decimal,
    /// What the line carries (`transaction-type / amount-type / amount-description`).
    pub memo: String,
    /// Detail rows summed into the line (0 for balancing lines).
    pub rows: u64,
    /// The tax code the amount carries and whether the amount includes that tax (Amazon's fees
    /// with their VAT); `None`: no tax code (the amount posts as it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax: Option<LineTax>,
}

/// The payout transfer from clearing to bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deposit {
    /// Amount paid out.
    pub amount: Decimal,
    /// Deposit date.
    pub date: NaiveDate,
    /// Clearing account (GL code or symbol).
    pub from_account: String,
    /// Bank account (GL code or symbol).
    pub to_account: String,
}

/// Total of one category of rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryTotal {
    /// transaction-type.
    pub transaction_type: String,
    /// amount-type.
    pub amount_type: String,
    /// amount-description.
    pub amount_description: String,
    /// Account symbol, `receipt`, or `unmapped`.
    pub target: String,
    /// Rows.
    pub rows: u64,
    /// Sum.
    pub amount: Decimal,
}

/// A triple no rule matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmappedTriple {
    /// transaction-type.
    pub transaction_type: String,
    /// amount-type.
    pub amount_type: String,
    /// amount-description.
    pub amount_description: String,
    /// Rows.
    pub rows: u64,
    /// Sum.
    pub amount: Decimal,
    /// First line of the file where it occurs.
    pub first_line: u64,
}

impl JournalEntry {
    /// Total debits.
    pub fn debits(&self) -> Decimal {
        self.lines.iter().map(|l| l.debit).sum()
    }

    /// Total credits.
    pub fn credits(&self) -> Decimal {
        self.lines.iter().map(|l| l.credit).sum()
    }

    /// Debits equal credits.
    pub fn is_balanced(&self) -> bool {
        self.debits() == self.credits()
    }

    /// Net debit on the clearing account in this entry.
    pub fn clearing_movement(&self) -> Decimal {
        self.lines
            .iter()
            .filter(|l| l.symbol == CLEARING)
            .map(|l| l.debit - l.credit)
            .sum()
    }
}

impl SettlementPostings {
    /// Ready to post.
    pub fn is_ready(&self) -> bool {
        self.status == Status::Ready
    }

    /// Net debit on clearing from receipts and all entries except the deposit / carried balance.
    pub fn clearing_movement_before_payout(&self) -> Decimal {
        let receipts: Decimal = self.receipts.iter().map(|r| r.amount).sum::<Decimal>()
            + self.refunds.iter().map(|r| r.amount).sum::<Decimal>();
        receipts
            + self
                .journal_entries
                .iter()
                .filter(|je| !matches!(je.kind, Journal::Deposit | Journal::CarriedBalance))
                .map(JournalEntry::clearing_movement)
                .sum::<Decimal>()
    }

    /// Net debit on clearing after everything, payout included: zero for a settlement that ties out.
    pub fn clearing_balance_after_payout(&self) -> Decimal {
        let receipts: Decimal = self.receipts.iter().map(|r| r.amount).sum::<Decimal>()
            + self.refunds.iter().map(|r| r.amount).sum::<Decimal>();
        receipts
            + self
                .journal_entries
                .iter()
                .map(JournalEntry::clearing_movement)
                .sum::<Decimal>()
    }
}
