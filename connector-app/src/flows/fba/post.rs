//! FBA adjustments as documents of the posting engine: planned per item under
//! `amz:{seller}:fba:{item}:adj:{n}` (n counts the item's posted adjustments), HELD for review or
//! posted as `[fba] post` says, found in SAP by the key at the end of their `Comments`.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow};
use rust_decimal::Decimal;
use sap_b1_client::query::prop;
use sap_b1_client::{Error as SapError, Query};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::warn;

use super::adjust::{FbaAdjustment, plan_adjustment};
use super::reimburse::{Reimbursement, read_reimbursements, tie};
use super::{FLOW, FbaLine, FbaReport};
use crate::config::FbaPost;
use crate::flows::Engine;
use crate::flows::orders::ReplayOutcome;
use crate::flows::settlements;
use crate::ledger::{
    DocFilter, DocRecord, DocState, Ledger, OnFailed, PlanBody, PlanRequest, PlanStatus,
};
use crate::posting::{DocRequest, Found, PostOutcome, SapDocument};

/// The raw source kind of an adjustment: both sides of the item when it was planned.
const SOURCE_KIND: &str = "fba_line";

impl SapDocument for FbaAdjustment {
    const KIND: &'static str = "fba_adjustment";

    async fn find(&self, engine: &Engine, key: &str) -> Result<Option<Found>> {
        // A transfer and a receipt commit together: the first document answers for both.
        let Some((set, _)) = self.bodies().into_iter().next() else {
            return Ok(None);
        };
        let query = Query::new()
            .filter(prop("Comments").contains(key))
            .select(["DocEntry", "DocNum", "Comments"])
            .top(50);
        let rows: Vec<Value> = sap_b1_client::EntitySet::<Value>::new(engine.sap.clone(), set)
            .page(&query)
            .await?
            .items;
        Ok(rows
            .iter()
            .find(|d| d["Comments"].as_str().is_some_and(|c| c.ends_with(key)))
            .and_then(|d| {
                let doc_entry = d["DocEntry"].as_i64()?;
                Some(Found {
                    doc_entry,
                    doc_num: d["DocNum"].as_i64(),
                    detail: format!(
                        "found in SAP {set} by its key (DocEntry {doc_entry}); not sent again"
                    ),
                    by_other_instance: None,
                })
            }))
    }

    fn request_summary(&self) -> Value {
        let sets: Vec<&str> = self.bodies().iter().map(|(s, _)| *s).collect();
        json!({
            "request": format!("POST {}", sets.join(" + ")),
            "ItemCode": self.item_code,
            "Warehouse": self.warehouse,
            "units": self.units(),
            "reimbursements": self.reimbursements.iter().map(Reimbursement::id).collect::<Vec<_>>(),
        })
    }

    fn requests(&self) -> Result<Vec<DocRequest>> {
        let out: Vec<DocRequest> = self
            .bodies()
            .into_iter()
            .map(|(set, body)| DocRequest { set, body })
            .collect();
        if out.is_empty() {
            return Err(anyhow!("{}: the adjustment moves no units", self.key));
        }
        Ok(out)
    }

    fn refusal(&self, error: &SapError) -> String {
        format!(
            "SAP refused the FBA adjustment of {}: {error}",
            self.item_code
        )
    }
}

/// What happened to one item's adjustment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdjustmentOutcome {
    /// Ledger key.
    pub key: String,
    /// SAP ItemCode.
    pub item_code: String,
    /// Units into (+) or out of (−) the FBA warehouse.
    pub units: Decimal,
    /// `held`, `posted`, `found`, `failed`, `unknown`, `closed` (no longer needed).
    pub state: String,
    /// What it does, or why it stands where it does.
    pub detail: String,
}

/// The ledger key of an item's `n`-th adjustment.
pub fn adjustment_key(seller: &str, item: &str, n: u32) -> String {
    format!("amz:{seller}:fba:{item}:adj:{n}")
}

/// The item and sequence number of an adjustment key.
fn parse_key<'a>(seller: &str, key: &'a str) -> Option<(&'a str, u32)> {
    let rest = key.strip_prefix(&format!("amz:{seller}:fba:"))?;
    let (item, n) = rest.rsplit_once(":adj:")?;
    Some((item, n.parse().ok()?))
}

