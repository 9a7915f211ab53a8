//! The ledger test suite, run on every backend: on SQLite always, on PostgreSQL when
//! `MLC_TEST_POSTGRES_URL` names a database (`.ci/run` starts one and sets it); without it the
//! PostgreSQL tests say they are skipped and pass.

use super::*;

const KEY: &str = "amz:A1SELLER:order:028-1234567-1234567:invoice";

/// The environment variable naming the PostgreSQL test database.
pub(crate) const PG_URL_ENV: &str = "MLC_TEST_POSTGRES_URL";

/// A store the suite runs on; [`Backend::open`] may be called again to reopen the same store.
pub(crate) trait Backend {
    /// The ledger type.
    type L: Ledger;
    /// Opens (the first time: creates) the store.
    fn open(&self) -> Self::L;
    /// Tries to rewrite and to delete the store's audit rows with raw SQL: both errors.
    fn tamper_audit(&self, l: &Self::L) -> [String; 2];
}

struct Sqlite(tempfile::TempDir);

impl Backend for Sqlite {
    type L = SqliteLedger;
    fn open(&self) -> SqliteLedger {
        SqliteLedger::open(&self.0.path().join("ledger.db")).unwrap()
    }
    fn tamper_audit(&self, l: &SqliteLedger) -> [String; 2] {
        [
            l.raw_execute("UPDATE audit SET detail = 'x'"),
            l.raw_execute("DELETE FROM audit"),
        ]
        .map(|r| r.unwrap_err().to_string())
    }
}

/// A fresh tenant in the test database: tests share the database, tenants keep them apart.
pub(crate) struct Pg {
    pub(crate) url: String,
    pub(crate) tenant: String,
}

impl Pg {
    /// A new tenant in the database of `MLC_TEST_POSTGRES_URL`, or `None` (and a line saying why)
    /// when it is not set.
    pub(crate) fn from_env(test: &str) -> Option<Self> {
        let Ok(url) = std::env::var(PG_URL_ENV) else {
            eprintln!(
                "{test}: skipped on PostgreSQL: {PG_URL_ENV} is not set (`.ci/run` starts a server and sets it)"
            );
            return None;
        };
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let tenant = format!(
            "test-{test}-{}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        postgres::ensure_tenant(&url, &tenant).unwrap();
        Some(Self { url, tenant })
    }

    /// An administration connection (every tenant visible).
    pub(crate) fn admin(&self) -> ::postgres::Client {
        postgres::admin(&self.url).unwrap()
    }
}

impl Backend for Pg {
    type L = PgLedger;
    fn open(&self) -> PgLedger {
        PgLedger::open(&self.url, &self.tenant, None).unwrap()
    }
    fn tamper_audit(&self, _: &PgLedger) -> [String; 2] {
        let mut c = self.admin();
        let t = &self.tenant;
        [
            c.execute("UPDATE audit SET detail = 'x' WHERE tenant_id = $1", &[t]),
            c.execute("DELETE FROM audit WHERE tenant_id = $1", &[t]),
        ]
        .map(|r| LedgerError::from(r.unwrap_err()).to_string())
    }
}

fn lifecycle_is_enforced_and_audited(b: &impl Backend) {
    let mut l = b.open();
    let src = l
        .put_source("order", "028-1234567-1234567", b"{\"AmazonOrderId\":\"x\"}")
        .unwrap();
    assert_eq!(
        l.put_source("order", "028-1234567-1234567", b"{\"AmazonOrderId\":\"x\"}")
            .unwrap(),
        src
    );
    assert_eq!(
        l.plan(KEY, "orders", "invoice", Some(src), "{}", None)
            .unwrap(),
        Planned::New
    );
    assert_eq!(
        l.plan(KEY, "orders", "invoice", Some(src), "{}", None)
            .unwrap(),
        Planned::Existing(DocState::Planned)
    );
    // POSTED cannot be reached again from POSTED, nor FAILED from PLANNED via Unknown.
    l.transition(KEY, DocState::Sending, "POST /Invoices")
        .unwrap();
    l.transition(KEY, DocState::Unknown, "timeout after 30 s")
        .unwrap();
    assert_eq!(
        l.get(KEY).unwrap().unwrap().reason.as_deref(),
        Some("timeout after 30 s")
    );
    l.mark_posted(KEY, 812, Some(1044), "found by NumAtCard")
        .unwrap();
    let rec = l.get(KEY).unwrap().unwrap();
    assert_eq!(
        (rec.state, rec.doc_entry, rec.doc_num, rec.attempts),
        (DocState::Posted, Some(812), Some(1044), 1)
    );
    assert!(rec.reason.is_none());
    let err = l.transition(KEY, DocState::Sending, "again").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{KEY}: cannot move from POSTED to SENDING")
    );
    let audit = l.audit_rows(Some(KEY), None).unwrap();
    let moves: Vec<_> = audit
        .iter()
        .map(|a| a.to_state.clone().unwrap_or_default())
        .collect();
    assert_eq!(moves, ["PLANNED", "SENDING", "UNKNOWN", "POSTED"]);
    assert_eq!(l.source(src).unwrap().body, b"{\"AmazonOrderId\":\"x\"}");
    assert_eq!(
        l.latest_source("order", "028-1234567-1234567")
            .unwrap()
            .map(|s| s.id),
        Some(src)
    );
    assert!(matches!(
        l.transition("no-such-key", DocState::Sending, "x"),
        Err(LedgerError::NotFound(_))
    ));
}

