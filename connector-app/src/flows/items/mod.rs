//! SAP items, prices and stock -> Amazon listing prices and merchant-fulfilled quantities.
//!
//! Each run: read the results of earlier feeds and read back earlier accepted changes (verify);
//! read the Items changed since the cursor (`UpdateDate`/`UpdateTime`, minute granularity, minus
//! an overlap) with their prices, and the stock of every item in the configured warehouses (stock
//! moves do not touch `UpdateDate`); work out what every SKU should show in every marketplace
//! ([`plan`]), sharing each item's merchant-fulfilled stock between its marketplaces and SKUs
//! after the orders SAP does not know yet (`plan::allocation`, `reserve`); compare with what the
//! ledger says Amazon has; send only the differences, by
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
mod push;
mod reserve;
mod verify;

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDateTime, SecondsFormat, Utc};
use futures::StreamExt;
use sap_b1_client::entities::{Item, YesNo};
use sap_b1_client::{Filter, Query, prop};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::{info, instrument};

use super::{Engine, Problem};
use crate::config::Config;
use crate::ledger::{Ledger, ListingState, ListingStatus};
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
    /// Merchant-fulfilled orders SAP has not booked yet (open on Amazon, or invoice not posted)
    /// whose units were taken out of the stock offered.
    pub orders_reserved: u64,
    /// Their units.
    pub units_reserved: u64,
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

