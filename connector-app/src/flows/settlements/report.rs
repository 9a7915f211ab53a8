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

mod exchange;
mod html;
use super::{SOURCE_KIND, settlement_key};
use crate::flows::Engine;
use crate::ledger::Ledger;
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
    /// settlement's payments (gain positive), when the settlement is in a foreign currency.
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
    /// Whether everything reconciles: clearing 0, deposit equals total (or none when <= 0).
    pub reconciled: bool,
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
        let receipts: Vec<Application> = record
            .as_ref()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.payload).ok())
            .and_then(|v| serde_json::from_value(v["applications"].clone()).ok())
            .unwrap_or_default();
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
                deposit_posted = Some(
                    lines
                        .iter()
                        .filter(|l| l.account_code.as_deref() == Some(account))
                        .map(|l| {
                            let (d, c) = if local {
                                (l.debit.unwrap_or_default(), l.credit.unwrap_or_default())
                            } else {
                                amounts(l)
                            };
                            d - c
                        })
                        .sum(),
                );
                deposit_local = Some(
                    lines
                        .iter()
                        .filter(|l| l.account_code.as_deref() == Some(account))
                        .map(|l| l.debit.unwrap_or_default() - l.credit.unwrap_or_default())
                        .sum::<Decimal>(),
                );
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
        let deposit_ok = match (deposit_posted, converted) {
            (Some(d), Some(c)) => d == c,
            (Some(d), None) => d == postings.total_amount,
            (None, _) => postings.total_amount <= Decimal::ZERO,
        };
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
        Ok(Reconciliation {
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
            reconciled: !documents.is_empty() && clearing_balance.is_zero() && deposit_ok,
            documents,
            receipts,
            clearing_balance,
        })
    }
}

/// The report as CSV: one section per table (each with its header row), a blank line between
/// sections; fields are quoted where CSV needs it.
pub fn to_csv(r: &Reconciliation) -> String {
    fn text<T: ToString>(v: Option<T>) -> String {
        v.map(|n| n.to_string()).unwrap_or_default()
    }
    let mut sections: Vec<Vec<Vec<String>>> = Vec::with_capacity(4);
    sections.push(vec![
        [
            "settlement_id",
            "currency",
            "start",
            "end",
            "deposit_date",
            "total_amount",
            "deposit_posted",
            "local_currency",
            "deposit_local",
            "deposit_converted",
            "conversion_difference",
            "exchange_differences",
            "clearing_balance",
            "reconciled",
            "state",
        ]
        .map(String::from)
        .to_vec(),
        vec![
            r.settlement_id.clone(),
            r.currency.clone(),
            r.start.to_rfc3339(),
            r.end.to_rfc3339(),
            r.deposit_date.to_rfc3339(),
            r.total_amount.to_string(),
            text(r.deposit_posted),
            r.local_currency.clone().unwrap_or_default(),
            text(r.deposit_local),
            text(r.deposit_converted),
            r.conversion_difference.to_string(),
            r.exchange_differences.to_string(),
            r.clearing_balance.to_string(),
            r.reconciled.to_string(),
            r.state.clone(),
        ],
    ]);
    let mut steps = vec![["step", "amount", "cumulative"].map(String::from).to_vec()];
    steps.extend(r.waterfall.iter().map(|st| {
        vec![
            st.label.clone(),
            st.amount.to_string(),
            st.cumulative.to_string(),
        ]
    }));
    sections.push(steps);
    let mut documents = vec![
        ["document", "key", "number", "description", "amount"]
            .map(String::from)
            .to_vec(),
    ];
    documents.extend(r.documents.iter().map(|d| {
        vec![
            d.kind.clone(),
            d.key.to_string(),
            text(d.number),
            d.description.clone(),
            d.amount.to_string(),
        ]
    }));
    sections.push(documents);
    let mut receipts = vec![
        [
            "order_id",
            "receipt",
            "invoice",
            "invoice_total",
            "applied",
            "on_account",
            "invoice_left_open",
            "refund",
            "credit_note",
            "credit_applied",
            "credit_left_open",
            "written_off",
        ]
        .map(String::from)
        .to_vec(),
    ];
    receipts.extend(r.receipts.iter().map(|a| {
        vec![
            a.order_id.clone(),
            a.receipt.to_string(),
            text(a.invoice_num.or(a.invoice)),
            text(a.invoice_total),
            a.applied.to_string(),
            a.on_account.to_string(),
            a.invoice_left_open.to_string(),
            a.refund.to_string(),
            text(a.credit_note),
            a.credit_applied.to_string(),
            a.credit_left_open.to_string(),
            a.written_off.to_string(),
        ]
    }));
    sections.push(receipts);

    let mut out = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        // Sections differ in width; each writer flushes into `out` when dropped at the end of the loop.
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(&mut out);
        for record in section {
            // Writing to memory cannot fail.
            w.write_record(record).expect("CSV into a Vec");
        }
        w.flush().expect("CSV into a Vec");
    }
    String::from_utf8(out).expect("every field is a Rust string")
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn the_csv_has_one_section_per_table_and_quotes_where_needed() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let rec = Reconciliation {
            settlement_id: "22988491762".into(),
            currency: "EUR".into(),
            start: at("2026-11-01T00:00:00Z"),
            end: at("2026-11-15T00:00:00Z"),
            deposit_date: at("2026-11-17T00:00:00Z"),
            total_amount: d("100.00"),
            deposit_posted: None,
            local_currency: None,
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
            reconciled: true,
        };
        assert_eq!(
            to_csv(&rec),
            "settlement_id,currency,start,end,deposit_date,total_amount,deposit_posted,local_currency,deposit_local,deposit_converted,conversion_difference,exchange_differences,clearing_balance,reconciled,state\n\
             22988491762,EUR,2026-11-01T00:00:00+00:00,2026-11-15T00:00:00+00:00,2026-11-17T00:00:00+00:00,100.00,,,,,0,0,0,true,POSTED\n\
             \n\
             step,amount,cumulative\n\
             \"Fees, \"\"FBA\"\"\",-5.00,95.00\n\
             \n\
             document,key,number,description,amount\n\
             JournalEntry,7,,\"Amazon settlement\n22988491762\",5.00\n\
             \n\
             order_id,receipt,invoice,invoice_total,applied,on_account,invoice_left_open,refund,credit_note,credit_applied,credit_left_open,written_off\n"
        );
    }
}
