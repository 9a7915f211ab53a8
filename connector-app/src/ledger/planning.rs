//! Plan-or-replan: the one ledger call every flow makes to put a freshly planned document (or a
//! reason to hold it) under its key, whatever the key's state was.

use super::{DocState, Ledger, LedgerError, Planned};

/// What was planned for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanBody<'a> {
    /// A document ready to post, with its serialized body.
    Ready(&'a str),
    /// Not postable: why (a person must act).
    Hold(&'a str),
}

/// What to do with a document SAP refused earlier (FAILED) when it is planned again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailed {
    /// Leave it FAILED: a person re-plans it with `replay` after fixing the cause.
    Keep,
    /// Re-plan it from the new body (or hold it with the new reason).
    Replan,
}

/// A plan-or-replan request.
#[derive(Debug, Clone, Copy)]
pub struct PlanRequest<'a> {
    /// The document's key.
    pub key: &'a str,
    /// Its flow.
    pub flow: &'a str,
    /// Its kind (`invoice`, `settlement`, `settlement_part`...).
    pub kind: &'a str,
    /// The raw source it was planned from.
    pub source_id: Option<i64>,
    /// The body or the hold reason.
    pub body: PlanBody<'a>,
    /// What to do with a FAILED document.
    pub on_failed: OnFailed,
}

/// Where the document stands after planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanStatus {
    /// PLANNED: post it now.
    Ready,
    /// HELD with the reason given.
    Held,
    /// FAILED and kept so ([`OnFailed::Keep`]), with SAP's earlier reason.
    Failed(String),
    /// POSTED earlier: nothing to do.
    Posted,
    /// DISMISSED by a person (`ml-connector dismiss`): not planned or posted again.
    Dismissed,
    /// SENDING or UNKNOWN: recovery resolves it (looked up in SAP before anything is sent).
    InDoubt(DocState),
}

/// Plans `req` into `ledger`: new keys are stored, HELD documents are re-planned or held again
/// with the new reason, PLANNED ones are held when they no longer pass, FAILED ones follow
/// `on_failed`, and POSTED / in-doubt ones are left alone.
pub fn plan_or_replan<L: Ledger + ?Sized>(
    ledger: &mut L,
    req: &PlanRequest<'_>,
) -> Result<PlanStatus, LedgerError> {
    let (payload, hold) = match req.body {
        PlanBody::Ready(payload) => (payload, None),
        PlanBody::Hold(reason) => ("{}", Some(reason)),
    };
    let existing = ledger.plan(req.key, req.flow, req.kind, req.source_id, payload, hold)?;
    let state = match existing {
        Planned::New => {
            return Ok(if hold.is_some() {
                PlanStatus::Held
            } else {
                PlanStatus::Ready
            });
        }
        Planned::Existing(state) => state,
    };
    match (state, req.body) {
        (DocState::Posted, _) => Ok(PlanStatus::Posted),
        (DocState::Dismissed, _) => Ok(PlanStatus::Dismissed),
        (DocState::Sending | DocState::Unknown, _) => Ok(PlanStatus::InDoubt(state)),
        (DocState::Failed, _) if req.on_failed == OnFailed::Keep => {
            let reason = ledger
                .get(req.key)?
                .and_then(|r| r.reason)
                .unwrap_or_default();
            Ok(PlanStatus::Failed(reason))
        }
        // A planned document is posted as it was planned (its body is what a crash left).
        (DocState::Planned, PlanBody::Ready(_)) => Ok(PlanStatus::Ready),
        (DocState::Held | DocState::Failed, PlanBody::Ready(payload)) => {
            ledger.replan(req.key, payload, req.source_id)?;
            Ok(PlanStatus::Ready)
        }
        (DocState::Failed, PlanBody::Hold(reason)) => {
            ledger.transition(req.key, DocState::Planned, "re-checked")?;
            ledger.transition(req.key, DocState::Held, reason)?;
            Ok(PlanStatus::Held)
        }
        (DocState::Planned | DocState::Held, PlanBody::Hold(reason)) => {
            ledger.transition(req.key, DocState::Held, reason)?;
            Ok(PlanStatus::Held)
        }
    }
}
