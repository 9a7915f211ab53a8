//! Several documents per `$batch` request, each in its own changeset with its key row.
//!
//! With the key table every document already travels in a `$batch` changeset (its key row and
//! its requests, all or nothing). Putting several such changesets in one request costs SAP one
//! round trip for many documents, and each changeset still commits or rolls back alone: "Each
//! change set is an atomic unit … if any request in a change set fails, the whole change set is
//! rolled back" (Service Layer user guide, "Batch Operations"). What the guide also says, and
//! what this module is built around: SAP **stops at the first failing sub-request** and answers
//! only up to it (WSL §3.10.6; B1SLayer #16), so an answer lists, in order, the changesets that
//! committed, then at most one error part for the changeset that was rolled back, and nothing for
//! the changesets after it, which SAP never executed.
//!
//! Each document's outcome is read from its own part of the answer:
//! - a changeset answered 2xx part by part → POSTED;
//! - the error part, -2035 on the key row → another writer holds the key: looked up by its key
//!   row and recorded as found (as for a single document);
//! - the error part, anything else → that document alone is refused (FAILED), or, for a rejected
//!   session, not executed;
//! - absent after the error part → not executed: sent again in the next request of this call;
//! - the whole request failed with the outcome unknown (timeout, reset, 5xx) → every document of
//!   it is UNKNOWN, and each is resolved by its key row before anything is sent again (the
//!   recovery path of [`Engine::post`]).
//!
//! Crash points are those of a single document, hit once per request:
//! `{kind}.after_sending_stored` (every document of the request is SENDING, synced),
//! `{kind}.after_send_before_response` and `{kind}.after_2xx_before_posted`; and one of the group
//! commit: `{kind}.after_posted_stored_unsynced` (what SAP committed is stored POSTED, not yet
//! synced to disk).
//!
//! Ledger writes (the group commit). A request costs the ledger two transactions: SENDING before
//! it goes, POSTED after. Both are committed without waiting for the disk
//! ([`crate::ledger::Durability`]); SENDING is then synced, outside the ledger's lock, before the
//! request goes (as before: a crash or power loss after the POST finds it SENDING and reads its key
//! rows), and that one sync also covers the POSTED of the requests answered before and whatever
//! other sessions committed meanwhile, so `n` sessions share syncs instead of queueing one
//! `synchronous = FULL` commit after the other behind the lock. POSTED is not waited for: a power
//! loss can take a document back from POSTED to the synced SENDING (the WAL keeps a prefix of
//! commits), the state a crash before POSTED leaves, resolved by the key rows. Chosen over a
//! single writer task batching changes in memory (a crash would lose changes the ledger had
//! accepted, and every read would have to consult the buffer) and over `synchronous = NORMAL`
//! alone (SENDING would not be on disk when the request goes).

use anyhow::{Result, anyhow};
use sap_b1_client::{Batch, BatchPartResponse, BatchResult, ChangeSet, Error as SapError};
use serde_json::Value;
use tracing::{Instrument, info, info_span, warn};

use super::{
    Created, DocRequest, ErrorClass, KeyTable, PostOutcome, SESSION_ATTEMPTS, SapDocument,
    describe, entry_of, is_duplicate_key,
};
use crate::flows::Engine;
use crate::ledger::{DocState, Ledger, redact};

/// One document of a request: its key, its planned body and the requests that create it.
struct Member<D> {
    key: String,
    doc: D,
    requests: Vec<DocRequest>,
}

/// What SAP's answer says about one changeset of a request.
#[derive(Debug)]
enum Part<'a> {
    /// Committed: the sub-responses of its requests (key row first).
    Committed(&'a [BatchPartResponse]),
    /// Rolled back, with SAP's error.
    RolledBack(SapError),
    /// Not in the answer after a failed changeset: SAP stopped before it, never executed it.
    NotExecuted,
    /// Not in the answer, or answered in a way SAP does not answer a changeset: in doubt.
    Unexplained(String),
}

