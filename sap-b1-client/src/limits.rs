//! The lengths SAP allows for the string properties a connector writes, from SAP's DI API SDK
//! help (each member's "Length" / the field's size in the SDK's table reference). SAP refuses a
//! longer value ("Value too long in property 'X' of 'Type'") rather than truncating it, so a
//! client checks before it sends.

use serde_json::Value;

/// (type, property, maximum characters).
pub const MAX_LENGTHS: &[(&str, &str, usize)] = &[
    ("Document", "CardCode", 15),
    ("Document", "NumAtCard", 100),
    ("Document", "Comments", 254),
    ("Document", "JournalMemo", 50),
    ("Document", "DocCurrency", 3),
    ("DocumentLine", "ItemCode", 50),
    ("DocumentLine", "FreeText", 100),
    ("DocumentLine", "VatGroup", 8),
    ("DocumentLine", "TaxCode", 8),
    ("DocumentLine", "WarehouseCode", 8),
    ("DocumentLine", "AccountCode", 15),
    ("DocumentLine", "Currency", 3),
    ("DocumentAdditionalExpense", "Remarks", 100),
    ("DocumentAdditionalExpense", "VatGroup", 8),
    ("DocumentAdditionalExpense", "TaxCode", 8),
    ("Payment", "CardCode", 15),
    ("Payment", "DocCurrency", 3),
    ("Payment", "TransferAccount", 15),
    ("Payment", "TransferReference", 27),
    ("Payment", "JournalRemarks", 50),
    ("Payment", "Remarks", 254),
    ("Payment", "CounterReference", 8),
    ("JournalEntry", "Memo", 50),
    ("JournalEntry", "Reference", 100),
    ("JournalEntry", "Reference2", 100),
    ("JournalEntry", "Reference3", 100),
    ("JournalEntryLine", "AccountCode", 15),
    ("JournalEntryLine", "ShortName", 15),
    ("JournalEntryLine", "LineMemo", 50),
    ("JournalEntryLine", "FCCurrency", 3),
    ("JournalEntryLine", "TaxGroup", 8),
    ("JournalEntryLine", "Reference1", 100),
    ("JournalEntryLine", "Reference2", 100),
];

/// The type of the records in a collection property (`DocumentLines` holds `DocumentLine`s).
const COLLECTIONS: &[(&str, &str, &str)] = &[
    ("Document", "DocumentLines", "DocumentLine"),
    (
        "Document",
        "DocumentAdditionalExpenses",
        "DocumentAdditionalExpense",
    ),
    ("Payment", "PaymentInvoices", "PaymentInvoice"),
    ("JournalEntry", "JournalEntryLines", "JournalEntryLine"),
];

/// The SAP type of the records of an entity set this table covers.
pub fn type_of_set(set: &str) -> Option<&'static str> {
    match set {
        "Invoices" | "CreditNotes" | "Orders" | "DeliveryNotes" => Some("Document"),
        "IncomingPayments" | "VendorPayments" => Some("Payment"),
        "JournalEntries" => Some("JournalEntry"),
        _ => None,
    }
}

/// A string longer than SAP takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{property} of {type_name}{line} is {length} characters; SAP takes at most {max} (it refuses longer values, never truncates)"
)]
pub struct TooLong {
    /// SAP type (`Document`, `DocumentLine`, ...).
    pub type_name: &'static str,
    /// Property name.
    pub property: String,
    /// Line number (1-based) in its collection, as `" line 2"`, or empty.
    pub line: String,
    /// Length of the value in characters.
    pub length: usize,
    /// SAP's maximum.
    pub max: usize,
}

/// The first string of `body` (a record of type `type_name`, with its collections) longer than
/// SAP allows.
pub fn too_long(type_name: &'static str, body: &Value) -> Option<TooLong> {
    check(type_name, body, "")
}

fn check(type_name: &'static str, body: &Value, line: &str) -> Option<TooLong> {
    let object = body.as_object()?;
    for (property, value) in object {
        if let Some(text) = value.as_str()
            && let Some((_, _, max)) = MAX_LENGTHS
                .iter()
                .find(|(t, p, _)| *t == type_name && p == property)
        {
            let length = text.chars().count();
            if length > *max {
                return Some(TooLong {
                    type_name,
                    property: property.clone(),
                    line: line.to_owned(),
                    length,
                    max: *max,
                });
            }
        }
        if let (Some(items), Some((_, _, child))) = (
            value.as_array(),
            COLLECTIONS
                .iter()
                .find(|(t, p, _)| *t == type_name && p == property),
        ) {
            for (i, item) in items.iter().enumerate() {
                if let Some(found) = check(child, item, &format!(" line {}", i + 1)) {
                    return Some(found);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_long_values_in_records_and_their_lines() {
        let ok =
            json!({"NumAtCard": "x".repeat(100), "DocumentLines": [{"FreeText": "Amazon SKU A"}]});
        assert_eq!(too_long("Document", &ok), None);
        let long = json!({"NumAtCard": "x".repeat(101)});
        let e = too_long("Document", &long).unwrap();
        assert_eq!((e.length, e.max), (101, 100));
        let line = json!({"JournalEntryLines": [{"LineMemo": "ok"}, {"LineMemo": "é".repeat(51)}]});
        let e = too_long("JournalEntry", &line).unwrap();
        assert_eq!(
            e.to_string(),
            "LineMemo of JournalEntryLine line 2 is 51 characters; SAP takes at most 50 (it refuses longer values, never truncates)"
        );
        // Characters, not bytes: 50 two-byte characters fit.
        assert_eq!(
            too_long("JournalEntry", &json!({"Memo": "é".repeat(50)})),
            None
        );
    }
}
