//! Pure: the one payment of a summary group: from the clearing account, exactly what Amazon moved
//! for the group's orders (receipts plus refunds), applied to its summary invoices and credit note.
//! Clearing therefore moves by the settlement's own amounts; a summary document SAP totalled
//! differently than planned shows as an invoice left open or an amount on account, never hidden.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sap_b1_client::entities::{
    DocEntry, IncomingPayment, PaymentInvoice, PaymentInvoiceType, ReceiptType,
};

use crate::flows::settlements::plan::Application;

/// A summary document as SAP holds it after posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostedDoc {
    /// DocEntry.
    pub doc_entry: i32,
    /// DocNum.
    pub doc_num: Option<i32>,
    /// DocTotal in the document's currency.
    pub total: Decimal,
}

/// What the payment is built from.
pub struct PaymentInput<'a> {
    /// Settlement id (remarks).
    pub settlement_id: &'a str,
    /// SAP customer.
    pub customer: &'a str,
    /// Posting date.
    pub date: NaiveDate,
    /// SAP currency code of the settlement.
    pub currency: &'a str,
    /// Clearing account (in the settlement's currency).
    pub clearing: &'a str,
    /// Whether the currency is not the company's (documents are applied in it: `AppliedFC`).
    pub foreign: bool,
    /// What Amazon paid for the orders and gave back (negative).
    pub receipts: Decimal,
    /// What Amazon gave back (negative).
    pub refunds: Decimal,
    /// Orders summed.
    pub orders: usize,
    /// The group's invoices.
    pub invoices: &'a [PostedDoc],
    /// Its credit note.
    pub credit_note: Option<PostedDoc>,
}

/// The payment (`true`: an outgoing one, refunds above sales), how it applies, and a note when a
/// document does not close.
pub struct SummaryPayment {
    /// The payment.
    pub payment: IncomingPayment,
    /// Money goes back to the customer: post as `VendorPayments`.
    pub outgoing: bool,
    /// For the reconciliation report and the books check.
    pub application: Application,
    /// Why something stays open or on account.
    pub note: Option<String>,
}

