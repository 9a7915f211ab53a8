//! Pure: the mapper's journal entries (fees, refunds, reserves, the deposit...) -> SAP journal
//! entries, with the settlement's accounts resolved, fee lines posted net with their tax group
//! (SAP adds the tax line), and, for a foreign-currency settlement, the amounts in the FC fields.
//!
//! Why journal lines with tax groups and not an A/P service invoice to an "Amazon" vendor: the
//! fees are already a balanced entry against the clearing account, and SAP's journal entry takes
//! a tax group per line (SDK `JournalEntries_Lines~TaxGroup`) and, with `JournalEntries~AutoVAT`
//! ("whether or not to use automatic VAT calculation"), posts the tax to the group's tax account on
//! a line of its own (`JournalEntries_Lines~VatLine`: "the transaction line refers to tax
//! account"; `VatAmount`: "SAP Business One calculates the tax according to the selected
//! TaxGroup"), which the tax report counts. One document per settlement stays one document (no
//! vendor, no outgoing payment, no vendor balance to keep at zero, no second exactly-once key),
//! and foreign-currency settlements keep working through the same FC fields. The price: SAP
//! offers no acquisition/reverse (reverse-charge) tax code on a manual journal entry (Tax Groups –
//! Setup: "supported only by the creation of purchasing documents such as A/P Invoice"), so fees
//! Amazon reverse-charges would need the A/P invoice form.

use rust_decimal::{Decimal, RoundingStrategy};
use sap_b1_client::entities::{JournalEntry, JournalEntryLine, YesNo};
use settlement_mapper::mapping::{BANK, CLEARING, Journal, LineTax, MappingTable};

use super::converter::CURRENCY_CONVERSION;
use super::foreign::{ClearingRun, account_in};
use super::plan::{PlanInput, truncate};

/// Symbolic account of the write-offs of cent residues (`settlements.write_off`).
pub const WRITE_OFF: &str = "RoundingDifferences";

/// Symbolic name of the opening receivable account (`settlements.opening_receivable`).
pub const OPENING_RECEIVABLE: &str = "OpeningReceivable";

/// Symbolic account of refunds posted as journal lines (refunds of orders from before the
/// cut-over, which have no invoice to credit).
pub const REFUNDS: &str = "Refunds";