/// What the prices read depend on; a cursor is only valid for the same.
fn price_fingerprint(cfg: &crate::config::ItemsConfig) -> String {
    use sha2::{Digest, Sha256};
    let mut text = format!(
        "{:?}|{:?}|{:?}",
        cfg.price_lists, cfg.rounding, cfg.marketplaces
    );
    if !cfg.rounding_by_currency.is_empty() {
        text.push_str(&format!("|{:?}", cfg.rounding_by_currency));
    }
    Sha256::digest(text.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
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
        // Frozen and active windows are whole days of the company's calendar.
        let today = started.date_naive();
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

        let (config, lists_ok) = self.usable_price_lists(&mut report).await?;
        let fingerprint = price_fingerprint(&self.config.items);
        // A cursor written under other price lists, rounding or marketplaces does not count:
        // every price is read again.
        let cursor = self.ledger().cursor(FLOW)?.and_then(|c| {
            let (at, fp) = c.split_once(' ')?;
            (fp == fingerprint)
                .then(|| NaiveDateTime::parse_from_str(at, CURSOR_FORMAT).ok())
                .flatten()
        });
        let (mut items, newest) = self.read_changed_items(cursor, &mut report).await?;
        if cursor.is_some() && !cfg.warehouses.is_empty() {
            let stock = self.read_stock(&mut report).await?;
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
            plan::targets(&items.values().cloned().collect::<Vec<_>>(), &config, today);
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
                        && config.items.price_lists.contains_key(&t.marketplace)
                        && unseen
                            .iter()
                            .any(|(sku, m, _)| *sku == t.sku && *m == t.marketplace)
                })
                .map(|t| t.item_code.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if !needs_price.is_empty() {
                for item in self.read_items_by_code(&needs_price, &mut report).await? {
                    if let Some(code) = item.item_code.clone() {
                        items.insert(code, item);
                    }
                }
            }
        }
        let (all_targets, problems) =
            plan::targets(&items.values().cloned().collect::<Vec<_>>(), &config, today);
        targets = all_targets;
        // One item's stock is shared by every marketplace and SKU it is offered on
        // merchant-fulfilled, after the orders SAP does not know yet.
        if !cfg.warehouses.is_empty() {
            let reserved = self.unbooked_units(&mut report).await?;
            let merchant = |t: &Target| {
                states
                    .get(&(t.sku.clone(), t.marketplace.clone()))
                    .and_then(|s| s.channel.as_deref())
                    == Some(plan::MERCHANT_CHANNEL)
            };
            plan::allocation::allocate(
                &mut targets,
                &cfg.allocation,
                &cfg.marketplaces,
                &reserved,
                merchant,
            );
        }
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
        // A failed push (or a price list not usable) is retried from the same cursor, so the
        // changes it concerns are read again.
        if report.failed == 0
            && lists_ok
            && !self.stopping()
            && let Some(newest) = newest
        {
            self.ledger().set_cursor(
                FLOW,
                &format!("{} {fingerprint}", newest.format(CURSOR_FORMAT)),
            )?;
        }
        info!(
            planned = report.planned.len(),
            updated = report.listings_updated,
            "items sync done"
        );
        Ok(report)
    }

    /// The configuration with only the price lists that can feed their marketplace: active, and
    /// gross where the marketplace's prices include tax (EU/UK VAT), net where they do not. A
    /// list that cannot is reported and its marketplace gets no price this run.
    async fn usable_price_lists(&self, report: &mut ItemsReport) -> Result<(Config, bool)> {
        let mut config = (*self.config).clone();
        // Item prices carry SAP's currency code, the configuration Amazon's ISO code.
        for list in config.items.price_lists.values_mut() {
            list.sap_currency = self.sap_currency(&list.currency).await?;
        }
        let mut unusable = Vec::new();
        for (marketplace, list) in &config.items.price_lists {
            let n = list.price_list;
            let found = self.sap.price_lists().get(n).await;
            let reason = match found {
                Err(e) => Some(format!("price list {n} cannot be read: {e}")),
                Ok(pl) => {
                    let gross = self
                        .config
                        .marketplaces
                        .get(marketplace)
                        .is_none_or(|m| m.prices_include_tax);
                    if pl.active == Some(YesNo::No) {
                        Some(format!("price list {n} is inactive"))
                    } else if gross && pl.is_gross_price == Some(YesNo::No) {
                        Some(format!(
                            "price list {n} holds net prices, but {marketplace} prices include tax: they would go to Amazon without VAT"
                        ))
                    } else if !gross && pl.is_gross_price == Some(YesNo::Yes) {
                        Some(format!(
                            "price list {n} holds gross prices, but {marketplace} prices exclude tax"
                        ))
                    } else {
                        None
                    }
                }
            };
            if let Some(reason) = reason {
                report.issue(
                    format!("sap:price-list:{n}:{marketplace}"),
                    format!("{reason}; no prices are sent to {marketplace} until it is fixed"),
                );
                unusable.push(marketplace.clone());
            }
        }
        config
            .items
            .price_lists
            .retain(|m, _| !unusable.contains(m));
        Ok((config, unusable.is_empty()))
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
                "ValidFrom",
                "ValidTo",
                "Frozen",
                "FrozenFrom",
                "FrozenTo",
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
        let items = collect_readable(
            self.sap.items().stream(&query),
            "SAP Items changed since the cursor",
            report,
        )
        .await?;
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
    async fn read_stock(&self, report: &mut ItemsReport) -> Result<Vec<Item>> {
        let query = Query::new()
            .select([
                "ItemCode",
                "Valid",
                "ValidFrom",
                "ValidTo",
                "Frozen",
                "FrozenFrom",
                "FrozenTo",
                "SalesItem",
                "ItemWarehouseInfoCollection",
            ])
            .page_size(PAGE_SIZE);
        collect_readable(self.sap.items().stream(&query), "SAP Items stock", report).await
    }

    /// Full records of a few items, by code (never by key path: codes may hold `/`).
    async fn read_items_by_code(
        &self,
        codes: &[String],
        report: &mut ItemsReport,
    ) -> Result<Vec<Item>> {
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
                    "ValidFrom",
                    "ValidTo",
                    "Frozen",
                    "FrozenFrom",
                    "FrozenTo",
                    "SalesItem",
                    "ItemPrices",
                    "ItemWarehouseInfoCollection",
                ])
                .page_size(PAGE_SIZE);
            let items =
                collect_readable(self.sap.items().stream(&query), "SAP Items by code", report)
                    .await?;
            out.extend(items);
        }
        Ok(out)
    }
}

/// Collects SAP items; a record SAP sent that does not parse is reported as an issue (the run goes
/// on with the others and its cursor stays, so the record is read again) instead of failing the run.
async fn collect_readable(
    stream: impl futures::Stream<Item = sap_b1_client::Result<Item>>,
    what: &str,
    report: &mut ItemsReport,
) -> Result<Vec<Item>> {
    let mut stream = std::pin::pin!(stream);
    let mut out = Vec::new();
    while let Some(record) = stream.next().await {
        match record {
            Ok(item) => out.push(item),
            Err(sap_b1_client::Error::Parse {
                context,
                json_path,
                source,
                ..
            }) => {
                report.failed += 1;
                report.issue(
                    format!("sap {context}"),
                    format!("SAP sent a record this connector cannot read ({context}, at {json_path}): {source}"),
                );
            }
            Err(e) => return Err(anyhow::Error::new(e).context(what.to_owned())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
