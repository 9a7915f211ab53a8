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
use rust_decimal::Decimal;
use sap_b1_client::entities::JournalEntryLine;
use settlement_mapper::mapping::MappingTable;

use super::journal::{round2, tax_on};

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

/// The clearing account of a foreign-currency settlement and how far (in the foreign currency)
/// the settlement's entries planned so far have moved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingRun {
    /// The clearing account's code.
    pub account: String,
    /// Net foreign-currency debit so far.
    pub moved: Decimal,
}

/// The account for `symbol` in a foreign ISO currency `iso`: the mapping's `"{symbol}.{iso}"` when
/// it has one (an account kept in that currency), else `code` (the symbol's own account, which is
/// also the answer for the company's currency, `iso = None`).
pub fn account_in(table: &MappingTable, symbol: &str, code: &str, iso: Option<&str>) -> String {
    iso.and_then(|iso| table.accounts.get(&format!("{symbol}.{iso}")))
        .cloned()
        .unwrap_or_else(|| code.to_owned())
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
    /// local amounts at the rate of `date`, balanced in local currency — counting the tax line
    /// SAP adds for each line with a tax group (`tax_rates`: the group's rate in percent), which
    /// SAP computes on the line's local amount as on its foreign one.
    ///
    /// With `clearing`, the clearing account's lines move it in local currency by the rounded
    /// running total of the settlement's entries (not each by its own rounding), so that the
    /// entries together move it by the local value of their foreign total: what the settlement's
    /// payment (one amount, one rate) brings in goes out to the cent.
    pub fn journal_lines(
        &self,
        mut lines: Vec<JournalEntryLine>,
        date: NaiveDate,
        tax_rates: &BTreeMap<String, Decimal>,
        mut clearing: Option<&mut ClearingRun>,
    ) -> Result<Vec<JournalEntryLine>, String> {
        let rate = self.rate(date)?;
        let mut pinned = vec![false; lines.len()];
        for (i, l) in lines.iter_mut().enumerate() {
            let (d, c) = (l.debit.unwrap_or_default(), l.credit.unwrap_or_default());
            l.fc_currency = Some(self.code.clone());
            l.fc_debit = Some(d);
            l.fc_credit = Some(c);
            l.debit = Some(round2(d * rate));
            l.credit = Some(round2(c * rate));
            if let Some(run) = clearing.as_deref_mut()
                && l.account_code.as_deref() == Some(run.account.as_str())
                && l.tax_group.is_none()
            {
                let before = round2(run.moved * rate);
                run.moved += d - c;
                let step = round2(run.moved * rate) - before;
                if d.is_zero() {
                    l.credit = Some(-step);
                } else {
                    l.debit = Some(step);
                }
                pinned[i] = true;
            }
        }
        // The tax SAP adds on a taxed line, in local currency (a group without a rate here adds
        // nothing the connector expects: such lines are net at 0 %).
        let tax_of = |l: &JournalEntryLine, amount: Option<Decimal>| -> Decimal {
            l.tax_group
                .as_ref()
                .and_then(|g| tax_rates.get(g))
                .map_or(Decimal::ZERO, |r| tax_on(amount.unwrap_or_default(), *r))
        };
        let diff: Decimal = lines
            .iter()
            .map(|l| {
                l.debit.unwrap_or_default() + tax_of(l, l.debit)
                    - l.credit.unwrap_or_default()
                    - tax_of(l, l.credit)
            })
            .sum();
        if !diff.is_zero() {
            // Debits over credits: the largest credit line takes the difference (and the other way
            // round), the way SAP's own rounding puts it on one line. A taxed line takes it only
            // if the tax SAP computes on it stays the same; without such a line on that side, the
            // largest one of the other side gives the difference back.
            let credit_side = diff.is_sign_positive();
            let amount = |l: &JournalEntryLine, credit: bool| {
                if credit { l.credit } else { l.debit }.unwrap_or_default()
            };
            let moved = |l: &JournalEntryLine, credit: bool| {
                if credit {
                    amount(l, true) + diff
                } else {
                    amount(l, false) - diff
                }
            };
            let keeps_tax = |l: &JournalEntryLine, credit: bool| {
                let new = Some(moved(l, credit));
                let old = Some(amount(l, credit));
                l.tax_group.is_none() || tax_of(l, new) == tax_of(l, old)
            };
            // A pinned clearing line gives up its running total only when nothing else can.
            let passes = [
                (credit_side, false),
                (!credit_side, false),
                (credit_side, true),
                (!credit_side, true),
            ];
            for (credit, unpin) in passes {
                let pick = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, l)| {
                        (unpin || !pinned[*i])
                            && !amount(l, credit).is_zero()
                            && keeps_tax(l, credit)
                    })
                    .max_by_key(|(_, l)| amount(l, credit))
                    .map(|(i, _)| i);
                if let Some(i) = pick {
                    let v = Some(moved(&lines[i], credit));
                    if credit {
                        lines[i].credit = v;
                    } else {
                        lines[i].debit = v;
                    }
                    break;
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
        let out = f
            .journal_lines(lines, date, &BTreeMap::new(), None)
            .unwrap();
        let d: Decimal = out.iter().filter_map(|l| l.debit).sum();
        let c: Decimal = out.iter().filter_map(|l| l.credit).sum();
        assert_eq!(d, c, "{out:?}");
        let fd: Decimal = out.iter().filter_map(|l| l.fc_debit).sum();
        assert_eq!(fd, "3.95".parse().unwrap());
        assert!(out.iter().all(|l| l.fc_currency.as_deref() == Some("EUR")));
        // 1.15 × 0.8451 = 0.971865 → 0.97; the credit is where the cent goes, if any.
        assert_eq!(out[0].debit, Some("0.97".parse().unwrap()));
        let missing = f
            .journal_lines(
                vec![],
                NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
                &BTreeMap::new(),
                None,
            )
            .unwrap_err();
        assert!(missing.contains("no exchange rate for EUR"), "{missing}");
    }

    #[test]
    fn taxed_foreign_lines_balance_with_the_tax_sap_adds_in_both_currencies() {
        use super::super::journal::net_of;
        let rate: Decimal = "20".parse().unwrap();
        let rates = BTreeMap::from([("I1".to_owned(), rate)]);
        let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let mut unbalanced_without_tax = 0;
        for fx in ["0.8451", "0.8399", "0.8573"] {
            let f = Foreign {
                iso: "EUR".into(),
                code: "EUR".into(),
                rates: BTreeMap::from([(date, fx.parse().unwrap())]),
            };
            for cents in (100..3000i64).step_by(7) {
                // A gross fee in EUR, posted net with I1, and the reserve beside it, against clearing.
                let gross = Decimal::new(cents, 2);
                let (net, rest) = net_of(gross, rate);
                if !rest.is_zero() {
                    continue; // no net reaches it: journal.rs adds an untaxed line
                }
                let mut fee = line("6100", &net.to_string(), "0");
                fee.tax_group = Some("I1".into());
                // With an untaxed debit beside the fee, and (odd amounts) with the fee alone
                // against clearing, where clearing gives the cent back.
                let reserve = if cents % 2 == 0 { 137 } else { 0 };
                let mut lines = vec![
                    fee,
                    line("1421", "0", &(gross + Decimal::new(reserve, 2)).to_string()),
                ];
                if reserve > 0 {
                    lines.insert(1, line("1425", "1.37", "0"));
                }
                // The fee alone against a pinned clearing line: clearing gives way when the fee
                // cannot take the cent without its tax moving.
                let mut run = ClearingRun {
                    account: "1421".into(),
                    moved: Decimal::ZERO,
                };
                let pinned = (reserve == 0).then_some(&mut run);
                let out = f
                    .journal_lines(lines.clone(), date, &rates, pinned)
                    .unwrap();
                let tax = |l: &JournalEntryLine, v: Option<Decimal>| {
                    if l.tax_group.is_some() {
                        super::tax_on(v.unwrap_or_default(), rate)
                    } else {
                        Decimal::ZERO
                    }
                };
                let side = |pick: fn(&JournalEntryLine) -> Option<Decimal>| -> Decimal {
                    out.iter()
                        .map(|l| pick(l).unwrap_or_default() + tax(l, pick(l)))
                        .sum()
                };
                assert_eq!(side(|l| l.debit), side(|l| l.credit), "{gross} at {fx}");
                assert_eq!(
                    side(|l| l.fc_debit),
                    side(|l| l.fc_credit),
                    "{gross} at {fx}"
                );
                // The taxed line moves by a cent at most, and never so that its tax changes.
                let converted = round2(net * f.rates[&date]);
                let lc = out[0].debit.unwrap();
                assert!(
                    (lc - converted).abs() <= Decimal::new(1, 2),
                    "{gross} at {fx}"
                );
                assert_eq!(super::tax_on(lc, rate), super::tax_on(converted, rate));
                let plain = f
                    .journal_lines(lines, date, &BTreeMap::new(), None)
                    .unwrap();
                if plain.last().unwrap().credit != out.last().unwrap().credit {
                    unbalanced_without_tax += 1;
                }
            }
        }
        assert!(
            unbalanced_without_tax > 0,
            "the tax must matter to the balance"
        );
    }

    #[test]
    fn the_clearing_moves_by_the_local_value_of_the_settlement_total() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let f = Foreign {
            iso: "EUR".into(),
            code: "EUR".into(),
            rates: BTreeMap::from([(date, "0.845718".parse().unwrap())]),
        };
        // Fees, reserves, storage and the deposit of a settlement whose payment brought 1071.56.
        let entries = [
            ("6100", "1103.01"),
            ("1425", "61.87"),
            ("7000", "49.12"),
            ("6120", "12.55"),
            ("1200", "-155.0"),
        ];
        let mut run = ClearingRun {
            account: "1421".into(),
            moved: Decimal::ZERO,
        };
        let (mut lc, mut each) = (Decimal::ZERO, Decimal::ZERO);
        for (account, amount) in entries {
            let a: Decimal = amount.parse().unwrap();
            let (d, c) = if a.is_sign_negative() {
                ("0".to_owned(), (-a).to_string())
            } else {
                (a.to_string(), "0".to_owned())
            };
            let lines = vec![line(account, &d, &c), line("1421", &c, &d)];
            let out = f
                .journal_lines(lines.clone(), date, &BTreeMap::new(), Some(&mut run))
                .unwrap();
            let sum = |pick: fn(&JournalEntryLine) -> Option<Decimal>| -> Decimal {
                out.iter().filter_map(pick).sum()
            };
            assert_eq!(sum(|l| l.debit), sum(|l| l.credit));
            lc += out[1].debit.unwrap() - out[1].credit.unwrap();
            let alone = f
                .journal_lines(lines, date, &BTreeMap::new(), None)
                .unwrap();
            each += alone[1].debit.unwrap() - alone[1].credit.unwrap();
        }
        let total: Decimal = "-1071.55".parse().unwrap();
        assert_eq!(run.moved, total);
        assert_eq!(lc, round2(total * f.rates[&date]));
        assert_ne!(
            each, lc,
            "rounded one by one, the entries miss by a cent here"
        );
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
