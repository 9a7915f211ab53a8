//! A boxed ledger is a ledger: the engine holds `Box<dyn Ledger>` (SQLite or PostgreSQL, chosen at
//! run time) and its callers use it through the trait as before.

use std::collections::BTreeMap;

use super::{
    AuditRow, DocFilter, DocRecord, DocState, Durability, Ledger, LedgerError, ListingState,
    PlanRequest, PlanStatus, Planned, Source,
};

impl<L: Ledger + ?Sized> Ledger for Box<L> {
    fn put_source(
        &mut self,
        kind: &str,
        external_id: &str,
        body: &[u8],
    ) -> Result<i64, LedgerError> {
        (**self).put_source(kind, external_id, body)
    }
    fn source(&self, id: i64) -> Result<Source, LedgerError> {
        (**self).source(id)
    }
    fn latest_source(&self, kind: &str, external_id: &str) -> Result<Option<Source>, LedgerError> {
        (**self).latest_source(kind, external_id)
    }
    fn plan(
        &mut self,
        key: &str,
        flow: &str,
        kind: &str,
        source_id: Option<i64>,
        payload: &str,
        hold: Option<&str>,
    ) -> Result<Planned, LedgerError> {
        (**self).plan(key, flow, kind, source_id, payload, hold)
    }
    fn plan_or_replan(&mut self, req: &PlanRequest<'_>) -> Result<PlanStatus, LedgerError> {
        (**self).plan_or_replan(req)
    }
    fn transition(&mut self, key: &str, to: DocState, detail: &str) -> Result<(), LedgerError> {
        (**self).transition(key, to, detail)
    }
    fn mark_posted(
        &mut self,
        key: &str,
        doc_entry: i64,
        doc_num: Option<i64>,
        detail: &str,
    ) -> Result<(), LedgerError> {
        (**self).mark_posted(key, doc_entry, doc_num, detail)
    }
    fn replan(
        &mut self,
        key: &str,
        payload: &str,
        source_id: Option<i64>,
    ) -> Result<(), LedgerError> {
        (**self).replan(key, payload, source_id)
    }
    fn audit(&mut self, key: &str, event: &str, detail: &str) -> Result<(), LedgerError> {
        (**self).audit(key, event, detail)
    }
    fn get(&self, key: &str) -> Result<Option<DocRecord>, LedgerError> {
        (**self).get(key)
    }
    fn list(&self, filter: &DocFilter) -> Result<Vec<DocRecord>, LedgerError> {
        (**self).list(filter)
    }
    fn audit_rows(
        &self,
        key: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditRow>, LedgerError> {
        (**self).audit_rows(key, limit)
    }
    fn counts(&self) -> Result<BTreeMap<(String, DocState), i64>, LedgerError> {
        (**self).counts()
    }
    fn cursor(&self, flow: &str) -> Result<Option<String>, LedgerError> {
        (**self).cursor(flow)
    }
    fn set_cursor(&mut self, flow: &str, value: &str) -> Result<(), LedgerError> {
        (**self).set_cursor(flow, value)
    }
    fn cursors(&self) -> Result<Vec<(String, String, String)>, LedgerError> {
        (**self).cursors()
    }
    fn listing_states(&self) -> Result<Vec<ListingState>, LedgerError> {
        (**self).listing_states()
    }
    fn put_listing_states(
        &mut self,
        states: &[ListingState],
        audit: &[(String, String, String)],
    ) -> Result<(), LedgerError> {
        (**self).put_listing_states(states, audit)
    }
    fn begin_group(&mut self) -> Result<(), LedgerError> {
        (**self).begin_group()
    }
    fn end_group(&mut self, commit: bool) -> Result<(), LedgerError> {
        (**self).end_group(commit)
    }
    fn begin_deferred_group(&mut self) -> Result<(), LedgerError> {
        (**self).begin_deferred_group()
    }
    fn end_deferred_group(&mut self, commit: bool) -> Result<Durability, LedgerError> {
        (**self).end_deferred_group(commit)
    }
}
