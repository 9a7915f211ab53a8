//! The reconciliation report of one settlement: deposit vs total, the waterfall from sales to the
//! deposit, every SAP document posted, receipts vs invoices, and the clearing balance (must be 0).

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use sap_b1_client::Query;
use sap_b1_client::query::prop;
use serde::Serialize;
use settlement_mapper::map_settlement;
use settlement_mapper::mapping::{BANK, CLEARING, Journal};
use settlement_mapper::postings::SettlementPostings;

use super::plan::Application;

mod csv_text;
mod exchange;
mod held;
mod html;
use super::{SOURCE_KIND, settlement_key};
use crate::flows::Engine;
use crate::ledger::Ledger;
pub use csv_text::to_csv;
pub use held::HeldState;
pub use html::to_html;

/// One step of the waterfall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// What moved the balance.
    pub label: String,
    /// By how much (signed).
    pub amount: Decimal,
    /// Running total after this step.
    pub cumulative: Decimal,
}

/// A SAP document of the settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostedDocument {
    /// `IncomingPayment` or `JournalEntry`.
    pub kind: String,
    /// DocEntry / JdtNum.
    pub key: i64,
    /// DocNum / Number, for people.
    pub number: Option<i64>,
    /// Customer or memo.
    pub description: String,
    /// Amount (payment sum, or the entry's total debits).
    pub amount: Decimal,
}

/// The reconciliation of one settlement.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    /// Settlement id.
    pub settlement_id: String,
    /// Currency.
    pub currency: String,
    /// Period start.
    pub start: DateTime<Utc>,
    /// Period end.
    pub end: DateTime<Utc>,
    /// Projected deposit date.
    pub deposit_date: DateTime<Utc>,
    /// Amazon's total-amount (the deposit when positive).
    pub total_amount: Decimal,
    /// The bank line posted in SAP for the deposit (None when none was posted), in the
    /// settlement's currency, or in the company's when Amazon converted the payout.
    pub deposit_posted: Option<Decimal>,
    /// The company's currency (SAP's code), in which the next amounts and `deposit_local` are.
    pub local_currency: Option<String>,
    /// The bank line in the company's currency (SAP's local amount of it).
    pub deposit_local: Option<Decimal>,
    /// What Amazon paid out in the company's currency when it converted the payout (Amazon
    /// Currency Converter for Sellers, Finances `ConvertedTotal`); the bank line must equal it.
    pub deposit_converted: Option<Decimal>,
    /// In the company's currency: what the conversion gave less (positive) or more (negative)
    /// than SAP's rate, posted to `CurrencyConversion`.
    pub conversion_difference: Decimal,
    /// In the company's currency: the realized exchange differences SAP posted for the
    /// settlement's payments and credit notes (gain positive), for a foreign-currency settlement.
    pub exchange_differences: Decimal,
    /// The ledger's state of the settlement.
    pub state: String,
    /// From receipts through every category to the deposit.
    pub waterfall: Vec<Step>,
    /// SAP documents carrying the settlement's reference.
    pub documents: Vec<PostedDocument>,
    /// Per order: receipt vs invoice.
    pub receipts: Vec<Application>,
    /// Net balance left on the clearing account by the settlement's documents in SAP.
    pub clearing_balance: Decimal,
    /// Invoices this settlement paid only in part (the rest stays open in SAP).
    pub left_open: Tally,
    /// Orders whose money stays on the customer's account (no invoice took it, or more than the
    /// invoice's open amount).
    pub on_account: Tally,
    /// Receipts held for a difference above the write-off tolerance, with their ledger state;
    /// until one posts, the clearing account keeps its amount (a credit: the deposit took it out).
    pub held_receipts: Vec<HeldState>,
    /// Receipts of orders from before the cut-over, credited to the opening receivable.
    pub opening_receivable: Tally,
    /// Whether everything reconciles: documents in SAP, clearing 0, deposit equals total (or
    /// none when <= 0), no invoice left open, nothing on account, no receipt held.
    pub reconciled: bool,
    /// The marketplaces of the settlement's orders (`Amazon.de`), as Amazon names them.
    pub marketplaces: Vec<String>,
    /// The seller (`amazon.seller_id`).
    pub seller_id: String,
    /// The SAP company database (`sap.company_db`).
    pub sap_company: String,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// The connector version that made it.
    pub version: String,
}

