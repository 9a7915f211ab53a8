//! Pure: the mapper's journal entries (fees, refunds, reserves, the deposit...) -> SAP journal
//! entries, with the settlement's accounts resolved and, for a foreign-currency settlement, the
//! amounts in the FC fields.

use sap_b1_client::entities::{JournalEntry, JournalEntryLine};

use super::foreign::account_in;
use super::plan::{PlanInput, truncate};

/// One SAP journal entry per mapper entry that moves anything, in the mapper's order.
pub fn journal_entries(input: &PlanInput<'_>) -> Result<Vec<JournalEntry>, Vec<String>> {
    let p = input.postings;
    let iso = input.foreign.map(|f| f.iso.as_str());
    let mut out = Vec::new();
    for je in &p.journal_entries {
        let mut lines: Vec<JournalEntryLine> = je
            .lines
            .iter()
            .filter(|l| !(l.debit.is_zero() && l.credit.is_zero()))
            .map(|l| JournalEntryLine {
                account_code: Some(account_in(input.table, &l.symbol, &l.account, iso)),
                debit: Some(l.debit),
                credit: Some(l.credit),
                line_memo: Some(truncate(&l.memo)),
                ..JournalEntryLine::default()
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        if let Some(f) = input.foreign {
            lines = match f.journal_lines(lines, je.date) {
                Ok(lines) => lines,
                Err(reason) => return Err(vec![reason]),
            };
        }
        out.push(JournalEntry {
            reference_date: Some(je.date.into()),
            tax_date: Some(je.date.into()),
            due_date: Some(je.date.into()),
            memo: Some(truncate(&je.memo)),
            reference: Some(p.settlement_id.clone()),
            journal_entry_lines: Some(lines),
            ..JournalEntry::default()
        });
    }
    Ok(out)
}
