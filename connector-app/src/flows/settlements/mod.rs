//! Settlements -> incoming payments + journal entries that tie out to the deposit.
//!
//! Each closed settlement report is downloaded, kept (hashed) in the ledger, mapped by
//! `settlement-mapper`, checked against SAP (every account exists and is postable, every SKU maps to
//! an item, every paid order has its invoice), and posted as one `$batch` changeset — or, above
//! `max_documents_per_batch`, as several parts, each atomic, each with its own ledger key, resumed
//! at the first part not posted. Every document carries a reference (`MLC{settlement}-{part}`) by
//! which a part is looked up before it is ever sent again.

mod checks;
pub mod converter;
mod credit_notes;
mod cutover;
pub mod foreign;
pub mod held;
mod journal;
mod outcome;
pub mod parts;
pub mod plan;
mod post;
mod refunds;
pub mod reissue;
mod replay;
pub mod report;
pub(crate) mod rollup;
mod seen;
pub mod summary;

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use futures::TryStreamExt;
use settlement_mapper::mapping::MappingTable;
use settlement_mapper::{SettlementReader, map_settlement};
use tracing::{info, warn};

use self::outcome::unmatched_groups;
pub use self::outcome::{CheckedSettlement, Known, SettlementOutcome, SettlementsReport};
pub use self::parts::{PartDocument, SettlementPart, SettlementSummary, part_reference};
use super::{Engine, PostOutcome, Problem};
use crate::ledger::{DocState, Ledger, OnFailed, PlanBody, PlanRequest};

/// Flow name in the ledger.
pub const FLOW: &str = "settlements";
/// Source kind of a settlement flat file in the ledger.
pub const SOURCE_KIND: &str = "settlement_report";

/// Ledger key of a settlement.
pub fn settlement_key(seller: &str, id: &str) -> String {
    format!("amz:{seller}:settlement:{id}")
}

/// Ledger key of one posting part of a settlement.
pub fn part_key(seller: &str, id: &str, part: usize) -> String {
    format!("amz:{seller}:settlement:{id}:part:{part}")
}

/// Options of a settlements sync.
#[derive(Debug, Clone, Default)]
pub struct SettlementOptions {
    /// Map and check, post nothing.
    pub dry_run: bool,
}

