//! What the ledger already knows of a settlement: re-issues and copies under another id (judged by
//! [`super::reissue`]), and which report documents were read before, so a sync does not download
//! the whole lookback window again on every run.

use anyhow::{Context, Result};
use settlement_mapper::MappingTable;
use settlement_mapper::map_settlement;
use settlement_mapper::postings::SettlementPostings;

use sha2::{Digest, Sha256};

use super::reissue::{self, Content, FINGERPRINT_KIND, REISSUE_KIND};
use super::{FLOW, Known, SOURCE_KIND, SettlementOutcome, SettlementsReport, settlement_key};
use crate::flows::{Engine, Problem};
use crate::ledger::{DocRecord, DocState, Ledger, OnFailed, PlanBody, PlanRequest, PlanStatus};

/// Source kind linking an Amazon settlement report id to the ledger's copy of its file (source id).
pub const REPORT_DOCUMENT_KIND: &str = "settlement_report_document";
/// A settlement outcome's state when it was re-issued with other content than the posted one.
pub const REISSUED: &str = "re-issued";

/// A settlement that must not be planned as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The posted settlement, downloaded or imported again with the same content.
    SamePosted,
    /// The same id with other content than the posted one: the differences.
    Reissued(Vec<String>),
    /// The same content as another settlement (its id and state).
    CopyOf(String, DocState),
}

impl Engine {
    /// Whether `postings` (of the file `bytes`) is a settlement posted before, a re-issue of one, or
    /// a copy of another under a new id; `None` when it is to be planned as usual.
    pub(super) fn settlement_verdict(
        &self,
        existing: Option<&DocRecord>,
        postings: &SettlementPostings,
        table: &MappingTable,
    ) -> Result<Option<Verdict>> {
        let content = Content::of(postings);
        if let Some(rec) = existing.filter(|r| r.state == DocState::Posted) {
            let posted = self.posted_content(rec, &postings.settlement_id, table)?;
            let diff = content.diff(&posted);
            return Ok(Some(if diff.is_empty() {
                Verdict::SamePosted
            } else {
                Verdict::Reissued(diff)
            }));
        }
        let ledger = self.ledger();
        let Some(other) = ledger.latest_source(FINGERPRINT_KIND, &content.fingerprint())? else {
            return Ok(None);
        };
        let other_id = String::from_utf8_lossy(&other.body).into_owned();
        if other_id == postings.settlement_id {
            return Ok(None);
        }
        let other_key = settlement_key(&self.config.amazon.seller_id, &other_id);
        Ok(match ledger.get(&other_key)?.map(|r| r.state) {
            // Planned, posting or posted: its money is (being) booked.
            Some(
                state @ (DocState::Planned
                | DocState::Sending
                | DocState::Unknown
                | DocState::Posted),
            ) => Some(Verdict::CopyOf(other_id, state)),
            _ => None,
        })
    }

    /// Records that a settlement is planned to post, so a copy of it under another id is held.
    pub(super) fn remember_fingerprint(&self, postings: &SettlementPostings) -> Result<()> {
        self.ledger().put_source(
            FINGERPRINT_KIND,
            &Content::of(postings).fingerprint(),
            postings.settlement_id.as_bytes(),
        )?;
        Ok(())
    }

    /// The content of the posted settlement, from the file it was posted from.
    fn posted_content(&self, rec: &DocRecord, id: &str, table: &MappingTable) -> Result<Content> {
        let source = self.stored_settlement(rec, id)?;
        let posted = map_settlement(source.body.as_slice(), table)
            .with_context(|| format!("the stored file of posted settlement {id}"))?;
        Ok(Content::of(&posted))
    }

    /// The settlement file of an Amazon report read by an earlier run, if any.
    pub(super) fn known_report_document(&self, report_id: &str) -> Result<Option<Vec<u8>>> {
        let ledger = self.ledger();
        let Some(link) = ledger.latest_source(REPORT_DOCUMENT_KIND, report_id)? else {
            return Ok(None);
        };
        let source_id: i64 = String::from_utf8_lossy(&link.body)
            .parse()
            .with_context(|| format!("the ledger's link of settlement report {report_id}"))?;
        Ok(Some(ledger.source(source_id)?.body))
    }

