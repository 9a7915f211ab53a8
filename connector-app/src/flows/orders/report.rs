//! What one orders sync did.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::flows::Problem;
use crate::posting::PostOutcome;

/// What one orders sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrdersReport {
    /// Window searched (lastUpdatedAfter).
    pub window_start: Option<DateTime<Utc>>,
    /// Window end (lastUpdatedBefore).
    pub window_end: Option<DateTime<Utc>>,
    /// Orders Amazon returned.
    pub orders_seen: u64,
    /// Invoices created in SAP by this run.
    pub invoices_posted: u64,
    /// Invoices found already in SAP by their key (not sent again).
    pub found_in_sap: u64,
    /// Orders whose invoice was posted by an earlier run.
    pub already_posted: u64,
    /// Orders not invoiceable yet (pending, unshipped, partially shipped).
    pub not_yet: u64,
    /// Cancelled orders and other marketplaces (never invoiced).
    pub never: u64,
    /// Invoices a dry run would post.
    pub would_post: u64,
    /// Invoices an earlier run left in doubt (SENDING / UNKNOWN) that this run resolved first
    /// (counted under posted, found, failed or unknown; their orders, read again, are not counted
    /// twice).
    pub recovered: u64,
    /// Keys resolved by recovery in this run.
    #[serde(skip)]
    pub(crate) recovered_keys: std::collections::HashSet<String>,
    /// Orders whose invoice a person dismissed (`ml-connector dismiss`).
    pub dismissed: u64,
    /// Orders of summary marketplaces: invoiced with the others by their settlement.
    pub summarised: u64,
    /// Credit notes posted for orders Amazon cancelled after they were invoiced (accepted mode).
    pub credit_notes_posted: u64,
    /// Such credit notes a dry run would post.
    pub would_credit: u64,
    /// Invoices another connector instance posted to the same company (their key rows say who).
    pub posted_by_other_instance: Vec<Problem>,
    /// Warnings about how this run could post (key table missing, another instance's lease).
    pub warnings: Vec<String>,
    /// Held records and why.
    pub held: Vec<Problem>,
    /// Failed records and why.
    pub failed: Vec<Problem>,
    /// Records whose outcome is unknown (looked up before the next attempt).
    pub unknown: Vec<Problem>,
}

impl OrdersReport {
    /// Whether anything needs a person.
    pub fn needs_attention(&self) -> bool {
        !self.held.is_empty() || !self.failed.is_empty() || !self.unknown.is_empty()
    }

    /// Orders accounted for by the outcome counts: equal to `orders_seen` after a run that read its
    /// whole window (each order lands in exactly one of them).
    pub fn orders_accounted(&self) -> u64 {
        self.invoices_posted
            + self.found_in_sap
            + self.already_posted
            + self.not_yet
            + self.never
            + self.dismissed
            + self.summarised
            + self.would_post
            + self.credit_notes_posted
            + self.would_credit
            + (self.held.len() + self.failed.len() + self.unknown.len()) as u64
    }

    /// Counts a document an earlier run left in doubt and this run resolved.
    pub(crate) fn count_recovered(&mut self, key: &str, outcome: PostOutcome) {
        self.recovered += 1;
        self.recovered_keys.insert(key.to_owned());
        self.count(key, outcome);
    }

    /// Counts the credit note of an order cancelled after its invoice.
    pub(crate) fn count_credit(&mut self, key: &str, outcome: PostOutcome) {
        match outcome {
            PostOutcome::Posted { .. } => self.credit_notes_posted += 1,
            other => self.count(key, other),
        }
    }

    pub(crate) fn count(&mut self, key: &str, outcome: PostOutcome) {
        match outcome {
            PostOutcome::Posted { .. } => self.invoices_posted += 1,
            PostOutcome::FoundExisting {
                by_other_instance, ..
            } => {
                self.found_in_sap += 1;
                if let Some(other) = by_other_instance {
                    self.posted_by_other_instance.push(Problem {
                        key: key.to_owned(),
                        reason: format!("posted by another connector instance: {other}"),
                    });
                }
            }
            PostOutcome::Failed(reason) => self.failed.push(Problem {
                key: key.to_owned(),
                reason,
            }),
            PostOutcome::Unknown(reason) => self.unknown.push(Problem {
                key: key.to_owned(),
                reason,
            }),
        }
    }
}
