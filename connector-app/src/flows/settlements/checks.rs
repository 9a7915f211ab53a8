//! A mapped settlement against SAP: every account exists and is postable, every SKU maps to an
//! item, every paid order has its invoice (or, with `create-invoice`, gets one from the rows);
//! then the pure planner builds the documents.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use futures::TryStreamExt;
use rust_decimal::Decimal;
use sap_b1_client::Query;
use sap_b1_client::entities::Document;
use sap_b1_client::query::prop;
use serde_json::Value;
use settlement_mapper::SettlementReader;
use settlement_mapper::mapping::MappingTable;
use settlement_mapper::postings::SettlementPostings;
use tracing::info;

use super::SOURCE_KIND;
use super::foreign::{Foreign, account_in};
use super::plan::{self, InvoiceInfo, PlanInput, plan_documents};
use crate::flows::Engine;
use crate::flows::orders::{Invoice, InvoiceState, OrderPlan, invoice_state};
use crate::ledger::{Ledger, OnFailed, PlanBody, PlanRequest};
use crate::posting::PostOutcome;

/// Marketplace ids and the names settlement files give them.
pub(crate) const MARKETPLACE_NAMES: &[(&str, &str)] = &[
    ("ATVPDKIKX0DER", "amazon.com"),
    ("A2EUQ1WTGCTBG2", "amazon.ca"),
    ("A1AM78C64UM0Y8", "amazon.com.mx"),
    ("A2Q3Y263D00KWC", "amazon.com.br"),
    ("A1PA6795UKMFR9", "amazon.de"),
    ("A13V1IB3VIYZZH", "amazon.fr"),
    ("A1F83G8C2ARO7P", "amazon.co.uk"),
    ("APJ6JRA9NG5V4", "amazon.it"),
    ("A1RKKUPIHCS9HS", "amazon.es"),
    ("A1805IZSGTT6HS", "amazon.nl"),
    ("A2NODRKZP88ZB9", "amazon.se"),
    ("A1C3SOZRARQ6R3", "amazon.pl"),
    ("AMEN7PMS3EDWL", "amazon.com.be"),
    ("A33AVAJ2PDY3EV", "amazon.com.tr"),
    ("A21TJRUUN4KGV", "amazon.in"),
    ("A1VC38T7YXB528", "amazon.co.jp"),
    ("A39IBJ37TRP1C6", "amazon.com.au"),
    ("A19VAU5U5O7RUS", "amazon.sg"),
    ("A2VIGQ35RCS4UG", "amazon.ae"),
    ("A17E79C6D8DWNP", "amazon.sa"),
];