    /// Records the stored file of an Amazon report once this run has read it: the settlement's own
    /// source, or its re-issue's. Files that could not be read are downloaded again next time.
    pub(super) fn remember_report_document(
        &self,
        report_id: &str,
        id: &str,
        bytes: &[u8],
        report: &SettlementsReport,
    ) -> Result<()> {
        let Some(outcome) = report
            .settlements
            .iter()
            .rev()
            .find(|s| s.settlement_id == id)
        else {
            return Ok(());
        };
        let kind = if outcome.state == REISSUED {
            REISSUE_KIND
        } else {
            SOURCE_KIND
        };
        let mut ledger = self.ledger();
        let source_id = ledger.put_source(kind, id, bytes)?;
        ledger.put_source(
            REPORT_DOCUMENT_KIND,
            report_id,
            source_id.to_string().as_bytes(),
        )?;
        Ok(())
    }

    /// Holds a settlement by its verdict: a re-issue under its own key beside the posted
    /// settlement's, a copy under its settlement key. A dismissed one stays dismissed.
    pub(super) fn hold_seen(
        &self,
        bytes: &[u8],
        key: &str,
        verdict: &Verdict,
        dry_run: bool,
        mut outcome: SettlementOutcome,
        report: &mut SettlementsReport,
    ) -> Result<()> {
        let id = outcome.settlement_id.clone();
        let reason = hold_reason(&id, verdict).unwrap_or_default();
        let (hold_key, kind, source_kind) = match verdict {
            Verdict::Reissued(diff) => {
                outcome.state = REISSUED.into();
                outcome.reasons.clone_from(diff);
                let file: String = Sha256::digest(bytes)
                    .iter()
                    .take(6)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                (
                    format!("{key}:reissue:{file}"),
                    "settlement_reissue",
                    REISSUE_KIND,
                )
            }
            _ => {
                outcome.state = "held".into();
                outcome.reasons = vec![reason.clone()];
                (key.to_owned(), "settlement", SOURCE_KIND)
            }
        };
        if !dry_run {
            let mut ledger = self.ledger();
            let source = ledger.put_source(source_kind, &id, bytes)?;
            let status = ledger.plan_or_replan(&PlanRequest {
                key: &hold_key,
                flow: FLOW,
                kind,
                source_id: Some(source),
                body: PlanBody::Hold(&reason),
                on_failed: OnFailed::Replan,
            })?;
            if status == PlanStatus::Dismissed {
                outcome.state = "dismissed".into();
                report.settlements.push(outcome);
                return Ok(());
            }
        }
        report.held.push(Problem {
            key: hold_key,
            reason,
        });
        report.settlements.push(outcome);
        Ok(())
    }
}

impl Engine {
    /// What the ledger knows of a settlement being checked (`settlement check`), if anything.
    pub(super) fn known_settlement(
        &self,
        postings: &SettlementPostings,
        table: &MappingTable,
    ) -> Result<Option<Known>> {
        let id = &postings.settlement_id;
        let key = settlement_key(&self.config.amazon.seller_id, id);
        let existing = self.ledger().get(&key)?;
        if let Some(rec) = existing.as_ref().filter(|r| r.state == DocState::Dismissed) {
            return Ok(Some(Known {
                text: format!(
                    "settlement {id} was dismissed ({}): nothing would be posted; `ml-connector replay {key}` re-opens it",
                    rec.reason.as_deref().unwrap_or("no reason recorded")
                ),
                needs_attention: false,
            }));
        }
        Ok(
            match self.settlement_verdict(existing.as_ref(), postings, table)? {
                None => None,
                Some(Verdict::SamePosted) => {
                    let parts = self.settlement_parts(&key)?;
                    Some(Known {
                        text: format!(
                            "settlement {id} is posted ({} part(s), DocEntries {}): this file is the same settlement, nothing would be posted",
                            parts.len(),
                            parts
                                .iter()
                                .filter_map(|p| p.doc_entry)
                                .map(|d| d.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        needs_attention: false,
                    })
                }
                Some(verdict) => Some(Known {
                    text: hold_reason(id, &verdict).unwrap_or_default(),
                    needs_attention: true,
                }),
            },
        )
    }
}

/// The held reason of a verdict (none for [`Verdict::SamePosted`]).
pub(super) fn hold_reason(id: &str, verdict: &Verdict) -> Option<String> {
    match verdict {
        Verdict::SamePosted => None,
        Verdict::Reissued(diff) => Some(reissue::reissued_reason(id, diff)),
        Verdict::CopyOf(other, state) => Some(reissue::copy_reason(
            id,
            other,
            &state.as_str().to_lowercase(),
        )),
    }
}
