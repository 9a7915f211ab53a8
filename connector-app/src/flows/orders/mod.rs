//! Orders -> A/R invoices.
//!
//! `searchOrders` by `lastUpdatedAfter` from the cursor (minus an overlap), every shipped order of a
//! configured marketplace becomes one A/R invoice keyed `amz:{seller}:order:{id}:invoice`, with
//! `NumAtCard` = the Amazon order id. Cancelled orders are never invoiced; pending, unshipped and
//! partially shipped ones wait (they are seen again when Amazon updates them). Masters are checked
//! before posting; a problem holds that order and the flow goes on with the next.

pub mod backfill;
pub mod cancel;
mod checks;
pub mod from_report;
pub mod plan;
mod post;
mod report;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use sp_api_client::orders::{IncludedData, Order, OrderSearch};
use tracing::info;

pub(crate) use self::plan::{Freight, LineSpec, SHIPPING_LINE_TEXT, build_invoice, unit_price};
pub use self::plan::{OrderPlan, invoice_key, plan_invoice};
pub use self::post::Invoice;
pub(crate) use self::post::{InvoiceState, invoice_state, key_filter};
pub use self::report::OrdersReport;
use super::{Engine, Problem};
use crate::ledger::{DocState, Ledger, OnFailed, PlanBody, PlanRequest, PlanStatus};
use crate::posting::PostOutcome;

/// Why an order of a summary marketplace gets no invoice of its own.
const SUMMARISED: &str = "summarised by its settlement ([posting] mode = \"summary\")";

/// Flow name in the ledger.
pub const FLOW: &str = "orders";

/// What an invoice needs of an order: prices and taxes, fulfilment, who collects each item's tax
/// (`TAX`: `taxCollections`) and the packages' ship times (`PACKAGES`: the invoice date).
pub(crate) const INCLUDED: [IncludedData; 4] = [
    IncludedData::Proceeds,
    IncludedData::Fulfillment,
    IncludedData::Tax,
    IncludedData::Packages,
];

/// Searches end this long before now (Amazon asks for at least two minutes).
const WINDOW_END_MARGIN: i64 = 3;

/// Options of one orders sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Start of the window instead of the cursor.
    pub since: Option<DateTime<Utc>>,
    /// Plan and check, post nothing, change nothing.
    pub dry_run: bool,
}

impl Engine {
    fn seller(&self) -> &str {
        &self.config.amazon.seller_id
    }

    /// Resolves every SENDING / UNKNOWN invoice: found in SAP -> POSTED, absent -> posted now.
    pub async fn recover_invoices(&self, report: &mut OrdersReport) -> Result<()> {
        for (key, outcome) in self.recover::<Invoice>(FLOW).await? {
            report.count_recovered(&key, outcome);
        }
        for (key, outcome) in self.recover::<cancel::CancellationNote>(FLOW).await? {
            report.recovered += 1;
            report.recovered_keys.insert(key.clone());
            report.count_credit(&key, outcome);
        }
        Ok(())
    }

