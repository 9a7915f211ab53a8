//! `JournalEntries` (type `JournalEntry`, key `JdtNum`) and `ChartOfAccounts` (key `Code`).

use rust_decimal::Decimal;

use super::{Entity, SapDate, YesNo, sap_enum, sap_type};

sap_type! {
    /// A manual journal entry.
    pub struct JournalEntry as "JournalEntry" {
        /// Internal number (key).
        "JdtNum" => jdt_num: i32,
        /// Document number.
        "Number" => number: i32,
        /// Posting date.
        "ReferenceDate" => reference_date: SapDate,
        /// Due date.
        "DueDate" => due_date: SapDate,
        /// Document date.
        "TaxDate" => tax_date: SapDate,
        /// Memo.
        "Memo" => memo: String,
        /// Reference 1.
        "Reference" => reference: String,
        /// Reference 2.
        "Reference2" => reference2: String,
        /// Reference 3 (we put the settlement id here).
        "Reference3" => reference3: String,
        /// Transaction code.
        "TransactionCode" => transaction_code: String,
        /// Project.
        "ProjectCode" => project_code: String,
        /// Numbering series.
        "Series" => series: i32,
        /// Automatic VAT: SAP adds a tax line for every line with a `TaxGroup` (SDK
        /// `JournalEntries~AutoVAT`: "whether or not to use automatic VAT calculation").
        "AutoVAT" => auto_vat: YesNo,
        /// Lines.
        "JournalEntryLines" => journal_entry_lines: Vec<JournalEntryLine>,
    }
}

impl Entity for JournalEntry {
    const ENTITY_SET: &'static str = "JournalEntries";
}

sap_type! {
    /// A journal entry line (needs `ShortName` and `Debit` or `Credit`).
    pub struct JournalEntryLine as "JournalEntryLine" {
        /// Line id.
        "Line_ID" => line_id: i32,
        /// G/L account or BP control account.
        "AccountCode" => account_code: String,
        /// G/L account, or the BP code for partner lines.
        "ShortName" => short_name: String,
        /// Debit (local currency).
        "Debit" => debit: Decimal,
        /// Credit (local currency).
        "Credit" => credit: Decimal,
        /// Debit (foreign currency).
        "FCDebit" => fc_debit: Decimal,
        /// Credit (foreign currency).
        "FCCredit" => fc_credit: Decimal,
        /// Foreign currency.
        "FCCurrency" => fc_currency: String,
        /// Due date.
        "DueDate" => due_date: SapDate,
        /// Line memo.
        "LineMemo" => line_memo: String,
        /// Reference 1.
        "Reference1" => reference1: String,
        /// Reference 2.
        "Reference2" => reference2: String,
        /// Project.
        "ProjectCode" => project_code: String,
        /// Cost centre.
        "CostingCode" => costing_code: String,
        /// Branch.
        "BPLID" => bpl_id: i32,
        /// Tax group of the line's amount (SDK `JournalEntries_Lines~TaxGroup`; VAT
        /// localisations). With the entry's `AutoVAT`, SAP posts the tax on a line of its own.
        "TaxGroup" => tax_group: String,
        /// `tYES` on the tax lines SAP adds (SDK `JournalEntries_Lines~VatLine`).
        "VatLine" => vat_line: YesNo,
        /// Base amount of a tax line.
        "BaseSum" => base_sum: Decimal,
    }
}

sap_enum! {
    /// SAP's `BoAccountTypes`.
    pub enum AccountType {
        /// `at_Revenues`.
        Revenues = "at_Revenues",
        /// `at_Expenses`.
        Expenses = "at_Expenses",
        /// `at_Other`.
        Other = "at_Other",
    }
}

sap_type! {
    /// A G/L account.
    pub struct ChartOfAccount as "ChartOfAccount" {
        /// Internal code (key; may be `_SYS...`).
        "Code" => code: String,
        /// Display code.
        "FormatCode" => format_code: String,
        /// Name.
        "Name" => name: String,
        /// Parent account.
        "FatherAccountKey" => father_account_key: String,
        /// Level in the tree.
        "AccountLevel" => account_level: i32,
        /// `tYES` = postable account, `tNO` = title.
        "ActiveAccount" => active_account: YesNo,
        /// Revenue, expense or other.
        "AccountType" => account_type: AccountType,
        /// Account currency.
        "AcctCurrency" => acct_currency: String,
        /// Cash account.
        "CashAccount" => cash_account: YesNo,
        /// Balance.
        "Balance" => balance: Decimal,
        /// Control account: manual journal entries may not post to it (OACT.LocManTran).
        "LockManualTransaction" => lock_manual_transaction: YesNo,
        /// Manual postings blocked.
        "BlockManualPosting" => block_manual_posting: YesNo,
        /// Reconciliation account (tax, goods receipt clearing): "cannot be posted manually" (SDK).
        "ReconciledAccount" => reconciled_account: YesNo,
        /// Active only within `ValidFrom`..`ValidTo` when `tYES`.
        "ValidFor" => valid_for: YesNo,
        /// Start of the active range.
        "ValidFrom" => valid_from: SapDate,
        /// End of the active range.
        "ValidTo" => valid_to: SapDate,
        /// Inactive (within `FrozenFrom`..`FrozenTo` when set) when `tYES`.
        "FrozenFor" => frozen_for: YesNo,
        /// Start of the inactive range.
        "FrozenFrom" => frozen_from: SapDate,
        /// End of the inactive range.
        "FrozenTo" => frozen_to: SapDate,
    }
}

impl Entity for ChartOfAccount {
    const ENTITY_SET: &'static str = "ChartOfAccounts";
}