impl Engine {
    /// Checks a mapped settlement against SAP and builds its documents (or the reasons not to),
    /// every order paid against its own invoice (summary mode dispatches here: `summary`).
    pub(super) async fn plan_per_order(
        &self,
        postings: &SettlementPostings,
        bytes: &[u8],
        table: &MappingTable,
        create_missing: bool,
    ) -> Result<Result<plan::SettlementPlan, Vec<String>>> {
        let mut problems = Vec::new();
        // The settlement's currency in SAP's terms: its code, and SAP's rates on the posting
        // dates when it is not the company's currency.
        let mut in_sap_currency = postings.clone();
        let mut foreign = None;
        match self.sap_currency(&postings.currency).await? {
            None => problems.push(format!(
                "SAP has no currency whose ISO code is {} (Currencies, InternationalDescription): add it in SAP",
                postings.currency
            )),
            Some(code) => {
                if self.is_foreign(&code).await? {
                    let mut dates: BTreeSet<chrono::NaiveDate> =
                        postings.receipts.iter().map(|r| r.date).collect();
                    dates.extend(postings.journal_entries.iter().map(|je| je.date));
                    let mut rates = BTreeMap::new();
                    for date in dates {
                        match self.rate_on(&code, date).await? {
                            Some(rate) => {
                                rates.insert(date, rate);
                            }
                            None => problems.push(format!(
                                "no exchange rate for {} (SAP code {code}) on {date} in SAP: enter the day's rate, then run again",
                                postings.currency
                            )),
                        }
                    }
                    foreign = Some(Foreign {
                        iso: postings.currency.clone(),
                        code: code.clone(),
                        rates,
                    });
                }
                in_sap_currency.currency = code;
            }
        }
        // Accounts: every line's, plus clearing for the payments, in the settlement's currency.
        let iso = foreign.as_ref().map(|f| f.iso.as_str());
        let in_currency = |symbol: &str, code: &str| account_in(table, symbol, code, iso);
        let clearing = settlement_mapper::mapping::CLEARING;
        let mut accounts = BTreeSet::new();
        accounts.insert((
            in_currency(clearing, table.resolve(clearing)),
            clearing.to_owned(),
        ));
        for je in &postings.journal_entries {
            for l in &je.lines {
                accounts.insert((in_currency(&l.symbol, &l.account), l.symbol.clone()));
            }
        }
        // The deposit Amazon converted into the company's currency, and the account of the
        // difference from SAP's rate.
        let converted = match self.converted_deposit(postings).await? {
            Ok(converted) => converted,
            Err(reason) => {
                problems.push(reason);
                None
            }
        };
        if !self.config.settlements.write_off.is_zero() {
            let symbol = super::journal::WRITE_OFF;
            accounts.insert((
                in_currency(symbol, table.resolve(symbol)),
                symbol.to_owned(),
            ));
        }
        if let (Some(_), Some(code)) = (
            self.config.orders.invoiced_from,
            &self.config.settlements.opening_receivable,
        ) {
            let symbol = super::journal::OPENING_RECEIVABLE;
            let resolved = self.resolve_account(code).await?;
            accounts.insert((in_currency(symbol, &resolved), symbol.to_owned()));
            let refunds = super::journal::REFUNDS;
            accounts.insert((
                in_currency(refunds, table.resolve(refunds)),
                refunds.to_owned(),
            ));
        }
        if converted.is_some() {
            accounts.retain(|(_, symbol)| symbol != settlement_mapper::mapping::BANK);
        }
        let currency = foreign.as_ref().map(|f| f.code.as_str());
        for (code, symbol) in &accounts {
            if let Some(p) = self.check_account_in(code, symbol, currency).await? {
                problems.push(p.to_string());
            }
        }
        // A converted deposit posts in the company's currency: the bank account and the account
        // of the conversion difference take local-currency lines.
        if converted.is_some() {
            for symbol in [
                settlement_mapper::mapping::BANK,
                super::converter::CURRENCY_CONVERSION,
            ] {
                if let Some(p) = self
                    .check_account_in(table.resolve(symbol), symbol, None)
                    .await?
                {
                    problems.push(p.to_string());
                }
            }
        }
        // SKUs of order and refund rows map to items that exist.
        for sku in skus_of(bytes) {
            if let Some(p) = self.check_item(self.config.item_code(&sku), &sku).await? {
                problems.push(p.to_string());
            }
        }
        let mut order_ids: Vec<String> = postings
            .receipts
            .iter()
            .filter(|r| !r.amount.is_zero())
            .map(|r| r.order_id.clone())
            .collect();
        order_ids.extend(postings.refunds.iter().map(|r| r.order_id.clone()));
        order_ids.sort();
        order_ids.dedup();
        let (mut invoices, cancelled) = self.invoices_for(&order_ids).await?;
        for (order, doc_num) in &cancelled {
            problems.push(format!(
                "order {order}: its invoice (DocNum {doc_num}) was cancelled in SAP, so this settlement cannot pay it; post a new invoice for the order (or remove the cancellation) and run again"
            ));
        }
        // Cut-over: orders without an invoice from before `orders.invoiced_from`.
        let (opening, opening_account) =
            match self.opening_orders(postings, &invoices, &cancelled).await? {
                Ok(found) => found,
                Err(reasons) => {
                    problems.extend(reasons);
                    (BTreeSet::new(), None)
                }
            };
        if self.config.settlements.missing_invoice == crate::config::MissingInvoice::CreateInvoice {
            let missing: BTreeSet<String> = order_ids
                .iter()
                .filter(|id| {
                    !invoices.contains_key(*id)
                        && !cancelled.contains_key(*id)
                        && !opening.contains(*id)
                })
                .cloned()
                .collect();
            if !missing.is_empty() {
                if create_missing {
                    problems.extend(
                        self.create_invoices_from_rows(postings, bytes, &missing)
                            .await?,
                    );
                    let created: Vec<String> = missing.into_iter().collect();
                    invoices.extend(self.invoices_for(&created).await?.0);
                } else {
                    problems.push(format!(
                        "{} order(s) have no invoice; posting creates them from the settlement's rows (settlements.missing_invoice = \"create-invoice\"): {}",
                        missing.len(),
                        missing.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        let customers: HashMap<String, String> = self
            .config
            .marketplaces
            .iter()
            .filter_map(|(id, m)| {
                MARKETPLACE_NAMES
                    .iter()
                    .find(|(mid, _)| mid == id)
                    .map(|(_, name)| ((*name).to_owned(), m.customer.clone()))
            })
            .collect();
        // Refunds: a credit note per order based on its invoice, planned now, posted only when
        // nothing else holds the settlement (then the payments are planned with what SAP did).
        // (Orders from before the cut-over have no invoice to credit: their refunds are journal
        // lines.)
        let (credits, credit_problems) = if opening.is_empty() {
            self.plan_credit_notes(postings, &invoices).await?
        } else {
            let mut credited = postings.clone();
            credited.refunds.retain(|r| !opening.contains(&r.order_id));
            self.plan_credit_notes(&credited, &invoices).await?
        };
        problems.extend(credit_problems);
        let plan_with = |invoices: &HashMap<String, InvoiceInfo>, credit_notes| {
            plan_documents(&PlanInput {
                postings: &in_sap_currency,
                table,
                invoices,
                customers: &customers,
                grouping: self.config.settlements.receipts,
                missing: self.config.settlements.missing_invoice,
                foreign: foreign.as_ref(),
                credit_notes,
                write_off: self.config.settlements.write_off,
                converted,
                hold_above: self
                    .config
                    .settlements
                    .hold_receipts
                    .then_some(self.config.settlements.write_off),
                opening: &opening,
                opening_account: opening_account.as_deref(),
            })
        };
        let mut before = invoices.clone();
        let simulated = Self::simulate_credit_notes(&credits, &mut before);
        let plan = plan_with(&before, &simulated);
        // Invoices left open by the same share in a marketplace are a set-up mistake (tax Amazon
        // collected on the invoice): held with what it looks like, before anything is posted.
        if let Ok(p) = &plan
            && self.config.settlements.hold_systematic_shortfall
        {
            // Receipts held one by one count too: a shortfall shared by many is one mistake.
            let mut apps = p.applications.clone();
            apps.extend(p.held.iter().map(super::held::HeldReceipt::as_application));
            problems.extend(super::rollup::systematic_shortfalls(
                &apps,
                &super::rollup::marketplace_of(postings),
                &postings.currency,
            ));
        }
        let plan = match plan {
            Ok(_) if create_missing && problems.is_empty() && !credits.is_empty() => {
                match self.post_credit_notes(postings, bytes, &credits).await? {
                    Err(reasons) => Err(reasons),
                    Ok(posted) => {
                        // SAP applied each credit note to its invoice while it was open: read
                        // the refunded orders' invoices again (the others did not change).
                        let refunded: Vec<String> = credits
                            .iter()
                            .map(|((order, _), _, _)| order.clone())
                            .collect();
                        let mut after = invoices.clone();
                        after.extend(self.invoices_for(&refunded).await?.0);
                        plan_with(&after, &posted)
                    }
                }
            }
            plan => plan,
        };
        Ok(match plan {
            Ok(plan) if problems.is_empty() => Ok(plan),
            Ok(_) => Err(problems),
            Err(mut reasons) => {
                reasons.extend(problems);
                Err(reasons)
            }
        })
    }

    /// Creates the missing invoices of a settlement's orders from its own rows (policy
    /// `create-invoice`), through the orders flow's exactly-once posting; returns what failed.
    async fn create_invoices_from_rows(
        &self,
        postings: &SettlementPostings,
        bytes: &[u8],
        missing: &BTreeSet<String>,
    ) -> Result<Vec<String>> {
        let mut rows: std::collections::BTreeMap<String, Vec<settlement_mapper::SettlementRow>> =
            Default::default();
        for row in SettlementReader::new(bytes)?.filter_map(Result::ok) {
            if row.transaction_type == "Order" && missing.contains(&row.order_id) {
                rows.entry(row.order_id.clone()).or_default().push(row);
            }
        }
        let mut problems = Vec::new();
        for (order_id, rows) in rows {
            let marketplace = rows
                .iter()
                .map(|r| r.marketplace_name.to_ascii_lowercase())
                .find(|m| !m.is_empty())
                .unwrap_or_default();
            let mapping = MARKETPLACE_NAMES
                .iter()
                .find(|(_, name)| *name == marketplace)
                .and_then(|(id, _)| self.config.marketplaces.get(*id));
            let Some(mapping) = mapping else {
                problems.push(format!("order {order_id} ({marketplace}) has no invoice and its marketplace has no customer in [marketplaces]"));
                continue;
            };
            let key = crate::flows::orders::invoice_key(&self.config.amazon.seller_id, &order_id);
            let doc =
                plan::invoice_from_rows(&self.config, mapping, &key, &order_id, &rows, postings);
            let doc = match self.check_plan(OrderPlan::Invoice(Box::new(doc))).await? {
                OrderPlan::Invoice(doc) => Invoice(*doc),
                OrderPlan::Summarised => {
                    problems.push(format!(
                        "order {order_id}: cannot create its invoice: its marketplace is summarised"
                    ));
                    continue;
                }
                OrderPlan::Hold(reason) | OrderPlan::NotYet(reason) | OrderPlan::Never(reason) => {
                    problems.push(format!(
                        "order {order_id}: cannot create its invoice: {reason}"
                    ));
                    continue;
                }
            };
            let payload = serde_json::to_string(&doc)?;
            {
                let mut ledger = self.ledger();
                let source = ledger.put_source(SOURCE_KIND, &postings.settlement_id, bytes)?;
                ledger.plan_or_replan(&PlanRequest {
                    key: &key,
                    flow: crate::flows::orders::FLOW,
                    kind: "invoice",
                    source_id: Some(source),
                    body: PlanBody::Ready(&payload),
                    on_failed: OnFailed::Replan,
                })?;
            }
            match self.post_invoice(&key).await? {
                PostOutcome::Posted { .. } | PostOutcome::FoundExisting { .. } => {
                    info!(order = %order_id, settlement = %postings.settlement_id, "invoice created from the settlement");
                }
                PostOutcome::Failed(reason) | PostOutcome::Unknown(reason) => {
                    problems.push(format!(
                        "order {order_id}: its invoice could not be created: {reason}"
                    ));
                }
            }
        }
        Ok(problems)
    }

    /// Live invoices in SAP for these Amazon order ids (by NumAtCard), with their open amounts;
    /// and the orders whose only invoice was cancelled in SAP, with its DocNum (one rule with the
    /// orders flow: [`invoice_state`]).
    pub(super) async fn invoices_for(
        &self,
        order_ids: &[String],
    ) -> Result<(HashMap<String, InvoiceInfo>, BTreeMap<String, i32>)> {
        let mut found = HashMap::new();
        let mut cancelled = BTreeMap::new();
        // 9.3-era servers have no PaidToDate: there, an open invoice counts as wholly open and a
        // closed one as paid (DocumentStatus), and a part-paid invoice is not seen as such.
        let paid_to_date = self.has_paid_to_date().await?;
        let mut fields = vec![
            "DocEntry",
            "DocNum",
            "CardCode",
            "NumAtCard",
            "DocTotal",
            "DocumentStatus",
            "Cancelled",
            "CancelStatus",
        ];
        if paid_to_date {
            fields.extend(["PaidToDate", "PaidToDateFC"]);
        }
        fields.extend(["DocCurrency", "DocTotalFc"]);
        // A foreign-currency invoice is owed in its currency: DocTotalFc − PaidToDateFC (SDK
        // Documents~DocTotalFc; DocTotal and PaidToDate are local currency).
        for chunk in order_ids.chunks(20) {
            let Some(filter) = chunk
                .iter()
                .map(|id| prop("NumAtCard").eq(id.as_str()))
                .reduce(|a, b| a.or(b))
            else {
                continue;
            };
            let query = Query::new()
                .filter(filter)
                .select(fields.iter().copied())
                .page_size(100);
            let docs: Vec<Document> = self.sap.invoices().stream(&query).try_collect().await?;
            for d in docs {
                let (Some(order), Some(entry)) = (d.num_at_card.clone(), d.doc_entry) else {
                    continue;
                };
                match invoice_state(&d) {
                    InvoiceState::Live => {}
                    InvoiceState::Cancellation => continue,
                    InvoiceState::Cancelled => {
                        cancelled.insert(order, d.doc_num.unwrap_or_default());
                        continue;
                    }
                }
                let foreign = match d.doc_currency.as_deref() {
                    Some(c) => self.is_foreign(c).await?,
                    None => false,
                };
                let (total, paid_field) = if foreign {
                    (d.doc_total_fc.unwrap_or_default(), "PaidToDateFC")
                } else {
                    (d.doc_total.unwrap_or_default(), "PaidToDate")
                };
                let paid = match d.extra.get(paid_field) {
                    Some(v) => decimal_of(v).unwrap_or_default(),
                    None if d.document_status
                        == Some(sap_b1_client::entities::DocumentStatus::Closed) =>
                    {
                        total
                    }
                    None => Decimal::ZERO,
                };
                found.insert(
                    order,
                    InvoiceInfo {
                        doc_entry: entry.0,
                        doc_num: d.doc_num,
                        card_code: d.card_code.unwrap_or_default(),
                        total,
                        open: total - paid,
                    },
                );
            }
        }
        cancelled.retain(|order, _| !found.contains_key(order));
        Ok((found, cancelled))
    }
}

/// A number SAP sent as a JSON number or a string.
pub(super) fn decimal_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Distinct SKUs of the file's order and refund rows.
fn skus_of(bytes: &[u8]) -> BTreeSet<String> {
    let Ok(reader) = SettlementReader::new(bytes) else {
        return BTreeSet::new();
    };
    reader
        .filter_map(Result::ok)
        .filter(|r| matches!(r.transaction_type.as_str(), "Order" | "Refund") && !r.sku.is_empty())
        .map(|r| r.sku)
        .collect()
}