    /// One orders sync: recover, search, plan, check, post, then advance the cursor.
    pub async fn sync_orders(&self, options: &SyncOptions) -> Result<OrdersReport> {
        let mut report = OrdersReport::default();
        let cfg = &self.config;
        self.sap.connect().await.context("SAP login")?;
        self.check_key_udf().await?;
        if !options.dry_run {
            report.warnings = self.posting_warnings().await?;
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
            .included_data(INCLUDED);
        // A long `--since` window (a first sync, a backfill) is read from the all-orders report:
        // a few report calls instead of one searchOrders call per 100 orders.
        let by_report = options.since.is_some()
            && end - start > Duration::from_std(cfg.orders.report_backfill_after)?;
        let source = if by_report {
            "the all-orders report"
        } else {
            "Amazon searchOrders"
        };
        // Orders are planned as Amazon's pages arrive and posted while the next pages are awaited
        // (searchOrders is slow by design: its bucket refills one call per 180 s).
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let sessions = cfg.sap.sessions.max(1);
        let dry_run = options.dry_run;
        let planned = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::atomic::AtomicUsize::new(0);
        // Set by the first request that fails (SAP unreachable, the ledger gone): nothing new is
        // read or sent after it, so an outage ends the run at once with one error instead of
        // every planned invoice failing in turn.
        let failed = std::sync::atomic::AtomicBool::new(false);
        let (planned, done, failed) = (&planned, &done, &failed);
        let read = async {
            let mut orders = if by_report {
                info!(%start, %end, "backfill through the all-orders report");
                self.report_orders(start, end)
            } else {
                self.amazon.search_orders(search)
            };
            let mut complete = true;
            while let Some(item) = orders.next().await {
                let order = match item {
                    Ok(order) => order,
                    // One order Amazon sent that does not parse: report it, go on with the next,
                    // and keep the cursor so the window is read again once it is fixed.
                    // A page that is not JSON at all (an HTML page from a wrong endpoint) is no
                    // order: the run stops with what answered.
                    Err(sp_api_client::Error::Parse(p)) if !p.body_is_json() => {
                        return Err(anyhow::Error::new(p).context(format!(
                            "{source} (check amazon.endpoint and amazon.region)"
                        )));
                    }
                    Err(sp_api_client::Error::Parse(p)) => {
                        complete = false;
                        report.failed.push(Problem {
                            key: format!("amazon searchOrders {}", p.path),
                            reason: format!(
                                "Amazon sent an order this connector cannot read at {} ({source}): {}",
                                p.path, p.source
                            ),
                        });
                        continue;
                    }
                    Err(e) => return Err(anyhow::Error::new(e).context(source)),
                };
                if self.stopping() || failed.load(std::sync::atomic::Ordering::Relaxed) {
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
        // New invoices go several per `$batch` request (each in its own changeset with its key
        // row), as many requests at once as there are sessions.
        let per_batch = cfg.sap.invoices_per_batch.max(1);
        let post =
            futures::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|key| (key, rx)) },
            )
            .filter(|_| {
                std::future::ready(
                    !self.stopping() && !failed.load(std::sync::atomic::Ordering::Relaxed),
                )
            })
            .ready_chunks(per_batch)
            .map(|keys| async move {
                let outcomes = self.post_invoices(&keys).await;
                if outcomes.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                let n =
                    done.fetch_add(keys.len(), std::sync::atomic::Ordering::Relaxed) + keys.len();
                self.progress(|| {
                    format!(
                        "invoices: {n}/{} sent to SAP",
                        planned.load(std::sync::atomic::Ordering::Relaxed)
                    )
                });
                outcomes
            })
            .buffer_unordered(sessions)
            .collect::<Vec<Result<Vec<(String, PostOutcome)>>>>();
        let (complete, outcomes) = futures::join!(read, post);
        for batch in outcomes {
            for (key, outcome) in batch? {
                report.count(&key, outcome);
            }
        }
        if !complete? || self.stopping() {
            return Ok(report);
        }
        if dry_run {
            report.would_post = planned.load(std::sync::atomic::Ordering::Relaxed) as u64;
            return Ok(report);
        }
        // Everything the window covered is in the ledger now: the cursor may move, but only when
        // the window joins what was read before. A `--since` window that starts after the cursor
        // leaves a gap between the two, so moving the cursor would skip it.
        let joins = match (options.since, cursor) {
            (Some(since), Some(c)) => since <= c,
            _ => true,
        };
        if joins {
            self.ledger().set_cursor(FLOW, &end.to_rfc3339())?;
        }
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
        // An invoice recovery resolved at the start of this run is counted there already.
        if report.recovered_keys.contains(&key) {
            return Ok(None);
        }
        match existing.as_ref().map(|r| r.state) {
            // Invoiced (when accepted) and then cancelled by Amazon: a credit note reverses it.
            Some(DocState::Posted)
                if order.status() == Some(&sp_api_client::orders::FulfillmentStatus::Cancelled) =>
            {
                if let Some(invoice) = &existing {
                    self.credit_cancelled(order, invoice, dry_run, report)
                        .await?;
                }
                return Ok(None);
            }
            Some(DocState::Posted) => {
                report.already_posted += 1;
                return Ok(None);
            }
            // A person decided it is not to be invoiced (`ml-connector dismiss`).
            Some(DocState::Dismissed) => {
                report.dismissed += 1;
                return Ok(None);
            }
            _ => {}
        }
        let plan = match self
            .check_plan(plan_invoice(order, &self.config, &key))
            .await?
        {
            OrderPlan::NotYet(_) => {
                report.not_yet += 1;
                return Ok(None);
            }
            OrderPlan::Never(_) => {
                report.never += 1;
                return Ok(None);
            }
            OrderPlan::Summarised => {
                report.summarised += 1;
                return Ok(None);
            }
            OrderPlan::Hold(reason) => Err(reason),
            OrderPlan::Invoice(doc) => Ok(doc),
        };
        if dry_run {
            return match plan {
                Ok(_) => Ok(Some(key)),
                Err(reason) => {
                    report.held.push(Problem { key, reason });
                    Ok(None)
                }
            };
        }
        let body = serde_json::to_vec(order)?;
        let payload = match &plan {
            Ok(doc) => Some(serde_json::to_string(&Invoice((**doc).clone()))?),
            Err(_) => None,
        };
        let mut ledger = self.ledger();
        let source = ledger.put_source("order", id, &body)?;
        let status = ledger.plan_or_replan(&PlanRequest {
            key: &key,
            flow: FLOW,
            kind: "invoice",
            source_id: Some(source),
            body: match (&plan, &payload) {
                (Err(reason), _) => PlanBody::Hold(reason),
                (Ok(_), Some(payload)) => PlanBody::Ready(payload),
                (Ok(_), None) => unreachable!("a ready plan has a payload"),
            },
            on_failed: OnFailed::Keep,
        })?;
        Ok(match (status, plan) {
            (PlanStatus::Ready, _) => Some(key),
            (PlanStatus::Held, Err(reason)) | (PlanStatus::Failed(_), Err(reason)) => {
                report.held.push(Problem { key, reason });
                None
            }
            (PlanStatus::Failed(reason), Ok(_)) => {
                report.failed.push(Problem {
                    key,
                    reason: format!("{reason} (use `ml-connector replay` after fixing)"),
                });
                None
            }
            (PlanStatus::Posted, _) => {
                report.already_posted += 1;
                None
            }
            (PlanStatus::Dismissed, _) => {
                report.dismissed += 1;
                None
            }
            // Recovery at the start of the run resolves these; one still in doubt is looked up
            // by the next run before anything is sent.
            (PlanStatus::InDoubt(state), _) => {
                report.unknown.push(Problem {
                    key,
                    reason: format!("{state}: looked up in SAP by the next run"),
                });
                None
            }
            (PlanStatus::Held, Ok(_)) => None,
        })
    }

    /// Re-plans a held or failed document from its stored source and posts it if it is ready now
    /// (a settlement's key goes to [`Engine::replay_settlement`]).
    pub async fn replay(&self, key: &str) -> Result<ReplayOutcome> {
        // A dismissed document is re-opened (HELD) and re-planned like any held one.
        crate::ledger::dismiss::reopen(&mut *self.ledger(), key)?;
        let rec = self
            .ledger()
            .get(key)?
            .ok_or_else(|| anyhow::anyhow!("no document with key `{key}` in the ledger"))?;
        if rec.flow == super::settlements::FLOW {
            return self.replay_settlement(key).await;
        }
        if rec.flow == super::fba::FLOW
            && rec.kind == <super::fba::FbaAdjustment as crate::posting::SapDocument>::KIND
        {
            return self.replay_fba(key).await;
        }
        if rec.flow == FLOW
            && rec.kind == <cancel::CancellationNote as crate::posting::SapDocument>::KIND
        {
            return match rec.state {
                DocState::Posted => Ok(ReplayOutcome::AlreadyPosted {
                    doc_entry: rec.doc_entry,
                    doc_num: rec.doc_num,
                }),
                DocState::Sending | DocState::Unknown | DocState::Planned => Ok(
                    ReplayOutcome::Posted(self.post::<cancel::CancellationNote>(key).await?),
                ),
                DocState::Held | DocState::Failed | DocState::Dismissed => {
                    self.sap.connect().await.context("SAP login")?;
                    self.replay_cancellation(&rec).await
                }
            };
        }
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
            DocState::Held | DocState::Failed | DocState::Dismissed => {}
        }
        let source_id = rec
            .source_id
            .ok_or_else(|| anyhow::anyhow!("`{key}` has no stored source to re-plan from"))?;
        let source = self.ledger().source(source_id)?;
        let order: Order = serde_json::from_slice(&source.body)
            .with_context(|| format!("stored source of `{key}`"))?;
        self.sap.connect().await.context("SAP login")?;
        let plan = match self
            .check_plan(plan_invoice(&order, &self.config, key))
            .await?
        {
            OrderPlan::Invoice(doc) => Ok(doc),
            OrderPlan::Summarised => Err(SUMMARISED.to_owned()),
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
                    .replan(key, &serde_json::to_string(&Invoice(*doc))?, None)?;
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
    /// A settlement whose every part is in SAP.
    Settlement {
        /// Parts it was posted in.
        parts: usize,
        /// SAP documents over all parts.
        documents: usize,
        /// Posted before this replay: nothing was sent.
        already: bool,
    },
}
