//! Orders -> A/R invoices.
//!
//! `searchOrders` by `lastUpdatedAfter` from the cursor (minus an overlap), every shipped order of a
//! configured marketplace becomes one A/R invoice keyed `amz:{seller}:order:{id}:invoice`, with
//! `NumAtCard` = the Amazon order id. Cancelled orders are never invoiced; pending, unshipped and
//! partially shipped ones wait (they are seen again when Amazon updates them). Masters are checked
//! before posting; a problem holds that order and the flow goes on with the next.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use rust_decimal::Decimal;
use sap_b1_client::entities::{Document, DocumentAdditionalExpense, DocumentLine};
use serde::Serialize;
use serde_json::Value;
use sp_api_client::orders::{FulfillmentStatus, IncludedData, Order, OrderItem, OrderSearch};
use tracing::info;

use super::{Engine, PostOutcome, Problem};
use crate::config::{Config, InvoiceWhen, Shipping, TaxField};
use crate::ledger::{DocFilter, DocState, Ledger, Planned};

/// Flow name in the ledger.
pub const FLOW: &str = "orders";

/// Searches end this long before now (Amazon asks for at least two minutes).
const WINDOW_END_MARGIN: i64 = 3;

/// The ledger key of an order's invoice.
pub fn invoice_key(seller: &str, order_id: &str) -> String {
    format!("amz:{seller}:order:{order_id}:invoice")
}

/// What an order calls for.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderPlan {
    /// Not invoiceable yet: seen again when Amazon updates it.
    NotYet(String),
    /// Never invoiced (cancelled, or a marketplace this connector does not sync).
    Never(String),
    /// Needs a person.
    Hold(String),
    /// The invoice to post.
    Invoice(Box<Document>),
}

/// Decides, without I/O, what invoice an order becomes.
pub fn plan_invoice(order: &Order, config: &Config, key: &str) -> OrderPlan {
    let id = order.order_id.as_str();
    let Some(marketplace) = order.sales_channel.marketplace_id.as_deref() else {
        return OrderPlan::Hold(format!("order {id} carries no marketplace id"));
    };
    if !config.amazon.marketplaces.iter().any(|m| m == marketplace) {
        return OrderPlan::Never(format!("marketplace {marketplace} is not synced"));
    }
    let Some(mapping) = config.marketplaces.get(marketplace) else {
        return OrderPlan::Hold(format!(
            "marketplace {marketplace} has no SAP customer in [marketplaces]"
        ));
    };
    match order.status() {
        Some(FulfillmentStatus::Shipped) => {}
        Some(FulfillmentStatus::Unshipped)
            if config.orders.invoice_when == InvoiceWhen::Accepted => {}
        Some(FulfillmentStatus::Cancelled) => return OrderPlan::Never("cancelled".into()),
        Some(FulfillmentStatus::Unknown(s)) => {
            return OrderPlan::Hold(format!(
                "order {id} has a fulfilment status this connector does not know: {s}"
            ));
        }
        Some(other) => return OrderPlan::NotYet(format!("{other:?}")),
        None => return OrderPlan::NotYet("no fulfilment status yet".into()),
    }
    let currency = order
        .proceeds
        .as_ref()
        .and_then(|p| p.grand_total.as_ref())
        .map(|m| m.currency_code.clone())
        .or_else(|| {
            order.order_items.iter().find_map(|i| {
                i.product
                    .price
                    .as_ref()?
                    .unit_price
                    .as_ref()
                    .map(|m| m.currency_code.clone())
            })
        });
    let mut lines = Vec::new();
    let mut shipping = Decimal::ZERO;
    for item in &order.order_items {
        let Some(sku) = item
            .product
            .seller_sku
            .as_ref()
            .map(|s| s.as_str().to_owned())
        else {
            return OrderPlan::Hold(format!(
                "order {id} item {} has no seller SKU",
                item.order_item_id
            ));
        };
        let qty = item
            .fulfillment
            .as_ref()
            .and_then(|f| f.quantity_fulfilled)
            .filter(|q| *q > 0)
            .unwrap_or(item.quantity_ordered);
        if qty == 0 {
            continue;
        }
        let amounts = match item_amounts(item, mapping.prices_include_tax) {
            Ok(a) => a,
            Err(why) => {
                return OrderPlan::Hold(format!(
                    "order {id} item {} (SKU {sku}) {why}",
                    item.order_item_id
                ));
            }
        };
        shipping += amounts.shipping;
        lines.push(LineSpec {
            item_code: config.item_code(&sku).to_owned(),
            quantity: Decimal::from(qty),
            net: amounts.net,
            sku,
        });
    }
    if lines.is_empty() {
        return OrderPlan::Hold(format!("order {id} has no shipped items"));
    }
    let comments = format!(
        "Amazon order {id} ({}) - ml-connector {key}",
        order
            .sales_channel
            .marketplace_name
            .as_deref()
            .unwrap_or(marketplace)
    );
    let date = order.last_updated_time.date_naive();
    let doc = build_invoice(
        config, mapping, key, id, date, currency, lines, shipping, comments,
    );
    OrderPlan::Invoice(Box::new(doc))
}