/// How many and how much.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Count.
    pub count: usize,
    /// Sum (signed).
    pub amount: Decimal,
}

impl Tally {
    /// The count and sum of the non-zero `amounts`.
    pub fn of(amounts: impl IntoIterator<Item = Decimal>) -> Self {
        amounts
            .into_iter()
            .filter(|a| !a.is_zero())
            .fold(Self::default(), |t, a| Self {
                count: t.count + 1,
                amount: t.amount + a,
            })
    }
}

/// An amount as an accountant reads it: at least two decimals (`25.20`, `70.00`), more only
/// where the amount has them; never `-0.00`.
pub fn money(d: Decimal) -> String {
    let d = if d.is_zero() { Decimal::ZERO } else { d };
    if d.scale() <= 2 {
        format!("{d:.2}")
    } else {
        d.normalize().to_string()
    }
}

impl Reconciliation {
    /// The verdict in one sentence: "Reconciled: …", or "Not reconciled: " and every reason.
    pub fn verdict(&self) -> String {
        if self.reconciled {
            return "Reconciled: the deposit matches Amazon's total, the clearing account nets to zero and every invoice this settlement paid is closed".to_owned();
        }
        let cur = &self.currency;
        let mut why = Vec::new();
        if self.documents.is_empty() {
            why.push("no documents of this settlement in SAP".to_owned());
        }
        if self.left_open.count > 0 {
            why.push(format!(
                "{} invoice(s) left open, {} {cur}",
                self.left_open.count,
                money(self.left_open.amount)
            ));
        }
        if self.on_account.count > 0 {
            why.push(format!(
                "{} {cur} on account ({} order(s))",
                money(self.on_account.amount),
                self.on_account.count
            ));
        }
        if let Some(held) = held::verdict_part(&self.held_receipts, cur) {
            why.push(held);
        }
        if !self.clearing_balance.is_zero() {
            why.push(format!(
                "clearing balance {} {cur} (must be 0.00)",
                money(self.clearing_balance)
            ));
        }
        if !self.deposit_ok() {
            why.push(match (self.deposit_posted, self.deposit_converted) {
                (Some(d), Some(c)) => format!(
                    "deposit posted {} {local}, Amazon converted {} {local}",
                    money(d),
                    money(c),
                    local = self.local_currency.as_deref().unwrap_or_default()
                ),
                (Some(d), None) => format!(
                    "deposit posted {} {cur}, Amazon's total {} {cur}",
                    money(d),
                    money(self.total_amount)
                ),
                (None, _) => format!(
                    "no deposit posted for Amazon's total of {} {cur}",
                    money(self.total_amount)
                ),
            });
        }
        format!("Not reconciled: {}", why.join("; "))
    }

    /// Every condition of [`Reconciliation::reconciled`].
    pub fn judge(&self) -> bool {
        !self.documents.is_empty()
            && self.clearing_balance.is_zero()
            && self.deposit_ok()
            && self.left_open.count == 0
            && self.on_account.count == 0
            && self.held_receipts.iter().all(|h| !h.waiting())
    }

    /// Whether the bank line matches Amazon's total (no deposit for a total of zero or less).
    /// With Amazon's currency converter, the bank line matches the converted amount.
    pub fn deposit_ok(&self) -> bool {
        match (self.deposit_posted, self.deposit_converted) {
            (Some(d), Some(c)) => d == c,
            (Some(d), None) => d == self.total_amount,
            (None, _) => self.total_amount <= Decimal::ZERO,
        }
    }
}

