//! What a settlements run did: per settlement, and the closed Finances periods no report matches.

use chrono::Utc;
use rust_decimal::Decimal;
use serde::Serialize;
use settlement_mapper::postings::SettlementPostings;

use super::plan::{self, Application};
use crate::flows::Problem;

/// One settlement's outcome in a run.
#[derive(Debug, Clone, Serialize)]
pub struct SettlementOutcome {
    /// Settlement id.
    pub settlement_id: String,
    /// Currency.
    pub currency: String,
    /// End of the settlement period.
    pub end: chrono::DateTime<Utc>,
    /// The deposit (total-amount).
    pub total_amount: Decimal,
    /// The total in the company's currency (the same for a local-currency settlement; Amazon's
    /// converted payout, or at SAP's rate of the deposit date, for a foreign one).
    pub total_local: Option<Decimal>,
    /// `posted`, `already-posted`, `held`, `re-issued`, `dismissed`, `failed`, `partly-posted`,
    /// `would-post`, `skipped` (before `settlements.start_after`).
    pub state: String,
    /// Rows sum to the total and clearing nets to zero after the deposit.
    pub tied_out: bool,
    /// Documents in SAP for it (payments + journal entries).
    pub documents: usize,
    /// Why it is held or failed.
    pub reasons: Vec<String>,
    /// Per order: receipt vs invoice.
    pub applications: Vec<Application>,
    /// Partial and over-payments, amounts on account.
    pub notes: Vec<String>,
    /// The notes rolled up per marketplace (invoices left open, amounts on account, and what a
    /// systematic shortfall looks like).
    pub rollup: Vec<String>,
    /// Receipts held for a difference above the write-off tolerance (the rest posted).
    pub held_receipts: Vec<super::held::HeldReceipt>,
}

/// What a settlements run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SettlementsReport {
    /// Settlement reports Amazon listed.
    pub reports_listed: u64,
    /// Of those, downloaded in this run.
    pub reports_downloaded: u64,
    /// Of those, read by an earlier run and taken from the ledger instead of downloaded again.
    pub reports_from_ledger: u64,
    /// Distinct settlements read.
    pub settlements_seen: u64,
    /// Settlements whose last part was posted in this run.
    pub settlements_posted: u64,
    /// Settlements posted by an earlier run.
    pub already_posted: u64,
    /// Posted settlements (this run) that tie out.
    pub settlements_tied_out: u64,
    /// Parts posted in this run.
    pub parts_posted: u64,
    /// Parts found in SAP by their reference instead of being sent again.
    pub parts_found_in_sap: u64,
    /// Parts another connector instance posted to the same company (their key rows say who).
    pub posted_by_other_instance: Vec<Problem>,
    /// Warnings about how this run could post (key table missing, another instance's lease).
    pub warnings: Vec<String>,
    /// Held settlements and why.
    pub held: Vec<Problem>,
    /// Receipts held (each under its own key) while the rest of their settlement posted.
    pub receipts_held: Vec<Problem>,
    /// Settlements before the cut-over (`settlements.start_after`): not posted.
    pub skipped: Vec<Problem>,
    /// Failed parts or unreadable files.
    pub failed: Vec<Problem>,
    /// Parts whose outcome is unknown.
    pub unknown: Vec<Problem>,
    /// Per settlement.
    pub settlements: Vec<SettlementOutcome>,
    /// Closed Finances periods with no settlement report (Amazon's gap, or not published yet).
    pub gaps: Vec<String>,
}

impl SettlementsReport {
    /// Whether anything needs a person.
    pub fn needs_attention(&self) -> bool {
        !self.held.is_empty()
            || !self.receipts_held.is_empty()
            || !self.failed.is_empty()
            || !self.unknown.is_empty()
    }
}

/// A checked settlement: the mapper's postings, and the SAP documents or what holds them.
pub struct CheckedSettlement {
    /// Mapper output.
    pub postings: SettlementPostings,
    /// Documents, or every reason it cannot be posted.
    pub plan: Result<plan::SettlementPlan, Vec<String>>,
    /// What the ledger already knows of it (posted, re-issued, a copy, dismissed), in which case
    /// nothing would be posted and `plan` is not computed.
    pub known: Option<Known>,
}

impl CheckedSettlement {
    /// Whether posting it would go through (exit 0 of `settlement check`).
    pub fn is_ok(&self) -> bool {
        match &self.known {
            Some(k) => !k.needs_attention,
            None => self.plan.is_ok(),
        }
    }
}

/// A settlement the ledger knows.
#[derive(Debug, Clone)]
pub struct Known {
    /// What it is and what would happen.
    pub text: String,
    /// Whether a person must act (re-issue, copy).
    pub needs_attention: bool,
}

/// Closed financial event groups that no seen settlement matches (currency, total, end within a day).
pub(crate) fn unmatched_groups(
    groups: &[sp_api_client::finances::FinancialEventGroup],
    seen: &[SettlementOutcome],
) -> Vec<String> {
    let mut gaps = Vec::new();
    for g in groups {
        if g.processing_status.as_deref() != Some("Closed") {
            continue;
        }
        let (Some(end), Some(total)) = (g.financial_event_group_end, g.original_total.as_ref())
        else {
            continue;
        };
        let matched = seen.iter().any(|s| {
            s.currency == total.currency_code
                && s.total_amount == total.amount
                && (s.end - end).num_hours().abs() <= 24
        });
        if !matched {
            gaps.push(format!(
                "financial event group {} ({} to {}, {} {}) is closed but no settlement report matches it: Amazon may not have published it yet; check Seller Central's statements",
                g.financial_event_group_id,
                g.financial_event_group_start.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                end.format("%Y-%m-%d"),
                total.amount,
                total.currency_code
            ));
        }
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(total: &str, end: &str) -> SettlementOutcome {
        SettlementOutcome {
            settlement_id: "1".into(),
            currency: "EUR".into(),
            end: chrono::DateTime::parse_from_rfc3339(end).unwrap().to_utc(),
            total_amount: total.parse().unwrap(),
            total_local: None,
            state: "posted".into(),
            tied_out: true,
            documents: 3,
            reasons: vec![],
            applications: vec![],
            notes: vec![],
            rollup: vec![],
            held_receipts: vec![],
        }
    }

    #[test]
    fn closed_groups_without_a_settlement_are_gaps() {
        let groups: Vec<sp_api_client::finances::FinancialEventGroup> = serde_json::from_value(json!([
            {"FinancialEventGroupId": "G1", "ProcessingStatus": "Closed", "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": 128.84},
             "FinancialEventGroupStart": "2024-09-13T08:59:52Z", "FinancialEventGroupEnd": "2024-09-27T08:59:52Z"},
            {"FinancialEventGroupId": "G2", "ProcessingStatus": "Closed", "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": 99.00},
             "FinancialEventGroupStart": "2024-09-27T08:59:52Z", "FinancialEventGroupEnd": "2024-10-11T08:59:52Z"},
            {"FinancialEventGroupId": "G3", "ProcessingStatus": "Open", "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": 5.00},
             "FinancialEventGroupStart": "2024-10-11T08:59:52Z"}
        ]))
        .unwrap();
        let seen = [outcome("128.84", "2024-09-27T08:59:52Z")];
        let gaps = unmatched_groups(&groups, &seen);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(
            gaps[0].starts_with("financial event group G2 (2024-09-27 to 2024-10-11, 99"),
            "{}",
            gaps[0]
        );
    }
}
