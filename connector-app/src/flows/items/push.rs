//! Sending planned changes: one `patchListingsItem` per SKU, or one `JSON_LISTINGS_FEED` per
//! marketplace above the threshold, and recording each SKU's result (feeds also on a later run
//! when processing outlasts the wait).

use std::collections::HashMap;

use anyhow::{Context, Result};
use futures::StreamExt;
use serde_json::{Value, json};
use sp_api_client::feeds::{FeedIssue, FeedOutcome, ListingsFeed, ListingsFeedMessage};
use sp_api_client::listings::{
    IssueSeverity, ListingsItemPatchRequest, PatchMode, SubmissionStatus,
};
use sp_api_client::types::FeedId;
use sp_api_client::{Money, Sku};
use tracing::{info, warn};

use super::verify::issue_summary;
use super::{CONCURRENCY, ItemsReport, PlannedChange, now_rfc3339, values};
use crate::flows::Engine;
use crate::ledger::{Ledger, ListingState, ListingStatus};

impl Engine {
    /// Sends each change as one `patchListingsItem` (price and quantity in one request).
    pub(super) async fn push_patches(
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
                crate::failpoint::hit("listing.after_push_before_record");
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
    pub(super) async fn push_feed(
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
        let handle = match self.amazon.submit_listings_feed(&feed, marketplace).await {
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
    pub(super) async fn resolve_pending_feeds(
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
            let feed = match self.amazon.get_feed(&FeedId(feed_id.clone())).await {
                Ok(feed) => feed,
                Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => {
                    self.revert_feed(&feed_id, "unknown to Amazon", states, report)?;
                    continue;
                }
                Err(e) => {
                    // Still pending: its SKUs are not sent again until the feed is read.
                    warn!(%feed_id, error = %e, "getFeed failed; tried again next run");
                    report.issue(
                        format!(
                            "amz:{}:listings-feed:{feed_id}",
                            self.config.amazon.seller_id
                        ),
                        format!("feed {feed_id} cannot be read yet: {e}"),
                    );
                    continue;
                }
            };
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

    /// A feed that applied nothing (cancelled, fatal, unknown): its SKUs go back to what Amazon
    /// had, so the next run plans them again.
    fn revert_feed(
        &self,
        feed_id: &str,
        why: &str,
        states: &mut HashMap<(String, String), ListingState>,
        report: &mut ItemsReport,
    ) -> Result<()> {
        let mut audit = Vec::new();
        let mut reverted = Vec::new();
        for mut s in pending_rows(states, feed_id) {
            s.status = ListingStatus::Observed;
            s.sent_price = None;
            s.sent_quantity = None;
            audit.push((
                self.listing_key(&s.marketplace, &s.sku),
                "feed-result".to_owned(),
                json!({"feedId": feed_id, "result": why}).to_string(),
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
                "feed {feed_id} applied nothing ({why}): {} changes will be planned again",
                reverted.len()
            ),
        );
        self.ledger().put_listing_states(&reverted, &audit)?;
        for s in reverted {
            states.insert((s.sku.clone(), s.marketplace.clone()), s);
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
        let done = match outcome {
            FeedOutcome::Done(feed) => feed,
            other => {
                let why = format!("{other:?}");
                return self.revert_feed(feed_id, &why, states, report);
            }
        };
        let rows = pending_rows(states, feed_id);
        let result = self
            .amazon
            .listings_feed_result(&done)
            .await
            .with_context(|| format!("processing report of feed {feed_id}"))?;
        let index = FeedIssues::new(&result.issues);
        let mut accepted = Vec::new();
        let mut audit = Vec::new();
        let mut rejected = Vec::new();
        for mut s in rows {
            let message_id = s.submission.as_deref().and_then(feed_of).map(|(_, m)| m);
            let issues = index.of(message_id, &s.sku);
            let errors: Vec<String> = issues
                .iter()
                .filter(|i| i.severity == IssueSeverity::Error)
                .map(|i| match &i.code {
                    Some(code) => format!("{code} {}", i.message),
                    None => i.message.clone(),
                })
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

/// The rows waiting for a feed's result.
fn pending_rows(
    states: &HashMap<(String, String), ListingState>,
    feed_id: &str,
) -> Vec<ListingState> {
    states
        .values()
        .filter(|s| {
            s.status == ListingStatus::Pending
                && s.submission
                    .as_deref()
                    .and_then(feed_of)
                    .is_some_and(|(f, _)| f == feed_id)
        })
        .cloned()
        .collect()
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

/// A processing report's issues by the row they concern.
struct FeedIssues<'a> {
    by_message: HashMap<u32, Vec<&'a FeedIssue>>,
    by_sku: HashMap<&'a str, Vec<&'a FeedIssue>>,
    /// Issues with neither message nor SKU concern the whole feed (Amazon's schema: messageId is
    /// "Not provided if the error is not related to a message (e.g. feed formatting issue)",
    /// listings-feed-processing-report-schema-v2.json), so they belong to every row.
    whole_feed: Vec<&'a FeedIssue>,
}

impl<'a> FeedIssues<'a> {
    fn new(issues: &'a [FeedIssue]) -> Self {
        let mut index = FeedIssues {
            by_message: HashMap::new(),
            by_sku: HashMap::new(),
            whole_feed: Vec::new(),
        };
        for issue in issues {
            match (issue.message_id, issue.sku.as_ref()) {
                (Some(m), _) => index.by_message.entry(m).or_default().push(issue),
                (None, Some(sku)) => index.by_sku.entry(sku.as_str()).or_default().push(issue),
                (None, None) => index.whole_feed.push(issue),
            }
        }
        index
    }

    /// The issues of one row: its message's (or, without a message id, its SKU's) and the feed's.
    fn of(&self, message_id: Option<u32>, sku: &str) -> Vec<&'a FeedIssue> {
        let mut issues = message_id
            .and_then(|m| self.by_message.get(&m))
            .or_else(|| self.by_sku.get(sku))
            .cloned()
            .unwrap_or_default();
        issues.extend(self.whole_feed.iter().copied());
        issues
    }
}

/// `feed:{feedId}:{messageId}` -> (feed id, message id).
fn feed_of(submission: &str) -> Option<(&str, u32)> {
    let rest = submission.strip_prefix("feed:")?;
    let (feed, message) = rest.rsplit_once(':')?;
    Some((feed, message.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact JSON Amazon receives (pinned: a change here is a change on the wire).
    #[test]
    fn one_patch_carries_price_and_quantity_as_merges() {
        let change = PlannedChange {
            sku: "MUG/BLUE".into(),
            item_code: "A1".into(),
            marketplace: "A1PA6795UKMFR9".into(),
            currency: Some("EUR".into()),
            price_old: Some("19.99".parse().unwrap()),
            price_new: Some("21.50".parse().unwrap()),
            quantity_old: Some(7),
            quantity_new: Some(0),
            fba: false,
        };
        let state = ListingState {
            sku: "MUG/BLUE".into(),
            marketplace: "A1PA6795UKMFR9".into(),
            item_code: "A1".into(),
            channel: Some("DEFAULT".into()),
            product_type: Some("DRINKING_CUP".into()),
            currency: Some("EUR".into()),
            price: None,
            quantity: None,
            status: ListingStatus::Observed,
            sent_price: None,
            sent_quantity: None,
            submission: None,
            issues: None,
            problem_key: None,
            pushed_at: None,
            checked_at: String::new(),
        };
        let wire = serde_json::to_value(patch_request(&change, &state)).unwrap();
        assert_eq!(
            wire,
            json!({"productType": "DRINKING_CUP", "patches": [
                {"op": "merge", "path": "/attributes/purchasable_offer", "value": [
                    {"marketplace_id": "A1PA6795UKMFR9", "currency": "EUR", "audience": "ALL",
                     "our_price": [{"schedule": [{"value_with_tax": 21.5}]}]}]},
                {"op": "merge", "path": "/attributes/fulfillment_availability", "value": [
                    {"fulfillment_channel_code": "DEFAULT", "quantity": 0}]}
            ]})
        );
        let price_only = PlannedChange {
            quantity_new: None,
            ..change
        };
        let wire = serde_json::to_value(patch_request(&price_only, &state)).unwrap();
        assert_eq!(wire["patches"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_feed_level_issue_without_code_concerns_every_row() {
        let issues: Vec<FeedIssue> = serde_json::from_value(json!([
            {"severity": "ERROR", "message": "The feed could not be parsed."},
            {"messageId": 2, "sku": "B", "code": "90220", "severity": "ERROR", "message": "x"}
        ]))
        .unwrap();
        let index = FeedIssues::new(&issues);
        assert_eq!(index.of(Some(1), "A").len(), 1);
        assert_eq!(index.of(Some(2), "B").len(), 2);
        assert_eq!(index.of(None, "C")[0].code, None);
    }

    #[test]
    fn feed_submissions_round_trip() {
        assert_eq!(feed_of("feed:50000000012:17"), Some(("50000000012", 17)));
        assert_eq!(feed_of("0f3a9c"), None);
    }
}