impl Engine {
    /// The settlement mapping table: the configured file (extending the defaults) or the defaults.
    pub fn settlement_table(&self) -> Result<MappingTable> {
        match &self.config.settlements.mapping {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("settlement mapping {}", path.display()))?;
                MappingTable::from_toml(&text)
                    .with_context(|| format!("settlement mapping {}", path.display()))
            }
            None => Ok(MappingTable::default_table()),
        }
    }

    /// [`Self::settlement_table`] with every account SAP knows by its display code
    /// (`FormatCode`) replaced by its internal code, which is what SAP posts by (segmented charts
    /// use `_SYS…` internal codes).
    pub async fn posting_table(&self) -> Result<MappingTable> {
        let mut table = self.settlement_table()?;
        for code in table.accounts.values_mut() {
            *code = self.resolve_account(code).await?;
        }
        Ok(table)
    }

    /// Lists closed settlement reports, and posts every settlement not posted yet.
    pub async fn sync_settlements(&self, options: &SettlementOptions) -> Result<SettlementsReport> {
        let mut report = SettlementsReport::default();
        self.sap.connect().await.context("SAP login")?;
        if !options.dry_run {
            report.warnings = self.posting_warnings().await?;
            self.recover_parts(&mut report).await?;
        }
        let since = Utc::now() - Duration::from_std(self.config.settlements.lookback)?;
        let mut reports: Vec<_> = self
            .amazon
            .settlement_reports_since(since)
            .try_collect()
            .await
            .context("Amazon getReports (settlements)")?;
        // Oldest period first, whatever order Amazon lists them in: a refund's settlement comes
        // after the one that paid the sale, so its credit note meets a paid invoice.
        reports.sort_by_key(|r| (r.data_end_time.unwrap_or(r.created_time), r.created_time));
        report.reports_listed = reports.len() as u64;
        // Amazon publishes overlapping reports: one settlement is handled once per run.
        let mut seen = BTreeSet::new();
        for r in reports {
            if self.stopping() {
                break;
            }
            // A report read by an earlier run is taken from the ledger, not downloaded again.
            let report_id = r.report_id.to_string();
            let known = self.known_report_document(&report_id)?;
            let downloaded = known.is_none();
            let bytes = match known {
                Some(bytes) => {
                    report.reports_from_ledger += 1;
                    bytes
                }
                None => {
                    let doc = self
                        .amazon
                        .download_report(&r, encoding_rs::WINDOWS_1252)
                        .await
                        .with_context(|| format!("downloading settlement report {report_id}"))?;
                    report.reports_downloaded += 1;
                    doc.text.into_bytes()
                }
            };
            let id = settlement_id_of(&bytes);
            if let Some(id) = &id
                && !seen.insert(id.clone())
            {
                if downloaded && !options.dry_run {
                    self.remember_report_document(&report_id, id, &bytes, &report)?;
                }
                continue;
            }
            self.process_settlement(
                &bytes,
                &format!("report {report_id}"),
                options.dry_run,
                &mut report,
            )
            .await?;
            // The next run reads it from the ledger instead of downloading it again.
            if let Some(id) = &id
                && downloaded
                && !options.dry_run
            {
                self.remember_report_document(&report_id, id, &bytes, &report)?;
            }
        }
        report.gaps = self.settlement_gaps(since, &report.settlements).await?;
        for gap in &report.gaps {
            warn!("{gap}");
        }
        Ok(report)
    }

    /// Closed financial event groups (Finances API) that no settlement report of the window matches
    /// (same currency and total, period end within a day).
    async fn settlement_gaps(
        &self,
        since: chrono::DateTime<Utc>,
        seen: &[SettlementOutcome],
    ) -> Result<Vec<String>> {
        let groups: Vec<_> = self
            .amazon
            .list_financial_event_groups(sp_api_client::finances::EventGroupQuery::started_after(
                since,
            ))
            .try_collect()
            .await
            .context("Amazon listFinancialEventGroups")?;
        Ok(unmatched_groups(&groups, seen))
    }

    /// Posts a settlement from a downloaded file through the same checks and ledger.
    pub async fn import_settlement(
        &self,
        bytes: &[u8],
        name: &str,
        options: &SettlementOptions,
    ) -> Result<SettlementsReport> {
        let mut report = SettlementsReport::default();
        self.sap.connect().await.context("SAP login")?;
        self.process_settlement(bytes, name, options.dry_run, &mut report)
            .await?;
        Ok(report)
    }

    /// Maps and checks a settlement against SAP without posting: the postings and every problem.
    pub async fn check_settlement(&self, bytes: &[u8], name: &str) -> Result<CheckedSettlement> {
        self.sap.connect().await.context("SAP login")?;
        let table = self.posting_table().await?;
        let postings = map_settlement(bytes, &table).with_context(|| name.to_owned())?;
        if let Some(known) = self.known_settlement(&postings, &table)? {
            return Ok(CheckedSettlement {
                postings,
                plan: Err(Vec::new()),
                known: Some(known),
            });
        }
        let plan = self
            .plan_settlement(&postings, bytes, &table, false)
            .await?;
        Ok(CheckedSettlement {
            postings,
            plan,
            known: None,
        })
    }

    async fn process_settlement(
        &self,
        bytes: &[u8],
        name: &str,
        dry_run: bool,
        report: &mut SettlementsReport,
    ) -> Result<()> {
        let table = self.posting_table().await?;
        let postings = match map_settlement(bytes, &table) {
            Ok(p) => p,
            Err(e) => {
                report.failed.push(Problem {
                    key: name.to_owned(),
                    reason: format!("unreadable settlement: {e}"),
                });
                return Ok(());
            }
        };
        report.settlements_seen += 1;
        let id = postings.settlement_id.clone();
        let key = settlement_key(&self.config.amazon.seller_id, &id);
        let mut outcome = SettlementOutcome {
            settlement_id: id.clone(),
            currency: postings.currency.clone(),
            end: postings.end,
            total_amount: postings.total_amount,
            total_local: None,
            state: String::new(),
            tied_out: postings.ties_out && postings.clearing_balance_after_payout().is_zero(),
            documents: 0,
            reasons: Vec::new(),
            applications: Vec::new(),
            notes: Vec::new(),
            rollup: Vec::new(),
            held_receipts: Vec::new(),
        };
        // Cut-over: the earlier books have the settlements up to `settlements.start_after`.
        if let Some(cut) = &self.config.settlements.start_after
            && cut.skips(&id, postings.end)
        {
            outcome.state = "skipped".into();
            outcome.reasons.push(format!(
                "before settlements.start_after ({cut}): not posted"
            ));
            report.skipped.push(Problem {
                key,
                reason: format!(
                    "settlement {id} (period ending {}) is before settlements.start_after ({cut})",
                    postings.end.date_naive()
                ),
            });
            report.settlements.push(outcome);
            return Ok(());
        }
        let existing = self.ledger().get(&key)?;
        if existing
            .as_ref()
            .is_some_and(|r| r.state == DocState::Dismissed)
        {
            outcome.state = "dismissed".into();
            report.settlements.push(outcome);
            return Ok(());
        }
        match self.settlement_verdict(existing.as_ref(), &postings, &table)? {
            None => {}
            Some(seen::Verdict::SamePosted) => {
                report.already_posted += 1;
                outcome.state = "already-posted".into();
                report.settlements.push(outcome);
                return Ok(());
            }
            Some(verdict) => {
                return self.hold_seen(bytes, &key, &verdict, dry_run, outcome, report);
            }
        }
        let parts_planned = existing
            .as_ref()
            .is_some_and(|r| r.state == DocState::Planned);
        if !parts_planned {
            let checked = self
                .plan_settlement(&postings, bytes, &table, !dry_run)
                .await?;
            match checked {
                Err(reasons) => {
                    outcome.state = "held".into();
                    outcome.reasons.clone_from(&reasons);
                    let reason = reasons.join("; ");
                    if !dry_run {
                        let mut ledger = self.ledger();
                        let source = ledger.put_source(SOURCE_KIND, &id, bytes)?;
                        ledger.plan_or_replan(&PlanRequest {
                            key: &key,
                            flow: FLOW,
                            kind: "settlement",
                            source_id: Some(source),
                            body: PlanBody::Hold(&reason),
                            on_failed: OnFailed::Replan,
                        })?;
                    }
                    report.held.push(Problem { key, reason });
                    report.settlements.push(outcome);
                    return Ok(());
                }
                Ok(plan) => {
                    outcome.total_local = plan.total_local;
                    outcome.applications.clone_from(&plan.applications);
                    outcome.notes.clone_from(&plan.notes);
                    outcome.rollup = rollup::rollup(
                        &plan.applications,
                        &rollup::marketplace_of(&postings),
                        &postings.currency,
                    );
                    outcome
                        .rollup
                        .extend(rollup::held_lines(&plan.held, &postings.currency));
                    outcome.held_receipts.clone_from(&plan.held);
                    let parts = parts::split_parts(
                        &plan,
                        &id,
                        self.config.settlements.max_documents_per_batch,
                    );
                    outcome.documents = parts.iter().map(|p| p.documents.len()).sum();
                    if dry_run {
                        outcome.state = "would-post".into();
                        report.settlements.push(outcome);
                        return Ok(());
                    }
                    let summary = SettlementSummary {
                        settlement_id: id.clone(),
                        currency: postings.currency.clone(),
                        total_amount: postings.total_amount,
                        parts: parts.len(),
                        documents: outcome.documents,
                        applications: plan.applications,
                        notes: plan.notes,
                        total_local: plan.total_local,
                        held: plan.held,
                    };
                    self.remember_fingerprint(&postings)?;
                    let mut ledger = self.ledger();
                    let source = ledger.put_source(SOURCE_KIND, &id, bytes)?;
                    ledger.plan_or_replan(&PlanRequest {
                        key: &key,
                        flow: FLOW,
                        kind: "settlement",
                        source_id: Some(source),
                        body: PlanBody::Ready(&serde_json::to_string(&summary)?),
                        on_failed: OnFailed::Replan,
                    })?;
                    // Each held receipt waits under its own key for `replay` / `dismiss`.
                    drop(ledger);
                    report.receipts_held.extend(self.hold_receipts(
                        &id,
                        &postings.currency,
                        source,
                        &summary.held,
                    )?);
                    let mut ledger = self.ledger();
                    for (n, part) in parts.iter().enumerate() {
                        let pk = part_key(&self.config.amazon.seller_id, &id, n + 1);
                        ledger.plan_or_replan(&PlanRequest {
                            key: &pk,
                            flow: FLOW,
                            kind: "settlement_part",
                            source_id: Some(source),
                            body: PlanBody::Ready(&serde_json::to_string(part)?),
                            on_failed: OnFailed::Replan,
                        })?;
                    }
                }
            }
        } else if dry_run {
            outcome.state = "partly-posted".into();
            report.settlements.push(outcome);
            return Ok(());
        }
        // Post the parts in order; stop at the first one that does not go in.
        let parts = self.settlement_parts(&key)?;
        let mut all_posted = true;
        for part in &parts {
            if part.state == DocState::Posted {
                continue;
            }
            if self.stopping() {
                all_posted = false;
                break;
            }
            crate::failpoint::hit("settlement.between_parts");
            self.progress(|| {
                format!(
                    "settlement {id}: posting {}",
                    part.key.rsplit(':').take(2).collect::<Vec<_>>().join(" ")
                )
            });
            match self.post_part(&part.key).await? {
                PostOutcome::Posted { .. } => report.parts_posted += 1,
                PostOutcome::FoundExisting {
                    by_other_instance, ..
                } => {
                    report.parts_found_in_sap += 1;
                    if let Some(other) = by_other_instance {
                        report.posted_by_other_instance.push(Problem {
                            key: part.key.clone(),
                            reason: format!("posted by another connector instance: {other}"),
                        });
                    }
                }
                PostOutcome::Failed(reason) => {
                    report.failed.push(Problem {
                        key: part.key.clone(),
                        reason: reason.clone(),
                    });
                    outcome.reasons.push(reason);
                    all_posted = false;
                    break;
                }
                PostOutcome::Unknown(reason) => {
                    report.unknown.push(Problem {
                        key: part.key.clone(),
                        reason: reason.clone(),
                    });
                    outcome.reasons.push(reason);
                    all_posted = false;
                    break;
                }
            }
        }
        if all_posted {
            self.ledger().transition(
                &key,
                DocState::Posted,
                &format!("all {} part(s) posted", parts.len()),
            )?;
            report.settlements_posted += 1;
            if outcome.tied_out {
                report.settlements_tied_out += 1;
            }
            outcome.state = "posted".into();
            info!(settlement = %id, parts = parts.len(), "settlement posted");
        } else {
            outcome.state = "partly-posted".into();
        }
        report.settlements.push(outcome);
        Ok(())
    }

    /// Resolves parts left SENDING / UNKNOWN by an earlier run.
    async fn recover_parts(&self, report: &mut SettlementsReport) -> Result<()> {
        for (key, outcome) in self.recover::<SettlementPart>(FLOW).await? {
            match outcome {
                PostOutcome::Posted { .. } => report.parts_posted += 1,
                PostOutcome::FoundExisting { .. } => report.parts_found_in_sap += 1,
                PostOutcome::Failed(reason) => report.failed.push(Problem { key, reason }),
                PostOutcome::Unknown(reason) => report.unknown.push(Problem { key, reason }),
            }
        }
        for (key, outcome) in self.recover_held_receipts().await? {
            match outcome {
                PostOutcome::Posted { .. } | PostOutcome::FoundExisting { .. } => {}
                PostOutcome::Failed(reason) => report.failed.push(Problem { key, reason }),
                PostOutcome::Unknown(reason) => report.unknown.push(Problem { key, reason }),
            }
        }
        Ok(())
    }
}

/// The settlement id of a file, from its summary row.
fn settlement_id_of(bytes: &[u8]) -> Option<String> {
    SettlementReader::new(bytes)
        .ok()
        .map(|r| r.summary().settlement_id.clone())
}