/// The waterfall of a mapped settlement: receipts, then each journal's effect on clearing, then the
/// payout; the running total ends at zero.
pub fn waterfall(p: &SettlementPostings) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut running = Decimal::ZERO;
    let mut push = |label: String, amount: Decimal, steps: &mut Vec<Step>| {
        running += amount;
        steps.push(Step {
            label,
            amount,
            cumulative: running,
        });
    };
    let receipts: Decimal = p.receipts.iter().map(|r| r.amount).sum();
    push(
        format!("Order receipts ({} orders)", p.receipts.len()),
        receipts,
        &mut steps,
    );
    if !p.refunds.is_empty() {
        push(
            format!("Refunds, credit notes ({} orders)", p.refunds.len()),
            p.refunds.iter().map(|r| r.amount).sum(),
            &mut steps,
        );
    }
    let mut kinds: Vec<Journal> = p.journal_entries.iter().map(|j| j.kind).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        if matches!(kind, Journal::Deposit | Journal::CarriedBalance) {
            continue;
        }
        let amount: Decimal = p
            .journal_entries
            .iter()
            .filter(|j| j.kind == kind)
            .map(|j| j.clearing_movement())
            .sum();
        if !amount.is_zero() {
            let mut label = kind.label().to_owned();
            label[..1].make_ascii_uppercase();
            push(label, amount, &mut steps);
        }
    }
    let payout: Decimal = p
        .journal_entries
        .iter()
        .filter(|j| matches!(j.kind, Journal::Deposit | Journal::CarriedBalance))
        .map(|j| j.clearing_movement())
        .sum();
    let label = if p.total_amount > Decimal::ZERO {
        "Deposit to bank".to_owned()
    } else if p.total_amount < Decimal::ZERO {
        "Negative balance carried (owed to Amazon)".to_owned()
    } else {
        "Nothing paid out".to_owned()
    };
    push(label, payout, &mut steps);
    steps
}

