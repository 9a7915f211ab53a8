//! SAP items, prices and stock -> Amazon listing prices and merchant-fulfilled quantities.
//!
//! Each run: read the results of earlier feeds and read back earlier accepted changes (verify);
//! read the Items changed since the cursor (`UpdateDate`/`UpdateTime`, minute granularity, minus
//! an overlap) with their prices, and the stock of every item in the configured warehouses (stock
//! moves do not touch `UpdateDate`); work out what every SKU should show in every marketplace
//! ([`plan`]); compare with what the ledger says Amazon has; send only the differences, by
//! `patchListingsItem` per SKU or, above `feed_threshold` changes in a marketplace, as one
//! `JSON_LISTINGS_FEED`. Every push is audited under the listing's key
//! (`amz:{seller}:listing:{marketplace}:{sku}`) with before, after, Amazon's answer and issues; a
//! rejected change also opens a FAILED document so that `status` shows it until a later push of
//! that SKU is accepted.
//!
//! Which listings take a quantity is Amazon's to say: the channel of the listing's
//! `fulfillmentAvailability` (from `getListingsItem`, read once per SKU and marketplace and
//! refreshed on every read-back). `DEFAULT` is merchant-fulfilled and gets SAP's stock; `AMAZON_*`
//! is FBA, whose stock is Amazon's and is never sent. A config list could drift from Amazon; the
//! listing cannot.

pub mod plan;

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};
use sap_b1_client::entities::Item;
use sap_b1_client::{Filter, Query, prop};
use serde::Serialize;
use serde_json::{Value, json};
use sp_api_client::feeds::{FeedOutcome, ListingsFeed, ListingsFeedMessage};
use sp_api_client::listings::{
    IssueSeverity, ListingsIncludedData, ListingsItem, ListingsItemPatchRequest, PatchMode,
    SubmissionStatus,
};
use sp_api_client::types::FeedId;
use sp_api_client::{Money, Sku};
use tracing::{info, instrument, warn};

use super::{Engine, Problem};
use crate::ledger::{DocState, Ledger, ListingState, ListingStatus};
pub use plan::{Decision, ItemProblem, PlannedChange, Target, Verdict, listing_key};

/// Flow name in the ledger (documents and cursor).
pub const FLOW: &str = "items";

/// Cursor format: SAP's server-local `UpdateDate` + `UpdateTime` of the newest item seen.
const CURSOR_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
/// Items per Service Layer page (`Prefer: odata.maxpagesize`).
const PAGE_SIZE: u32 = 500;
/// Listings calls in flight (the client's token bucket paces them to Amazon's rate).
const CONCURRENCY: usize = 4;
/// A SKU without a listing is looked up again after this long.
const NOT_LISTED_RECHECK_HOURS: i64 = 24;
/// An accepted change Amazon still does not show after this long needs a person.
const NOT_APPLIED_HOURS: i64 = 24;
/// Item codes per `$filter` when prices of a few items are fetched.
const CODES_PER_FILTER: usize = 20;

/// Options of one items sync.
#[derive(Debug, Clone, Default)]
pub struct ItemsOptions {
    /// Read and plan, send nothing, change nothing.
    pub dry_run: bool,
}

/// What one items sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ItemsReport {
    /// Planned only.
    pub dry_run: bool,
    /// False when the config has no `[items]` section (nothing was done).
    pub enabled: bool,
    /// SAP time the changed-items read started from (`None`: every item was read).
    pub changed_since: Option<String>,
    /// Items read as changed (with prices).
    pub items_changed: u64,
    /// Items whose stock was read.
    pub items_stock_read: u64,
    /// Listings read from Amazon for the first time (channel, product type, current values).
    pub listings_read: u64,
    /// SKU and marketplace pairs without a listing on Amazon (nothing sent).
    pub not_listed: u64,
    /// The changes this run plans (sent unless a dry run).
    pub planned: Vec<PlannedChange>,
    /// Listing changes Amazon accepted in this run (patches and feed messages).
    pub listings_updated: u64,
    /// Changes sent by `patchListingsItem`.
    pub sent_by_patch: u64,
    /// Changes sent in feeds.
    pub sent_by_feed: u64,
    /// Feeds submitted or resolved in this run.
    pub feeds: Vec<String>,
    /// Earlier changes read back with the pushed values.
    pub verified: u64,
    /// Accepted changes not read back yet.
    pub awaiting_verification: u64,
    /// Changes Amazon refused in this run (also in `issues`).
    pub rejected: u64,
    /// SKUs whose desired values were refused before and are not sent again.
    pub still_rejected: u64,
    /// Pushes that failed (transport, throttling); retried on the next run.
    pub failed: u64,
    /// What needs a person: rejected changes with Amazon's issues, failed pushes, SAP item problems.
    pub issues: Vec<Problem>,
}

impl ItemsReport {
    /// Whether anything needs a person.
    pub fn needs_attention(&self) -> bool {
        !self.issues.is_empty()
    }