fn set_tax(
    vat_group: &mut Option<String>,
    tax_code: &mut Option<String>,
    field: TaxField,
    code: Option<&str>,
) {
    if let Some(code) = code {
        match field {
            TaxField::VatGroup => *vat_group = Some(code.to_owned()),
            TaxField::TaxCode => *tax_code = Some(code.to_owned()),
        }
    }
}

/// One invoice line to build: SAP item, quantity, net amount, and the Amazon SKU it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LineSpec {
    /// SAP ItemCode.
    pub item_code: String,
    /// Quantity.
    pub quantity: Decimal,
    /// Net amount (before tax; SAP adds the tax from the line's code).
    pub net: Decimal,
    /// Amazon SKU.
    pub sku: String,
}

/// The A/R invoice of an Amazon order: lines, shipping per config, tax code per marketplace, the
/// order id in NumAtCard and the ledger key in the configured UDF.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_invoice(
    config: &Config,
    mapping: &crate::config::MarketplaceMapping,
    key: &str,
    order_id: &str,
    date: chrono::NaiveDate,
    currency: Option<String>,
    specs: Vec<LineSpec>,
    shipping: Decimal,
    comments: String,
) -> Document {
    let tax = |vat_group: &mut Option<String>, tax_code: &mut Option<String>| {
        set_tax(
            vat_group,
            tax_code,
            config.orders.tax_field,
            mapping.tax_code.as_deref(),
        );
    };
    let mut lines: Vec<DocumentLine> = specs
        .into_iter()
        .map(|spec| {
            let mut line = DocumentLine {
                item_code: Some(spec.item_code),
                quantity: Some(spec.quantity),
                line_total: Some(spec.net),
                warehouse_code: config.orders.warehouse.clone(),
                free_text: Some(format!("Amazon SKU {}", spec.sku)),
                ..DocumentLine::default()
            };
            tax(&mut line.vat_group, &mut line.tax_code);
            line
        })
        .collect();
    let mut expenses = Vec::new();
    if !shipping.is_zero() {
        match &config.orders.shipping {
            Shipping::ItemLine(code) => {
                let mut line = DocumentLine {
                    item_code: Some(code.clone()),
                    quantity: Some(Decimal::ONE),
                    line_total: Some(shipping),
                    free_text: Some("Amazon shipping".into()),
                    ..DocumentLine::default()
                };
                tax(&mut line.vat_group, &mut line.tax_code);
                lines.push(line);
            }
            Shipping::Expense(code) => {
                let mut x = DocumentAdditionalExpense {
                    expense_code: Some(*code),
                    line_total: Some(shipping),
                    remarks: Some("Amazon shipping".into()),
                    ..DocumentAdditionalExpense::default()
                };
                tax(&mut x.vat_group, &mut x.tax_code);
                expenses.push(x);
            }
        }
    }
    let mut doc = Document {
        card_code: Some(mapping.customer.clone()),
        num_at_card: Some(order_id.to_owned()),
        doc_date: Some(date.into()),
        doc_due_date: Some(date.into()),
        tax_date: Some(date.into()),
        doc_currency: currency,
        comments: Some(comments),
        document_lines: Some(lines),
        document_additional_expenses: (!expenses.is_empty()).then_some(expenses),
        ..Document::default()
    };
    if let Some(udf) = &config.sap.key_udf {
        doc.extra.insert(udf.clone(), Value::String(key.to_owned()));
    }
    doc
}

