//! The realized exchange differences SAP posted for a settlement's payments.
//!
//! A payment that closes foreign-currency invoices at another rate than theirs makes SAP post the
//! difference in local currency to the company's realized gain or loss account ("SAP Business One
//! creates automatic postings for the realized exchange rate differences", SAP blog "How does SAP
//! Business One handle Exchange Rate Differences", 2020-07-01). The connector leaves that posting to
//! SAP and reads it back: the G/L lines (not the customer's, not the clearing account's) of the
//! journal entries that originate from the settlement's payments and credit notes
//! (`OriginalJournal` = `ttReceipt`, `ttVendorPayment` or `ttARCredItnote`; `BaseReference` = the
//! document's number, as SAP's OJDT.BaseRef).

use anyhow::Result;
use futures::TryStreamExt;
use rust_decimal::Decimal;
use sap_b1_client::Query;
use sap_b1_client::query::prop;

use super::PostedDocument;
use crate::flows::Engine;

/// The documents of a settlement whose journal entries may hold realized exchange differences:
/// its payments (from `documents`) and its credit notes (DocNums), as (`OriginalJournal`, number).
pub(super) fn origins(
    documents: &[PostedDocument],
    credit_notes: &[i64],
) -> Vec<(&'static str, i64)> {
    let mut out: Vec<(&'static str, i64)> = documents
        .iter()
        .filter_map(|d| {
            let origin = match d.kind.as_str() {
                "IncomingPayment" => "ttReceipt",
                "OutgoingPayment" => "ttVendorPayment",
                _ => return None,
            };
            Some((origin, d.number.unwrap_or(d.key)))
        })
        .collect();
    out.extend(credit_notes.iter().map(|n| ("ttARCredItnote", *n)));
    out.sort_unstable();
    out.dedup();
    out
}

impl Engine {
    /// Local-currency gain (positive) or loss (negative) SAP realized on the documents `origins`
    /// (see [`origins`]); `clearing` is the account the payments went through (not a difference).
    pub(super) async fn exchange_differences(
        &self,
        origins: &[(&'static str, i64)],
        clearing: &str,
    ) -> Result<Decimal> {
        let mut total = Decimal::ZERO;
        for (origin, number) in origins {
            let number = number.to_string();
            let q = Query::new()
                .filter(
                    prop("OriginalJournal")
                        .eq(*origin)
                        .and(prop("BaseReference").eq(number.as_str())),
                )
                .page_size(100);
            let entries: Vec<_> = self.sap.journal_entries().stream(&q).try_collect().await?;
            for line in entries
                .iter()
                .flat_map(|j| j.journal_entry_lines.iter().flatten())
            {
                let account = line.account_code.as_deref().unwrap_or_default();
                // A business partner's line names the partner, not its control account.
                let gl = line.short_name.as_deref().is_none_or(|s| s == account);
                if gl && account != clearing {
                    total += line.credit.unwrap_or_default() - line.debit.unwrap_or_default();
                }
            }
        }
        Ok(total)
    }
}