/// One SAP journal entry per mapper entry that moves anything, in the mapper's order, then one per
/// posting date of the residues written off (`write_offs`: debit on the write-off account when an
/// invoice was closed with less than it owed, credit when Amazon paid a little more).
pub fn journal_entries(
    input: &PlanInput<'_>,
    write_offs: &std::collections::BTreeMap<chrono::NaiveDate, Decimal>,
    openings: &std::collections::BTreeMap<chrono::NaiveDate, (Decimal, Decimal)>,
) -> Result<Vec<JournalEntry>, Vec<String>> {
    let p = input.postings;
    let iso = input.foreign.map(|f| f.iso.as_str());
    let mut clearing = ClearingRun {
        account: account_in(input.table, CLEARING, input.table.resolve(CLEARING), iso),
        moved: Decimal::ZERO,
    };
    let mut out = Vec::new();
    let written_off = write_offs
        .iter()
        .filter(|(_, amount)| !amount.is_zero())
        .map(|(date, amount)| {
            let (debit, credit) = if amount.is_sign_positive() {
                (*amount, Decimal::ZERO)
            } else {
                (Decimal::ZERO, -*amount)
            };
            let memo = format!("Residues written off, settlement {}", p.settlement_id);
            settlement_mapper::postings::JournalEntry {
                kind: settlement_mapper::mapping::Journal::Other,
                memo: format!("Amazon settlement {}: write-offs", p.settlement_id),
                reference: p.settlement_id.clone(),
                date: *date,
                lines: vec![
                    settlement_mapper::postings::JournalLine {
                        account: input.table.resolve(WRITE_OFF).to_owned(),
                        symbol: WRITE_OFF.to_owned(),
                        debit,
                        credit,
                        memo: memo.clone(),
                        rows: 0,
                        tax: None,
                    },
                    settlement_mapper::postings::JournalLine {
                        account: input.table.resolve(CLEARING).to_owned(),
                        symbol: CLEARING.to_owned(),
                        debit: credit,
                        credit: debit,
                        memo,
                        rows: 0,
                        tax: None,
                    },
                ],
            }
        })
        .collect::<Vec<_>>();
    // Orders from before the cut-over: their receipts come into clearing and take the opening
    // receivable (what the earlier books left to collect) down; their refunds go to `Refunds`.
    let opening = input.opening_account.map(|account| {
        openings
            .iter()
            .filter(|(_, (r, f))| !(r.is_zero() && f.is_zero()))
            .map(|(date, (receipts, refunds))| {
                let memo = format!("Orders before the cut-over, settlement {}", p.settlement_id);
                let line = |account: &str, symbol: &str, amount: Decimal| {
                    let (debit, credit) = if amount.is_sign_positive() {
                        (amount, Decimal::ZERO)
                    } else {
                        (Decimal::ZERO, -amount)
                    };
                    settlement_mapper::postings::JournalLine {
                        account: account.to_owned(),
                        symbol: symbol.to_owned(),
                        debit,
                        credit,
                        memo: memo.clone(),
                        rows: 0,
                        tax: None,
                    }
                };
                settlement_mapper::postings::JournalEntry {
                    kind: settlement_mapper::mapping::Journal::Other,
                    memo: format!("Amazon settlement {}: opening receivable", p.settlement_id),
                    reference: p.settlement_id.clone(),
                    date: *date,
                    lines: vec![
                        line(
                            input.table.resolve(CLEARING),
                            CLEARING,
                            *receipts + *refunds,
                        ),
                        line(account, OPENING_RECEIVABLE, -*receipts),
                        line(input.table.resolve(REFUNDS), REFUNDS, -*refunds),
                    ],
                }
            })
            .collect::<Vec<_>>()
    });
    for je in p
        .journal_entries
        .iter()
        .chain(&written_off)
        .chain(opening.iter().flatten())
    {
        let mut lines = Vec::with_capacity(je.lines.len());
        let mut bank_line = None;
        for l in je
            .lines
            .iter()
            .filter(|l| !(l.debit.is_zero() && l.credit.is_zero()))
        {
            if je.kind == Journal::Deposit && l.symbol == BANK {
                bank_line = Some(lines.len());
            }
            let line = JournalEntryLine {
                account_code: Some(account_in(input.table, &l.symbol, &l.account, iso)),
                debit: Some(l.debit),
                credit: Some(l.credit),
                line_memo: Some(truncate(&l.memo)),
                ..JournalEntryLine::default()
            };
            match &l.tax {
                Some(tax) => lines.extend(taxed_lines(line, tax, input.table)?),
                None => lines.push(line),
            }
        }
        if lines.is_empty() {
            continue;
        }
        let auto_vat = lines.iter().any(|l| l.tax_group.is_some());
        if let Some(f) = input.foreign {
            lines = match f.journal_lines(
                lines,
                je.date,
                &input.table.tax_rates,
                Some(&mut clearing),
            ) {
                Ok(lines) => lines,
                Err(reason) => return Err(vec![reason]),
            };
            if let (Some(converted), Some(i)) = (input.converted, bank_line) {
                convert_deposit(&mut lines, i, converted, input.table);
            }
        }
        out.push(JournalEntry {
            reference_date: Some(je.date.into()),
            tax_date: Some(je.date.into()),
            due_date: Some(je.date.into()),
            memo: Some(truncate(&je.memo)),
            reference: Some(p.settlement_id.clone()),
            auto_vat: auto_vat.then_some(YesNo::Yes),
            journal_entry_lines: Some(lines),
            ..JournalEntry::default()
        });
    }
    Ok(out)
}

