//! Marketing documents (type `Document`, key `DocEntry`): `Invoices` and `CreditNotes`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{SapDate, SapTime, YesNo, sap_enum, sap_type};
use crate::query::{Key, Literal};

/// SAP's internal, immutable document key (used in URLs), unlike the user-visible `DocNum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocEntry(pub i32);

impl From<DocEntry> for Key {
    fn from(d: DocEntry) -> Self {
        Key::Int(d.0.into())
    }
}

impl From<DocEntry> for Literal {
    fn from(d: DocEntry) -> Self {
        Literal::Int(d.0.into())
    }
}

impl std::fmt::Display for DocEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

sap_enum! {
    /// SAP's `BoDocumentTypes`: item or service document.
    pub enum DocumentType {
        /// `dDocument_Items`.
        Items = "dDocument_Items",
        /// `dDocument_Service`.
        Service = "dDocument_Service",
    }
}

sap_enum! {
    /// SAP's `BoStatus` for documents.
    pub enum DocumentStatus {
        /// `bost_Open`.
        Open = "bost_Open",
        /// `bost_Close`.
        Closed = "bost_Close",
        /// `bost_Paid`.
        Paid = "bost_Paid",
        /// `bost_Delivered`.
        Delivered = "bost_Delivered",
    }
}

sap_enum! {
    /// SAP's `CancelStatusEnum`.
    pub enum CancelStatus {
        /// `csYes`: cancelled.
        Cancelled = "csYes",
        /// `csNo`.
        NotCancelled = "csNo",
        /// `csCancellation`: this is the cancellation document.
        Cancellation = "csCancellation",
    }
}

sap_type! {
    /// An A/R invoice or credit note (any marketing document).
    pub struct Document as "Document" {
        /// Internal key.
        "DocEntry" => doc_entry: DocEntry,
        /// User-visible number (unique per series only).
        "DocNum" => doc_num: i32,
        /// Items or service document.
        "DocType" => doc_type: DocumentType,
        /// Posting date.
        "DocDate" => doc_date: SapDate,
        /// Due date.
        "DocDueDate" => doc_due_date: SapDate,
        /// Document (tax) date.
        "TaxDate" => tax_date: SapDate,
        /// Customer code.
        "CardCode" => card_code: String,
        /// Customer name.
        "CardName" => card_name: String,
        /// Customer reference; we put the Amazon order id here to find documents again.
        "NumAtCard" => num_at_card: String,
        /// Document currency.
        "DocCurrency" => doc_currency: String,
        /// Exchange rate.
        "DocRate" => doc_rate: Decimal,
        /// Total (local currency).
        "DocTotal" => doc_total: Decimal,
        /// Total (document currency).
        "DocTotalFc" => doc_total_fc: Decimal,
        /// Tax total.
        "VatSum" => vat_sum: Decimal,
        /// Remarks.
        "Comments" => comments: String,
        /// Journal memo.
        "JournalMemo" => journal_memo: String,
        /// Numbering series.
        "Series" => series: i32,
        /// Open, closed, paid ...
        "DocumentStatus" => document_status: DocumentStatus,
        /// Cancelled flag.
        "Cancelled" => cancelled: YesNo,
        /// Cancellation status.
        "CancelStatus" => cancel_status: CancelStatus,
        /// Branch.
        "BPL_IDAssignedToInvoice" => bpl_id_assigned_to_invoice: i32,
        /// Posted journal entry.
        "TransNum" => trans_num: i32,
        /// Creation date (SAP spells it `CreationDate` on documents).
        "CreationDate" => creation_date: SapDate,
        /// Last update date.
        "UpdateDate" => update_date: SapDate,
        /// Last update time.
        "UpdateTime" => update_time: SapTime,
        /// Lines.
        "DocumentLines" => document_lines: Vec<DocumentLine>,
        /// Freight and other additional expenses.
        "DocumentAdditionalExpenses" => document_additional_expenses: Vec<DocumentAdditionalExpense>,
    }
}

sap_type! {
    /// A document line.
    pub struct DocumentLine as "DocumentLine" {
        /// Line number (0-based).
        "LineNum" => line_num: i32,
        /// Item code.
        "ItemCode" => item_code: String,
        /// Line description.
        "ItemDescription" => item_description: String,
        /// Quantity.
        "Quantity" => quantity: Decimal,
        /// Unit price before discount.
        "UnitPrice" => unit_price: Decimal,
        /// Price after discount, before tax.
        "Price" => price: Decimal,
        /// Gross unit price.
        "PriceAfterVAT" => price_after_vat: Decimal,
        /// Discount percent.
        "DiscountPercent" => discount_percent: Decimal,
        /// Line currency.
        "Currency" => currency: String,
        /// Row total excluding tax.
        "LineTotal" => line_total: Decimal,
        /// Row total in the document's foreign currency (`TotalFrgn`; 0 on local-currency documents).
        "RowTotalFC" => row_total_fc: Decimal,
        /// Tax code (US/CA sales tax).
        "TaxCode" => tax_code: String,
        /// VAT group (VAT localisations).
        "VatGroup" => vat_group: String,
        /// Warehouse.
        "WarehouseCode" => warehouse_code: String,
        /// Revenue account.
        "AccountCode" => account_code: String,
        /// Cost centre / distribution rule.
        "CostingCode" => costing_code: String,
        /// Project.
        "ProjectCode" => project_code: String,
        /// Base document type (13 = invoice, for credit notes).
        "BaseType" => base_type: i32,
        /// Base document key.
        "BaseEntry" => base_entry: i32,
        /// Base document line.
        "BaseLine" => base_line: i32,
        /// Free text.
        "FreeText" => free_text: String,
        /// A credit note row that does not put the quantity back into stock ("Without Qty
        /// Posting").
        "WithoutInventoryMovement" => without_inventory_movement: YesNo,
    }
}

sap_type! {
    /// Freight or another additional expense on a document.
    pub struct DocumentAdditionalExpense as "DocumentAdditionalExpense" {
        /// Expense code (`AdditionalExpenses` key).
        "ExpenseCode" => expense_code: i32,
        /// Amount excluding tax (local currency).
        "LineTotal" => line_total: Decimal,
        /// Amount excluding tax (document currency).
        "LineTotalFC" => line_total_fc: Decimal,
        /// Gross amount.
        "LineGross" => line_gross: Decimal,
        /// Tax code.
        "TaxCode" => tax_code: String,
        /// VAT group.
        "VatGroup" => vat_group: String,
        /// Taxable flag.
        "TaxLiable" => tax_liable: YesNo,
        /// Remarks.
        "Remarks" => remarks: String,
        /// Line number.
        "LineNum" => line_num: i32,
    }
}

impl Document {
    /// `UpdateDate` + `UpdateTime` as one timestamp (SAP server local time), for incremental syncs.
    pub fn updated_at(&self) -> Option<chrono::NaiveDateTime> {
        super::values::combine(self.update_date, self.update_time)
    }
}
