//! Summary posting mode (`[posting] mode = "summary"`): the orders of a settlement part that have
//! no invoice of their own (their marketplace summarises from `posting.summary_from` on) become a
//! handful of documents whose amounts come from the settlement: per part and marketplace, summary
//! A/R invoices (a line per SKU and tax code, one invoice per freight tax code), one A/R credit
//! note for the refunds, and one payment from the clearing account that closes them. Fees and
//! every other line post as journal entries, and the deposit, exactly as in per-order mode; orders
//! that do have an invoice (invoiced before the cut-over) are paid per order in the same plan.
//!
//! Invoices and credit notes go through the posting engine under their own keys
//! (`…:settlement:{id}:summary:{date}:{customer}:invoice:{n}` / `:credit_note`) before the
//! payments are planned, as per-order credit notes do, so a run that stops in between finds them
//! posted and applies them.

pub mod freight;
pub mod payment;
pub mod plan;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sap_b1_client::entities::{Document, IncomingPayment};
use sap_b1_client::{EntitySet, Key, Query};
use serde_json::Value;
use settlement_mapper::mapping::{CLEARING, MappingTable, PostingDate};
use settlement_mapper::postings::SettlementPostings;
use settlement_mapper::{SettlementReader, SettlementRow};
use tracing::info;

use self::payment::{PaymentInput, PostedDoc, summary_payment};
use self::plan::{SummaryDoc, SummaryInput, SummaryMarketplace, plan_summary};
use super::checks::{MARKETPLACE_NAMES, decimal_of};
use super::credit_notes::CreditNote;
use super::foreign::account_in;
use super::plan::SettlementPlan;
use super::{FLOW, SOURCE_KIND};
use crate::config::TaxField;
use crate::flows::Engine;
use crate::flows::orders::Invoice;
use crate::ledger::{DocState, Ledger, OnFailed, PlanBody, PlanRequest, PlanStatus};
use crate::posting::{PostOutcome, SapDocument};

/// A plan, or every reason it is held.
type Planned = Result<SettlementPlan, Vec<String>>;