    fn issue(&mut self, key: String, reason: String) {
        self.issues.push(Problem { key, reason });
    }
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One audit row `(key, event, detail)`.
type AuditEntry = (String, String, String);

fn values(price: Option<rust_decimal::Decimal>, quantity: Option<i64>) -> Value {
    json!({"price": price.map(|p| p.to_string()), "quantity": quantity})
}

impl Engine {
    fn listing_key(&self, marketplace: &str, sku: &str) -> String {
        listing_key(&self.config.amazon.seller_id, marketplace, sku)
    }

    /// One items sync: resolve feeds, verify, read SAP, plan, push, then advance the cursor.
    #[instrument(skip(self))]
    pub async fn sync_items(&self, options: &ItemsOptions) -> Result<ItemsReport> {
        let cfg = &self.config.items;
        let mut report = ItemsReport {
            dry_run: options.dry_run,
            enabled: cfg.enabled,
            ..ItemsReport::default()
        };
        if !cfg.enabled {
            return Ok(report);
        }
        let started = Utc::now();
        self.sap.connect().await.context("SAP login")?;
        let mut states: HashMap<(String, String), ListingState> = self
            .ledger()
            .listing_states()?
            .into_iter()
            .map(|s| ((s.sku.clone(), s.marketplace.clone()), s))
            .collect();
        if !options.dry_run {
            self.resolve_pending_feeds(&mut states, &mut report).await?;
            self.verify_accepted(&mut states, started, &mut report)
                .await?;
        }
        if self.stopping() {
            return Ok(report);
        }

        let cursor = self
            .ledger()
            .cursor(FLOW)?
            .and_then(|c| NaiveDateTime::parse_from_str(&c, CURSOR_FORMAT).ok());
        let (mut items, newest) = self.read_changed_items(cursor, &mut report).await?;
        if cursor.is_some() && !cfg.warehouses.is_empty() {
            let stock = self.read_stock().await?;
            report.items_stock_read = stock.len() as u64;
            for item in stock {
                if let Some(code) = item.item_code.clone() {
                    items.entry(code).or_insert(item);
                }
            }
        } else {
            report.items_stock_read = items.len() as u64;
        }
        if self.stopping() {
            return Ok(report);
        }

        let (mut targets, _) =
            plan::targets(&items.values().cloned().collect::<Vec<_>>(), &self.config);
        // First sight of a listing: read it from Amazon (channel, product type, current values).
        let recheck = started - Duration::hours(NOT_LISTED_RECHECK_HOURS);
        let mut unseen: Vec<(String, String, String)> = targets
            .iter()
            .filter(
                |t| match states.get(&(t.sku.clone(), t.marketplace.clone())) {
                    None => true,
                    Some(s) => {
                        s.status == ListingStatus::NotListed
                            && DateTime::parse_from_rfc3339(&s.checked_at)
                                .is_ok_and(|at| at.to_utc() < recheck)
                    }
                },
            )
            .map(|t| (t.sku.clone(), t.marketplace.clone(), t.item_code.clone()))
            .collect();
        unseen.sort();
        unseen.dedup();
        if !unseen.is_empty() {
            let seen = self.read_listings(&unseen, &mut report).await?;
            if !options.dry_run {
                self.ledger().put_listing_states(&seen, &[])?;
            }
            for s in seen {
                states.insert((s.sku.clone(), s.marketplace.clone()), s);
            }
            // A newly seen listing needs its item's price even when the item did not change.
            let needs_price: Vec<String> = targets
                .iter()
                .filter(|t| {
                    t.price.is_none()
                        && cfg.price_lists.contains_key(&t.marketplace)
                        && unseen
                            .iter()
                            .any(|(sku, m, _)| *sku == t.sku && *m == t.marketplace)
                })
                .map(|t| t.item_code.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if !needs_price.is_empty() {
                for item in self.read_items_by_code(&needs_price).await? {
                    if let Some(code) = item.item_code.clone() {
                        items.insert(code, item);
                    }
                }
            }
        }
        let (all_targets, problems) =
            plan::targets(&items.values().cloned().collect::<Vec<_>>(), &self.config);
        targets = all_targets;
        for p in problems {
            report.issue(
                format!(
                    "sap:item:{}{}",
                    p.item_code,
                    p.marketplace
                        .as_deref()
                        .map(|m| format!(":{m}"))
                        .unwrap_or_default()
                ),
                p.reason,
            );
        }

        let mut changes = Vec::new();
        let mut resolved = Vec::new();
        for t in &targets {
            let Some(state) = states.get(&(t.sku.clone(), t.marketplace.clone())) else {
                continue;
            };
            match plan::diff(t, state) {
                Decision::Unchanged => {}
                Decision::NotListed => report.not_listed += 1,
                Decision::StillRejected => report.still_rejected += 1,
                Decision::Moot if !options.dry_run => {
                    let mut s = state.clone();
                    let key = self.listing_key(&s.marketplace, &s.sku);
                    s.status = ListingStatus::Observed;
                    s.sent_price = None;
                    s.sent_quantity = None;
                    self.close_problem(&mut s, &key, "SAP now asks for what Amazon has")?;
                    let audit = (
                        key,
                        "resolved".to_owned(),
                        json!({"result": "the refused change is no longer wanted"}).to_string(),
                    );
                    self.ledger()
                        .put_listing_states(std::slice::from_ref(&s), &[audit])?;
                    resolved.push(s);
                }
                Decision::Moot => {}
                Decision::Change(c) => changes.push(c),
            }
        }
        for s in resolved {
            states.insert((s.sku.clone(), s.marketplace.clone()), s);
        }
        changes.sort_by(|a, b| (&a.marketplace, &a.sku).cmp(&(&b.marketplace, &b.sku)));
        report.planned = changes.clone();
        if options.dry_run || self.stopping() {
            return Ok(report);
        }

        let mut by_marketplace: BTreeMap<String, Vec<PlannedChange>> = BTreeMap::new();
        for c in changes {
            by_marketplace
                .entry(c.marketplace.clone())
                .or_default()
                .push(c);
        }
        for (marketplace, changes) in by_marketplace {
            if self.stopping() {
                return Ok(report);
            }
            if changes.len() > cfg.feed_threshold {
                self.push_feed(&marketplace, changes, &mut states, &mut report)
                    .await?;
            } else {
                self.push_patches(changes, &mut states, &mut report).await?;
            }
        }
        // A failed push is retried from the same cursor, so the change that caused it is read again.
        if report.failed == 0
            && !self.stopping()
            && let Some(newest) = newest
        {
            self.ledger()
                .set_cursor(FLOW, &newest.format(CURSOR_FORMAT).to_string())?;
        }
        info!(
            planned = report.planned.len(),
            updated = report.listings_updated,
            "items sync done"
        );
        Ok(report)
    }

    /// Items changed since the cursor minus the overlap (all items without a cursor), with their
    /// prices, status and stock; and the newest `UpdateDate`/`UpdateTime` among them.
    async fn read_changed_items(
        &self,
        cursor: Option<NaiveDateTime>,
        report: &mut ItemsReport,
    ) -> Result<(BTreeMap<String, Item>, Option<NaiveDateTime>)> {
        let mut query = Query::new()
            .select([
                "ItemCode",
                "Valid",
                "Frozen",
                "SalesItem",
                "ItemPrices",
                "ItemWarehouseInfoCollection",
                "UpdateDate",
                "UpdateTime",
            ])
            .page_size(PAGE_SIZE);
        if let Some(cursor) = cursor {
            let from = cursor - Duration::from_std(self.config.items.overlap)?;
            report.changed_since = Some(from.format(CURSOR_FORMAT).to_string());
            query = query.filter(Filter::changed_since(from.date(), from.time()));
        }
        let items: Vec<Item> = self
            .sap
            .items()
            .stream(&query)
            .try_collect()
            .await
            .context("SAP Items changed since the cursor")?;
        report.items_changed = items.len() as u64;
        let newest = items
            .iter()
            .filter_map(|i| Some(NaiveDateTime::new(i.update_date?.0, i.update_time?.0)))
            .chain(cursor)
            .max();
        let by_code = items
            .into_iter()
            .filter_map(|i| Some((i.item_code.clone()?, i)))
            .collect();
        Ok((by_code, newest))
    }

    /// Status and warehouse stock of every item (stock moves do not change `UpdateDate`).
    async fn read_stock(&self) -> Result<Vec<Item>> {
        let query = Query::new()
            .select([
                "ItemCode",
                "Valid",
                "Frozen",
                "SalesItem",
                "ItemWarehouseInfoCollection",
            ])
            .page_size(PAGE_SIZE);
        self.sap
            .items()
            .stream(&query)
            .try_collect()
            .await
            .context("SAP Items stock")
    }

    /// Full records of a few items, by code (never by key path: codes may hold `/`).
    async fn read_items_by_code(&self, codes: &[String]) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        for chunk in codes.chunks(CODES_PER_FILTER) {
            let filter = chunk
                .iter()
                .map(|c| prop("ItemCode").eq(c.as_str()))
                .reduce(Filter::or)
                .expect("chunks are not empty");
            let query = Query::new()
                .filter(filter)
                .select([
                    "ItemCode",
                    "Valid",
                    "Frozen",
                    "SalesItem",
                    "ItemPrices",
                    "ItemWarehouseInfoCollection",
                ])
                .page_size(PAGE_SIZE);
            let items: Vec<Item> = self
                .sap
                .items()
                .stream(&query)
                .try_collect()
                .await
                .context("SAP Items by code")?;
            out.extend(items);
        }
        Ok(out)
    }

