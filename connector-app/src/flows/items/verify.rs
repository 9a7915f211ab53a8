//! Reading listings from Amazon (first sight, read-back of accepted changes) and recording how a
//! change ended: accepted, or rejected with a FAILED document that `status` shows until a later
//! push of the SKU is accepted.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde_json::{Value, json};
use sp_api_client::Sku;
use sp_api_client::listings::{ListingsIncludedData, ListingsItem};
use tracing::warn;

use super::plan::{self, Verdict};
use super::{AuditEntry, CONCURRENCY, FLOW, ItemsReport, NOT_APPLIED_HOURS, now_rfc3339, values};
use crate::flows::Engine;
use crate::ledger::{DocState, Ledger, ListingState, ListingStatus};

impl Engine {
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
    pub(super) async fn read_listings(
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

    /// Reads back changes accepted before this run and at least `verify_after` old.
    pub(super) async fn verify_accepted(
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
            s.channel = Some(plan::channel_of(&listing));
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
    pub(super) fn accept(
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
    pub(super) fn close_problem(
        &self,
        state: &mut ListingState,
        key: &str,
        why: &str,
    ) -> Result<()> {
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
    pub(super) fn reject(
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
    state.channel = Some(plan::channel_of(l));
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

pub(super) fn issue_summary(errors: &[String], status: &str) -> String {
    if errors.is_empty() {
        format!("Amazon answered {status}")
    } else {
        format!("Amazon refused the change: {}", errors.join("; "))
    }
}