impl Engine {
    /// Checks a mapped settlement against SAP and builds its documents: per order for the orders
    /// invoiced one by one, summarised for the others (summary mode). With `create_missing`
    /// (a posting run) the summary invoices and credit notes are posted on the way.
    pub(super) async fn plan_settlement(
        &self,
        postings: &SettlementPostings,
        bytes: &[u8],
        table: &MappingTable,
        create_missing: bool,
    ) -> Result<Planned> {
        if !self.config.posting.any_summary() {
            return self
                .plan_per_order(postings, bytes, table, create_missing)
                .await;
        }
        let summarised = self.summarised_orders(postings).await?;
        if summarised.is_empty() {
            return self
                .plan_per_order(postings, bytes, table, create_missing)
                .await;
        }
        let rows: Vec<SettlementRow> = SettlementReader::new(bytes)?
            .filter_map(Result::ok)
            .collect();
        let marketplaces: BTreeMap<String, SummaryMarketplace> = MARKETPLACE_NAMES
            .iter()
            .filter_map(|(id, name)| {
                let mapping = self.config.marketplaces.get(*id)?;
                Some((
                    (*name).to_owned(),
                    SummaryMarketplace {
                        id: (*id).to_owned(),
                        mapping: mapping.clone(),
                    },
                ))
            })
            .collect();
        let input = SummaryInput {
            config: &self.config,
            seller: &self.config.amazon.seller_id,
            postings,
            rows: &rows,
            summarised: &summarised,
            marketplaces: &marketplaces,
            posted_month: table.policy.posting_date == PostingDate::PostedMonth,
        };
        let mut groups = match plan_summary(&input) {
            Ok(g) => g,
            Err(reasons) => return Ok(Err(reasons)),
        };
        // The summary documents against SAP's masters, in SAP's currency terms.
        let mut problems = Vec::new();
        for g in &mut groups {
            for d in g.invoices.iter_mut().chain(g.credit_note.as_mut()) {
                problems.extend(
                    self.check_masters(&d.doc)
                        .await?
                        .into_iter()
                        .map(|p| p.to_string()),
                );
                let freight_gross = freight_gross(&d.doc, d.expected);
                if let Err(reason) = self.localize(&mut d.doc).await? {
                    problems.push(reason);
                    continue;
                }
                if let Some(gross) = freight_gross {
                    self.fit_freight(&mut d.doc, gross).await?;
                }
            }
        }
        problems.sort();
        problems.dedup();
        let rest = without_orders(postings, &summarised);
        let plan = self
            .plan_per_order(&rest, bytes, table, create_missing)
            .await?;
        let mut plan = match plan {
            Ok(plan) if problems.is_empty() => plan,
            Ok(_) => return Ok(Err(problems)),
            Err(mut reasons) => {
                reasons.extend(problems);
                return Ok(Err(reasons));
            }
        };
        let code = self
            .sap_currency(&postings.currency)
            .await?
            .with_context(|| format!("SAP currency of {}", postings.currency))?;
        let foreign = self.is_foreign(&code).await?;
        let iso = foreign.then_some(postings.currency.as_str());
        let clearing = account_in(table, CLEARING, table.resolve(CLEARING), iso);
        // Before any summary document goes to SAP, the orders it covers are closed for the orders
        // flow: an order created before the cut-over but not invoiced yet must not get an invoice
        // of its own after the settlement summarised it.
        if create_missing {
            self.claim_summarised(&summarised, &postings.settlement_id)?;
        }
        for g in &groups {
            let mut invoices = Vec::new();
            let mut credit_note = None;
            let mut failed = Vec::new();
            for d in &g.invoices {
                match self
                    .post_summary::<Invoice>(postings, bytes, d, create_missing)
                    .await?
                {
                    Ok(posted) => invoices.push(posted),
                    Err(reason) => failed.push(reason),
                }
            }
            if let Some(d) = &g.credit_note {
                match self
                    .post_summary::<CreditNote>(postings, bytes, d, create_missing)
                    .await?
                {
                    Ok(posted) => credit_note = Some(posted),
                    Err(reason) => failed.push(reason),
                }
            }
            if !failed.is_empty() {
                return Ok(Err(failed));
            }
            let p = summary_payment(&PaymentInput {
                settlement_id: &postings.settlement_id,
                customer: &g.customer,
                date: g.date,
                currency: &code,
                clearing: &clearing,
                foreign,
                receipts: g.receipts,
                refunds: g.refunds,
                orders: g.orders,
                invoices: &invoices,
                credit_note,
            });
            let payments = if p.outgoing {
                &mut plan.refund_payments
            } else {
                &mut plan.payments
            };
            merge_payment(payments, p.payment);
            plan.applications.push(p.application);
            plan.notes.extend(p.note);
            info!(
                settlement = %postings.settlement_id,
                customer = %g.customer,
                date = %g.date,
                orders = g.orders,
                "summary documents planned"
            );
        }
        Ok(Ok(plan))
    }

    /// The orders of the settlement that are summarised: their marketplace summarises on the
    /// posting date and they have no invoice of their own in SAP (live or cancelled).
    async fn summarised_orders(&self, postings: &SettlementPostings) -> Result<BTreeSet<String>> {
        let id_of = |name: &str| {
            let name = name.to_ascii_lowercase();
            MARKETPLACE_NAMES
                .iter()
                .find(|(_, n)| *n == name)
                .map(|(id, _)| *id)
        };
        let mut candidates: Vec<String> = postings
            .receipts
            .iter()
            .map(|r| (&r.order_id, &r.marketplace, r.date))
            .chain(
                postings
                    .refunds
                    .iter()
                    .map(|r| (&r.order_id, &r.marketplace, r.date)),
            )
            .filter(|(_, m, date)| {
                id_of(m).is_some_and(|id| self.config.posting.summarises(id, *date))
            })
            .map(|(o, _, _)| o.clone())
            .collect();
        candidates.sort();
        candidates.dedup();
        if candidates.is_empty() {
            return Ok(BTreeSet::new());
        }
        let (live, cancelled) = self.invoices_for(&candidates).await?;
        // An order the orders flow holds in its ledger (planned, being sent, held, refused) is
        // its to invoice: the settlement waits for that invoice (per-order path) instead of
        // summarising it. One dismissed (by a person, or claimed by an earlier summary) is free.
        let ledger = self.ledger();
        let mut out = BTreeSet::new();
        for o in candidates {
            if live.contains_key(&o) || cancelled.contains_key(&o) {
                continue;
            }
            let key = crate::flows::orders::invoice_key(&self.config.amazon.seller_id, &o);
            match ledger.get(&key)?.map(|r| r.state) {
                None | Some(DocState::Dismissed) => {
                    out.insert(o);
                }
                Some(_) => {}
            }
        }
        Ok(out)
    }