/// The deposit line `i` of a foreign-currency settlement's payout, replaced by what reached the
/// bank in the company's currency (`converted`, Amazon Currency Converter for Sellers) on the
/// local bank account; the difference from the clearing account's local amount (SAP's rate) goes
/// to `CurrencyConversion`: a debit when Amazon's conversion gave less, a credit when more.
fn convert_deposit(
    lines: &mut Vec<JournalEntryLine>,
    i: usize,
    converted: Decimal,
    table: &MappingTable,
) {
    let at_sap_rate = lines[i].debit.unwrap_or_default();
    let memo = lines[i].line_memo.clone();
    lines[i] = JournalEntryLine {
        account_code: Some(table.resolve(BANK).to_owned()),
        debit: Some(converted),
        credit: Some(Decimal::ZERO),
        line_memo: memo.clone(),
        ..JournalEntryLine::default()
    };
    let difference = at_sap_rate - converted;
    if !difference.is_zero() {
        lines.push(JournalEntryLine {
            account_code: Some(table.resolve(CURRENCY_CONVERSION).to_owned()),
            debit: Some(difference.max(Decimal::ZERO)),
            credit: Some((-difference).max(Decimal::ZERO)),
            line_memo: Some(truncate("Amazon currency conversion vs SAP's rate")),
            ..JournalEntryLine::default()
        });
    }
}

/// SAP's rounding of a tax amount: to the cent, half away from zero.
// Assumed, not documented: SAP rounds per its company settings; half away from zero to the cent is
// what the sandbox does. A company that rounds otherwise gets the cent SAP refuses as unbalanced.
pub(super) fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The tax SAP computes on `base` at `rate` percent.
pub(super) fn tax_on(base: Decimal, rate: Decimal) -> Decimal {
    round2(base * rate / Decimal::ONE_HUNDRED)
}

/// A line with a tax code: net amounts go as they are with the tax group; a gross amount (VAT
/// inside) goes net, so that the net plus the tax SAP adds is the gross Amazon took. When no net
/// amount does that to the cent (SAP's tax on the net skips some gross values), the cent left goes
/// on an untaxed line of the same account.
fn taxed_lines(
    line: JournalEntryLine,
    tax: &LineTax,
    table: &MappingTable,
) -> Result<Vec<JournalEntryLine>, Vec<String>> {
    let mut line = JournalEntryLine {
        tax_group: Some(tax.code.clone()),
        ..line
    };
    if !tax.gross {
        // SAP adds the code's tax to a net amount: with a rate, the entry would take tax that is
        // in no row of the settlement, and not balance.
        if let Some(rate) = table.tax_rate(&tax.code).filter(|r| !r.is_zero()) {
            return Err(vec![format!(
                "tax code {} is net (tax_gross = false) but the mapping's [tax_rates] gives it {rate} %: SAP would add tax Amazon did not charge; set tax_gross = true if the amounts include it",
                tax.code
            )]);
        }
        return Ok(vec![line]);
    }
    let rate = table.tax_rate(&tax.code).ok_or_else(|| {
        vec![format!(
            "tax code {} is gross but the mapping's [tax_rates] has no rate for it",
            tax.code
        )]
    })?;
    let (debit, credit) = (
        line.debit.unwrap_or_default(),
        line.credit.unwrap_or_default(),
    );
    let gross = debit + credit;
    let (net, rest) = net_of(gross, rate);
    let set = |l: &mut JournalEntryLine, amount: Decimal| {
        if debit.is_zero() {
            l.credit = Some(amount);
        } else {
            l.debit = Some(amount);
        }
    };
    set(&mut line, net);
    let mut out = vec![line.clone()];
    if !rest.is_zero() {
        // A negative rest is the other side (SAP takes no negative amounts).
        let (on_debit, amount) = (debit.is_zero() == rest.is_sign_negative(), rest.abs());
        out.push(JournalEntryLine {
            tax_group: None,
            debit: Some(if on_debit { amount } else { Decimal::ZERO }),
            credit: Some(if on_debit { Decimal::ZERO } else { amount }),
            ..line
        });
    }
    Ok(out)
}

