//! Pure: a settlement's SAP documents split into atomic parts, each with the reference its
//! documents carry (`MLC{settlement}-{part}`) so a part is found in SAP before it is ever re-sent.

use rust_decimal::Decimal;
use sap_b1_client::entities::{IncomingPayment, JournalEntry};
use serde::{Deserialize, Serialize};

use super::plan::{Application, SettlementPlan};

/// The reference every document of a part carries (short: SAP's TransferReference holds 27).
pub fn part_reference(id: &str, part: usize) -> String {
    format!("MLC{id}-{part}")
}

/// One document of a part, by the entity set it is posted to. Stored in the ledger as
/// `{"set": "IncomingPayments", "body": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "set", content = "body")]
pub enum PartDocument {
    /// An incoming payment (`TransferReference` = the part's reference).
    IncomingPayments(IncomingPayment),
    /// An outgoing payment to a customer (credit notes above its invoices), same fields.
    VendorPayments(IncomingPayment),
    /// A journal entry (`Reference2` = the part's reference).
    JournalEntries(JournalEntry),
}

impl PartDocument {
    /// The entity set it is posted to.
    pub fn entity_set(&self) -> &'static str {
        match self {
            Self::IncomingPayments(_) => "IncomingPayments",
            Self::VendorPayments(_) => "VendorPayments",
            Self::JournalEntries(_) => "JournalEntries",
        }
    }

    /// The part reference the document carries.
    pub fn reference(&self) -> Option<&str> {
        match self {
            Self::IncomingPayments(p) | Self::VendorPayments(p) => p.transfer_reference.as_deref(),
            Self::JournalEntries(j) => j.reference2.as_deref(),
        }
    }
}

/// One atomic part of a settlement: posted as one `$batch` changeset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlementPart {
    /// `MLC{settlement}-{part}`.
    pub reference: String,
    /// Payments first, then journal entries, in posting order.
    pub documents: Vec<PartDocument>,
}

/// What the ledger keeps under a settlement's own key once its parts are planned (the
/// reconciliation report reads the applications back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlementSummary {
    /// Settlement id.
    pub settlement_id: String,
    /// Currency.
    pub currency: String,
    /// The deposit.
    pub total_amount: Decimal,
    /// Number of parts.
    pub parts: usize,
    /// Number of SAP documents over all parts.
    pub documents: usize,
    /// Per order: receipt vs invoice.
    pub applications: Vec<Application>,
    /// Partial and over-payments, amounts on account.
    pub notes: Vec<String>,
    /// The total in the company's currency (see `SettlementPlan::total_local`); absent in
    /// settlements planned before it was recorded.
    #[serde(default)]
    pub total_local: Option<Decimal>,
    /// Receipts held for a difference above the write-off tolerance (each under its own key);
    /// the clearing account keeps them until they post.
    #[serde(default)]
    pub held: Vec<super::held::HeldReceipt>,
}

/// Splits a settlement's documents into parts of at most `max` documents, each with its reference.
pub fn split_parts(plan: &SettlementPlan, id: &str, max: usize) -> Vec<SettlementPart> {
    let docs: Vec<PartDocument> = plan
        .payments
        .iter()
        .cloned()
        .map(PartDocument::IncomingPayments)
        .chain(
            plan.refund_payments
                .iter()
                .cloned()
                .map(PartDocument::VendorPayments),
        )
        .chain(
            plan.journal_entries
                .iter()
                .cloned()
                .map(PartDocument::JournalEntries),
        )
        .collect();
    docs.chunks(max.max(1))
        .enumerate()
        .map(|(n, chunk)| stamped(part_reference(id, n + 1), chunk))
        .collect()
}

/// All of a plan's documents as one part carrying `reference` (a held receipt posted later).
pub fn one_part(plan: &SettlementPlan, reference: String) -> SettlementPart {
    let mut parts = split_parts(plan, "", usize::MAX);
    let docs = parts.pop().map(|p| p.documents).unwrap_or_default();
    stamped(reference, &docs)
}

/// `docs` as a part, each carrying `reference`.
fn stamped(reference: String, docs: &[PartDocument]) -> SettlementPart {
    let documents = docs
        .iter()
        .cloned()
        .map(|doc| match doc {
            PartDocument::IncomingPayments(mut p) => {
                p.transfer_reference = Some(reference.clone());
                PartDocument::IncomingPayments(p)
            }
            PartDocument::VendorPayments(mut p) => {
                p.transfer_reference = Some(reference.clone());
                PartDocument::VendorPayments(p)
            }
            PartDocument::JournalEntries(mut j) => {
                j.reference2 = Some(reference.clone());
                PartDocument::JournalEntries(j)
            }
        })
        .collect();
    SettlementPart {
        reference,
        documents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_carry_their_reference_and_respect_the_size() {
        let plan = SettlementPlan {
            payments: vec![Default::default(), Default::default(), Default::default()],
            journal_entries: vec![Default::default(), Default::default()],
            ..Default::default()
        };
        let parts = split_parts(&plan, "24001234567", 2);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].reference, "MLC24001234567-1");
        assert_eq!(parts[1].documents[1].entity_set(), "JournalEntries");
        assert_eq!(parts[1].documents[0].reference(), Some("MLC24001234567-2"));
        assert_eq!(parts[2].documents[0].reference(), Some("MLC24001234567-3"));
        assert!(
            part_reference("24001234567", 12).len() <= 27,
            "fits SAP's TransferReference"
        );
    }

    #[test]
    fn the_stored_shape_is_the_one_earlier_versions_wrote() {
        // Ledgers written before parts were typed hold this JSON: it must still read.
        let stored = serde_json::json!({
            "reference": "MLC1-1",
            "documents": [
                {"set": "IncomingPayments", "body": {"CardCode": "C1", "TransferReference": "MLC1-1", "TransferSum": "10.00"}},
                {"set": "JournalEntries", "body": {"Reference2": "MLC1-1", "Memo": "fees"}}
            ]
        });
        let part: SettlementPart = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(part.documents.len(), 2);
        assert_eq!(part.documents[0].reference(), Some("MLC1-1"));
        let back = serde_json::to_value(&part).unwrap();
        assert_eq!(back["documents"][0]["set"], "IncomingPayments");
        assert_eq!(back["documents"][0]["body"]["TransferSum"], "10.00");
        assert_eq!(back["documents"][1]["body"]["Memo"], "fees");
        // An unknown entity set is an error naming it, not a silent default.
        let bad = serde_json::json!({"reference": "MLC1-1", "documents": [{"set": "Orders", "body": {}}]});
        let err = serde_json::from_value::<SettlementPart>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Orders"), "{err}");
    }
}