    async fn get_listing(
        &self,
        sku: &str,
        marketplace: &str,
    ) -> std::result::Result<Option<ListingsItem>, sp_api_client::Error> {
        let included = [
            ListingsIncludedData::Summaries,
            ListingsIncludedData::Offers,
            ListingsIncludedData::FulfillmentAvailability,
            ListingsIncludedData::Issues,
        ];
        match self
            .amazon
            .get_listings_item(&Sku::from(sku), marketplace, &included)
            .await
        {
            Ok(l) => Ok(Some(l)),
            Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads listings seen for the first time; a SKU Amazon does not know is stored NOT_LISTED.
    async fn read_listings(
        &self,
        pairs: &[(String, String, String)],
        report: &mut ItemsReport,
    ) -> Result<Vec<ListingState>> {
        let results: Vec<_> = futures::stream::iter(pairs.iter().cloned())
            .map(|(sku, marketplace, item_code)| async move {
                let listing = self.get_listing(&sku, &marketplace).await;
                (sku, marketplace, item_code, listing)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut out = Vec::new();
        for (sku, marketplace, item_code, listing) in results {
            let listing = listing
                .with_context(|| format!("Amazon getListingsItem {sku} in {marketplace}"))?;
            report.listings_read += 1;
            out.push(observed(sku, marketplace, item_code, listing.as_ref()));
        }
        Ok(out)
    }

    /// Sends each change as one `patchListingsItem` (price and quantity in one request).
    async fn push_patches(
        &self,
        changes: Vec<PlannedChange>,
        states: &mut HashMap<(String, String), ListingState>,
        report: &mut ItemsReport,
    ) -> Result<()> {
        let jobs: Vec<(PlannedChange, ListingState)> = changes
            .into_iter()
            .filter_map(|c| {
                let s = states.get(&(c.sku.clone(), c.marketplace.clone()))?.clone();
                Some((c, s))
            })
            .collect();
        let results: Vec<_> = futures::stream::iter(jobs)
            .filter(|_| std::future::ready(!self.stopping()))
            .map(|(change, state)| async move {
                let request = patch_request(&change, &state);
                let answer = self
                    .amazon
                    .patch_listings_item(
                        &Sku::from(change.sku.as_str()),
                        &change.marketplace,
                        &request,
                        PatchMode::Apply,
                    )
                    .await;
                (change, state, answer)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let at = now_rfc3339();
        for (change, mut state, answer) in results {
            let key = self.listing_key(&change.marketplace, &change.sku);
            let before = values(change.price_old, change.quantity_old);
            let after = values(change.price_new, change.quantity_new.map(i64::from));
            report.sent_by_patch += 1;
            let answer = match answer {
                Ok(a) => a,
                Err(e) => {
                    report.failed += 1;
                    let reason = format!("patchListingsItem failed: {e}");
                    warn!(%key, %reason);
                    report.issue(key.clone(), reason.clone());
                    let detail = json!({"before": before, "after": after, "error": reason});
                    self.ledger()
                        .put_listing_states(&[], &[(key, "push".into(), detail.to_string())])?;
                    continue;
                }
            };
            let issues: Vec<Value> = answer
                .issues
                .iter()
                .map(|i| json!({"code": i.code, "message": i.message, "severity": i.severity.as_str(), "attributeNames": i.attribute_names}))
                .collect();
            let accepted = answer.is_ok() && answer.status == SubmissionStatus::Accepted;
            record_sent(&mut state, &change, &at);
            state.submission = Some(answer.submission_id.clone());
            state.issues = (!issues.is_empty()).then(|| Value::from(issues.clone()).to_string());
            let detail = json!({
                "via": "patchListingsItem",
                "before": before,
                "after": after,
                "response": {"status": answer.status.as_str(), "submissionId": answer.submission_id},
                "issues": issues,
            });
            let audit = vec![(key.clone(), "push".to_owned(), detail.to_string())];
            if accepted {
                report.listings_updated += 1;
                self.accept(&mut state, &key, audit, "accepted by patchListingsItem")?;
            } else {
                let reason = issue_summary(
                    &answer
                        .issues
                        .iter()
                        .map(|i| format!("{} {}", i.code, i.message))
                        .collect::<Vec<_>>(),
                    answer.status.as_str(),
                );
                self.reject(&mut state, &key, audit, &reason, report)?;
            }
            states.insert((state.sku.clone(), state.marketplace.clone()), state);
        }
        Ok(())
    }

    /// Sends one marketplace's changes as one `JSON_LISTINGS_FEED`, waits for it and records
    /// each SKU's result from the processing report.
    async fn push_feed(
        &self,
        marketplace: &str,
        changes: Vec<PlannedChange>,
        states: &mut HashMap<(String, String), ListingState>,
        report: &mut ItemsReport,
    ) -> Result<()> {
        let mut messages = Vec::new();
        let mut rows = Vec::new();
        for (i, change) in changes.iter().enumerate() {
            let Some(state) = states.get(&(change.sku.clone(), change.marketplace.clone())) else {
                continue;
            };
            let message_id = u32::try_from(i + 1).unwrap_or(u32::MAX);
            messages.push(ListingsFeedMessage::patch(
                message_id,
                Sku::from(change.sku.as_str()),
                patch_request(change, state),
            ));
            rows.push((message_id, change.clone(), state.clone()));
        }
        let feed = ListingsFeed {
            seller_id: self.config.amazon.seller_id.clone(),
            messages,
        };
        let handle = match self
            .amazon
            .submit_listings_feed(&feed, &[marketplace])
            .await
        {
            Ok(h) => h,
            Err(e) => {
                report.failed += rows.len() as u64;
                report.issue(
                    format!(
                        "amz:{}:listings-feed:{marketplace}",
                        self.config.amazon.seller_id
                    ),
                    format!(
                        "JSON_LISTINGS_FEED for {} changes could not be submitted: {e}",
                        rows.len()
                    ),
                );
                return Ok(());
            }
        };
        let feed_id = handle.feed_id.as_str().to_owned();
        info!(%feed_id, messages = rows.len(), "listings feed submitted");
        report.feeds.push(feed_id.clone());
        report.sent_by_feed += rows.len() as u64;
        // Stored before waiting: a crash or a timeout leaves rows a later run resolves.
        let at = now_rfc3339();
        let mut pending = Vec::new();
        let mut audit = Vec::new();
        for (message_id, change, mut state) in rows {
            record_sent(&mut state, &change, &at);
            state.status = ListingStatus::Pending;
            state.submission = Some(format!("feed:{feed_id}:{message_id}"));
            let detail = json!({
                "via": "JSON_LISTINGS_FEED",
                "feedId": feed_id,
                "messageId": message_id,
                "before": values(change.price_old, change.quantity_old),
                "after": values(change.price_new, change.quantity_new.map(i64::from)),
            });
            audit.push((
                self.listing_key(&state.marketplace, &state.sku),
                "push".to_owned(),
                detail.to_string(),
            ));
            pending.push(state);
        }
        self.ledger().put_listing_states(&pending, &audit)?;
        for s in pending {
            states.insert((s.sku.clone(), s.marketplace.clone()), s);
        }
        let cfg = &self.config.items;
        match handle.wait(cfg.feed_poll, cfg.feed_timeout).await {
            Ok(outcome) => self.finish_feed(&feed_id, outcome, states, report).await,
            Err(e) => {
                warn!(%feed_id, error = %e, "feed not finished; its result is read on a later run");
                Ok(())
            }
        }
    }

    /// Reads feeds left PENDING by earlier runs.
    async fn resolve_pending_feeds(
        &self,
        states: &mut HashMap<(String, String), ListingState>,
        report: &mut ItemsReport,
    ) -> Result<()> {
        let mut feeds: Vec<String> = states
            .values()
            .filter(|s| s.status == ListingStatus::Pending)
            .filter_map(|s| feed_of(s.submission.as_deref()?).map(|(f, _)| f.to_owned()))
            .collect();
        feeds.sort();
        feeds.dedup();
        for feed_id in feeds {
            let feed = self
                .amazon
                .get_feed(&FeedId(feed_id.clone()))
                .await
                .with_context(|| format!("Amazon getFeed {feed_id}"))?;
            use sp_api_client::reports::ProcessingStatus as S;
            let outcome = match feed.processing_status {
                S::Done => FeedOutcome::Done(feed),
                S::Cancelled | S::Fatal => FeedOutcome::Cancelled(feed),
                _ => continue,
            };
            report.feeds.push(feed_id.clone());
            self.finish_feed(&feed_id, outcome, states, report).await?;
        }
        Ok(())
    }

    /// Records each message's result: an ERROR issue rejects that SKU, the rest are accepted.
    async fn finish_feed(
        &self,
        feed_id: &str,
        outcome: FeedOutcome,
        states: &mut HashMap<(String, String), ListingState>,
        report: &mut ItemsReport,
    ) -> Result<()> {
        let rows: Vec<ListingState> = states
            .values()
            .filter(|s| {
                s.status == ListingStatus::Pending
                    && s.submission
                        .as_deref()
                        .and_then(feed_of)
                        .is_some_and(|(f, _)| f == feed_id)
            })
            .cloned()
            .collect();
        let done = match outcome {
            FeedOutcome::Done(feed) => feed,
            other => {
                // Nothing was applied: back to what Amazon had, so the next run plans them again.
                let mut audit = Vec::new();
                let mut reverted = Vec::new();
                for mut s in rows {
                    s.status = ListingStatus::Observed;
                    s.sent_price = None;
                    s.sent_quantity = None;
                    audit.push((
                        self.listing_key(&s.marketplace, &s.sku),
                        "feed-result".to_owned(),
                        json!({"feedId": feed_id, "result": format!("{other:?}")}).to_string(),
                    ));
                    reverted.push(s);
                }
                report.failed += reverted.len() as u64;
                report.issue(
                    format!(
                        "amz:{}:listings-feed:{feed_id}",
                        self.config.amazon.seller_id
                    ),
                    format!(
                        "feed {feed_id} was cancelled or failed: {} changes will be planned again",
                        reverted.len()
                    ),
                );
                self.ledger().put_listing_states(&reverted, &audit)?;
                for s in reverted {
                    states.insert((s.sku.clone(), s.marketplace.clone()), s);
                }
                return Ok(());
            }
        };
        let result = self
            .amazon
            .listings_feed_result(&done)
            .await
            .with_context(|| format!("processing report of feed {feed_id}"))?;
        let mut by_message: HashMap<u32, Vec<&sp_api_client::feeds::FeedIssue>> = HashMap::new();
        let mut by_sku: HashMap<&str, Vec<&sp_api_client::feeds::FeedIssue>> = HashMap::new();
        for issue in &result.issues {
            match (issue.message_id, issue.sku.as_ref()) {
                (Some(m), _) => by_message.entry(m).or_default().push(issue),
                (None, Some(sku)) => by_sku.entry(sku.as_str()).or_default().push(issue),
                _ => {}
            }
        }
        let mut accepted = Vec::new();
        let mut audit = Vec::new();
        let mut rejected = Vec::new();
        for mut s in rows {
            let message_id = s.submission.as_deref().and_then(feed_of).map(|(_, m)| m);
            let issues: Vec<&sp_api_client::feeds::FeedIssue> = message_id
                .and_then(|m| by_message.get(&m))
                .or_else(|| by_sku.get(s.sku.as_str()))
                .cloned()
                .unwrap_or_default();
            let errors: Vec<String> = issues
                .iter()
                .filter(|i| i.severity == IssueSeverity::Error)
                .map(|i| format!("{} {}", i.code, i.message))
                .collect();
            let key = self.listing_key(&s.marketplace, &s.sku);
            let detail = json!({
                "via": "JSON_LISTINGS_FEED",
                "feedId": feed_id,
                "messageId": message_id,
                "result": if errors.is_empty() { "ACCEPTED" } else { "INVALID" },
                "after": values(s.sent_price, s.sent_quantity),
                "issues": issues.iter().map(|i| json!({"code": i.code, "message": i.message, "severity": i.severity.as_str(), "attributeName": i.attribute_name})).collect::<Vec<_>>(),
            });
            let entry = (key.clone(), "feed-result".to_owned(), detail.to_string());
            s.issues = (!issues.is_empty()).then(|| detail["issues"].to_string());
            if errors.is_empty() {
                audit.push(entry);
                s.status = ListingStatus::Accepted;
                s.price = s.sent_price.or(s.price);
                s.quantity = s.sent_quantity.or(s.quantity);
                accepted.push(s);
            } else {
                rejected.push((s, issue_summary(&errors, "INVALID"), entry));
            }
        }
        report.listings_updated += accepted.len() as u64;
        info!(
            feed_id,
            accepted = accepted.len(),
            rejected = rejected.len(),
            "feed result recorded"
        );
        // Accepted rows that close an open rejection are resolved one by one; the rest in bulk.
        let (reopened, plain): (Vec<_>, Vec<_>) =
            accepted.into_iter().partition(|s| s.problem_key.is_some());
        self.ledger().put_listing_states(&plain, &audit)?;
        for mut s in reopened {
            let key = self.listing_key(&s.marketplace, &s.sku);
            self.accept(&mut s, &key, Vec::new(), "accepted in a listings feed")?;
            states.insert((s.sku.clone(), s.marketplace.clone()), s);
        }
        for s in plain {
            states.insert((s.sku.clone(), s.marketplace.clone()), s);
        }
        for (mut s, reason, entry) in rejected {
            let key = self.listing_key(&s.marketplace, &s.sku);
            self.reject(&mut s, &key, vec![entry], &reason, report)?;
            states.insert((s.sku.clone(), s.marketplace.clone()), s);
        }
        Ok(())
    }

    /// Reads back changes accepted before this run and at least `verify_after` old.
    async fn verify_accepted(
        &self,
        states: &mut HashMap<(String, String), ListingState>,
        started: DateTime<Utc>,
        report: &mut ItemsReport,
    ) -> Result<()> {
        let due_before = started - Duration::from_std(self.config.items.verify_after)?;
        let due: Vec<ListingState> = states
            .values()
            .filter(|s| s.status == ListingStatus::Accepted)
            .filter(|s| {
                s.pushed_at
                    .as_deref()
                    .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
                    .is_some_and(|p| p.to_utc() <= due_before)
            })
            .cloned()
            .collect();
        let not_due = states
            .values()
            .filter(|s| s.status == ListingStatus::Accepted)
            .count()
            - due.len();
        let results: Vec<_> = futures::stream::iter(due)
            .map(|s| async move {
                let listing = self.get_listing(&s.sku, &s.marketplace).await;
                (s, listing)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let at = now_rfc3339();
        let mut verified = Vec::new();
        let mut audit = Vec::new();
        let mut waiting = not_due as u64;
        for (mut s, listing) in results {
            let key = self.listing_key(&s.marketplace, &s.sku);
            let listing = match listing {
                Ok(l) => l,
                Err(e) => {
                    warn!(%key, error = %e, "read-back failed; tried again next run");
                    waiting += 1;
                    continue;
                }
            };
            let Some(listing) = listing else {
                s.status = ListingStatus::NotListed;
                s.channel = None;
                s.checked_at = at.clone();
                audit.push((
                    key.clone(),
                    "verify".into(),
                    json!({"result": "listing no longer exists"}).to_string(),
                ));
                verified.push(s);
                continue;
            };
            // The channel may have changed (MFN <-> FBA): keep it current.
            if let Some(c) = listing.fulfillment_availability.first() {
                s.channel = Some(c.fulfillment_channel_code.clone());
            }
            s.checked_at = at.clone();
            match plan::judge(&s, &listing) {
                Verdict::Applied => {
                    report.verified += 1;
                    s.status = ListingStatus::Verified;
                    audit.push((key, "verify".into(), json!({"result": "applied", "shows": values(listing.price_in(&s.marketplace).map(|m| m.amount), listing.merchant_quantity().map(i64::from))}).to_string()));
                    verified.push(s);
                }
                Verdict::NotYet => {
                    waiting += 1;
                    let overdue = s
                        .pushed_at
                        .as_deref()
                        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
                        .is_some_and(|p| p.to_utc() < started - Duration::hours(NOT_APPLIED_HOURS));
                    if overdue {
                        report.issue(
                            key,
                            format!(
                                "accepted more than {NOT_APPLIED_HOURS} h ago but Amazon still does not show it (sent {})",
                                values(s.sent_price, s.sent_quantity)
                            ),
                        );
                    }
                    verified.push(s);
                }
                Verdict::Rejected(errors) => {
                    // Amazon still shows what it had before the push.
                    s.price = listing
                        .price_in(&s.marketplace)
                        .map(|m| m.amount)
                        .or(s.price);
                    s.quantity = listing.merchant_quantity().map(i64::from).or(s.quantity);
                    s.issues = Some(json!(errors).to_string());
                    let detail = json!({"result": "rejected", "issues": errors});
                    let reason = issue_summary(&errors, "rejected after ACCEPTED");
                    self.reject(
                        &mut s,
                        &key,
                        vec![(key.clone(), "verify".into(), detail.to_string())],
                        &reason,
                        report,
                    )?;
                    states.insert((s.sku.clone(), s.marketplace.clone()), s);
                }
            }
        }
        report.awaiting_verification = waiting;
        self.ledger().put_listing_states(&verified, &audit)?;
        for s in verified {
            states.insert((s.sku.clone(), s.marketplace.clone()), s);
        }
        Ok(())
    }

    /// Stores an accepted push; closes the SKU's open rejection document, if any.
    fn accept(
        &self,
        state: &mut ListingState,
        key: &str,
        audit: Vec<AuditEntry>,
        why: &str,
    ) -> Result<()> {
        state.status = ListingStatus::Accepted;
        state.price = state.sent_price.or(state.price);
        state.quantity = state.sent_quantity.or(state.quantity);
        self.close_problem(state, key, why)?;
        self.ledger()
            .put_listing_states(std::slice::from_ref(state), &audit)?;
        Ok(())
    }

    /// Closes the SKU's open rejection document (FAILED -> PLANNED -> POSTED, audited).
    fn close_problem(&self, state: &mut ListingState, key: &str, why: &str) -> Result<()> {
        let mut ledger = self.ledger();
        if let Some(problem) = state.problem_key.take()
            && let Some(doc) = ledger.get(&problem)?
            && doc.state == DocState::Failed
        {
            ledger.replan(&problem, &doc.payload, None)?;
            ledger.transition(
                &problem,
                DocState::Posted,
                &format!("resolved: {key} {why}"),
            )?;
        }
        Ok(())
    }

    /// Stores a rejected push and opens (or updates) a FAILED document so `status` shows it.
    fn reject(
        &self,
        state: &mut ListingState,
        key: &str,
        audit: Vec<AuditEntry>,
        reason: &str,
        report: &mut ItemsReport,
    ) -> Result<()> {
        report.rejected += 1;
        report.issue(key.to_owned(), reason.to_owned());
        state.status = ListingStatus::Rejected;
        let mut ledger = self.ledger();
        let open = match &state.problem_key {
            Some(p) => ledger.get(p)?.filter(|d| d.state == DocState::Failed),
            None => None,
        };
        match open {
            Some(doc) => ledger.audit(&doc.key, "rejected", reason)?,
            None => {
                let problem = format!(
                    "{key}:rejected:{}",
                    state.submission.as_deref().unwrap_or("unknown")
                );
                let payload = json!({
                    "sku": state.sku, "marketplace": state.marketplace, "item_code": state.item_code,
                    "sent": values(state.sent_price, state.sent_quantity),
                })
                .to_string();
                ledger.plan(&problem, FLOW, "listing", None, &payload, Some(reason))?;
                if ledger
                    .get(&problem)?
                    .is_some_and(|d| d.state == DocState::Held)
                {
                    ledger.transition(&problem, DocState::Failed, reason)?;
                }
                state.problem_key = Some(problem);
            }
        }
        // Amazon's answer also goes on the document `status` points at.
        if let Some(problem) = &state.problem_key {
            for (_, event, detail) in &audit {
                ledger.audit(problem, event, detail)?;
            }
        }
        ledger.put_listing_states(std::slice::from_ref(state), &audit)?;
        Ok(())
    }
}

/// The listing state of a first sight (`None`: not listed in that marketplace).
fn observed(
    sku: String,
    marketplace: String,
    item_code: String,
    listing: Option<&ListingsItem>,
) -> ListingState {
    let mut state = ListingState {
        sku,
        marketplace,
        item_code,
        channel: None,
        product_type: None,
        currency: None,
        price: None,
        quantity: None,
        status: ListingStatus::NotListed,
        sent_price: None,
        sent_quantity: None,
        submission: None,
        issues: None,
        problem_key: None,
        pushed_at: None,
        checked_at: now_rfc3339(),
    };
    let Some(l) = listing else {
        return state;
    };
    state.status = ListingStatus::Observed;
    // No availability at all: a merchant listing that never had a quantity.
    state.channel = Some(
        l.fulfillment_availability
            .first()
            .map(|f| f.fulfillment_channel_code.clone())
            .unwrap_or_else(|| plan::MERCHANT_CHANNEL.to_owned()),
    );
    state.product_type = l
        .summaries
        .iter()
        .find(|s| s.marketplace_id == state.marketplace)
        .or(l.summaries.first())
        .map(|s| s.product_type.clone());
    if let Some(price) = l.price_in(&state.marketplace) {
        state.price = Some(price.amount);
        state.currency = Some(price.currency_code.clone());
    }
    state.quantity = l.merchant_quantity().map(i64::from);
    if !l.issues.is_empty() {
        state.issues = Some(
            Value::from(
                l.issues
                    .iter()
                    .map(|i| format!("{} {} {}", i.severity.as_str(), i.code, i.message))
                    .collect::<Vec<_>>(),
            )
            .to_string(),
        );
    }
    state
}

/// The patch for a change: price (`purchasable_offer` merge) and/or quantity
/// (`fulfillment_availability` merge) in one request.
fn patch_request(change: &PlannedChange, state: &ListingState) -> ListingsItemPatchRequest {
    let product_type = state
        .product_type
        .clone()
        .unwrap_or_else(|| "PRODUCT".to_owned());
    let price = change.price_new.map(|p| {
        let currency = change.currency.clone().unwrap_or_default();
        ListingsItemPatchRequest::price(
            product_type.clone(),
            &change.marketplace,
            &Money::new(p, currency),
        )
    });
    let quantity = change
        .quantity_new
        .map(|q| ListingsItemPatchRequest::quantity(product_type.clone(), q));
    match (price, quantity) {
        (Some(p), Some(q)) => p.and(q),
        (Some(p), None) => p,
        (None, Some(q)) => q,
        (None, None) => unreachable!("a planned change sends a price or a quantity"),
    }
}

/// Marks what a push sends.
fn record_sent(state: &mut ListingState, change: &PlannedChange, at: &str) {
    state.sent_price = change.price_new;
    state.sent_quantity = change.quantity_new.map(i64::from);
    // The listing's currency stays Amazon's; a refused price in another currency must not change it.
    if state.currency.is_none() && change.price_new.is_some() {
        state.currency = change.currency.clone();
    }
    state.pushed_at = Some(at.to_owned());
    state.issues = None;
}

/// `feed:{feedId}:{messageId}` -> (feed id, message id).
fn feed_of(submission: &str) -> Option<(&str, u32)> {
    let rest = submission.strip_prefix("feed:")?;
    let (feed, message) = rest.rsplit_once(':')?;
    Some((feed, message.parse().ok()?))
}

fn issue_summary(errors: &[String], status: &str) -> String {
    if errors.is_empty() {
        format!("Amazon answered {status}")
    } else {
        format!("Amazon refused the change: {}", errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_submissions_round_trip() {
        assert_eq!(feed_of("feed:50000000012:17"), Some(("50000000012", 17)));
        assert_eq!(feed_of("0f3a9c"), None);
    }
}