fn audit_is_append_only(b: &impl Backend) {
    let mut l = b.open();
    l.audit("k", "request", "POST /Invoices").unwrap();
    for err in b.tamper_audit(&l) {
        assert!(err.contains("append-only"), "{err}");
    }
    assert_eq!(l.audit_rows(Some("k"), None).unwrap().len(), 1);
}

fn held_documents_replan_and_counts_and_cursors_persist(b: &impl Backend) {
    {
        let mut l = b.open();
        l.plan(
            KEY,
            "orders",
            "invoice",
            None,
            "{}",
            Some("SKU `X` has no ItemCode"),
        )
        .unwrap();
        l.set_cursor("orders", "2026-11-27T10:00:00Z").unwrap();
    }
    let mut l = b.open();
    let rec = l.get(KEY).unwrap().unwrap();
    assert_eq!(rec.state, DocState::Held);
    assert_eq!(rec.reason.as_deref(), Some("SKU `X` has no ItemCode"));
    assert_eq!(
        l.cursor("orders").unwrap().as_deref(),
        Some("2026-11-27T10:00:00Z")
    );
    assert_eq!(l.cursors().unwrap()[0].0, "orders");
    l.replan(KEY, "{\"fixed\":true}", None).unwrap();
    assert_eq!(l.get(KEY).unwrap().unwrap().state, DocState::Planned);
    let counts = l.counts().unwrap();
    assert_eq!(
        counts.get(&("orders".to_owned(), DocState::Planned)),
        Some(&1)
    );
    let held = l
        .list(&DocFilter {
            state: Some(DocState::Held),
            ..DocFilter::default()
        })
        .unwrap();
    assert!(held.is_empty());
    let all = l
        .list(&DocFilter {
            key_contains: Some("028-1234567".into()),
            ..DocFilter::default()
        })
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        l.audit_rows(None, Some(2)).unwrap().len(),
        2,
        "the limit is applied"
    );
}

fn every_state_plans_the_documented_way(b: &impl Backend) {
    fn req<'a>(body: PlanBody<'a>, on_failed: OnFailed) -> PlanRequest<'a> {
        PlanRequest {
            key: "k",
            flow: "orders",
            kind: "invoice",
            source_id: None,
            body,
            on_failed,
        }
    }
    let mut l = b.open();
    let hold = req(PlanBody::Hold("unmapped SKU"), OnFailed::Keep);
    let ready = req(PlanBody::Ready("{\"a\":1}"), OnFailed::Keep);
    assert_eq!(l.plan_or_replan(&hold).unwrap(), PlanStatus::Held);
    assert_eq!(l.plan_or_replan(&hold).unwrap(), PlanStatus::Held);
    assert_eq!(l.plan_or_replan(&ready).unwrap(), PlanStatus::Ready);
    assert_eq!(l.get("k").unwrap().unwrap().payload, "{\"a\":1}");
    // A planned document that no longer passes is held, not left PLANNED.
    assert_eq!(l.plan_or_replan(&hold).unwrap(), PlanStatus::Held);
    assert_eq!(l.get("k").unwrap().unwrap().state, DocState::Held);
    l.plan_or_replan(&ready).unwrap();
    l.transition("k", DocState::Sending, "POST").unwrap();
    assert_eq!(
        l.plan_or_replan(&ready).unwrap(),
        PlanStatus::InDoubt(DocState::Sending)
    );
    l.transition("k", DocState::Failed, "SAP said no").unwrap();
    assert_eq!(
        l.plan_or_replan(&ready).unwrap(),
        PlanStatus::Failed("SAP said no".into())
    );
    assert_eq!(
        l.plan_or_replan(&hold).unwrap(),
        PlanStatus::Failed("SAP said no".into())
    );
    let replan = req(PlanBody::Hold("still unmapped"), OnFailed::Replan);
    assert_eq!(l.plan_or_replan(&replan).unwrap(), PlanStatus::Held);
    let replan = req(PlanBody::Ready("{\"b\":2}"), OnFailed::Replan);
    assert_eq!(l.plan_or_replan(&replan).unwrap(), PlanStatus::Ready);
    l.transition("k", DocState::Sending, "POST").unwrap();
    l.mark_posted("k", 7, Some(8), "201").unwrap();
    assert_eq!(l.plan_or_replan(&replan).unwrap(), PlanStatus::Posted);
}