/// Reads the answer changeset by changeset: `n` changesets were sent, in order.
fn read_answer(results: &[BatchResult], n: usize) -> Vec<Part<'_>> {
    let mut failed_before = false;
    (0..n)
        .map(|i| match results.get(i) {
            None if failed_before => Part::NotExecuted,
            None => Part::Unexplained(format!(
                "SAP's $batch answer ends after {} of {n} changesets without an error",
                results.len()
            )),
            Some(result) => {
                let parts: &[BatchPartResponse] = match result {
                    BatchResult::ChangeSet(ps) => ps,
                    BatchResult::Single(p) => std::slice::from_ref(p),
                };
                if let Some(error) = parts.iter().find_map(BatchPartResponse::error) {
                    failed_before = true;
                    Part::RolledBack(error)
                } else if matches!(result, BatchResult::ChangeSet(_)) {
                    Part::Committed(parts)
                } else {
                    Part::Unexplained("SAP answered a changeset with a single 2xx part".into())
                }
            }
        })
        .collect()
}

/// What SAP created for one committed changeset (the key row's part, when there is one, first).
pub(super) fn created_from(
    parts: &[BatchPartResponse],
    requests: &[DocRequest],
    keys: Option<&KeyTable>,
) -> Created {
    let skip = usize::from(keys.is_some());
    let created: Vec<(&str, i64)> = parts
        .iter()
        .skip(skip)
        .zip(requests)
        .map(|(p, r)| {
            let entry = p
                .json::<Value>()
                .ok()
                .and_then(|v| entry_of(&v))
                .or_else(|| {
                    p.location_key().and_then(|k| {
                        k.to_path_segment()
                            .trim_matches(|c| c == '(' || c == ')')
                            .parse()
                            .ok()
                    })
                })
                .unwrap_or_default();
            (r.set, entry)
        })
        .collect();
    let doc_num = parts
        .get(skip)
        .and_then(|p| p.json::<Value>().ok())
        .and_then(|v| v.get("DocNum").and_then(Value::as_i64));
    let mut detail = format!("posted {}", describe(&created));
    if let Some(table) = keys {
        detail.push_str(&format!(
            " with its key row in {} (instance {}, {})",
            table.entity_set(),
            table.instance(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    Created {
        doc_entry: created.first().map_or(0, |c| c.1),
        doc_num: if requests.len() == 1 { doc_num } else { None },
        detail: Value::String(detail),
    }
}

impl Engine {
    /// Posts the planned documents stored under `keys`, exactly once each, several per `$batch`
    /// request (all of `keys` in one request, each document in its own changeset with its key
    /// row). Without the key table, or for a document that may have been sent before, this is
    /// [`Engine::post`] one by one.
    pub async fn post_batch<D: SapDocument>(
        &self,
        keys: &[String],
    ) -> Result<Vec<(String, PostOutcome)>> {
        let mut outcomes = Vec::with_capacity(keys.len());
        let Some(table) = self.key_table().await? else {
            for key in keys {
                outcomes.push((key.clone(), self.post::<D>(key).await?));
            }
            return Ok(outcomes);
        };
        let mut members = Vec::with_capacity(keys.len());
        for key in keys {
            let record = self
                .ledger()
                .get(key)?
                .ok_or_else(|| anyhow!("no document with key `{key}` in the ledger"))?;
            if record.state != DocState::Planned || record.attempts > 0 {
                // It may be in SAP: the single path reads its key row before anything is sent.
                outcomes.push((key.clone(), self.post::<D>(key).await?));
                continue;
            }
            let doc: D = serde_json::from_str(&record.payload)
                .map_err(|e| anyhow!("the stored {} `{key}` does not read back: {e}", D::KIND))?;
            let requests = doc.requests()?;
            // SAP refuses a string longer than its field (never truncates): not sent at all.
            if let Some(e) = requests.iter().find_map(|r| {
                sap_b1_client::limits::type_of_set(r.set)
                    .and_then(|t| sap_b1_client::limits::too_long(t, &r.body))
            }) {
                let reason = format!("not sent: {e}");
                self.ledger().transition(key, DocState::Failed, &reason)?;
                warn!(key, %reason, "failed");
                outcomes.push((key.clone(), PostOutcome::Failed(reason)));
                continue;
            }
            members.push(Member {
                key: key.clone(),
                doc,
                requests,
            });
        }
        let span = info_span!("documents", kind = D::KIND, count = members.len());
        self.send_members(members, table, &mut outcomes)
            .instrument(span)
            .await?;
        Ok(outcomes)
    }

    /// Sends `members` (all PLANNED, never sent) in one request, then what SAP did not execute in
    /// the next, until each has an outcome.
    async fn send_members<D: SapDocument>(
        &self,
        mut members: Vec<Member<D>>,
        table: &KeyTable,
        outcomes: &mut Vec<(String, PostOutcome)>,
    ) -> Result<()> {
        let mut session_attempt = 1;
        while !members.is_empty() {
            let mut batch = Batch::new();
            for m in &members {
                let row = table.row(&m.key, D::KIND, chrono::Utc::now());
                let mut changeset = ChangeSet::new().post(&table.entity_set(), &row)?;
                for r in &m.requests {
                    changeset = changeset.post(r.set, &r.body)?;
                }
                batch = batch.changeset(changeset);
            }
            // Every document of the request is SENDING, in one ledger transaction, on disk before
            // it goes. Group commit: the transaction is committed under the ledger's lock without
            // waiting for the disk, then synced outside it, so one sync covers this request's
            // SENDING, the POSTED of the requests answered before it (committed unsynced below)
            // and whatever other sessions committed meanwhile (see `ledger::durability`).
            let summaries: Vec<String> = members
                .iter()
                .map(|m| redact(m.doc.request_summary()).to_string())
                .collect();
            let ((), durable) = self.ledger().group_deferred(|l| {
                for (m, summary) in members.iter().zip(&summaries) {
                    l.transition(&m.key, DocState::Sending, summary)?;
                }
                Ok(())
            })?;
            durable.wait_async().await?;
            crate::failpoint::hit_at(D::KIND, "after_sending_stored");
            let answer = self.sap.batch(&batch).await;
            let resp = match answer {
                Ok(resp) => {
                    crate::failpoint::hit_at(D::KIND, "after_send_before_response");
                    crate::failpoint::hit_at(D::KIND, "after_2xx_before_posted");
                    resp
                }
                Err(e) => {
                    if e.is_outcome_unknown() {
                        crate::failpoint::hit_at(D::KIND, "after_send_before_response");
                    }
                    match ErrorClass::of(&e) {
                        ErrorClass::Unreachable => {
                            self.back_to_planned(
                                &members,
                                &format!("not sent, SAP not reachable: {e}"),
                            )?;
                            return Err(super::classify::unreachable(
                                &self.config.sap.base_url,
                                &e,
                            ));
                        }
                        ErrorClass::NotExecuted if session_attempt < SESSION_ATTEMPTS => {
                            session_attempt += 1;
                            self.back_to_planned(
                                &members,
                                &format!("not executed by SAP ({e}); retrying"),
                            )?;
                            continue;
                        }
                        ErrorClass::NotExecuted => {
                            let reason = format!("SAP kept rejecting the session: {e}");
                            self.all_unknown(&members, &reason, outcomes)?;
                        }
                        // The request as a whole was refused (its format): SAP executed none of
                        // it. Each document goes alone, so a refusal names its own document.
                        ErrorClass::Refused => {
                            self.back_to_planned(
                                &members,
                                &format!("SAP refused the $batch request as a whole ({e}); nothing was executed; sent alone"),
                            )?;
                            for m in &members {
                                outcomes.push((m.key.clone(), self.post::<D>(&m.key).await?));
                            }
                        }
                        ErrorClass::Unknown => {
                            let reason = format!("outcome unknown: {e}");
                            self.all_unknown(&members, &reason, outcomes)?;
                        }
                    }
                    return Ok(());
                }
            };
            let parts = read_answer(&resp.results, members.len());
            let mut again = Vec::new();
            let mut session_rejected = false;
            // What SAP committed is recorded POSTED in one ledger transaction.
            let mut committed = Vec::new();
            for (m, part) in members.into_iter().zip(parts) {
                let outcome = match part {
                    Part::Committed(parts) => {
                        let created = created_from(parts, &m.requests, Some(table));
                        let detail = match created.detail {
                            Value::String(text) => text,
                            other => redact(other).to_string(),
                        };
                        committed.push((m.key, created.doc_entry, created.doc_num, detail));
                        continue;
                    }
                    Part::RolledBack(e) if is_duplicate_key(&e) => {
                        self.key_taken(&m.doc, table, &m.key, &e).await?
                    }
                    Part::RolledBack(e) => match ErrorClass::of_rolled_back(&e) {
                        ErrorClass::NotExecuted => {
                            session_rejected = true;
                            self.back_to_planned(
                                std::slice::from_ref(&m),
                                &format!("not executed by SAP ({e}); retrying"),
                            )?;
                            again.push(m);
                            continue;
                        }
                        _ => refused(self, &m, &e)?,
                    },
                    Part::NotExecuted => {
                        self.back_to_planned(
                            std::slice::from_ref(&m),
                            "not executed: SAP stopped at an earlier changeset's error in the same $batch; sent again",
                        )?;
                        again.push(m);
                        continue;
                    }
                    Part::Unexplained(why) => {
                        let reason = format!("outcome unknown: {why}");
                        self.ledger()
                            .transition(&m.key, DocState::Unknown, &reason)?;
                        warn!(key = %m.key, %reason, "outcome unknown");
                        PostOutcome::Unknown(reason)
                    }
                };
                outcomes.push((m.key, outcome));
            }
            // Not waited for: SAP's key rows, not this commit, keep these documents single. A
            // process crash keeps it; a power loss before the next sync (the next request's
            // SENDING, any durable commit such as the cursor's) can only take it back to the
            // SENDING synced above, which is resolved by the key rows like any SENDING, never
            // sent blind. Waiting here would cost a second disk sync per request.
            let ((), _durable_with_the_next_sync) = self.ledger().group_deferred(|l| {
                for (key, doc_entry, doc_num, detail) in &committed {
                    l.mark_posted(key, *doc_entry, *doc_num, detail)?;
                }
                Ok(())
            })?;
            if !committed.is_empty() {
                crate::failpoint::hit_at(D::KIND, "after_posted_stored_unsynced");
            }
            for (key, doc_entry, doc_num, _) in committed {
                info!(key = %key, doc_entry, "posted");
                outcomes.push((key, PostOutcome::Posted { doc_entry, doc_num }));
            }
            if session_rejected {
                if session_attempt >= SESSION_ATTEMPTS {
                    self.all_unknown(&again, "SAP kept rejecting the session", outcomes)?;
                    return Ok(());
                }
                session_attempt += 1;
            }
            members = again;
        }
        Ok(())
    }

    /// -2035 on a changeset: the key row is taken (another writer posted the document), or SAP
    /// refused the document itself for a duplicate of something else.
    async fn key_taken<D: SapDocument>(
        &self,
        doc: &D,
        table: &KeyTable,
        key: &str,
        error: &SapError,
    ) -> Result<PostOutcome> {
        match self.find_by_key_row(doc, table, key).await? {
            Some(found) => {
                info!(key, by = ?found.by_other_instance, "posted by another writer");
                self.record_found(key, DocState::Sending, &found)?;
                Ok(PostOutcome::FoundExisting {
                    doc_entry: found.doc_entry,
                    doc_num: found.doc_num,
                    by_other_instance: found.by_other_instance,
                })
            }
            None => {
                let reason = doc.refusal(error);
                self.ledger().transition(key, DocState::Failed, &reason)?;
                warn!(key, %reason, "failed");
                Ok(PostOutcome::Failed(reason))
            }
        }
    }

    fn back_to_planned<D>(&self, members: &[Member<D>], detail: &str) -> Result<()> {
        self.ledger().group(|l| {
            for m in members {
                l.transition(&m.key, DocState::Planned, detail)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    fn all_unknown<D>(
        &self,
        members: &[Member<D>],
        reason: &str,
        outcomes: &mut Vec<(String, PostOutcome)>,
    ) -> Result<()> {
        self.ledger().group(|l| {
            for m in members {
                l.transition(&m.key, DocState::Unknown, reason)?;
            }
            Ok(())
        })?;
        for m in members {
            outcomes.push((m.key.clone(), PostOutcome::Unknown(reason.to_owned())));
        }
        warn!(count = members.len(), %reason, "outcome unknown");
        Ok(())
    }
}

/// SAP rolled one changeset back for a reason of its document: that document alone is FAILED.
fn refused<D: SapDocument>(
    engine: &Engine,
    m: &Member<D>,
    error: &SapError,
) -> Result<PostOutcome> {
    let reason = m.doc.refusal(error);
    engine
        .ledger()
        .transition(&m.key, DocState::Failed, &reason)?;
    warn!(key = %m.key, %reason, "failed");
    Ok(PostOutcome::Failed(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(status: u16, body: &str) -> BatchPartResponse {
        BatchPartResponse {
            content_id: None,
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    fn committed() -> BatchResult {
        BatchResult::ChangeSet(vec![part(201, "{}"), part(201, r#"{"DocEntry":7}"#)])
    }

    fn refused_part(code: i64) -> BatchResult {
        BatchResult::Single(part(
            400,
            &format!(r#"{{"error":{{"code":"{code}","message":"no"}}}}"#),
        ))
    }

    #[test]
    fn changesets_after_the_failed_one_were_not_executed() {
        let results = vec![committed(), refused_part(-5002)];
        let parts = read_answer(&results, 4);
        assert!(matches!(parts[0], Part::Committed(p) if p.len() == 2));
        assert!(matches!(&parts[1], Part::RolledBack(e) if !is_duplicate_key(e)));
        assert!(matches!(parts[2], Part::NotExecuted));
        assert!(matches!(parts[3], Part::NotExecuted));
    }

    #[test]
    fn a_taken_key_is_told_apart_and_a_short_answer_without_error_is_in_doubt() {
        let results = vec![refused_part(-2035)];
        let parts = read_answer(&results, 1);
        assert!(matches!(&parts[0], Part::RolledBack(e) if is_duplicate_key(e)));
        let results = vec![committed()];
        let parts = read_answer(&results, 2);
        assert!(matches!(parts[1], Part::Unexplained(_)));
        // A changeset answered by one 2xx part is not how SAP answers a changeset.
        let results = vec![BatchResult::Single(part(201, "{}"))];
        assert!(matches!(read_answer(&results, 1)[0], Part::Unexplained(_)));
    }

    #[test]
    fn created_reads_the_document_after_the_key_row() {
        let t = KeyTable::new("MLC_KEYS", "host/1");
        let parts = vec![part(201, "{}"), part(201, r#"{"DocEntry":7,"DocNum":70}"#)];
        let requests = vec![DocRequest {
            set: "Invoices",
            body: Value::Null,
        }];
        let c = created_from(&parts, &requests, Some(&t));
        assert_eq!((c.doc_entry, c.doc_num), (7, Some(70)));
        assert!(
            c.detail
                .as_str()
                .unwrap()
                .starts_with("posted Invoices(7) with its key row")
        );
    }
}