/// An item's net amount (after item discounts, before tax) and its net shipping.
#[derive(Debug, PartialEq)]
struct ItemAmounts {
    net: Decimal,
    shipping: Decimal,
}

/// Splits an item's proceeds into net item and net shipping amounts.
///
/// `ITEM`, `SHIPPING` and `DISCOUNT` are what the buyer was charged; where they include tax (EU/UK
/// VAT), the `TAX` breakdown's part for each (by `detailedBreakdowns` subtype, all to the item when
/// Amazon gives no detail) is taken out, because SAP adds the tax from the line's tax code.
fn item_amounts(item: &OrderItem, prices_include_tax: bool) -> Result<ItemAmounts, String> {
    let breakdowns = item
        .proceeds
        .as_ref()
        .map(|p| p.breakdowns.as_slice())
        .unwrap_or_default();
    let of = |kind: &'static str| breakdowns.iter().filter(move |b| b.kind == kind);
    let mut net = match of("ITEM").map(|b| b.subtotal.amount).reduce(|a, b| a + b) {
        Some(n) => n,
        None => {
            let unit = item
                .product
                .price
                .as_ref()
                .and_then(|p| p.unit_price.as_ref())
                .ok_or("has no price")?;
            unit.amount * Decimal::from(item.quantity_ordered)
        }
    };
    let mut shipping: Decimal = of("SHIPPING").map(|b| b.subtotal.amount).sum();
    // Discounts are negative; by subtype when Amazon says which part they reduce.
    for (b, target) in of("DISCOUNT").flat_map(split) {
        match target {
            Part::Shipping => shipping += b,
            Part::Item => net += b,
        }
    }
    if prices_include_tax {
        let taxes: Vec<_> = of("TAX").collect();
        if taxes.is_empty() && !(net.is_zero() && shipping.is_zero()) {
            return Err("is priced tax-inclusive but Amazon sent no TAX breakdown, so the net price is unknown".into());
        }
        for (t, target) in taxes.into_iter().flat_map(split) {
            match target {
                Part::Shipping => shipping -= t,
                Part::Item => net -= t,
            }
        }
    }
    Ok(ItemAmounts { net, shipping })
}

enum Part {
    Item,
    Shipping,
}

/// A breakdown's amounts by the part they belong to (all to the item without detail).
fn split(b: &sp_api_client::orders::ProceedsBreakdown) -> Vec<(Decimal, Part)> {
    if b.detailed_breakdowns.is_empty() {
        return vec![(b.subtotal.amount, Part::Item)];
    }
    b.detailed_breakdowns
        .iter()
        .map(|d| {
            let part = match d.subtype.as_deref() {
                Some("SHIPPING") => Part::Shipping,
                _ => Part::Item,
            };
            (d.value.amount, part)
        })
        .collect()
}

/// Options of one orders sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Start of the window instead of the cursor.
    pub since: Option<DateTime<Utc>>,
    /// Plan and check, post nothing, change nothing.
    pub dry_run: bool,
}