impl Engine {
    /// Builds the reconciliation of a settlement already in the ledger.
    pub async fn reconcile_settlement(&self, settlement_id: &str) -> Result<Reconciliation> {
        let (source, record) = {
            let ledger = self.ledger();
            let source = ledger
                .latest_source(SOURCE_KIND, settlement_id)?
                .ok_or_else(|| {
                    anyhow!(
                        "settlement {settlement_id} is not in the ledger (sync or import it first)"
                    )
                })?;
            let record = ledger.get(&settlement_key(
                &self.config.amazon.seller_id,
                settlement_id,
            ))?;
            (source, record)
        };
        self.sap.connect().await.context("SAP login")?;
        let table = self.posting_table().await?;
        let postings = map_settlement(&source.body[..], &table)
            .with_context(|| format!("settlement {settlement_id}"))?;
        // A settlement in another currency than the company's is read in its own currency: its
        // accounts (`AmazonClearing.EUR`) and the journal lines' FCDebit/FCCredit.
        let foreign = match self.sap_currency(&postings.currency).await? {
            Some(code) => self.is_foreign(&code).await?,
            None => false,
        };
        let iso = foreign.then_some(postings.currency.as_str());
        let in_currency =
            |symbol: &str| super::foreign::account_in(&table, symbol, table.resolve(symbol), iso);
        let amounts = |l: &sap_b1_client::entities::JournalEntryLine| {
            if foreign {
                (
                    l.fc_debit.unwrap_or_default(),
                    l.fc_credit.unwrap_or_default(),
                )
            } else {
                (l.debit.unwrap_or_default(), l.credit.unwrap_or_default())
            }
        };
        let payload = record
            .as_ref()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.payload).ok());
        let receipts: Vec<Application> = payload
            .as_ref()
            .and_then(|v| serde_json::from_value(v["applications"].clone()).ok())
            .unwrap_or_default();
        let held_receipts = {
            let ledger = self.ledger();
            held::states(
                payload.as_ref(),
                &self.config.amazon.seller_id,
                settlement_id,
                |key| ledger.get(key).ok().flatten().map(|r| r.state.to_string()),
            )
        };
        let clearing = in_currency(CLEARING);
        let bank = in_currency(BANK);
        let mut documents = Vec::new();
        let mut clearing_balance = Decimal::ZERO;
        let prefix = format!("MLC{settlement_id}-");
        let q = Query::new()
            .filter(prop("TransferReference").starts_with(&prefix))
            .page_size(100);
        let incoming: Vec<_> = self
            .sap
            .incoming_payments()
            .stream(&q)
            .try_collect()
            .await?;
        // Outgoing payments pay credit notes back to a customer out of clearing.
        let outgoing: Vec<_> = self.sap.vendor_payments().stream(&q).try_collect().await?;
        let payments = incoming
            .into_iter()
            .map(|p| (p, Decimal::ONE, "IncomingPayment"))
            .chain(
                outgoing
                    .into_iter()
                    .map(|p| (p, Decimal::NEGATIVE_ONE, "OutgoingPayment")),
            );
        for (p, sign, kind) in payments {
            let sum = sign * p.transfer_sum.unwrap_or_default();
            if p.transfer_account.as_deref() == Some(clearing.as_str()) {
                clearing_balance += sum;
            }
            documents.push(PostedDocument {
                kind: kind.into(),
                key: p.doc_entry.map_or(0, |e| i64::from(e.0)),
                number: p.doc_num.map(i64::from),
                description: format!(
                    "{} ({} invoice(s))",
                    p.card_code.unwrap_or_default(),
                    p.payment_invoices.as_ref().map_or(0, Vec::len)
                ),
                amount: sum,
            });
        }
        let q = Query::new()
            .filter(prop("Reference").eq(settlement_id))
            .page_size(100);
        let journals: Vec<_> = self.sap.journal_entries().stream(&q).try_collect().await?;
        let mut deposit_posted = None;
        // Not known (yet): the bank line cannot be checked against Amazon's amount.
        let converted = self.converted_deposit(&postings).await?.unwrap_or_default();
        let conversion_account = table
            .resolve(super::converter::CURRENCY_CONVERSION)
            .to_owned();
        let local_bank = table.resolve(BANK).to_owned();
        let mut conversion_difference = Decimal::ZERO;
        let mut deposit_local = None;
        for j in journals {
            let lines = j.journal_entry_lines.clone().unwrap_or_default();
            let debits: Decimal = lines.iter().map(|l| amounts(l).0).sum();
            for l in &lines {
                if l.account_code.as_deref() == Some(clearing.as_str()) {
                    let (d, c) = amounts(l);
                    clearing_balance += d - c;
                }
            }
            let memo = j.memo.clone().unwrap_or_default();
            if memo.ends_with("deposit") {
                // A converted payout's bank line is in the company's currency (no FC amount).
                let (account, local) = if converted.is_some() {
                    (local_bank.as_str(), true)
                } else {
                    (bank.as_str(), false)
                };
                let bank_lines = lines
                    .iter()
                    .filter(|l| l.account_code.as_deref() == Some(account));
                let net = |(d, c): (Decimal, Decimal)| d - c;
                let in_local: Decimal = bank_lines
                    .clone()
                    .map(|l| net((l.debit.unwrap_or_default(), l.credit.unwrap_or_default())))
                    .sum();
                deposit_local = Some(in_local);
                deposit_posted = Some(if local {
                    in_local
                } else {
                    bank_lines.map(|l| net(amounts(l))).sum()
                });
                conversion_difference += lines
                    .iter()
                    .filter(|l| l.account_code.as_deref() == Some(conversion_account.as_str()))
                    .map(|l| l.debit.unwrap_or_default() - l.credit.unwrap_or_default())
                    .sum::<Decimal>();
            }
            documents.push(PostedDocument {
                kind: "JournalEntry".into(),
                key: j.jdt_num.map_or(0, i64::from),
                number: j.number.map(i64::from),
                description: memo,
                amount: debits,
            });
        }
        let exchange_differences = if foreign {
            let credit_notes: Vec<i64> = receipts
                .iter()
                .filter_map(|a| a.credit_note.map(i64::from))
                .collect();
            self.exchange_differences(&exchange::origins(&documents, &credit_notes), &clearing)
                .await?
        } else {
            Decimal::ZERO
        };
        let mut marketplaces: Vec<String> = postings
            .receipts
            .iter()
            .map(|r| r.marketplace.clone())
            .chain(postings.refunds.iter().map(|r| r.marketplace.clone()))
            .filter(|m| !m.is_empty())
            .collect();
        marketplaces.sort();
        marketplaces.dedup();
        let mut rec = Reconciliation {
            settlement_id: settlement_id.to_owned(),
            currency: postings.currency.clone(),
            start: postings.start,
            end: postings.end,
            deposit_date: postings.deposit_date,
            total_amount: postings.total_amount,
            deposit_posted,
            local_currency: self.company().await?.and_then(|c| c.local_currency),
            deposit_local,
            deposit_converted: converted,
            conversion_difference,
            exchange_differences,
            state: record.map_or_else(|| "not planned".to_owned(), |r| r.state.to_string()),
            waterfall: waterfall(&postings),
            left_open: Tally::of(receipts.iter().map(|a| a.invoice_left_open)),
            on_account: Tally::of(receipts.iter().map(|a| a.on_account)),
            opening_receivable: Tally::of(receipts.iter().map(|a| a.opening_receivable)),
            held_receipts,
            reconciled: false,
            documents,
            receipts,
            clearing_balance,
            marketplaces,
            seller_id: self.config.amazon.seller_id.clone(),
            sap_company: self.config.sap.company_db.clone(),
            generated_at: Utc::now(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        rec.reconciled = rec.judge();
        Ok(rec)
    }
}

