//! Maximum lengths of string properties, from the DI API SDK help (the Service Layer wraps the
//! DI objects and refuses, never truncates, a longer value).
//!
//! Source of every row: SAP B1 10.0 SDK help,
//! `https://help.sap.com/doc/089315d8d0f8475a9fc84fb919b501a3/10.0/en-US/SDKHelp/SAPbobsCOM~<Object>~<Property>.html`,
//! "Length: N characters" (object and property named in each row). Rows marked `[?]` are from
//! the SDK's database field sizes as we know them but were not re-read on the page for this
//! table. The review (`reviews/sap-fidelity.md` F5) quotes the lengths of `NumAtCard`,
//! `Comments`, `FreeText`, expense `Remarks`, `Memo`, `LineMemo`, `Reference*`,
//! `JournalRemarks`, payment `Remarks`, `TransferReference`, `AccountCode`, `TransferAccount`
//! and `VatGroup`.
//!
//! The answer to a longer value: HTTP 400, "CServiceData::SetPropertyValueString failed; Value
//! too long in property 'Indicator' of 'JournalEntry'" (PRAC-2395902923; also PRAC-54041280839,
//! PRAC-59175153297); the code `-5002` is INVENTED (see [`super::user_tables::too_long`]).

/// (entity or complex type, property, maximum characters).
pub const MAX_LENGTHS: &[(&str, &str, usize)] = &[
    // Documents (OINV, ORIN, ...)
    ("Document", "CardCode", 15),    // Documents~CardCode
    ("Document", "CardName", 100),   // Documents~CardName [?]
    ("Document", "NumAtCard", 100),  // Documents~NumAtCard
    ("Document", "Comments", 254),   // Documents~Comments
    ("Document", "JournalMemo", 50), // Documents~JournalMemo [?]
    ("Document", "DocCurrency", 3),  // Documents~DocCurrency [?]
    ("Document", "Project", 20),     // Documents~Project [?]
    // Document_Lines (INV1, RIN1, ...)
    // INVENTED: ItemCode 50. The 10.0 SDK pages still say 20, but B1 widened item codes to 50
    // (OITM.ItemCode nvarchar(50)); refusing 21..50 would refuse codes a real server takes.
    ("DocumentLine", "ItemCode", 50),
    ("DocumentLine", "ItemDescription", 100), // Document_Lines~ItemDescription [?]
    ("DocumentLine", "FreeText", 100),        // Document_Lines~FreeText
    ("DocumentLine", "VatGroup", 8),          // Document_Lines~VatGroup
    ("DocumentLine", "TaxCode", 8),           // Document_Lines~TaxCode [?]
    ("DocumentLine", "WarehouseCode", 8),     // Document_Lines~WarehouseCode [?]
    ("DocumentLine", "AccountCode", 15),      // Document_Lines~AccountCode [?]
    ("DocumentLine", "Currency", 3),          // Document_Lines~Currency [?]
    ("DocumentLine", "CostingCode", 8),       // Document_Lines~CostingCode [?] (PRAC-68309966057)
    ("DocumentLine", "ProjectCode", 20),      // Document_Lines~ProjectCode [?]
    // DocumentsAdditionalExpenses (INV3, ...)
    ("DocumentAdditionalExpense", "Remarks", 100), // DocumentsAdditionalExpenses~Remarks
    ("DocumentAdditionalExpense", "VatGroup", 8),  // DocumentsAdditionalExpenses~VatGroup [?]
    ("DocumentAdditionalExpense", "TaxCode", 8),   // DocumentsAdditionalExpenses~TaxCode [?]
    // JournalEntries (OJDT)
    ("JournalEntry", "Memo", 50),        // JournalEntries~Memo
    ("JournalEntry", "Reference", 100),  // JournalEntries~Reference
    ("JournalEntry", "Reference2", 100), // JournalEntries~Reference2
    ("JournalEntry", "Reference3", 100), // JournalEntries~Reference3
    ("JournalEntry", "Indicator", 2),    // JournalEntries~Indicator [?] (PRAC-2395902923)
    ("JournalEntry", "ProjectCode", 20), // JournalEntries~ProjectCode [?]
    // JournalEntries_Lines (JDT1)
    ("JournalEntryLine", "AccountCode", 15), // JournalEntries_Lines~AccountCode
    ("JournalEntryLine", "ShortName", 15),   // JournalEntries_Lines~ShortName [?]
    ("JournalEntryLine", "ContraAccount", 15), // JournalEntries_Lines~ContraAccount [?]
    ("JournalEntryLine", "LineMemo", 50),    // JournalEntries_Lines~LineMemo
    ("JournalEntryLine", "Reference1", 100), // JournalEntries_Lines~Reference1 [?]
    ("JournalEntryLine", "Reference2", 100), // JournalEntries_Lines~Reference2 [?]
    ("JournalEntryLine", "AdditionalReference", 27), // JournalEntries_Lines~AdditionalReference
    ("JournalEntryLine", "FCCurrency", 3),   // JournalEntries_Lines~FCCurrency [?]
    ("JournalEntryLine", "ProjectCode", 20), // JournalEntries_Lines~ProjectCode [?]
    ("JournalEntryLine", "CostingCode", 8),  // JournalEntries_Lines~CostingCode [?]
    ("JournalEntryLine", "TaxGroup", 8),     // JournalEntries_Lines~TaxGroup [?]
    // Payments (ORCT)
    ("Payment", "CardCode", 15),          // Payments~CardCode
    ("Payment", "CardName", 100),         // Payments~CardName [?]
    ("Payment", "DocCurrency", 3),        // Payments~DocCurrency [?]
    ("Payment", "JournalRemarks", 50),    // Payments~JournalRemarks
    ("Payment", "Remarks", 254),          // Payments~Remarks
    ("Payment", "TransferReference", 27), // Payments~TransferReference
    ("Payment", "TransferAccount", 15),   // Payments~TransferAccount
    ("Payment", "CashAccount", 15),       // Payments~CashAccount [?]
    ("Payment", "ProjectCode", 20),       // Payments~ProjectCode [?]
    // Masters
    ("BusinessPartner", "CardCode", 15), // BusinessPartners~CardCode
    ("BusinessPartner", "CardName", 100), // BusinessPartners~CardName [?]
    ("BusinessPartner", "Currency", 3),  // BusinessPartners~Currency [?]
    ("Item", "ItemCode", 50),            // INVENTED: 50, see the DocumentLine row
    ("ChartOfAccount", "Code", 15),      // ChartOfAccounts~Code
    ("ChartOfAccount", "AcctCurrency", 3), // ChartOfAccounts~AcctCurrency
];

/// The maximum length of string property `prop` of type `ty`, if SAP limits it.
pub fn max_len(ty: &str, prop: &str) -> Option<usize> {
    MAX_LENGTHS
        .iter()
        .find(|(t, p, _)| *t == ty && *p == prop)
        .map(|(_, _, n)| *n)
}