impl Engine {
    /// The item's latest adjustment in the ledger, by sequence number.
    pub(super) fn fba_adjustments(&self) -> Result<BTreeMap<String, Vec<(u32, DocRecord)>>> {
        let seller = &self.config.amazon.seller_id;
        let docs = self.ledger().list(&DocFilter {
            flow: Some(FLOW.to_owned()),
            ..DocFilter::default()
        })?;
        let mut out: BTreeMap<String, Vec<(u32, DocRecord)>> = BTreeMap::new();
        for d in docs {
            if let Some((item, n)) = parse_key(seller, &d.key) {
                out.entry(item.to_owned()).or_default().push((n, d));
            }
        }
        for list in out.values_mut() {
            list.sort_by_key(|(n, _)| *n);
        }
        Ok(out)
    }

    /// Every FBA reimbursement row of the settlements the connector has read (their stored files).
    pub(super) fn fba_reimbursements(&self) -> Result<Vec<Reimbursement>> {
        let docs = self.ledger().list(&DocFilter {
            flow: Some(settlements::FLOW.to_owned()),
            ..DocFilter::default()
        })?;
        let sources: BTreeSet<i64> = docs
            .iter()
            .filter(|d| d.kind == "settlement")
            .filter_map(|d| d.source_id)
            .collect();
        let mut out = Vec::new();
        for id in sources {
            let source = self.ledger().source(id)?;
            match read_reimbursements(
                &source.body,
                &format!("stored settlement {}", source.external_id),
            ) {
                Ok(rows) => out.extend(rows),
                Err(e) => warn!(error = %e, "settlement file not read for FBA reimbursements"),
            }
        }
        Ok(out)
    }

    /// Plans (and, with `[fba] post = "post"`, posts) the adjustment of every item of `report`
    /// that differs; closes held adjustments no longer needed. `source` is `InStock` of
    /// `[fba] inbound_from` per item.
    pub(super) async fn adjust_fba(
        &self,
        report: &mut FbaReport,
        all_lines: &[FbaLine],
        source: &BTreeMap<String, Decimal>,
    ) -> Result<()> {
        let mode = self.config.fba.post;
        if mode == FbaPost::Off {
            return Ok(());
        }
        let seller = self.config.amazon.seller_id.clone();
        let existing = self.fba_adjustments()?;
        for line in all_lines {
            let history = existing
                .get(&line.item_code)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            // Posted and dismissed (closed) adjustments are history: a new difference gets a new one.
            let open = history
                .last()
                .filter(|(_, d)| !matches!(d.state, DocState::Posted | DocState::Dismissed));
            if line.difference.is_zero() {
                if let Some((_, d)) = open.filter(|(_, d)| d.state == DocState::Held) {
                    // Not a refusal: nothing is left to post, so it leaves "needs attention".
                    let reason = "closed: SAP's FBA warehouse agrees with Amazon now";
                    self.ledger()
                        .transition(&d.key, DocState::Dismissed, reason)?;
                    report.adjustments.push(outcome(
                        &d.key,
                        &line.item_code,
                        Decimal::ZERO,
                        "closed",
                        reason,
                    ));
                }
                continue;
            }
            let n = match (open, history.last()) {
                (Some((n, _)), _) => *n,
                (None, Some((n, _))) => n + 1,
                (None, None) => 1,
            };
            let key = adjustment_key(&seller, &line.item_code, n);
            if let Some((_, d)) =
                open.filter(|(_, d)| matches!(d.state, DocState::Sending | DocState::Unknown))
            {
                report.adjustments.push(outcome(&key, &line.item_code, line.difference, "unknown",
                    &format!("the item's adjustment is in doubt ({}); it is looked up in SAP before anything else is sent", d.state)));
                continue;
            }
            let planned = plan_adjustment(
                line,
                source.get(&line.item_code).copied().unwrap_or_default(),
                line.reimbursements.clone(),
                &self.config.fba,
                &key,
            );
            let out = self.plan_fba_adjustment(&key, line, planned, mode).await?;
            report.adjustments.push(out);
        }
        Ok(())
    }