/// (net, rest) of a gross amount at `rate` percent: `net + tax_on(net) + rest == gross`, the net
/// being the gross taken back at the rate, to the cent. No other net does better: where this one's
/// tax misses the gross, its neighbours' miss too (checked for 0 to 300.00 at 20, 19, 7, 5.5, 21
/// and 25 %), so `rest` is then the cent left over.
pub(super) fn net_of(gross: Decimal, rate: Decimal) -> (Decimal, Decimal) {
    let net = round2(gross * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + rate));
    (net, gross - net - tax_on(net, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_gross_fee_goes_net_and_sap_s_tax_makes_it_whole() {
        let r = d("20");
        // Amazon's UK fees: 3.30 × 1.20 = 3.96; 7.20 × 1.20 = 8.64.
        assert_eq!(net_of(d("3.96"), r), (d("3.30"), d("0")));
        assert_eq!(net_of(d("8.64"), r), (d("7.20"), d("0")));
        // 0.03 is no net plus its 20 % tax (0.02 + 0.00, 0.03 + 0.01): a cent is left.
        assert_eq!(net_of(d("0.03"), r), (d("0.03"), d("-0.01")));
        assert_eq!(net_of(d("0"), r), (d("0"), d("0")));
        for cents in 0..2000i64 {
            let g = Decimal::new(cents, 2);
            for rate in [d("20"), d("19"), d("5.5"), d("0")] {
                let (n, rest) = net_of(g, rate);
                assert_eq!(n + tax_on(n, rate) + rest, g, "{g} at {rate}");
                assert!(rest.abs() <= d("0.01"), "{g} at {rate}: {rest}");
            }
        }
        assert_eq!(net_of(d("100"), d("0")), (d("100"), d("0")));
    }

    #[test]
    fn taxed_lines_keep_their_side_and_net_lines_their_amount() {
        let table = MappingTable::from_toml("[tax_rates]\nI1 = \"20\"\n").unwrap();
        let line = |debit: &str, credit: &str| JournalEntryLine {
            account_code: Some("6100".into()),
            debit: Some(d(debit)),
            credit: Some(d(credit)),
            ..JournalEntryLine::default()
        };
        let gross = LineTax {
            code: "I1".into(),
            gross: true,
        };
        let out = taxed_lines(line("8.64", "0"), &gross, &table).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].debit, out[0].credit),
            (Some(d("7.20")), Some(d("0")))
        );
        assert_eq!(out[0].tax_group.as_deref(), Some("I1"));
        // A refunded commission is a credit on the fee account: net on the credit side.
        let out = taxed_lines(line("0", "2.09"), &gross, &table).unwrap();
        assert_eq!(out[0].credit, Some(d("1.74")));
        // The cent no net reaches goes untaxed on the same account.
        let out = taxed_lines(line("0.03", "0"), &gross, &table).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[1].debit, out[1].credit, out[1].tax_group.as_deref()),
            (Some(d("0")), Some(d("0.01")), None)
        );
        let net = LineTax {
            code: "I0".into(),
            gross: false,
        };
        let out = taxed_lines(line("3.30", "0"), &net, &table).unwrap();
        assert_eq!(
            (out[0].debit, out[0].tax_group.as_deref()),
            (Some(d("3.30")), Some("I0"))
        );
        let net_with_rate = LineTax {
            code: "I1".into(),
            gross: false,
        };
        let err = taxed_lines(line("3.30", "0"), &net_with_rate, &table).unwrap_err();
        assert!(err[0].contains("tax code I1 is net"), "{err:?}");
        let unknown = LineTax {
            code: "I9".into(),
            gross: true,
        };
        assert!(taxed_lines(line("1", "0"), &unknown, &table).unwrap_err()[0].contains("I9"));
    }
}
