//! Dismissing a document: a person decides a held (or refused) document is not to be posted.
//!
//! A dismissed document keeps its key, payload, source and audit trail; no run plans it again
//! ([`super::PlanStatus::Dismissed`]), `status` stops listing it as needing attention, and
//! `ml-connector replay KEY` re-opens it.

use super::{DocState, Ledger, LedgerError};

/// Why a document cannot be dismissed.
fn refusal(key: &str, state: DocState) -> String {
    match state {
        DocState::Posted => format!(
            "`{key}` is posted in SAP: a posted document is cancelled in SAP (or reversed), not dismissed"
        ),
        DocState::Sending | DocState::Unknown => format!(
            "`{key}` may be in SAP already ({state}): run `ml-connector sync` to resolve it first"
        ),
        DocState::Planned => format!(
            "`{key}` is planned and about to be posted; a settlement whose parts are planned is \
             partly posted and must be finished, not dismissed"
        ),
        DocState::Dismissed => format!("`{key}` is dismissed already"),
        DocState::Held | DocState::Failed => String::new(),
    }
}

/// Dismisses `key` (HELD or FAILED) with the person's reason; the audit trail records it.
pub fn dismiss(ledger: &mut dyn Ledger, key: &str, reason: &str) -> Result<DocState, LedgerError> {
    let rec = ledger
        .get(key)?
        .ok_or_else(|| LedgerError::NotFound(key.to_owned()))?;
    if key.contains(":part:") {
        return Err(LedgerError::Invalid(format!(
            "`{key}` is one part of a settlement: a settlement is posted whole, so its parts are not \
             dismissed one by one"
        )));
    }
    if !matches!(rec.state, DocState::Held | DocState::Failed) {
        return Err(LedgerError::Invalid(refusal(key, rec.state)));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(LedgerError::Invalid(
            "say why it is dismissed (`--reason`): the audit trail keeps it".into(),
        ));
    }
    ledger.transition(key, DocState::Dismissed, &format!("dismissed: {reason}"))?;
    Ok(rec.state)
}

/// Re-opens a dismissed document as HELD so that `replay` re-plans it; other states are left as they are.
pub fn reopen(ledger: &mut dyn Ledger, key: &str) -> Result<bool, LedgerError> {
    match ledger.get(key)? {
        Some(rec) if rec.state == DocState::Dismissed => {
            ledger.transition(key, DocState::Held, "re-opened by replay")?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{OnFailed, PlanBody, PlanRequest, PlanStatus, SqliteLedger};

    fn hold(l: &mut SqliteLedger, key: &str) -> PlanStatus {
        l.plan_or_replan(&PlanRequest {
            key,
            flow: "settlements",
            kind: "settlement",
            source_id: None,
            body: PlanBody::Hold("unmapped category"),
            on_failed: OnFailed::Replan,
        })
        .unwrap()
    }

    #[test]
    fn a_dismissed_document_is_not_planned_again_until_replay_reopens_it() {
        let mut l = SqliteLedger::in_memory().unwrap();
        assert_eq!(hold(&mut l, "k"), PlanStatus::Held);
        assert!(dismiss(&mut l, "k", "  ").is_err(), "a reason is required");
        assert_eq!(dismiss(&mut l, "k", "wrong file").unwrap(), DocState::Held);
        let rec = l.get("k").unwrap().unwrap();
        assert_eq!(rec.state, DocState::Dismissed);
        assert_eq!(rec.reason.as_deref(), Some("dismissed: wrong file"));
        assert_eq!(hold(&mut l, "k"), PlanStatus::Dismissed);
        let ready = PlanRequest {
            key: "k",
            flow: "settlements",
            kind: "settlement",
            source_id: None,
            body: PlanBody::Ready("{}"),
            on_failed: OnFailed::Replan,
        };
        assert_eq!(l.plan_or_replan(&ready).unwrap(), PlanStatus::Dismissed);
        assert_eq!(l.get("k").unwrap().unwrap().state, DocState::Dismissed);
        let audit = l.audit_rows(Some("k"), None).unwrap();
        assert!(audit.iter().any(|a| a.detail == "dismissed: wrong file"));
        assert!(dismiss(&mut l, "k", "again").is_err());
        assert!(reopen(&mut l, "k").unwrap());
        assert_eq!(l.get("k").unwrap().unwrap().state, DocState::Held);
        assert_eq!(l.plan_or_replan(&ready).unwrap(), PlanStatus::Ready);
    }

    #[test]
    fn posted_planned_and_part_documents_are_not_dismissed() {
        let mut l = SqliteLedger::in_memory().unwrap();
        hold(&mut l, "amz:S:settlement:1:part:1");
        let e = dismiss(&mut l, "amz:S:settlement:1:part:1", "x").unwrap_err();
        assert!(e.to_string().contains("posted whole"), "{e}");
        hold(&mut l, "p");
        l.transition("p", DocState::Planned, "ok").unwrap();
        l.transition("p", DocState::Sending, "POST").unwrap();
        l.mark_posted("p", 1, Some(1), "201").unwrap();
        let e = dismiss(&mut l, "p", "x").unwrap_err();
        assert!(e.to_string().contains("cancelled in SAP"), "{e}");
        assert!(dismiss(&mut l, "missing", "x").is_err());
    }
}