    /// Plans one item's adjustment under `key` (held for review, or ready and posted).
    async fn plan_fba_adjustment(
        &self,
        key: &str,
        line: &FbaLine,
        planned: Result<FbaAdjustment, String>,
        mode: FbaPost,
    ) -> Result<AdjustmentOutcome> {
        let payload = match &planned {
            Ok(a) => Some(serde_json::to_string(a)?),
            Err(_) => None,
        };
        let reason = match &planned {
            Ok(a) if mode == FbaPost::Hold => Some(a.review_reason()),
            Ok(_) => None,
            Err(e) => Some(e.clone()),
        };
        let status = {
            let mut ledger = self.ledger();
            let source =
                ledger.put_source(SOURCE_KIND, &line.item_code, &serde_json::to_vec(line)?)?;
            match (&payload, &reason) {
                // Held for review with its documents (what the reviewer approves).
                (Some(p), Some(r)) => hold_with_payload(&mut *ledger, key, source, p, r)?,
                _ => ledger.plan_or_replan(&PlanRequest {
                    key,
                    flow: FLOW,
                    kind: FbaAdjustment::KIND,
                    source_id: Some(source),
                    body: match (&reason, &payload) {
                        (Some(r), _) => PlanBody::Hold(r),
                        (None, Some(p)) => PlanBody::Ready(p),
                        (None, None) => unreachable!("a plan without a reason has a payload"),
                    },
                    on_failed: OnFailed::Replan,
                })?,
            }
        };
        let units = planned
            .as_ref()
            .map_or(line.difference, FbaAdjustment::units);
        let detail = planned
            .as_ref()
            .map_or_else(Clone::clone, FbaAdjustment::describe);
        Ok(match status {
            PlanStatus::Held => outcome(
                key,
                &line.item_code,
                units,
                "held",
                reason.as_deref().unwrap_or_default(),
            ),
            PlanStatus::Ready => {
                self.post_outcome(key, &line.item_code, units, &detail)
                    .await?
            }
            PlanStatus::Posted => outcome(key, &line.item_code, units, "posted", "posted earlier"),
            PlanStatus::Dismissed => outcome(
                key,
                &line.item_code,
                units,
                "dismissed",
                "dismissed by a person (`ml-connector replay` re-opens it)",
            ),
            PlanStatus::Failed(r) => outcome(key, &line.item_code, units, "failed", &r),
            PlanStatus::InDoubt(s) => outcome(key, &line.item_code, units, "unknown", s.as_str()),
        })
    }

    async fn post_outcome(
        &self,
        key: &str,
        item: &str,
        units: Decimal,
        detail: &str,
    ) -> Result<AdjustmentOutcome> {
        Ok(match self.post::<FbaAdjustment>(key).await? {
            PostOutcome::Posted { doc_entry, .. } => outcome(
                key,
                item,
                units,
                "posted",
                &format!("{detail} (DocEntry {doc_entry})"),
            ),
            PostOutcome::FoundExisting { doc_entry, .. } => outcome(
                key,
                item,
                units,
                "found",
                &format!("already in SAP (DocEntry {doc_entry})"),
            ),
            PostOutcome::Failed(r) => outcome(key, item, units, "failed", &r),
            PostOutcome::Unknown(r) => outcome(key, item, units, "unknown", &r),
        })
    }