/// What one orders sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrdersReport {
    /// Window searched (lastUpdatedAfter).
    pub window_start: Option<DateTime<Utc>>,
    /// Window end (lastUpdatedBefore).
    pub window_end: Option<DateTime<Utc>>,
    /// Orders Amazon returned.
    pub orders_seen: u64,
    /// Invoices created in SAP by this run.
    pub invoices_posted: u64,
    /// Invoices found already in SAP by their key (not sent again).
    pub found_in_sap: u64,
    /// Orders whose invoice was posted by an earlier run.
    pub already_posted: u64,
    /// Orders not invoiceable yet (pending, unshipped, partially shipped).
    pub not_yet: u64,
    /// Cancelled orders and other marketplaces (never invoiced).
    pub never: u64,
    /// Invoices a dry run would post.
    pub would_post: u64,
    /// Held records and why.
    pub held: Vec<Problem>,
    /// Failed records and why.
    pub failed: Vec<Problem>,
    /// Records whose outcome is unknown (looked up before the next attempt).
    pub unknown: Vec<Problem>,
}

impl OrdersReport {
    /// Whether anything needs a person.
    pub fn needs_attention(&self) -> bool {
        !self.held.is_empty() || !self.failed.is_empty() || !self.unknown.is_empty()
    }

    fn count(&mut self, key: &str, outcome: PostOutcome) {
        match outcome {
            PostOutcome::Posted { .. } => self.invoices_posted += 1,
            PostOutcome::FoundExisting { .. } => self.found_in_sap += 1,
            PostOutcome::Failed(reason) => self.failed.push(Problem {
                key: key.to_owned(),
                reason,
            }),
            PostOutcome::Unknown(reason) => self.unknown.push(Problem {
                key: key.to_owned(),
                reason,
            }),
        }
    }
}

impl Engine {
    fn seller(&self) -> &str {
        &self.config.amazon.seller_id
    }

    /// Resolves every SENDING / UNKNOWN invoice: found in SAP -> POSTED, absent -> posted now.
    pub async fn recover_invoices(&self, report: &mut OrdersReport) -> Result<()> {
        let mut in_doubt = Vec::new();
        for state in [DocState::Sending, DocState::Unknown] {
            let filter = DocFilter {
                state: Some(state),
                flow: Some(FLOW.to_owned()),
                ..DocFilter::default()
            };
            in_doubt.extend(self.ledger().list(&filter)?);
        }
        for doc in in_doubt {
            info!(key = %doc.key, state = %doc.state, "resolving a document in doubt");
            let outcome = self.post_invoice(&doc.key).await?;
            report.count(&doc.key, outcome);
        }
        Ok(())
    }