    /// Marks each of `orders` in the ledger as invoiced by the summary of `settlement`
    /// (DISMISSED for the orders flow, with the reason), so the orders flow never invoices it too.
    fn claim_summarised(&self, orders: &BTreeSet<String>, settlement: &str) -> Result<()> {
        let reason = format!("invoiced in the summary documents of settlement {settlement}");
        let mut ledger = self.ledger();
        for o in orders {
            let key = crate::flows::orders::invoice_key(&self.config.amazon.seller_id, o);
            match ledger.plan(
                &key,
                crate::flows::orders::FLOW,
                "invoice",
                None,
                "{}",
                Some(&reason),
            )? {
                crate::ledger::Planned::New => {
                    ledger.transition(&key, DocState::Dismissed, &reason)?;
                }
                crate::ledger::Planned::Existing(_) => {}
            }
        }
        Ok(())
    }

    /// Sizes a summary invoice's freight row by SAP's rate of its code on the document's date.
    async fn fit_freight(&self, doc: &mut Document, gross: Decimal) -> Result<()> {
        let row = doc.document_additional_expenses.iter().flatten().next();
        let line = doc
            .document_lines
            .iter()
            .flatten()
            .find(|l| freight::is_net_shipping_line(l));
        let (vat_group, tax_code) = match (row, line) {
            (Some(x), _) => (x.vat_group.clone(), x.tax_code.clone()),
            (None, Some(l)) => (l.vat_group.clone(), l.tax_code.clone()),
            (None, None) => return Ok(()),
        };
        // A freight row is in local currency; the shipping item's row in the document's.
        let row_in_local = row.is_some();
        let code = match self.config.orders.tax_field {
            TaxField::VatGroup => vat_group,
            TaxField::TaxCode => tax_code,
        };
        let date = doc.doc_date.map(|d| d.0);
        let (Some(code), Some(date)) = (code, date) else {
            return Ok(());
        };
        let Some(rate) = self.tax_rate(&code, date).await? else {
            return Ok(());
        };
        let fx = match doc.doc_currency.as_deref() {
            Some(c) if row_in_local && self.is_foreign(c).await? => self.rate_on(c, date).await?,
            _ => None,
        };
        // Rows of the freight's own code share its rate: a zero-rated one can take a cent.
        let field = self.config.orders.tax_field;
        let zero_rated = |l: &sap_b1_client::entities::DocumentLine| {
            rate.is_zero()
                && match field {
                    TaxField::VatGroup => l.vat_group.as_deref() == Some(code.as_str()),
                    TaxField::TaxCode => l.tax_code.as_deref() == Some(code.as_str()),
                }
        };
        freight::fit_freight(doc, gross, rate, fx, zero_rated);
        Ok(())
    }

    /// SAP's rate (percent) of a tax code on a date: a VAT group's line in force
    /// (`VatGroups_Lines`, `Effectivefrom`), or a sales tax code's `Rate`.
    async fn tax_rate(&self, code: &str, date: NaiveDate) -> Result<Option<Decimal>> {
        let set = match self.config.orders.tax_field {
            TaxField::VatGroup => "VatGroups",
            TaxField::TaxCode => "SalesTaxCodes",
        };
        let taxes: EntitySet<Value> = EntitySet::new(self.sap.clone(), set);
        let Some(def) = taxes
            .first(&Query::new().filter(sap_b1_client::query::prop("Code").eq(code)))
            .await?
        else {
            return Ok(None);
        };
        if let Some(lines) = def.get("VatGroups_Lines").and_then(Value::as_array) {
            let day = date.format("%Y-%m-%d").to_string();
            let rate = lines
                .iter()
                .filter_map(|l| {
                    let from = l.get("Effectivefrom")?.as_str()?.get(..10)?.to_owned();
                    (from <= day).then(|| (from, l.get("Rate").and_then(decimal_of)))
                })
                .max_by(|a, b| a.0.cmp(&b.0))
                .and_then(|(_, r)| r);
            return Ok(rate);
        }
        Ok(def.get("Rate").and_then(decimal_of))
    }