/// A reconciliation with every field set, for the renderers' tests.
#[cfg(test)]
pub(crate) fn sample() -> Reconciliation {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    Reconciliation {
        settlement_id: "22988491762".into(),
        currency: "EUR".into(),
        start: at("2026-11-01T00:00:00Z"),
        end: at("2026-11-15T00:00:00Z"),
        deposit_date: at("2026-11-17T00:00:00Z"),
        total_amount: d("100.00"),
        deposit_posted: None,
        local_currency: Some("GBP".into()),
        deposit_local: None,
        deposit_converted: None,
        conversion_difference: Decimal::ZERO,
        exchange_differences: Decimal::ZERO,
        state: "POSTED".into(),
        waterfall: vec![Step {
            label: "Fees, \"FBA\"".into(),
            amount: d("-5.00"),
            cumulative: d("95.00"),
        }],
        documents: vec![PostedDocument {
            kind: "JournalEntry".into(),
            key: 7,
            number: None,
            description: "Amazon settlement\n22988491762".into(),
            amount: d("5.00"),
        }],
        receipts: vec![],
        clearing_balance: Decimal::ZERO,
        left_open: Tally::default(),
        on_account: Tally::default(),
        held_receipts: vec![],
        opening_receivable: Tally::default(),
        reconciled: true,
        marketplaces: vec!["Amazon.de".into()],
        seller_id: "A1SELLER".into(),
        sap_company: "SBODEMOGB".into(),
        generated_at: at("2026-12-02T14:00:00Z"),
        version: "0.1.0".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_two_decimals_at_least() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(money(d("25.2")), "25.20");
        assert_eq!(money(d("70")), "70.00");
        assert_eq!(money(d("-0.00")), "0.00");
        assert_eq!(money(d("1.005")), "1.005");
        assert_eq!(money(d("-67.33")), "-67.33");
    }

    #[test]
    fn invoices_left_open_or_money_on_account_fail_the_verdict() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let mut r = sample();
        r.deposit_posted = Some(d("100.00"));
        r.reconciled = r.judge();
        assert!(r.reconciled, "{}", r.verdict());
        assert!(r.verdict().starts_with("Reconciled"));
        r.left_open = Tally::of([d("16.10"), d("0"), d("20.00")]);
        r.on_account = Tally::of([d("0.01")]);
        r.reconciled = r.judge();
        assert!(!r.reconciled);
        assert_eq!(
            r.verdict(),
            "Not reconciled: 2 invoice(s) left open, 36.10 EUR; 0.01 EUR on account (1 order(s))"
        );
    }
    use settlement_mapper::MappingTable;

    #[test]
    fn the_waterfall_walks_from_receipts_to_zero() {
        let path = format!(
            "{}/../examples/data/settlement-de-sample.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(path).unwrap();
        let p = map_settlement(&bytes[..], &MappingTable::default_table()).unwrap();
        let steps = waterfall(&p);
        assert!(steps[0].label.starts_with("Order receipts"));
        assert_eq!(steps.last().unwrap().cumulative, Decimal::ZERO, "{steps:?}");
        assert_eq!(
            steps[steps.len() - 2].cumulative,
            p.total_amount,
            "before the payout the running total is the deposit"
        );
        assert_eq!(steps.last().unwrap().label, "Deposit to bank");
    }
}