    /// One orders sync: recover, search, plan, check, post, then advance the cursor.
    pub async fn sync_orders(&self, options: &SyncOptions) -> Result<OrdersReport> {
        let mut report = OrdersReport::default();
        let cfg = &self.config;
        self.sap.connect().await.context("SAP login")?;
        if !options.dry_run {
            self.recover_invoices(&mut report).await?;
        }
        let now = Utc::now();
        let cursor = self
            .ledger()
            .cursor(FLOW)?
            .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
            .map(|c| c.to_utc());
        let overlap = Duration::from_std(cfg.orders.overlap)?;
        let start = match (options.since, cursor) {
            (Some(since), _) => since,
            (None, Some(c)) => c - overlap,
            (None, None) => now - Duration::from_std(cfg.orders.lookback)?,
        };
        let end = now - Duration::minutes(WINDOW_END_MARGIN);
        report.window_start = Some(start);
        report.window_end = Some(end);
        let search = OrderSearch::last_updated_after(start)
            .before(end)
            .marketplace_ids(cfg.amazon.marketplaces.clone())
            .included_data([IncludedData::Proceeds, IncludedData::Fulfillment]);
        // Orders are planned as Amazon's pages arrive and posted while the next pages are awaited
        // (searchOrders is slow by design: its bucket refills one call per 180 s).
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let sessions = cfg.sap.sessions.max(1);
        let dry_run = options.dry_run;
        let planned = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let (planned, done) = (&planned, &done);
        let read = async {
            let mut orders = self.amazon.search_orders(search);
            let mut complete = true;
            while let Some(item) = orders.next().await {
                let order = match item {
                    Ok(order) => order,
                    // One order Amazon sent that does not parse: report it, go on with the next,
                    // and keep the cursor so the window is read again once it is fixed.
                    Err(sp_api_client::Error::Parse(p)) => {
                        complete = false;
                        report.failed.push(Problem {
                            key: format!("amazon searchOrders {}", p.path),
                            reason: format!(
                                "Amazon sent an order this connector cannot read at {}: {}",
                                p.path, p.source
                            ),
                        });
                        continue;
                    }
                    Err(e) => return Err(anyhow::Error::new(e).context("Amazon searchOrders")),
                };
                if self.stopping() {
                    // Stop before the window is complete: the cursor stays where it was.
                    complete = false;
                    break;
                }
                report.orders_seen += 1;
                self.progress(|| format!("orders: {} read from Amazon", report.orders_seen));
                if let Some(key) = self.plan_order(&order, dry_run, &mut report).await? {
                    planned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if !dry_run {
                        let _ = tx.send(key);
                    }
                }
            }
            drop(tx);
            Ok::<bool, anyhow::Error>(complete)
        };
        let post =
            futures::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|key| (key, rx)) },
            )
            .filter(|_| std::future::ready(!self.stopping()))
            .map(|key| async move {
                let outcome = self.post_invoice(&key).await;
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                self.progress(|| {
                    format!(
                        "invoices: {n}/{} sent to SAP",
                        planned.load(std::sync::atomic::Ordering::Relaxed)
                    )
                });
                (key, outcome)
            })
            .buffer_unordered(sessions)
            .collect::<Vec<(String, Result<PostOutcome>)>>();
        let (complete, outcomes) = futures::join!(read, post);
        for (key, outcome) in outcomes {
            report.count(&key, outcome?);
        }
        if !complete? || self.stopping() {
            return Ok(report);
        }
        if dry_run {
            report.would_post = planned.load(std::sync::atomic::Ordering::Relaxed) as u64;
            return Ok(report);
        }
        // Everything the window covered is in the ledger now: the cursor may move.
        self.ledger().set_cursor(FLOW, &end.to_rfc3339())?;
        Ok(report)
    }

    /// Plans one order into the ledger; returns its key when it should be posted now.
    async fn plan_order(
        &self,
        order: &Order,
        dry_run: bool,
        report: &mut OrdersReport,
    ) -> Result<Option<String>> {
        let id = order.order_id.as_str();
        let key = invoice_key(self.seller(), id);
        let existing = self.ledger().get(&key)?;
        if let Some(rec) = &existing
            && rec.state == DocState::Posted
        {
            report.already_posted += 1;
            return Ok(None);
        }
        let plan = plan_invoice(order, &self.config, &key);
        let plan = match plan {
            OrderPlan::NotYet(_) => {
                report.not_yet += 1;
                return Ok(None);
            }
            OrderPlan::Never(_) => {
                report.never += 1;
                return Ok(None);
            }
            OrderPlan::Hold(reason) => Err(reason),
            OrderPlan::Invoice(doc) => match self.check_masters(&doc).await? {
                Ok(()) => Ok(doc),
                Err(reason) => Err(reason),
            },
        };
        if dry_run {
            match plan {
                Ok(_) => return Ok(Some(key)),
                Err(reason) => {
                    report.held.push(Problem { key, reason });
                    return Ok(None);
                }
            }
        }
        let body = serde_json::to_vec(order)?;
        let mut ledger = self.ledger();
        let source = ledger.put_source("order", id, &body)?;
        match plan {
            Err(reason) => {
                match ledger.plan(&key, FLOW, "invoice", Some(source), "{}", Some(&reason))? {
                    Planned::Existing(DocState::Held) => {
                        ledger.transition(&key, DocState::Held, &reason)?
                    }
                    Planned::Existing(DocState::Failed) => {}
                    _ => {}
                }
                report.held.push(Problem { key, reason });
                Ok(None)
            }
            Ok(doc) => {
                let payload = serde_json::to_string(&doc)?;
                match ledger.plan(&key, FLOW, "invoice", Some(source), &payload, None)? {
                    Planned::New | Planned::Existing(DocState::Planned) => Ok(Some(key)),
                    Planned::Existing(DocState::Held) => {
                        ledger.replan(&key, &payload, Some(source))?;
                        Ok(Some(key))
                    }
                    Planned::Existing(DocState::Failed) => {
                        let reason = ledger.get(&key)?.and_then(|r| r.reason).unwrap_or_default();
                        report.failed.push(Problem {
                            key,
                            reason: format!("{reason} (use `ml-connector replay` after fixing)"),
                        });
                        Ok(None)
                    }
                    // SENDING / UNKNOWN were resolved by recovery; POSTED was counted above.
                    Planned::Existing(_) => Ok(None),
                }
            }
        }
    }

    /// Customer and items of an invoice exist and are usable in SAP.
    pub(crate) async fn check_masters(&self, doc: &Document) -> Result<Result<(), String>> {
        let mut problems = Vec::new();
        if let Some(card) = &doc.card_code
            && let Err(p) = self.check_customer(card).await?
        {
            problems.push(p);
        }
        let mut seen = BTreeMap::new();
        for line in doc.document_lines.iter().flatten() {
            let Some(code) = line.item_code.as_deref() else {
                continue;
            };
            let sku = line
                .free_text
                .as_deref()
                .and_then(|t| t.strip_prefix("Amazon SKU "))
                .unwrap_or(code);
            if seen.insert(code.to_owned(), ()).is_none()
                && let Err(p) = self.check_item(code, sku).await?
            {
                problems.push(p);
            }
        }
        Ok(if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        })
    }

    /// Re-plans a held or failed document from its stored source and posts it if it is ready now.
    pub async fn replay(&self, key: &str) -> Result<ReplayOutcome> {
        let rec = self
            .ledger()
            .get(key)?
            .ok_or_else(|| anyhow::anyhow!("no document with key `{key}` in the ledger"))?;
        if rec.flow != FLOW {
            return Ok(ReplayOutcome::StillHeld(format!(
                "`{key}` belongs to the {} flow, which re-plans from SAP and Amazon on every run: fix the cause, then run `ml-connector sync {}`",
                rec.flow, rec.flow
            )));
        }
        match rec.state {
            DocState::Posted => {
                return Ok(ReplayOutcome::AlreadyPosted {
                    doc_entry: rec.doc_entry,
                    doc_num: rec.doc_num,
                });
            }
            DocState::Sending | DocState::Unknown | DocState::Planned => {
                return Ok(ReplayOutcome::Posted(self.post_invoice(key).await?));
            }
            DocState::Held | DocState::Failed => {}
        }
        let source_id = rec
            .source_id
            .ok_or_else(|| anyhow::anyhow!("`{key}` has no stored source to re-plan from"))?;
        let source = self.ledger().source(source_id)?;
        let order: Order = serde_json::from_slice(&source.body)
            .with_context(|| format!("stored source of `{key}`"))?;
        self.sap.connect().await.context("SAP login")?;
        let plan = match plan_invoice(&order, &self.config, key) {
            OrderPlan::Invoice(doc) => self.check_masters(&doc).await?.map(|()| doc),
            OrderPlan::Hold(reason) | OrderPlan::NotYet(reason) | OrderPlan::Never(reason) => {
                Err(reason)
            }
        };
        match plan {
            Err(reason) => {
                if rec.state == DocState::Held {
                    self.ledger().transition(key, DocState::Held, &reason)?;
                }
                Ok(ReplayOutcome::StillHeld(reason))
            }
            Ok(doc) => {
                self.ledger()
                    .replan(key, &serde_json::to_string(&doc)?, None)?;
                Ok(ReplayOutcome::Posted(self.post_invoice(key).await?))
            }
        }
    }
}