/// Builds the payment of a summary group.
pub fn summary_payment(input: &PaymentInput<'_>) -> SummaryPayment {
    let cash = input.receipts + input.refunds;
    let credit_total = input.credit_note.map_or(Decimal::ZERO, |c| c.total);
    let invoice_total: Decimal = input.invoices.iter().map(|i| i.total).sum();
    // The credit note is applied whole; the invoices take the rest of the cash, up to what they owe.
    let mut left = (cash + credit_total).clamp(Decimal::ZERO, invoice_total.max(Decimal::ZERO));
    let applied_total = left;
    let mut lines = Vec::new();
    let mut push = |doc: &PostedDoc, amount: Decimal, kind: PaymentInvoiceType| {
        if amount.is_zero() {
            return;
        }
        let (sum_applied, applied_fc) = if input.foreign {
            (None, Some(amount))
        } else {
            (Some(amount), None)
        };
        lines.push(PaymentInvoice {
            doc_entry: Some(DocEntry(doc.doc_entry)),
            sum_applied,
            applied_fc,
            invoice_type: Some(kind),
            ..PaymentInvoice::default()
        });
    };
    for inv in input.invoices {
        let amount = left.min(inv.total);
        left -= amount;
        push(inv, amount, PaymentInvoiceType::Invoice);
    }
    if let Some(cn) = &input.credit_note {
        push(cn, cn.total, PaymentInvoiceType::CreditNote);
    }
    let on_account = cash - (applied_total - credit_total);
    let left_open = invoice_total - applied_total;
    let note = if !left_open.is_zero() {
        Some(format!(
            "summary of {} on {}: Amazon paid {cash}, its summary invoices total {invoice_total} (credit note {credit_total}); {left_open} stays open",
            input.customer, input.date
        ))
    } else if !on_account.is_zero() {
        Some(format!(
            "summary of {} on {}: Amazon paid {cash}, its summary documents net {}; {on_account} stays on account",
            input.customer,
            input.date,
            invoice_total - credit_total
        ))
    } else {
        None
    };
    let outgoing = cash.is_sign_negative() && !cash.is_zero();
    let amount = cash.abs();
    let payment = IncomingPayment {
        doc_type: Some(ReceiptType::Customer),
        card_code: Some(input.customer.to_owned()),
        doc_date: Some(input.date.into()),
        due_date: Some(input.date.into()),
        tax_date: Some(input.date.into()),
        doc_currency: Some(input.currency.to_owned()),
        transfer_account: (!amount.is_zero()).then(|| input.clearing.to_owned()),
        transfer_sum: (!amount.is_zero()).then_some(amount),
        transfer_date: (!amount.is_zero()).then(|| input.date.into()),
        remarks: Some(format!(
            "Amazon settlement {}: summary of {} order(s)",
            input.settlement_id, input.orders
        )),
        journal_remarks: Some(super::super::plan::truncate(&format!(
            "Amazon settlement {} summary",
            input.settlement_id
        ))),
        payment_invoices: (!lines.is_empty()).then_some(lines),
        ..IncomingPayment::default()
    };
    let first = input.invoices.first();
    let application = Application {
        order_id: format!("summary {} {}", input.customer, input.date),
        receipt: input.receipts,
        invoice: first.map(|i| i.doc_entry),
        invoice_num: first.and_then(|i| i.doc_num),
        invoice_total: first.map(|_| invoice_total),
        applied: applied_total,
        on_account,
        invoice_left_open: left_open,
        refund: input.refunds,
        credit_note: input.credit_note.map(|c| c.doc_num.unwrap_or(c.doc_entry)),
        credit_applied: credit_total,
        credit_left_open: Decimal::ZERO,
        written_off: Decimal::ZERO,
        opening_receivable: Decimal::ZERO,
    };
    SummaryPayment {
        payment,
        outgoing,
        application,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn input<'a>(
        invoices: &'a [PostedDoc],
        credit: Option<PostedDoc>,
        refunds: &str,
    ) -> PaymentInput<'a> {
        PaymentInput {
            settlement_id: "1",
            customer: "C-AMZ-UK",
            date: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            currency: "GBP",
            clearing: "1420",
            foreign: false,
            receipts: d("1000.00"),
            refunds: d(refunds),
            orders: 40,
            invoices,
            credit_note: credit,
        }
    }

    #[test]
    fn exact_documents_close_and_clearing_moves_by_what_amazon_paid() {
        let invoices = [
            PostedDoc {
                doc_entry: 7,
                doc_num: Some(107),
                total: d("900.00"),
            },
            PostedDoc {
                doc_entry: 8,
                doc_num: Some(108),
                total: d("100.00"),
            },
        ];
        let cn = PostedDoc {
            doc_entry: 9,
            doc_num: Some(3),
            total: d("45.50"),
        };
        let p = summary_payment(&input(&invoices, Some(cn), "-45.50"));
        assert!(!p.outgoing && p.note.is_none());
        assert_eq!(p.payment.transfer_sum, Some(d("954.50")));
        let lines = p.payment.payment_invoices.unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].sum_applied, Some(d("900.00")));
        assert_eq!(lines[2].invoice_type, Some(PaymentInvoiceType::CreditNote));
        assert!(p.application.invoice_left_open.is_zero() && p.application.on_account.is_zero());
    }

    #[test]
    fn a_document_sap_totalled_differently_is_reported_not_absorbed() {
        let invoices = [PostedDoc {
            doc_entry: 7,
            doc_num: None,
            total: d("1000.02"),
        }];
        let p = summary_payment(&input(&invoices, None, "0"));
        assert_eq!(p.payment.transfer_sum, Some(d("1000.00")));
        assert_eq!(p.application.invoice_left_open, d("0.02"));
        assert!(p.note.unwrap().contains("0.02 stays open"));
        let invoices = [PostedDoc {
            doc_entry: 7,
            doc_num: None,
            total: d("999.99"),
        }];
        let p = summary_payment(&input(&invoices, None, "0"));
        assert_eq!(p.application.on_account, d("0.01"));
    }

    #[test]
    fn refunds_above_sales_go_out() {
        let invoices = [PostedDoc {
            doc_entry: 7,
            doc_num: None,
            total: d("1000.00"),
        }];
        let cn = PostedDoc {
            doc_entry: 9,
            doc_num: None,
            total: d("1010.00"),
        };
        let p = summary_payment(&input(&invoices, Some(cn), "-1010.00"));
        assert!(p.outgoing);
        assert_eq!(p.payment.transfer_sum, Some(d("10.00")));
        assert!(p.note.is_none(), "{:?}", p.note);
    }
}
