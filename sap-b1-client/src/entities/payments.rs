//! `IncomingPayments` (type `Payment`, key `DocEntry`). No `UpdateDate`: sync by `DocEntry`.

use rust_decimal::Decimal;

use super::{DocEntry, SapDate, YesNo, sap_enum, sap_type};

sap_enum! {
    /// SAP's `BoRcptTypes`.
    pub enum ReceiptType {
        /// `rCustomer`.
        Customer = "rCustomer",
        /// `rAccount`.
        Account = "rAccount",
        /// `rSupplier`.
        Supplier = "rSupplier",
    }
}

sap_enum! {
    /// SAP's `BoRcptInvTypes`: what a payment line pays.
    pub enum PaymentInvoiceType {
        /// `it_Invoice` (13).
        Invoice = "it_Invoice",
        /// `it_CredItnote` (14; SAP's spelling).
        CreditNote = "it_CredItnote",
        /// `it_JournalEntry` (30).
        JournalEntry = "it_JournalEntry",
        /// `it_DownPayment` (203).
        DownPayment = "it_DownPayment",
        /// `it_Receipt` (24).
        Receipt = "it_Receipt",
    }
}

sap_type! {
    /// An incoming payment.
    pub struct IncomingPayment as "Payment" {
        /// Internal key.
        "DocEntry" => doc_entry: DocEntry,
        /// User-visible number.
        "DocNum" => doc_num: i32,
        /// Customer, account or supplier payment.
        "DocType" => doc_type: ReceiptType,
        /// Posting date.
        "DocDate" => doc_date: SapDate,
        /// Due date.
        "DueDate" => due_date: SapDate,
        /// Document date.
        "TaxDate" => tax_date: SapDate,
        /// Customer code.
        "CardCode" => card_code: String,
        /// Customer name.
        "CardName" => card_name: String,
        /// Currency.
        "DocCurrency" => doc_currency: String,
        /// Exchange rate.
        "DocRate" => doc_rate: Decimal,
        /// Bank transfer G/L account.
        "TransferAccount" => transfer_account: String,
        /// Bank transfer amount.
        "TransferSum" => transfer_sum: Decimal,
        /// Bank transfer date.
        "TransferDate" => transfer_date: SapDate,
        /// Bank transfer reference.
        "TransferReference" => transfer_reference: String,
        /// Cash G/L account.
        "CashAccount" => cash_account: String,
        /// Cash amount.
        "CashSum" => cash_sum: Decimal,
        /// Remarks.
        "Remarks" => remarks: String,
        /// Journal remarks.
        "JournalRemarks" => journal_remarks: String,
        /// Counter reference.
        "CounterReference" => counter_reference: String,
        /// Bank charges.
        "BankChargeAmount" => bank_charge_amount: Decimal,
        /// Cancelled flag.
        "Cancelled" => cancelled: YesNo,
        /// What is being paid.
        "PaymentInvoices" => payment_invoices: Vec<PaymentInvoice>,
    }
}

sap_type! {
    /// One document paid by an incoming payment.
    pub struct PaymentInvoice as "PaymentInvoice" {
        /// Line number.
        "LineNum" => line_num: i32,
        /// Key of the paid document.
        "DocEntry" => doc_entry: DocEntry,
        /// Amount applied (local currency).
        "SumApplied" => sum_applied: Decimal,
        /// Amount applied (foreign currency).
        "AppliedFC" => applied_fc: Decimal,
        /// Type of the paid document.
        "InvoiceType" => invoice_type: PaymentInvoiceType,
        /// Installment.
        "InstallmentId" => installment_id: i32,
        /// Cash discount percent.
        "DiscountPercent" => discount_percent: Decimal,
    }
}

impl super::Entity for IncomingPayment {
    const ENTITY_SET: &'static str = "IncomingPayments";
}