    /// `replay` of an FBA adjustment: the reviewer's approval. Both sides are read again and the
    /// item's adjustment re-planned from them under the same key, then posted.
    pub async fn replay_fba(&self, key: &str) -> Result<ReplayOutcome> {
        let rec = self
            .ledger()
            .get(key)?
            .ok_or_else(|| anyhow!("no document with key `{key}` in the ledger"))?;
        match rec.state {
            DocState::Posted => {
                return Ok(ReplayOutcome::AlreadyPosted {
                    doc_entry: rec.doc_entry,
                    doc_num: rec.doc_num,
                });
            }
            DocState::Sending | DocState::Unknown | DocState::Planned => {
                return Ok(ReplayOutcome::Posted(
                    self.post::<FbaAdjustment>(key).await?,
                ));
            }
            DocState::Held | DocState::Failed | DocState::Dismissed => {}
        }
        let seller = self.config.amazon.seller_id.clone();
        let (item, n) = parse_key(&seller, key)
            .ok_or_else(|| anyhow!("`{key}` is not an FBA adjustment key"))?;
        let all = self.fba_adjustments()?;
        let history = all.get(item).map(Vec::as_slice).unwrap_or(&[]);
        if history.last().map(|(n, _)| *n) != Some(n) {
            return Ok(ReplayOutcome::StillHeld(format!(
                "a later adjustment of item {item} exists; replay that one"
            )));
        }
        let (_, lines, source) = self.read_fba().await.context("FBA reconciliation")?;
        let Some(line) = lines
            .iter()
            .find(|l| l.item_code == item && !l.difference.is_zero())
        else {
            return Ok(ReplayOutcome::StillHeld(format!(
                "nothing to adjust: SAP's FBA warehouse agrees with Amazon for item {item} now"
            )));
        };
        let planned = match plan_adjustment(
            line,
            source.get(item).copied().unwrap_or_default(),
            line.reimbursements.clone(),
            &self.config.fba,
            key,
        ) {
            Ok(a) => a,
            Err(reason) => return Ok(ReplayOutcome::StillHeld(reason)),
        };
        self.ledger()
            .replan(key, &serde_json::to_string(&planned)?, None)?;
        Ok(ReplayOutcome::Posted(
            self.post::<FbaAdjustment>(key).await?,
        ))
    }
}

/// The reimbursements of `all` that pay for the units of `line`, less those an earlier posted
/// adjustment of the item (`history`) took.
pub(super) fn tied(
    all: &[Reimbursement],
    line: &FbaLine,
    history: &[(u32, DocRecord)],
) -> Vec<Reimbursement> {
    let taken: BTreeSet<String> = history
        .iter()
        .filter(|(_, d)| d.state == DocState::Posted)
        .filter_map(|(_, d)| serde_json::from_str::<FbaAdjustment>(&d.payload).ok())
        .flat_map(|a| a.reimbursements.into_iter().map(|r| r.id()))
        .collect();
    tie(all, &line.skus, &taken, line.difference < Decimal::ZERO)
        .into_iter()
        .cloned()
        .collect()
}

/// Plans `key` HELD with its documents: a new key is stored so, a held or failed one is re-planned
/// and held again when its documents or reason changed, a planned one is held.
fn hold_with_payload<L: Ledger + ?Sized>(
    ledger: &mut L,
    key: &str,
    source: i64,
    payload: &str,
    reason: &str,
) -> Result<PlanStatus> {
    let Some(d) = ledger.get(key)? else {
        ledger.plan(
            key,
            FLOW,
            FbaAdjustment::KIND,
            Some(source),
            payload,
            Some(reason),
        )?;
        return Ok(PlanStatus::Held);
    };
    match d.state {
        DocState::Held | DocState::Failed => {
            if d.payload != payload || d.reason.as_deref() != Some(reason) {
                ledger.replan(key, payload, Some(source))?;
                ledger.transition(key, DocState::Held, reason)?;
            }
            Ok(PlanStatus::Held)
        }
        DocState::Planned => {
            ledger.transition(key, DocState::Held, reason)?;
            Ok(PlanStatus::Held)
        }
        DocState::Posted => Ok(PlanStatus::Posted),
        DocState::Dismissed => Ok(PlanStatus::Dismissed),
        s @ (DocState::Sending | DocState::Unknown) => Ok(PlanStatus::InDoubt(s)),
    }
}

fn outcome(key: &str, item: &str, units: Decimal, state: &str, detail: &str) -> AdjustmentOutcome {
    AdjustmentOutcome {
        key: key.to_owned(),
        item_code: item.to_owned(),
        units,
        state: state.to_owned(),
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_item_and_its_sequence() {
        let k = adjustment_key("S1", "A:B", 3);
        assert_eq!(k, "amz:S1:fba:A:B:adj:3");
        assert_eq!(parse_key("S1", &k), Some(("A:B", 3)));
        assert_eq!(parse_key("S2", &k), None);
        assert_eq!(parse_key("S1", "amz:S1:order:1:invoice"), None);
    }
}