/// What `replay` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// It was posted before.
    AlreadyPosted {
        /// SAP DocEntry.
        doc_entry: Option<i64>,
        /// SAP DocNum.
        doc_num: Option<i64>,
    },
    /// Still not postable, and why.
    StillHeld(String),
    /// Sent (or found) now.
    Posted(PostOutcome),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn config(extra: &str) -> Config {
        let text = format!(
            r#"
            [sap]
            base_url = "https://sap.example.com:50000/b1s/v2"
            company_db = "SBO"
            user = "manager"
            [amazon]
            region = "eu"
            seller_id = "A1SELLER"
            marketplaces = ["A1PA6795UKMFR9"]
            [orders]
            shipping = "expense"
            shipping_expense_code = 1
            [marketplaces.A1PA6795UKMFR9]
            customer = "C-AMZ-DE"
            tax_code = "DE19"
            [sku_map]
            "AMZ-MUG" = "A00042"
            {extra}
            "#
        );
        Config::parse(Path::new("/tmp/t.toml"), &text).unwrap()
    }

    fn money(v: &str) -> serde_json::Value {
        json!({"amount": v, "currencyCode": "EUR"})
    }

    fn order(status: &str, breakdowns: serde_json::Value) -> Order {
        serde_json::from_value(json!({
            "orderId": "028-1234567-1234567",
            "createdTime": "2026-11-20T10:00:00Z",
            "lastUpdatedTime": "2026-11-21T08:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9", "marketplaceName": "Amazon.de"},
            "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "AMAZON"},
            "proceeds": {"grandTotal": money("64.47")},
            "orderItems": [{
                "orderItemId": "12345678901234",
                "quantityOrdered": 2,
                "product": {"sellerSku": "AMZ-MUG", "price": {"unitPrice": money("29.99")}},
                "proceeds": {"proceedsTotal": money("64.47"), "breakdowns": breakdowns},
                "fulfillment": {"quantityFulfilled": 2, "quantityUnfulfilled": 0}
            }]
        }))
        .unwrap()
    }

    fn vat_breakdowns() -> serde_json::Value {
        json!([
            {"type": "ITEM", "subtotal": money("59.98")},
            {"type": "SHIPPING", "subtotal": money("5.95")},
            {"type": "DISCOUNT", "subtotal": money("-1.46"), "detailedBreakdowns": [{"subtype": "ITEM", "value": money("-1.46")}]},
            {"type": "TAX", "subtotal": money("10.29"), "detailedBreakdowns": [
                {"subtype": "ITEM", "value": money("9.34")},
                {"subtype": "SHIPPING", "value": money("0.95")}
            ]}
        ])
    }

    const KEY: &str = "amz:A1SELLER:order:028-1234567-1234567:invoice";

    #[test]
    fn shipped_vat_order_becomes_a_net_invoice() {
        let OrderPlan::Invoice(doc) =
            plan_invoice(&order("SHIPPED", vat_breakdowns()), &config(""), KEY)
        else {
            panic!("expected an invoice");
        };
        assert_eq!(doc.card_code.as_deref(), Some("C-AMZ-DE"));
        assert_eq!(doc.num_at_card.as_deref(), Some("028-1234567-1234567"));
        assert_eq!(doc.doc_currency.as_deref(), Some("EUR"));
        let line = &doc.document_lines.as_ref().unwrap()[0];
        assert_eq!(line.item_code.as_deref(), Some("A00042"), "SKU mapped");
        assert_eq!(line.quantity, Some(Decimal::from(2)));
        // 59.98 - 1.46 discount - 9.34 VAT = 49.18 net; SAP adds 19 % from DE19.
        assert_eq!(line.line_total, Some("49.18".parse().unwrap()));
        assert_eq!(line.vat_group.as_deref(), Some("DE19"));
        let shipping = &doc.document_additional_expenses.as_ref().unwrap()[0];
        assert_eq!(shipping.expense_code, Some(1));
        assert_eq!(shipping.line_total, Some("5.00".parse().unwrap()));
        assert_wire_shape(&doc);
    }

    /// The exact JSON we send (pinned: a change here is a change to what SAP receives).
    fn assert_wire_shape(doc: &Document) {
        let v = serde_json::to_value(doc).unwrap();
        assert_eq!(v["DocDate"], "2026-11-21");
        assert_eq!(v["DocumentLines"][0]["LineTotal"], "49.18");
        assert!(
            v.get("DocEntry").is_none(),
            "no server-owned fields are sent: {v}"
        );
    }

    #[test]
    fn waiting_cancelled_and_unknown_orders() {
        let cfg = config("");
        assert!(matches!(
            plan_invoice(&order("UNSHIPPED", vat_breakdowns()), &cfg, KEY),
            OrderPlan::NotYet(_)
        ));
        assert!(matches!(
            plan_invoice(&order("PARTIALLY_SHIPPED", vat_breakdowns()), &cfg, KEY),
            OrderPlan::NotYet(_)
        ));
        assert!(matches!(
            plan_invoice(&order("PENDING", vat_breakdowns()), &cfg, KEY),
            OrderPlan::NotYet(_)
        ));
        assert!(matches!(
            plan_invoice(&order("CANCELLED", vat_breakdowns()), &cfg, KEY),
            OrderPlan::Never(_)
        ));
        let accepted = config("").clone();
        let mut accepted = accepted;
        accepted.orders.invoice_when = InvoiceWhen::Accepted;
        assert!(matches!(
            plan_invoice(&order("UNSHIPPED", vat_breakdowns()), &accepted, KEY),
            OrderPlan::Invoice(_)
        ));
        assert!(matches!(
            plan_invoice(&order("LOST_IN_SPACE", vat_breakdowns()), &cfg, KEY),
            OrderPlan::Hold(_)
        ));
    }

    #[test]
    fn tax_inclusive_prices_without_a_tax_breakdown_are_held_not_guessed() {
        let b = json!([{"type": "ITEM", "subtotal": money("59.98")}]);
        let OrderPlan::Hold(reason) = plan_invoice(&order("SHIPPED", b.clone()), &config(""), KEY)
        else {
            panic!("expected a hold");
        };
        assert!(reason.contains("no TAX breakdown"), "{reason}");
        // A sales-tax marketplace's prices are net: no TAX needed.
        let mut cfg = config("");
        cfg.marketplaces
            .get_mut("A1PA6795UKMFR9")
            .unwrap()
            .prices_include_tax = false;
        let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", b), &cfg, KEY) else {
            panic!()
        };
        assert_eq!(
            doc.document_lines.unwrap()[0].line_total,
            Some("59.98".parse().unwrap())
        );
    }

    #[test]
    fn other_marketplaces_are_not_ours_and_key_goes_into_the_udf() {
        let mut o = order("SHIPPED", vat_breakdowns());
        o.sales_channel.marketplace_id = Some("ATVPDKIKX0DER".into());
        assert!(matches!(
            plan_invoice(&o, &config(""), KEY),
            OrderPlan::Never(_)
        ));
        let mut cfg = config("");
        cfg.sap.key_udf = Some("U_MLC_Key".into());
        let OrderPlan::Invoice(doc) = plan_invoice(&order("SHIPPED", vat_breakdowns()), &cfg, KEY)
        else {
            panic!()
        };
        assert_eq!(doc.extra["U_MLC_Key"], KEY);
    }
}