fn listings_round_trip_with_their_audit(b: &impl Backend) {
    let mut l = b.open();
    let mut state = ListingState {
        sku: "SKU-1".into(),
        marketplace: "A1F83G8C2ARO7P".into(),
        item_code: "I-1".into(),
        channel: Some("DEFAULT".into()),
        product_type: Some("PRODUCT".into()),
        currency: Some("GBP".into()),
        price: Some(rust_decimal::Decimal::new(1999, 2)),
        quantity: Some(4),
        status: ListingStatus::Pending,
        sent_price: Some(rust_decimal::Decimal::new(1999, 2)),
        sent_quantity: Some(4),
        submission: Some("feed:1:1".into()),
        issues: None,
        problem_key: None,
        pushed_at: Some("2026-12-01T10:00:00.000Z".into()),
        checked_at: "2026-12-01T10:00:00.000Z".into(),
    };
    let audit = [(
        "listing:SKU-1".to_owned(),
        "push".to_owned(),
        "19.99".to_owned(),
    )];
    l.put_listing_states(std::slice::from_ref(&state), &audit)
        .unwrap();
    state.status = ListingStatus::Verified;
    l.put_listing_states(std::slice::from_ref(&state), &[])
        .unwrap();
    assert_eq!(l.listing_states().unwrap(), [state]);
    assert_eq!(
        l.audit_rows(Some("listing:SKU-1"), None).unwrap()[0].detail,
        "19.99"
    );
}

/// A deferred group (the batched posting path's group commit) commits all its changes, visible to
/// a second connection before anyone waits for the disk, or none of them; the ledger then takes
/// ordinary writes as before.
fn deferred_groups_commit_together_or_not_at_all(b: &impl Backend) {
    let mut l = b.open();
    let keys = ["k:1", "k:2", "k:3"];
    for k in keys {
        l.plan(k, "orders", "invoice", None, "{}", None).unwrap();
    }
    let l: &mut dyn Ledger = &mut l;
    let ((), durable) = l
        .group_deferred(|l| {
            for k in &keys[..2] {
                l.transition(k, DocState::Sending, "POST $batch")?;
            }
            Ok(())
        })
        .unwrap();
    let state = |l: &dyn Ledger, k: &str| l.get(k).unwrap().unwrap().state;
    let other = b.open();
    assert_eq!(state(&other, "k:1"), DocState::Sending);
    assert_eq!(state(&other, "k:2"), DocState::Sending);
    durable.wait().unwrap();
    // A change the lifecycle refuses rolls back the whole group.
    let refused = l.group_deferred(|l| {
        l.mark_posted("k:1", 7, Some(70), "posted Invoices(7)")?;
        l.transition("k:3", DocState::Unknown, "never sent")
    });
    assert!(
        matches!(refused, Err(LedgerError::Transition { .. })),
        "{refused:?}"
    );
    assert_eq!(state(&*l, "k:1"), DocState::Sending);
    assert_eq!(state(&b.open(), "k:1"), DocState::Sending);
    l.mark_posted("k:1", 7, Some(70), "posted Invoices(7)")
        .unwrap();
    l.set_cursor("orders", "2026-12-01T00:00:00Z").unwrap();
    let again = b.open();
    assert_eq!(state(&again, "k:1"), DocState::Posted);
    assert_eq!(
        again.cursor("orders").unwrap().as_deref(),
        Some("2026-12-01T00:00:00Z")
    );
    let trail: Vec<_> = again
        .audit_rows(Some("k:1"), None)
        .unwrap()
        .into_iter()
        .filter_map(|r| r.to_state)
        .collect();
    assert_eq!(trail, ["PLANNED", "SENDING", "POSTED"]);
}

/// One test per suite function and backend.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(&super::Sqlite(tempfile::tempdir().unwrap()));
            })*
        }
        mod pg {
            $(#[test]
            fn $name() {
                if let Some(b) = super::Pg::from_env(stringify!($name)) {
                    super::$name(&b);
                }
            })*
        }
    };
}

on_every_backend!(
    lifecycle_is_enforced_and_audited,
    audit_is_append_only,
    held_documents_replan_and_counts_and_cursors_persist,
    every_state_plans_the_documented_way,
    listings_round_trip_with_their_audit,
    deferred_groups_commit_together_or_not_at_all,
);