    /// Plans and posts (or, on a dry run, only plans) one summary document, exactly once, and
    /// reads back its DocEntry, DocNum and total.
    async fn post_summary<D>(
        &self,
        postings: &SettlementPostings,
        bytes: &[u8],
        d: &SummaryDoc,
        post: bool,
    ) -> Result<Result<PostedDoc, String>>
    where
        D: SapDocument + From<Document>,
    {
        if !post {
            return Ok(Ok(PostedDoc {
                doc_entry: 0,
                doc_num: None,
                total: d.expected,
            }));
        }
        let status = {
            let mut ledger = self.ledger();
            let source = ledger.put_source(SOURCE_KIND, &postings.settlement_id, bytes)?;
            ledger.plan_or_replan(&PlanRequest {
                key: &d.key,
                flow: FLOW,
                kind: D::KIND,
                source_id: Some(source),
                body: PlanBody::Ready(&serde_json::to_string(&D::from(d.doc.clone()))?),
                on_failed: OnFailed::Replan,
            })?
        };
        let earlier = match status {
            PlanStatus::Posted => self.ledger().get(&d.key)?.and_then(|r| r.doc_entry),
            _ => None,
        };
        let doc_entry = match earlier {
            Some(e) => e,
            None => match self.post::<D>(&d.key).await? {
                PostOutcome::Posted { doc_entry, .. }
                | PostOutcome::FoundExisting { doc_entry, .. } => doc_entry,
                PostOutcome::Failed(reason) | PostOutcome::Unknown(reason) => {
                    return Ok(Err(format!("summary {} {}: {reason}", D::KIND, d.key)));
                }
            },
        };
        let set = if D::KIND == CreditNote::KIND {
            self.sap.credit_notes()
        } else {
            self.sap.invoices()
        };
        let doc = set.get(Key::Int(doc_entry)).await?;
        let foreign = match doc.doc_currency.as_deref() {
            Some(c) => self.is_foreign(c).await?,
            None => false,
        };
        let total = if foreign {
            doc.doc_total_fc
        } else {
            doc.doc_total
        };
        Ok(Ok(PostedDoc {
            doc_entry: i32::try_from(doc_entry)?,
            doc_num: doc.doc_num,
            total: total.unwrap_or_default(),
        }))
    }
}

impl From<Document> for Invoice {
    fn from(doc: Document) -> Self {
        Self(doc)
    }
}

impl From<Document> for CreditNote {
    fn from(doc: Document) -> Self {
        Self(doc)
    }
}

/// Adds a summary payment to the plan's payments of the same direction: into the one of the
/// same customer and date when per-order receipts made one (one payment per customer and part
/// carries one reference), else as its own.
fn merge_payment(payments: &mut Vec<IncomingPayment>, payment: IncomingPayment) {
    let Some(same) = payments
        .iter_mut()
        .find(|q| q.card_code == payment.card_code && q.doc_date == payment.doc_date)
    else {
        payments.push(payment);
        return;
    };
    let sum = same.transfer_sum.unwrap_or_default() + payment.transfer_sum.unwrap_or_default();
    if !sum.is_zero() {
        same.transfer_sum = Some(sum);
        same.transfer_account = same.transfer_account.take().or(payment.transfer_account);
        same.transfer_date = same.transfer_date.take().or(payment.transfer_date);
    }
    if let Some(lines) = payment.payment_invoices {
        same.payment_invoices
            .get_or_insert_with(Vec::new)
            .extend(lines);
    }
    if let (Some(r), Some(more)) = (&mut same.remarks, &payment.remarks) {
        r.push_str("; ");
        r.push_str(more.rsplit(": ").next().unwrap_or_default());
    }
}

/// The freight gross (tax included) a planned summary invoice must carry: its total less its
/// item rows' (before localisation: gross rows are `PriceAfterVAT` × quantity, net rows carry no
/// tax in what Amazon paid). `None` without a freight row.
fn freight_gross(doc: &Document, expected: Decimal) -> Option<Decimal> {
    let row = doc
        .document_additional_expenses
        .as_ref()
        .is_some_and(|x| !x.is_empty());
    let lines = doc.document_lines.iter().flatten();
    if !row && !lines.clone().any(freight::is_net_shipping_line) {
        return None;
    }
    let items: Decimal = lines
        .filter(|l| !freight::is_net_shipping_line(l))
        .map(|l| match (l.price_after_vat, l.line_total) {
            (Some(g), _) => (g * l.quantity.unwrap_or(Decimal::ONE)).round_dp(2),
            (None, Some(net)) => net,
            (None, None) => Decimal::ZERO,
        })
        .sum();
    Some(expected - items)
}

/// The postings without the summarised orders' receipts and refunds (the per-order planner pays
/// the rest; journal entries and the deposit are the settlement's, unchanged).
fn without_orders(postings: &SettlementPostings, orders: &BTreeSet<String>) -> SettlementPostings {
    let mut rest = postings.clone();
    rest.receipts.retain(|r| !orders.contains(&r.order_id));
    rest.refunds.retain(|r| !orders.contains(&r.order_id));
    rest
}
