//! Pure: a settlement in another currency than the company's, in SAP's terms.
//!
//! SAP keeps every amount in local currency with a foreign-currency twin: a payment applies
//! `AppliedFC` to a foreign-currency invoice (SDK `Payments_Invoices~AppliedFC`; `SumApplied` is
//! local currency, table ARC2 "Paid (LC)"), a journal line carries `FCCurrency` with
//! `FCDebit`/`FCCredit` beside its local `Debit`/`Credit` (SDK `JournalEntries_Lines~FCDebit`),
//! and an account kept in one currency (`AcctCurrency`) takes only that currency, so a settlement
//! currency has its own clearing account (`AmazonClearing.EUR` in the mapping's `[accounts]`).
//! The local amounts are the foreign ones at SAP's rate of the posting date; the cent a line's
//! rounding leaves is put on the entry's largest line of the other side, so the entry balances
//! in both currencies.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use sap_b1_client::entities::JournalEntryLine;
use settlement_mapper::mapping::MappingTable;

/// A settlement's currency when it is not the company's: its ISO and SAP codes and SAP's rates
/// (local units per one foreign unit) on the dates it posts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// ISO code (Amazon's).
    pub iso: String,
    /// SAP's code for it.
    pub code: String,
    /// SAP's rate per posting date.
    pub rates: BTreeMap<NaiveDate, Decimal>,
}

/// The account for `symbol` in a foreign ISO currency `iso`: the mapping's `"{symbol}.{iso}"` when
/// it has one (an account kept in that currency), else `code` (the symbol's own account, which is
/// also the answer for the company's currency, `iso = None`).
pub fn account_in(table: &MappingTable, symbol: &str, code: &str, iso: Option<&str>) -> String {
    iso.and_then(|iso| table.accounts.get(&format!("{symbol}.{iso}")))
        .cloned()
        .unwrap_or_else(|| code.to_owned())
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl Foreign {
    /// SAP's rate on `date`, or the hold reason.
    pub fn rate(&self, date: NaiveDate) -> Result<Decimal, String> {
        self.rates.get(&date).copied().ok_or_else(|| {
            format!(
                "no exchange rate for {} (SAP code {}) on {date} in SAP: enter the day's rate, then run again",
                self.iso, self.code
            )
        })
    }

    /// Journal lines with foreign amounts (`FCDebit`/`FCCredit` = what the settlement says) and
    /// local amounts at the rate of `date`, balanced in local currency.
    pub fn journal_lines(
        &self,
        mut lines: Vec<JournalEntryLine>,
        date: NaiveDate,
    ) -> Result<Vec<JournalEntryLine>, String> {
        let rate = self.rate(date)?;
        for l in &mut lines {
            let (d, c) = (l.debit.unwrap_or_default(), l.credit.unwrap_or_default());
            l.fc_currency = Some(self.code.clone());
            l.fc_debit = Some(d);
            l.fc_credit = Some(c);
            l.debit = Some(round2(d * rate));
            l.credit = Some(round2(c * rate));
        }
        let sum = |f: fn(&JournalEntryLine) -> Option<Decimal>| -> Decimal {
            lines.iter().filter_map(f).sum()
        };
        let diff = sum(|l| l.debit) - sum(|l| l.credit);
        if !diff.is_zero() {
            // Debits over credits: the largest credit line takes the difference (and the other way
            // round), the way SAP's own rounding puts it on one line.
            let credit_side = diff.is_sign_positive();
            let side = |l: &JournalEntryLine| {
                if credit_side { l.credit } else { l.debit }.unwrap_or_default()
            };
            if let Some(l) = lines
                .iter_mut()
                .filter(|l| !side(l).is_zero())
                .max_by_key(|l| side(l))
            {
                if credit_side {
                    l.credit = Some(l.credit.unwrap_or_default() + diff);
                } else {
                    l.debit = Some(l.debit.unwrap_or_default() - diff);
                }
            }
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(account: &str, debit: &str, credit: &str) -> JournalEntryLine {
        JournalEntryLine {
            account_code: Some(account.into()),
            debit: Some(debit.parse().unwrap()),
            credit: Some(credit.parse().unwrap()),
            ..JournalEntryLine::default()
        }
    }

    #[test]
    fn foreign_lines_keep_the_settlement_amounts_and_balance_in_local_currency() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let f = Foreign {
            iso: "EUR".into(),
            code: "EUR".into(),
            rates: BTreeMap::from([(date, "0.8451".parse().unwrap())]),
        };
        // Three fees of 0.01-sensitive size against one clearing line.
        let lines = vec![
            line("6100", "1.15", "0"),
            line("6110", "2.35", "0"),
            line("6120", "0.45", "0"),
            line("1421", "0", "3.95"),
        ];
        let out = f.journal_lines(lines, date).unwrap();
        let d: Decimal = out.iter().filter_map(|l| l.debit).sum();
        let c: Decimal = out.iter().filter_map(|l| l.credit).sum();
        assert_eq!(d, c, "{out:?}");
        let fd: Decimal = out.iter().filter_map(|l| l.fc_debit).sum();
        assert_eq!(fd, "3.95".parse().unwrap());
        assert!(out.iter().all(|l| l.fc_currency.as_deref() == Some("EUR")));
        // 1.15 × 0.8451 = 0.971865 → 0.97; the credit is where the cent goes, if any.
        assert_eq!(out[0].debit, Some("0.97".parse().unwrap()));
        let missing = f
            .journal_lines(vec![], NaiveDate::from_ymd_opt(2026, 11, 21).unwrap())
            .unwrap_err();
        assert!(missing.contains("no exchange rate for EUR"), "{missing}");
    }

    #[test]
    fn a_currency_s_own_account_comes_from_the_mapping() {
        let table = MappingTable::from_toml(
            "[accounts]\nAmazonClearing = \"1420\"\n\"AmazonClearing.EUR\" = \"1421\"\n",
        )
        .unwrap();
        assert_eq!(
            account_in(&table, "AmazonClearing", "1420", Some("EUR")),
            "1421"
        );
        assert_eq!(
            account_in(&table, "AmazonClearing", "1420", Some("CAD")),
            "1420"
        );
        assert_eq!(account_in(&table, "AmazonClearing", "1420", None), "1420");
        assert_eq!(account_in(&table, "Bank", "1200", Some("EUR")), "1200");
    }
}
